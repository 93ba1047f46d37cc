//! The fused reverse-mode kernel: a scaled forward–backward pass in `f64` that gives the
//! log-likelihood and every partial derivative at once, recorded as one tape node.
//!
//! With `ℓ[t][k]` the emission log-densities, `π = exp(log_init)`, `P = exp(log_trans)`:
//!
//! - `∂ log L / ∂ ℓ[t][k] = γ[t][k]`, the smoothed probability of state `k` at `t`;
//! - `∂ log L / ∂ log_init[k] = γ[0][k]`;
//! - `∂ log L / ∂ log_trans[i][j] = Σₜ ξₜ[i][j]`, the expected number of `i → j` transitions.
//!
//! None of these assumes that `π` or the rows of `P` sum to 1, so the partials are those of
//! the function of free log-probabilities. Zero probabilities (`-inf` inputs) give zero
//! partials, never NaN.
//!
//! The forward pass performs exactly the floating-point operations of the generic recursion
//! in [`super::forward`] evaluated with `f64`, so the fused node's value is bit-identical to
//! the generic value. The generic code stays the source of truth: property tests compare
//! this kernel's partials with reverse- and forward-mode AD of the generic recursion.

use trellis_ad::scratch;

/// A step whose normaliser falls outside `[SMALL, LARGE]` is first rescaled by a constant
/// power of two (see [`rescaling`]); the running product of normalisers is flushed to the
/// log domain when it leaves the range. So nothing under- or overflows and a sequence costs
/// about one logarithm.
pub(crate) const SMALL: f64 = 1e-100;
pub(crate) const LARGE: f64 = 1e100;

/// A filtered probability below this is set to zero (and counted by [`LostMass`]): it is far
/// beyond any effect on the value, and in generic reverse-mode code its adjoint (≈ 1 / it)
/// would overflow.
pub(crate) const NEGLIGIBLE: f64 = 1e-300;

/// With an initial or transition probability in `(0, TINY_PROBABILITY)`, the generic code
/// (and, to give the same value, this kernel) runs in log space: in generic reverse mode the
/// adjoint of such a shared probability (≈ T / it) could overflow.
pub(crate) const TINY_PROBABILITY: f64 = 1e-150;

/// Whether any probability is positive but below [`TINY_PROBABILITY`] (plain values).
pub(crate) fn any_tiny(probabilities: impl Iterator<Item = f64>) -> bool {
    let mut any = false;
    for x in probabilities {
        any |= x > 0.0 && x < TINY_PROBABILITY;
    }
    any
}

/// Running sum of `ln cₜ` kept as a product of normalisers plus a log part.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LogAccumulator<T> {
    pub(crate) log: T,
    pub(crate) prod: T,
}

/// The maximum of `ℓ[t][·]` as a plain value (the shift of step `t`).
#[inline]
pub(crate) fn row_max(row: impl Iterator<Item = f64>) -> f64 {
    let mut m = f64::NEG_INFINITY;
    for v in row {
        if v > m {
            m = v;
        }
    }
    m
}

