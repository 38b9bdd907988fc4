//! What a layer is, as data: the description an accelerator backend builds the layer's twin from.
use crate::kernels::SlidingWindow;
use crate::model::Activation;

/// A layer's kind and shapes. [`crate::gpu`] builds its GPU twin of each layer from this (the CPU layer
/// stays the one definition of the math; the twin names it), and [`crate::formulas::for_kind`] gives its
/// formulas. Both match every variant, so a new layer kind without formulas (or without a GPU decision) does not
/// compile; [`crate::layers::Layer::kind`] has no default, so neither does a new layer without a kind.
#[derive(Clone, Debug, PartialEq)]
pub enum LayerKind {
    Linear {
        in_features: usize,
        out_features: usize,
    },
    Activation(Activation),
    /// The report's separate softmax layer (the networks fuse it into the loss instead).
    Softmax,
    BatchNorm1d {
        features: usize,
        momentum: f64,
        eps: f64,
    },
    /// Statistics per channel over the batch and the pixels.
    BatchNorm2d {
        channels: usize,
        momentum: f64,
        eps: f64,
    },
    LayerNorm {
        features: usize,
        eps: f64,
    },
    /// LayerNorm built from elementary steps, each with its own backward (the report's comparison).
    LayerNormComposed {
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
    /// torchvision's ResNet `BasicBlock`: the windows of its two 3×3 convolutions (no bias) and of the 1×1
    /// projection when the shortcut is one (then followed by BatchNorm), and its BatchNorms' momentum and ε.
    BasicBlock {
        conv1: SlidingWindow,
        conv2: SlidingWindow,
        out_channels: usize,
        projection: Option<SlidingWindow>,
        momentum: f64,
        eps: f64,
    },
}
