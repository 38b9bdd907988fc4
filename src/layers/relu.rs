//! ReLU: `h(x) = max(0, x)`.
//! GPU twin: `gpu/shaders/elementwise.wgsl`.
use ndarray::{Array2, ArrayView2};

use super::{elementwise_backward, elementwise_forward, Layer, Mode};
use crate::Scalar;

/// Rectified linear unit.
///
/// Backward: `∂L/∂X = ∂L/∂Y ∘ [X > 0]` (the subgradient 0 is taken at 0).
#[derive(Clone, Debug, Default)]
pub struct Relu;

impl<T: Scalar> Layer<T> for Relu {
    fn name(&self) -> String {
        "ReLU".into()
    }

    fn kind(&self) -> super::LayerKind {
        super::LayerKind::Activation(crate::model::Activation::Relu)
    }

    fn forward(&mut self, input: ArrayView2<'_, T>, output: &mut Array2<T>, _mode: Mode) {
        // x: [batch, features], y: [batch, features]
        elementwise_forward(input, output, |x| if x > T::zero() { x } else { T::zero() });
    }

    fn backward(
        &mut self,
        input: ArrayView2<'_, T>,
        output: ArrayView2<'_, T>,
        grad_output: ArrayView2<'_, T>,
        grad_input: Option<&mut Array2<T>>,
    ) {
        elementwise_backward(input, output, grad_output, grad_input, |x, _| {
            if x > T::zero() {
                T::one()
            } else {
                T::zero()
            }
        });
    }
}
