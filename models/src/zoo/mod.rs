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
use crate::layout::{LayoutError, NameStyle, ParamHandle, ParamLayout, Params, Shape};
use crate::model::{BayesianModel, ModelError};
use crate::priors::Prior;
use crate::simulate::{simulate_hmm, SampleEmission, Simulated};
use crate::transforms::Transform;

mod ar1;
mod categorical;
mod diag_mvn;
mod exponential;
mod gaussian;
mod poisson;
mod shared_signal;
mod student_t;

pub use ar1::{Ar1Family, Ar1Gaussian, Ar1Handles};
pub use categorical::{Categorical, CategoricalFamily};
pub use diag_mvn::{DiagonalMvn, DiagonalMvnFamily};
pub use exponential::{Exponential, ExponentialFamily};
pub use gaussian::{Gaussian, GaussianFamily};
pub use poisson::{counts_from_f64, Poisson, PoissonFamily};
pub use shared_signal::{SharedSignalFamily, SharedSignalGaussian, SharedSignalHandles};
pub use student_t::{StudentT, StudentTFamily, StudentTHandles};

/// An emission family with priors: what [`HmmModel`] needs to become a Bayesian HMM.
///
/// A family states only what is particular to it: its observation type, its parameters
/// (declared in the model's layout, which hands back their [`ParamHandle`]s), the emission
/// view over them, and which observations lie outside its support. Checking data and
/// simulating are the same for every family and come with the trait and [`HmmModel`].
pub trait Family: Send + Sync {
    /// One time step's observation.
    type Obs: Observation + Clone + std::fmt::Debug + Send + Sync + 'static;
    /// Where the family's parameters are in a model's layout: the handles
    /// [`Family::add_params`] got from [`ParamLayout::declare`].
    type Handles: Copy + std::fmt::Debug + Send + Sync;
    /// The emission view over a point's parameters. It draws observations too
    /// ([`SampleEmission`] at the parameters' values), so one view serves evaluation,
    /// gradients and simulation.
    type Emission<'a, T: Scalar>: Emission<T, Obs = Self::Obs> + SampleEmission<T> + Sync
    where
        Self: 'a;

    /// Number of hidden states `K`.
    fn n_states(&self) -> usize;

    /// Declares the family's parameters (names, shapes, transforms, priors) in `layout` and
    /// returns their handles.
    fn add_params(&self, layout: &mut ParamLayout) -> Result<Self::Handles, LayoutError>;

    /// The emission view over the family's parameters at one point; `handles` are the ones
    /// [`Family::add_params`] returned for the layout of `params`.
    fn emission<'a, T: Scalar>(
        &'a self,
        handles: &Self::Handles,
        params: &Params<'a, T>,
    ) -> Self::Emission<'a, T>;

    /// Why `observation` lies outside the family's support (a category at or above the
    /// number of symbols, a vector of the wrong dimension, …), or `None` if it is valid. The
    /// default accepts every observation the type can hold.
    fn invalid_observation(&self, observation: &Self::Obs) -> Option<String> {
        let _ = observation;
        None
    }

    /// Checks every observation with [`Family::invalid_observation`], naming sequence,
    /// position and value of the first invalid one.
    fn check_data(&self, data: &Sequences<Self::Obs>) -> Result<(), HmmError> {
        for (s, seq) in data.iter().enumerate() {
            for (t, o) in seq.iter().enumerate() {
                if let Some(reason) = self.invalid_observation(o) {
                    return Err(invalid_obs(s, t, format!("{o:?}"), reason));
                }
            }
        }
        Ok(())
    }
}

