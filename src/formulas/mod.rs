//! The forward and backward formulas of every layer kind and loss, as MathML, for the page's
//! "inside a layer" panel.
//!
//! The math is the corrected set of derivations (row-major batches: `X` is `S × M`, one sample per
//! row), the same formulas the layers in [`crate::layers`] and the losses in [`crate::loss`] implement.
//! Every formula is a complete `<math display="block">…</math>` element built at compile time, so the
//! page can insert it as it is. By concern: `mathml` (the building blocks), `dense` (Linear, the
//! activations, Softmax), `normalization` (LayerNorm, BatchNorm), `convolution` (Conv2d, pooling, the
//! PreAct block), `loss`.
#[macro_use]
mod mathml;
mod convolution;
mod dense;
mod loss;
mod normalization;

use convolution::{conv2d, global_avg_pool, max_pool_2d, pre_act};
use dense::{elu, linear, relu, softmax, tanh};
use loss::{cross_entropy, softmax_cross_entropy};
use normalization::{batch_norm_1d, batch_norm_2d, layer_norm, layer_norm_composed};

/// What the page shows for one layer kind.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LayerFormulas {
    /// The layer kind, e.g. `"Linear"` (a loss's name for [`for_loss`]).
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

/// [`LayerFormulas`] as written below: every formula a `&'static str` built at compile time.
struct Formulas {
    kind: &'static str,
    summary: &'static str,
    forward: &'static str,
    backward: Vec<&'static str>,
    notes: &'static str,
}

impl From<Formulas> for LayerFormulas {
    fn from(formulas: Formulas) -> Self {
        Self {
            kind: formulas.kind.into(),
            summary: formulas.summary.into(),
            forward: formulas.forward.into(),
            backward: formulas.backward.into_iter().map(String::from).collect(),
            notes: formulas.notes.into(),
        }
    }
}

/// Every kind [`for_layer`] knows, for tests and the page's legend.
pub const LAYER_KINDS: [&str; 13] = [
    "Linear",
    "ELU",
    "ReLU",
    "Tanh",
    "Softmax",
    "BatchNorm1d",
    "BatchNorm2d",
    "LayerNorm",
    "LayerNormComposed",
    "Conv2d",
    "MaxPool2d",
    "GlobalAvgPool",
    "PreAct",
];

/// The loss names [`for_loss`] knows.
pub const LOSS_NAMES: [&str; 2] = ["softmax-cross-entropy", "cross-entropy"];

/// The formulas for a layer given its display name as produced by `Layer::name()`, e.g.
/// `"Linear(3072→100)"`, `"ELU"`, `"BatchNorm2d(64)"` or `"Conv2d(3→64, 3×3, stride 1, pad 1)"`.
///
/// The kind is the prefix before `'('` (or the whole name); `None` for an unknown kind.
pub fn for_layer(name: &str) -> Option<LayerFormulas> {
    let kind = name.split('(').next().unwrap_or(name).trim();
    let formulas: Formulas = match kind {
        "Linear" => linear(),
        "ELU" => elu(),
        "ReLU" => relu(),
        "Tanh" => tanh(),
        "Softmax" => softmax(),
        "BatchNorm1d" => batch_norm_1d(),
        "BatchNorm2d" => batch_norm_2d(),
        "LayerNorm" => layer_norm(),
        "LayerNormComposed" => layer_norm_composed(),
        "Conv2d" => conv2d(),
        "MaxPool2d" => max_pool_2d(),
        "GlobalAvgPool" => global_avg_pool(),
        "PreAct" => pre_act(),
        _ => return None,
    };
    Some(formulas.into())
}

/// The loss formulas: `name` is `"softmax-cross-entropy"` (fused with the softmax,
/// `∂L/∂Z = (Y − T)/S`) or `"cross-entropy"` (on probabilities, `∂L/∂X = −(1/S) T ⊘ X`).
/// `None` for an unknown name.
pub fn for_loss(name: &str) -> Option<LayerFormulas> {
    match name.trim() {
        "softmax-cross-entropy" => Some(softmax_cross_entropy().into()),
        "cross-entropy" => Some(cross_entropy().into()),
        _ => None,
    }
}
