//! The forward–backward adjoint: the scaled forward recursion's `f64` instance followed by
//! a backward pass over what its trace kept, giving the log-likelihood and every partial
//! derivative at once (recorded by reverse mode as one tape node per sequence).
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
//! The forward pass *is* [`recursion::scaled`] on a [`Kept`] trace (the shape of Stan Math's
//! `hmm_marginal`, whose adjoint reuses `hmm_marginal_val`'s `alphas` and
//! `alpha_log_norms`), so the value is the generic `f64` value to the last bit. The backward
//! pass reuses the kept densities, weights and scale factors. Property tests compare these
//! partials with reverse- and forward-mode AD of the generic recursion.
//!
//! For speed the backward pass is specialised for K = 1 … 4 (the loops over states unroll)
//! and skips the zero-weight checks when no forward weight was zero.

use std::cell::RefCell;
use std::thread::LocalKey;

use trellis_ad::scratch;

use super::recursion::{self, with_const_states, with_probs, Forward, Kept, Probs};

/// Value and partials of the log-likelihood of one sequence.
///
/// `log_init` (K), `log_trans` (K × K, rows = from-state), `log_emission` (T × K, T ≥ 1) must
/// be free of NaN and `+inf` (the callers validate). `partials` receives
/// `[∂/∂log_init (K) | ∂/∂log_trans (K²) | ∂/∂log_emission (T·K)]`.
///
/// Where the probability-space recursion cannot be trusted (a normaliser under- or
/// overflowed, probability mass lost to underflow could matter, a probability is below
/// 1e-150) the value and partials come from a log-space forward–backward pass in plain `f64`
/// instead, the value bit-identical to the generic recursion's (which makes the same decision
/// and switches to log space). Returns `None` only when the sequence is impossible past its
/// first step (the caller's generic recursion then decides), and `Some(-inf)` with zero
/// partials when every state has emission density 0 at some step.
pub fn value_and_partials(
    log_init: &[f64],
    log_trans: &[f64],
    log_emission: &[f64],
    k: usize,
    partials: &mut [f64],
) -> Option<f64> {
    debug_assert_eq!(log_init.len(), k);
    debug_assert!(
        log_trans.len() == k * k
            || log_trans.len() == k * k * (log_emission.len() / k).saturating_sub(1)
    );
    with_probs(log_init, log_trans, |probs| {
        value_and_partials_prepared(probs, log_emission, k, partials)
    })
}

/// [`value_and_partials`] with one transition matrix or one per step
/// ([`Transitions`](super::forward::Transitions)). `partials` receives
/// `[∂/∂log_init (K) | ∂/∂log_trans (K², or (T − 1)·K²: ξₜ for each step) | ∂/∂log_emission
/// (T·K)]`. The shapes are checked.
///
/// # Errors
/// Wrong shapes or NaN / `+inf` inputs, as
/// [`forward_log_likelihood_with`](super::forward_log_likelihood_with); a `partials` of the
/// wrong length.
///
/// ```
/// use trellis_models::hmm::{adjoint, Transitions};
/// let li = [0.5f64.ln(); 2];
/// let steps: Vec<f64> = [0.9, 0.1, 0.2, 0.8, 0.5, 0.5, 0.5, 0.5].iter().map(|p: &f64| p.ln()).collect();
/// let le = [-1.0, -2.0, -0.5, -3.0, -2.0, -0.1];
/// let mut partials = vec![0.0; 2 + 8 + 6];
/// let ll = adjoint::value_and_partials_with(&li, Transitions::PerStep(&steps), &le, 2, &mut partials)
///     .unwrap()
///     .unwrap();
/// assert!(ll.is_finite());
/// // Each step's ξₜ sums to 1 (one transition per step).
/// assert!((partials[2..6].iter().sum::<f64>() - 1.0).abs() < 1e-12);
/// assert!((partials[6..10].iter().sum::<f64>() - 1.0).abs() < 1e-12);
/// ```
pub fn value_and_partials_with(
    log_init: &[f64],
    transitions: super::forward::Transitions<'_, f64>,
    log_emission: &[f64],
    k: usize,
    partials: &mut [f64],
) -> Result<Option<f64>, super::HmmError> {
    let log_trans = super::forward::check_inputs(log_init, transitions, log_emission, k)?;
    let expected = k + log_trans.len() + log_emission.len();
    if partials.len() != expected {
        return Err(super::HmmError::WrongLength {
            what: "partials ([log_init | log_trans | log_emission])",
            expected,
            found: partials.len(),
        });
    }
    Ok(with_probs(log_init, log_trans, |probs| {
        value_and_partials_prepared(probs, log_emission, k, partials)
    }))
}

