//! ResNet-18 and ResNet-34 exactly as torchvision defines them (`BasicBlock`), as a CNN configuration.
use super::cnn::{CnnConfig, LayerSpec};
use super::state_names::StateNames;
use crate::data::{CHANNELS, IMAGE_SIZE};
use crate::layers::LinearInit;

/// The first layers, before the four stages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum Stem {
    /// torchvision's: 7×7 convolution with stride 2 (padding 3, no bias), BN, ReLU, 3×3 max-pool with stride 2
    /// (padding 1). A 32×32 image reaches the first stage as 8×8 and the last as 1×1.
    #[default]
    ImageNet,
    /// For 32×32 images: a 3×3 convolution with stride 1 (padding 1, no bias), BN, ReLU, no max-pool.
    Cifar,
}

/// A ResNet of `BasicBlock`s: the stem, four stages of `blocks[i]` blocks of `widths[i]` channels (the first
/// block of stages 2–4 with stride 2 and a 1×1 projection shortcut), global average pooling and a linear head.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ResnetConfig {
    pub blocks: [usize; 4],
    pub widths: [usize; 4],
    pub classes: usize,
    pub stem: Stem,
}

impl ResnetConfig {
    /// torchvision's `resnet18`: blocks 2, 2, 2, 2, widths 64–512.
    pub fn resnet18(classes: usize) -> Self {
        Self {
            blocks: [2, 2, 2, 2],
            widths: [64, 128, 256, 512],
            classes,
            stem: Stem::ImageNet,
        }
    }

    /// torchvision's `resnet34`: blocks 3, 4, 6, 3, widths 64–512 (21,289,802 parameters with 10 classes).
    pub fn resnet34(classes: usize) -> Self {
        Self {
            blocks: [3, 4, 6, 3],
            ..Self::resnet18(classes)
        }
    }

    pub fn with_stem(self, stem: Stem) -> Self {
        Self { stem, ..self }
    }

    pub fn with_widths(self, widths: [usize; 4]) -> Self {
        Self { widths, ..self }
    }

    pub fn with_blocks(self, blocks: [usize; 4]) -> Self {
        Self { blocks, ..self }
    }

    /// The network as a CNN configuration on 3×32×32 images, with torchvision's state-dict names.
    pub fn cnn(&self) -> CnnConfig {
        let stem_width = self.widths[0];
        let mut layers = match self.stem {
            Stem::ImageNet => vec![
                LayerSpec::Conv {
                    out_channels: stem_width,
                    kernel: 7,
                    stride: 2,
                    padding: 3,
                    bias: false,
                },
                LayerSpec::BatchNorm,
                LayerSpec::Relu,
                LayerSpec::MaxPool {
                    kernel: 3,
                    stride: 2,
                    padding: 1,
                },
            ],
            Stem::Cifar => vec![
                LayerSpec::Conv {
                    out_channels: stem_width,
                    kernel: 3,
                    stride: 1,
                    padding: 1,
                    bias: false,
                },
                LayerSpec::BatchNorm,
                LayerSpec::Relu,
            ],
        };
        for (stage, (&width, &count)) in self.widths.iter().zip(&self.blocks).enumerate() {
            for block in 0..count {
                let stride = if stage > 0 && block == 0 { 2 } else { 1 };
                layers.push(LayerSpec::BasicBlock {
                    out_channels: width,
                    stride,
                });
            }
        }
        layers.push(LayerSpec::GlobalAvgPool);
        layers.push(LayerSpec::Linear {
            out_features: self.classes,
        });
        let depth = 2 * self.blocks.iter().sum::<usize>() + 2;
        CnnConfig {
            name: format!("resnet-{depth}"),
            input: (CHANNELS, IMAGE_SIZE, IMAGE_SIZE),
            layers,
            init: LinearInit::PyTorch,
            names: StateNames::Torchvision,
        }
    }
}
