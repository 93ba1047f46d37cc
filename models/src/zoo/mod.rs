//! The emission zoo: families of emission distributions, each as
//!
//! - an [`Emission`] view over parameter slices (`Gaussian { means, sds }` …), generic over
//!   [`Scalar`], whose per-(t, k) log-density is one tape node in reverse mode;
//! - a [`SampleEmission`] implementation (over every `Scalar`, reading values) for simulation;
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
use crate::hmm::{HmmError, Observation, Sequences};
use crate::layout::{LayoutError, ParamHandle, ParamLayout, Params, Shape};
use crate::priors::Prior;
use crate::simulate::SampleEmission;
use crate::transforms::Transform;

mod ar1;
mod categorical;
mod checks;
mod diag_mvn;
mod exponential;
mod fused;
mod gaussian;
mod hmm_model;
mod initial;
mod poisson;
mod rate_family;
mod shared_signal;
mod student_t;
mod view;

pub(crate) use checks::{
    check_len, check_per_state, check_rows, check_values, finite, invalid_obs, positive, Support,
    FINITE, POSITIVE,
};
pub use hmm_model::{Covariates, HmmModel, MarkovPriors, StateMasks, DEFAULT_COEFFICIENT_PRIOR};

pub use ar1::{Ar1Family, Ar1Gaussian, Ar1Handles};
pub use categorical::{Categorical, CategoricalFamily};
pub use diag_mvn::{DiagonalMvn, DiagonalMvnFamily};
pub use exponential::{Exponential, ExponentialFamily, ExponentialRates};
pub use gaussian::{Gaussian, GaussianFamily};
pub use poisson::{counts_from_f64, Poisson, PoissonFamily, PoissonRates};
pub use rate_family::{RateEmissions, RateFamily};
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

    /// The value [`HmmModel`] stores at the data's missing steps
    /// ([`Sequences::with_missing`]) in place of their placeholders, for an emission that
    /// reads earlier observations and must tell a missing one apart when it looks back:
    /// [`Ar1Family`] gives NaN, so the step after a gap conditions on the last observed
    /// value. `None` (the default) keeps the placeholders, which nothing reads: every other
    /// family's density of a step reads that step's observation only, and a missing step's
    /// density is never evaluated.
    fn missing_marker(&self) -> Option<Self::Obs> {
        None
    }

    /// Starting values read off the data for some of the family's parameters, as
    /// (handle, constrained values) pairs; [`HmmModel`]'s
    /// [`initial_point`](crate::BayesianModel::initial_point) puts them in place of the zero
    /// point's, so that chains start with each state on a part of the data (as dynamax and
    /// hmmlearn start EM from k-means) instead of two states on one cluster, a minor mode a
    /// chain may never leave. The location families give the observed values' quantiles
    /// `(k + ½) / K` as the `K` locations and their standard deviation over `K` as the scales;
    /// the default gives none.
    fn initial_values(
        &self,
        handles: &Self::Handles,
        data: &Sequences<Self::Obs>,
    ) -> Vec<(ParamHandle, Vec<f64>)> {
        let _ = (handles, data);
        Vec::new()
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

/// `ln N(y; μ, σ)`; one tape node (inputs μ, σ) when `T` prefers custom operations.
#[inline]
pub(crate) fn normal_entry<T: Scalar>(y: f64, mu: T, sigma: T) -> T {
    if T::CUSTOM_IS_CHEAPER {
        let (m, s) = (mu.value(), sigma.value());
        let z = (y - m) / s;
        let value = -0.5 * z * z - s.ln() - LN_SQRT_2PI;
        T::custom(&[mu, sigma], value, &[z / s, (z * z - 1.0) / s])
    } else {
        let z = (-mu + y) / sigma;
        -(z * z) * 0.5 - sigma.ln() - LN_SQRT_2PI
    }
}

/// One draw from `N(mu, sigma)`.
#[inline]
pub(crate) fn draw_normal(mu: f64, sigma: f64, rng: &mut rand_xoshiro::Xoshiro256PlusPlus) -> f64 {
    use rand::Rng;
    let z: f64 = rng.sample(rand_distr::StandardNormal);
    mu + sigma * z
}

/// The default prior of a location (`mu`): `Normal(0, 10)`.
pub(crate) const LOCATION_PRIOR: Prior = Prior::Normal {
    mu: 0.0,
    sigma: 10.0,
};

/// The default prior of a scale (`sigma`): `HalfNormal(5)`.
pub(crate) const SCALE_PRIOR: Prior = Prior::HalfNormal { sigma: 5.0 };

/// `Gamma(shape 2, rate)`, mean `2 / rate` and zero density at 0: the default prior of a
/// rate or a degrees-of-freedom parameter.
pub(crate) fn gamma_prior(rate: f64) -> Prior {
    Prior::Gamma { shape: 2.0, rate }
}

/// A parameter with one value per state that may be ordered (which breaks label switching):
/// its name and its transform either way.
pub(crate) struct PerState {
    name: &'static str,
    ordered: Transform,
    unordered: Transform,
}

/// Locations `mu`: ordered, else unconstrained.
pub(crate) const MEANS: PerState = PerState {
    name: "mu",
    ordered: Transform::Ordered,
    unordered: Transform::Identity,
};

/// Rates `rate`: positive-ordered, else log.
pub(crate) const RATES: PerState = PerState {
    name: "rate",
    ordered: Transform::PositiveOrdered,
    unordered: Transform::Log,
};

impl PerState {
    /// Declares the parameter for `n_states` states with prior `prior`, ordered when
    /// `ordered`.
    pub(crate) fn declare(
        &self,
        layout: &mut ParamLayout,
        n_states: usize,
        ordered: bool,
        prior: &Prior,
    ) -> Result<ParamHandle, LayoutError> {
        let transform = if ordered {
            self.ordered
        } else {
            self.unordered
        };
        layout.declare(self.name, Shape::Vector(n_states), transform, prior.clone())
    }
}

/// Declares `sigma`, scales of shape `shape` (log transform) with prior `prior`.
pub(crate) fn declare_sds(
    layout: &mut ParamLayout,
    shape: Shape,
    prior: &Prior,
) -> Result<ParamHandle, LayoutError> {
    layout.declare("sigma", shape, Transform::Log, prior.clone())
}
