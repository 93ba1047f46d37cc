//! A zoo model's HMM log-likelihood at an unconstrained point, through the family's fused
//! Jacobian or with one tape node per density, and a model simulated from a family: the
//! `hmm` bench's families group times the two paths and the `zoo_fused` test of
//! `trellis-models` checks that they agree (it includes this file with `#[path]`).
#![allow(dead_code)]

use trellis_ad::{Scalar, ScalarFn};
use trellis_models::hmm::{self, Sequences};
use trellis_models::zoo::{Family, HmmModel};
use trellis_models::{BayesianModel, Emission};

/// An emission with its fast path hidden: reverse mode records one node per density.
pub struct PerDensityNodes<'e, E>(pub &'e E);

impl<T: Scalar, E: Emission<T>> Emission<T> for PerDensityNodes<'_, E> {
    type Obs = E::Obs;
    fn n_states(&self) -> usize {
        self.0.n_states()
    }
    fn log_densities(&self, seq: &[E::Obs], t: usize, out: &mut [T]) {
        self.0.log_densities(seq, t, out);
    }
}

/// The model's HMM log-likelihood at an unconstrained point: through the family's fused
/// Jacobian, or (`nodes`) with one tape node per density.
pub struct FamilyLikelihood<'m, F: Family> {
    /// The model.
    pub model: &'m HmmModel<F>,
    /// Whether the emission's fast path is hidden.
    pub nodes: bool,
}

impl<'m, F: Family> FamilyLikelihood<'m, F> {
    /// The two paths of `model`: `[fused, nodes]`.
    pub fn both(model: &'m HmmModel<F>) -> [Self; 2] {
        [false, true].map(|nodes| Self { model, nodes })
    }
}

impl<F: Family> ScalarFn for FamilyLikelihood<'_, F> {
    fn eval<T: Scalar>(&self, u: &[T]) -> T {
        let layout = self.model.layout();
        let mut buffer = Vec::new();
        let params = layout.constrain_params(u, &mut buffer).unwrap();
        let log_of = |name: &str| params.log_of(layout.handle(name).unwrap()).unwrap();
        let (li, lt) = (log_of("p_initial_state"), log_of("p_transition"));
        let emission = self.model.emission(&params);
        let data = self.model.data();
        let ll = if self.nodes {
            hmm::batch_log_likelihood(li, lt, &PerDensityNodes(&emission), data)
        } else {
            hmm::batch_log_likelihood(li, lt, &emission, data)
        };
        ll.unwrap()
    }
}

/// A model of `family` on `n_seq × len` observations simulated with seed `seed` at the
/// unconstrained point `point(dim)`, and that point; `dummy` only sets up the layout.
pub fn simulated_model<F: Family + Clone>(
    family: F,
    dummy: Sequences<F::Obs>,
    point: impl FnOnce(usize) -> Vec<f64>,
    (n_seq, len, seed): (usize, usize, u64),
) -> (HmmModel<F>, Vec<f64>) {
    let template = HmmModel::new(family.clone(), dummy).unwrap();
    let u = point(template.layout().dim());
    let truth = template.constrained(&u).unwrap();
    let sim = template.simulate(&truth, n_seq, len, seed).unwrap();
    (HmmModel::new(family, sim.observations).unwrap(), u)
}
