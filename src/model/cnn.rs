//! Convolutional networks as data: a list of layer specs whose shapes are inferred from the input image,
//! with the course's ConvNet and the lab's small CNN as presets.
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::network::{LossKind, Network};
use super::state_names::StateNames;
use crate::data::{CHANNELS, IMAGE_SIZE};
use crate::error::ConfigError;
use crate::layers::{
    BasicBlock, BatchNorm2d, Conv2d, Conv2dConfig, Elu, GlobalAvgPool, Layer, Linear, LinearInit, MaxPool2d,
    MaxPool2dConfig, PreActBlock, Relu,
};
use crate::Scalar;

/// One layer of a CNN; shapes come from the layer before it.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "layer", rename_all = "kebab-case")]
pub enum LayerSpec {
    Conv {
        out_channels: usize,
        kernel: usize,
        stride: usize,
        padding: usize,
        bias: bool,
    },
    BatchNorm,
    Relu,
    Elu,
    MaxPool {
        kernel: usize,
        stride: usize,
        padding: usize,
    },
    /// `x + Conv(ReLU(BN(x)))` with a `kernel×kernel` convolution that keeps the shape.
    PreAct {
        kernel: usize,
    },
    /// torchvision's ResNet `BasicBlock` to `out_channels` maps with the given stride (1 or 2); the shortcut is
    /// a 1×1 projection when the shape changes, the identity otherwise.
    BasicBlock {
        out_channels: usize,
        stride: usize,
    },
    GlobalAvgPool,
    /// A fully connected layer on the flattened `C×H×W` features.
    Linear {
        out_features: usize,
    },
}

/// Built layers with their summaries.
pub type BuiltLayers<T> = (Vec<Box<dyn Layer<T>>>, Vec<LayerSummary>);

/// A CNN as data: input image shape, layers, initialisation.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CnnConfig {
    pub name: String,
    pub input: (usize, usize, usize),
    pub layers: Vec<LayerSpec>,
    pub init: LinearInit,
    /// How the layers are named in the state dict (weights files).
    #[serde(default)]
    pub names: StateNames,
}

/// Shapes and cost of one built layer.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct LayerSummary {
    pub name: String,
    /// `(channels, height, width)` of the output (`(features, 1, 1)` after a linear layer).
    pub output: (usize, usize, usize),
    pub parameters: usize,
    /// Multiply-adds of the forward pass for one image.
    pub multiply_adds: u64,
}

impl LayerSpec {
    /// A stride-1 convolution with bias.
    pub fn conv(out_channels: usize, kernel: usize, padding: usize) -> Self {
        LayerSpec::Conv {
            out_channels,
            kernel,
            stride: 1,
            padding,
            bias: true,
        }
    }
}

impl CnnConfig {
    /// The course's ConvNet ("small VGG13 with pre-activation skip connections"), PyTorch default init.
    /// BN and ReLU are applied before the final linear layer; every max-pool is 3×3, stride 2, padding 1.
    pub fn convnet() -> Self {
        let pool = LayerSpec::MaxPool {
            kernel: 3,
            stride: 2,
            padding: 1,
        };
        let pre = LayerSpec::PreAct { kernel: 3 };
        Self {
            name: "convnet".into(),
            input: (CHANNELS, IMAGE_SIZE, IMAGE_SIZE),
            layers: vec![
                LayerSpec::conv(64, 3, 1),
                pre.clone(),
                LayerSpec::conv(128, 1, 0),
                pool.clone(),
                pre.clone(),
                pre.clone(),
                LayerSpec::conv(256, 1, 0),
                pool.clone(),
                pre.clone(),
                pre.clone(),
                LayerSpec::conv(512, 1, 0),
                pool.clone(),
                pre.clone(),
                pre.clone(),
                pool.clone(),
                pre.clone(),
                pre,
                pool,
                LayerSpec::BatchNorm,
                LayerSpec::Relu,
                LayerSpec::Linear { out_features: 10 },
            ],
            init: LinearInit::PyTorch,
            names: StateNames::Sequential,
        }
    }

    /// The lab's small CNN, designed to train in a browser tab on one CPU core: four 3×3 conv-BN-ReLU
    /// stages (24, 48, 96, 192 channels; no conv bias, BatchNorm's β takes its place) with 2×2 max-pools
    /// after the first three, global average pooling and a linear layer: 8.7 M multiply-adds per image
    /// (0.052 GFLOP to train on one image), 221 k parameters.
    pub fn small_cnn() -> Self {
        let pool = LayerSpec::MaxPool {
            kernel: 2,
            stride: 2,
            padding: 0,
        };
        let mut layers = Vec::new();
        for (i, channels) in [24, 48, 96, 192].into_iter().enumerate() {
            layers.push(LayerSpec::Conv {
                out_channels: channels,
                kernel: 3,
                stride: 1,
                padding: 1,
                bias: false,
            });
            layers.push(LayerSpec::BatchNorm);
            layers.push(LayerSpec::Relu);
            if i < 3 {
                layers.push(pool.clone());
            }
        }
        layers.push(LayerSpec::GlobalAvgPool);
        layers.push(LayerSpec::Linear { out_features: 10 });
        Self {
            name: "small-cnn".into(),
            input: (CHANNELS, IMAGE_SIZE, IMAGE_SIZE),
            layers,
            init: LinearInit::PyTorch,
            names: StateNames::Sequential,
        }
    }

