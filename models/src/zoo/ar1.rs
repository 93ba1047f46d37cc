//! Autoregressive AR(1) Gaussian emissions: the mean of `y_t` depends on `y_(t−1)`.

use rand_xoshiro::Xoshiro256PlusPlus;
use trellis_ad::Scalar;

use super::fused::{grouped, SparseStep};
use super::initial;
use super::view::PerStateView;
use super::{
    check_per_state, declare_sds, draw_normal, Family, Support, FINITE, LOCATION_PRIOR, MEANS,
    POSITIVE, SCALE_PRIOR,
};
use crate::distributions::LN_SQRT_2PI;
use crate::hmm::Sequences;
use crate::layout::{LayoutError, ParamHandle, ParamLayout, Params, Shape};
use crate::model::ModelError;
use crate::priors::Prior;
use crate::transforms::Transform;

/// A switching AR(1) process: in state `k`,
///
/// - `y_t ~ Normal(μ_k + φ_k (y_(t−1) − μ_k), σ_k)` for `t ≥ 1`;
/// - `y_0 ~ Normal(μ_k, σ_k / √(1 − φ_k²))`, the stationary distribution of state `k`'s
///   process (so `|φ_k| < 1` is required).
///
/// `μ_k` is the level the process reverts to in state `k`, `φ_k` its persistence.
///
/// Missing observations: a NaN in the sequence marks a missing value, never read as a lag.
/// [`HmmModel`](super::HmmModel) stores NaN at the data's missing steps
/// ([`Sequences::with_missing`](crate::hmm::Sequences::with_missing), so also the `NA`
/// cells of the `trellis` command; see [`Family::missing_marker`]), whatever placeholder
/// they held. After a
/// gap — the last observed value `y_s` is `g = t − s ≥ 2` steps back — the density of `y_t`
/// is the AR(1) process's `g`-step conditional, the missing values marginalised:
/// `y_t ~ Normal(μ_k + φ_k^g (y_s − μ_k), σ_k √((1 − φ_k^{2g}) / (1 − φ_k²)))`; with no
/// observed value before `t`, the stationary distribution, as at `t = 0`. Both are exact for
/// a chain that stays in state `k` through the gap (the HMM's state at `t` gives the
/// parameters: the path within the gap is not tracked).
///
/// ```
/// use trellis_models::{zoo::Ar1Gaussian, Emission};
/// let (mu, phi, sigma) = ([0.0], [0.5], [1.0]);
/// let e = Ar1Gaussian::new(&mu, &phi, &sigma)?;
/// let mut out = [0.0];
/// e.log_densities(&[2.0, 1.0], 1, &mut out); // mean 0 + 0.5·(2 − 0) = 1
/// assert!((out[0] + 0.9189385332046727).abs() < 1e-15);
/// // After a missing value: the two-step conditional, mean 0.25·2, variance 1 + 0.25.
/// e.log_densities(&[2.0, f64::NAN, 0.5], 2, &mut out);
/// assert!((out[0] + 0.5 * (2.0 * std::f64::consts::PI * 1.25).ln()).abs() < 1e-15);
/// # Ok::<(), trellis_models::ModelError>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Ar1Gaussian<'a, T> {
    means: &'a [T],
    phis: &'a [T],
    sds: &'a [T],
}

impl<'a, T: Scalar> Ar1Gaussian<'a, T> {
    /// A view over `K` levels, `K` autoregressive coefficients and `K` innovation standard
    /// deviations.
    ///
    /// # Errors
    /// Mismatched or zero lengths, a non-finite level, `|φ| ≥ 1`, a standard deviation that
    /// is not positive and finite.
    pub fn new(means: &'a [T], phis: &'a [T], sds: &'a [T]) -> Result<Self, ModelError> {
        let stationary = Support::new(
            |p| p.abs() < 1.0,
            "must lie in (-1, 1) for a stationary process",
        );
        check_per_state(&[
            ("means", means, FINITE),
            ("phis", phis, stationary),
            ("sds", sds, POSITIVE),
        ])?;
        Ok(Self { means, phis, sds })
    }

    /// A view without checks (the layout guarantees the lengths and supports).
    pub(crate) fn from_parts(means: &'a [T], phis: &'a [T], sds: &'a [T]) -> Self {
        Self { means, phis, sds }
    }
}

