//! How users hand a function to the AD: one small trait per shape of function.
//!
//! Rust closures cannot be generic over the number type, and the same source must run with
//! `f64`, duals and tape variables. So a differentiable function is a type with a generic
//! `eval` method; every entry point of [`crate::forward`] and [`crate::reverse`] takes one.

use crate::Scalar;

/// A function ℝⁿ → ℝ written once over [`Scalar`].
///
/// ```
/// use trellis_ad::{forward, reverse, Scalar, ScalarFn};
///
/// /// Rosenbrock's banana: (1 - x)² + 100 (y - x²)².
/// struct Banana;
/// impl ScalarFn for Banana {
///     fn eval<T: Scalar>(&self, v: &[T]) -> T {
///         let (x, y) = (v[0], v[1]);
///         (-x + 1.0).powi(2) + (y - x * x).powi(2) * 100.0
///     }
/// }
/// let g_rev = reverse::gradient(&Banana, &[0.5, 0.5]);
/// let g_fwd = forward::gradient(&Banana, &[0.5, 0.5]);
/// assert!((g_rev[0] - (-51.0)).abs() < 1e-12 && (g_rev[1] - 50.0).abs() < 1e-12);
/// assert_eq!(g_rev, g_fwd);
/// ```
pub trait ScalarFn {
    /// Evaluates the function at `x`.
    fn eval<T: Scalar>(&self, x: &[T]) -> T;
}

/// A function ℝⁿ → ℝᵐ written once over [`Scalar`] (for Jacobians, JVPs and VJPs).
pub trait VectorFn {
    /// Evaluates the function at `x`.
    fn eval<T: Scalar>(&self, x: &[T]) -> Vec<T>;
}

impl<F: ScalarFn + ?Sized> ScalarFn for &F {
    fn eval<T: Scalar>(&self, x: &[T]) -> T {
        (**self).eval(x)
    }
}

impl<F: VectorFn + ?Sized> VectorFn for &F {
    fn eval<T: Scalar>(&self, x: &[T]) -> Vec<T> {
        (**self).eval(x)
    }
}
