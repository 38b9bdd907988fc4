//! The element type of every tensor: `f32` for training, `f64` for gradient checks.
use std::fmt::{Debug, Display};

use ndarray::{ArrayView2, ArrayViewMut2, LinalgScalar, ScalarOperand};
use num_traits::{Float, FromPrimitive};

/// A floating-point element type the layers are generic over.
pub trait Scalar:
    Float
    + FromPrimitive
    + LinalgScalar
    + ScalarOperand
    + Debug
    + Display
    + Default
    + Send
    + Sync
    + std::iter::Sum
    + std::ops::AddAssign
    + std::ops::SubAssign
    + std::ops::MulAssign
    + std::ops::DivAssign
    + 'static
{
    /// Converts an `f64` constant (a learning rate, an epsilon) into this type.
    fn of(value: f64) -> Self;
    /// The value as `f64`, for reporting.
    fn to_f64_lossy(self) -> f64;
    /// `C ← α · A · B + β · C` by a kernel specialised for this type and build, if one takes these layouts
    /// (`A`, `B` already transposed as needed). `false`: nothing was done, use the general product.
    fn gemm_specialised(
        _alpha: Self,
        _a: ArrayView2<'_, Self>,
        _b: ArrayView2<'_, Self>,
        _beta: Self,
        _c: ArrayViewMut2<'_, Self>,
    ) -> bool {
        false
    }
}

impl Scalar for f32 {
    fn of(value: f64) -> Self {
        value as f32
    }
    fn to_f64_lossy(self) -> f64 {
        self as f64
    }
    /// The wasm build's SIMD128 product ([`crate::kernels::sgemm`]).
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    fn gemm_specialised(
        alpha: Self,
        a: ArrayView2<'_, Self>,
        b: ArrayView2<'_, Self>,
        beta: Self,
        c: ArrayViewMut2<'_, Self>,
    ) -> bool {
        crate::kernels::sgemm::gemm(alpha, a, b, beta, c)
    }
}

impl Scalar for f64 {
    fn of(value: f64) -> Self {
        value
    }
    fn to_f64_lossy(self) -> f64 {
        self
    }
}