/// What the density of `seq[t]` conditions on: the last observed value before `t` and how
/// many steps back it is (NaN marks a missing value), or `None` (the start, or nothing
/// observed yet: the stationary distribution).
fn lag(seq: &[f64], t: usize) -> Option<(f64, i32)> {
    let s = (0..t).rev().find(|&s| !seq[s].is_nan())?;
    // A gap beyond i32 steps has φ^g = 0 in f64 anyway.
    Some((seq[s], (t - s).min(i32::MAX as usize) as i32))
}

/// Value and partials `(∂μ, ∂φ, ∂σ)` of state `(m, p, s)`'s density of `seq[t]` in `f64`.
fn value_and_partials(seq: &[f64], t: usize, m: f64, p: f64, s: f64) -> (f64, [f64; 3]) {
    let y = seq[t];
    match lag(seq, t) {
        None => {
            // Stationary: sd s0 = s / √(1 − p²).
            let one_m_p2 = 1.0 - p * p;
            let s0 = s / one_m_p2.sqrt();
            let z = (y - m) / s0;
            let value = -0.5 * z * z - s.ln() + 0.5 * one_m_p2.ln() - LN_SQRT_2PI;
            let d_s0 = z * z - 1.0;
            (value, [z / s0, d_s0 * p / one_m_p2, d_s0 / s])
        }
        Some((prev, 1)) => {
            let prev = prev - m;
            let z = (y - m - p * prev) / s;
            let value = -0.5 * z * z - s.ln() - LN_SQRT_2PI;
            (value, [z / s * (1.0 - p), z / s * prev, (z * z - 1.0) / s])
        }
        Some((prev, g)) => {
            // The g-step conditional: mean m + a·d, variance s²·q with a = p^g,
            // q = (1 − a²)/(1 − p²) = 1 + p² + … + p^{2(g−1)}.
            let (a, d) = (p.powi(g), prev - m);
            let one_m_p2 = 1.0 - p * p;
            let q = (1.0 - a * a) / one_m_p2;
            let sd = s * q.sqrt();
            let z = (y - m - a * d) / sd;
            let value = -0.5 * z * z - s.ln() - 0.5 * q.ln() - LN_SQRT_2PI;
            let gf = f64::from(g);
            let d_a = gf * p.powi(g - 1);
            let d_q = (2.0 * p * (1.0 - a * a) - 2.0 * gf * p.powi(2 * g - 1) * one_m_p2)
                / (one_m_p2 * one_m_p2);
            let d_p = z / sd * d * d_a + 0.5 * (z * z - 1.0) * d_q / q;
            (value, [z / sd * (1.0 - a), d_p, (z * z - 1.0) / s])
        }
    }
}

impl<T: Scalar> PerStateView for Ar1Gaussian<'_, T> {
    type Num = T;
    type Obs = f64;

    fn log_densities(&self, seq: &[f64], t: usize, out: &mut [T]) {
        let y = seq[t];
        for (k, o) in out.iter_mut().enumerate() {
            let (mu, phi, sigma) = (self.means[k], self.phis[k], self.sds[k]);
            if T::CUSTOM_IS_CHEAPER {
                let (m, p, s) = (mu.value(), phi.value(), sigma.value());
                let (value, partials) = value_and_partials(seq, t, m, p, s);
                *o = T::custom(&[mu, phi, sigma], value, &partials);
                continue;
            }
            *o = match lag(seq, t) {
                None => {
                    let one_m_p2 = -(phi * phi) + 1.0;
                    let z = (-mu + y) * one_m_p2.sqrt() / sigma;
                    -(z * z) * 0.5 - sigma.ln() + one_m_p2.ln() * 0.5 - LN_SQRT_2PI
                }
                Some((prev, 1)) => {
                    let mean = mu + phi * (-mu + prev);
                    let z = (-mean + y) / sigma;
                    -(z * z) * 0.5 - sigma.ln() - LN_SQRT_2PI
                }
                Some((prev, g)) => {
                    let a = phi.powi(g);
                    let q = (-(a * a) + 1.0) / (-(phi * phi) + 1.0);
                    let z = (-(mu + a * (-mu + prev)) + y) / (sigma * q.sqrt());
                    -(z * z) * 0.5 - sigma.ln() - q.ln() * 0.5 - LN_SQRT_2PI
                }
            };
        }
    }

    fn n_states(&self) -> usize {
        self.means.len()
    }

    /// Reverse mode's fast path, sparse: state `k`'s density depends on state `k`'s parameters
    /// only, so the adjoint contracts `3` partials per density whatever `K`.
    fn write_step(&self, seq: &[f64], t: usize, out: SparseStep<'_>) {
        let entry = |k: usize| {
            let (m, p) = (self.means[k].value(), self.phis[k].value());
            value_and_partials(seq, t, m, p, self.sds[k].value())
        };
        out.per_state(entry, grouped(self.means.len()));
    }

    fn parameter_blocks(&self) -> impl Iterator<Item = &[T]> {
        [self.means, self.phis, self.sds].into_iter()
    }

    fn check_params(&self) -> Result<(), ModelError> {
        Ar1Gaussian::new(self.means, self.phis, self.sds).map(|_| ())
    }

    fn sample(&self, state: usize, history: &[f64], rng: &mut Xoshiro256PlusPlus) -> f64 {
        let mu = self.means[state].value();
        let (phi, sigma) = (self.phis[state].value(), self.sds[state].value());
        match history.last() {
            None => draw_normal(mu, sigma / (1.0 - phi * phi).sqrt(), rng),
            Some(&prev) => draw_normal(mu + phi * (prev - mu), sigma, rng),
        }
    }
}

