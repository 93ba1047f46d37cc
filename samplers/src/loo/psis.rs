//! Pareto smoothed importance sampling for one vector of log importance ratios, computed
//! step for step as ArviZ 0.23's `_psislw`, `_gpdfit` and `_gpinv` do.

use super::LooError;

/// ArviZ's `prior_bs`: the prior on the GPD scale grid is spread by `1 / (3 · first quartile)`.
const GPD_PRIOR_SCALE: f64 = 3.0;
/// ArviZ's `prior_k`: the k̂ estimate is shrunk towards 0.5 as if by 10 extra observations.
const GPD_PRIOR_WEIGHT: f64 = 10.0;
/// The value k̂ is shrunk towards (Vehtari et al. 2024, appendix C).
const GPD_PRIOR_K: f64 = 0.5;
/// Fewest tail draws ArviZ fits a GPD to; with 4 or fewer k̂ is +∞ and no smoothing happens.
const MIN_TAIL_DRAWS: usize = 5;

/// Pareto-smoothed log importance weights of one observation and the shape k̂ of their tail.
#[derive(Debug, Clone, PartialEq)]
pub struct SmoothedWeights {
    /// The smoothed, truncated and normalised log weights (their log-sum-exp is 0), in the
    /// order of the input ratios.
    pub log_weights: Vec<f64>,
    /// Estimated shape of the generalised Pareto distribution fitted to the largest ratios:
    /// the reliability diagnostic of the importance sampling estimate. `+∞` when the tail
    /// holds fewer than 5 draws (too few to fit; the weights are then left unsmoothed).
    pub pareto_k: f64,
}

/// Pareto smoothed importance sampling of one vector of log importance ratios
/// (`az.psislw(log_ratios, reff=r_eff)` for a single observation; Vehtari, Simpson, Gelman,
/// Yao & Gabry 2024).
///
/// The largest `M = ⌈min(S / 5, 3 √(S / r_eff))⌉` ratios (`S` draws) are replaced by the
/// expected order statistics of a generalised Pareto distribution fitted to them with the
/// Zhang–Stephens empirical Bayes estimator and ArviZ's weakly informative prior; smoothed
/// weights above the largest raw weight are truncated to it, and the result is normalised.
/// For PSIS-LOO the ratios of observation `i` are `−log p(yᵢ | θ⁽ˢ⁾)` (see [`super::loo`]).
///
/// When several ratios in the tail are exactly equal, ArviZ's (unstable) sort may hand their
/// smoothed values out in another order; the multiset of weights, k̂ and every estimate
/// built from the weights are the same.
///
/// # Errors
/// [`LooError::TooFewDraws`] for fewer than 2 ratios, [`LooError::NonFiniteRatio`] for a NaN
/// or infinite ratio, [`LooError::InvalidRelativeEfficiency`] unless `r_eff` is finite and
/// positive.
///
/// # Example
/// ```
/// use trellis_samplers::loo::psis;
///
/// // Ratios with a heavy right tail: the Pareto shape is large.
/// let ratios: Vec<f64> = (1..=1000).map(|i| -(i as f64 / 1001.0).ln() * 1.2).collect();
/// let smoothed = psis(&ratios, 1.0)?;
/// assert!(smoothed.pareto_k > 0.7);
/// let total: f64 = smoothed.log_weights.iter().map(|w| w.exp()).sum();
/// assert!((total - 1.0).abs() < 1e-12);
/// # Ok::<(), trellis_samplers::loo::LooError>(())
/// ```
pub fn psis(log_ratios: &[f64], r_eff: f64) -> Result<SmoothedWeights, LooError> {
    check_relative_efficiency(r_eff)?;
    if log_ratios.len() < 2 {
        return Err(LooError::TooFewDraws {
            draws: log_ratios.len(),
            needed: 2,
        });
    }
    if let Some((index, &value)) = log_ratios.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(LooError::NonFiniteRatio { index, value });
    }
    let cutoff = tail_cutoff_position(log_ratios.len(), r_eff);
    Ok(smooth(log_ratios.to_vec(), cutoff))
}

