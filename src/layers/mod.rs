//! Layers: each computes its output and, right beside it, its own hand-derived backward pass.
//!
//! Activations are `[batch, features]` matrices. A layer reads its input and writes its output into a
//! buffer owned by the network (reused across steps); in the backward pass it receives the same input
//! and output again together with `∂L/∂Y`, writes `∂L/∂X` and stores the gradients of its parameters.
use ndarray::{Array, Array2, ArrayView2, Dimension};

use crate::Scalar;

mod basic_block;
mod batchnorm1d;
mod batchnorm2d;
mod conv2d;
mod elu;
mod global_avg_pool;
mod kind;
mod layernorm;
mod layernorm_composed;
mod linear;
mod maxpool2d;
mod preact_block;
mod relu;
mod softmax;
mod tanh;

pub use basic_block::{BasicBlock, Projection};
pub use batchnorm1d::BatchNorm1d;
pub use batchnorm2d::BatchNorm2d;
pub use conv2d::{Conv2d, Conv2dConfig};
pub use elu::Elu;
pub use global_avg_pool::GlobalAvgPool;
pub use kind::LayerKind;
pub use layernorm::LayerNorm;
pub use layernorm_composed::LayerNormComposed;
pub use linear::{Linear, LinearInit};
pub use maxpool2d::{MaxPool2d, MaxPool2dConfig};
pub use preact_block::PreActBlock;
pub use relu::Relu;
pub(crate) use softmax::softmax_rows;
pub use softmax::Softmax;
pub use tanh::Tanh;

/// Training uses batch statistics (BatchNorm); evaluation uses running statistics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Train,
    Eval,
}

/// A learnable tensor and the gradient of the loss with respect to it.
#[derive(Clone, Debug)]
pub struct Param<T, D: Dimension> {
    pub value: Array<T, D>,
    pub grad: Array<T, D>,
}

impl<T: Scalar, D: Dimension> Param<T, D> {
    pub fn new(value: Array<T, D>) -> Self {
        let grad = Array::zeros(value.raw_dim());
        Self { value, grad }
    }

    /// A flat view used by optimizers and the gradient checker.
    pub fn view_mut(&mut self, name: &'static str) -> ParamView<'_, T> {
        let shape = self.value.shape().to_vec();
        ParamView {
            name,
            shape,
            value: self.value.as_slice_mut().expect("parameters are stored contiguously"),
            grad: self.grad.as_slice_mut().expect("gradients are stored contiguously"),
        }
    }
}

/// A parameter seen as flat slices: what optimizers update and what the gradient checker perturbs.
pub struct ParamView<'a, T> {
    pub name: &'static str,
    pub shape: Vec<usize>,
    pub value: &'a mut [T],
    pub grad: &'a mut [T],
}

/// A differentiable layer with a hand-written backward pass.
pub trait Layer<T: Scalar>: Send {
    /// A short description for tables and diagrams, e.g. `Linear(3072→100)`.
    fn name(&self) -> String;

    /// Number of output features for the given number of input features.
    fn output_features(&self, input_features: usize) -> usize {
        input_features
    }

