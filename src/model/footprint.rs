//! What a model will allocate, computed from its config alone (nothing is built), for the memory budget
//! ([`crate::budget`]): its parameters, and the values one image keeps alive through a forward and backward
//! pass. Counts are of scalars (f32 in training); saturating, so an absurd config gives a huge number, not an
//! overflow.

use super::{CnnConfig, LayerSpec, MlpConfig, ModelConfig, Normalization};
use crate::budget::{format_bytes, MemoryBudget};
use crate::error::ConfigError;
use crate::kernels::SlidingWindow;

/// Scalars a model holds and scalars one image needs while training.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Footprint {
    /// Weights, biases and normalisation statistics.
    pub parameters: u64,
    /// Per image: every layer's output and its gradient (×2).
    pub activations_per_image: u64,
    /// Independent of the batch: the convolutions' im2col work matrices (a group of images at a time, at
    /// most one image's windows counted here, twice for the backward pass).
    pub work_buffers: u64,
}

impl ModelConfig {
    /// The model's footprint; fails only where [`ModelConfig::validate`] would (bad geometry).
    pub fn footprint(&self) -> Result<Footprint, ConfigError> {
        match self {
            ModelConfig::Mlp(config) => mlp_footprint(config),
            ModelConfig::Cnn(config) => cnn_footprint(config),
        }
    }

    /// Refuses a model whose parameters and their gradients alone exceed the training budget, before it is
    /// built (a model file's metadata names any configuration it likes).
    pub fn check_memory(&self, budget: &MemoryBudget) -> Result<(), ConfigError> {
        let bytes = self.footprint()?.parameters.saturating_mul(2 * 4);
        if bytes <= budget.training_bytes {
            return Ok(());
        }
        Err(ConfigError::new(
            "memory",
            format!(
                "a model of at most {} {}",
                format_bytes(budget.training_bytes),
                budget.place
            ),
            format!("one whose parameters and gradients take {}", format_bytes(bytes)),
        ))
    }
}

/// Per hidden layer: the linear layer, its normalisation (γ, β and running statistics) and activation.
fn mlp_footprint(config: &MlpConfig) -> Result<Footprint, ConfigError> {
    config.validate()?;
    let mut footprint = Footprint::default();
    let mut input = config.input_features as u64;
    let mut outputs = input;
    for &width in &config.hidden {
        let width = width as u64;
        let norm_outputs = match config.normalization {
            Normalization::None => 0,
            Normalization::BatchNorm | Normalization::LayerNorm => width,
        };
        footprint.parameters = add(footprint.parameters, add(mul(input + 1, width), 4 * norm_outputs));
        outputs = add(outputs, 2 * width + norm_outputs);
        input = width;
    }
    let classes = config.classes as u64;
    footprint.parameters = add(footprint.parameters, mul(input + 1, classes));
    footprint.activations_per_image = mul(2, add(outputs, 2 * classes)); // no work buffers
    Ok(footprint)
}

/// Walks the layer specs through their output shapes, as [`CnnConfig::build_layers`] does, without building.
fn cnn_footprint(config: &CnnConfig) -> Result<Footprint, ConfigError> {
    let (mut c, mut h, mut w) = config.input;
    let mut parameters = 0u64;
    let mut values = mul(mul(c as u64, h as u64), w as u64); // layer outputs, per image
    let mut work_buffers = 0u64;
    let conv = |c_in: usize, (h, w): (usize, usize), kernel: usize, stride: usize, padding: usize| {
        let window = SlidingWindow::new(c_in, (h, w), kernel, stride, padding)?;
        let work = mul(window.patch_len() as u64, window.positions() as u64);
        Ok::<_, ConfigError>((window.output_height(), window.output_width(), work))
    };
    for spec in &config.layers {
        let outputs = match *spec {
            LayerSpec::Conv {
                out_channels,
                kernel,
                stride,
                padding,
                bias,
            } => {
                let (height, width, work) = conv(c, (h, w), kernel, stride, padding)?;
                let bias = if bias { out_channels as u64 } else { 0 };
                let weights = mul(mul(c as u64, out_channels as u64), (kernel * kernel) as u64);
                parameters = add(parameters, add(weights, bias));
                (c, h, w) = (out_channels, height, width);
                work_buffers = add(work_buffers, mul(2, work));
                1
            }
            LayerSpec::BatchNorm => {
                parameters = add(parameters, 4 * c as u64);
                2 // x̂ and the output
            }
            LayerSpec::Relu | LayerSpec::Elu => 1,
            LayerSpec::MaxPool {
                kernel,
                stride,
                padding,
            } => {
                let window = SlidingWindow::new(c, (h, w), kernel, stride, padding)?;
                (h, w) = (window.output_height(), window.output_width());
                2 // the output and the argmax indices
            }
            LayerSpec::PreAct { kernel } => {
                // y = x + Conv(ReLU(BN(x))): BN, ReLU, conv and sum, the shape kept
                let (_, _, work) = conv(c, (h, w), kernel, 1, kernel / 2)?;
                let convolution = add(mul(c as u64 * c as u64, (kernel * kernel) as u64), c as u64);
                parameters = add(parameters, add(convolution, 4 * c as u64));
                work_buffers = add(work_buffers, mul(2, work));
                5
            }
            LayerSpec::BasicBlock { out_channels, stride } => {
                // conv 3×3 (stride), BN, ReLU, conv 3×3, BN, the optional 1×1 projection and BN, sum, ReLU
                let (height, width, work1) = conv(c, (h, w), 3, stride, 1)?;
                let (_, _, work2) = conv(out_channels, (height, width), 3, 1, 1)?;
                let (c_in, c_out) = (c as u64, out_channels as u64);
                let projection = if stride != 1 || c != out_channels {
                    c_in * c_out + 4 * c_out
                } else {
                    0
                };
                parameters = add(parameters, add(mul(c_out, 9 * c_in + 9 * c_out + 8), projection));
                (c, h, w) = (out_channels, height, width);
                work_buffers = add(work_buffers, mul(2, add(work1, work2)));
                10
            }
            LayerSpec::GlobalAvgPool => {
                (h, w) = (1, 1);
                1
            }
            LayerSpec::Linear { out_features } => {
                let features = mul(mul(c as u64, h as u64), w as u64);
                parameters = add(parameters, mul(features + 1, out_features as u64));
                (c, h, w) = (out_features, 1, 1);
                1
            }
        };
        values = add(values, mul(outputs, mul(mul(c as u64, h as u64), w as u64)));
    }
    Ok(Footprint {
        parameters,
        activations_per_image: mul(2, values),
        work_buffers,
    })
}

fn add(a: u64, b: u64) -> u64 {
    a.saturating_add(b)
}

fn mul(a: u64, b: u64) -> u64 {
    a.saturating_mul(b)
}
