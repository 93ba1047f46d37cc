//! The scaled forward recursion, written once over [`Scalar`]: the single source of truth.
//!
//! A recursion in probability space. Each step's emission log-densities are shifted by their
//! maximum (or, when the likeliest states a priori have tiny densities, by the largest
//! predicted-times-emission weight) before exponentiating; the forward weights are then
//! multiplied by a power of two so that they sum to `[1, 2)` (exact, no division, no
//! derivative); the shifts and exponents add up to the log-likelihood with one logarithm per
//! sequence. States whose weight would underflow are dropped and the mass so lost is bounded
//! rigorously ([`LostMass`]); if it could matter, or the recursion under- or overflows, it
//! says so ([`Forward::Untrusted`]) and the caller recomputes in log space
//! ([`super::log_space`]).
//!
//! Where each step's weights live is the caller's choice, through a [`ForwardTrace`] — the
//! per-step hook, as Stan Math's `hmm_marginal_val` fills the `alphas` and
//! `alpha_log_norms` that its adjoint reuses:
//! - [`Rolling`] keeps only the current step (values, duals, the generic reverse mode);
//! - [`Kept`] keeps every step's shifted densities, normalised weights and scale factors:
//!   the fused forward–backward adjoint ([`super::adjoint`]) is this recursion's `f64`
//!   instance on a `Kept` trace followed by a backward pass over what it kept, and filtering
//!   ([`super::inference`]) reads the kept weights.
//!
//! Exact zeros (zero probabilities, `-inf` log-densities, dropped states) are constants in
//! the generic instances, cut from the derivative graph: their true derivatives are zero, and
//! a product with a zero-valued factor would otherwise multiply a possibly huge adjoint by 0
//! (NaN once it overflowed). For `f64`, which has no derivative graph, the cuts are skipped
//! where skipping them gives the same values (branch-free arithmetic, bit-identical).

use std::any::TypeId;

use trellis_ad::{scratch, Scalar};

use super::scaling::{
    power_of_two_normaliser, row_max, weighted_max, Flags, LostMass, NEGLIGIBLE, SMALL,
};

/// Calls `$f::<…, KC>(args)` with `KC` the number of states when it is 1 … 4 (so that the
/// loops over states unroll) and `KC = 0` (taken from `k` at run time) otherwise.
macro_rules! with_const_states {
    ($k:expr, $($f:ident)::+ :: <$($t:ty,)* @>($($arg:expr),* $(,)?)) => {
        match $k {
            1 => $($f)::+::<$($t,)* 1>($($arg),*),
            2 => $($f)::+::<$($t,)* 2>($($arg),*),
            3 => $($f)::+::<$($t,)* 3>($($arg),*),
            4 => $($f)::+::<$($t,)* 4>($($arg),*),
            _ => $($f)::+::<$($t,)* 0>($($arg),*),
        }
    };
}
pub(crate) use with_const_states;

/// The parameters of one evaluation, prepared once for all its sequences: `π = exp(log_init)`
/// and `P = exp(log_trans)` as scalars, with the [`Flags`] the recursion decides by.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Probs<'a, T> {
    /// `ln π` and `ln P` as given (for the log-space fallback).
    log_init: &'a [T],
    log_trans: &'a [T],
    /// `π`, length `K`.
    pub(crate) pi: &'a [T],
    /// `P`, `K × K` row-major (rows = from-state): one matrix, or one per step (the step into
    /// `t` at `(t − 1) · K²`).
    p: &'a [T],
    /// `K²`.
    k2: usize,
    /// How far apart consecutive steps' matrices are in `p`: 0 for one matrix for every
    /// step (so the homogeneous case runs the very same arithmetic), `K²` for one per step.
    stride: usize,
    /// Computed from plain values, so every instance decides alike.
    pub(crate) flags: Flags,
}

