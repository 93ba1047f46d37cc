//! Convergence diagnostics for MCMC draws, computed the way ArviZ 0.23 computes them.
//!
//! Every function takes the draws of **one scalar quantity** as an
//! [`ArrayView2<f64>`] shaped `(chains, draws)` and returns plain numbers, so the results can
//! be compared one to one with `az.rhat`, `az.ess`, `az.mcse`, `az.hdi` and `az.bfmi`
//! (the crate's tests check them against ArviZ 0.23.4 to about 1e-12 relative).
//!
//! | quantity | function | ArviZ |
//! | --- | --- | --- |
//! | rank-normalised split R-hat | [`rhat`] | `az.rhat(method="rank")` |
//! | bulk ESS | [`ess_bulk`] | `az.ess(method="bulk")` |
//! | tail ESS | [`ess_tail`] | `az.ess(method="tail")` |
//! | ESS of a quantile indicator | [`ess_quantile`] | `az.ess(method="quantile", prob=p)` |
//! | ESS of the mean | [`ess_mean`] | `az.ess(method="mean")` |
//! | MCSE of the mean | [`mcse_mean`] | `az.mcse(method="mean")` |
//! | MCSE of the sd | [`mcse_sd`] | `az.mcse(method="sd")` |
//! | highest-density interval | [`hdi`] | `az.hdi(hdi_prob=p)` |
//! | mean, sd (ddof = 1) | [`mean`], [`sd`] | `np.mean`, `np.std(ddof=1)` |
//! | E-BFMI per chain | [`bfmi`] | `az.bfmi` |
//!
//! The table that `az.summary` prints is [`summary::Summary`].
//!
//! # Method
//!
//! Following Vehtari, Gelman, Simpson, Carpenter and Bürkner (2021), "Rank-normalization,
//! folding, and localization: an improved R-hat for assessing convergence of MCMC":
//!
//! * every chain is **split** in two halves (for an odd number of draws the middle draw is
//!   dropped, as ArviZ does), so that a trend inside one chain shows up as disagreement
//!   between its halves;
//! * **rank normalisation** replaces each draw by `Φ⁻¹((r − 3/8) / (S + 1/4))`, where `r`
//!   is its average rank among all `S` split draws (Blom's offset), which makes R-hat and ESS
//!   well defined for heavy-tailed targets;
//! * the **folded** draws `|x − median|` measure convergence of the scale (tails);
//! * ESS uses the autocovariance of each chain (computed with a zero-padded FFT in
//!   O(n log n)), the multi-chain combined autocorrelation, and Geyer's initial *positive*
//!   then initial *monotone* sequence to truncate the sum, and the integrated
//!   autocorrelation time is bounded below by `1 / log10(S)` so antithetic chains get a
//!   finite ESS above `S`.
//!
//! # Edge cases (what ArviZ does, and so what these functions do)
//!
//! Nothing here panics on odd input; it returns NaN where ArviZ does:
//!
//! * **NaN anywhere** in the draws: R-hat, every ESS and every MCSE are NaN; [`mean`] and
//!   [`sd`] are NaN; [`hdi`] returns `(NaN, NaN)` (ArviZ, whose `hdi` does not skip NaN by
//!   default, returns an arbitrary pair in this case; NaN is the honest answer).
//! * **Fewer than 4 draws per chain** (or no chain): R-hat, ESS and MCSE are NaN.
//! * **A single chain**: R-hat is NaN (it needs two chains); ESS and MCSE are computed on the
//!   two halves of the chain.
//! * **Constant draws**: ArviZ's ESS returns the number of split draws (chains × 2 ×
//!   ⌊draws / 2⌋) whenever the input to the ESS computation spans less than `1e-15`; R-hat is
//!   NaN (0/0 within- and between-chain variance); [`mcse_mean`] is 0; [`mcse_sd`] is NaN
//!   (it divides by the variance).
//! * Chains that are each constant at different values: R-hat is `+∞`.

mod fft;
mod internals;
mod normal;
pub mod summary;

