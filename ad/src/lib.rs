//! # trellis-ad: automatic differentiation over one `Scalar` trait
//!
//! Write a function once over [`Scalar`]; evaluate it with `f64` for values, with
//! [`Dual`]/[`DualVec`] for forward-mode derivatives (nestable: `Dual<Dual<f64>>` gives second
//! derivatives), or with [`Var`] for reverse mode on a thread-local tape. [`ScalarFn`] is how
//! such a function is handed to [`forward`] and [`reverse`]; [`check_gradient`] compares any
//! gradient with finite differences, and [`testing`] has proptest strategies for users' own
//! property tests.
//!
//! ```
//! use trellis_ad::{check_gradient, forward, reverse, GradientCheck, Scalar, ScalarFn};
//!
//! struct LogisticRegression { xs: Vec<f64>, ys: Vec<f64> }
//! impl ScalarFn for LogisticRegression {
//!     fn eval<T: Scalar>(&self, beta: &[T]) -> T {
//!         let mut lp = T::constant(0.0);
//!         for (&x, &y) in self.xs.iter().zip(&self.ys) {
//!             let eta = beta[0] + beta[1] * x;
//!             lp += if y > 0.5 { eta.log_logistic() } else { (-eta).log_logistic() };
//!         }
//!         lp
//!     }
//! }
//! let model = LogisticRegression { xs: vec![-1.0, 0.5, 2.0], ys: vec![0.0, 1.0, 1.0] };
//! let (lp, grad) = reverse::value_and_gradient(&model, &[0.1, 0.7]);
//! let grad_fwd = forward::gradient(&model, &[0.1, 0.7]);
//! assert!((grad[0] - grad_fwd[0]).abs() < 1e-12 && (grad[1] - grad_fwd[1]).abs() < 1e-12);
//! check_gradient(&model, &[0.1, 0.7], &GradientCheck::default()).unwrap();
//! ```

mod chain_rule;
pub mod check;
mod dual;
mod elementwise;
mod finite_difference;
pub mod forward;
mod function;
pub mod reverse;
mod scalar;
pub mod scratch;
mod session_tags;
pub mod special;
mod stable_derivatives;
mod tape;
#[cfg(feature = "testing")]
pub mod testing;

/// Everything model code usually needs: `use trellis_ad::prelude::*;`.
pub mod prelude {
    pub use crate::{Dual, DualVec, ElementwiseFn, MapArg, Scalar, ScalarFn, Var, VectorFn};
    pub use num_traits::Float;
}

pub use check::{
    check_gradient, check_hessian, finite_difference_gradient, GradientCheck, GradientMismatch,
    GradientReport, HessianMismatch, HessianReport,
};
pub use dual::{Dual, DualVec};
pub use elementwise::{ElementwiseFn, MapArg};
pub use finite_difference::{finite_difference_estimates, FdEstimate, FdSteps};
pub use function::{ScalarFn, VectorFn};
pub use num_traits::Float;
pub use scalar::Scalar;
pub use tape::{tape_capacity, Recording, Var};
