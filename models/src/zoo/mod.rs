//! The emission zoo: families of emission distributions, each as
//!
//! - an [`Emission`] view over parameter slices (`Gaussian { means, sds }` …), generic over
//!   [`Scalar`], whose per-(t, k) log-density is one tape node in reverse mode;
//! - a [`SampleEmission`](crate::SampleEmission) implementation for simulation;
//! - a [`Family`] with default priors and transforms, which [`HmmModel`] turns into a ready
//!   Bayesian HMM: the family's parameters, then `p_initial_state` (a simplex) and
//!   `p_transition` (simplex rows), `Dirichlet(1)` priors by default, and the marginal
//!   log-likelihood from the shared forward algorithm as the term `hmm_loglike`.
//!
//! | family | observation | parameters (default priors) | label switching broken by |
//! |---|---|---|---|
//! | [`GaussianFamily`] | `f64` | `mu` ~ N(0, 10), `sigma` ~ HalfN(5) | ordered `mu` |
//! | [`SharedSignalFamily`] | `f64` | `emission_signal` ~ N(0, 1), `emission_noise` ~ HalfN(1) | means `(k+1)·signal` |
//! | [`PoissonFamily`] | `u32` | `rate` ~ Gamma(2, 0.1) | positive-ordered `rate` |
//! | [`CategoricalFamily`] | `usize` | `p_emission` rows ~ Dirichlet(1) | not broken (see its docs) |
//! | [`StudentTFamily`] | `f64` | `mu` ~ N(0, 10), `sigma` ~ HalfN(5), `nu` ~ Gamma(2, 0.1) | ordered `mu` |
//! | [`Ar1Family`] | `f64` | `mu` ~ N(0, 10), `phi` ~ U(−1, 1), `sigma` ~ HalfN(5) | ordered `mu` |
//! | [`DiagonalMvnFamily`] | `Vec<f64>` | `mu` ~ N(0, 10), `sigma` ~ HalfN(5) | `mu[·,0]` ordered |
//! | [`ExponentialFamily`] | `f64` | `rate` ~ Gamma(2, 0.5) | positive-ordered `rate` |
//!
//! ```
//! use trellis_models::zoo::{GaussianFamily, HmmModel};
//! use trellis_models::{hmm::Sequences, BayesianModel};
//!
//! let data = Sequences::new(vec![vec![0.1, 0.3, 2.2, 2.0], vec![1.9, 0.2]])?;
//! let model = HmmModel::new(GaussianFamily::new(2), data)?;
//! assert_eq!(model.layout().element_names()[0], "mu[0]");
//! // mu (2) + sigma (2) + p_initial_state (1) + p_transition (2 × 1)
//! assert_eq!(model.layout().dim(), 7);
//! let (lp, grad) = model.log_density_and_gradient(&model.layout().initial_point())?;
//! assert!(lp.is_finite() && grad.iter().all(|g| g.is_finite()));
//! # Ok::<(), trellis_models::ModelError>(())
//! ```

use trellis_ad::Scalar;

use crate::distributions::LN_SQRT_2PI;
use crate::emission::Emission;
use crate::hmm::{self, HmmError, HmmParams, Observation, Sequences};
use crate::layout::{LayoutError, NameStyle, ParamLayout, Params, Shape};
use crate::model::{BayesianModel, ModelError};
use crate::priors::Prior;
use crate::simulate::Simulated;
use crate::transforms::Transform;

mod ar1;
mod categorical;
mod diag_mvn;
mod exponential;
mod gaussian;
mod poisson;
mod shared_signal;
mod student_t;

pub use ar1::{Ar1Family, Ar1Gaussian};
pub use categorical::{Categorical, CategoricalFamily};
pub use diag_mvn::{DiagonalMvn, DiagonalMvnFamily};
pub use exponential::{Exponential, ExponentialFamily};
pub use gaussian::{Gaussian, GaussianFamily};
pub use poisson::{counts_from_f64, Poisson, PoissonFamily};
pub use shared_signal::{SharedSignalFamily, SharedSignalGaussian};
pub use student_t::{StudentT, StudentTFamily};

