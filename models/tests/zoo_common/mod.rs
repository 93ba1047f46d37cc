//! Shared inputs of the zoo tests (`zoo_fused`, `zoo_gradients`, `zoo_ar1_missing_model`,
//! `dynamax_reference`).
#![allow(dead_code)]

use proptest::prelude::*;
use trellis_ad::{Scalar, ScalarFn};
use trellis_models::hmm::Sequences;
use trellis_models::zoo::{Family, HmmModel};
use trellis_models::BayesianModel;

/// A model's log-likelihood as a function of its constrained parameters exactly as given
/// (no transforms, no priors), for checking gradients against references.
pub struct AsGiven<'m, F: Family> {
    pub model: &'m HmmModel<F>,
}

impl<F: Family> ScalarFn for AsGiven<'_, F> {
    fn eval<T: Scalar>(&self, x: &[T]) -> T {
        let mut buffer = Vec::new();
        let params = self
            .model
            .layout()
            .params_from_constrained(x, &mut buffer)
            .expect("constrained values");
        self.model.log_likelihood(&params).expect("log-likelihood")
    }
}

/// A one-observation data set that only sets up a real-valued family's layout.
pub fn real_dummy() -> Sequences<f64> {
    Sequences::new(vec![vec![0.5]]).unwrap()
}

/// `(sequences, length, seed)` of a small simulated data set.
pub fn shape() -> impl Strategy<Value = (usize, usize, u64)> {
    (1usize..4, 1usize..7, any::<u64>())
}