impl<'a, T> Probs<'a, T> {
    /// The transition matrix of the step into `t` (`t ≥ 1`), `K × K` row-major: the one
    /// matrix, or step `t`'s own (covariate-driven transitions), with [`Flags`] summarising
    /// all of them.
    ///
    /// `PER_STEP` must be [`Probs::per_step`]: a compile-time choice, so that the homogeneous
    /// instance of a loop over steps reads the one matrix with no per-step index at all (the
    /// cost of the homogeneous case is what it was before per-step matrices existed).
    #[inline(always)]
    pub(crate) fn transition<const PER_STEP: bool>(&self, t: usize) -> &'a [T] {
        debug_assert_eq!(PER_STEP, self.per_step());
        if PER_STEP {
            let start = (t - 1) * self.k2;
            &self.p[start..start + self.k2]
        } else {
            self.p
        }
    }

    /// Whether every step has its own transition matrix.
    #[inline(always)]
    pub(crate) fn per_step(&self) -> bool {
        self.stride != 0
    }

    /// `ln P` as given: one `K × K` matrix, or one per step.
    pub(crate) fn log_trans(&self) -> &'a [T] {
        self.log_trans
    }

    /// `ln π` as given.
    pub(crate) fn log_init(&self) -> &'a [T] {
        self.log_init
    }
}

/// Runs `f` on the prepared parameters (validated `log_init`, `log_trans`). `log_trans` is
/// one `K × K` matrix for every step, or `T − 1` of them, one per step of a sequence of `T`
/// (the step into `t` at `(t − 1) · K²`; with `T = 2` the two readings coincide).
pub(crate) fn with_probs<T: Scalar, R>(
    log_init: &[T],
    log_trans: &[T],
    f: impl FnOnce(&Probs<'_, T>) -> R,
) -> R {
    let k = log_init.len();
    scratch::with_vec(|buf: &mut Vec<T>| {
        buf.clear();
        buf.extend(log_init.iter().chain(log_trans).map(|l| l.exp()));
        let (pi, p) = buf.split_at(k);
        let k2 = k * k;
        let matrices = log_trans.len() / k2;
        debug_assert_eq!(matrices * k2, log_trans.len());
        let flags = Flags::new(
            k,
            matrices,
            |i| log_init[i].value(),
            |i| log_trans[i].value(),
            |i| pi[i].value(),
            |i| p[i].value(),
        );
        f(&Probs {
            log_init,
            log_trans,
            pi,
            p,
            k2,
            stride: if log_trans.len() == k2 { 0 } else { k2 },
            flags,
        })
    })
}

/// Runs `f` on parameters prepared from `ln π` and per-step transition matrices given as
/// probabilities (`T − 1` of `K × K`, the step into `t` at `(t − 1) · K²`, every one its own
/// step even when there is one): the probability-space entry, for transitions built as
/// probabilities (a row softmax) so that they are not taken to logs and back. Their
/// probabilities are never exact zeros, so any below `f64::MIN_POSITIVE` counts as
/// underflow. There is no log-space fallback here: on [`Forward::Untrusted`] the caller
/// recomputes through [`with_probs`].
pub(crate) fn with_step_probabilities<R>(
    log_init: &[f64],
    p: &[f64],
    summary: &super::covariates::StepSummary,
    f: impl FnOnce(&Probs<'_, f64>) -> R,
) -> R {
    let k = log_init.len();
    let k2 = k * k;
    scratch::with_vec(|pi: &mut Vec<f64>| {
        pi.clear();
        pi.extend(log_init.iter().map(|l| l.exp()));
        // The initial probabilities' flags, then the transitions' from the summary.
        let flags = Flags::new(k, 0, |i| log_init[i], |_| 0.0, |i| pi[i], |_| 0.0)
            .with_transitions(
                k,
                summary.min_positive,
                summary.any_zero,
                summary.max_row_sum,
            );
        f(&Probs {
            log_init,
            log_trans: &[],
            pi,
            p,
            k2,
            stride: k2,
            flags,
        })
    })
}

/// Where the recursion keeps each step's state (the per-step hook). Step `t` asks for the
/// previous step's normalised weights and a buffer for its predicted weights
/// ([`predict`](ForwardTrace::predict)), then for buffers for its shifted emission densities
/// and its weights ([`weigh`](ForwardTrace::weigh)), and reports its scale factor
/// ([`normalised`](ForwardTrace::normalised)). Every slice has length `K`.
pub(crate) trait ForwardTrace<T> {
    /// `(α̃ₜ₋₁, predₜ)`: the normalised weights of step `t − 1` (unused at `t = 0`) and the
    /// buffer for the predicted weights of step `t`.
    fn predict(&mut self, t: usize) -> (&[T], &mut [T]);
    /// `(predₜ, eₜ, α̃ₜ)`: the predicted weights, the buffers for the shifted densities and
    /// for the weights of step `t` (normalised in place).
    fn weigh(&mut self, t: usize) -> (&[T], &mut [T], &mut [T]);
    /// Step `t`'s weights were multiplied by `scale`.
    fn normalised(&mut self, t: usize, scale: f64);
}

/// A trace that keeps only the current step: `[α̃ | pred | e]`, `3K` scalars.
pub(crate) struct Rolling<'a, T> {
    a: &'a mut [T],
    pred: &'a mut [T],
    e: &'a mut [T],
}

impl<'a, T> Rolling<'a, T> {
    /// Splits a buffer of `3K` scalars.
    pub(crate) fn new(buf: &'a mut [T], k: usize) -> Self {
        let (a, rest) = buf.split_at_mut(k);
        let (pred, e) = rest.split_at_mut(k);
        Self { a, pred, e }
    }
}

impl<T> ForwardTrace<T> for Rolling<'_, T> {
    #[inline(always)]
    fn predict(&mut self, _t: usize) -> (&[T], &mut [T]) {
        (&*self.a, &mut *self.pred)
    }
    #[inline(always)]
    fn weigh(&mut self, _t: usize) -> (&[T], &mut [T], &mut [T]) {
        (&*self.pred, &mut *self.e, &mut *self.a)
    }
    #[inline(always)]
    fn normalised(&mut self, _t: usize, _scale: f64) {}
}

