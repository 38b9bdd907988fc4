//! ELU, α = 1: `h(x) = x` for `x > 0`, `eˣ − 1` otherwise.
//! GPU twin: `gpu/shaders/elementwise.wgsl`.
use ndarray::{Array2, ArrayView2};

use super::{elementwise_backward, elementwise_forward, Layer, Mode};
use crate::Scalar;

/// Exponential linear unit with α = 1.
///
/// Backward: `∂L/∂X = ∂L/∂Y ∘ h′(X)` with `h′(x) = 1` for `x > 0` and `eˣ = h(x) + 1` otherwise,
/// so the derivative is read off the stored output without a second exponential.
#[derive(Clone, Debug, Default)]
pub struct Elu;

impl<T: Scalar> Layer<T> for Elu {
    fn name(&self) -> String {
        "ELU".into()
    }

    fn kind(&self) -> super::LayerKind {
        super::LayerKind::Activation(crate::model::Activation::Elu)
    }

    fn forward(&mut self, input: ArrayView2<'_, T>, output: &mut Array2<T>, _mode: Mode) {
        // x: [batch, features], y: [batch, features]
        elementwise_forward(input, output, |x| if x > T::zero() { x } else { x.exp_m1() });
    }

    fn backward(
        &mut self,
        input: ArrayView2<'_, T>,
        output: ArrayView2<'_, T>,
        grad_output: ArrayView2<'_, T>,
        grad_input: Option<&mut Array2<T>>,
    ) {
        elementwise_backward(input, output, grad_output, grad_input, |x, y| {
            if x > T::zero() {
                T::one()
            } else {
                y + T::one()
            }
        });
    }
}
