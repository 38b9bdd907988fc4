//! The element type of every tensor: `f32` for training, `f64` for gradient checks.
use std::fmt::{Debug, Display};

use ndarray::{LinalgScalar, ScalarOperand};
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
}

impl Scalar for f32 {
    fn of(value: f64) -> Self {
        value as f32
    }
    fn to_f64_lossy(self) -> f64 {
        self as f64
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
