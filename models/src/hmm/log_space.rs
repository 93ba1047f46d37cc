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
