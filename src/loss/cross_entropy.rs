//! Cross-entropy on probabilities: the report's separate module after a softmax layer.
use ndarray::{Array2, ArrayView2};

use super::Loss;
use crate::kernels;
use crate::Scalar;

/// `L = −(1/S) Σ T ∘ log X` for probabilities `X: [S, C]` and one-hot targets `T`.
///
/// Backward: `∂L/∂X = −(1/S) T ⊘ X` (zero wherever `T` is zero).
#[derive(Clone, Debug, Default)]
pub struct CrossEntropy;

impl<T: Scalar> Loss<T> for CrossEntropy {
    fn name(&self) -> &'static str {
        "CrossEntropy"
    }

    fn forward(&mut self, x: ArrayView2<'_, T>, targets: &[usize]) -> T {
        // x: [S, C] probabilities, targets: [S]
        let batch = T::of(x.nrows() as f64);
        -targets.iter().enumerate().map(|(s, &t)| x[[s, t]].ln()).sum::<T>() / batch
    }

    fn backward(&mut self, x: ArrayView2<'_, T>, targets: &[usize], grad_input: &mut Array2<T>) {
        kernels::ensure_shape(grad_input, x.nrows(), x.ncols());
        grad_input.fill(T::zero());
        let batch = T::of(x.nrows() as f64);
        for (s, &t) in targets.iter().enumerate() {
            grad_input[[s, t]] = -T::one() / (batch * x[[s, t]]);
        }
    }
}
