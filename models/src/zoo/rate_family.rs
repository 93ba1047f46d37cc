//! The families with one positive rate per state (Poisson counts, exponential durations),
//! written once: each states only its observation type, its emission, its default prior and
//! its data check ([`RateEmissions`]).

use std::marker::PhantomData;

use trellis_ad::Scalar;

use super::{gamma_prior, initial, Family, RATES};
use crate::hmm::{Observation, Sequences};
use crate::layout::{LayoutError, ParamHandle, ParamLayout, Params};
use crate::priors::Prior;
use crate::simulate::SampleEmission;
use crate::Emission;

/// What a family with one rate per state (see [`RateFamily`]) states for itself.
pub trait RateEmissions: Send + Sync + 'static {
    /// The observation type.
    type Obs: Observation + Clone + std::fmt::Debug + Send + Sync + 'static;
    /// The emission, made from the per-state rates.
    type Emission<'a, T: Scalar>: Emission<T, Obs = Self::Obs> + SampleEmission<T> + Sync;
    /// The rate of the default `Gamma(shape 2, rate)` prior of each state's rate.
    const PRIOR_RATE: f64;
    /// The emission with these per-state rates.
    fn with_rates<T: Scalar>(rates: &[T]) -> Self::Emission<'_, T>;
    /// Why an observation is invalid, if it is (see [`Family::invalid_observation`]); by
    /// default every observation the type can hold is valid.
    fn invalid_observation(_observation: &Self::Obs) -> Option<String> {
        None
    }
    /// A guess of the rate from one observation, for the starting rates
    /// ([`Family::initial_values`]): a count itself, the inverse of a duration. NaN (the
    /// default) for none.
    fn rate_guess(_observation: &Self::Obs) -> f64 {
        f64::NAN
    }
}

/// An HMM family with one rate per state: `rate` (`K`, positive-ordered so that state `k`
/// has the `k`-th lowest rate, which breaks label switching, or log-transformed) with a
/// Gamma prior. [`PoissonFamily`](super::PoissonFamily) and
/// [`ExponentialFamily`](super::ExponentialFamily) are its instances.
#[derive(Debug, Clone, PartialEq)]
pub struct RateFamily<E> {
    /// Number of hidden states.
    pub n_states: usize,
    /// Prior of each rate.
    pub rate_prior: Prior,
    /// Whether the rates are ordered (default true); otherwise a log transform.
    pub ordered: bool,
    emissions: PhantomData<fn() -> E>,
}

impl<E: RateEmissions> RateFamily<E> {
    /// `K` states with the default prior, `Gamma(shape 2, rate E::PRIOR_RATE)`.
    pub fn new(n_states: usize) -> Self {
        Self {
            n_states,
            rate_prior: gamma_prior(E::PRIOR_RATE),
            ordered: true,
            emissions: PhantomData,
        }
    }
}

impl<E: RateEmissions> Family for RateFamily<E> {
    type Obs = E::Obs;
    type Handles = ParamHandle;
    type Emission<'a, T: Scalar> = E::Emission<'a, T>;

    fn add_params(&self, layout: &mut ParamLayout) -> Result<ParamHandle, LayoutError> {
        RATES.declare(layout, self.n_states, self.ordered, &self.rate_prior)
    }

    fn emission<'a, T: Scalar>(
        &'a self,
        rate: &ParamHandle,
        params: &Params<'a, T>,
    ) -> E::Emission<'a, T> {
        E::with_rates(params.of(*rate))
    }

    fn invalid_observation(&self, observation: &E::Obs) -> Option<String> {
        E::invalid_observation(observation)
    }

    fn n_states(&self) -> usize {
        self.n_states
    }

    fn initial_values(
        &self,
        rate: &ParamHandle,
        data: &Sequences<E::Obs>,
    ) -> Vec<(ParamHandle, Vec<f64>)> {
        let guesses = initial::observed(data).map(E::rate_guess);
        initial::positive_rates(*rate, guesses, self.n_states)
    }
}
