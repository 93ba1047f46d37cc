//! The building blocks behind the diagnostics, each as ArviZ 0.23 has it: validity checks,
//! Python's `max`/`min`, chain splitting, rank normalisation, quantiles, compensated sums,
//! and the R-hat and ESS cores.

use ndarray::{s, Array2, ArrayView2};

use super::fft::Fft;
use super::normal::norm_ppf;
use super::{FLOAT_RESOLUTION, MIN_DRAWS};

pub(super) fn has_nan(draws: &ArrayView2<'_, f64>) -> bool {
    draws.iter().any(|x| x.is_nan())
}

/// ArviZ's `_not_valid`: NaN anywhere, too few chains, or too few draws.
pub(super) fn not_valid(draws: &ArrayView2<'_, f64>, min_chains: usize) -> bool {
    let (chains, n) = draws.dim();
    chains < min_chains.max(1) || n < MIN_DRAWS || has_nan(draws)
}

/// Python's `max(a, b)`: returns `a` unless `b > a`, so a NaN first argument wins and a NaN
/// second argument loses. ArviZ relies on this when one of bulk/tail R-hat is NaN.
pub(super) fn py_max(a: f64, b: f64) -> f64 {
    if b > a {
        b
    } else {
        a
    }
}

/// Python's `min(a, b)`: returns `a` unless `b < a` (see [`py_max`]).
pub(super) fn py_min(a: f64, b: f64) -> f64 {
    if b < a {
        b
    } else {
        a
    }
}

/// Splits every chain into its first and last `⌊n/2⌋` draws; the first halves of all chains
/// come first, then the second halves (ArviZ's `_split_chains`).
pub(super) fn split_chains(draws: ArrayView2<'_, f64>) -> Array2<f64> {
    let (chains, n) = draws.dim();
    let half = n / 2;
    let mut out = Array2::zeros((2 * chains, half));
    for c in 0..chains {
        out.row_mut(c).assign(&draws.slice(s![c, ..half]));
        out.row_mut(chains + c)
            .assign(&draws.slice(s![c, n - half..]));
    }
    out
}

/// Rank normalisation: `Φ⁻¹((r − 3/8) / (S − 3/4 + 1))` with average ranks `r` over all `S`
/// values (ArviZ's `_z_scale`, `scipy.stats.rankdata(method="average")`).
pub(super) fn z_scale(values: &Array2<f64>) -> Array2<f64> {
    let flat: Vec<f64> = values.iter().copied().collect();
    let ranks = average_ranks(&flat);
    let c = 3.0 / 8.0;
    let denom = flat.len() as f64 - 2.0 * c + 1.0;
    let z: Vec<f64> = ranks.iter().map(|&r| norm_ppf((r - c) / denom)).collect();
    Array2::from_shape_vec(values.dim(), z).expect("same number of elements as the input")
}

/// 1-based ranks with ties given the average of the ranks they span.
pub(super) fn average_ranks(x: &[f64]) -> Vec<f64> {
    let n = x.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let mut ranks = vec![0.0; n];
    let mut i = 0;
    while i < n {
        let mut j = i + 1;
        // `==` (not total order) so that -0.0 and +0.0 tie, as in scipy.
        while j < n && x[order[j]] == x[order[i]] {
            j += 1;
        }
        // Sorted positions i..j hold 1-based ranks i+1..=j; their average is exact in f64.
        let r = (i + 1 + j) as f64 / 2.0;
        for &k in &order[i..j] {
            ranks[k] = r;
        }
        i = j;
    }
    ranks
}

/// Median of the values (NumPy's: the mean of the two middle values for an even count).
pub(super) fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let n = v.len();
    // Selection instead of a full sort: O(n) on average.
    let (below, &mut upper, _) = v.select_nth_unstable_by(n / 2, f64::total_cmp);
    if n % 2 == 1 {
        upper
    } else {
        let lower = below.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (lower + upper) / 2.0
    }
}

/// Type-7 quantile of sorted data, with the exact arithmetic of
/// `scipy.stats.mstats.mquantiles(alphap=1, betap=1)`, so that the indicator `x ≤ q` agrees
/// with ArviZ even when `q` lands on a draw.
pub(super) fn quantile_type7_sorted(sorted: &[f64], p: f64) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return f64::NAN;
    }
    if n == 1 {
        return sorted[0];
    }
    // Hyndman–Fan plotting positions; (1, 1) is type 7.
    let (alphap, betap) = (1.0, 1.0);
    let m = alphap + p * (1.0 - alphap - betap);
    let aleph = n as f64 * p + m;
    let k = aleph.clamp(1.0, (n - 1) as f64).floor();
    let gamma = (aleph - k).clamp(0.0, 1.0);
    let k = k as usize;
    (1.0 - gamma) * sorted[k - 1] + gamma * sorted[k]
}

