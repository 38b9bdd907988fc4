//! The GPU twin of every layer kind: its forward (training and evaluation) and backward passes as
//! dispatches bound once to the layer's buffers. The math of each is the CPU layer's (`layers/…`, where the
//! derivations are); the shaders name it.
use super::buffers::Tensor;
use super::kernel::{grid, workgroup_grid, Dispatch, Library};
use super::matmul::{Gemm, GemmBuffers, Operands};
use super::shaders::{BATCHNORM, ELEMENTWISE, LAYERNORM, POOLING};
use super::{GpuContext, GpuError};
use crate::kernels::SlidingWindow;
use crate::layers::LayerKind;
use crate::model::Activation;

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
            LayerKind::Softmax | LayerKind::LayerNormComposed { .. } | LayerKind::BasicBlock { .. } => {
                Err(GpuError::Unsupported(kind.label().into()))
            }
        }
    }

    /// Whether [`Self::layer`] builds a twin of `kind`: the report's separate Softmax and composed LayerNorm
    /// exist for its comparisons only, and the ResNet block has no kernels yet.
    pub fn has_twin(kind: &LayerKind) -> bool {
        !matches!(
            kind,
            LayerKind::Softmax | LayerKind::LayerNormComposed { .. } | LayerKind::BasicBlock { .. }
        )
    }

    /// Linear (`layers/linear.rs`): `Y = X Wᵀ + 1 bᵀ`; `∂L/∂W = (∂L/∂Y)ᵀ X`, `∂L/∂b = 1ᵀ ∂L/∂Y`,
    /// `∂L/∂X = (∂L/∂Y) W`.
    fn linear(&mut self, io: &LayerBuffers<'_>, inputs: usize, outputs: usize) -> Result<LayerProgram, GpuError> {
        let (weight, bias) = (io.params[0], io.params[1]);
        let (grad_weight, grad_bias) = (io.grads[0], io.grads[1]);
        let batch = io.batch;
        let mut program = LayerProgram::default();
        let dense = |transpose_a, transpose_b| Operands::Dense {
            transpose_a,
            transpose_b,
        };
        // Y [S, out] = X [S, in] · Wᵀ + b
        program.forward_gemm(Gemm::new(
            self.library,
            self.context,
            dense(false, true),
            (batch, outputs, inputs),
            GemmBuffers {
                a: io.input.binding(),
                b: weight.binding(),
                c: io.output.binding(),
                bias: Some(bias.binding()),
            },
        )?);
        // ∂L/∂W [out, in] = (∂L/∂Y)ᵀ X
        program.backward_gemm(Gemm::new(
            self.library,
            self.context,
            dense(true, false),
            (outputs, inputs, batch),
            GemmBuffers {
                a: io.grad_output.binding(),
                b: io.input.binding(),
                c: grad_weight.binding(),
                bias: None,
            },
        )?);
        // ∂L/∂b = 1ᵀ ∂L/∂Y: the per-feature sums (channels of one pixel)
        program
            .backward
            .push(self.sum_channels(io.grad_output, grad_bias, batch, outputs, 1)?);
        // ∂L/∂X [S, in] = (∂L/∂Y) W
        if let Some(grad_input) = io.grad_input {
            program.backward_gemm(Gemm::new(
                self.library,
                self.context,
                dense(false, false),
                (batch, inputs, outputs),
                GemmBuffers {
                    a: io.grad_output.binding(),
                    b: weight.binding(),
                    c: grad_input.binding(),
                    bias: None,
                },
            )?);
        }
        Ok(program)
    }

    /// `out[c] = Σ_n Σ_p x[n, c·P + p]` (a bias gradient).
    fn sum_channels(
        &mut self,
        x: View<'_>,
        out: View<'_>,
        batch: usize,
        channels: usize,
        pixels: usize,
    ) -> Result<Dispatch, GpuError> {
        let params = [batch, channels, pixels, 0].map(|v| v as u32);
        self.dispatch(
            BATCHNORM,
            "batchnorm",
            "sum_channels",
            &[params[0], params[1], params[2], 0, 0, 0],
            &[(10, x.binding()), (11, out.binding())],
            workgroup_grid(channels),
        )
    }

    /// ReLU, ELU, Tanh (`layers/relu.rs`, `elu.rs`, `tanh.rs`).
    fn activation(&mut self, io: &LayerBuffers<'_>, activation: Activation) -> Result<LayerProgram, GpuError> {
        let len = io.batch * io.in_features;
        let kind = match activation {
            Activation::Relu => 0,
            Activation::Elu => 1,
            Activation::Tanh => 2,
        };
        let params = [len as u32, kind];
        let mut program = LayerProgram::default();
        program.forward(self.dispatch(
            ELEMENTWISE,
            "elementwise",
            "forward",
            &params,
            &[(1, io.input.binding()), (2, io.output.binding())],
            grid(len),
        )?);
        if let Some(grad_input) = io.grad_input {
            program.backward.push(self.dispatch(
                ELEMENTWISE,
                "elementwise",
                "backward",
                &params,
                &[
                    (1, io.input.binding()),
                    (2, io.output.binding()),
                    (3, io.grad_output.binding()),
                    (4, grad_input.binding()),
                ],
                grid(len),
            )?);
        }
        Ok(program)
    }

    /// `y ← y + x` (the pre-activation block's skip connection).
    fn add(&mut self, x: View<'_>, y: View<'_>) -> Result<Dispatch, GpuError> {
        self.dispatch(
            ELEMENTWISE,
            "elementwise",
            "add",
            &[x.len as u32, 0],
            &[(1, x.binding()), (2, y.binding())],
            grid(x.len),
        )
    }

    /// BatchNorm1d / BatchNorm2d (`layers/batchnorm1d.rs`), per channel over `N·P` values.
    fn batch_norm(
        &mut self,
        io: &LayerBuffers<'_>,
        channels: usize,
        momentum: f64,
        eps: f64,
    ) -> Result<LayerProgram, GpuError> {
        let len = io.batch * io.in_features;
        let pixels = io.in_features / channels.max(1);
        let params = [
            io.batch as u32,
            channels as u32,
            pixels as u32,
            0,
            (eps as f32).to_bits(),
            (momentum as f32).to_bits(),
        ];
        let mean = Tensor::zeros(self.context, channels, "batch mean");
        let inv_std = Tensor::zeros(self.context, channels, "inverse std");
        let x_hat = Tensor::zeros(self.context, len, "x hat");
        let (gamma, beta) = (io.params[0].binding(), io.params[1].binding());
        let (running_mean, running_var) = (io.buffers[0].binding(), io.buffers[1].binding());
        let mut program = LayerProgram::default();
        program.forward_train.push(self.dispatch(
            BATCHNORM,
            "batchnorm",
            "statistics",
            &params,
            &[
                (1, io.input.binding()),
                (2, mean.binding()),
                (3, inv_std.binding()),
                (4, running_mean.clone()),
                (5, running_var.clone()),
            ],
            workgroup_grid(channels),
        )?);
        program.forward_train.push(self.dispatch(
            BATCHNORM,
            "batchnorm",
            "normalize_train",
            &params,
            &[
                (1, io.input.binding()),
                (2, mean.binding()),
                (3, inv_std.binding()),
                (6, gamma.clone()),
                (7, beta.clone()),
                (8, x_hat.binding()),
                (9, io.output.binding()),
            ],
            grid(len),
        )?);
        program.forward_eval.push(self.dispatch(
            BATCHNORM,
            "batchnorm",
            "normalize_eval",
            &params,
            &[
                (1, io.input.binding()),
                (4, running_mean),
                (5, running_var),
                (6, gamma.clone()),
                (7, beta),
                (9, io.output.binding()),
            ],
            grid(len),
        )?);
        let (grad_gamma, grad_beta) = (io.grads[0].binding(), io.grads[1].binding());
        program.backward.push(self.dispatch(
            BATCHNORM,
            "batchnorm",
            "sum_channels_and_products",
            &params,
            &[
                (10, io.grad_output.binding()),
                (8, x_hat.binding()),
                (11, grad_beta.clone()),
                (12, grad_gamma.clone()),
            ],
            workgroup_grid(channels),
        )?);
        if let Some(grad_input) = io.grad_input {
            program.backward.push(self.dispatch(
                BATCHNORM,
                "batchnorm",
                "input_gradient",
                &params,
                &[
                    (10, io.grad_output.binding()),
                    (8, x_hat.binding()),
                    (3, inv_std.binding()),
                    (6, gamma),
                    (11, grad_beta),
                    (12, grad_gamma),
                    (13, grad_input.binding()),
                ],
                grid(len),
            )?);
        }
        program.state.extend([mean, inv_std, x_hat]);
        Ok(program)
    }

    /// LayerNorm (`layers/layernorm.rs`), per row.
    fn layer_norm(&mut self, io: &LayerBuffers<'_>, features: usize, eps: f64) -> Result<LayerProgram, GpuError> {
        let len = io.batch * features;
        let params = [io.batch as u32, features as u32, (eps as f32).to_bits()];
        let x_hat = Tensor::zeros(self.context, len, "x hat");
        let inv_std = Tensor::zeros(self.context, io.batch, "inverse std");
        let gamma = io.params[0].binding();
        let mut program = LayerProgram::default();
        program.forward(self.dispatch(
            LAYERNORM,
            "layernorm",
            "forward",
            &params,
            &[
                (1, io.input.binding()),
                (2, gamma.clone()),
                (3, io.params[1].binding()),
                (4, x_hat.binding()),
                (5, inv_std.binding()),
                (6, io.output.binding()),
            ],
            workgroup_grid(io.batch),
        )?);
        // ∂L/∂β, ∂L/∂γ: per-feature sums over the rows, BatchNorm's reduction with P = 1
        program.backward.push(self.dispatch(
            BATCHNORM,
            "batchnorm",
            "sum_channels_and_products",
            &[io.batch as u32, features as u32, 1, 0, 0, 0],
            &[
                (10, io.grad_output.binding()),
                (8, x_hat.binding()),
                (11, io.grads[1].binding()),
                (12, io.grads[0].binding()),
            ],
            workgroup_grid(features),
        )?);
        if let Some(grad_input) = io.grad_input {
            program.backward.push(self.dispatch(
                LAYERNORM,
                "layernorm",
                "input_gradient",
                &params,
                &[
                    (7, io.grad_output.binding()),
                    (2, gamma),
                    (4, x_hat.binding()),
                    (5, inv_std.binding()),
                    (8, grad_input.binding()),
                ],
                workgroup_grid(io.batch),
            )?);
        }
        program.state.extend([x_hat, inv_std]);
        Ok(program)
    }

    /// Conv2d (`layers/conv2d.rs`) as implicit GEMMs: `Y = W · cols(X) + b`, `∂L/∂W = ∂L/∂Y · cols(X)ᵀ`,
    /// `∂L/∂b = Σ ∂L/∂Y`, `∂L/∂X` = the adjoint of im2col applied to `Wᵀ · ∂L/∂Y`.
    fn conv(
        &mut self,
        io: &LayerBuffers<'_>,
        window: SlidingWindow,
        out_channels: usize,
        has_bias: bool,
    ) -> Result<LayerProgram, GpuError> {
        let batch = io.batch;
        let weight = io.params[0];
        let mut program = LayerProgram::default();
        program.forward_gemm(Gemm::new(
            self.library,
            self.context,
            Operands::ConvForward {
                window,
                out_channels,
                batch,
            },
            (0, 0, 0),
            GemmBuffers {
                a: weight.binding(),
                b: io.input.binding(),
                c: io.output.binding(),
                bias: has_bias.then(|| io.params[1].binding()),
            },
        )?);
        program.backward_gemm(Gemm::new(
            self.library,
            self.context,
            Operands::ConvWeightGradient {
                window,
                out_channels,
                batch,
            },
            (0, 0, 0),
            GemmBuffers {
                a: io.grad_output.binding(),
                b: io.input.binding(),
                c: io.grads[0].binding(),
                bias: None,
            },
        )?);
        if has_bias {
            let sum = self.sum_channels(io.grad_output, io.grads[1], batch, out_channels, window.positions())?;
            program.backward.push(sum);
        }
        if let Some(grad_input) = io.grad_input {
            program.backward_gemm(Gemm::new(
                self.library,
                self.context,
                Operands::ConvInputGradient {
                    window,
                    out_channels,
                    batch,
                },
                (0, 0, 0),
                GemmBuffers {
                    a: weight.binding(),
                    b: io.grad_output.binding(),
                    c: grad_input.binding(),
                    bias: None,
                },
            )?);
        }
        Ok(program)
    }

    /// MaxPool2d (`layers/maxpool2d.rs`).
    fn max_pool(&mut self, io: &LayerBuffers<'_>, w: SlidingWindow) -> Result<LayerProgram, GpuError> {
        let outputs = io.batch * w.channels * w.positions();
        let params = [
            io.batch,
            w.channels,
            w.height,
            w.width,
            w.kernel,
            w.stride,
            w.padding,
            w.output_height(),
            w.output_width(),
        ]
        .map(|v| v as u32);
        let argmax = Tensor::zeros(self.context, outputs, "argmax");
        let mut program = LayerProgram::default();
        program.forward(self.dispatch(
            POOLING,
            "pooling",
            "max_forward",
            &params,
            &[(1, io.input.binding()), (2, io.output.binding()), (3, argmax.binding())],
            grid(outputs),
        )?);
        if let Some(grad_input) = io.grad_input {
            program.backward.push(self.dispatch(
                POOLING,
                "pooling",
                "max_backward",
                &params,
                &[
                    (3, argmax.binding()),
                    (4, io.grad_output.binding()),
                    (5, grad_input.binding()),
                ],
                grid(io.batch * io.in_features),
            )?);
        }
        program.state.push(argmax);
        Ok(program)
    }

    /// GlobalAvgPool (`layers/global_avg_pool.rs`).
    fn average_pool(&mut self, io: &LayerBuffers<'_>, channels: usize) -> Result<LayerProgram, GpuError> {
        let pixels = io.in_features / channels.max(1);
        // the pooling kernels' geometry with the P pixels as one column
        let params = [io.batch, channels, pixels, 1, 0, 0, 0, 0, 0].map(|v| v as u32);
        let mut program = LayerProgram::default();
        program.forward(self.dispatch(
            POOLING,
            "pooling",
            "average_forward",
            &params,
            &[(1, io.input.binding()), (2, io.output.binding())],
            grid(io.batch * channels),
        )?);
        if let Some(grad_input) = io.grad_input {
            program.backward.push(self.dispatch(
                POOLING,
                "pooling",
                "average_backward",
                &params,
                &[(4, io.grad_output.binding()), (5, grad_input.binding())],
                grid(io.batch * io.in_features),
            )?);
        }
        Ok(program)
    }

    /// The pre-activation block (`layers/preact_block.rs`): the BN, ReLU and Conv twins chained, plus the
    /// skip connection (`y += x` forward, `∂L/∂X += ∂L/∂Y` backward).
    fn pre_activation(
        &mut self,
        io: &LayerBuffers<'_>,
        window: SlidingWindow,
        momentum: f64,
        eps: f64,
    ) -> Result<LayerProgram, GpuError> {
        let len = io.batch * io.in_features;
        let [normalized, activated, grad_activated, grad_normalized] =
            ["a = BN(x)", "r = ReLU(a)", "∂L/∂r", "∂L/∂a"].map(|label| Tensor::zeros(self.context, len, label));
        let part = |input, output, grad_output, grad_input, range: std::ops::Range<usize>| LayerBuffers {
            batch: io.batch,
            in_features: io.in_features,
            input,
            output,
            grad_output,
            grad_input,
            params: &io.params[range.clone()],
            grads: &io.grads[range],
            buffers: io.buffers,
        };
        let norm = part(
            io.input,
            View::of(&normalized),
            View::of(&grad_normalized),
            io.grad_input,
            0..2,
        );
        let relu = part(
            View::of(&normalized),
            View::of(&activated),
            View::of(&grad_activated),
            Some(View::of(&grad_normalized)),
            0..0,
        );
        let conv = part(
            View::of(&activated),
            io.output,
            io.grad_output,
            Some(View::of(&grad_activated)),
            2..io.params.len(),
        );
        let mut program = self.batch_norm(&norm, window.channels, momentum, eps)?;
        program.chain(self.activation(&relu, Activation::Relu)?);
        program.chain(self.conv(&conv, window, window.channels, io.params.len() > 3)?);
        program.forward(self.add(io.input, io.output)?);
        if let Some(grad_input) = io.grad_input {
            program.backward.push(self.add(io.grad_output, grad_input)?);
        }
        program
            .state
            .extend([normalized, activated, grad_activated, grad_normalized]);
        Ok(program)
    }
}
