//! The forward and backward formulas of every layer kind and loss, as MathML, for the page's
//! "inside a layer" panel.
//!
//! The math is the corrected set of derivations (row-major batches: `X` is `S × M`, one sample per
//! row), the same formulas the layers in [`crate::layers`] and the losses in [`crate::loss`] implement.
//! Every formula is a complete `<math display="block">…</math>` element built at compile time, so the
//! page can insert it as it is. By concern: `mathml` (the building blocks), `dense` (Linear, the
//! activations, Softmax), `normalization` (LayerNorm, BatchNorm), `convolution` (Conv2d, pooling, the
//! PreAct block, the ResNet BasicBlock), `loss`.
//!
//! A layer finds its formulas through its [`LayerKind`] ([`for_kind`]); lessons name them by [`Topic`]. Both
//! mappings match every variant, so a new layer kind without formulas does not compile.
#[macro_use]
mod mathml;
mod convolution;
mod dense;
mod loss;
mod normalization;

use convolution::{basic_block, conv2d, global_avg_pool, max_pool_2d, pre_act};
use dense::{elu, linear, relu, softmax, tanh};
use loss::{cross_entropy, softmax_cross_entropy};
use normalization::{batch_norm_1d, batch_norm_2d, layer_norm, layer_norm_composed};

use crate::layers::LayerKind;
use crate::model::{Activation, LossKind};

/// What the page shows for one layer kind or loss.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LayerFormulas {
    /// The topic's name ([`Topic::name`]), e.g. `"Linear"` or `"softmax-cross-entropy"`.
    pub kind: String,
    /// One plain-text sentence on what the layer does.
    pub summary: String,
    /// A complete `<math display="block">…</math>` element: the forward pass.
    pub forward: String,
    /// One `<math display="block">…</math>` element per gradient (`∂L/∂X`, `∂L/∂W`, …).
    pub backward: Vec<String>,
    /// Plain text: shapes and conventions.
    pub notes: String,
}

/// [`LayerFormulas`] as written in the submodules: every formula a `&'static str` built at compile time.
struct Formulas {
    summary: &'static str,
    forward: &'static str,
    backward: Vec<&'static str>,
    notes: &'static str,
}

/// What a set of formulas is about: a kind of layer (whatever its sizes) or a loss.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Topic {
    Linear,
    Elu,
    Relu,
    Tanh,
    Softmax,
    BatchNorm1d,
    BatchNorm2d,
    LayerNorm,
    LayerNormComposed,
    Conv2d,
    MaxPool2d,
    GlobalAvgPool,
    PreAct,
    BasicBlock,
    /// The loss fused with the softmax (`∂L/∂Z = (Y − T)/S`).
    SoftmaxCrossEntropy,
    /// The loss on probabilities (`∂L/∂X = −(1/S) T ⊘ X`), after a separate [`Topic::Softmax`].
    CrossEntropy,
}

impl Topic {
    /// Every layer topic, in the order the page's legend lists them.
    pub const LAYERS: [Topic; 14] = [
        Topic::Linear,
        Topic::Elu,
        Topic::Relu,
        Topic::Tanh,
        Topic::Softmax,
        Topic::BatchNorm1d,
        Topic::BatchNorm2d,
        Topic::LayerNorm,
        Topic::LayerNormComposed,
        Topic::Conv2d,
        Topic::MaxPool2d,
        Topic::GlobalAvgPool,
        Topic::PreAct,
        Topic::BasicBlock,
    ];
    /// Both loss topics.
    pub const LOSSES: [Topic; 2] = [Topic::SoftmaxCrossEntropy, Topic::CrossEntropy];