/// [`value_and_partials`] with `π` and `P` already exponentiated (once per batch).
pub(crate) fn value_and_partials_prepared(
    probs: &Probs<'_, f64>,
    log_emission: &[f64],
    k: usize,
    partials: &mut [f64],
) -> Option<f64> {
    let (d_params, d_emission) = partials.split_at_mut(k + probs.log_trans().len());
    value_and_partials_split(probs, log_emission, k, d_params, d_emission)
}

/// [`value_and_partials_prepared`] with the partials in two buffers: `d_params`
/// (`∂/∂log_init`, `∂/∂log_trans`: K + K²) and `d_emission` (T·K).
pub(crate) fn value_and_partials_split(
    probs: &Probs<'_, f64>,
    log_emission: &[f64],
    k: usize,
    d_params: &mut [f64],
    d_emission: &mut [f64],
) -> Option<f64> {
    let n = log_emission.len() / k;
    with_workspace(n, k, |trace, b| {
        with_const_states!(
            k,
            forward_backward::<@>(probs, log_emission, k, trace, b, d_params, d_emission)
        )
    })
    .or_else(|| {
        // Probability space cannot be trusted: the log-space pass, in plain f64 (the value
        // the generic recursion's log-space fallback gives, to the bit).
        super::log_space::value_and_partials(
            probs.log_init(),
            probs.log_trans(),
            log_emission,
            k,
            d_params,
            d_emission,
        )
    })
}

/// [`value_and_partials_split`] with every step's own transition matrix, each step's `ξₜ`
/// handed to `sink` (see [`XiSink`]) instead of stored: `d_init` (K) and `d_emission` (T·K)
/// receive the other partials. `None` as for [`value_and_partials`].
pub(crate) fn value_and_partials_sink(
    probs: &Probs<'_, f64>,
    log_emission: &[f64],
    k: usize,
    d_init: &mut [f64],
    d_emission: &mut [f64],
    sink: &mut impl XiSink,
) -> Option<f64> {
    let n = log_emission.len() / k;
    with_workspace(n, k, |trace, b| {
        with_const_states!(
            k,
            forward_backward_sink::<@>(probs, log_emission, k, trace, b, d_init, d_emission, sink)
        )
    })
}

/// What a forward–backward outcome means for the caller: the value, `-inf` for an impossible
/// sequence, `None` when probability space cannot be trusted.
fn outcome(forward: Forward<f64>) -> Option<f64> {
    match forward {
        Forward::Value { log_likelihood, .. } => Some(log_likelihood),
        Forward::Impossible { .. } => Some(f64::NEG_INFINITY),
        Forward::Untrusted => None,
    }
}