/// A trace that keeps every step: the shifted densities `e` and normalised weights `α̃`
/// (`T × K` each, row-major) and the scale factors (`T`), for a backward pass or filtering.
pub(crate) struct Kept<'a> {
    k: usize,
    /// `eₜ[k] = exp(ℓ[t][k] − shiftₜ)` at `t · K + k`.
    pub(crate) e: &'a mut [f64],
    /// The normalised forward weights `α̃ₜ[k]` at `t · K + k` (each row sums to `[1, 2)`).
    pub(crate) a: &'a mut [f64],
    /// The factor `sₜ` that normalised step `t`.
    pub(crate) scales: &'a mut [f64],
    /// The predicted weights of the current step; free for the caller afterwards.
    pub(crate) pred: &'a mut [f64],
}

impl<'a> Kept<'a> {
    /// How many `f64` a trace of `n` steps and `k` states takes.
    pub(crate) fn len(n: usize, k: usize) -> usize {
        2 * n * k + n + k
    }

    /// Splits the first [`Kept::len`] entries of `buf`; returns the trace and the rest.
    pub(crate) fn new(buf: &'a mut [f64], n: usize, k: usize) -> (Self, &'a mut [f64]) {
        let (e, rest) = buf.split_at_mut(n * k);
        let (a, rest) = rest.split_at_mut(n * k);
        let (scales, rest) = rest.split_at_mut(n);
        let (pred, rest) = rest.split_at_mut(k);
        let trace = Self {
            k,
            e,
            a,
            scales,
            pred,
        };
        (trace, rest)
    }
}

impl ForwardTrace<f64> for Kept<'_> {
    #[inline(always)]
    fn predict(&mut self, t: usize) -> (&[f64], &mut [f64]) {
        let k = self.k;
        let prev = if t == 0 {
            &self.a[..0]
        } else {
            &self.a[(t - 1) * k..t * k]
        };
        (prev, &mut *self.pred)
    }
    #[inline(always)]
    fn weigh(&mut self, t: usize) -> (&[f64], &mut [f64], &mut [f64]) {
        let k = self.k;
        (
            &*self.pred,
            &mut self.e[t * k..(t + 1) * k],
            &mut self.a[t * k..(t + 1) * k],
        )
    }
    #[inline(always)]
    fn normalised(&mut self, t: usize, scale: f64) {
        self.scales[t] = scale;
    }
}