/// The handles of a family with a location `mu` and a scale `sigma` per state
/// ([`GaussianFamily`], [`DiagonalMvnFamily`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocationScaleHandles {
    /// The locations.
    pub mu: ParamHandle,
    /// The scales.
    pub sigma: ParamHandle,
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
    /// The family's parameters in `layout`.
    emission_params: F::Handles,
    /// `p_initial_state` and `p_transition` in `layout`.
    initial: ParamHandle,
    transition: ParamHandle,
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
        let mut layout = ParamLayout::new();
        let emission_params = family.add_params(&mut layout)?;
        let initial = layout.declare(
            "p_initial_state",
            Shape::Vector(k),
            markov.transform,
            markov.initial,
        )?;
        let transition = layout.declare(
            "p_transition",
            Shape::Matrix(k, k),
            markov.transform,
            markov.transition,
        )?;
        Ok(Self {
            family,
            data,
            layout,
            emission_params,
            initial,
            transition,
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
        self.initial.index()
    }

    /// The family's emission view at `params`, a point of this model's layout.
    pub fn emission<'a, T: Scalar>(&'a self, params: &Params<'a, T>) -> F::Emission<'a, T> {
        self.family.emission(&self.emission_params, params)
    }

    /// `(ln p_initial_state, ln p_transition)` from the simplex transforms' exact logs.
    fn log_chain<'a, T: Scalar>(&self, params: &Params<'a, T>) -> (&'a [T], &'a [T]) {
        // HmmModel only admits simplex transforms, which always provide logs.
        let li = params.log_of(self.initial).unwrap_or(&[]);
        let lt = params.log_of(self.transition).unwrap_or(&[]);
        (li, lt)
    }

    /// Runs `f` on the [`Params`] view of the constrained values `constrained` (layout
    /// order), checked against the supports.
    fn with_point<R>(
        &self,
        constrained: &[f64],
        f: impl FnOnce(&Params<'_, f64>) -> Result<R, ModelError>,
    ) -> Result<R, ModelError> {
        let u = self.layout.unconstrain(constrained)?;
        let mut buffer = Vec::new();
        let params = self.layout.constrain_params(&u, &mut buffer)?;
        f(&params)
    }

    /// The Markov chain at constrained values `constrained` (in layout order), validated.
    pub fn chain(&self, constrained: &[f64]) -> Result<HmmParams, ModelError> {
        self.with_point(constrained, |params| self.chain_at(params))
    }

    fn chain_at(&self, params: &Params<'_, f64>) -> Result<HmmParams, ModelError> {
        let (li, lt) = self.log_chain(params);
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
        self.with_point(constrained, |params| {
            let chain = self.chain_at(params)?;
            Ok(f(&chain, &self.emission(params)))
        })
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
        self.with_point(constrained, |params| {
            let chain = self.chain_at(params)?;
            simulate_hmm(&chain, &self.emission(params), n_sequences, length, seed)
        })
    }
}

impl<F: Family> BayesianModel for HmmModel<F> {
    fn layout(&self) -> &ParamLayout {
        &self.layout
    }

    fn log_likelihood<T: Scalar>(&self, params: &Params<'_, T>) -> Result<T, ModelError> {
        let (li, lt) = self.log_chain(params);
        let emission = self.emission(params);
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

/// The support of an emission parameter's values, and what the error says when one lies
/// outside it.
#[derive(Clone, Copy)]
pub(crate) struct Support {
    ok: fn(f64) -> bool,
    reason: &'static str,
}

impl Support {
    /// Values for which `ok` holds; `reason` says what is required ("must be …").
    pub(crate) const fn new(ok: fn(f64) -> bool, reason: &'static str) -> Self {
        Self { ok, reason }
    }
}

/// Finite values.
pub(crate) const FINITE: Support = Support::new(finite, "must be finite");
/// Positive finite values.
pub(crate) const POSITIVE: Support = Support::new(positive, "must be positive and finite");

/// Checks the parameters of an emission view that has one value per state for each of them:
/// at least one state, every parameter as long as the first, each value in its support,
/// in that order (so the error names the first problem).
pub(crate) fn check_per_state<T: Scalar>(
    params: &[(&str, &[T], Support)],
) -> Result<(), ModelError> {
    let n_states = params.first().map_or(0, |(_, values, _)| values.len());
    if n_states == 0 {
        return Err(HmmError::NoStates.into());
    }
    for (name, values, _) in &params[1..] {
        check_len(name, values, n_states)?;
    }
    for (name, values, support) in params {
        check_values(name, values, support.ok, support.reason)?;
    }
    Ok(())
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

/// Declares `rate`, one per state with prior `prior`: positive-ordered when `ordered` (which
/// breaks label switching), else log-transformed.
pub(crate) fn declare_rates(
    layout: &mut ParamLayout,
    n_states: usize,
    ordered: bool,
    prior: &Prior,
) -> Result<ParamHandle, LayoutError> {
    let transform = if ordered {
        Transform::PositiveOrdered
    } else {
        Transform::Log
    };
    layout.declare("rate", Shape::Vector(n_states), transform, prior.clone())
}

/// The transform of a location parameter: ordered when `ordered`.
pub(crate) fn location_transform(ordered: bool) -> Transform {
    if ordered {
        Transform::Ordered
    } else {
        Transform::Identity
    }
}
