//! Linear (fully connected) layer: `Y = X Wᵀ + 1 bᵀ`, with `W` stored out × in as in the course.
//! GPU twin: `gpu/layers.rs` (`linear`), its products in `gpu/shaders/gemm.wgsl`.
use ndarray::{Array1, Array2, ArrayView2, Ix1, Ix2};
use rand::Rng;
use rand_distr::{Distribution, Normal, Uniform};

use super::{Layer, Mode, Param, ParamView};
use crate::kernels::{self, Transpose};
use crate::Scalar;

/// How a linear layer's parameters are initialised.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum LinearInit {
    /// The NumPy assignment: `W ~ N(0, std²)` (std 1e-4 there), `b = 0`.
    Normal { std: f64 },
    /// PyTorch's default (kaiming-uniform with a = √5): `W, b ~ U(±1/√fan_in)`.
    PyTorch,
}

/// A fully connected layer.
///
/// Forward: `Y = X Wᵀ + 1 bᵀ` with `X: [S, in]`, `W: [out, in]`, `b: [out]`, `Y: [S, out]`.
///
/// Backward, from `Yᵢⱼ = Σₖ Xᵢₖ Wⱼₖ + bⱼ`:
/// - `∂L/∂W = (∂L/∂Y)ᵀ X` (`[out, in]`),
/// - `∂L/∂b = 1ᵀ ∂L/∂Y` (the column sums),
/// - `∂L/∂X = (∂L/∂Y) W` (`[S, in]`).
#[derive(Clone, Debug)]
pub struct Linear<T: Scalar> {
    pub weight: Param<T, Ix2>,
    pub bias: Param<T, Ix1>,
}

impl<T: Scalar> Linear<T> {
    pub fn new(in_features: usize, out_features: usize, init: LinearInit, rng: &mut impl Rng) -> Self {
        let (weight, bias) = match init {
            LinearInit::Normal { std } => {
                let normal = Normal::new(0.0, std.abs()).unwrap_or(Normal::new(0.0, 0.0).expect("σ = 0 is valid"));
                (
                    Array2::from_shape_simple_fn((out_features, in_features), || T::of(normal.sample(rng))),
                    Array1::zeros(out_features),
                )
            }
            LinearInit::PyTorch => {
                let bound = 1.0 / (in_features.max(1) as f64).sqrt();
                let uniform = Uniform::new_inclusive(-bound, bound).expect("bound is finite");
                let weight = Array2::from_shape_simple_fn((out_features, in_features), || T::of(uniform.sample(rng)));
                let bias = Array1::from_shape_simple_fn(out_features, || T::of(uniform.sample(rng)));
                (weight, bias)
            }
        };
        Self {
            weight: Param::new(weight),
            bias: Param::new(bias),
        }
    }

    pub fn in_features(&self) -> usize {
        self.weight.value.ncols()
    }

    pub fn out_features(&self) -> usize {
        self.weight.value.nrows()
    }
}

impl<T: Scalar> Layer<T> for Linear<T> {
    fn name(&self) -> String {
        format!("Linear({}→{})", self.in_features(), self.out_features())
    }

    fn output_features(&self, _input_features: usize) -> usize {
        self.out_features()
    }

    fn forward(&mut self, input: ArrayView2<'_, T>, output: &mut Array2<T>, _mode: Mode) {
        // x: [S, in], W: [out, in], y: [S, out]
        kernels::ensure_shape(output, input.nrows(), self.out_features());
        kernels::gemm(
            T::one(),
            input,
            Transpose::No,
            self.weight.value.view(),
            Transpose::Yes,
            T::zero(),
            output.view_mut(),
        );
        kernels::add_row_vector(output.view_mut(), self.bias.value.view());
    }

    fn backward(
        &mut self,
        input: ArrayView2<'_, T>,
        _output: ArrayView2<'_, T>,
        grad_output: ArrayView2<'_, T>,
        grad_input: Option<&mut Array2<T>>,
    ) {
        // ∂L/∂W = (∂L/∂Y)ᵀ X
        kernels::gemm(
            T::one(),
            grad_output,
            Transpose::Yes,
            input,
            Transpose::No,
            T::zero(),
            self.weight.grad.view_mut(),
        );
        // ∂L/∂b = 1ᵀ ∂L/∂Y
        kernels::sum_rows_into(grad_output, self.bias.grad.view_mut());
        // ∂L/∂X = (∂L/∂Y) W
        if let Some(grad_input) = grad_input {
            kernels::ensure_shape(grad_input, input.nrows(), self.in_features());
            kernels::gemm(
                T::one(),
                grad_output,
                Transpose::No,
                self.weight.value.view(),
                Transpose::No,
                T::zero(),
                grad_input.view_mut(),
            );
        }
    }

    fn kind(&self) -> super::LayerKind {
        super::LayerKind::Linear {
            in_features: self.in_features(),
            out_features: self.out_features(),
        }
    }

    fn visit_params(&mut self, visit: &mut dyn FnMut(ParamView<'_, T>)) {
        visit(self.weight.view_mut("weight"));
        visit(self.bias.view_mut("bias"));
    }
}
