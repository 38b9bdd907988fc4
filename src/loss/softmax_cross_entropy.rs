//! Softmax fused with cross-entropy: numerically stable, the default training loss.
//! GPU twin: `gpu/shaders/softmax_cross_entropy.wgsl`.
use ndarray::{Array2, ArrayView2, Axis};

use super::Loss;
use crate::kernels;
use crate::layers::softmax_rows;
use crate::Scalar;

/// `L = −(1/S) Σₛ log softmax(zₛ)[tₛ] = (1/S) Σₛ (logsumexp(zₛ) − zₛ[tₛ])` for logits `Z: [S, C]`.
///
/// Backward: chaining the softmax and cross-entropy backward passes collapses to `∂L/∂Z = (Y − T)/S`
/// with `Y = softmax(Z)` and one-hot `T`. The log-sum-exp is shifted by the row maximum so no
/// exponential overflows.
#[derive(Clone, Debug, Default)]
pub struct SoftmaxCrossEntropy<T: Scalar> {
    probabilities: Array2<T>,
}

impl<T: Scalar> SoftmaxCrossEntropy<T> {
    /// The softmax of the latest logits.
    pub fn probabilities(&self) -> ArrayView2<'_, T> {
        self.probabilities.view()
    }
}

impl<T: Scalar> Loss<T> for SoftmaxCrossEntropy<T> {
    fn name(&self) -> &'static str {
        "SoftmaxCrossEntropy"
    }

    fn forward(&mut self, logits: ArrayView2<'_, T>, targets: &[usize]) -> T {
        // z: [S, C] logits, targets: [S]
        softmax_rows(logits, &mut self.probabilities);
        let batch = T::of(logits.nrows() as f64);
        let total: T = logits
            .axis_iter(Axis(0))
            .zip(targets)
            .map(|(z, &t)| {
                let max = z.iter().fold(T::neg_infinity(), |m, &v| m.max(v));
                let log_sum_exp = max + z.iter().map(|&v| (v - max).exp()).sum::<T>().ln();
                log_sum_exp - z[t]
            })
            .sum();
        total / batch
    }

    fn backward(&mut self, logits: ArrayView2<'_, T>, targets: &[usize], grad_input: &mut Array2<T>) {
        kernels::ensure_shape(grad_input, logits.nrows(), logits.ncols());
        let inv_batch = T::one() / T::of(logits.nrows() as f64);
        grad_input.zip_mut_with(&self.probabilities, |g, &y| *g = y * inv_batch);
        for (s, &t) in targets.iter().enumerate() {
            grad_input[[s, t]] -= inv_batch;
        }
    }
}