    /// The topic of a layer of this kind.
    pub fn of_layer(kind: &LayerKind) -> Self {
        match kind {
            LayerKind::Linear { .. } => Self::Linear,
            LayerKind::Activation(Activation::Elu) => Self::Elu,
            LayerKind::Activation(Activation::Relu) => Self::Relu,
            LayerKind::Activation(Activation::Tanh) => Self::Tanh,
            LayerKind::Softmax => Self::Softmax,
            LayerKind::BatchNorm1d { .. } => Self::BatchNorm1d,
            LayerKind::BatchNorm2d { .. } => Self::BatchNorm2d,
            LayerKind::LayerNorm { .. } => Self::LayerNorm,
            LayerKind::LayerNormComposed { .. } => Self::LayerNormComposed,
            LayerKind::Conv2d { .. } => Self::Conv2d,
            LayerKind::MaxPool2d { .. } => Self::MaxPool2d,
            LayerKind::GlobalAvgPool { .. } => Self::GlobalAvgPool,
            LayerKind::PreAct { .. } => Self::PreAct,
            LayerKind::BasicBlock { .. } => Self::BasicBlock,
        }
    }

    /// The topic of a network's loss.
    pub fn of_loss(loss: LossKind) -> Self {
        match loss {
            LossKind::SoftmaxCrossEntropy => Self::SoftmaxCrossEntropy,
            LossKind::SoftmaxThenCrossEntropy => Self::CrossEntropy,
        }
    }

    /// The name lessons use and [`LayerFormulas::kind`] shows: the layer's own name for its kind
    /// (`"BatchNorm2d"`, `"ELU"`), a loss's in lower case (`"softmax-cross-entropy"`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Linear => "Linear",
            Self::Elu => "ELU",
            Self::Relu => "ReLU",
            Self::Tanh => "Tanh",
            Self::Softmax => "Softmax",
            Self::BatchNorm1d => "BatchNorm1d",
            Self::BatchNorm2d => "BatchNorm2d",
            Self::LayerNorm => "LayerNorm",
            Self::LayerNormComposed => "LayerNormComposed",
            Self::Conv2d => "Conv2d",
            Self::MaxPool2d => "MaxPool2d",
            Self::GlobalAvgPool => "GlobalAvgPool",
            Self::PreAct => "PreAct",
            Self::BasicBlock => "BasicBlock",
            Self::SoftmaxCrossEntropy => "softmax-cross-entropy",
            Self::CrossEntropy => "cross-entropy",
        }
    }

    /// The topic called `name` ([`Topic::name`], exactly); `None` for an unknown name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::LAYERS
            .into_iter()
            .chain(Self::LOSSES)
            .find(|topic| topic.name() == name)
    }

    /// The topic's formulas.
    pub fn formulas(self) -> LayerFormulas {
        let formulas = match self {
            Self::Linear => linear(),
            Self::Elu => elu(),
            Self::Relu => relu(),
            Self::Tanh => tanh(),
            Self::Softmax => softmax(),
            Self::BatchNorm1d => batch_norm_1d(),
            Self::BatchNorm2d => batch_norm_2d(),
            Self::LayerNorm => layer_norm(),
            Self::LayerNormComposed => layer_norm_composed(),
            Self::Conv2d => conv2d(),
            Self::MaxPool2d => max_pool_2d(),
            Self::GlobalAvgPool => global_avg_pool(),
            Self::PreAct => pre_act(),
            Self::BasicBlock => basic_block(),
            Self::SoftmaxCrossEntropy => softmax_cross_entropy(),
            Self::CrossEntropy => cross_entropy(),
        };
        LayerFormulas {
            kind: self.name().into(),
            summary: formulas.summary.into(),
            forward: formulas.forward.into(),
            backward: formulas.backward.into_iter().map(String::from).collect(),
            notes: formulas.notes.into(),
        }
    }
}

/// The formulas of a layer of this kind (`layer.kind()`).
pub fn for_kind(kind: &LayerKind) -> LayerFormulas {
    Topic::of_layer(kind).formulas()
}

/// The formulas of a network's loss.
pub fn for_loss(loss: LossKind) -> LayerFormulas {
    Topic::of_loss(loss).formulas()
}

/// The formulas of the topic called `name` (as lessons name them); `None` for an unknown name.
pub fn for_name(name: &str) -> Option<LayerFormulas> {
    Topic::from_name(name).map(Topic::formulas)
}
