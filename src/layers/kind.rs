//! What a layer is, as data: the description an accelerator backend builds the layer's twin from.
use crate::kernels::SlidingWindow;
use crate::model::Activation;

/// A layer's kind and shapes. [`crate::gpu`] builds its GPU twin of each layer from this (the CPU layer
/// stays the one definition of the math; the twin names it).
#[derive(Clone, Debug, PartialEq)]
pub enum LayerKind {
    Linear {
        in_features: usize,
        out_features: usize,
    },
    Activation(Activation),
    /// BatchNorm1d (`pixels` 1) or BatchNorm2d over `channels`.
    BatchNorm {
        channels: usize,
        momentum: f64,
        eps: f64,
    },
    LayerNorm {
        features: usize,
        eps: f64,
    },
    Conv2d {
        window: SlidingWindow,
        out_channels: usize,
        bias: bool,
    },
    MaxPool2d {
        window: SlidingWindow,
    },
    GlobalAvgPool {
        channels: usize,
    },
    /// `x + Conv(ReLU(BN(x)))` with the convolution's window (same channels in and out).
    PreAct {
        window: SlidingWindow,
        momentum: f64,
        eps: f64,
    },
    /// A layer with no twin (its name): the report's separate Softmax and composed LayerNorm.
    Other(String),
}