use ndarray::{Array2, ArrayView2};

use fft::Fft;
use internals::*;

/// The HDI probability ArviZ uses by default (`rcParams["stats.hdi_prob"]`): 94 %.
pub const DEFAULT_HDI_PROB: f64 = 0.94;

/// Fewest draws per chain for which ArviZ computes R-hat, ESS and MCSE; below it they are NaN.
pub const MIN_DRAWS: usize = 4;

/// The quantiles whose indicator ESS defines the tail ESS (Vehtari et al. 2021, §4.3).
const TAIL_PROBS: (f64, f64) = (0.05, 0.95);

/// NumPy's `np.finfo(float).resolution`: below this spread ArviZ treats an array as constant.
pub(crate) const FLOAT_RESOLUTION: f64 = 1e-15;

// ---------------------------------------------------------------------------------------------
// Public diagnostics
// ---------------------------------------------------------------------------------------------

/// Rank-normalised split R-hat (`az.rhat(method="rank")`, Vehtari et al. 2021).
///
/// The larger of the bulk R-hat (split chains, rank-normalised) and the tail R-hat (the same
/// on the draws folded about their median). Values close to 1 (below 1.01) indicate that the
/// chains agree; values well above 1 mean they have not mixed.
///
/// Returns NaN for fewer than two chains, fewer than [`MIN_DRAWS`] draws, any NaN draw, or
/// constant draws.
///
/// # Example
/// ```
/// use ndarray::Array2;
/// use trellis_samplers::diagnostics::rhat;
///
/// // Two chains stuck at different levels: R-hat is far above 1.
/// let draws = Array2::from_shape_fn((2, 100), |(c, i)| c as f64 * 10.0 + (i as f64 * 0.7).sin());
/// assert!(rhat(draws.view()) > 1.5);
/// ```
pub fn rhat(draws: ArrayView2<'_, f64>) -> f64 {
    rank_rhat(draws, FoldCentre::SplitMedian)
}

/// Where the folded (tail) R-hat takes its median from.
///
/// `az.rhat` folds the *split* draws about their own median, while `az.summary` folds the
/// full draws about theirs and splits afterwards. The two differ only when the number of
/// draws per chain is odd (splitting drops the middle draw); both are kept so that
/// [`rhat`] matches `az.rhat` and the summary table matches `az.summary`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FoldCentre {
    /// Median of the split draws (`az.rhat`).
    SplitMedian,
    /// Median of all draws (`az.summary`).
    FullMedian,
}

/// Rank-normalised split R-hat with a choice of fold centre (see [`FoldCentre`]).
pub(crate) fn rank_rhat(draws: ArrayView2<'_, f64>, centre: FoldCentre) -> f64 {
    if not_valid(&draws, 2) {
        return f64::NAN;
    }
    let split = split_chains(draws);
    let rhat_bulk = rhat_core(&z_scale(&split));
    let folded = match centre {
        FoldCentre::SplitMedian => {
            let med = median(split.iter().copied().collect());
            split.mapv(|x| (x - med).abs())
        }
        FoldCentre::FullMedian => {
            let med = median(draws.iter().copied().collect());
            split_chains(draws.mapv(|x| (x - med).abs()).view())
        }
    };
    let rhat_tail = rhat_core(&z_scale(&folded));
    py_max(rhat_bulk, rhat_tail)
}

/// Bulk effective sample size (`az.ess(method="bulk")`).
///
/// ESS of the rank-normalised split chains: how many independent draws would estimate the
/// centre of the distribution as precisely as these do. Vehtari et al. recommend at least
/// 100 per chain.
///
/// Returns NaN for fewer than [`MIN_DRAWS`] draws or any NaN draw.
///
/// # Example
/// ```
/// use ndarray::Array2;
/// use trellis_samplers::diagnostics::ess_bulk;
///
/// // A strongly autocorrelated chain (a slow sine) has an ESS far below its 400 draws.
/// let draws = Array2::from_shape_fn((2, 200), |(c, i)| (i as f64 / 40.0 + c as f64).sin());
/// assert!(ess_bulk(draws.view()) < 40.0);
/// ```
pub fn ess_bulk(draws: ArrayView2<'_, f64>) -> f64 {
    if not_valid(&draws, 1) {
        return f64::NAN;
    }
    ess_core(&z_scale(&split_chains(draws)))
}

