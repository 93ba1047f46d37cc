//! The forward recursion in log space (`T::log_sum_exp` over previous states at every step):
//! slower than the scaled recursion ([`super::recursion`]), but free of any scaling logic, so
//! no state is ever lost to underflow however peaked the emissions.
//!
//! It is the fallback of the scaled recursion when probability space cannot be trusted, the
//! fallback of filtering, and the reference the tests compare the scaled recursion against
//! ([`super::forward_log_likelihood_log_space`]).

use trellis_ad::{scratch, Scalar};

/// The log-likelihood by the log-space recursion on validated inputs.
pub(crate) fn value<T: Scalar>(log_init: &[T], log_trans: &[T], log_emission: &[T], k: usize) -> T {
    recursion(log_init, log_trans, log_emission, k, |_, _| {})
}

/// The log-space recursion (`log_trans`: one `K × K` matrix, or one per step as in
/// [`super::recursion::with_probs`]); `step(t, ln αₜ)` sees each step's unnormalised log forward
/// weights `ln αₜ[j] = ln p(y₁..yₜ, zₜ = j)` (the per-step hook; values ignore it).
pub(crate) fn recursion<T: Scalar>(
    log_init: &[T],
    log_trans: &[T],
    log_emission: &[T],
    k: usize,
    mut step: impl FnMut(usize, &[T]),
) -> T {
    let n = log_emission.len() / k;
    // 0: one matrix for every step; K²: one per step.
    let stride = if log_trans.len() == k * k { 0 } else { k * k };
    scratch::with_vec(|buf: &mut Vec<T>| {
        buf.clear();
        buf.resize(3 * k, T::constant(0.0));
        let (la, rest) = buf.split_at_mut(k);
        let (next, tmp) = rest.split_at_mut(k);
        for j in 0..k {
            la[j] = log_init[j] + log_emission[j];
        }
        step(0, la);
        for t in 1..n {
            let log_trans = &log_trans[(t - 1) * stride..];
            for j in 0..k {
                for i in 0..k {
                    tmp[i] = la[i] + log_trans[i * k + j];
                }
                next[j] = T::log_sum_exp(tmp) + log_emission[t * k + j];
            }
            la.copy_from_slice(next);
            step(t, la);
        }
        T::log_sum_exp(la)
    })
}

