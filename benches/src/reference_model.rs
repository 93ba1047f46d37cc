//! The reference HMM log-likelihood and its variants, shared by the `hmm` bench and the
//! `hmm_cost` instruction-count driver: the seed data set (70 sequences × 51 steps, K = 3)
//! with the shared-signal emission ([`SharedSignal`]), as a function of
//! `(signal, noise, log p_init (K), log p_trans (K²))`; the same data with 10 % of the steps
//! missing; and the zoo shared-signal model with and without covariate-driven transitions
//! (C = 3: an intercept and two covariates), for the per-step transition cost at the same
//! T and K.

use trellis_ad::{Scalar, ScalarFn};
use trellis_models::hmm::{self, Sequences};
use trellis_models::zoo::{Covariates, HmmModel, SharedSignalFamily, SharedSignalGaussian};
use trellis_models::BayesianModel;

use crate::shared_signal::SharedSignal;

/// The log-likelihood of `(signal, noise, log p_init (K), log p_trans (K²))` on `data`, the
/// emission recorded as `MODE` says (see [`crate::shared_signal`]).
pub struct ReferenceModel<const MODE: u8> {
    /// The sequences (possibly with missing steps).
    pub data: Sequences<f64>,
    /// Number of states.
    pub k: usize,
}

impl<const MODE: u8> ScalarFn for ReferenceModel<MODE> {
    fn eval<T: Scalar>(&self, x: &[T]) -> T {
        let k = self.k;
        let emission = SharedSignal::<T, MODE>::with_mode(x[0], x[1], k);
        let (li, lt) = (&x[2..2 + k], &x[2 + k..2 + k + k * k]);
        hmm::batch_log_likelihood(li, lt, &emission, &self.data).unwrap()
    }
}

/// [`ReferenceModel`] with the library's own reference emission,
/// [`SharedSignalGaussian`] (what `trellis fit` runs, with its vector–Jacobian product),
/// instead of the benches' user-written copy: the same function of the same `x`.
pub struct LibraryReferenceModel {
    /// The sequences.
    pub data: Sequences<f64>,
    /// Number of states.
    pub k: usize,
}

impl ScalarFn for LibraryReferenceModel {
    fn eval<T: Scalar>(&self, x: &[T]) -> T {
        let k = self.k;
        let emission = SharedSignalGaussian::new(x[0], x[1], k).unwrap();
        let (li, lt) = (&x[2..2 + k], &x[2 + k..2 + k + k * k]);
        hmm::batch_log_likelihood(li, lt, &emission, &self.data).unwrap()
    }
}

/// The seed data and the reference point (the data's true parameters).
pub fn reference_point() -> (Sequences<f64>, Vec<f64>) {
    let seed = hmm::seed_dataset();
    let mut x = vec![seed.emission_signal, seed.emission_noise];
    x.extend(seed.p_initial_state.iter().map(|p| p.ln()));
    x.extend(seed.p_transition.iter().map(|p| p.ln()));
    (seed.sequences, x)
}

/// `data` with every step whose `(sequence, time)` hash falls in the lowest tenth flagged
/// missing (a fixed pattern, about 10 %), except each sequence's first step.
pub fn with_ten_percent_missing(data: Sequences<f64>) -> Sequences<f64> {
    let mut missing = Vec::with_capacity(data.total_len());
    for seq in data.iter() {
        let base = missing.len() as u64;
        missing.extend((0..seq.len()).map(|t| t > 0 && mix(base + t as u64) % 10 < 1));
    }
    data.with_missing(missing).unwrap()
}

/// A fixed 64-bit mixer (splitmix64's finaliser): deterministic pseudo-random bits.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The zoo model's HMM log-likelihood (no priors, no Jacobian) at an unconstrained point.
pub struct ZooLikelihood {
    /// The model.
    pub model: HmmModel<SharedSignalFamily>,
}

impl ScalarFn for ZooLikelihood {
    fn eval<T: Scalar>(&self, u: &[T]) -> T {
        let mut buffer = Vec::new();
        let params = self
            .model
            .layout()
            .constrain_params(u, &mut buffer)
            .unwrap();
        self.model.log_likelihood(&params).unwrap()
    }
}

/// The zoo shared-signal model on the seed data at the seed's parameters, homogeneous
/// (`covariates = false`) or with covariate-driven transitions whose intercepts give the
/// seed's transition matrix at zero covariates and whose two slopes are ±0.3: the
/// unconstrained point and the likelihood.
pub fn zoo_reference(covariates: bool) -> (ZooLikelihood, Vec<f64>) {
    let seed = hmm::seed_dataset();
    let k = seed.n_states;
    let data = seed.sequences;
    let mut model = HmmModel::new(SharedSignalFamily::new(k), data.clone()).unwrap();
    let mut constrained = vec![seed.emission_signal, seed.emission_noise];
    constrained.extend(&seed.p_initial_state);
    if covariates {
        // x1ₜ = sin(0.3 t + s), x2ₜ = cos(0.17 s t): smooth, different per sequence.
        let mut values = Vec::with_capacity(2 * data.total_len());
        for (s, seq) in data.iter().enumerate() {
            for t in 0..seq.len() {
                let (s, t) = (s as f64, t as f64);
                values.extend([(0.3 * t + s).sin(), (0.17 * s * t).cos()]);
            }
        }
        let names = vec!["x1".to_string(), "x2".to_string()];
        let cov = Covariates::new(names, values, data.total_len()).unwrap();
        model = model.with_covariates(cov).unwrap();
        let p = |i: usize, j: usize| seed.p_transition[i * k + j].max(1e-3);
        for i in 0..k {
            for j in 0..k {
                constrained.extend(if i == j {
                    [0.0; 3]
                } else {
                    [(p(i, j) / p(i, i)).ln(), 0.3, -0.3]
                });
            }
        }
    } else {
        constrained.extend(&seed.p_transition);
    }
    let u = model.layout().unconstrain(&constrained).unwrap();
    (ZooLikelihood { model }, u)
}