/// Tail effective sample size (`az.ess(method="tail")`).
///
/// The smaller of the ESS of the indicators `x ≤ q₀.₀₅` and `x ≤ q₀.₉₅` (see
/// [`ess_quantile`]): how well the 5 % and 95 % quantiles, and so the interval between them,
/// are estimated.
///
/// Returns NaN for fewer than [`MIN_DRAWS`] draws or any NaN draw.
///
/// # Example
/// ```
/// use ndarray::Array2;
/// use trellis_samplers::diagnostics::ess_tail;
///
/// let draws = Array2::from_shape_fn((4, 100), |(c, i)| ((c * 100 + i) as f64 * 0.618).fract());
/// let ess = ess_tail(draws.view());
/// assert!(ess.is_finite() && ess > 0.0);
/// ```
pub fn ess_tail(draws: ArrayView2<'_, f64>) -> f64 {
    if not_valid(&draws, 1) {
        return f64::NAN;
    }
    let sorted = sorted_pooled(&draws);
    let low = ess_of_indicator(draws, quantile_type7_sorted(&sorted, TAIL_PROBS.0));
    let high = ess_of_indicator(draws, quantile_type7_sorted(&sorted, TAIL_PROBS.1));
    py_min(low, high)
}

/// Effective sample size of the quantile indicator `x ≤ q_prob`
/// (`az.ess(method="quantile", prob=prob)`).
///
/// `q_prob` is the type-7 (linear interpolation) quantile of the pooled draws, as in R and
/// `scipy.stats.mstats.mquantiles(alphap=1, betap=1)`.
///
/// Returns NaN for `prob` outside `[0, 1]`, fewer than [`MIN_DRAWS`] draws or any NaN draw.
///
/// # Example
/// ```
/// use ndarray::Array2;
/// use trellis_samplers::diagnostics::ess_quantile;
///
/// let draws = Array2::from_shape_fn((2, 50), |(c, i)| ((c * 50 + i) as f64 * 0.618).fract());
/// assert!(ess_quantile(draws.view(), 0.5) > 0.0);
/// ```
pub fn ess_quantile(draws: ArrayView2<'_, f64>, prob: f64) -> f64 {
    if not_valid(&draws, 1) || !(0.0..=1.0).contains(&prob) {
        return f64::NAN;
    }
    let q = quantile_type7_sorted(&sorted_pooled(&draws), prob);
    ess_of_indicator(draws, q)
}

/// Split-chain ESS of the indicator `x ≤ q`.
fn ess_of_indicator(draws: ArrayView2<'_, f64>, q: f64) -> f64 {
    let indicator = draws.mapv(|x| if x <= q { 1.0 } else { 0.0 });
    ess_core(&split_chains(indicator.view()))
}

/// All draws in ascending order.
fn sorted_pooled(draws: &ArrayView2<'_, f64>) -> Vec<f64> {
    let mut pooled: Vec<f64> = draws.iter().copied().collect();
    pooled.sort_unstable_by(f64::total_cmp);
    pooled
}

/// Effective sample size for the mean (`az.ess(method="mean")`).
///
/// ESS of the split chains on their original scale (no rank normalisation): the ESS that
/// governs the Monte Carlo error of the posterior mean, see [`mcse_mean`]. It is unreliable
/// when the variance is infinite, which is why [`ess_bulk`] exists.
///
/// Returns NaN for fewer than [`MIN_DRAWS`] draws or any NaN draw.
///
/// # Example
/// ```
/// use ndarray::Array2;
/// use trellis_samplers::diagnostics::ess_mean;
///
/// // An antithetic chain (alternating signs) estimates its mean better than iid draws would.
/// let draws = Array2::from_shape_fn((2, 100), |(_, i)| if i % 2 == 0 { 1.0 } else { -1.0 });
/// assert!(ess_mean(draws.view()) > 200.0);
/// ```
pub fn ess_mean(draws: ArrayView2<'_, f64>) -> f64 {
    if not_valid(&draws, 1) {
        return f64::NAN;
    }
    ess_core(&split_chains(draws))
}

