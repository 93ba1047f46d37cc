//! Predictive model assessment from pointwise log-likelihoods: PSIS-LOO, WAIC and model
//! comparison, computed the way ArviZ 0.23 computes them.
//!
//! | quantity | function | ArviZ |
//! | --- | --- | --- |
//! | PSIS-LOO elpd, se, p_loo, Pareto k̂ per observation | [`loo`] | `az.loo(pointwise=True)` |
//! | relative efficiency `r_eff` of a posterior | [`relative_efficiency`] | inside `az.loo` |
//! | WAIC elpd, se, p_waic | [`waic`] | `az.waic(pointwise=True)` |
//! | smoothed importance weights of one observation | [`psis`] | `az.psislw` |
//! | comparison table with stacking or pseudo-BMA weights | [`compare`] | `az.compare` |
//!
//! The crate's tests check every number against ArviZ 0.23.4 (to 1e-6 relative or better;
//! observed about 1e-12). [`Loo`], [`Waic`] and [`Comparison`] print as ArviZ prints them
//! (`Display`) and serialise with serde.
//!
//! # Input layout
//!
//! The log-likelihood is an [`ArrayView3<f64>`] shaped `(chains, draws, observations)`:
//! entry `[c, s, i]` is `log p(yᵢ | θ⁽ᶜ'ˢ⁾)`. An *observation* is the unit that
//! leave-one-out drops; for hidden Markov models that is a whole sequence. Draws of all
//! chains are pooled (ArviZ stacks `(chain, draw)` into one sample dimension), so the chain
//! structure matters only through `r_eff`.
//!
//! # Method
//!
//! Vehtari, Gelman & Gabry (2017), "Practical Bayesian model evaluation using leave-one-out
//! cross-validation and WAIC", and Vehtari, Simpson, Gelman, Yao & Gabry (2024), "Pareto
//! smoothed importance sampling":
//!
//! * the leave-one-out predictive density of observation `i` is estimated by importance
//!   sampling from the full posterior with ratios `1 / p(yᵢ | θ⁽ˢ⁾)`, whose largest values are
//!   smoothed by a fitted generalised Pareto distribution ([`psis`]);
//! * the fitted shape k̂ᵢ says whether the estimate can be trusted: ArviZ warns when any
//!   k̂ᵢ exceeds `min(1 − 1/log10(S), 0.7)` for `S` pooled draws (ArviZ 0.23 uses this
//!   sample-size-dependent threshold, [`Loo::good_k`]);
//! * everything is on ArviZ's default **log** scale: higher elpd is better. The deviance
//!   scale of older software is `−2 · elpd` (and `2 · se`), see [`Loo::deviance`].
//!
//! # Example
//! ```
//! use ndarray::Array3;
//! use trellis_samplers::loo::{loo, waic};
//!
//! // Draws of mu for y ~ N(mu, 1), four observations, 2 chains x 500 draws.
//! let y = [0.1, -0.4, 0.3, 0.2];
//! let log_lik = Array3::from_shape_fn((2, 500, 4), |(c, s, i)| {
//!     let mu = 0.05 + 0.5 * (((c * 500 + s) as f64 * 0.618_034).fract() - 0.5);
//!     -0.5 * (y[i] - mu) * (y[i] - mu) - 0.5 * (2.0 * std::f64::consts::PI).ln()
//! });
//! let by_loo = loo(log_lik.view(), 1.0)?;
//! let by_waic = waic(log_lik.view())?;
//! assert!((by_loo.elpd - by_waic.elpd).abs() < 0.05);
//! assert!(!by_loo.warning);
//! # Ok::<(), trellis_samplers::loo::LooError>(())
//! ```

mod compare;
mod display;
mod error;
mod psis;

pub use compare::{compare, Comparison, ComparisonRow, WeightMethod};
pub use error::LooError;
pub use psis::{psis, SmoothedWeights};

use ndarray::{ArrayView2, ArrayView3, Axis};
use rayon::prelude::*;
use serde::Serialize;

use crate::diagnostics::ess_mean;
use psis::{check_relative_efficiency, log_sum_exp, smooth, tail_cutoff_position};