/// Value and partials of the log-likelihood of one sequence.
///
/// `log_init` (K), `log_trans` (K × K, rows = from-state), `log_emission` (T × K, T ≥ 1) must
/// be free of NaN and `+inf` (the callers validate). `partials` receives
/// `[∂/∂log_init (K) | ∂/∂log_trans (K²) | ∂/∂log_emission (T·K)]`.
///
/// Returns `None` when a normaliser is zero or not finite, i.e. the probability-space
/// recursion under- or overflowed (or the sequence is impossible past its first step); the
/// caller then falls back to the generic recursion, which switches to log space.
/// Returns `Some(-inf)` with zero partials when every state has emission density 0 at some
/// step.
pub fn value_and_partials(
    log_init: &[f64],
    log_trans: &[f64],
    log_emission: &[f64],
    k: usize,
    partials: &mut [f64],
) -> Option<f64> {
    let n = log_emission.len() / k;
    debug_assert_eq!(log_init.len(), k);
    debug_assert_eq!(log_trans.len(), k * k);
    debug_assert_eq!(n * k, log_emission.len());
    debug_assert_eq!(partials.len(), k + k * k + n * k);
    scratch::with_vec(|buf: &mut Vec<f64>| {
        buf.clear();
        buf.resize(k + k * k + 2 * n * k + n + 3 * k, 0.0);
        let (pi, rest) = buf.split_at_mut(k);
        let (p, rest) = rest.split_at_mut(k * k);
        let (e, rest) = rest.split_at_mut(n * k);
        let (a, rest) = rest.split_at_mut(n * k);
        let (inv_c, rest) = rest.split_at_mut(n);
        let (b, rest) = rest.split_at_mut(k);
        let (b_next, w) = rest.split_at_mut(k);
        for (x, &l) in pi.iter_mut().zip(log_init) {
            *x = l.exp();
        }
        for (x, &l) in p.iter_mut().zip(log_trans) {
            *x = l.exp();
        }

        // Forward pass: the same operations, in the same order, as `scaled_generic`.
        let mut shift = 0.0;
        let mut acc = LogAccumulator {
            log: 0.0,
            prod: 1.0,
        };
        if any_tiny(pi.iter().chain(p.iter()).copied()) {
            return None;
        }
        let mut lost_mass = LostMass::new(k, mass_growth_bound(pi.iter().copied(), p, k));
        let pi_underflow = any_underflow(log_init.iter().copied().zip(pi.iter().copied()));
        let p_underflow = any_underflow(log_trans.iter().copied().zip(p.iter().copied()));
        for t in 0..n {
            let row = &log_emission[t * k..(t + 1) * k];
            let m_row = row_max(row.iter().copied());
            if m_row == f64::NEG_INFINITY {
                partials.fill(0.0);
                return Some(f64::NEG_INFINITY);
            }
            let (prev, cur) = a.split_at_mut(t * k);
            let cur = &mut cur[..k];
            let e_t = &mut e[t * k..(t + 1) * k];
            // Predicted (unnormalised) state weights, into `w`.
            let pred = &mut w[..];
            let mut lost_pred = if t == 0 { pi_underflow } else { p_underflow };
            if t == 0 {
                pred.copy_from_slice(pi);
            } else {
                let prev = &prev[(t - 1) * k..];
                for j in 0..k {
                    let mut s = 0.0;
                    for i in 0..k {
                        let term = prev[i] * p[i * k + j];
                        if term < f64::MIN_POSITIVE && prev[i] > 0.0 && p[i * k + j] > 0.0 {
                            lost_pred = true;
                        }
                        s += term;
                    }
                    pred[j] = s;
                }
            }
            let mut m = m_row;
            let mut lost = false;
            let mut c = weigh(pred, row, m, e_t, cur, &mut lost);
            if c < SMALL {
                // The states of highest emission density are unlikely a priori: shift by the
                // largest predicted-times-emission weight instead, so that likelier states'
                // densities do not underflow.
                m = weighted_max(pred.iter().copied().zip(row.iter().copied()));
                if m == f64::NEG_INFINITY {
                    return None;
                }
                lost = false;
                c = weigh(pred, row, m, e_t, cur, &mut lost);
            }
            lost_mass.step(lost || lost_pred, m_row - m, c);
            let (scale, log_scale) = rescaling(c)?;
            if scale != 1.0 {
                for x in cur.iter_mut() {
                    *x *= scale;
                }
                c *= scale;
            }
            let inv = 1.0 / c;
            let mut lost_norm = false;
            for x in cur.iter_mut() {
                let y = *x * inv;
                *x = if y < NEGLIGIBLE && *x > 0.0 {
                    lost_norm = true;
                    0.0
                } else {
                    y
                };
            }
            lost_mass.normalised(k, lost_norm);
            if !lost_mass.ok() {
                return None;
            }
            inv_c[t] = inv * scale;
            shift += m + log_scale;
            accumulate(&mut acc, c);
        }
        let value = acc.log + acc.prod.ln() + shift;

        // Backward pass with the same normalisers: b = β̂ₜ, γₜ = α̂ₜ β̂ₜ. States whose filtered
        // probability is zero (or subnormal: counted as lost by `LostMass`) are skipped: their
        // β̂ may overflow, but their γ and ξ are zero.
        let (d_init, rest) = partials.split_at_mut(k);
        let (d_trans, d_emission) = rest.split_at_mut(k * k);
        d_trans.fill(0.0);
        b.fill(1.0);
        d_emission[(n - 1) * k..].copy_from_slice(&a[(n - 1) * k..]);
        for t in (1..n).rev() {
            let e_t = &e[t * k..(t + 1) * k];
            let a_t = &a[t * k..(t + 1) * k];
            for j in 0..k {
                w[j] = if a_t[j] < f64::MIN_POSITIVE {
                    0.0
                } else {
                    b[j] * inv_c[t] * e_t[j]
                };
            }
            let a_prev = &a[(t - 1) * k..t * k];
            for i in 0..k {
                if a_prev[i] < f64::MIN_POSITIVE {
                    b_next[i] = 0.0;
                    continue;
                }
                let p_row = &p[i * k..(i + 1) * k];
                let d_row = &mut d_trans[i * k..(i + 1) * k];
                let mut s = 0.0;
                for j in 0..k {
                    let pw = p_row[j] * w[j];
                    s += pw;
                    d_row[j] += a_prev[i] * pw;
                }
                b_next[i] = s;
            }
            b.copy_from_slice(b_next);
            let g = &mut d_emission[(t - 1) * k..t * k];
            for i in 0..k {
                g[i] = a_prev[i] * b[i];
            }
        }
        d_init.copy_from_slice(&d_emission[..k]);
        Some(value)
    })
}