/// What the scaled recursion found.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Forward<T> {
    /// The log-likelihood, the sum of the last step's normalised weights, and whether any
    /// normalised weight was zero (then a backward pass must skip those states).
    Value {
        log_likelihood: T,
        total: T,
        any_zero: bool,
    },
    /// Every state has emission density 0 at `step`: the likelihood is 0.
    Impossible { step: usize },
    /// Probability space cannot be trusted (a probability below 1e-150, a normaliser that
    /// under- or overflowed, lost mass that could matter, or no possible state left):
    /// recompute in log space.
    Untrusted,
}

/// The scaled forward recursion of one sequence (`log_emission`: `T × K`, `T ≥ 1`, free of
/// NaN and `+inf`), with each step's state kept by `trace`. `KC > 0` is the number of states
/// known at compile time (so the loops over states unroll), `KC = 0` takes it from `k`.
pub(crate) fn scaled<T: Scalar, const KC: usize>(
    probs: &Probs<'_, T>,
    log_emission: &[T],
    k: usize,
    trace: &mut impl ForwardTrace<T>,
) -> Forward<T> {
    // Only a type with a derivative graph needs exact zeros cut from it — or `f64` when a
    // `0 × ∞` could arise: with finite factors, adding or multiplying an exact zero gives the
    // values the cuts give. A compile-time constant inside, so the loops stay branch-free.
    // Likewise one matrix for every step or one per step: a compile-time choice.
    let cut = TypeId::of::<T>() != TypeId::of::<f64>() || probs.flags.huge;
    match (cut, probs.per_step()) {
        (false, false) => scaled_cut::<T, KC, false, false>(probs, log_emission, k, trace),
        (true, false) => scaled_cut::<T, KC, true, false>(probs, log_emission, k, trace),
        (false, true) => scaled_cut::<T, KC, false, true>(probs, log_emission, k, trace),
        (true, true) => scaled_cut::<T, KC, true, true>(probs, log_emission, k, trace),
    }
}