/// ArviZ's WAIC warning threshold: the posterior variance of an observation's log-likelihood
/// above which WAIC's approximation is suspect (Vehtari, Gelman & Gabry 2017, §2.2).
pub const WAIC_VARIANCE_WARNING: f64 = 0.4;

/// The upper limit of ArviZ's k̂ threshold; with many draws the threshold is exactly this.
pub const PARETO_K_LIMIT: f64 = 0.7;

/// How trustworthy one observation's PSIS estimate is, by its Pareto k̂ (the bins ArviZ prints).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ParetoKCategory {
    /// `k̂ ≤ good_k`: the importance sampling estimate is reliable.
    Good,
    /// `good_k < k̂ ≤ 1`: unreliable; the estimate's error may be large.
    Bad,
    /// `k̂ > 1` (including `+∞` and NaN, where no tail could be fitted): the importance
    /// sampling estimate has no finite mean; refit without the observation instead.
    VeryBad,
}

/// How many observations fall in each [`ParetoKCategory`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct ParetoKCounts {
    /// Observations with `k̂ ≤ good_k`.
    pub good: usize,
    /// Observations with `good_k < k̂ ≤ 1`.
    pub bad: usize,
    /// Observations with `k̂ > 1`, infinite or NaN.
    pub very_bad: usize,
}

/// PSIS-LOO estimate of the expected log pointwise predictive density (`az.loo` output).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Loo {
    /// `elpd_loo`: the sum of the pointwise leave-one-out log predictive densities.
    pub elpd: f64,
    /// Standard error of `elpd`: `√(n · var(elpd_i))` with the population variance.
    pub se: f64,
    /// Effective number of parameters: `lppd − elpd` (lppd: the in-sample log predictive
    /// density `Σᵢ log mean_s p(yᵢ | θ⁽ˢ⁾)`).
    pub p_loo: f64,
    /// `loo_i`: the leave-one-out log predictive density of each observation.
    pub pointwise: Vec<f64>,
    /// Estimated Pareto shape k̂ of each observation's importance ratios.
    pub pareto_k: Vec<f64>,
    /// ArviZ's threshold `min(1 − 1/log10(S), 0.7)` above which a k̂ is flagged.
    pub good_k: f64,
    /// True when any `pareto_k` exceeds `good_k` (ArviZ's `warning`).
    pub warning: bool,
    /// Number of pooled draws `S`.
    pub n_samples: usize,
    /// The relative efficiency used to choose the tail length.
    pub r_eff: f64,
}

impl Loo {
    /// The category of observation `observation`'s k̂, or `None` past the last observation.
    pub fn pareto_k_category(&self, observation: usize) -> Option<ParetoKCategory> {
        let k = *self.pareto_k.get(observation)?;
        Some(if k <= self.good_k {
            ParetoKCategory::Good
        } else if k <= 1.0 {
            ParetoKCategory::Bad
        } else {
            ParetoKCategory::VeryBad
        })
    }

    /// How many observations fall in each category (the table ArviZ prints under `az.loo`).
    pub fn pareto_k_counts(&self) -> ParetoKCounts {
        let mut counts = ParetoKCounts::default();
        for i in 0..self.pareto_k.len() {
            match self.pareto_k_category(i) {
                Some(ParetoKCategory::Good) => counts.good += 1,
                Some(ParetoKCategory::Bad) => counts.bad += 1,
                _ => counts.very_bad += 1,
            }
        }
        counts
    }

    /// Indices of the observations whose k̂ exceeds [`Loo::good_k`] (the ones to look at).
    pub fn flagged_observations(&self) -> Vec<usize> {
        (0..self.pareto_k.len())
            .filter(|&i| self.pareto_k_category(i) != Some(ParetoKCategory::Good))
            .collect()
    }

    /// `(looic, se)` on the deviance scale: `−2 · elpd` and `2 · se` (lower is better).
    pub fn deviance(&self) -> (f64, f64) {
        (-2.0 * self.elpd, 2.0 * self.se)
    }
}

