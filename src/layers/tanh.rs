//! Tanh: `h(x) = tanh(x)`.
//! GPU twin: `gpu/shaders/elementwise.wgsl`.
use ndarray::{Array2, ArrayView2};

use super::{elementwise_backward, elementwise_forward, Layer, Mode};
use crate::Scalar;

/// Hyperbolic tangent.
///
/// Backward: `∂L/∂X = ∂L/∂Y ∘ (1 − Y²)`, read off the stored output.
#[derive(Clone, Debug, Default)]
pub struct Tanh;

impl<T: Scalar> Layer<T> for Tanh {
    fn name(&self) -> String {
        "Tanh".into()
    }

    fn kind(&self) -> super::LayerKind {
        super::LayerKind::Activation(crate::model::Activation::Tanh)
    }

    fn forward(&mut self, input: ArrayView2<'_, T>, output: &mut Array2<T>, _mode: Mode) {
        // x: [batch, features], y: [batch, features]
        elementwise_forward(input, output, |x| x.tanh());
    }

    fn backward(
        &mut self,
        input: ArrayView2<'_, T>,
        output: ArrayView2<'_, T>,
        grad_output: ArrayView2<'_, T>,
        grad_input: Option<&mut Array2<T>>,
    ) {
        elementwise_backward(input, output, grad_output, grad_input, |_, y| T::one() - y * y);
    }
}
