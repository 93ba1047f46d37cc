//! Poisson emissions: integer counts with one rate per state.

use rand::Rng;
use rand_xoshiro::Xoshiro256PlusPlus;
use trellis_ad::Scalar;

use super::fused::{grouped, SparseStep};
use super::rate_family::{RateEmissions, RateFamily};
use super::view::PerStateView;
use super::{check_per_state, check_values, invalid_obs, Support};
use crate::hmm::{HmmError, Sequences};
use crate::model::ModelError;

/// Largest rate accepted for simulation: counts must fit in a `u32`.
const MAX_SIMULATION_RATE: f64 = 1e9;

/// `y | state k ~ Poisson(rates[k])` for counts `y: u32`.
///
/// ```
/// use trellis_models::{zoo::Poisson, Emission};
/// let rates = [2.5, 10.0];
/// let e = Poisson::new(&rates)?;
/// let mut out = [0.0; 2];
/// e.log_densities(&[3], 0, &mut out);
/// assert!((out[0] - (3.0 * 2.5f64.ln() - 2.5 - 6f64.ln())).abs() < 1e-14);
/// # Ok::<(), trellis_models::ModelError>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Poisson<'a, T> {
    rates: &'a [T],
}

impl<'a, T: Scalar> Poisson<'a, T> {
    /// A view over `K` rates.
    ///
    /// # Errors
    /// No rates, a rate that is negative or not finite.
    pub fn new(rates: &'a [T]) -> Result<Self, ModelError> {
        let non_negative = Support::new(
            |r| r >= 0.0 && r.is_finite(),
            "must be non-negative and finite",
        );
        check_per_state(&[("rates", rates, non_negative)])?;
        Ok(Self { rates })
    }
}

/// Value and partial `∂/∂λ` of `y ln λ − λ − ln y!` in `f64`, with `0 · ln 0 = 0`.
#[inline]
fn value_and_partial(y: u32, ln_fact: f64, r: f64) -> (f64, [f64; 1]) {
    if y == 0 {
        (-r, [-1.0])
    } else {
        let yf = f64::from(y);
        (yf * r.ln() - r - ln_fact, [yf / r - 1.0])
    }
}

/// `y ln λ − λ − ln y!`, with `0 · ln 0 = 0`.
#[inline]
fn entry<T: Scalar>(y: u32, ln_fact: f64, rate: T) -> T {
    let yf = f64::from(y);
    if T::CUSTOM_IS_CHEAPER {
        let (value, d) = value_and_partial(y, ln_fact, rate.value());
        T::custom(&[rate], value, &d)
    } else if y == 0 {
        -rate
    } else {
        rate.ln() * yf - rate - ln_fact
    }
}

impl<T: Scalar> PerStateView for Poisson<'_, T> {
    type Num = T;
    type Obs = u32;

    fn log_densities(&self, seq: &[u32], t: usize, out: &mut [T]) {
        let y = seq[t];
        let ln_fact = trellis_ad::special::ln_gamma(f64::from(y) + 1.0);
        for (o, &r) in out.iter_mut().zip(self.rates) {
            *o = entry(y, ln_fact, r);
        }
    }

    fn n_states(&self) -> usize {
        self.rates.len()
    }

    /// Reverse mode's fast path, sparse: state `k`'s density depends on state `k`'s rate only,
    /// so the adjoint contracts `1` partial per density whatever `K`.
    fn write_step(&self, seq: &[u32], t: usize, out: SparseStep<'_>) {
        let y = seq[t];
        let ln_fact = trellis_ad::special::ln_gamma(f64::from(y) + 1.0);
        let entry = |k: usize| value_and_partial(y, ln_fact, self.rates[k].value());
        out.per_state(entry, grouped(self.rates.len()));
    }

    fn parameter_blocks(&self) -> impl Iterator<Item = &[T]> {
        std::iter::once(self.rates)
    }

    fn check_params(&self) -> Result<(), ModelError> {
        Poisson::new(self.rates)?;
        check_values(
            "rates",
            self.rates,
            |r| r <= MAX_SIMULATION_RATE,
            "is too large to simulate u32 counts (at most 1e9)",
        )
    }

    fn sample(&self, state: usize, _history: &[u32], rng: &mut Xoshiro256PlusPlus) -> u32 {
        let rate = self.rates[state].value();
        if rate == 0.0 {
            return 0;
        }
        match rand_distr::Poisson::new(rate) {
            Ok(d) => rng.sample(d) as u32,
            // Unreachable after `check_params`.
            Err(_) => 0,
        }
    }
}

/// Counts given as `f64` (e.g. parsed from a CSV file), checked and converted: every value
/// must be a non-negative integer that fits in a `u32`.
///
/// ```
/// use trellis_models::zoo::counts_from_f64;
/// let data = counts_from_f64(&[vec![0.0, 3.0, 7.0], vec![2.0]]).unwrap();
/// assert_eq!(&data[0], &[0, 3, 7]);
/// let err = counts_from_f64(&[vec![1.0], vec![2.0, -1.0]]).unwrap_err();
/// assert_eq!(err.to_string(),
///     "observation 1 of sequence 1 (-1) is invalid: a count must be a non-negative integer");
/// ```
pub fn counts_from_f64(sequences: &[Vec<f64>]) -> Result<Sequences<u32>, HmmError> {
    let mut out = Vec::with_capacity(sequences.len());
    for (s, seq) in sequences.iter().enumerate() {
        let mut counts = Vec::with_capacity(seq.len());
        for (t, &y) in seq.iter().enumerate() {
            if !y.is_finite() {
                return Err(HmmError::NonFinite {
                    sequence: s,
                    position: t,
                    value: y,
                });
            }
            if y < 0.0 || y.fract() != 0.0 {
                return Err(invalid_obs(
                    s,
                    t,
                    y,
                    "a count must be a non-negative integer",
                ));
            }
            if y > f64::from(u32::MAX) {
                return Err(invalid_obs(s, t, y, "a count must fit in a u32"));
            }
            counts.push(y as u32);
        }
        out.push(counts);
    }
    Sequences::new(out)
}

/// The Poisson HMM family: `rate` (`K`, positive-ordered so that state `k` has the `k`-th
/// lowest rate, which breaks label switching) with prior `Gamma(shape 2, rate 0.1)`
/// (mean 20, zero density at 0).
pub type PoissonFamily = RateFamily<PoissonRates>;

/// What the Poisson family states for itself (see [`RateFamily`]): every `u32` is a count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PoissonRates {}

impl RateEmissions for PoissonRates {
    type Obs = u32;
    type Emission<'a, T: Scalar> = Poisson<'a, T>;
    const PRIOR_RATE: f64 = 0.1;

    fn rate_guess(&count: &u32) -> f64 {
        f64::from(count)
    }
    fn with_rates<T: Scalar>(rates: &[T]) -> Poisson<'_, T> {
        Poisson { rates }
    }
}