pub(super) fn mean_of(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

/// Two-pass sample variance with `ddof = 1` (NumPy's `np.var(ddof=1)`).
pub(super) fn variance_ddof1(x: &[f64]) -> f64 {
    let m = mean_of(x);
    x.iter().map(|&v| (v - m) * (v - m)).sum::<f64>() / (x.len() as f64 - 1.0)
}

/// Neumaier's compensated sum: error independent of the number of terms.
pub(super) fn neumaier_sum(values: impl Iterator<Item = f64>) -> f64 {
    let mut sum = 0.0_f64;
    let mut comp = 0.0_f64;
    for v in values {
        let t = sum + v;
        if sum.abs() >= v.abs() {
            comp += (sum - t) + v;
        } else {
            comp += (v - t) + sum;
        }
        sum = t;
    }
    sum + comp
}

/// Split-R-hat of already split (and usually rank-normalised) chains (ArviZ's `_rhat`):
/// `sqrt((B/W + n − 1) / n)` with `B = n · var(chain means)` and `W = mean(chain variances)`.
pub(super) fn rhat_core(chains: &Array2<f64>) -> f64 {
    let n = chains.ncols();
    let rows: Vec<Vec<f64>> = chains.rows().into_iter().map(|r| r.to_vec()).collect();
    let chain_means: Vec<f64> = rows.iter().map(|r| mean_of(r)).collect();
    let chain_vars: Vec<f64> = rows.iter().map(|r| variance_ddof1(r)).collect();
    let between = n as f64 * variance_ddof1(&chain_means);
    let within = mean_of(&chain_vars);
    ((between / within + n as f64 - 1.0) / n as f64).sqrt()
}

/// Multi-chain ESS of already split chains (ArviZ's `_ess`, Stan's algorithm).
///
/// Combines the chains' autocovariances into one autocorrelation estimate
/// `ρ̂ₜ = 1 − (W − mean γₜ) / var⁺`, sums pairs `ρ̂₂ₖ + ρ̂₂ₖ₊₁` while they stay positive
/// (Geyer's initial positive sequence), forces the pair sums to be non-increasing (initial
/// monotone sequence), and returns `S / τ̂` with `τ̂ = −1 + 2 Σ ρ̂ₜ`, bounded below by
/// `1 / log10(S)`.
pub(super) fn ess_core(chains: &Array2<f64>) -> f64 {
    if chains.iter().any(|x| x.is_nan()) {
        return f64::NAN;
    }
    let (n_chain, n_draw) = chains.dim();
    let size = (n_chain * n_draw) as f64;
    let max = chains.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let min = chains.iter().copied().fold(f64::INFINITY, f64::min);
    if max - min < FLOAT_RESOLUTION {
        // ArviZ's convention for (numerically) constant input: every draw counts.
        return size;
    }
    if n_draw < 2 {
        return f64::NAN;
    }

    let fft = Fft::new((2 * n_draw).next_power_of_two());
    let rows: Vec<Vec<f64>> = chains.rows().into_iter().map(|r| r.to_vec()).collect();
    let acov: Vec<Vec<f64>> = rows.iter().map(|r| fft.autocovariance(r)).collect();
    let chain_means: Vec<f64> = rows.iter().map(|r| mean_of(r)).collect();
    let mean_acov = |t: usize| acov.iter().map(|a| a[t]).sum::<f64>() / n_chain as f64;

    let nd = n_draw as f64;
    let mean_var = mean_acov(0) * nd / (nd - 1.0);
    let mut var_plus = mean_var * (nd - 1.0) / nd;
    if n_chain > 1 {
        var_plus += variance_ddof1(&chain_means);
    }
    let rho = |t: usize| 1.0 - (mean_var - mean_acov(t)) / var_plus;

    let mut rho_hat = vec![0.0; n_draw];
    let mut rho_even = 1.0;
    let mut rho_odd = rho(1);
    rho_hat[0] = rho_even;
    rho_hat[1] = rho_odd;

    // Geyer's initial positive sequence: keep pairs while their sum is positive.
    let mut t = 1usize;
    while t + 3 < n_draw && rho_even + rho_odd > 0.0 {
        rho_even = rho(t + 1);
        rho_odd = rho(t + 2);
        if rho_even + rho_odd >= 0.0 {
            rho_hat[t + 1] = rho_even;
            rho_hat[t + 2] = rho_odd;
        }
        t += 2;
    }
    // `max_t` can be -1 when the loop never ran (very short chains); keep it signed so the
    // sums below have Python slice semantics.
    let max_t = t as isize - 2;
    let next = (max_t + 1) as usize;
    if rho_even > 0.0 {
        // The last even term improves the estimate (Stan does the same).
        rho_hat[next] = rho_even;
    }
    // Geyer's initial monotone sequence: pair sums must not increase.
    let mut t = 1isize;
    while t <= max_t - 2 {
        let (i, j) = (t as usize, (t + 1) as usize);
        let prev_pair = rho_hat[i - 1] + rho_hat[i];
        if rho_hat[j] + rho_hat[j + 1] > prev_pair {
            rho_hat[j] = prev_pair / 2.0;
            rho_hat[j + 1] = rho_hat[j];
        }
        t += 2;
    }

    let head: f64 = rho_hat[..next].iter().sum();
    let tail: f64 = rho_hat.get(next).copied().unwrap_or(0.0);
    let tau_hat = py_max(-1.0 + 2.0 * head + tail, 1.0 / size.log10());
    if rho_hat.iter().any(|r| r.is_nan()) {
        return f64::NAN;
    }
    size / tau_hat
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_average_ties() {
        assert_eq!(
            average_ranks(&[3.0, 1.0, 3.0, 2.0]),
            vec![3.5, 1.0, 3.5, 2.0]
        );
        assert_eq!(average_ranks(&[-0.0, 0.0]), vec![1.5, 1.5]);
    }

    #[test]
    fn quantile_type7_interpolates() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile_type7_sorted(&v, 0.5), 2.5);
        assert_eq!(quantile_type7_sorted(&v, 0.0), 1.0);
        assert_eq!(quantile_type7_sorted(&v, 1.0), 4.0);
    }
}
