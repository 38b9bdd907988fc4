//! The GPU twin of every layer kind: its forward (training and evaluation) and backward passes as
//! dispatches bound once to the layer's buffers. The math of each is the CPU layer's (`layers/…`, where the
//! derivations are); the shaders name it.
//!
//! By concern: `dense` (Linear, the activations, the skip connection's sum), `normalization` (BatchNorm,
//! LayerNorm), `convolution` (Conv2d, the poolings), `residual` (the pre-activation block, the ResNet block).
mod convolution;
mod dense;
mod normalization;
mod residual;

use super::buffers::Tensor;
use super::kernel::{Dispatch, Library};
use super::matmul::Gemm;
use super::{GpuContext, GpuError};
use crate::layers::LayerKind;

/// `len` values of a tensor from value `offset` (a multiple of 64, see [`super::buffers::BINDING_ALIGNMENT`]).
#[derive(Clone, Copy)]
pub struct View<'a> {
    pub tensor: &'a Tensor,
    pub offset: usize,
    pub len: usize,
}

impl<'a> View<'a> {
    /// The whole tensor.
    pub fn of(tensor: &'a Tensor) -> Self {
        Self {
            tensor,
            offset: 0,
            len: tensor.len,
        }
    }

    pub fn binding(&self) -> wgpu::BindingResource<'a> {
        self.tensor.slice_binding(self.offset, self.len)
    }
}

/// A layer's buffers: its input and output `[batch, features]`, their gradients, and its parameters,
/// their gradients and its running statistics in the order of [`crate::layers::Layer::visit_params`] and
/// `visit_buffers`.
pub struct LayerBuffers<'a> {
    pub batch: usize,
    pub in_features: usize,
    pub input: View<'a>,
    pub output: View<'a>,
    pub grad_output: View<'a>,
    /// `None` for the first layer, whose `∂L/∂X` training does not need.
    pub grad_input: Option<View<'a>>,
    pub params: &'a [View<'a>],
    pub grads: &'a [View<'a>],
    pub buffers: &'a [View<'a>],
}

/// A layer's dispatches, in order, and the buffers of its own state (x̂, statistics, argmaxes…).
#[derive(Default)]
pub struct LayerProgram {
    pub forward_train: Vec<Dispatch>,
    pub forward_eval: Vec<Dispatch>,
    pub backward: Vec<Dispatch>,
    state: Vec<Tensor>,
}

impl LayerProgram {
    /// The same dispatches in training and evaluation (layers without running statistics).
    fn forward(&mut self, dispatch: Dispatch) {
        self.forward_train.push(dispatch.clone());
        self.forward_eval.push(dispatch);
    }

    fn forward_gemm(&mut self, gemm: Gemm) {
        let (dispatches, scratch) = gemm.into_parts();
        self.forward_train.extend(dispatches.iter().cloned());
        self.forward_eval.extend(dispatches);
        self.state.extend(scratch);
    }

    fn backward_gemm(&mut self, gemm: Gemm) {
        let (dispatches, scratch) = gemm.into_parts();
        self.backward.extend(dispatches);
        self.state.extend(scratch);
    }

    /// Appends `other`'s dispatches after this program's (forward) and before them (backward).
    fn chain(&mut self, other: LayerProgram) {
        self.forward_train.extend(other.forward_train);
        self.forward_eval.extend(other.forward_eval);
        let mut backward = other.backward;
        backward.append(&mut self.backward);
        self.backward = backward;
        self.state.extend(other.state);
    }
}

/// What every builder needs: the device and the pipeline library.
pub struct Builder<'a> {
    pub context: &'a GpuContext,
    pub library: &'a mut Library,
}

impl Builder<'_> {
    fn dispatch(
        &mut self,
        source: &str,
        key: &str,
        entry: &str,
        params: &[u32],
        buffers: &[(u32, wgpu::BindingResource<'_>)],
        workgroups: (u32, u32, u32),
    ) -> Result<Dispatch, GpuError> {
        self.library
            .dispatch(self.context, key, source, entry, params, buffers, workgroups)
    }

    /// Builds the twin of a layer of `kind`.
    pub fn layer(&mut self, kind: &LayerKind, io: &LayerBuffers<'_>) -> Result<LayerProgram, GpuError> {
        match *kind {
            LayerKind::Linear {
                in_features,
                out_features,
            } => self.linear(io, in_features, out_features),
            LayerKind::Activation(activation) => self.activation(io, activation),
            LayerKind::BatchNorm1d {
                features: channels,
                momentum,
                eps,
            }
            | LayerKind::BatchNorm2d {
                channels,
                momentum,
                eps,
            } => self.batch_norm(io, channels, momentum, eps),
            LayerKind::LayerNorm { features, eps } => self.layer_norm(io, features, eps),
            LayerKind::Conv2d {
                window,
                out_channels,
                bias,
            } => self.conv(io, window, out_channels, bias),
            LayerKind::MaxPool2d { window } => self.max_pool(io, window),
            LayerKind::GlobalAvgPool { channels } => self.average_pool(io, channels),
            LayerKind::PreAct { window, momentum, eps } => self.pre_activation(io, window, momentum, eps),
            LayerKind::BasicBlock {
                conv1,
                conv2,
                out_channels,
                projection,
                momentum,
                eps,
            } => self.basic_block(io, conv1, conv2, out_channels, projection, (momentum, eps)),
            LayerKind::Softmax | LayerKind::LayerNormComposed { .. } => Err(GpuError::Unsupported(format!("{kind:?}"))),
        }
    }

    /// Whether [`Self::layer`] builds a twin of `kind`: the report's separate Softmax and composed LayerNorm
    /// exist for its comparisons only.
    pub fn has_twin(kind: &LayerKind) -> bool {
        !matches!(kind, LayerKind::Softmax | LayerKind::LayerNormComposed { .. })
    }
}
