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
//! in [`super::forward`] evaluated with `f64` and takes the same decisions (shifts,
//! normalisation, dropped states, fallback to log space), so the fused node's value is
//! bit-identical to the generic value. The backward pass reuses the forward weights and
//! scale factors. The generic code stays the source of truth: property tests compare this
//! kernel's partials with reverse- and forward-mode AD of the generic recursion.
//!
//! For speed the kernel is specialised for K = 1 … 4 (the loops over states unroll), its
//! underflow checks run only when a cheap test says something might have underflowed, and
//! its backward pass skips the zero-weight checks when no weight was zero.

use trellis_ad::scratch;

/// A step whose weights (shifted by the largest log-density) sum to less than this is
/// recomputed with the shift of its largest predicted-times-emission weight.
pub(crate) const SMALL: f64 = 1e-100;

/// A filtered probability below this is set to zero (and counted by [`LostMass`]): it is far
/// beyond any effect on the value, and in generic reverse-mode code its adjoint (≈ 1 / it)
/// would overflow.
pub(crate) const NEGLIGIBLE: f64 = 1e-300;

/// With an initial or transition probability in `(0, TINY_PROBABILITY)`, the generic code
/// (and, to give the same value, this kernel) runs in log space: in generic reverse mode the
/// adjoint of such a shared probability (≈ T / it) could overflow.
pub(crate) const TINY_PROBABILITY: f64 = 1e-150;

/// What the recursion needs to know about `π` and `P` beyond their values, computed once
/// per evaluation from plain values (so the generic code and the kernel agree).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Flags {
    /// `max(1, max π, max row sum of P)`: the `R` of [`LostMass`].
    pub(crate) r: f64,
    /// A finite log initial probability whose probability under- or flowed.
    pub(crate) pi_underflow: bool,
    /// A finite log transition probability whose probability under- or flowed.
    pub(crate) p_underflow: bool,
    /// A probability in `(0, TINY_PROBABILITY)`: run in log space.
    pub(crate) tiny: bool,
    /// The smallest positive transition probability (`inf` if none).
    pub(crate) p_min: f64,
    /// Whether some transition probability is zero.
    pub(crate) p_has_zero: bool,
}

impl Flags {
    /// Above this, no forward weight `a = pred · e` can hide an underflowed density `e`
    /// (`pred ≤ 2R`), so a step whose weights all exceed it has lost nothing there.
    #[inline]
    pub(crate) fn lost_threshold(&self) -> f64 {
        f64::MIN_POSITIVE * 4.0 * self.r
    }

    /// From the values of `log_init`, `log_trans`, `π = exp(log_init)`, `P = exp(log_trans)`.
    pub(crate) fn new(
        k: usize,
        log_init: impl Fn(usize) -> f64,
        log_trans: impl Fn(usize) -> f64,
        pi: impl Fn(usize) -> f64,
        p: impl Fn(usize) -> f64,
    ) -> Self {
        let underflow = |l: f64, x: f64| x < f64::MIN_POSITIVE && l != f64::NEG_INFINITY;
        let tiny = |x: f64| x > 0.0 && x < TINY_PROBABILITY;
        let mut flags = Self {
            r: 1.0,
            pi_underflow: false,
            p_underflow: false,
            tiny: false,
            p_min: f64::INFINITY,
            p_has_zero: false,
        };
        for i in 0..k {
            let x = pi(i);
            flags.r = flags.r.max(x);
            flags.pi_underflow |= underflow(log_init(i), x);
            flags.tiny |= tiny(x);
        }
        for i in 0..k {
            let mut row = 0.0;
            for j in 0..k {
                let x = p(i * k + j);
                row += x;
                flags.p_underflow |= underflow(log_trans(i * k + j), x);
                flags.tiny |= tiny(x);
                if x > 0.0 {
                    flags.p_min = flags.p_min.min(x);
                } else {
                    flags.p_has_zero = true;
                }
            }
            flags.r = flags.r.max(row);
        }
        flags
    }
}

/// `π = exp(log_init)` and `P = exp(log_trans)` (plain values) with their [`Flags`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Probs<'a> {
    pub(crate) pi: &'a [f64],
    pub(crate) p: &'a [f64],
    pub(crate) flags: Flags,
}