/// Monte Carlo standard error of the posterior mean (`az.mcse(method="mean")`).
///
/// `sd / sqrt(ess_mean)` with the pooled standard deviation (ddof = 1) and [`ess_mean`].
///
/// Returns NaN for fewer than [`MIN_DRAWS`] draws or any NaN draw; 0 for constant draws.
///
/// # Example
/// ```
/// use ndarray::Array2;
/// use trellis_samplers::diagnostics::{ess_mean, mcse_mean, sd};
///
/// let draws = Array2::from_shape_fn((4, 100), |(c, i)| ((c * 100 + i) as f64 * 0.618).fract());
/// let expected = sd(draws.view()) / ess_mean(draws.view()).sqrt();
/// assert!((mcse_mean(draws.view()) - expected).abs() < 1e-15);
/// ```
pub fn mcse_mean(draws: ArrayView2<'_, f64>) -> f64 {
    if not_valid(&draws, 1) {
        return f64::NAN;
    }
    sd(draws) / ess_mean(draws).sqrt()
}

/// Monte Carlo standard error of the posterior standard deviation (`az.mcse(method="sd")`).
///
/// ArviZ 0.23 (like the R package `posterior`) uses the delta method on the squared
/// deviations `d = (x − x̄)²`: with `E = mean(d)` the variance estimate,
/// `Var(E) ≈ (mean(d²) − E²) / ess_mean(d)` and `MCSE(sd) = sqrt(Var(E) / (4 E))`.
/// This accounts for the kurtosis of the target and for the autocorrelation of `d`
/// (older ArviZ versions used a normal-theory factor on `ess_sd` instead).
///
/// Returns NaN for fewer than [`MIN_DRAWS`] draws, any NaN draw, or constant draws (0/0).
///
/// # Example
/// ```
/// use ndarray::Array2;
/// use trellis_samplers::diagnostics::mcse_sd;
///
/// let draws = Array2::from_shape_fn((4, 100), |(c, i)| ((c * 100 + i) as f64 * 0.618).fract());
/// let m = mcse_sd(draws.view());
/// assert!(m > 0.0 && m < 0.05);
/// ```
pub fn mcse_sd(draws: ArrayView2<'_, f64>) -> f64 {
    if not_valid(&draws, 1) {
        return f64::NAN;
    }
    let centre = mean(draws);
    let sq_dev = draws.mapv(|x| (x - centre) * (x - centre));
    mcse_sd_from_squared_deviations(&sq_dev)
}

/// The delta-method MCSE of the sd from the squared deviations about the pooled mean.
fn mcse_sd_from_squared_deviations(sq_dev: &Array2<f64>) -> f64 {
    let ess = ess_core(&split_chains(sq_dev.view()));
    let evar = mean(sq_dev.view());
    let mean_sq = mean(sq_dev.mapv(|d| d * d).view());
    let varvar = (mean_sq - evar * evar) / ess;
    let varsd = varvar / evar / 4.0;
    varsd.sqrt()
}