/// Rejects a relative efficiency that is not a finite positive number.
pub(super) fn check_relative_efficiency(r_eff: f64) -> Result<(), LooError> {
    if r_eff.is_finite() && r_eff > 0.0 {
        Ok(())
    } else {
        Err(LooError::InvalidRelativeEfficiency(r_eff))
    }
}

/// Position, in ascending order of the ratios, of the largest draw that stays in the body:
/// ArviZ's `cutoff_ind = −⌈min(S/5, 3·(S/r_eff)^0.5)⌉ − 1` counted from the end.
///
/// Needs `n_samples ≥ 2` (then `⌈S/5⌉ ≤ S − 1`, so the position is valid).
pub(super) fn tail_cutoff_position(n_samples: usize, r_eff: f64) -> usize {
    let s = n_samples as f64;
    // `powf(0.5)` rather than `sqrt` because ArviZ writes `** 0.5`; the two agree whenever
    // the platform's `pow` is correctly rounded, and `powf` is the faithful transcription.
    let tail_len = (s / 5.0).min(3.0 * (s / r_eff).powf(0.5)).ceil() as usize;
    n_samples - tail_len - 1
}

/// The body of `_psislw`: smooths `x` (log ratios, consumed) given the cutoff position.
pub(super) fn smooth(mut x: Vec<f64>, cutoff_position: usize) -> SmoothedWeights {
    let max = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    for v in &mut x {
        *v -= max;
    }
    // Only the cutoff's order statistic and the tail's order are needed: a selection (O(S))
    // and a sort of the tail (M ≈ 3√S draws) instead of sorting all S draws.
    let mut scratch = x.clone();
    let (_, &mut at_cutoff, _) = scratch.select_nth_unstable_by(cutoff_position, f64::total_cmp);
    // Python's `max(a, b)` keeps `a` unless `b > a`; with finite input the two agree.
    let cutoff = at_cutoff.max(f64::MIN_POSITIVE.ln());
    // The tail is every draw strictly above the cutoff, in ascending order.
    let mut tail: Vec<usize> = (0..x.len()).filter(|&i| x[i] > cutoff).collect();
    tail.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let tail = &tail[..];

    let pareto_k = if tail.len() < MIN_TAIL_DRAWS {
        f64::INFINITY
    } else {
        let exp_cutoff = cutoff.exp();
        let excess: Vec<f64> = tail.iter().map(|&i| x[i].exp() - exp_cutoff).collect();
        let (k, sigma) = gpd_fit(&excess);
        if k.is_finite() {
            let n = tail.len() as f64;
            for (rank, &i) in tail.iter().enumerate() {
                let prob = (rank as f64 + 0.5) / n;
                x[i] = (gpd_quantile(prob, k, sigma) + exp_cutoff).ln();
            }
            // Smoothing may push the largest weights above the largest raw weight (0 here).
            for v in &mut x {
                if *v > 0.0 {
                    *v = 0.0;
                }
            }
        }
        k
    };
    let total = log_sum_exp(&x);
    for v in &mut x {
        *v -= total;
    }
    SmoothedWeights {
        log_weights: x,
        pareto_k,
    }
}