/// [`scaled`] with `CUT`: whether exact zeros are cut (kept as constants); `PER_STEP`:
/// whether every step has its own transition matrix ([`Probs::transition`]).
#[inline(always)]
fn scaled_cut<T: Scalar, const KC: usize, const CUT: bool, const PER_STEP: bool>(
    probs: &Probs<'_, T>,
    log_emission: &[T],
    k: usize,
    trace: &mut impl ForwardTrace<T>,
) -> Forward<T> {
    let k = if KC > 0 { KC } else { k };
    let n = log_emission.len() / k;
    debug_assert_eq!(n * k, log_emission.len());
    let flags = probs.flags;
    if flags.tiny {
        return Forward::Untrusted;
    }
    let cut = CUT;
    let mut shift = 0.0;
    let mut lost_mass = LostMass::new(k, flags.r);
    // The previous step's smallest positive normalised weight, and whether one of its weights
    // is zero; whether any step's is.
    let mut a_min = f64::INFINITY;
    let mut zero_prev = false;
    let mut zero_seen = false;
    let lost_threshold = flags.lost_threshold();
    for t in 0..n {
        let row = &log_emission[t * k..(t + 1) * k];
        let m_row = row_max(row.iter().map(|x| x.value()));
        if m_row == f64::NEG_INFINITY {
            return Forward::Impossible { step: t };
        }
        // The emission densities first: they do not depend on the previous step.
        shifted_exp(row, m_row, trace.weigh(t).1, cut);
        // Predicted (unnormalised) state weights.
        let mut lost_pred = if t == 0 {
            flags.pi_underflow
        } else {
            flags.p_underflow
        };
        let (prev, pred) = trace.predict(t);
        if t == 0 {
            pred.copy_from_slice(probs.pi);
        } else {
            let step = Predict {
                // Without zeros among the factors nothing needs cutting.
                dense: !cut || (!zero_prev && !flags.p_has_zero),
                // When no product of positive factors can underflow nothing needs checking
                // (either way the values and flags are the same).
                check_terms: a_min * flags.p_min < f64::MIN_POSITIVE,
            };
            lost_pred |= step.run::<T, KC>(prev, probs.transition::<PER_STEP>(t), pred);
        }
        let (pred, e, cur) = trace.weigh(t);
        let mut m = m_row;
        let mut lost = false;
        let mut c = weigh(pred, row, e, cur, &mut lost, lost_threshold, cut);
        if c.value() < SMALL {
            // The states of highest emission density are unlikely a priori: shift by the
            // largest predicted-times-emission weight instead, so that likelier states'
            // densities do not underflow.
            m = weighted_max(pred.iter().zip(row).map(|(q, l)| (q.value(), l.value())));
            if m == f64::NEG_INFINITY {
                return Forward::Untrusted;
            }
            lost = false;
            shifted_exp(row, m, e, cut);
            c = weigh(pred, row, e, cur, &mut lost, lost_threshold, cut);
        }
        lost_mass.step(lost || lost_pred, m_row - m, c.value());
        let Some((scale, log_scale)) = power_of_two_normaliser(c.value()) else {
            return Forward::Untrusted;
        };
        let (lost_norm, zero, min) = normalise(cur, scale, cut);
        a_min = min;
        zero_prev = zero;
        zero_seen |= zero;
        lost_mass.normalised(k, lost_norm);
        if !lost_mass.ok() {
            return Forward::Untrusted;
        }
        trace.normalised(t, scale);
        shift += m + log_scale;
    }
    let (_, _, last) = trace.weigh(n - 1);
    let mut total = last[0];
    for &x in &last[1..] {
        total += x;
    }
    Forward::Value {
        log_likelihood: total.ln() + shift,
        total,
        any_zero: zero_seen,
    }
}

/// `e[j] = exp(row[j] - m)` (with `cut`, a constant 0 where `row[j] = -inf`).
#[inline(always)]
fn shifted_exp<T: Scalar>(row: &[T], m: f64, e: &mut [T], cut: bool) {
    for (e, &l) in e.iter_mut().zip(row) {
        *e = if cut && l.value() == f64::NEG_INFINITY {
            T::constant(0.0)
        } else {
            (l - m).exp()
        };
    }
}

/// How one step predicts its weights from the previous step's.
struct Predict {
    /// No factor is zero, or zeros need no cutting: add every term.
    dense: bool,
    /// Some product of positive factors may underflow: check every term.
    check_terms: bool,
}

impl Predict {
    /// `pred[j] = Σᵢ prev[i] P[i][j]`, adding each `pred[j]`'s terms in the order
    /// `i = 0, 1, …` whatever the loop order: for a small constant K column by column (sums in
    /// registers), otherwise row by row of P (contiguous, independent sums). Returns whether
    /// a product of positive factors underflowed.
    #[inline(always)]
    fn run<T: Scalar, const KC: usize>(&self, prev: &[T], p: &[T], pred: &mut [T]) -> bool {
        let k = pred.len();
        let mut lost = false;
        if KC > 0 {
            for j in 0..KC {
                let mut s = T::constant(0.0);
                for i in 0..KC {
                    self.add(&mut s, prev[i], p[i * KC + j], &mut lost);
                }
                pred[j] = s;
            }
        } else {
            pred.fill(T::constant(0.0));
            for i in 0..k {
                let ai = prev[i];
                let p_row = &p[i * k..(i + 1) * k];
                for (s, &pij) in pred.iter_mut().zip(p_row) {
                    self.add(s, ai, pij, &mut lost);
                }
            }
        }
        lost
    }

