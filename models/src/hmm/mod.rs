//! Hidden Markov model algorithms, written once over [`Scalar`](trellis_ad::Scalar).
//!
//! - [`forward`]: the forward algorithm's entry points — [`forward_log_likelihood`] on an
//!   emission log-density matrix, [`log_likelihood`] for one sequence under any
//!   [`Emission`](crate::Emission), [`batch_log_likelihood`] for a batch of ragged
//!   [`Sequences`]. The same code gives values (`f64`), forward-mode (duals) and
//!   reverse-mode (`Var`) gradients. Behind them:
//!   - `recursion`: the scaled forward recursion, written once, with a per-step hook (a
//!     trace) that keeps as much of each step as the caller needs; `scaling`: its
//!     thresholds and the lost-mass bound; `log_space`: its log-space fallback (and the
//!     tests' reference);
//!   - [`adjoint`]: the forward–backward adjoint — the recursion's `f64` instance plus a
//!     backward pass over what it kept — giving the value and every partial at once;
//!   - `reverse`: the reverse-mode glue (one tape node per sequence from the adjoint, an
//!     emission's [`FusedEmission`](crate::FusedEmission) Jacobian folded in);
//!   - `lanes`: the adjoint of two to four sequences of equal length at once in the lanes
//!     of an AVX2 vector (K ≤ 4, detected at run time), equal to the scalar adjoint to
//!     rounding (1e-14 relative); whatever needs the scalar code's special cases falls back;
//!   - `batch`: the batch driver (parallel over sequences for large batches, bit-identical
//!     to serial); `checks`: the input checks.
//! - [`inference`]: filtered and smoothed state probabilities (the recursion's forward pass
//!   and the adjoint's backward pass), Viterbi decoding, posterior path sampling,
//!   per-sequence log-likelihoods and simulation, on validated [`HmmParams`].
//!   The routines take a [`SequenceChain`] (`&HmmParams` converts), which may carry one
//!   transition matrix per step.
//! - [`covariate_log_transitions`]: per-step transition matrices as a multinomial logit of
//!   covariates, for [`Transitions::PerStep`].
//! - Missing observations: [`Sequences::with_missing`] flags them; the batch likelihoods
//!   marginalise them, and [`MissingSteps`] is the emission view that does it (log-density 0
//!   at a missing step, the placeholder never read there) for one sequence, e.g. for
//!   inference; [`Sequences::with_missing_marker`] stores the marker an autoregressive
//!   emission recognises when it looks back.
//! - [`probability_gradient`], [`batch_probability_gradient`]: `∂ ln L` with respect to the
//!   probabilities as given, finite at exact zeros.
//! - [`data`]: [`Sequences`], the [`Observation`] check, and the built-in
//!   [`seed_dataset`].
//! - [`error`]: [`HmmError`], the typed error of all of the above.
//!
//! ```
//! use trellis_ad::{reverse, Scalar, ScalarFn};
//! use trellis_models::{hmm, Emission};
//!
//! /// Unit-variance Gaussian emissions with one mean per state.
//! struct Means<'a, T> { means: &'a [T] }
//! impl<T: Scalar> Emission<T> for Means<'_, T> {
//!     type Obs = f64;
//!     fn n_states(&self) -> usize { self.means.len() }
//!     fn log_densities(&self, seq: &[f64], t: usize, out: &mut [T]) {
//!         for (o, &m) in out.iter_mut().zip(self.means) {
//!             let z = m - seq[t];
//!             *o = z * z * -0.5 - 0.5 * (2.0 * std::f64::consts::PI).ln();
//!         }
//!     }
//! }
//!
//! /// Log-likelihood as a function of (mean₀, mean₁), fixed transition probabilities.
//! struct Model { data: hmm::Sequences<f64> }
//! impl ScalarFn for Model {
//!     fn eval<T: Scalar>(&self, x: &[T]) -> T {
//!         let li = [T::constant(0.5f64.ln()); 2];
//!         let lt = [0.9f64.ln(), 0.1f64.ln(), 0.2f64.ln(), 0.8f64.ln()].map(T::constant);
//!         hmm::batch_log_likelihood(&li, &lt, &Means { means: x }, &self.data)
//!             .unwrap_or(T::constant(f64::NAN))
//!     }
//! }
//! let data = hmm::Sequences::new(vec![vec![0.1, -0.3, 2.2], vec![1.9, 2.1]]).unwrap();
//! let (ll, grad) = reverse::value_and_gradient(&Model { data }, &[0.0, 2.0]);
//! assert!(ll.is_finite() && grad.iter().all(|g| g.is_finite()));
//! ```

pub mod adjoint;
mod batch;
mod chain;
mod checks;
mod covariate_lanes;
mod covariates;
pub mod data;
pub mod error;
pub mod forward;
pub mod inference;
pub(crate) mod lanes;
mod log_space;
mod missing;
mod probability_gradient;
pub(crate) mod recursion;
mod reverse;
mod reverse_sum;
mod scaling;

pub(crate) use batch::work;
pub use batch::{per_sequence_log_likelihood_into, PARALLEL_MIN_WORK};
pub use chain::SequenceChain;
pub(crate) use checks::{check_params_with, check_plain_emission};
pub(crate) use covariate_lanes::{for_each_sequence as covariate_for_each_sequence, CovariateJob};
pub use covariates::covariate_log_transitions;
pub(crate) use covariates::covariate_value_and_partials;
pub use data::{seed_dataset, Observation, SeedDataset, Sequences, SequencesIter};
pub use error::HmmError;
pub use forward::{
    batch_log_likelihood, batch_log_likelihood_with_threshold, forward_log_likelihood,
    forward_log_likelihood_generic, forward_log_likelihood_generic_with,
    forward_log_likelihood_log_space, forward_log_likelihood_log_space_with,
    forward_log_likelihood_with, log_likelihood, per_sequence_log_likelihood, Transitions,
};
pub use inference::{
    filter, posterior, sample_path, sample_paths, sequence_log_likelihoods, simulate_states,
    smooth, viterbi, HmmParams, Posterior, ViterbiPath, STOCHASTIC_TOLERANCE,
};
pub use missing::MissingSteps;
pub use probability_gradient::{
    batch_probability_gradient, probability_gradient, ProbabilityGradient,
};
pub use reverse_sum::ACCUMULATE_MIN;
