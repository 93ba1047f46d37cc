//! Exponential emissions: positive durations or waiting times with one rate per state.

use rand::Rng;
use rand_xoshiro::Xoshiro256PlusPlus;
use trellis_ad::Scalar;

use super::fused::{grouped, SparseStep};
use super::rate_family::{RateEmissions, RateFamily};
use super::view::PerStateView;
use super::{check_per_state, POSITIVE};
use crate::model::ModelError;

/// `y | state k ~ Exponential(rates[k])` (mean `1 / rate`) for `y ≥ 0`.
///
/// A negative observation gives NaN, reported by the forward algorithm as a typed error;
/// [`ExponentialFamily`]'s data check names it directly.
///
/// ```
/// use trellis_models::{zoo::Exponential, Emission};
/// let rates = [2.0, 0.5];
/// let e = Exponential::new(&rates)?;
/// let mut out = [0.0; 2];
/// e.log_densities(&[0.5], 0, &mut out);
/// assert!((out[0] - (2f64.ln() - 1.0)).abs() < 1e-15);
/// # Ok::<(), trellis_models::ModelError>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Exponential<'a, T> {
    rates: &'a [T],
}

impl<'a, T: Scalar> Exponential<'a, T> {
    /// A view over `K` rates.
    ///
    /// # Errors
    /// No rates, a rate that is not positive and finite.
    pub fn new(rates: &'a [T]) -> Result<Self, ModelError> {
        check_per_state(&[("rates", rates, POSITIVE)])?;
        Ok(Self { rates })
    }
}

impl<T: Scalar> PerStateView for Exponential<'_, T> {
    type Num = T;
    type Obs = f64;

    fn log_densities(&self, seq: &[f64], t: usize, out: &mut [T]) {
        let y = seq[t];
        if y < 0.0 || y.is_nan() {
            out.fill(T::constant(f64::NAN));
            return;
        }
        for (o, &rate) in out.iter_mut().zip(self.rates) {
            *o = if T::CUSTOM_IS_CHEAPER {
                let r = rate.value();
                T::custom(&[rate], r.ln() - r * y, &[1.0 / r - y])
            } else {
                rate.ln() - rate * y
            };
        }
    }

    fn n_states(&self) -> usize {
        self.rates.len()
    }

    /// Reverse mode's fast path, sparse: state `k`'s density depends on state `k`'s rate only,
    /// so the adjoint contracts `1` partial per density whatever `K`.
    fn write_step(&self, seq: &[f64], t: usize, out: SparseStep<'_>) {
        let y = seq[t];
        // Outside the support: NaN, which the forward algorithm reports as a typed error.
        let outside = y < 0.0 || y.is_nan();
        let entry = |k: usize| {
            let r = self.rates[k].value();
            if outside {
                (f64::NAN, [0.0])
            } else {
                (r.ln() - r * y, [1.0 / r - y])
            }
        };
        out.per_state(entry, grouped(self.rates.len()));
    }

    fn parameter_blocks(&self) -> impl Iterator<Item = &[T]> {
        std::iter::once(self.rates)
    }

    fn check_params(&self) -> Result<(), ModelError> {
        Exponential::new(self.rates).map(|_| ())
    }

    fn sample(&self, state: usize, _history: &[f64], rng: &mut Xoshiro256PlusPlus) -> f64 {
        let e: f64 = rng.sample(rand_distr::Exp1);
        e / self.rates[state].value()
    }
}

/// The exponential HMM family: `rate` (`K`, positive-ordered so that state `k` has the
/// `k`-th lowest rate, which breaks label switching) ~ `Gamma(shape 2, rate 0.5)` (mean 4).
pub type ExponentialFamily = RateFamily<ExponentialRates>;

/// What the exponential family states for itself (see [`RateFamily`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ExponentialRates {}

impl RateEmissions for ExponentialRates {
    /// Durations cannot be negative (the one check a Poisson count does not need).
    fn invalid_observation(&y: &f64) -> Option<String> {
        (y < 0.0).then(|| "an exponential observation must be non-negative".to_string())
    }

    type Obs = f64;
    type Emission<'a, T: Scalar> = Exponential<'a, T>;
    const PRIOR_RATE: f64 = 0.5;

    /// A duration's inverse (a duration of 0 gives no guess).
    fn rate_guess(&y: &f64) -> f64 {
        1.0 / y
    }
    fn with_rates<T: Scalar>(rates: &[T]) -> Exponential<'_, T> {
        Exponential { rates }
    }
}
