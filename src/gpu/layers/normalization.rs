//! The GPU twins of the normalisations: BatchNorm1d/2d (`layers/batchnorm1d.rs`) and LayerNorm
//! (`layers/layernorm.rs`).
use super::{Builder, LayerBuffers, LayerProgram};
use crate::gpu::buffers::Tensor;
use crate::gpu::kernel::{grid, workgroup_grid};
use crate::gpu::shaders::{BATCHNORM, LAYERNORM};
use crate::gpu::GpuError;

impl Builder<'_> {
    /// BatchNorm1d / BatchNorm2d (`layers/batchnorm1d.rs`), per channel over `N·P` values.
    pub(super) fn batch_norm(
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
    pub(super) fn layer_norm(
        &mut self,
        io: &LayerBuffers<'_>,
        features: usize,
        eps: f64,
    ) -> Result<LayerProgram, GpuError> {
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
}