/// An emission family with priors: what [`HmmModel`] needs to become a Bayesian HMM.
///
/// The family's parameters come first in the model's layout (indices `0..`), so
/// [`Family::emission`] reads them from the start of the [`Params`].
pub trait Family: Send + Sync {
    /// One time step's observation.
    type Obs: Observation + Clone + Send + Sync + 'static;
    /// The emission view over a point's parameters.
    type Emission<'a, T: Scalar>: Emission<T, Obs = Self::Obs> + Sync
    where
        Self: 'a;

    /// Number of hidden states `K`.
    fn n_states(&self) -> usize;

    /// Appends the family's parameters (names, shapes, transforms, priors) to `layout`.
    fn add_params(&self, layout: ParamLayout) -> Result<ParamLayout, LayoutError>;

    /// The emission view over the family's parameters at one point.
    fn emission<'a, T: Scalar>(&'a self, params: &Params<'a, T>) -> Self::Emission<'a, T>;

    /// Checks every observation against the family's support (a category below the number
    /// of symbols, a vector of the right dimension, …), naming sequence, position and value.
    fn check_data(&self, data: &Sequences<Self::Obs>) -> Result<(), HmmError>;

    /// Simulates from the family's emission at `params` and the Markov chain `chain`
    /// (see [`simulate_hmm`](crate::simulate::simulate_hmm)).
    fn simulate(
        &self,
        params: &Params<'_, f64>,
        chain: &HmmParams,
        n_sequences: usize,
        length: usize,
        seed: u64,
    ) -> Result<Simulated<Self::Obs>, ModelError>;
}

/// Priors and transform of the Markov chain of an [`HmmModel`].
#[derive(Debug, Clone, PartialEq)]
pub struct MarkovPriors {
    /// Prior of `p_initial_state`: [`Prior::Dirichlet`] (length `K`) or [`Prior::Flat`].
    pub initial: Prior,
    /// Prior of the rows of `p_transition`: [`Prior::Dirichlet`] with `K` concentrations
    /// shared by every row or `K²` (one vector per row, see [`Prior::dirichlet_rows`]), or
    /// [`Prior::Flat`].
    pub transition: Prior,
    /// The simplex transform: [`Transform::Simplex`] (PyMC's, the default) or
    /// [`Transform::StickBreaking`] (Stan's).
    pub transform: Transform,
}

impl MarkovPriors {
    /// `Dirichlet(1, …, 1)` on the initial distribution and on every transition row, PyMC's
    /// simplex transform.
    pub fn uniform(n_states: usize) -> Self {
        Self {
            initial: Prior::uniform_simplex(n_states),
            transition: Prior::uniform_simplex(n_states),
            transform: Transform::Simplex,
        }
    }
}

/// A Bayesian hidden Markov model with emissions from a zoo [`Family`].
///
/// Parameters, in this order: the family's, then `p_initial_state` (`K`, simplex) and
/// `p_transition` (`K × K`, each row a simplex; rows = from-state). The log-likelihood term
/// `hmm_loglike` is the marginal likelihood of all sequences (forward algorithm, summed over
/// sequences), evaluated with log-probabilities taken straight from the simplex transforms'
/// log-softmax.
#[derive(Debug, Clone)]
pub struct HmmModel<F: Family> {
    family: F,
    data: Sequences<F::Obs>,
    layout: ParamLayout,
    initial_index: usize,
}

impl<F: Family> HmmModel<F> {
    /// The model with `Dirichlet(1)` priors on the chain (see [`MarkovPriors::uniform`]).
    ///
    /// # Errors
    /// Observations outside the family's support; invalid family priors.
    pub fn new(family: F, data: Sequences<F::Obs>) -> Result<Self, ModelError> {
        let markov = MarkovPriors::uniform(family.n_states());
        Self::with_markov_priors(family, data, markov)
    }

