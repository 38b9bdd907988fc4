//! LayerNorm built from primitive differentiable steps whose backward passes are chained — what autograd
//! would do. It must agree with the manual [`super::LayerNorm`] (the report's "autograd vs manual").
use ndarray::{Array1, Array2, ArrayView2, Axis, Ix1, Zip};

use super::layernorm::{affine_backward, affine_forward};
use super::{Layer, Mode, Param, ParamView};
use crate::kernels;
use crate::Scalar;

/// LayerNorm as the chain `mean → centre → variance → normalise → affine`, per row of `M` features:
///
/// | step      | forward                  | backward (accumulated into the step's inputs)                      |
/// |-----------|--------------------------|--------------------------------------------------------------------|
/// | mean      | `μ = (1/M) Σⱼ xⱼ`        | `∂L/∂xⱼ += ∂L/∂μ / M`                                              |
/// | centre    | `cⱼ = xⱼ − μ`            | `∂L/∂xⱼ += ∂L/∂cⱼ`, `∂L/∂μ = −Σⱼ ∂L/∂cⱼ`                           |
/// | variance  | `v = (1/M) Σⱼ cⱼ²`       | `∂L/∂cⱼ += ∂L/∂v · 2cⱼ/M`                                          |
/// | normalise | `x̂ⱼ = cⱼ (v + ε)^(−1/2)` | `∂L/∂cⱼ += ∂L/∂x̂ⱼ (v+ε)^(−1/2)`, `∂L/∂v = −½ (v+ε)^(−3/2) Σⱼ ∂L/∂x̂ⱼ cⱼ` |
/// | affine    | `yⱼ = γⱼ x̂ⱼ + βⱼ`        | `∂L/∂x̂ⱼ = ∂L/∂yⱼ γⱼ`, `∂L/∂γ = Σ ∂L/∂Y ∘ X̂`, `∂L/∂β = Σ ∂L/∂Y`       |
#[derive(Clone, Debug)]
pub struct LayerNormComposed<T: Scalar> {
    pub gamma: Param<T, Ix1>,
    pub beta: Param<T, Ix1>,
    pub eps: T,
    // the intermediate values the chain keeps for its backward pass
    centred: Array2<T>,
    variance: Array1<T>,
    x_hat: Array2<T>,
    grad_x_hat: Array2<T>,
    grad_centred: Array2<T>,
}

impl<T: Scalar> LayerNormComposed<T> {
    pub fn new(features: usize) -> Self {
        Self {
            gamma: Param::new(Array1::ones(features)),
            beta: Param::new(Array1::zeros(features)),
            eps: T::of(1e-5),
            centred: Array2::zeros((0, features)),
            variance: Array1::zeros(0),
            x_hat: Array2::zeros((0, features)),
            grad_x_hat: Array2::zeros((0, features)),
            grad_centred: Array2::zeros((0, features)),
        }
    }

    pub fn features(&self) -> usize {
        self.gamma.value.len()
    }
}

fn row_mean<T: Scalar>(x: ArrayView2<'_, T>) -> Array1<T> {
    x.sum_axis(Axis(1)) / T::of(x.ncols() as f64)
}

impl<T: Scalar> Layer<T> for LayerNormComposed<T> {
    fn name(&self) -> String {
        format!("LayerNormComposed({})", self.features())
    }

    fn kind(&self) -> super::LayerKind {
        super::LayerKind::LayerNormComposed {
            features: self.features(),
            eps: self.eps.to_f64_lossy(),
        }
    }

    fn forward(&mut self, input: ArrayView2<'_, T>, output: &mut Array2<T>, _mode: Mode) {
        // x: [S, M], y: [S, M]
        let (rows, cols) = input.dim();
        // mean: μ = (1/M) Σ x
        let mean = row_mean(input);
        // centre: c = x − μ
        kernels::ensure_shape(&mut self.centred, rows, cols);
        Zip::from(self.centred.rows_mut())
            .and(input.rows())
            .and(&mean)
            .for_each(|mut c, x, &mu| {
                Zip::from(&mut c).and(&x).for_each(|c, &x| *c = x - mu);
            });
        // variance: v = (1/M) Σ c²
        self.variance = row_mean(self.centred.mapv(|c| c * c).view());
        // normalise: x̂ = c (v + ε)^(−1/2)
        kernels::ensure_shape(&mut self.x_hat, rows, cols);
        let eps = self.eps;
        Zip::from(self.x_hat.rows_mut())
            .and(self.centred.rows())
            .and(&self.variance)
            .for_each(|mut h, c, &v| {
                let r = T::one() / (v + eps).sqrt();
                Zip::from(&mut h).and(&c).for_each(|h, &c| *h = c * r);
            });
        // affine: y = γ x̂ + β
        affine_forward(self.x_hat.view(), &self.gamma.value, &self.beta.value, output);
    }

    fn backward(
        &mut self,
        _input: ArrayView2<'_, T>,
        _output: ArrayView2<'_, T>,
        grad_output: ArrayView2<'_, T>,
        grad_input: Option<&mut Array2<T>>,
    ) {
        // affine
        affine_backward(
            grad_output,
            self.x_hat.view(),
            &mut self.gamma,
            &mut self.beta,
            &mut self.grad_x_hat,
        );
        let Some(grad_input) = grad_input else { return };
        let (rows, cols) = self.x_hat.dim();
        let m = T::of(cols as f64);
        let eps = self.eps;
        let half = T::of(0.5);
        let two = T::of(2.0);
        kernels::ensure_shape(&mut self.grad_centred, rows, cols);
        kernels::ensure_shape(grad_input, rows, cols);
        let rows_iter = Zip::from(self.grad_centred.rows_mut())
            .and(grad_input.rows_mut())
            .and(self.grad_x_hat.rows())
            .and(self.centred.rows())
            .and(&self.variance);
        rows_iter.for_each(|mut grad_c, mut grad_x, grad_h, c, &v| {
            // normalise: ∂L/∂c = ∂L/∂x̂ (v+ε)^(−1/2), ∂L/∂v = −½ (v+ε)^(−3/2) Σ ∂L/∂x̂ ∘ c
            let r = T::one() / (v + eps).sqrt();
            Zip::from(&mut grad_c).and(&grad_h).for_each(|gc, &gh| *gc = gh * r);
            let grad_v = -half * r * r * r * grad_h.iter().zip(c.iter()).map(|(&g, &c)| g * c).sum::<T>();
            // variance: ∂L/∂c += ∂L/∂v · 2c/M
            Zip::from(&mut grad_c)
                .and(&c)
                .for_each(|gc, &c| *gc += grad_v * two * c / m);
            // centre: ∂L/∂x = ∂L/∂c, ∂L/∂μ = −Σ ∂L/∂c
            let grad_mu = -grad_c.iter().copied().sum::<T>();
            // mean: ∂L/∂x += ∂L/∂μ / M
            Zip::from(&mut grad_x)
                .and(&grad_c)
                .for_each(|gx, &gc| *gx = gc + grad_mu / m);
        });
    }

    fn visit_params(&mut self, visit: &mut dyn FnMut(ParamView<'_, T>)) {
        visit(self.gamma.view_mut("gamma"));
        visit(self.beta.view_mut("beta"));
    }
}
