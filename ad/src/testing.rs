//! proptest strategies for differentiable code (feature `testing`, on by default).
//!
//! ```
//! use proptest::prelude::*;
//! use trellis_ad::{check_gradient, testing, GradientCheck, Scalar, ScalarFn};
//!
//! struct F;
//! impl ScalarFn for F {
//!     fn eval<T: Scalar>(&self, x: &[T]) -> T { x[0].sin() * x[1].exp() }
//! }
//! proptest!(|(x in testing::well_scaled_vec(2))| {
//!     check_gradient(&F, &x, &GradientCheck::default()).map_err(|e| TestCaseError::fail(e.to_string()))?;
//! });
//! ```

use proptest::prelude::*;

/// Finite numbers of moderate size: `±[1e-3, 10]` and 0, log-uniform in magnitude, where
/// finite differences are trustworthy.
pub fn well_scaled() -> impl Strategy<Value = f64> {
    prop_oneof![
        1 => Just(0.0),
        20 => (-3.0f64..1.0, any::<bool>()).prop_map(|(e, neg)| {
            let m = 10f64.powf(e);
            if neg { -m } else { m }
        }),
    ]
}

/// Positive numbers in `[1e-2, 1e2]`, log-uniform (scales, rates, concentrations).
pub fn positive() -> impl Strategy<Value = f64> {
    (-2.0f64..2.0).prop_map(|e| 10f64.powf(e))
}

/// Numbers in the open unit interval, away from the ends (`[0.01, 0.99]`).
pub fn unit_interval() -> impl Strategy<Value = f64> {
    0.01f64..0.99
}

/// A vector of `n` [`well_scaled`] numbers.
pub fn well_scaled_vec(n: usize) -> impl Strategy<Value = Vec<f64>> {
    proptest::collection::vec(well_scaled(), n)
}

/// A vector of `n` numbers uniform in `[-bound, bound]`.
pub fn bounded_vec(n: usize, bound: f64) -> impl Strategy<Value = Vec<f64>> {
    proptest::collection::vec(-bound..bound, n)
}

/// A probability vector of length `k` (a point of the simplex, every entry ≥ 1e-3).
pub fn simplex(k: usize) -> impl Strategy<Value = Vec<f64>> {
    proptest::collection::vec(0.05f64..1.0, k).prop_map(|w| {
        let total: f64 = w.iter().sum();
        w.iter().map(|x| x / total).collect()
    })
}