    /// The model with the given priors on the Markov chain.
    ///
    /// # Errors
    /// As [`HmmModel::new`]; a Dirichlet of the wrong length; a non-simplex transform.
    pub fn with_markov_priors(
        family: F,
        data: Sequences<F::Obs>,
        markov: MarkovPriors,
    ) -> Result<Self, ModelError> {
        let k = family.n_states();
        if k == 0 {
            return Err(HmmError::NoStates.into());
        }
        family.check_data(&data)?;
        if !markov.transform.is_simplex() {
            return Err(LayoutError::InvalidParameter {
                name: "p_initial_state".into(),
                reason: format!(
                    "the Markov chain needs a simplex transform, not {:?}",
                    markov.transform
                ),
            }
            .into());
        }
        let layout = family.add_params(ParamLayout::new())?;
        let initial_index = layout.params().len();
        let layout = layout
            .add_with_prior(
                "p_initial_state",
                Shape::Vector(k),
                markov.transform,
                markov.initial,
            )?
            .add_with_prior(
                "p_transition",
                Shape::Matrix(k, k),
                markov.transform,
                markov.transition,
            )?;
        Ok(Self {
            family,
            data,
            layout,
            initial_index,
        })
    }

    /// Uses `style` for element names (e.g. 1-based for posteriordb).
    pub fn with_name_style(mut self, style: NameStyle) -> Self {
        self.layout = self.layout.with_name_style(style);
        self
    }

    /// The emission family.
    pub fn family(&self) -> &F {
        &self.family
    }

    /// The data.
    pub fn data(&self) -> &Sequences<F::Obs> {
        &self.data
    }

    /// Index of `p_initial_state` in the layout (`p_transition` follows it).
    pub fn initial_index(&self) -> usize {
        self.initial_index
    }

    /// The Markov chain at constrained values `constrained` (in layout order), validated.
    pub fn chain(&self, constrained: &[f64]) -> Result<HmmParams, ModelError> {
        let u = self.layout.unconstrain(constrained)?;
        let mut buffer = Vec::new();
        let params = self.layout.constrain_params(&u, &mut buffer)?;
        self.chain_at(&params)
    }

    fn chain_at(&self, params: &Params<'_, f64>) -> Result<HmmParams, ModelError> {
        let (li, lt) = log_chain(params, self.initial_index);
        Ok(HmmParams::from_log_probabilities(li, lt)?)
    }

    /// Runs `f` with the Markov chain and the emission view at the constrained values
    /// `constrained` (layout order): the entry point for decoding, filtering and smoothing
    /// with the functions of [`hmm`](crate::hmm) at a posterior draw.
    ///
    /// ```
    /// use trellis_models::{hmm, reference::{seed_reference_model, seed_true_constrained}};
    /// let model = seed_reference_model()?;
    /// let path = model.at_point(&seed_true_constrained(), |chain, emission| {
    ///     hmm::viterbi(chain, emission, &model.data()[0])
    /// })??;
    /// assert_eq!(path.states.len(), 51);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// Values outside the support or of the wrong length.
    pub fn at_point<R>(
        &self,
        constrained: &[f64],
        f: impl FnOnce(&HmmParams, &F::Emission<'_, f64>) -> R,
    ) -> Result<R, ModelError> {
        let u = self.layout.unconstrain(constrained)?;
        let mut buffer = Vec::new();
        let params = self.layout.constrain_params(&u, &mut buffer)?;
        let chain = self.chain_at(&params)?;
        let emission = self.family.emission(&params);
        Ok(f(&chain, &emission))
    }

    /// Simulates `n_sequences` sequences of `length` observations from the model at the
    /// constrained values `constrained` (layout order), bit-reproducibly for `seed`.
    ///
    /// # Errors
    /// Values outside the support or of the wrong length; zero sequences or length.
    pub fn simulate(
        &self,
        constrained: &[f64],
        n_sequences: usize,
        length: usize,
        seed: u64,
    ) -> Result<Simulated<F::Obs>, ModelError> {
        let u = self.layout.unconstrain(constrained)?;
        let mut buffer = Vec::new();
        let params = self.layout.constrain_params(&u, &mut buffer)?;
        let chain = self.chain_at(&params)?;
        self.family
            .simulate(&params, &chain, n_sequences, length, seed)
    }
}

/// `(ln p_initial_state, ln p_transition)` from the simplex transforms' exact logs.
fn log_chain<'a, T: Scalar>(params: &Params<'a, T>, initial_index: usize) -> (&'a [T], &'a [T]) {
    // HmmModel only admits simplex transforms, which always provide logs.
    let li = params.log_value(initial_index).unwrap_or(&[]);
    let lt = params.log_value(initial_index + 1).unwrap_or(&[]);
    (li, lt)
}