/// WAIC estimate of the expected log pointwise predictive density (`az.waic` output).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Waic {
    /// `elpd_waic`: `Σᵢ (lppdᵢ − var_s log p(yᵢ | θ⁽ˢ⁾))`.
    pub elpd: f64,
    /// Standard error of `elpd`: `√(n · var(waic_i))` with the population variance.
    pub se: f64,
    /// Effective number of parameters: the sum of the pointwise log-likelihood variances.
    pub p_waic: f64,
    /// `waic_i`: each observation's contribution to `elpd`.
    pub pointwise: Vec<f64>,
    /// Posterior variance (population, ddof = 0) of each observation's log-likelihood.
    pub log_lik_variance: Vec<f64>,
    /// True when any variance exceeds [`WAIC_VARIANCE_WARNING`] (ArviZ's `warning`).
    pub warning: bool,
    /// Number of pooled draws `S`.
    pub n_samples: usize,
}

impl Waic {
    /// `(waic, se)` on the deviance scale: `−2 · elpd` and `2 · se` (lower is better).
    pub fn deviance(&self) -> (f64, f64) {
        (-2.0 * self.elpd, 2.0 * self.se)
    }
}

/// What [`compare`] needs of an elpd estimate; implemented by [`Loo`] and [`Waic`].
pub trait ElpdEstimate {
    /// The estimated elpd (log scale).
    fn elpd(&self) -> f64;
    /// Its standard error.
    fn se(&self) -> f64;
    /// The effective number of parameters (`p_loo` or `p_waic`).
    fn effective_parameters(&self) -> f64;
    /// The pointwise elpd contributions, one per observation.
    fn pointwise(&self) -> &[f64];
    /// Whether the estimate carries ArviZ's warning.
    fn warning(&self) -> bool;
}

impl ElpdEstimate for Loo {
    fn elpd(&self) -> f64 {
        self.elpd
    }
    fn se(&self) -> f64 {
        self.se
    }
    fn effective_parameters(&self) -> f64 {
        self.p_loo
    }
    fn pointwise(&self) -> &[f64] {
        &self.pointwise
    }
    fn warning(&self) -> bool {
        self.warning
    }
}

impl ElpdEstimate for Waic {
    fn elpd(&self) -> f64 {
        self.elpd
    }
    fn se(&self) -> f64 {
        self.se
    }
    fn effective_parameters(&self) -> f64 {
        self.p_waic
    }
    fn pointwise(&self) -> &[f64] {
        &self.pointwise
    }
    fn warning(&self) -> bool {
        self.warning
    }
}