    /// `x: [batch, in]` → `y: [batch, out]` (the buffer is resized if needed).
    fn forward(&mut self, input: ArrayView2<'_, T>, output: &mut Array2<T>, mode: Mode);

    /// Given `∂L/∂Y`, stores the parameter gradients and, when asked for, writes `∂L/∂X` into `grad_input`.
    /// `input` and `output` are those of the latest `forward`.
    fn backward(
        &mut self,
        input: ArrayView2<'_, T>,
        output: ArrayView2<'_, T>,
        grad_output: ArrayView2<'_, T>,
        grad_input: Option<&mut Array2<T>>,
    );

    /// Visits every learnable parameter (in a fixed order).
    fn visit_params(&mut self, _visit: &mut dyn FnMut(ParamView<'_, T>)) {}

    /// What the layer is: the formulas the page shows for it ([`crate::formulas::for_kind`]) and the twin
    /// that accelerator backends build ([`crate::gpu`]). No default: a new layer must say what it is.
    fn kind(&self) -> LayerKind;

    /// Visits non-learned state that evaluation depends on (running statistics).
    fn visit_buffers(&mut self, _visit: &mut dyn FnMut(&'static str, &mut [T])) {}

    /// Visits every tensor of the layer's `state_dict`, named and shaped as the equivalent `torch.nn` module
    /// names it: the parameters, then the buffers. This default covers layers whose parameters and buffers are
    /// their whole state (PyTorch calls a normalisation's `γ`, `β` `weight`, `bias`); layers made of
    /// sub-modules prefix their parts' names (`conv1.weight`), BatchNorm adds `num_batches_tracked`.
    fn visit_state(&mut self, visit: &mut dyn FnMut(StateTensor<'_, T>)) {
        self.visit_params(&mut |p| {
            visit(StateTensor {
                name: pytorch_parameter_name(p.name).to_string(),
                shape: p.shape,
                values: StateValues::Learned(p.value),
            })
        });
        self.visit_buffers(&mut |name, values| {
            visit(StateTensor {
                name: name.to_string(),
                shape: vec![values.len()],
                values: StateValues::Buffer(values),
            })
        });
    }
}

/// PyTorch's name for a parameter: a normalisation's scale `γ` and shift `β` are its `weight` and `bias`.
fn pytorch_parameter_name(name: &'static str) -> &'static str {
    match name {
        "gamma" => "weight",
        "beta" => "bias",
        other => other,
    }
}

/// One tensor of a layer's state, as `torch.nn`'s `state_dict` names and shapes it.
pub struct StateTensor<'a, T> {
    /// e.g. `weight`, `running_var`, `conv1.weight` (a model prefixes its module's name: `0.weight`).
    pub name: String,
    pub shape: Vec<usize>,
    pub values: StateValues<'a, T>,
}

/// The values of a state tensor, in PyTorch's (row-major) layout.
pub enum StateValues<'a, T> {
    /// A learnable parameter.
    Learned(&'a mut [T]),
    /// A running statistic.
    Buffer(&'a mut [T]),
    /// BatchNorm's `num_batches_tracked` (an `int64` scalar in PyTorch).
    Count(&'a mut i64),
}

impl<T> StateTensor<'_, T> {
    /// The same tensor inside the module named `module` (`weight` → `module.weight`).
    pub fn within(mut self, module: &str) -> Self {
        self.name = format!("{module}.{}", self.name);
        self
    }

    /// The number of values (1 for a count).
    pub fn len(&self) -> usize {
        match &self.values {
            StateValues::Learned(v) | StateValues::Buffer(v) => v.len(),
            StateValues::Count(_) => 1,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Applies `grad_input[i] = grad_output[i] · derivative(input[i], output[i])`: the backward of every
/// element-wise activation, `∂L/∂X = ∂L/∂Y ∘ h′(X)`.
pub(crate) fn elementwise_backward<T: Scalar>(
    input: ArrayView2<'_, T>,
    output: ArrayView2<'_, T>,
    grad_output: ArrayView2<'_, T>,
    grad_input: Option<&mut Array2<T>>,
    derivative: impl Fn(T, T) -> T,
) {
    if let Some(grad_input) = grad_input {
        crate::kernels::ensure_shape(grad_input, input.nrows(), input.ncols());
        ndarray::Zip::from(grad_input)
            .and(&input)
            .and(&output)
            .and(&grad_output)
            .for_each(|gi, &x, &y, &g| *gi = g * derivative(x, y));
    }
}

/// Applies `output[i] = f(input[i])`: the forward of every element-wise activation.
pub(crate) fn elementwise_forward<T: Scalar>(input: ArrayView2<'_, T>, output: &mut Array2<T>, f: impl Fn(T) -> T) {
    crate::kernels::ensure_shape(output, input.nrows(), input.ncols());
    ndarray::Zip::from(output).and(&input).for_each(|y, &x| *y = f(x));
}