thread_local! {
    /// This thread's forward–backward workspace (a [`Kept`] trace and the backward pass's
    /// [`backward_len`]), reused by every sequence: the forward pass writes every entry before anything
    /// reads it, so it is never zeroed.
    static WORKSPACE: RefCell<Vec<f64>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` on the first `len` entries of this thread's buffer `cell`: grown (with zeros) when
/// too short, otherwise holding whatever its last user left — for buffers whose every entry
/// is written before it is read, which then cost no zeroing per use. A nested use (the
/// buffer already borrowed on this thread) gets a fresh zeroed scratch buffer instead.
pub(crate) fn with_stale<T: Copy + Default + 'static, R>(
    cell: &'static LocalKey<RefCell<Vec<T>>>,
    len: usize,
    f: impl FnOnce(&mut [T]) -> R,
) -> R {
    cell.with(|c| match c.try_borrow_mut() {
        Ok(mut buf) => {
            if buf.len() < len {
                buf.resize(len, T::default());
            }
            f(&mut buf[..len])
        }
        Err(_) => scratch::with_filled(len, T::default(), f),
    })
}

/// Runs `f` on this thread's workspace split for `n` steps and `k` states: the trace and the
/// backward pass's [`backward_len`] scalars; returns what the forward–backward outcome means.
fn with_workspace(
    n: usize,
    k: usize,
    f: impl FnOnce(&mut Kept<'_>, &mut [f64]) -> Forward<f64>,
) -> Option<f64> {
    with_stale(&WORKSPACE, Kept::len(n, k) + backward_len(k), |buf| {
        let (mut trace, b) = Kept::new(buf, n, k);
        outcome(f(&mut trace, b))
    })
}

/// How many `f64` the backward pass takes as workspace for `k` states: `β̃ₜ`, `β̃ₜ₋₁` and one
/// row of `ξₜ` (`3K`).
pub(crate) fn backward_len(k: usize) -> usize {
    3 * k
}

/// The forward pass on `trace` (of `T = log_emission.len() / K` steps), then the backward
/// pass with `b` ([`backward_len`] scalars) as workspace: the partials are written when the outcome is
/// [`Forward::Value`] (zeros when [`Forward::Impossible`]). Afterwards `trace` holds the
/// forward pass (normalised weights: the filtered probabilities up to each row's sum).
/// `KC` as in [`recursion::scaled`] (call through [`with_const_states`]).
pub(crate) fn forward_backward<const KC: usize>(
    probs: &Probs<'_, f64>,
    log_emission: &[f64],
    k: usize,
    trace: &mut Kept<'_>,
    b: &mut [f64],
    d_params: &mut [f64],
    d_emission: &mut [f64],
) -> Forward<f64> {
    let k = if KC > 0 { KC } else { k };
    debug_assert_eq!(d_params.len(), k + probs.log_trans().len());
    debug_assert_eq!(d_emission.len(), log_emission.len());
    let (d_init, d_trans) = d_params.split_at_mut(k);
    if probs.per_step() {
        // Each step's ξₜ into its own K² of `d_trans`.
        let mut sink = StoreXi { d_trans, k };
        forward_backward_sink::<KC>(
            probs,
            log_emission,
            k,
            trace,
            b,
            d_init,
            d_emission,
            &mut sink,
        )
    } else {
        let pass = Pass {
            probs,
            log_emission,
            k,
        };
        pass.run::<KC, false>(trace, b, d_init, d_trans, &mut NoSink, d_emission)
    }
}

/// [`forward_backward`] with every step's own transition matrix (`probs.per_step()`), each
/// step's `ξₜ` handed to `sink` as soon as it is complete instead of being stored: `d_init`
/// (K) and `d_emission` (T·K) receive the other partials.
#[allow(clippy::too_many_arguments)]
pub(crate) fn forward_backward_sink<const KC: usize>(
    probs: &Probs<'_, f64>,
    log_emission: &[f64],
    k: usize,
    trace: &mut Kept<'_>,
    b: &mut [f64],
    d_init: &mut [f64],
    d_emission: &mut [f64],
    sink: &mut impl XiSink,
) -> Forward<f64> {
    debug_assert!(probs.per_step());
    let pass = Pass {
        probs,
        log_emission,
        k,
    };
    pass.run::<KC, true>(trace, b, d_init, &mut [], sink, d_emission)
}

/// One sequence's forward–backward inputs.
struct Pass<'a, 'p> {
    probs: &'a Probs<'p, f64>,
    log_emission: &'a [f64],
    k: usize,
}

impl Pass<'_, '_> {
    /// The forward pass, then (when it found a value) [`backward`]; zero partials otherwise.
    #[inline(always)]
    fn run<const KC: usize, const PER_STEP: bool>(
        &self,
        trace: &mut Kept<'_>,
        b: &mut [f64],
        d_init: &mut [f64],
        d_trans: &mut [f64],
        sink: &mut impl XiSink,
        d_emission: &mut [f64],
    ) -> Forward<f64> {
        let forward = recursion::scaled::<f64, KC>(self.probs, self.log_emission, self.k, trace);
        let Forward::Value {
            total, any_zero, ..
        } = forward
        else {
            d_init.fill(0.0);
            d_trans.fill(0.0);
            d_emission.fill(0.0);
            return forward;
        };
        let probs = self.probs;
        backward::<KC, PER_STEP>(
            probs, trace, b, total, any_zero, d_init, d_trans, sink, d_emission,
        );
        forward
    }
}

/// The backward pass after a forward pass that found a value (`total`, `any_zero`): the
/// emission partials into `d_emission`, `γ₀` into `d_init`, and `Σₜ ξₜ` into `d_trans`
/// (homogeneous) or each `ξₜ` to `sink` (`PER_STEP`).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn backward<const KC: usize, const PER_STEP: bool>(
    probs: &Probs<'_, f64>,
    trace: &mut Kept<'_>,
    b: &mut [f64],
    total: f64,
    any_zero: bool,
    d_init: &mut [f64],
    d_trans: &mut [f64],
    sink: &mut impl XiSink,
    d_emission: &mut [f64],
) {
    let k = d_init.len();
    let n = trace.a.len() / k;
    let (b, rest) = b.split_at_mut(k);
    let (b_next, xi_row) = rest.split_at_mut(k);
    let last = &trace.a[(n - 1) * k..];
    let ctx = Backward {
        k,
        probs,
        e: &*trace.e,
        a: &*trace.a,
        scales: &*trace.scales,
        total,
    };
    let w = &mut *trace.pred;
    let bufs = BackwardBuffers {
        b,
        b_next,
        w,
        xi_row: &mut xi_row[..k],
    };
    if any_zero {
        ctx.run::<KC, true, PER_STEP>(d_trans, d_emission, bufs, last, sink);
    } else {
        ctx.run::<KC, false, PER_STEP>(d_trans, d_emission, bufs, last, sink);
    }
    d_init.copy_from_slice(&d_emission[..k]);
}

/// Where the backward pass puts each step's `ξₜ` when every step has its own transition
/// matrix: row by row, as soon as a row is computed ([`XiSink::row`]) — so a caller that
/// only needs a contraction of `ξₜ` (e.g. the coefficient gradient of covariate-driven
/// transitions) keeps no more than one row of it, and a row of a small constant K can stay
/// in registers once inlined.
pub(crate) trait XiSink {
    /// Row `i` of `ξₜ` of the step into `t` (`t ≥ 1`): `xi_row[j] = ξₜ[i][j]` (`K`
    /// entries), with `p_row` that step's `Γₜ[i][·]`.
    fn row(&mut self, t: usize, i: usize, xi_row: &[f64], p_row: &[f64]);
}

/// Keeps every step's `ξₜ`: the step into `t` at `(t − 1) · K²` of `d_trans`.
struct StoreXi<'a> {
    d_trans: &'a mut [f64],
    k: usize,
}

impl XiSink for StoreXi<'_> {
    #[inline(always)]
    fn row(&mut self, t: usize, i: usize, xi_row: &[f64], _p_row: &[f64]) {
        let start = ((t - 1) * self.k + i) * self.k;
        self.d_trans[start..start + self.k].copy_from_slice(xi_row);
    }
}

/// The homogeneous pass's sink: never called (its `ξ` sums stay in registers).
struct NoSink;

impl XiSink for NoSink {
    fn row(&mut self, _t: usize, _i: usize, _xi_row: &[f64], _p_row: &[f64]) {
        unreachable!("the homogeneous backward pass sums ξ itself")
    }
}

/// The backward pass's workspace: `β̃ₜ` and `β̃ₜ₋₁` (alternating), `w = sₜ eₜ β̃ₜ`, one row
/// of `ξₜ` (each `K`).
struct BackwardBuffers<'a> {
    b: &'a mut [f64],
    b_next: &'a mut [f64],
    w: &'a mut [f64],
    xi_row: &'a mut [f64],
}

/// The backward pass of [`forward_backward`]: with the same scale factors sₜ, `b = β̃ₜ` with
/// `β̃_T = 1 / Σ α̃_T` and `β̃ₜ₋₁[i] = sₜ Σⱼ P[i][j] eₜ[j] β̃ₜ[j]`, so that
/// `Σⱼ α̃ₜ[j] β̃ₜ[j] = 1` at every t and `γₜ = α̃ₜ β̃ₜ`. With `CHECK`, states whose forward
/// weight is zero are skipped: their β̃ may overflow, but their γ and ξ are zero. (After
/// normalisation every weight is zero or at least `NEGLIGIBLE`.) With `PER_STEP`, every step
/// has its own transition matrix and `d_trans` receives each step's `ξₜ` (`∂ log L / ∂ ln Pₜ`,
/// K² per step, the step into `t` at `(t − 1) · K²`) instead of their sum: nothing is kept
/// beyond the homogeneous pass's workspace but the partials themselves.
struct Backward<'a> {
    k: usize,
    probs: &'a Probs<'a, f64>,
    e: &'a [f64],
    a: &'a [f64],
    scales: &'a [f64],
    total: f64,
}

impl Backward<'_> {
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn run<const KC: usize, const CHECK: bool, const PER_STEP: bool>(
        &self,
        d_trans: &mut [f64],
        d_emission: &mut [f64],
        bufs: BackwardBuffers<'_>,
        last: &[f64],
        sink: &mut impl XiSink,
    ) {
        let BackwardBuffers {
            b,
            b_next,
            w,
            xi_row,
        } = bufs;
        let k = if KC > 0 { KC } else { self.k };
        let (e, a, scales) = (self.e, self.a, self.scales);
        let n = a.len() / k;
        // ξ sums in registers when K is a small constant, else in `d_trans`.
        let mut local = [0.0f64; 16];
        let in_registers = !PER_STEP && KC > 0 && KC * KC <= local.len();
        let acc_all: &mut [f64] = if in_registers {
            &mut local[..k * k]
        } else if PER_STEP {
            &mut []
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
            let p = self.probs.transition::<PER_STEP>(t);
            for i in 0..k {
                let p_row = &p[i * k..(i + 1) * k];
                // Homogeneous: row i of the running sums of ξ. Per step: row i of ξₜ itself,
                // for a small constant K in a local array (registers once the sink is
                // inlined), handed to the sink when complete.
                let mut xi_local = [0.0f64; 4];
                let out_row: &mut [f64] = if !PER_STEP {
                    &mut acc_all[i * k..(i + 1) * k]
                } else if KC > 0 && KC <= xi_local.len() {
                    &mut xi_local[..k]
                } else {
                    &mut *xi_row
                };
                // A zero-weight state gets β̃ = 0 and no ξ (its `s` may be infinite).
                let skip = CHECK && a_prev[i] == 0.0;
                let ai = a_prev[i];
                let mut put = |j: usize, pw: f64| {
                    let x = if skip { 0.0 } else { ai * pw };
                    if PER_STEP {
                        out_row[j] = x;
                    } else {
                        out_row[j] += x;
                    }
                };
                let s = if KC > 0 {
                    let mut s = 0.0;
                    for j in 0..k {
                        let pw = p_row[j] * w[j];
                        s += pw;
                        put(j, pw);
                    }
                    s
                } else {
                    // Four partial sums: for large K one running sum is latency-bound.
                    let mut s4 = [0.0f64; 4];
                    for j in 0..k {
                        let pw = p_row[j] * w[j];
                        s4[j % 4] += pw;
                        put(j, pw);
                    }
                    (s4[0] + s4[1]) + (s4[2] + s4[3])
                };
                if PER_STEP {
                    sink.row(t, i, out_row, p_row);
                }
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

/// The chain rule through a sparse emission Jacobian: `out[p] = Σ g[i] partials[i·W + j]`
/// over the pairs with `indices[i·W + j] = p` (`g` = `∂ log L / ∂ℓ`, one per density; `W =
/// width` pairs per density), in a fixed order: `O(len(g) · W)`, whatever `P = out.len()`.
///
/// # Panics
/// If an index is not below `out.len()` (an emission's
/// [`FusedEmission::log_densities_with_sparse_jacobian`](crate::FusedEmission) broke its
/// contract).
pub(crate) fn contract_sparse(
    g: &[f64],
    width: usize,
    indices: &[usize],
    partials: &[f64],
    out: &mut [f64],
) {
    out.fill(0.0);
    if width == 0 {
        return;
    }
    let pairs = indices
        .chunks_exact(width)
        .zip(partials.chunks_exact(width));
    for (&gi, (idx, part)) in g.iter().zip(pairs) {
        for (&p, &d) in idx.iter().zip(part) {
            out[p] += gi * d;
        }
    }
}

/// `out[p] = Σᵢ g[i] jac[i · P + p]` (`P = out.len()`), in a fixed order, with independent
/// register accumulators for small `P` (a running sum in memory would serialise on
/// store-to-load latency).
pub(crate) fn contract(g: &[f64], jac: &[f64], out: &mut [f64]) {
    match out.len() {
        0 => {}
        1 => contract_const::<1>(g, jac, out),
        2 => contract_const::<2>(g, jac, out),
        3 => contract_const::<3>(g, jac, out),
        4 => contract_const::<4>(g, jac, out),
        np => {
            out.fill(0.0);
            for (gi, row) in g.iter().zip(jac.chunks_exact(np)) {
                for (d, &j) in out.iter_mut().zip(row) {
                    *d += gi * j;
                }
            }
        }
    }
}

fn contract_const<const P: usize>(g: &[f64], jac: &[f64], out: &mut [f64]) {
    let mut acc = [[0.0f64; P]; 2];
    let mut rows = g.iter().zip(jac.chunks_exact(P));
    loop {
        match (rows.next(), rows.next()) {
            (Some((g0, r0)), Some((g1, r1))) => {
                for p in 0..P {
                    acc[0][p] += g0 * r0[p];
                    acc[1][p] += g1 * r1[p];
                }
            }
            (Some((g0, r0)), None) => {
                for p in 0..P {
                    acc[0][p] += g0 * r0[p];
                }
                break;
            }
            _ => break,
        }
    }
    for p in 0..P {
        out[p] = acc[0][p] + acc[1][p];
    }
}