/// Zhang & Stephens (2009) empirical Bayes fit of a generalised Pareto distribution to the
/// sorted positive exceedances `sorted`, with ArviZ's prior (`_gpdfit`). Returns `(k̂, σ̂)`,
/// where k̂ is already shrunk towards 0.5 and σ̂ is computed from the unshrunk k̂, as ArviZ does.
fn gpd_fit(sorted: &[f64]) -> (f64, f64) {
    let n = sorted.len();
    let nf = n as f64;
    let grid_len = 30 + (nf.sqrt() as usize);
    let first_quartile = sorted[(nf / 4.0 + 0.5) as usize - 1];
    let largest = sorted[n - 1];
    let b: Vec<f64> = (1..=grid_len)
        .map(|j| {
            let spread = 1.0 - (grid_len as f64 / (j as f64 - 0.5)).sqrt();
            spread / (GPD_PRIOR_SCALE * first_quartile) + 1.0 / largest
        })
        .collect();
    let profile_k = |b: f64| sorted.iter().map(|&x| (-b * x).ln_1p()).sum::<f64>() / nf;
    let k: Vec<f64> = b.iter().map(|&bj| profile_k(bj)).collect();
    // Profile log-likelihood of each grid point, up to a constant.
    let log_lik: Vec<f64> = b
        .iter()
        .zip(&k)
        .map(|(&bj, &kj)| nf * ((-(bj / kj)).ln() - kj - 1.0))
        .collect();
    // Posterior weight of grid point j as 1 / Σᵢ exp(ℓᵢ − ℓⱼ): only differences of the
    // profile log-likelihoods are exponentiated, so large |ℓ| cannot overflow.
    let weights: Vec<f64> = log_lik
        .iter()
        .map(|&lj| 1.0 / log_lik.iter().map(|&li| (li - lj).exp()).sum::<f64>())
        .collect();
    // ArviZ drops negligible grid points (NaN weights too) before normalising.
    let kept: Vec<(f64, f64)> = b
        .iter()
        .zip(&weights)
        .filter(|(_, &w)| w >= 10.0 * f64::EPSILON)
        .map(|(&bj, &w)| (bj, w))
        .collect();
    let total: f64 = kept.iter().map(|&(_, w)| w).sum();
    let b_post: f64 = kept.iter().map(|&(bj, w)| bj * (w / total)).sum();
    let k_post = profile_k(b_post);
    let sigma = -k_post / b_post;
    let k_shrunk = (nf * k_post + GPD_PRIOR_WEIGHT * GPD_PRIOR_K) / (nf + GPD_PRIOR_WEIGHT);
    (k_shrunk, sigma)
}

/// Quantile function of the generalised Pareto distribution with shape `k` and scale `sigma`
/// at `prob` in (0, 1) (`_gpinv`); NaN for a non-positive scale.
fn gpd_quantile(prob: f64, k: f64, sigma: f64) -> f64 {
    if sigma <= 0.0 {
        return f64::NAN;
    }
    let unit = if k.abs() < f64::EPSILON {
        -(-prob).ln_1p()
    } else {
        (-k * (-prob).ln_1p()).exp_m1() / k
    };
    unit * sigma
}

/// `log Σ exp(xᵢ)`, shifted by the maximum: `trellis_ad`'s, on plain values.
pub(super) fn log_sum_exp(x: &[f64]) -> f64 {
    <f64 as trellis_ad::Scalar>::log_sum_exp(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gpd_fit_recovers_a_known_shape() {
        // Exact quantiles of a GPD with k = 0.5, sigma = 2: the fit lands near them (the
        // prior pulls k̂ towards 0.5, which here is the truth).
        let n = 2000;
        let data: Vec<f64> = (0..n)
            .map(|i| gpd_quantile((i as f64 + 0.5) / n as f64, 0.5, 2.0))
            .collect();
        let (k, sigma) = gpd_fit(&data);
        assert!((k - 0.5).abs() < 0.02, "k = {k}");
        assert!((sigma - 2.0).abs() < 0.1, "sigma = {sigma}");
    }

    #[test]
    fn gpd_quantile_is_exponential_at_zero_shape() {
        let q = gpd_quantile(0.5, 0.0, 3.0);
        assert!((q - 3.0 * std::f64::consts::LN_2).abs() < 1e-15);
        assert!(gpd_quantile(0.5, 0.2, 0.0).is_nan());
    }

    #[test]
    fn log_sum_exp_is_stable() {
        assert!((log_sum_exp(&[1000.0, 1000.0]) - (1000.0 + std::f64::consts::LN_2)).abs() < 1e-12);
        assert_eq!(log_sum_exp(&[]), f64::NEG_INFINITY);
    }

    #[test]
    fn short_tail_is_not_smoothed() {
        // S = 10: the tail holds ⌈min(2, 3√10)⌉ = 2 draws, fewer than 5, so k̂ = ∞ and the
        // weights are just the normalised ratios.
        let ratios: Vec<f64> = (0..10).map(|i| i as f64 * 0.3).collect();
        let smoothed = psis(&ratios, 1.0).unwrap();
        assert_eq!(smoothed.pareto_k, f64::INFINITY);
        let total = log_sum_exp(&ratios);
        for (w, r) in smoothed.log_weights.iter().zip(&ratios) {
            assert!((w - (r - total)).abs() < 1e-14);
        }
    }
}
