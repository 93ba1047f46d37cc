//! The log-space forward filter and backward smoother: the reference (test oracle) for the
//! library's filtering and smoothing, which are the scaled recursion's forward pass and the
//! forward–backward adjoint's backward pass. Slow, but free of any scaling logic: no state is
//! ever lost to underflow, however peaked the emissions. (Moved here from the library's
//! `inference.rs`, where it was the implementation.)

use trellis_ad::Scalar;
use trellis_models::hmm::{HmmError, HmmParams};

/// `ln Σᵢ exp(xᵢ)` by `trellis-ad`'s `log_sum_exp`; `-inf` when all are `-inf`.
fn lse(xs: impl Iterator<Item = f64>) -> f64 {
    let xs: Vec<f64> = xs.collect();
    f64::log_sum_exp(&xs)
}

/// The forward filter in log space, so that no state is ever lost to underflow, however
/// peaked the emissions: `ln α̂[t][k] = ln p(zₜ = k | y₁..yₜ)` and the one-step predictions
/// `ln pred[t][k] = ln p(zₜ = k | y₁..yₜ₋₁)` (row-major `T × K`), and the log-likelihood.
pub struct LogFilter {
    pub log_alpha: Vec<f64>,
    pub log_pred: Vec<f64>,
    pub log_likelihood: f64,
}

pub fn forward_filter(params: &HmmParams, le: &[f64]) -> Result<LogFilter, HmmError> {
    let k = params.n_states();
    let n = le.len() / k;
    let lt = params.log_trans();
    let mut log_alpha = vec![0.0; n * k];
    let mut log_pred = vec![0.0; n * k];
    let mut log_likelihood = 0.0;
    for t in 0..n {
        for j in 0..k {
            log_pred[t * k + j] = if t == 0 {
                params.log_init()[j]
            } else {
                let prev = &log_alpha[(t - 1) * k..t * k];
                lse((0..k).map(|i| prev[i] + lt[i * k + j]))
            };
        }
        let row = &mut log_alpha[t * k..(t + 1) * k];
        for j in 0..k {
            row[j] = log_pred[t * k + j] + le[t * k + j];
        }
        let norm = lse(row.iter().copied());
        if norm == f64::NEG_INFINITY {
            return Err(HmmError::ZeroProbability {
                sequence: 0,
                position: t,
            });
        }
        for x in row.iter_mut() {
            *x -= norm;
        }
        log_likelihood += norm;
    }
    Ok(LogFilter {
        log_alpha,
        log_pred,
        log_likelihood,
    })
}

/// Smoothed from filtered, in log space:
/// `ln γ[t][i] = ln α̂[t][i] + ln Σⱼ P[i][j] γ[t+1][j] / pred[t+1][j]` (states with zero
/// predicted probability have zero smoothed probability and are skipped).
pub fn backward_smooth(params: &HmmParams, filter: &LogFilter) -> Vec<f64> {
    let k = params.n_states();
    let n = filter.log_alpha.len() / k;
    let lt = params.log_trans();
    let mut log_gamma = filter.log_alpha.clone();
    let mut ratio = vec![0.0; k];
    for t in (0..n.saturating_sub(1)).rev() {
        for j in 0..k {
            let g = log_gamma[(t + 1) * k + j];
            let pred = filter.log_pred[(t + 1) * k + j];
            ratio[j] = if g == f64::NEG_INFINITY || pred == f64::NEG_INFINITY {
                f64::NEG_INFINITY
            } else {
                g - pred
            };
        }
        for i in 0..k {
            let a = filter.log_alpha[t * k + i];
            log_gamma[t * k + i] = if a == f64::NEG_INFINITY {
                a
            } else {
                a + lse((0..k).map(|j| lt[i * k + j] + ratio[j]))
            };
        }
        // Exact arithmetic gives a normalised row; remove rounding drift.
        let row = &mut log_gamma[t * k..(t + 1) * k];
        let norm = lse(row.iter().copied());
        for x in row.iter_mut() {
            *x -= norm;
        }
    }
    log_gamma
}