/// Above this bound on the relative probability mass lost to underflow, a sequence is
/// recomputed in log space. The log-likelihood's error is at most about this much.
pub(crate) const LOST_MASS_TOLERANCE: f64 = 1e-13;

/// A rigorous upper bound on the probability mass the scaled recursion has lost to
/// underflow, relative to the mass it tracks.
///
/// Probability space cannot represent a state whose weight is below ~1e-308 of the step's
/// largest; such a state is dropped. That is harmless unless later evidence amplifies the
/// dropped paths by ~1e300 relative to the tracked ones, which the bound detects: dropped
/// mass `D` (relative to the normalised forward vector) grows per step by at most
/// `R · G / c`, where `R` bounds the row sums of `P` (and `π`), `G = exp(max ℓ − shift)`
/// bounds the shifted emission densities and `c` is the step's tracked normaliser, and each
/// step's new drops add at most `(K² + K) · R · G · MIN_POSITIVE`. When `D` exceeds
/// [`LOST_MASS_TOLERANCE`] the caller recomputes the sequence in log space. Only values
/// (never derivatives) enter, so the generic code and the kernel decide identically.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LostMass {
    d: f64,
    r: f64,
    drop_unit: f64,
}

impl LostMass {
    /// `r`: an upper bound on `max(1, Σⱼ P[i][j], π[i])`.
    pub(crate) fn new(k: usize, r: f64) -> Self {
        Self {
            d: 0.0,
            r,
            drop_unit: ((k * k + k) as f64) * f64::MIN_POSITIVE * r * (1.0 + 1e-9),
        }
    }

    /// One step: `lost` if a state was dropped this step, `log_g = max ℓ − shift ≥ 0`, `c`
    /// the step's normaliser (before any power-of-two rescaling).
    #[inline]
    pub(crate) fn step(&mut self, lost: bool, log_g: f64, c: f64) {
        if lost || self.d > 0.0 {
            let g = if log_g == 0.0 { 1.0 } else { log_g.exp() };
            let new = if lost { self.drop_unit * g } else { 0.0 };
            self.d = (self.d * self.r * g + new) / c;
        }
    }