/// Value and partials of the log-likelihood by the log-space recursion and a log-space
/// backward pass, in plain `f64`: what the fused adjoint falls back to where probability
/// space cannot be trusted. The value is [`value`]'s to the last bit (the same forward pass);
/// the partials are those of the [`adjoint`](super::adjoint) module (`γ`, and `ξ` summed over
/// the steps of each transition matrix).
///
/// Each step's `γₜ` and `ξₜ` are normalised on their own (they sum to 1 for any free
/// log-probabilities: `Σⱼ αₜ[j] βₜ[j] = L` at every `t`), and the backward weights are kept
/// relative to their largest, so no exponent subtracts two log-likelihood-sized numbers:
/// with densities of −10⁶ nats the partials keep their precision.
///
/// Memory is `O(K²)` beyond the outputs: the forward weights `ln αₜ` are kept in
/// `d_emission` itself and overwritten by `γₜ` as the backward pass goes. (The generic
/// recursion on recorded scalars, the earlier fallback, put `O(T·K²)` nodes on the tape: at
/// K = 1000 a fit ran out of memory.)
///
/// `log_trans` is one `K × K` matrix or one per step (as for [`recursion`]); `d_params`
/// receives `∂/∂log_init (K) | ∂/∂log_trans` (the same length as `log_trans`), `d_emission`
/// `∂/∂log_emission (T·K)`. Returns `None`, writing nothing useful, when the log-likelihood is
/// not finite (the caller's generic path decides that case).
pub(crate) fn value_and_partials(
    log_init: &[f64],
    log_trans: &[f64],
    log_emission: &[f64],
    k: usize,
    d_params: &mut [f64],
    d_emission: &mut [f64],
) -> Option<f64> {
    let n = log_emission.len() / k;
    let stride = if log_trans.len() == k * k { 0 } else { k * k };
    // Forward: `ln αₜ` into `d_emission`, the value as `value` computes it.
    let log_likelihood = recursion(log_init, log_trans, log_emission, k, |t, la| {
        d_emission[t * k..(t + 1) * k].copy_from_slice(la);
    });
    if !log_likelihood.is_finite() {
        return None;
    }
    let (d_init, d_trans) = d_params.split_at_mut(k);
    d_trans.fill(0.0);
    scratch::with_vec(|buf: &mut Vec<f64>| {
        buf.clear();
        buf.resize(4 * k + k * k, 0.0);
        let (lb, rest) = buf.split_at_mut(k);
        let (e, rest) = rest.split_at_mut(k);
        let (row_log, rest) = rest.split_at_mut(k);
        let (row_max, w) = rest.split_at_mut(k);
        // `ln βₜ` up to a constant per step, starting from `ln β_{T−1} = 0`.
        lb.fill(0.0);
        for t in (1..n).rev() {
            let log_trans = &log_trans[(t - 1) * stride..(t - 1) * stride + k * k];
            let d_trans = &mut d_trans[(t - 1) * stride..(t - 1) * stride + k * k];
            let (prev, cur) = d_emission.split_at_mut(t * k);
            let la_prev = &prev[(t - 1) * k..];
            normalised_exp(&mut cur[..k], lb);
            // `ln e[j] = ℓ[t][j] + ln βₜ[j]`, less the step's largest density (a constant of
            // the step: it cancels in the normalised `ξₜ`).
            let top = log_emission[t * k..(t + 1) * k]
                .iter()
                .copied()
                .fold(f64::NEG_INFINITY, f64::max);
            for j in 0..k {
                e[j] = (log_emission[t * k + j] - top) + lb[j];
            }
            // Row i: `wᵢⱼ = exp(ln P[i][j] + ln e[j] − mᵢ)` and `ln Σⱼ exp(ln P[i][j] + ln e[j])`.
            for i in 0..k {
                let row = &log_trans[i * k..(i + 1) * k];
                let m = row
                    .iter()
                    .zip(e.iter())
                    .map(|(&p, &x)| p + x)
                    .fold(f64::NEG_INFINITY, f64::max);
                row_max[i] = m;
                if m == f64::NEG_INFINITY {
                    // No path onwards from `i`.
                    row_log[i] = f64::NEG_INFINITY;
                    w[i * k..(i + 1) * k].fill(0.0);
                    continue;
                }
                let mut sum = 0.0;
                for ((w, &p), &x) in w[i * k..(i + 1) * k].iter_mut().zip(row).zip(e.iter()) {
                    *w = (p + x - m).exp();
                    sum += *w;
                }
                row_log[i] = m + sum.ln();
            }
            // ξₜ[i][j] ∝ αₜ₋₁[i] · P[i][j] · e[j], normalised over the step (`e` is free
            // again: it holds each row's log total meanwhile).
            for ((x, &a), &r) in e.iter_mut().zip(la_prev).zip(row_log.iter()) {
                *x = a + r;
            }
            let norm = f64::log_sum_exp(e);
            for i in 0..k {
                if row_log[i] == f64::NEG_INFINITY || la_prev[i] == f64::NEG_INFINITY {
                    continue;
                }
                let scale = (la_prev[i] + row_max[i] - norm).exp();
                for (d, &w) in d_trans[i * k..(i + 1) * k]
                    .iter_mut()
                    .zip(&w[i * k..(i + 1) * k])
                {
                    *d += scale * w;
                }
            }
            // ln βₜ₋₁, relative to its largest entry.
            let top = row_log.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            for (b, &r) in lb.iter_mut().zip(row_log.iter()) {
                *b = r - top;
            }
        }
        // γ₀, which is also ∂/∂log_init.
        normalised_exp(&mut d_emission[..k], lb);
        d_init.copy_from_slice(&d_emission[..k]);
    });
    Some(log_likelihood)
}

/// `γ[j] = exp(ln α[j] + ln β[j]) / Σⱼ …`: `slots` holds `ln α` and receives `γ`.
fn normalised_exp(slots: &mut [f64], lb: &[f64]) {
    let mut m = f64::NEG_INFINITY;
    for (g, &b) in slots.iter_mut().zip(lb) {
        *g += b;
        m = m.max(*g);
    }
    let mut sum = 0.0;
    for g in slots.iter_mut() {
        *g = (*g - m).exp();
        sum += *g;
    }
    for g in slots.iter_mut() {
        *g /= sum;
    }
}