/// Highest-density interval of the pooled draws (`az.hdi(hdi_prob=prob)`).
///
/// The narrowest interval `[x₍ᵢ₎, x₍ᵢ₊ₖ₎]` between sorted draws with `k = ⌊prob · n⌋`; ties
/// go to the lowest such interval, as with NumPy's `argmin`. The bounds are draws, so the
/// result is exactly ArviZ's.
///
/// Returns `(NaN, NaN)` when `prob` is not in `(0, 1)`, there are no draws, or any draw is
/// NaN. Returns `(lower, upper)` otherwise.
///
/// # Example
/// ```
/// use ndarray::Array2;
/// use trellis_samplers::diagnostics::hdi;
///
/// let draws = Array2::from_shape_fn((1, 100), |(_, i)| i as f64);
/// assert_eq!(hdi(draws.view(), 0.9), (0.0, 90.0));
/// ```
pub fn hdi(draws: ArrayView2<'_, f64>, prob: f64) -> (f64, f64) {
    let n = draws.len();
    // `!(p > 0 && p < 1)` rather than a range check so that a NaN prob is rejected too.
    if n == 0 || !(prob > 0.0 && prob < 1.0) || has_nan(&draws) {
        return (f64::NAN, f64::NAN);
    }
    let sorted = sorted_pooled(&draws);
    // Same float product and floor as ArviZ, so the interval length in draws is identical.
    let inc = (prob * n as f64).floor() as usize;
    let n_intervals = n - inc.min(n);
    if n_intervals == 0 {
        return (f64::NAN, f64::NAN);
    }
    let mut best = 0;
    let mut best_width = f64::INFINITY;
    for i in 0..n_intervals {
        let width = sorted[i + inc] - sorted[i];
        // Strict `<` keeps the first minimum, like `np.argmin`.
        if width < best_width {
            best_width = width;
            best = i;
        }
    }
    (sorted[best], sorted[best + inc])
}

/// Mean of the pooled draws (NaN if there are none or any is NaN).
///
/// Uses compensated (Neumaier) summation, so the result is the correctly rounded mean for
/// all practical inputs; NumPy's pairwise sum agrees with it to a few ulps.
///
/// # Example
/// ```
/// use ndarray::array;
/// use trellis_samplers::diagnostics::mean;
///
/// assert_eq!(mean(array![[1.0, 2.0], [3.0, 6.0]].view()), 3.0);
/// ```
pub fn mean(draws: ArrayView2<'_, f64>) -> f64 {
    let n = draws.len();
    if n == 0 {
        return f64::NAN;
    }
    neumaier_sum(draws.iter().copied()) / n as f64
}

/// Standard deviation of the pooled draws with `ddof = 1` (`np.std(ddof=1)`).
///
/// NaN for fewer than two draws or any NaN draw.
///
/// # Example
/// ```
/// use ndarray::array;
/// use trellis_samplers::diagnostics::sd;
///
/// assert_eq!(sd(array![[1.0, 3.0], [1.0, 3.0]].view()), (4.0f64 / 3.0).sqrt());
/// ```
pub fn sd(draws: ArrayView2<'_, f64>) -> f64 {
    let n = draws.len();
    if n < 2 {
        return f64::NAN;
    }
    let m = mean(draws);
    let ss = neumaier_sum(draws.iter().map(|&x| (x - m) * (x - m)));
    (ss / (n - 1) as f64).sqrt()
}

/// Estimated Bayesian fraction of missing information (E-BFMI) of each chain (`az.bfmi`).
///
/// `energy` holds the Hamiltonian energy of every draw, shaped `(chains, draws)`. For each
/// chain, `mean((E[t] − E[t−1])²) / var(E)` (ddof = 1): how well momentum resampling
/// explores the energy distribution (Betancourt 2016). Values below 0.3 indicate that the
/// sampler struggles (heavy tails, poor metric adaptation).
///
/// A chain with fewer than two draws, or with a NaN energy, gets NaN; a constant chain gets
/// NaN (0/0).
///
/// # Example
/// ```
/// use ndarray::array;
/// use trellis_samplers::diagnostics::bfmi;
///
/// let energy = array![[1.0, 2.0, 1.0, 2.0], [1.0, 1.5, 2.0, 2.5]];
/// let b = bfmi(energy.view());
/// assert_eq!(b.len(), 2);
/// assert!(b[0] > b[1]); // the alternating chain explores energy far better than the drifting one
/// ```
pub fn bfmi(energy: ArrayView2<'_, f64>) -> Vec<f64> {
    energy
        .rows()
        .into_iter()
        .map(|row| {
            let e: Vec<f64> = row.iter().copied().collect();
            if e.len() < 2 {
                return f64::NAN;
            }
            let num = e
                .windows(2)
                .map(|w| (w[1] - w[0]) * (w[1] - w[0]))
                .sum::<f64>()
                / (e.len() - 1) as f64;
            num / variance_ddof1(&e)
        })
        .collect()
}

