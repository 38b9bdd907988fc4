//! The ConvNet's pre-activation residual block: `y = x + Conv(ReLU(BN(x)))`.
//! GPU twin: `gpu/layers.rs` (`preact`), the same chain of the BN, ReLU and Conv twins.
use ndarray::{Array2, ArrayView2};
use rand::Rng;

use super::{BatchNorm2d, Conv2d, Conv2dConfig, Layer, LinearInit, Mode, ParamView, Relu, StateTensor};
use crate::error::ConfigError;
use crate::kernels;
use crate::Scalar;

/// A pre-activation residual block (He et al. 2016) on `channels×height×width` images: batch
/// normalisation, ReLU, then a `kernel×kernel` convolution with stride 1 and "same" padding
/// `(kernel − 1)/2`, added to the block's input.
///
/// Forward: `a = BN(x)`, `r = ReLU(a)`, `y = x + Conv(r)`.
///
/// Backward, the chain rule through the three layers plus the skip connection, whose Jacobian is the
/// identity: `∂L/∂r = Conv.backward(∂L/∂Y)`, `∂L/∂a = ReLU.backward(∂L/∂r)`, and
/// `∂L/∂X = BN.backward(∂L/∂a) + ∂L/∂Y`. The parameter gradients are those of the BN and the Conv.
#[derive(Clone, Debug)]
pub struct PreActBlock<T: Scalar> {
    pub batch_norm: BatchNorm2d<T>,
    pub conv: Conv2d<T>,
    /// `a = BN(x)`, `r = ReLU(a)` and their gradients, kept for the backward pass.
    normalized: Array2<T>,
    activated: Array2<T>,
    grad_normalized: Array2<T>,
    grad_activated: Array2<T>,
}

impl<T: Scalar> PreActBlock<T> {
    /// A block on `channels×height×width` inputs with an odd `kernel` (3 in the ConvNet).
    pub fn new(
        channels: usize,
        (height, width): (usize, usize),
        kernel: usize,
        init: LinearInit,
        rng: &mut impl Rng,
    ) -> Result<Self, ConfigError> {
        if kernel % 2 == 0 {
            return Err(ConfigError::new(
                "kernel size",
                "an odd size, so the output keeps the input's size",
                kernel,
            ));
        }
        let conv = Conv2dConfig::new(channels, channels, kernel, (height, width))
            .with_padding(kernel / 2)
            .with_init(init);
        Ok(Self {
            batch_norm: BatchNorm2d::new(channels)?,
            conv: Conv2d::new(&conv, rng)?,
            normalized: Array2::zeros((0, 0)),
            activated: Array2::zeros((0, 0)),
            grad_normalized: Array2::zeros((0, 0)),
            grad_activated: Array2::zeros((0, 0)),
        })
    }
}

impl<T: Scalar> Layer<T> for PreActBlock<T> {
    fn name(&self) -> String {
        let k = self.conv.window().kernel;
        format!("PreAct({}, {k}×{k})", self.batch_norm.channels())
    }

    fn forward(&mut self, input: ArrayView2<'_, T>, output: &mut Array2<T>, mode: Mode) {
        // x, a, r, y: [N, C·H·W]
        self.batch_norm.forward(input, &mut self.normalized, mode);
        Relu.forward(self.normalized.view(), &mut self.activated, mode);
        self.conv.forward(self.activated.view(), output, mode);
        // y = x + Conv(r)
        kernels::add_assign(output.view_mut(), input);
    }

    fn backward(
        &mut self,
        input: ArrayView2<'_, T>,
        output: ArrayView2<'_, T>,
        grad_output: ArrayView2<'_, T>,
        grad_input: Option<&mut Array2<T>>,
    ) {
        // ∂L/∂r = Conv.backward(∂L/∂Y) (Conv2d's backward reads only its input r, not its output)
        self.conv.backward(
            self.activated.view(),
            output,
            grad_output,
            Some(&mut self.grad_activated),
        );
        // ∂L/∂a = ∂L/∂r ∘ [a > 0]
        let relu: &mut dyn Layer<T> = &mut Relu;
        relu.backward(
            self.normalized.view(),
            self.activated.view(),
            self.grad_activated.view(),
            Some(&mut self.grad_normalized),
        );
        // ∂L/∂X = BN.backward(∂L/∂a) + ∂L/∂Y (the skip connection); the BN's parameter gradients are
        // needed even when ∂L/∂X is not
        let (normalized, grad_normalized) = (self.normalized.view(), self.grad_normalized.view());
        match grad_input {
            Some(grad_input) => {
                self.batch_norm
                    .backward(input, normalized, grad_normalized, Some(&mut *grad_input));
                kernels::add_assign(grad_input.view_mut(), grad_output);
            }
            None => self.batch_norm.backward(input, normalized, grad_normalized, None),
        }
    }

    fn kind(&self) -> super::LayerKind {
        let norm = &self.batch_norm.per_channel;
        super::LayerKind::PreAct {
            window: *self.conv.window(),
            momentum: norm.momentum.to_f64_lossy(),
            eps: norm.eps.to_f64_lossy(),
        }
    }

    fn visit_params(&mut self, visit: &mut dyn FnMut(ParamView<'_, T>)) {
        self.batch_norm.visit_params(visit);
        self.conv.visit_params(visit);
    }

    fn visit_buffers(&mut self, visit: &mut dyn FnMut(&'static str, &mut [T])) {
        self.batch_norm.visit_buffers(visit);
    }

    /// As `torch.nn` sub-modules `bn` and `conv`.
    fn visit_state(&mut self, visit: &mut dyn FnMut(StateTensor<'_, T>)) {
        self.batch_norm.visit_state(&mut |t| visit(t.within("bn")));
        self.conv.visit_state(&mut |t| visit(t.within("conv")));
    }
}