/// PSIS-LOO from a log-likelihood shaped `(chains, draws, observations)`
/// (`az.loo(idata, pointwise=True, reff=r_eff)`).
///
/// `r_eff` is the relative efficiency of the draws (effective sample size over `S`); it only
/// sets the tail length `⌈min(S/5, 3 √(S / r_eff))⌉` of the Pareto fit. Pass
/// [`relative_efficiency`] of the posterior draws to do what `az.loo` does by default, or
/// 1.0 for independent draws.
///
/// For each observation `i`, the ratios `−log p(yᵢ | θ⁽ˢ⁾)` are smoothed ([`psis`]) into
/// normalised log weights `wᵢₛ`, and `elpd_i = log Σₛ exp(wᵢₛ + log p(yᵢ | θ⁽ˢ⁾))`.
///
/// # Errors
/// [`LooError::Empty`] for an empty array, [`LooError::TooFewDraws`] for fewer than 2
/// pooled draws, [`LooError::NonFiniteLogLik`] naming the first NaN or infinite value, and
/// [`LooError::InvalidRelativeEfficiency`] unless `r_eff` is finite and positive.
///
/// # Example
/// ```
/// use ndarray::Array3;
/// use trellis_samplers::loo::{loo, ParetoKCategory};
///
/// // y ~ N(mu, 1) with mu's posterior near 0, and one observation (index 2) far out.
/// let y = [0.2, -0.3, 5.0, 0.1, -0.1];
/// let log_lik = Array3::from_shape_fn((2, 1000, 5), |(c, s, i)| {
///     let u = ((c * 1000 + s) as f64 * 0.618_033_988_75).fract();
///     let mu = 0.8 * (u - 0.5);
///     -0.5 * (y[i] - mu) * (y[i] - mu) - 0.5 * (2.0 * std::f64::consts::PI).ln()
/// });
/// let result = loo(log_lik.view(), 1.0)?;
/// assert_eq!(result.pointwise.len(), 5);
/// assert!(result.p_loo > 0.0);
/// // The outlier's leave-one-out posterior differs most from the full posterior.
/// let worst = (0..5).max_by(|&a, &b| result.pareto_k[a].total_cmp(&result.pareto_k[b]));
/// assert_eq!(worst, Some(2));
/// assert_eq!(result.pareto_k_category(0), Some(ParetoKCategory::Good));
/// # Ok::<(), trellis_samplers::loo::LooError>(())
/// ```
pub fn loo(log_lik: ArrayView3<'_, f64>, r_eff: f64) -> Result<Loo, LooError> {
    let columns = pooled_observations(log_lik)?;
    check_relative_efficiency(r_eff)?;
    let n_samples = columns[0].len();
    if n_samples < 2 {
        return Err(LooError::TooFewDraws {
            draws: n_samples,
            needed: 2,
        });
    }
    let cutoff = tail_cutoff_position(n_samples, r_eff);
    let log_s = (n_samples as f64).ln();
    // Observations are independent: smooth them in parallel, then sum in observation order,
    // so the result is the same whatever the number of threads.
    let per_observation: Vec<(f64, f64, f64)> = columns
        .par_iter()
        .map(|column| {
            let ratios: Vec<f64> = column.iter().map(|&l| -l).collect();
            let smoothed = smooth(ratios, cutoff);
            let weighted: Vec<f64> = smoothed
                .log_weights
                .iter()
                .zip(column)
                .map(|(w, l)| w + l)
                .collect();
            let lppd_i = log_sum_exp(column) - log_s;
            (log_sum_exp(&weighted), smoothed.pareto_k, lppd_i)
        })
        .collect();
    let pointwise: Vec<f64> = per_observation.iter().map(|o| o.0).collect();
    let pareto_k: Vec<f64> = per_observation.iter().map(|o| o.1).collect();
    let lppd: f64 = per_observation.iter().map(|o| o.2).sum();
    let elpd: f64 = pointwise.iter().sum();
    let good_k = good_k_threshold(n_samples);
    Ok(Loo {
        elpd,
        se: total_se(&pointwise),
        p_loo: lppd - elpd,
        warning: pareto_k.iter().any(|&k| k > good_k),
        pointwise,
        pareto_k,
        good_k,
        n_samples,
        r_eff,
    })
}

/// WAIC from a log-likelihood shaped `(chains, draws, observations)` (`az.waic(pointwise=True)`).
///
/// `waic_i = log mean_s p(yᵢ | θ⁽ˢ⁾) − var_s log p(yᵢ | θ⁽ˢ⁾)` with the population variance;
/// ArviZ warns (and [`Waic::warning`] is set) when any variance exceeds 0.4.
///
/// # Errors
/// [`LooError::Empty`] for an empty array and [`LooError::NonFiniteLogLik`] naming the first
/// NaN or infinite value.
///
/// # Example
/// ```
/// use ndarray::Array3;
/// use trellis_samplers::loo::waic;
///
/// // A log-likelihood that does not vary over draws has p_waic = 0.
/// let log_lik = Array3::from_elem((2, 10, 3), -1.5);
/// let result = waic(log_lik.view())?;
/// assert!((result.elpd + 4.5).abs() < 1e-12);
/// assert_eq!(result.p_waic, 0.0);
/// # Ok::<(), trellis_samplers::loo::LooError>(())
/// ```
pub fn waic(log_lik: ArrayView3<'_, f64>) -> Result<Waic, LooError> {
    let columns = pooled_observations(log_lik)?;
    let n_samples = columns[0].len();
    let log_s = (n_samples as f64).ln();
    let log_lik_variance: Vec<f64> = columns.iter().map(|c| population_variance(c)).collect();
    let pointwise: Vec<f64> = columns
        .iter()
        .zip(&log_lik_variance)
        .map(|(c, v)| (log_sum_exp(c) - log_s) - v)
        .collect();
    Ok(Waic {
        elpd: pointwise.iter().sum(),
        se: total_se(&pointwise),
        p_waic: log_lik_variance.iter().sum(),
        warning: log_lik_variance.iter().any(|&v| v > WAIC_VARIANCE_WARNING),
        pointwise,
        log_lik_variance,
        n_samples,
    })
}

