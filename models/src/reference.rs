//! The reference PyMC model, reproduced exactly.
//!
//! The PyMC example "How to wrap a JAX function for use in PyMC" fits
//!
//! ```python
//! with pm.Model() as model:
//!     emission_signal = pm.Normal("emission_signal", 0, 1)
//!     emission_noise = pm.HalfNormal("emission_noise", 1)
//!     p_initial_state = pm.Dirichlet("p_initial_state", np.ones(3))
//!     p_transition = pm.Dirichlet("p_transition", np.ones(3), size=3)
//!     loglike = pm.Potential("hmm_loglike", hmm_logp_op(
//!         emission_observed, emission_signal, emission_noise,
//!         pt.log(p_initial_state), pt.log(p_transition)))
//! ```
//!
//! with emissions `Normal((state + 1)·emission_signal, emission_noise)`. Here that is
//! [`HmmModel`] over [`SharedSignalFamily`] with `Dirichlet(1)` chain priors and PyMC's
//! (zero-sum softmax) simplex transform: the same unconstrained vector
//! (`emission_signal`, `emission_noise_log__`, `p_initial_state_simplex__` (2),
//! `p_transition_simplex__` (3 × 2)), the same per-term log-densities and the same joint
//! log-density with its gradient (checked against `truth.json` to 1e-8 relative).
//!
//! ```
//! use trellis_models::reference::seed_reference_model;
//! use trellis_models::BayesianModel;
//!
//! let model = seed_reference_model()?;
//! let u0 = model.layout().initial_point();
//! let terms = model.point_logps(&u0)?;
//! assert_eq!(terms[0].0, "emission_signal");
//! assert!((terms[0].1 - (-0.9189385332046727)).abs() < 1e-15);
//! let (logp, _grad) = model.log_density_and_gradient(&u0)?;
//! assert!((logp - (-9820.327530109895)).abs() < 1e-8 * 9820.0);
//! # Ok::<(), trellis_models::ModelError>(())
//! ```

use crate::hmm::{seed_dataset, Sequences};
use crate::model::ModelError;
use crate::zoo::{HmmModel, MarkovPriors, SharedSignalFamily};

/// Number of hidden states of the reference model.
pub const N_STATES: usize = 3;

/// The reference model: a shared-signal Gaussian HMM with the PyMC example's priors.
pub type ReferenceModel = HmmModel<SharedSignalFamily>;

/// The reference model on `data` (any number of sequences of any lengths).
///
/// # Errors
/// Only if `data` is invalid for the family (it never is once it is a [`Sequences<f64>`]).
pub fn reference_model(data: Sequences<f64>) -> Result<ReferenceModel, ModelError> {
    HmmModel::with_markov_priors(
        SharedSignalFamily::new(N_STATES),
        data,
        MarkovPriors::uniform(N_STATES),
    )
}

/// The reference model on the built-in seed data set (`models/data/seed-hmm`, 70 sequences
/// of 51 emissions).
///
/// # Errors
/// As [`reference_model`].
pub fn seed_reference_model() -> Result<ReferenceModel, ModelError> {
    reference_model(seed_dataset().sequences)
}

/// The true parameters of the seed data set, constrained and in layout order:
/// `emission_signal`, `emission_noise`, `p_initial_state` (3), `p_transition` (3 × 3,
/// row-major, rows = from-state).
pub fn seed_true_constrained() -> Vec<f64> {
    let seed = seed_dataset();
    let mut values = vec![seed.emission_signal, seed.emission_noise];
    values.extend(&seed.p_initial_state);
    values.extend(&seed.p_transition);
    values
}
