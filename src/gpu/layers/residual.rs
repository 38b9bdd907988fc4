//! The GPU twins of the residual blocks, chained from the other twins: the ConvNet's pre-activation block
//! (`layers/preact_block.rs`) and the ResNet `BasicBlock` (`layers/basic_block.rs`).
use super::{Builder, LayerBuffers, LayerProgram, View};
use crate::gpu::buffers::Tensor;
use crate::gpu::GpuError;
use crate::kernels::SlidingWindow;
use crate::model::Activation;

impl Builder<'_> {
    /// The pre-activation block (`layers/preact_block.rs`): the BN, ReLU and Conv twins chained, plus the
    /// skip connection (`y += x` forward, `∂L/∂X += ∂L/∂Y` backward).
    pub(super) fn pre_activation(
        &mut self,
        io: &LayerBuffers<'_>,
        window: SlidingWindow,
        momentum: f64,
        eps: f64,
    ) -> Result<LayerProgram, GpuError> {
        let len = io.batch * io.in_features;
        let [normalized, activated, grad_activated, grad_normalized] =
            ["a = BN(x)", "r = ReLU(a)", "∂L/∂r", "∂L/∂a"].map(|label| Tensor::zeros(self.context, len, label));
        let norm = part(
            io,
            io.in_features,
            [io.input, View::of(&normalized), View::of(&grad_normalized)],
            io.grad_input,
            0..2,
            io.buffers,
        );
        let relu = part(
            io,
            io.in_features,
            [View::of(&normalized), View::of(&activated), View::of(&grad_activated)],
            Some(View::of(&grad_normalized)),
            0..0,
            io.buffers,
        );
        let conv = part(
            io,
            io.in_features,
            [View::of(&activated), io.output, io.grad_output],
            Some(View::of(&grad_activated)),
            2..io.params.len(),
            io.buffers,
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

    /// torchvision's `BasicBlock` (`layers/basic_block.rs`, where the derivation is): forward
    /// `a₁ = conv1(x)`, `r₁ = ReLU(BN₁(a₁))`, `z = BN₂(conv2(r₁)) + shortcut(x)`, `y = ReLU(z)`; backward the
    /// twins in reverse, `∂L/∂Z` sent into both branches and their `∂L/∂X` added (conv1's first, then the
    /// shortcut's: `∂L/∂Z` itself, or back through BN_d and the 1×1 conv_d).
    pub(super) fn basic_block(
        &mut self,
        io: &LayerBuffers<'_>,
        conv1: SlidingWindow,
        conv2: SlidingWindow,
        out_channels: usize,
        projection: Option<SlidingWindow>,
        (momentum, eps): (f64, f64),
    ) -> Result<LayerProgram, GpuError> {
        let out_features = out_channels * conv2.positions();
        let len = io.batch * out_features;
        let tensor = |builder: &Self, label| Tensor::zeros(builder.context, len, label);
        let [a1, b1, r1, a2] = ["a₁ = conv1(x)", "BN₁(a₁)", "r₁", "a₂ = conv2(r₁)"].map(|l| tensor(self, l));
        let [grad_sum, grad_a2, grad_r1, grad_b1, grad_a1] =
            ["∂L/∂z", "∂L/∂a₂", "∂L/∂r₁", "∂L/∂BN₁", "∂L/∂a₁"].map(|l| tensor(self, l));
        let sum = tensor(self, "z");
        // The parameters in visit_params order: conv1 W, BN₁ γ β, conv2 W, BN₂ γ β, then conv_d W, BN_d γ β;
        // the buffers: BN₁, BN₂, BN_d running mean and variance.
        let bn_buffers = |k: usize| &io.buffers[2 * k..2 * k + 2];
        let mut program = self.conv(
            &part(
                io,
                io.in_features,
                [io.input, View::of(&a1), View::of(&grad_a1)],
                io.grad_input,
                0..1,
                &[],
            ),
            conv1,
            out_channels,
            false,
        )?;
        program.chain(self.batch_norm(
            &part(
                io,
                out_features,
                [View::of(&a1), View::of(&b1), View::of(&grad_b1)],
                Some(View::of(&grad_a1)),
                1..3,
                bn_buffers(0),
            ),
            out_channels,
            momentum,
            eps,
        )?);
        program.chain(self.activation(
            &part(
                io,
                out_features,
                [View::of(&b1), View::of(&r1), View::of(&grad_r1)],
                Some(View::of(&grad_b1)),
                0..0,
                &[],
            ),
            Activation::Relu,
        )?);
        program.chain(self.conv(
            &part(
                io,
                out_features,
                [View::of(&r1), View::of(&a2), View::of(&grad_a2)],
                Some(View::of(&grad_r1)),
                3..4,
                &[],
            ),
            conv2,
            out_channels,
            false,
        )?);
        program.chain(self.batch_norm(
            &part(
                io,
                out_features,
                [View::of(&a2), View::of(&sum), View::of(&grad_sum)],
                Some(View::of(&grad_a2)),
                4..6,
                bn_buffers(1),
            ),
            out_channels,
            momentum,
            eps,
        )?);
        // The shortcut: z += x (identity), or z += BN_d(conv_d(x)).
        let projection_state = match projection {
            None => {
                program.forward(self.add(io.input, View::of(&sum))?);
                None
            }
            Some(window) => {
                let [projected, shortcut, grad_projected] =
                    ["c = conv_d(x)", "BN_d(c)", "∂L/∂c"].map(|l| tensor(self, l));
                let grad_input = io
                    .grad_input
                    .map(|_| Tensor::zeros(self.context, io.batch * io.in_features, "∂L/∂x through conv_d"));
                let mut path = self.conv(
                    &part(
                        io,
                        io.in_features,
                        [io.input, View::of(&projected), View::of(&grad_projected)],
                        grad_input.as_ref().map(View::of),
                        6..7,
                        &[],
                    ),
                    window,
                    out_channels,
                    false,
                )?;
                path.chain(self.batch_norm(
                    &part(
                        io,
                        out_features,
                        [View::of(&projected), View::of(&shortcut), View::of(&grad_sum)],
                        Some(View::of(&grad_projected)),
                        7..9,
                        bn_buffers(2),
                    ),
                    out_channels,
                    momentum,
                    eps,
                )?);
                path.forward(self.add(View::of(&shortcut), View::of(&sum))?);
                // Forward after the main branch; backward before it (∂L/∂z is ready then, and conv1's ∂L/∂x,
                // which the shortcut's is added to, comes last).
                program.chain(path);
                Some((grad_input, [projected, shortcut, grad_projected]))
            }
        };
        program.chain(self.activation(
            &part(
                io,
                out_features,
                [View::of(&sum), io.output, io.grad_output],
                Some(View::of(&grad_sum)),
                0..0,
                &[],
            ),
            Activation::Relu,
        )?);
        if let Some(grad_input) = io.grad_input {
            let from_shortcut = match &projection_state {
                Some((Some(through_projection), _)) => View::of(through_projection),
                _ => View::of(&grad_sum),
            };
            program.backward.push(self.add(from_shortcut, grad_input)?);
        }
        program
            .state
            .extend([a1, b1, r1, a2, sum, grad_sum, grad_a2, grad_r1, grad_b1, grad_a1]);
        if let Some((grad_input, tensors)) = projection_state {
            program.state.extend(tensors);
            program.state.extend(grad_input);
        }
        Ok(program)
    }
}

/// A sub-layer's share of a block's buffers: its own `[input, output, ∂L/∂output]` and `∂L/∂input`, the block's
/// parameters (and their gradients) in the range `params`, and its `buffers` of running statistics.
fn part<'a>(
    io: &LayerBuffers<'a>,
    in_features: usize,
    [input, output, grad_output]: [View<'a>; 3],
    grad_input: Option<View<'a>>,
    params: std::ops::Range<usize>,
    buffers: &'a [View<'a>],
) -> LayerBuffers<'a> {
    LayerBuffers {
        batch: io.batch,
        in_features,
        input,
        output,
        grad_output,
        grad_input,
        params: &io.params[params.clone()],
        grads: &io.grads[params],
        buffers,
    }
}