    pub fn input_features(&self) -> usize {
        self.input.0 * self.input.1 * self.input.2
    }

    /// Builds the layers, inferring every shape; parameters come from a ChaCha8 generator seeded with `seed`.
    pub fn build_layers<T: Scalar>(&self, seed: u64) -> Result<BuiltLayers<T>, ConfigError> {
        let (mut c, mut h, mut w) = self.input;
        if c == 0 || h == 0 || w == 0 {
            return Err(ConfigError::new(
                "input shape",
                "positive channels, height and width",
                format!("{c}×{h}×{w}"),
            ));
        }
        if self.layers.len() > 256 {
            return Err(ConfigError::new("layers", "at most 256 layers", self.layers.len()));
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut layers: Vec<Box<dyn Layer<T>>> = Vec::new();
        let mut summaries = Vec::new();
        for spec in &self.layers {
            let (layer, macs): (Box<dyn Layer<T>>, u64) = match *spec {
                LayerSpec::Conv {
                    out_channels,
                    kernel,
                    stride,
                    padding,
                    bias,
                } => {
                    let config = Conv2dConfig::new(c, out_channels, kernel, (h, w))
                        .with_stride(stride)
                        .with_padding(padding)
                        .with_bias(bias)
                        .with_init(self.init);
                    let window = config.window()?;
                    let conv = Conv2d::new(&config, &mut rng)?;
                    let macs = (out_channels * window.positions() * window.patch_len()) as u64;
                    (h, w) = (window.output_height(), window.output_width());
                    c = out_channels;
                    (Box::new(conv), macs)
                }
                LayerSpec::BatchNorm => (Box::new(BatchNorm2d::new(c)?), 0),
                LayerSpec::Relu => (Box::new(Relu), 0),
                LayerSpec::Elu => (Box::new(Elu), 0),
                LayerSpec::MaxPool {
                    kernel,
                    stride,
                    padding,
                } => {
                    let config = MaxPool2dConfig {
                        channels: c,
                        height: h,
                        width: w,
                        kernel,
                        stride,
                        padding,
                    };
                    let pool = MaxPool2d::new(&config)?;
                    (h, w) = (pool.window().output_height(), pool.window().output_width());
                    (Box::new(pool), 0)
                }
                LayerSpec::PreAct { kernel } => {
                    let block = PreActBlock::new(c, (h, w), kernel, self.init, &mut rng)?;
                    (Box::new(block), (c * h * w * c * kernel * kernel) as u64)
                }
                LayerSpec::BasicBlock { out_channels, stride } => {
                    let block = BasicBlock::new(c, out_channels, stride, (h, w), self.init, &mut rng)?;
                    let c_in = c;
                    (c, h, w) = block.output_shape();
                    // conv1 and conv2 (3×3), plus the 1×1 projection when there is one
                    let projection = if block.projection.is_some() { c_in } else { 0 };
                    let macs = (c * h * w * (c_in * 9 + c * 9 + projection)) as u64;
                    (Box::new(block), macs)
                }
                LayerSpec::GlobalAvgPool => {
                    let pool = GlobalAvgPool::new(c)?;
                    (h, w) = (1, 1);
                    (Box::new(pool), 0)
                }
                LayerSpec::Linear { out_features } => {
                    if out_features == 0 {
                        return Err(ConfigError::new("linear output features", "at least 1", 0));
                    }
                    let features = c * h * w;
                    let linear = Linear::new(features, out_features, self.init, &mut rng);
                    (c, h, w) = (out_features, 1, 1);
                    (Box::new(linear), (features * out_features) as u64)
                }
            };
            let mut parameters = 0;
            let mut layer = layer;
            layer.visit_params(&mut |p| parameters += p.value.len());
            summaries.push(LayerSummary {
                name: layer.name(),
                output: (c, h, w),
                parameters,
                multiply_adds: macs,
            });
            layers.push(layer);
        }
        Ok((layers, summaries))
    }

    /// Builds the network with the fused softmax-cross-entropy loss.
    pub fn build<T: Scalar>(&self, seed: u64) -> Result<Network<T>, ConfigError> {
        let (layers, summaries) = self.build_layers(seed)?;
        match summaries.last() {
            Some(last) if last.output.1 == 1 && last.output.2 == 1 => {}
            other => {
                return Err(ConfigError::new(
                    "last layer",
                    "a linear layer producing class scores",
                    other.map_or("no layers".to_string(), |s| s.name.clone()),
                ))
            }
        }
        let names = self.names.module_names(&self.layers);
        // two layers with parameters under one name would write two tensors under one state-dict name
        let mut seen = std::collections::BTreeSet::new();
        for (name, summary) in names.iter().zip(&summaries) {
            if summary.parameters > 0 && !seen.insert(name) {
                return Err(ConfigError::new(
                    "state names",
                    format!("one layer with parameters per module name in {:?} naming", self.names),
                    format!("two named `{name}`"),
                ));
            }
        }
        Ok(Network::new(layers, LossKind::SoftmaxCrossEntropy, self.input_features()).with_module_names(names))
    }

    /// Per-layer shapes, parameter counts and multiply-adds, without keeping the layers.
    pub fn summary(&self) -> Result<Vec<LayerSummary>, ConfigError> {
        self.build_layers::<f32>(0).map(|(_, s)| s)
    }
}
