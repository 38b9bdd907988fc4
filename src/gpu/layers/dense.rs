//! The GPU twins of the dense layers: Linear (`layers/linear.rs`), the activations (`relu.rs`, `elu.rs`,
//! `tanh.rs`), and the elementwise sum a skip connection needs.
use super::{Builder, LayerBuffers, LayerProgram, View};
use crate::gpu::kernel::{grid, workgroup_grid, Dispatch};
use crate::gpu::matmul::{Gemm, GemmBuffers, Operands};
use crate::gpu::shaders::{BATCHNORM, ELEMENTWISE};
use crate::gpu::GpuError;
use crate::model::Activation;

impl Builder<'_> {
    /// Linear (`layers/linear.rs`): `Y = X Wᵀ + 1 bᵀ`; `∂L/∂W = (∂L/∂Y)ᵀ X`, `∂L/∂b = 1ᵀ ∂L/∂Y`,
    /// `∂L/∂X = (∂L/∂Y) W`.
    pub(super) fn linear(
        &mut self,
        io: &LayerBuffers<'_>,
        inputs: usize,
        outputs: usize,
    ) -> Result<LayerProgram, GpuError> {
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
    pub(super) fn sum_channels(
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
    pub(super) fn activation(
        &mut self,
        io: &LayerBuffers<'_>,
        activation: Activation,
    ) -> Result<LayerProgram, GpuError> {
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
    pub(super) fn add(&mut self, x: View<'_>, y: View<'_>) -> Result<Dispatch, GpuError> {
        self.dispatch(
            ELEMENTWISE,
            "elementwise",
            "add",
            &[x.len as u32, 0],
            &[(1, x.binding()), (2, y.binding())],
            grid(x.len),
        )
    }
}