/// The AR(1) HMM family: `mu` (`K`, ordered by default to break label switching) ~
/// `Normal(0, 10)`, `phi` (`K`, interval transform on (−1, 1)) ~ `Uniform(−1, 1)`, `sigma`
/// (`K`, log) ~ `HalfNormal(5)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Ar1Family {
    /// Number of hidden states.
    pub n_states: usize,
    /// Prior of each level.
    pub mu_prior: Prior,
    /// Prior of each autoregressive coefficient (on (−1, 1)).
    pub phi_prior: Prior,
    /// Prior of each innovation standard deviation.
    pub sigma_prior: Prior,
    /// Whether the levels are ordered (default true).
    pub ordered: bool,
}

impl Ar1Family {
    /// `K` states with the default priors.
    pub fn new(n_states: usize) -> Self {
        Self {
            n_states,
            mu_prior: LOCATION_PRIOR,
            phi_prior: Prior::Uniform {
                lower: -1.0,
                upper: 1.0,
            },
            sigma_prior: SCALE_PRIOR,
            ordered: true,
        }
    }
}

/// Where [`Ar1Family`]'s parameters are in a model's layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ar1Handles {
    /// The levels.
    pub mu: ParamHandle,
    /// The autoregressive coefficients.
    pub phi: ParamHandle,
    /// The innovation standard deviations.
    pub sigma: ParamHandle,
}

impl Family for Ar1Family {
    type Obs = f64;
    type Handles = Ar1Handles;
    type Emission<'a, T: Scalar> = Ar1Gaussian<'a, T>;

    fn add_params(&self, layout: &mut ParamLayout) -> Result<Ar1Handles, LayoutError> {
        let k = Shape::Vector(self.n_states);
        let interval = Transform::Interval {
            lower: -1.0,
            upper: 1.0,
        };
        Ok(Ar1Handles {
            mu: MEANS.declare(layout, self.n_states, self.ordered, &self.mu_prior)?,
            phi: layout.declare("phi", k, interval, self.phi_prior.clone())?,
            sigma: declare_sds(layout, k, &self.sigma_prior)?,
        })
    }

    fn emission<'a, T: Scalar>(
        &'a self,
        handles: &Ar1Handles,
        params: &Params<'a, T>,
    ) -> Ar1Gaussian<'a, T> {
        let (means, phis) = (params.of(handles.mu), params.of(handles.phi));
        Ar1Gaussian::from_parts(means, phis, params.of(handles.sigma))
    }

    fn n_states(&self) -> usize {
        self.n_states
    }

    fn initial_values(
        &self,
        handles: &Ar1Handles,
        data: &Sequences<f64>,
    ) -> Vec<(ParamHandle, Vec<f64>)> {
        initial::location_scale((handles.mu, handles.sigma), data, self.n_states)
    }

    /// NaN: the emission's own missing marker, so that [`HmmModel`](super::HmmModel) gives
    /// the step after a gap the gap's conditional density.
    fn missing_marker(&self) -> Option<f64> {
        Some(f64::NAN)
    }
}
