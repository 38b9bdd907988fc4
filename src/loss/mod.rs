//! Losses: a scalar from the network's output and the class labels, and its gradient.
use ndarray::{Array2, ArrayView2};

use crate::Scalar;

mod cross_entropy;
mod softmax_cross_entropy;

pub use cross_entropy::CrossEntropy;
pub use softmax_cross_entropy::SoftmaxCrossEntropy;

/// A loss over a batch, averaged over its `S` rows.
pub trait Loss<T: Scalar>: Send {
    fn name(&self) -> &'static str;
    /// `L` for the network's output `x: [S, C]` and labels `targets: [S]`.
    fn forward(&mut self, x: ArrayView2<'_, T>, targets: &[usize]) -> T;
    /// Writes `∂L/∂X` for the latest `forward`.
    fn backward(&mut self, x: ArrayView2<'_, T>, targets: &[usize], grad_input: &mut Array2<T>);
}
