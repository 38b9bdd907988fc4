//! Softmax over each row: `yᵢ = e^{xᵢ − max x} / Σⱼ e^{xⱼ − max x}`.
use ndarray::{Array2, ArrayView2, Axis, Zip};

use super::{Layer, Mode};
use crate::kernels;
use crate::Scalar;

/// Row-wise softmax (the report's separate softmax module, followed by cross-entropy on probabilities).
///
/// Backward, from `∂yᵢ/∂xⱼ = yᵢ(δᵢⱼ − yⱼ)` per row:
/// `∂L/∂X = Y ∘ (∂L/∂Y − rowsum(∂L/∂Y ∘ Y))`.
#[derive(Clone, Debug, Default)]
pub struct Softmax;

/// Writes the row-wise softmax of `input` into `output` (max-shifted for stability).
pub(crate) fn softmax_rows<T: Scalar>(input: ArrayView2<'_, T>, output: &mut Array2<T>) {
    kernels::ensure_shape(output, input.nrows(), input.ncols());
    for (x, mut y) in input.axis_iter(Axis(0)).zip(output.axis_iter_mut(Axis(0))) {
        let max = x.iter().fold(T::neg_infinity(), |m, &v| m.max(v));
        Zip::from(&mut y).and(&x).for_each(|y, &x| *y = (x - max).exp());
        let sum: T = y.iter().copied().sum();
        y.mapv_inplace(|v| v / sum);
    }
}

impl<T: Scalar> Layer<T> for Softmax {
    fn name(&self) -> String {
        "Softmax".into()
    }

    fn kind(&self) -> super::LayerKind {
        super::LayerKind::Softmax
    }

    fn forward(&mut self, input: ArrayView2<'_, T>, output: &mut Array2<T>, _mode: Mode) {
        // x: [S, C], y: [S, C], each row of y sums to 1
        softmax_rows(input, output);
    }

    fn backward(
        &mut self,
        _input: ArrayView2<'_, T>,
        output: ArrayView2<'_, T>,
        grad_output: ArrayView2<'_, T>,
        grad_input: Option<&mut Array2<T>>,
    ) {
        let Some(grad_input) = grad_input else { return };
        kernels::ensure_shape(grad_input, output.nrows(), output.ncols());
        for ((y, g), mut dx) in output
            .axis_iter(Axis(0))
            .zip(grad_output.axis_iter(Axis(0)))
            .zip(grad_input.axis_iter_mut(Axis(0)))
        {
            let row_dot: T = y.iter().zip(g.iter()).map(|(&y, &g)| y * g).sum();
            Zip::from(&mut dx)
                .and(&y)
                .and(&g)
                .for_each(|dx, &y, &g| *dx = y * (g - row_dot));
        }
    }
}