    /// `*s += ai · pij`, unless a factor is an exact zero that must be cut.
    #[inline(always)]
    fn add<T: Scalar>(&self, s: &mut T, ai: T, pij: T, lost: &mut bool) {
        let (av, pv) = (ai.value(), pij.value());
        if self.dense || (av != 0.0 && pv != 0.0) {
            let term = ai * pij;
            if self.check_terms {
                // Branch-free flag: `&` and `|` on bools, not `&&`.
                *lost |= (term.value() < f64::MIN_POSITIVE) & (av > 0.0) & (pv > 0.0);
            }
            *s += term;
        }
    }
}

/// `a[j] = pred[j] · e[j]` (a constant 0 where either factor is an exact zero: `e[j]` may be
/// `+inf` where `pred[j] = 0`, after the fallback shift); returns `Σ a`. Sets `*lost` if a
/// possible state's weight (or its density) underflowed to zero or a subnormal. When every
/// weight is at least `threshold` nothing can have, and the per-state checks are skipped.
/// Without `cut`, `pred` is finite and `e[j]` is exactly 0 where `row[j] = -inf`, so that
/// test is not needed.
#[inline(always)]
fn weigh<T: Scalar>(
    pred: &[T],
    row: &[T],
    e: &[T],
    a: &mut [T],
    lost: &mut bool,
    threshold: f64,
    cut: bool,
) -> T {
    let mut a_min = f64::INFINITY;
    for j in 0..pred.len() {
        a[j] = if pred[j].value() == 0.0 || (cut && row[j].value() == f64::NEG_INFINITY) {
            T::constant(0.0)
        } else {
            pred[j] * e[j]
        };
        a_min = a_min.min(a[j].value());
    }
    if a_min < threshold || a_min.is_nan() {
        let mut any = false;
        for j in 0..pred.len() {
            any |= ((e[j].value() < f64::MIN_POSITIVE) | (a[j].value() < f64::MIN_POSITIVE))
                & (pred[j].value() > 0.0)
                & (row[j].value() != f64::NEG_INFINITY);
        }
        *lost |= any;
    }
    let mut c = a[0];
    for &x in &a[1..] {
        c += x;
    }
    c
}

/// Multiplies the weights by `scale`, setting those below [`NEGLIGIBLE`] to a constant 0.
/// Returns whether a positive weight was so dropped, whether any weight is now zero, and the
/// smallest positive weight (`inf` if none).
#[inline(always)]
fn normalise<T: Scalar>(a: &mut [T], scale: f64, cut: bool) -> (bool, bool, f64) {
    let (mut lost, mut zero, mut min) = (false, false, f64::INFINITY);
    for x in a.iter_mut() {
        let v = x.value();
        let y = if cut && v == 0.0 {
            T::constant(0.0)
        } else {
            *x * scale
        };
        let negligible = y.value() < NEGLIGIBLE;
        lost |= negligible & (v > 0.0);
        zero |= negligible;
        min = min.min(if negligible { f64::INFINITY } else { y.value() });
        *x = if negligible { T::constant(0.0) } else { y };
    }
    (lost, zero, min)
}

/// The log-likelihood of one sequence (validated inputs) by the scaled recursion,
/// recomputed in log space when it cannot be trusted.
pub(crate) fn log_likelihood<T: Scalar>(
    log_init: &[T],
    log_trans: &[T],
    log_emission: &[T],
    k: usize,
) -> T {
    with_probs(log_init, log_trans, |probs| value(probs, log_emission, k))
}

/// [`log_likelihood`] with the parameters prepared (once per batch).
pub(crate) fn value<T: Scalar>(probs: &Probs<'_, T>, log_emission: &[T], k: usize) -> T {
    let forward = scratch::with_vec(|buf: &mut Vec<T>| {
        buf.clear();
        buf.resize(3 * k, T::constant(0.0));
        let mut trace = Rolling::new(buf, k);
        with_const_states!(k, scaled::<T, @>(probs, log_emission, k, &mut trace))
    });
    match forward {
        Forward::Value { log_likelihood, .. } => log_likelihood,
        Forward::Impossible { .. } => T::constant(f64::NEG_INFINITY),
        Forward::Untrusted => {
            super::log_space::value(probs.log_init, probs.log_trans, log_emission, k)
        }
    }
}