impl<F: Family> BayesianModel for HmmModel<F> {
    fn layout(&self) -> &ParamLayout {
        &self.layout
    }

    fn log_likelihood<T: Scalar>(&self, params: &Params<'_, T>) -> Result<T, ModelError> {
        let (li, lt) = log_chain(params, self.initial_index);
        let emission = self.family.emission(params);
        Ok(hmm::batch_log_likelihood(li, lt, &emission, &self.data)?)
    }

    fn likelihood_name(&self) -> &str {
        "hmm_loglike"
    }
}

/// `ln N(y; μ, σ)`; one tape node (inputs μ, σ) when `T` prefers custom operations.
#[inline]
pub(crate) fn normal_entry<T: Scalar>(y: f64, mu: T, sigma: T) -> T {
    if T::PREFERS_CUSTOM {
        let (m, s) = (mu.value(), sigma.value());
        let z = (y - m) / s;
        let value = -0.5 * z * z - s.ln() - LN_SQRT_2PI;
        T::custom(&[mu, sigma], value, &[z / s, (z * z - 1.0) / s])
    } else {
        let z = (-mu + y) / sigma;
        -(z * z) * 0.5 - sigma.ln() - LN_SQRT_2PI
    }
}

/// The error for observation `position` of sequence `sequence`.
pub(crate) fn invalid_obs(
    sequence: usize,
    position: usize,
    value: impl std::fmt::Display,
    reason: impl Into<String>,
) -> HmmError {
    HmmError::InvalidObservation {
        sequence,
        position,
        value: value.to_string(),
        reason: reason.into(),
    }
}

/// Checks `observations` one by one with `check` (which returns why one is invalid).
pub(crate) fn check_each<O: std::fmt::Debug>(
    data: &Sequences<O>,
    check: impl Fn(&O) -> Option<String>,
) -> Result<(), HmmError> {
    for (s, seq) in data.iter().enumerate() {
        for (t, o) in seq.iter().enumerate() {
            if let Some(reason) = check(o) {
                return Err(invalid_obs(s, t, format!("{o:?}"), reason));
            }
        }
    }
    Ok(())
}

/// Checks that `values` (the parameter `name`) has `expected` entries.
pub(crate) fn check_len<T>(name: &str, values: &[T], expected: usize) -> Result<(), ModelError> {
    if values.len() == expected {
        Ok(())
    } else {
        Err(ModelError::WrongLength {
            what: format!("emission parameter `{name}`"),
            expected,
            found: values.len(),
        })
    }
}

/// Checks each value of the parameter `name` with `ok`; `reason` says what is required.
pub(crate) fn check_values<T: Scalar>(
    name: &str,
    values: &[T],
    ok: impl Fn(f64) -> bool,
    reason: &str,
) -> Result<(), ModelError> {
    match values.iter().position(|v| !ok(v.value())) {
        None => Ok(()),
        Some(i) => Err(ModelError::InvalidParameter {
            name: format!("{name}[{i}]"),
            value: values[i].value(),
            reason: reason.into(),
        }),
    }
}

/// Finite values.
pub(crate) fn finite(v: f64) -> bool {
    v.is_finite()
}

/// Positive finite values.
pub(crate) fn positive(v: f64) -> bool {
    v > 0.0 && v.is_finite()
}

/// One draw from `N(mu, sigma)`.
#[inline]
pub(crate) fn draw_normal(mu: f64, sigma: f64, rng: &mut rand_xoshiro::Xoshiro256PlusPlus) -> f64 {
    use rand::Rng;
    let z: f64 = rng.sample(rand_distr::StandardNormal);
    mu + sigma * z
}

/// The transform of a rate parameter: positive-ordered when `ordered`, else log.
pub(crate) fn rate_transform(ordered: bool) -> Transform {
    if ordered {
        Transform::PositiveOrdered
    } else {
        Transform::Log
    }
}

/// The transform of a location parameter: ordered when `ordered`.
pub(crate) fn location_transform(ordered: bool) -> Transform {
    if ordered {
        Transform::Ordered
    } else {
        Transform::Identity
    }
}
