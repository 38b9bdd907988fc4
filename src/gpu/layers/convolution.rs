//! The GPU twins of the convolutional layers: Conv2d (`layers/conv2d.rs`) as implicit GEMMs, MaxPool2d,
//! and GlobalAvgPool.
use super::{Builder, LayerBuffers, LayerProgram};
use crate::gpu::buffers::Tensor;
use crate::gpu::kernel::grid;
use crate::gpu::matmul::{Gemm, GemmBuffers, Operands};
use crate::gpu::shaders::POOLING;
use crate::gpu::GpuError;
use crate::kernels::SlidingWindow;

impl Builder<'_> {
    /// Conv2d (`layers/conv2d.rs`) as implicit GEMMs: `Y = W · cols(X) + b`, `∂L/∂W = ∂L/∂Y · cols(X)ᵀ`,
    /// `∂L/∂b = Σ ∂L/∂Y`, `∂L/∂X` = the adjoint of im2col applied to `Wᵀ · ∂L/∂Y`.
    pub(super) fn conv(
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
    pub(super) fn max_pool(&mut self, io: &LayerBuffers<'_>, w: SlidingWindow) -> Result<LayerProgram, GpuError> {
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
    pub(super) fn average_pool(&mut self, io: &LayerBuffers<'_>, channels: usize) -> Result<LayerProgram, GpuError> {
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
}