/// Biased autocovariance `γ(t) = (1/n) Σᵢ (xᵢ − x̄)(xᵢ₊ₜ − x̄)` for every lag `t` in `0..n`.
///
/// Computed with a zero-padded FFT in O(n log n), like ArviZ's `autocov`; `γ(0)` is the
/// population variance. Returns an empty vector for empty input.
///
/// # Example
/// ```
/// use trellis_samplers::diagnostics::autocovariance;
///
/// let acov = autocovariance(&[1.0, -1.0, 1.0, -1.0]);
/// assert!((acov[0] - 1.0).abs() < 1e-15);
/// assert!((acov[1] + 0.75).abs() < 1e-15);
/// ```
pub fn autocovariance(x: &[f64]) -> Vec<f64> {
    if x.is_empty() {
        return Vec::new();
    }
    let fft = Fft::new((2 * x.len()).next_power_of_two());
    fft.autocovariance(x)
}

// ---------------------------------------------------------------------------------------------
// Building blocks shared with the summary table
// ---------------------------------------------------------------------------------------------

/// Everything `az.summary` reports for one parameter, computed as `az.summary` does.
///
/// Differs from calling the individual functions only in rounding-level details that ArviZ's
/// summary also has: the MCSE of the mean is `sqrt(var / ess_mean)` and the tail R-hat folds
/// about the median of all draws (see [`FoldCentre`]).
pub(crate) struct SummaryStats {
    pub mean: f64,
    pub sd: f64,
    pub hdi: (f64, f64),
    pub mcse_mean: f64,
    pub mcse_sd: f64,
    pub ess_bulk: f64,
    pub ess_tail: f64,
    pub r_hat: f64,
}

/// Computes one summary row's statistics (see [`SummaryStats`]).
pub(crate) fn summary_stats(draws: ArrayView2<'_, f64>, hdi_prob: f64) -> SummaryStats {
    let mean_value = mean(draws);
    let sd_value = sd(draws);
    let hdi_value = hdi(draws, hdi_prob);
    if not_valid(&draws, 1) {
        return SummaryStats {
            mean: mean_value,
            sd: sd_value,
            hdi: hdi_value,
            mcse_mean: f64::NAN,
            mcse_sd: f64::NAN,
            ess_bulk: f64::NAN,
            ess_tail: f64::NAN,
            r_hat: f64::NAN,
        };
    }
    let ess_mean_value = ess_mean(draws);
    let sq_dev = draws.mapv(|x| (x - mean_value) * (x - mean_value));
    let var = neumaier_sum(sq_dev.iter().copied()) / (sq_dev.len() - 1) as f64;
    SummaryStats {
        mean: mean_value,
        sd: sd_value,
        hdi: hdi_value,
        mcse_mean: (var / ess_mean_value).sqrt(),
        mcse_sd: mcse_sd_from_squared_deviations(&sq_dev),
        ess_bulk: ess_bulk(draws),
        ess_tail: ess_tail(draws),
        r_hat: rank_rhat(draws, FoldCentre::FullMedian),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fft_autocovariance_matches_direct_sum() {
        let x: Vec<f64> = (0..37)
            .map(|i| ((i * i) as f64 * 0.37).sin() + 0.1 * i as f64)
            .collect();
        let fast = autocovariance(&x);
        let n = x.len();
        let m = mean_of(&x);
        for (t, &f) in fast.iter().enumerate() {
            let direct: f64 =
                (0..n - t).map(|i| (x[i] - m) * (x[i + t] - m)).sum::<f64>() / n as f64;
            assert!((f - direct).abs() < 1e-13, "lag {t}: {f} vs {direct}");
        }
    }
}