/// Fills `buf` with `[π | P]` and runs `f` on them.
pub(crate) fn with_probs<R>(
    log_init: &[f64],
    log_trans: &[f64],
    f: impl FnOnce(&Probs<'_>) -> R,
) -> R {
    let k = log_init.len();
    scratch::with_vec(|buf: &mut Vec<f64>| {
        buf.clear();
        buf.extend(log_init.iter().chain(log_trans).map(|l| l.exp()));
        let (pi, p) = buf.split_at(k);
        let flags = Flags::new(k, |i| log_init[i], |i| log_trans[i], |i| pi[i], |i| p[i]);
        f(&Probs { pi, p, flags })
    })
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
/// Returns `None` when the probability-space recursion cannot be trusted (a normaliser under-
/// or overflowed, probability mass lost to underflow could matter, a probability is below
/// 1e-150, or the sequence is impossible past its first step); the caller then falls back to
/// the generic recursion, which makes the same decision and switches to log space. Returns
/// `Some(-inf)` with zero partials when every state has emission density 0 at some step.
pub fn value_and_partials(
    log_init: &[f64],
    log_trans: &[f64],
    log_emission: &[f64],
    k: usize,
    partials: &mut [f64],
) -> Option<f64> {
    debug_assert_eq!(log_init.len(), k);
    debug_assert_eq!(log_trans.len(), k * k);
    with_probs(log_init, log_trans, |probs| {
        value_and_partials_prepared(probs, log_emission, k, partials)
    })
}

/// [`value_and_partials`] with `π` and `P` already exponentiated (once per batch).
pub(crate) fn value_and_partials_prepared(
    probs: &Probs<'_>,
    log_emission: &[f64],
    k: usize,
    partials: &mut [f64],
) -> Option<f64> {
    let (d_params, d_emission) = partials.split_at_mut(k + k * k);
    value_and_partials_split(probs, log_emission, k, d_params, d_emission)
}

/// [`value_and_partials_prepared`] with the partials in two buffers: `d_params`
/// (`∂/∂log_init`, `∂/∂log_trans`: K + K²) and `d_emission` (T·K).
pub(crate) fn value_and_partials_split(
    probs: &Probs<'_>,
    log_emission: &[f64],
    k: usize,
    d_params: &mut [f64],
    d_emission: &mut [f64],
) -> Option<f64> {
    match k {
        1 => fb::<1>(probs, log_emission, k, d_params, d_emission),
        2 => fb::<2>(probs, log_emission, k, d_params, d_emission),
        3 => fb::<3>(probs, log_emission, k, d_params, d_emission),
        4 => fb::<4>(probs, log_emission, k, d_params, d_emission),
        _ => fb::<0>(probs, log_emission, k, d_params, d_emission),
    }
}

/// The forward–backward pass; `KC > 0` is the number of states known at compile time (so
/// the loops over states unroll), `KC = 0` takes it from `k`.
fn fb<const KC: usize>(
    probs: &Probs<'_>,
    log_emission: &[f64],
    k: usize,
    d_params: &mut [f64],
    d_emission: &mut [f64],
) -> Option<f64> {
    let k = if KC > 0 { KC } else { k };
    let n = log_emission.len() / k;
    debug_assert_eq!(n * k, log_emission.len());
    debug_assert_eq!(d_params.len(), k + k * k);
    debug_assert_eq!(d_emission.len(), n * k);
    let (pi, p, flags) = (probs.pi, probs.p, probs.flags);
    if flags.tiny {
        return None;
    }
    scratch::with_vec(|buf: &mut Vec<f64>| {
        buf.clear();
        buf.resize(2 * n * k + n + 3 * k, 0.0);
        let (e, rest) = buf.split_at_mut(n * k);
        let (a, rest) = rest.split_at_mut(n * k);
        let (scales, rest) = rest.split_at_mut(n);
        let (b, rest) = rest.split_at_mut(k);
        let (b_next, w) = rest.split_at_mut(k);

        // Forward pass: the same operations, in the same order, as `scaled_generic`.
        let mut shift = 0.0;
        let mut lost_mass = LostMass::new(k, flags.r);
        // Smallest positive normalised forward weight of the previous step.
        let mut a_min = f64::INFINITY;
        // Whether any normalised forward weight is zero (then the backward pass checks).
        let mut zero_seen = false;
        let lost_threshold = flags.lost_threshold();
        for t in 0..n {
            let row = &log_emission[t * k..(t + 1) * k];
            let m_row = row_max(row.iter().copied());
            if m_row == f64::NEG_INFINITY {
                d_params.fill(0.0);
                d_emission.fill(0.0);
                return Some(f64::NEG_INFINITY);
            }
            let (prev, cur) = a.split_at_mut(t * k);
            let cur = &mut cur[..k];
            let e_t = &mut e[t * k..(t + 1) * k];
            // The emission densities first: they do not depend on the previous step.
            shifted_exp(row, m_row, e_t);
            // Predicted (unnormalised) state weights, into `w`.
            let pred = &mut w[..];
            let mut lost_pred = if t == 0 {
                flags.pi_underflow
            } else {
                flags.p_underflow
            };
            if t == 0 {
                pred.copy_from_slice(pi);
            } else {
                let prev = &prev[(t - 1) * k..];
                // No product of positive factors can underflow when the smallest positive
                // forward weight times the smallest positive transition probability is normal:
                // then skip the per-term checks (the flag is the same either way).
                let check_terms = a_min * flags.p_min < f64::MIN_POSITIVE;
                // Either loop order adds each `pred[j]`'s terms in the order i = 0, 1, …: for
                // a small constant K column by column (sums in registers), otherwise row by
                // row of P (contiguous, K independent sums).
                if KC > 0 {
                    for j in 0..k {
                        let mut s = 0.0;
                        for i in 0..k {
                            let pij = p[i * k + j];
                            let term = prev[i] * pij;
                            if check_terms {
                                // Branch-free flag: `&` and `|` on bools, not `&&`.
                                lost_pred |=
                                    (term < f64::MIN_POSITIVE) & (prev[i] > 0.0) & (pij > 0.0);
                            }
                            s += term;
                        }
                        pred[j] = s;
                    }
                } else {
                    pred.fill(0.0);
                    for i in 0..k {
                        let ai = prev[i];
                        let p_row = &p[i * k..(i + 1) * k];
                        for j in 0..k {
                            let term = ai * p_row[j];
                            if check_terms {
                                lost_pred |=
                                    (term < f64::MIN_POSITIVE) & (ai > 0.0) & (p_row[j] > 0.0);
                            }
                            pred[j] += term;
                        }
                    }
                }
            }
            let mut m = m_row;
            let mut lost = false;
            let mut c = weigh(pred, row, e_t, cur, &mut lost, lost_threshold);
            if c < SMALL {
                // The states of highest emission density are unlikely a priori: shift by the
                // largest predicted-times-emission weight instead, so that likelier states'
                // densities do not underflow.
                m = weighted_max(pred.iter().copied().zip(row.iter().copied()));
                if m == f64::NEG_INFINITY {
                    return None;
                }
                lost = false;
                shifted_exp(row, m, e_t);
                c = weigh(pred, row, e_t, cur, &mut lost, lost_threshold);
            }
            lost_mass.step(lost || lost_pred, m_row - m, c);
            let (scale, log_scale) = power_of_two_normaliser(c)?;
            let mut lost_norm = false;
            a_min = f64::INFINITY;
            for x in cur.iter_mut() {
                let y = *x * scale;
                let negligible = y < NEGLIGIBLE;
                lost_norm |= negligible & (*x > 0.0);
                *x = if negligible { 0.0 } else { y };
                a_min = a_min.min(if negligible { f64::INFINITY } else { y });
                zero_seen |= negligible;
            }
            lost_mass.normalised(k, lost_norm);
            if !lost_mass.ok() {
                return None;
            }
            scales[t] = scale;
            shift += m + log_scale;
        }
        let last = &a[(n - 1) * k..];
        let mut total = last[0];
        for &x in &last[1..] {
            total += x;
        }
        let value = total.ln() + shift;
        let _ = last;

        // Backward pass with the same scale factors sₜ: b = β̃ₜ with β̃_T = 1 / Σ α̃_T and
        // β̃ₜ₋₁[i] = sₜ Σⱼ P[i][j] eₜ[j] β̃ₜ[j], so that Σⱼ α̃ₜ[j] β̃ₜ[j] = 1 at every t and
        // γₜ = α̃ₜ β̃ₜ. States whose forward weight is zero (or subnormal: counted as lost by
        // `LostMass`) are skipped: their β̃ may overflow, but their γ and ξ are zero.
        let (d_init, d_trans) = d_params.split_at_mut(k);
        let (b, b_next) = (&mut *b, &mut *b_next);
        let last = &a[(n - 1) * k..];
        let ctx = Backward {
            k,
            p,
            e: &*e,
            a: &*a,
            scales: &*scales,
            total,
        };
        if zero_seen {
            ctx.run::<KC, true>(d_trans, d_emission, b, b_next, w, last);
        } else {
            ctx.run::<KC, false>(d_trans, d_emission, b, b_next, w, last);
        }
        d_init.copy_from_slice(&d_emission[..k]);
        Some(value)
    })
}

/// The backward pass of [`fb`]: with the same scale factors sₜ, `b = β̃ₜ` with
/// `β̃_T = 1 / Σ α̃_T` and `β̃ₜ₋₁[i] = sₜ Σⱼ P[i][j] eₜ[j] β̃ₜ[j]`, so that
/// `Σⱼ α̃ₜ[j] β̃ₜ[j] = 1` at every t and `γₜ = α̃ₜ β̃ₜ`. With `CHECK`, states whose forward
/// weight is zero are skipped: their β̃ may overflow, but their γ and ξ are zero. (After
/// normalisation every weight is zero or at least `NEGLIGIBLE`.)
struct Backward<'a> {
    k: usize,
    p: &'a [f64],
    e: &'a [f64],
    a: &'a [f64],
    scales: &'a [f64],
    total: f64,
}

impl Backward<'_> {
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn run<const KC: usize, const CHECK: bool>(
        &self,
        d_trans: &mut [f64],
        d_emission: &mut [f64],
        b: &mut [f64],
        b_next: &mut [f64],
        w: &mut [f64],
        last: &[f64],
    ) {
        let k = if KC > 0 { KC } else { self.k };
        let (p, e, a, scales) = (self.p, self.e, self.a, self.scales);
        let n = a.len() / k;
        // ξ sums in registers when K is a small constant, else in `d_trans`.
        let mut local = [0.0f64; 16];
        let in_registers = KC > 0 && KC * KC <= local.len();
        let acc: &mut [f64] = if in_registers {
            &mut local[..k * k]
        } else {
            d_trans.fill(0.0);
            &mut *d_trans
        };
        // β̃ₜ and β̃ₜ₋₁ alternate between `b` and `b_next` (a copy of a few just-stored
        // scalars as one vector would stall on store-to-load forwarding).
        let b_last = if (n - 1) % 2 == 0 {
            &mut *b
        } else {
            &mut *b_next
        };
        b_last.fill(1.0 / self.total);
        for (g, &x) in d_emission[(n - 1) * k..].iter_mut().zip(last) {
            *g = x / self.total;
        }
        for t in (1..n).rev() {
            let (b, b_next): (&[f64], &mut [f64]) = if t % 2 == 0 {
                (&*b, &mut *b_next)
            } else {
                (&*b_next, &mut *b)
            };
            let e_t = &e[t * k..(t + 1) * k];
            let a_t = &a[t * k..(t + 1) * k];
            let scale = scales[t];
            for j in 0..k {
                let v = b[j] * scale * e_t[j];
                w[j] = if CHECK && a_t[j] == 0.0 { 0.0 } else { v };
            }
            let a_prev = &a[(t - 1) * k..t * k];
            for i in 0..k {
                let p_row = &p[i * k..(i + 1) * k];
                let acc_row = &mut acc[i * k..(i + 1) * k];
                // A zero-weight state gets β̃ = 0 and no ξ (its `s` may be infinite).
                let skip = CHECK && a_prev[i] == 0.0;
                let ai = a_prev[i];
                let s = if KC > 0 {
                    let mut s = 0.0;
                    for j in 0..k {
                        let pw = p_row[j] * w[j];
                        s += pw;
                        acc_row[j] += if skip { 0.0 } else { ai * pw };
                    }
                    s
                } else {
                    // Four partial sums: for large K one running sum is latency-bound.
                    let mut s4 = [0.0f64; 4];
                    for j in 0..k {
                        let pw = p_row[j] * w[j];
                        s4[j % 4] += pw;
                        acc_row[j] += if skip { 0.0 } else { ai * pw };
                    }
                    (s4[0] + s4[1]) + (s4[2] + s4[3])
                };
                b_next[i] = if skip { 0.0 } else { s };
            }
            let g = &mut d_emission[(t - 1) * k..t * k];
            for i in 0..k {
                g[i] = a_prev[i] * b_next[i];
            }
        }
        if in_registers {
            d_trans.copy_from_slice(&local[..k * k]);
        }
    }
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
/// mass `D` (relative to the tracked forward weights) grows per step by at most
/// `2 R · G / c`, where `R` bounds the row sums of `P` (and `π`), `G = exp(max ℓ − shift)`
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
    /// `r`: an upper bound on `max(1, Σⱼ P[i][j], π[i])`. The forward weights are normalised
    /// to sum in `[1, 2)`, not to 1, hence the factor 2.
    pub(crate) fn new(k: usize, r: f64) -> Self {
        Self {
            d: 0.0,
            r: 2.0 * r,
            drop_unit: ((k * k + k) as f64) * f64::MIN_POSITIVE * r * (1.0 + 1e-9),
        }
    }

    /// One step: `lost` if a state was dropped this step, `log_g = max ℓ − shift ≥ 0`, `c`
    /// the sum of the step's weights (before normalisation).
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

/// `e[j] = exp(row[j] - m)`.
#[inline]
fn shifted_exp(row: &[f64], m: f64, e: &mut [f64]) {
    for (e, &l) in e.iter_mut().zip(row) {
        *e = (l - m).exp();
    }
}

/// `a[j] = pred[j] · e[j]`; returns `Σ a`. Sets `*lost` if a possible state's weight (or
/// its density) under-flowed to zero or a subnormal. When every weight is at least
/// `threshold` nothing can have, and the per-state checks are skipped.
#[inline]
fn weigh(
    pred: &[f64],
    row: &[f64],
    e: &[f64],
    a: &mut [f64],
    lost: &mut bool,
    threshold: f64,
) -> f64 {
    let mut a_min = f64::INFINITY;
    for j in 0..pred.len() {
        a[j] = pred[j] * e[j];
        a_min = a_min.min(a[j]);
    }
    if a_min < threshold || a_min.is_nan() {
        let mut any = false;
        for j in 0..pred.len() {
            any |= ((e[j] < f64::MIN_POSITIVE) | (a[j] < f64::MIN_POSITIVE))
                & (pred[j] > 0.0)
                & (row[j] != f64::NEG_INFINITY);
        }
        *lost |= any;
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

/// The normalisation of a step with weight sum `c` (a plain value): the power of two
/// `s = 2^-E` with `c · s ∈ [1, 2)`, and `E ln 2`. Multiplying by `s` is exact and needs no
/// division, and `s` is a constant, so generic code records no derivative for it (the
/// normalisation cancels in the log-likelihood). `None` if `c` is zero, not finite, or
/// outside `[1e-300, 1e300]`: the probability-space recursion has under- or overflowed.
#[inline]
pub(crate) fn power_of_two_normaliser(c: f64) -> Option<(f64, f64)> {
    if !(1e-300..=1e300).contains(&c) {
        return None;
    }
    let e = ((c.to_bits() >> 52) & 0x7ff) as i64 - 1023;
    let s = f64::from_bits(((1023 - e) as u64) << 52);
    Some((s, e as f64 * std::f64::consts::LN_2))
}