/// The relative efficiency `az.loo` uses when none is given: the mean, over all posterior
/// parameters, of their ESS of the mean ([`ess_mean`]) divided by the number of pooled draws;
/// exactly 1 for a single chain.
///
/// Each view holds one scalar parameter's draws shaped `(chains, draws)`, the same draws the
/// log-likelihood was computed from (vector parameters contribute one view per element, as
/// ArviZ averages over every element). ArviZ takes one `r_eff` for all observations; the R
/// package `loo` instead computes one per observation from the likelihood values.
///
/// # Errors
/// [`LooError::NoParameters`] for an empty slice, [`LooError::ShapeMismatch`] when the views
/// differ in shape, [`LooError::Empty`] for views without draws, and
/// [`LooError::UndefinedEss`] when an ESS is NaN (NaN draws, fewer than 4 draws per chain).
///
/// # Example
/// ```
/// use ndarray::Array2;
/// use trellis_samplers::loo::relative_efficiency;
///
/// // A slowly varying parameter is far less efficient than its 400 draws suggest.
/// let slow = Array2::from_shape_fn((2, 200), |(c, s)| (s as f64 / 30.0 + c as f64).sin());
/// let r_eff = relative_efficiency(&[slow.view()])?;
/// assert!(r_eff > 0.0 && r_eff < 0.2);
/// # Ok::<(), trellis_samplers::loo::LooError>(())
/// ```
pub fn relative_efficiency(parameters: &[ArrayView2<'_, f64>]) -> Result<f64, LooError> {
    let first = parameters.first().ok_or(LooError::NoParameters)?;
    let (chains, draws) = first.dim();
    if chains == 0 || draws == 0 {
        return Err(LooError::Empty {
            chains,
            draws,
            observations: parameters.len(),
        });
    }
    if let Some((index, p)) = parameters
        .iter()
        .enumerate()
        .find(|(_, p)| p.dim() != first.dim())
    {
        return Err(LooError::ShapeMismatch {
            what: "parameter",
            index,
            expected: first.shape().to_vec(),
            found: p.shape().to_vec(),
        });
    }
    if chains == 1 {
        return Ok(1.0);
    }
    let mut total = 0.0;
    for (parameter, draws_of) in parameters.iter().enumerate() {
        let ess = ess_mean(draws_of.view());
        if !ess.is_finite() {
            return Err(LooError::UndefinedEss { parameter, ess });
        }
        total += ess;
    }
    Ok(total / parameters.len() as f64 / (chains * draws) as f64)
}

/// ArviZ's k̂ threshold `min(1 − 1/log10(S), 0.7)` for `S` pooled draws.
pub fn good_k_threshold(n_samples: usize) -> f64 {
    let sample_based = 1.0 - 1.0 / (n_samples as f64).log10();
    // Python's `min(a, b)` returns `a` unless `b < a`.
    if PARETO_K_LIMIT < sample_based {
        PARETO_K_LIMIT
    } else {
        sample_based
    }
}

/// Checks the array and returns each observation's draws pooled over chains (chain by chain,
/// as ArviZ stacks `(chain, draw)`).
fn pooled_observations(log_lik: ArrayView3<'_, f64>) -> Result<Vec<Vec<f64>>, LooError> {
    let (chains, draws, observations) = log_lik.dim();
    if chains == 0 || draws == 0 || observations == 0 {
        return Err(LooError::Empty {
            chains,
            draws,
            observations,
        });
    }
    if let Some(((chain, draw, observation), &value)) =
        log_lik.indexed_iter().find(|(_, v)| !v.is_finite())
    {
        return Err(LooError::NonFiniteLogLik {
            chain,
            draw,
            observation,
            value,
        });
    }
    Ok(log_lik
        .axis_iter(Axis(2))
        .map(|obs| obs.iter().copied().collect())
        .collect())
}

/// `np.var(x)`: the two-pass population variance (ddof = 0).
pub(crate) fn population_variance(x: &[f64]) -> f64 {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    x.iter().map(|&v| (v - mean) * (v - mean)).sum::<f64>() / n
}

/// Standard error of a sum of `n` pointwise terms: `√(n · var(terms))` (ArviZ's `se`, `dse`).
pub(crate) fn total_se(pointwise: &[f64]) -> f64 {
    (pointwise.len() as f64 * population_variance(pointwise)).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{s, Array3};
    use proptest::prelude::*;

    fn log_lik_strategy() -> impl Strategy<Value = Array3<f64>> {
        prop::collection::vec(-6.0f64..0.0, 2 * 30 * 3)
            .prop_map(|v| Array3::from_shape_vec((2, 30, 3), v).unwrap())
    }

    proptest! {
        #[test]
        fn shifting_an_observation_shifts_only_its_elpd(
            ll in log_lik_strategy(),
            shift in -50.0f64..50.0,
        ) {
            let mut shifted = ll.clone();
            shifted.slice_mut(s![.., .., 0]).mapv_inplace(|v| v + shift);
            let (a, b) = (loo(ll.view(), 0.7).unwrap(), loo(shifted.view(), 0.7).unwrap());
            prop_assert!((b.pointwise[0] - a.pointwise[0] - shift).abs() < 1e-9);
            prop_assert!((b.pareto_k[0] - a.pareto_k[0]).abs() < 1e-9);
            prop_assert_eq!(&a.pointwise[1..], &b.pointwise[1..]);
            prop_assert!((b.p_loo - a.p_loo).abs() < 1e-9);
            let (a, b) = (waic(ll.view()).unwrap(), waic(shifted.view()).unwrap());
            prop_assert!((b.pointwise[0] - a.pointwise[0] - shift).abs() < 1e-9);
            prop_assert!((b.p_waic - a.p_waic).abs() < 1e-9);
        }

        #[test]
        fn the_order_of_draws_does_not_matter(ll in log_lik_strategy()) {
            // Reversing chains and draws permutes the pooled draws.
            let reversed = ll.slice(s![..;-1, ..;-1, ..]).to_owned();
            let (a, b) = (loo(ll.view(), 1.0).unwrap(), loo(reversed.view(), 1.0).unwrap());
            for i in 0..3 {
                prop_assert!((a.pointwise[i] - b.pointwise[i]).abs() < 1e-12);
                prop_assert!((a.pareto_k[i] - b.pareto_k[i]).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn good_k_follows_the_sample_size() {
        assert_eq!(good_k_threshold(10), 0.0);
        assert!((good_k_threshold(100) - 0.5).abs() < 1e-15);
        assert_eq!(good_k_threshold(100_000), 0.7);
    }

    #[test]
    fn errors_name_the_problem() {
        let empty = Array3::<f64>::zeros((2, 0, 3));
        assert!(matches!(
            loo(empty.view(), 1.0),
            Err(LooError::Empty { draws: 0, .. })
        ));
        let mut bad = Array3::from_elem((2, 5, 3), -1.0);
        bad[[1, 4, 2]] = f64::NEG_INFINITY;
        assert_eq!(
            waic(bad.view()),
            Err(LooError::NonFiniteLogLik {
                chain: 1,
                draw: 4,
                observation: 2,
                value: f64::NEG_INFINITY
            })
        );
        let one = Array3::from_elem((1, 1, 3), -1.0);
        assert!(matches!(
            loo(one.view(), 1.0),
            Err(LooError::TooFewDraws { .. })
        ));
        let fine = Array3::from_elem((2, 5, 3), -1.0);
        assert_eq!(
            loo(fine.view(), 0.0),
            Err(LooError::InvalidRelativeEfficiency(0.0))
        );
        assert_eq!(relative_efficiency(&[]), Err(LooError::NoParameters));
    }
}