    /// After normalisation: `lost` if a normalised entry was below [`NEGLIGIBLE`] (and set
    /// to zero).
    #[inline]
    pub(crate) fn normalised(&mut self, k: usize, lost: bool) {
        if lost {
            self.d += (k as f64) * NEGLIGIBLE * (1.0 + 1e-9);
        }
    }

    /// Whether the tracked mass is still accurate (false for NaN).
    #[inline]
    pub(crate) fn ok(&self) -> bool {
        self.d <= LOST_MASS_TOLERANCE
    }
}

/// Whether any finite log-probability exponentiated to a zero or subnormal probability (from
/// `(log-probability, probability)` plain-value pairs): its paths are dropped at every step.
pub(crate) fn any_underflow(pairs: impl Iterator<Item = (f64, f64)>) -> bool {
    let mut any = false;
    for (l, p) in pairs {
        any |= p < f64::MIN_POSITIVE && l != f64::NEG_INFINITY;
    }
    any
}

/// `max(1, max row sum of P, max π)` from plain values: the `R` of [`LostMass`].
pub(crate) fn mass_growth_bound(pi: impl Iterator<Item = f64>, p: &[f64], k: usize) -> f64 {
    let mut r: f64 = 1.0;
    for x in pi {
        r = r.max(x);
    }
    for row in p.chunks_exact(k) {
        let mut s = 0.0;
        for &x in row {
            s += x;
        }
        r = r.max(s);
    }
    r
}

/// `e[j] = exp(row[j] - m)`, `a[j] = pred[j] · e[j]`; returns `Σ a`. Sets `*lost` if a
/// possible state's weight under- or flowed to zero or a subnormal.
#[inline]
fn weigh(pred: &[f64], row: &[f64], m: f64, e: &mut [f64], a: &mut [f64], lost: &mut bool) -> f64 {
    for j in 0..pred.len() {
        e[j] = (row[j] - m).exp();
        a[j] = pred[j] * e[j];
        if (e[j] < f64::MIN_POSITIVE || a[j] < f64::MIN_POSITIVE)
            && pred[j] > 0.0
            && row[j] != f64::NEG_INFINITY
        {
            *lost = true;
        }
    }
    let mut c = a[0];
    for &x in &a[1..] {
        c += x;
    }
    c
}

/// `max_j (row[j] + ln pred[j])` over the states with `pred[j] > 0`, from `(pred[j], row[j])`
/// pairs of plain values: the fallback shift of a step whose normaliser would be tiny.
#[inline]
pub(crate) fn weighted_max(pairs: impl Iterator<Item = (f64, f64)>) -> f64 {
    let mut m = f64::NEG_INFINITY;
    for (q, l) in pairs {
        if q > 0.0 {
            let v = l + q.ln();
            if v > m {
                m = v;
            }
        }
    }
    m
}

/// Adds `ln c` to the accumulator (plain values); `c` is in `[SMALL, LARGE]`.
#[inline]
pub(crate) fn accumulate(acc: &mut LogAccumulator<f64>, c: f64) {
    acc.prod *= c;
    if !(SMALL..=LARGE).contains(&acc.prod) {
        acc.log += acc.prod.ln();
        acc.prod = 1.0;
    }
}

/// For a step's normaliser `c` (a plain value): `(1, 0)` if it is in `[SMALL, LARGE]`;
/// otherwise an exact power of two `s` with `c · s` near 1 and `-ln s`, so that the step is
/// rescaled by a constant before it is normalised (dividing by a tiny `c` would overflow
/// the derivatives of `1 / c` in the generic code). `None` if `c` is zero, not finite, or
/// beyond `[1e-300, 1e300]`: the probability-space recursion has under- or overflowed.
#[inline]
pub(crate) fn rescaling(c: f64) -> Option<(f64, f64)> {
    if (SMALL..=LARGE).contains(&c) {
        return Some((1.0, 0.0));
    }
    if !(1e-300..=1e300).contains(&c) {
        return None;
    }
    let e = c.log2().round() as i32;
    Some((2f64.powi(-e), f64::from(e) * std::f64::consts::LN_2))
}
