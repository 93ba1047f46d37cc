//! The forward algorithm, written once over [`Scalar`].
//!
//! [`forward_log_likelihood_generic`] is the single source of truth: a scaled recursion in
//! probability space. Each step's emission log-densities are shifted by their maximum (or,
//! when the likeliest states a priori have tiny densities, by the largest
//! predicted-times-emission weight) before exponentiating; the forward weights are then
//! multiplied by a power of two so that they sum to `[1, 2)` (exact, no division, no
//! derivative); the shifts and exponents add up to the log-likelihood with one logarithm per
//! sequence. States whose weight would underflow are dropped and the mass so lost is bounded
//! rigorously ([`kernel`]'s `LostMass`); if it could matter, or the
//! probability-space recursion under- or overflows, the sequence is recomputed by a
//! log-space recursion ([`forward_log_likelihood_log_space`]). Evaluated with `f64` it gives
//! values, with duals forward-mode derivatives, with `Var` reverse-mode derivatives.
//!
//! [`forward_log_likelihood`], [`log_likelihood`] and [`batch_log_likelihood`] are what
//! callers use: for scalar types that prefer custom operations (reverse mode,
//! `T::PREFERS_CUSTOM`), the value and all partials come from the fused forward–backward
//! [`kernel`] in `f64`, which performs the same forward operations and takes
//! the same decisions (so the value is bit-identical), and one tape node is recorded per
//! sequence; otherwise the generic recursion runs. An emission that implements
//! [`Emission::fused_parameters`] has its Jacobian folded into that node as well, so no tape
//! node is recorded per emission density. Property tests check every route against the
//! generic code and against enumeration of all paths.
//!
//! Zero probabilities (`-inf` log-probabilities or log-densities) are allowed everywhere: the
//! value is right and the derivatives are finite wherever the value is finite. Exact zeros
//! are constants in the generic code (cut from the derivative graph), so no `0 × ∞` arises.

use std::any::TypeId;

use trellis_ad::{scratch, Dual, DualVec, Scalar};

use super::data::Sequences;
use super::error::HmmError;
use super::kernel::{
    self, power_of_two_normaliser, row_max, weighted_max, Flags, LostMass, NEGLIGIBLE, SMALL,
};
use crate::emission::Emission;

/// Checks the shapes and the values of the parameters of one evaluation.
pub(crate) fn check_params<T: Scalar>(
    log_init: &[T],
    log_trans: &[T],
    k: usize,
) -> Result<(), HmmError> {
    if k == 0 {
        return Err(HmmError::NoStates);
    }
    if log_init.len() != k {
        return Err(HmmError::WrongLength {
            what: "log_init (one entry per state)",
            expected: k,
            found: log_init.len(),
        });
    }
    if log_trans.len() != k * k {
        return Err(HmmError::WrongLength {
            what: "log_trans (K × K, row-major)",
            expected: k * k,
            found: log_trans.len(),
        });
    }
    for (what, xs) in [("log_init", log_init), ("log_trans", log_trans)] {
        for (index, x) in xs.iter().enumerate() {
            let value = x.value();
            if value.is_nan() || value == f64::INFINITY {
                return Err(HmmError::InvalidLogProbability { what, index, value });
            }
        }
    }
    Ok(())
}

/// Checks the shape of a `T × K` emission matrix and that it holds no NaN or `+inf`.
fn check_emission<T: Scalar>(log_emission: &[T], k: usize) -> Result<(), HmmError> {
    if log_emission.is_empty() {
        return Err(HmmError::EmptySequence { sequence: 0 });
    }
    if log_emission.len() % k != 0 {
        return Err(HmmError::WrongLength {
            what: "log_emission (T × K, row-major)",
            expected: (log_emission.len() / k + 1) * k,
            found: log_emission.len(),
        });
    }
    check_emission_values(log_emission.iter().map(|x| x.value()), k)
}

#[inline]
pub(crate) fn check_emission_values(
    values: impl Iterator<Item = f64>,
    k: usize,
) -> Result<(), HmmError> {
    for (i, value) in values.enumerate() {
        if value.is_nan() || value == f64::INFINITY {
            return Err(HmmError::InvalidLogDensity {
                sequence: 0,
                position: i / k,
                state: i % k,
                value,
            });
        }
    }
    Ok(())
}

/// The log-likelihood `ln p(y₁..y_T)` of one sequence from its emission log-densities.
///
/// - `log_init`: `ln p(z₁ = k)`, length `K`;
/// - `log_trans`: `ln p(zₜ₊₁ = j | zₜ = i)` at `i · K + j` (rows = from-state), length `K²`;
/// - `log_emission`: `ln p(yₜ | zₜ = k)` at `t · K + k`, length `T · K` with `T ≥ 1`.
///
/// The probabilities need not be normalised: the result is the log of the sum over all
/// hidden paths of `π[z₁] Πₜ P[zₜ][zₜ₊₁] Πₜ e[t][zₜ]`, and its derivatives are those of that
/// function of free log-probabilities. `-inf` entries (zero probabilities) are allowed.
///
/// In reverse mode this is one tape node (fused forward–backward); otherwise the generic
/// recursion [`forward_log_likelihood_generic`].
///
/// # Errors
/// Wrong lengths, `K = 0`, an empty sequence, or NaN / `+inf` inputs.
///
/// ```
/// use trellis_models::hmm::forward_log_likelihood;
/// // Two states, always in state 0: log L = ln 1 + ln N-density terms.
/// let li = [0.0, f64::NEG_INFINITY];
/// let lt = [0.0, f64::NEG_INFINITY, f64::NEG_INFINITY, 0.0];
/// let le = [-1.0, -5.0, -2.0, -0.5];
/// let ll: f64 = forward_log_likelihood(&li, &lt, &le, 2).unwrap();
/// assert!((ll - (-3.0)).abs() < 1e-14);
/// ```
pub fn forward_log_likelihood<T: Scalar>(
    log_init: &[T],
    log_trans: &[T],
    log_emission: &[T],
    k: usize,
) -> Result<T, HmmError> {
    check_params(log_init, log_trans, k)?;
    check_emission(log_emission, k)?;
    Ok(if T::PREFERS_CUSTOM {
        fused(log_init, log_trans, log_emission, k)
    } else {
        scaled_generic(log_init, log_trans, log_emission, k)
    })
}

/// The generic forward recursion, whatever the scalar type: the source of truth that the
/// fused reverse-mode kernel is tested against. Same contract as [`forward_log_likelihood`].
pub fn forward_log_likelihood_generic<T: Scalar>(
    log_init: &[T],
    log_trans: &[T],
    log_emission: &[T],
    k: usize,
) -> Result<T, HmmError> {
    check_params(log_init, log_trans, k)?;
    check_emission(log_emission, k)?;
    Ok(scaled_generic(log_init, log_trans, log_emission, k))
}

/// The log-space forward recursion (`T::log_sum_exp` over previous states at every step),
/// exposed for tests and as a reference: slower, but free of any scaling logic.
pub fn forward_log_likelihood_log_space<T: Scalar>(
    log_init: &[T],
    log_trans: &[T],
    log_emission: &[T],
    k: usize,
) -> Result<T, HmmError> {
    check_params(log_init, log_trans, k)?;
    check_emission(log_emission, k)?;
    Ok(log_space_generic(log_init, log_trans, log_emission, k))
}

/// `e[j] = exp(row[j] - m)` (a constant 0 where `row[j] = -inf`).
#[inline]
fn shifted_exp_generic<T: Scalar>(row: &[T], m: f64, e: &mut [T]) {
    for (e, &l) in e.iter_mut().zip(row) {
        *e = if l.value() == f64::NEG_INFINITY {
            T::cst(0.0)
        } else {
            (l - m).exp()
        };
    }
}

/// `a[j] = pred[j] · e[j]` (a constant 0 where either factor is an exact zero); returns
/// `Σ a`. Sets `*lost` as the kernel's `weigh` does (checking each state only when some
/// weight is below `threshold`).
#[inline]
fn weigh_generic<T: Scalar>(
    pred: &[T],
    row: &[T],
    e: &[T],
    a: &mut [T],
    lost: &mut bool,
    threshold: f64,
) -> T {
    let mut a_min = f64::INFINITY;
    for j in 0..pred.len() {
        a[j] = if pred[j].value() == 0.0 || row[j].value() == f64::NEG_INFINITY {
            T::cst(0.0)
        } else {
            pred[j] * e[j]
        };
        a_min = a_min.min(a[j].value());
    }
    if a_min < threshold || a_min.is_nan() {
        for j in 0..pred.len() {
            if pred[j].value() != 0.0
                && row[j].value() != f64::NEG_INFINITY
                && (e[j].value() < f64::MIN_POSITIVE || a[j].value() < f64::MIN_POSITIVE)
            {
                *lost = true;
            }
        }
    }
    let mut c = a[0];
    for &x in &a[1..] {
        c += x;
    }
    c
}

/// The parameters of one evaluation prepared once for all its sequences: `π = exp(log_init)`
/// and `P = exp(log_trans)` as scalars, with the kernel's [`Flags`].
pub(crate) struct GenericProbs<'a, T> {
    log_init: &'a [T],
    log_trans: &'a [T],
    pi: &'a [T],
    p: &'a [T],
    flags: Flags,
}

/// Runs `f` on the prepared parameters (validated `log_init`, `log_trans`).
pub(crate) fn with_generic_probs<T: Scalar, R>(
    log_init: &[T],
    log_trans: &[T],
    f: impl FnOnce(&GenericProbs<'_, T>) -> R,
) -> R {
    let k = log_init.len();
    scratch::with_vec(|buf: &mut Vec<T>| {
        buf.clear();
        buf.extend(log_init.iter().chain(log_trans).map(|l| l.exp()));
        let (pi, p) = buf.split_at(k);
        let flags = Flags::new(
            k,
            |i| log_init[i].value(),
            |i| log_trans[i].value(),
            |i| pi[i].value(),
            |i| p[i].value(),
        );
        f(&GenericProbs {
            log_init,
            log_trans,
            pi,
            p,
            flags,
        })
    })
}

/// Scaled forward recursion on validated inputs.
pub(crate) fn scaled_generic<T: Scalar>(
    log_init: &[T],
    log_trans: &[T],
    log_emission: &[T],
    k: usize,
) -> T {
    with_generic_probs(log_init, log_trans, |probs| {
        scaled_prepared(probs, log_emission, k)
    })
}

/// The scaled forward recursion (the source of truth). Its `f64` instance performs exactly
/// the operations of the forward pass of [`kernel::value_and_partials`] and takes the same
/// decisions, so the two give bit-identical values.
pub(crate) fn scaled_prepared<T: Scalar>(
    probs: &GenericProbs<'_, T>,
    log_emission: &[T],
    k: usize,
) -> T {
    match k {
        1 => scaled::<T, 1>(probs, log_emission, k),
        2 => scaled::<T, 2>(probs, log_emission, k),
        3 => scaled::<T, 3>(probs, log_emission, k),
        4 => scaled::<T, 4>(probs, log_emission, k),
        _ => scaled::<T, 0>(probs, log_emission, k),
    }
}

/// The recursion; `KC > 0` is the number of states known at compile time (so the loops over
/// states unroll), `KC = 0` takes it from `k`. One source for every `KC`.
fn scaled<T: Scalar, const KC: usize>(
    probs: &GenericProbs<'_, T>,
    log_emission: &[T],
    k: usize,
) -> T {
    let k = if KC > 0 { KC } else { k };
    let n = log_emission.len() / k;
    let (pi, p, flags) = (probs.pi, probs.p, probs.flags);
    let result = if flags.tiny {
        None
    } else {
        scratch::with_vec(|buf: &mut Vec<T>| {
            buf.clear();
            buf.resize(3 * k, T::cst(0.0));
            let (a, rest) = buf.split_at_mut(k);
            let (pred, e) = rest.split_at_mut(k);
            let mut shift = 0.0;
            let mut lost_mass = LostMass::new(k, flags.r);
            // As in the kernel: the previous step's smallest positive normalised weight, and
            // whether one of its weights is zero.
            let mut a_min = f64::INFINITY;
            let mut zero_prev = false;
            let lost_threshold = flags.lost_threshold();
            for t in 0..n {
                let row = &log_emission[t * k..(t + 1) * k];
                let m_row = row_max(row.iter().map(|x| x.value()));
                if m_row == f64::NEG_INFINITY {
                    return Some(T::cst(f64::NEG_INFINITY));
                }
                // The emission densities first: they do not depend on the previous step.
                shifted_exp_generic(row, m_row, e);
                // Predicted (unnormalised) state weights. Exact zeros (zero probabilities,
                // -inf log-densities, underflow) are kept as constants, cut from the
                // derivative graph: their true derivatives are zero, and a product with a
                // zero-valued factor would otherwise multiply a possibly huge adjoint by 0
                // (NaN once it overflowed).
                let mut lost_pred = if t == 0 {
                    flags.pi_underflow
                } else {
                    flags.p_underflow
                };
                if t == 0 {
                    pred.copy_from_slice(pi);
                } else {
                    // Without zeros among the factors nothing needs cutting, and when no
                    // product of positive factors can underflow nothing needs checking
                    // (either way the values and flags are the same).
                    let dense = !zero_prev && !flags.p_has_zero;
                    let check_terms = a_min * flags.p_min < f64::MIN_POSITIVE;
                    // Either loop order adds each `pred[j]`'s terms in the order i = 0, 1, …
                    // (as the kernel does): for a small constant K column by column (sums in
                    // registers), otherwise row by row of P (contiguous, independent sums).
                    let mut add = |s: &mut T, ai: T, pij: T| {
                        if dense || (ai.value() != 0.0 && pij.value() != 0.0) {
                            let term = ai * pij;
                            if check_terms && term.value() < f64::MIN_POSITIVE {
                                lost_pred = true;
                            }
                            *s += term;
                        }
                    };
                    if KC > 0 {
                        for j in 0..k {
                            let mut s = T::cst(0.0);
                            for i in 0..k {
                                add(&mut s, a[i], p[i * k + j]);
                            }
                            pred[j] = s;
                        }
                    } else {
                        pred.fill(T::cst(0.0));
                        for i in 0..k {
                            for j in 0..k {
                                add(&mut pred[j], a[i], p[i * k + j]);
                            }
                        }
                    }
                }
                let mut m = m_row;
                let mut lost = false;
                let mut c = weigh_generic(pred, row, e, a, &mut lost, lost_threshold);
                if c.value() < SMALL {
                    // See the kernel: shift by the largest predicted-times-emission weight.
                    m = weighted_max(pred.iter().zip(row).map(|(q, l)| (q.value(), l.value())));
                    if m == f64::NEG_INFINITY {
                        return None;
                    }
                    lost = false;
                    shifted_exp_generic(row, m, e);
                    c = weigh_generic(pred, row, e, a, &mut lost, lost_threshold);
                }
                lost_mass.step(lost || lost_pred, m_row - m, c.value());
                let (scale, log_scale) = power_of_two_normaliser(c.value())?;
                let mut lost_norm = false;
                a_min = f64::INFINITY;
                zero_prev = false;
                for x in a.iter_mut() {
                    *x = if x.value() == 0.0 {
                        zero_prev = true;
                        T::cst(0.0)
                    } else {
                        let y = *x * scale;
                        if y.value() < NEGLIGIBLE {
                            lost_norm = true;
                            zero_prev = true;
                            T::cst(0.0)
                        } else {
                            a_min = a_min.min(y.value());
                            y
                        }
                    };
                }
                lost_mass.normalised(k, lost_norm);
                if !lost_mass.ok() {
                    return None;
                }
                shift += m + log_scale;
            }
            let mut total = a[0];
            for &x in &a[1..] {
                total += x;
            }
            Some(total.ln() + shift)
        })
    };
    // Probability space under- or overflowed, or lost mass that matters: log space.
    result.unwrap_or_else(|| log_space_generic(probs.log_init, probs.log_trans, log_emission, k))
}

/// Log-space forward recursion on validated inputs.
fn log_space_generic<T: Scalar>(
    log_init: &[T],
    log_trans: &[T],
    log_emission: &[T],
    k: usize,
) -> T {
    let n = log_emission.len() / k;
    scratch::with_vec(|buf: &mut Vec<T>| {
        buf.clear();
        buf.resize(3 * k, T::cst(0.0));
        let (la, rest) = buf.split_at_mut(k);
        let (next, tmp) = rest.split_at_mut(k);
        for j in 0..k {
            la[j] = log_init[j] + log_emission[j];
        }
        for t in 1..n {
            for j in 0..k {
                for i in 0..k {
                    tmp[i] = la[i] + log_trans[i * k + j];
                }
                next[j] = T::log_sum_exp(tmp) + log_emission[t * k + j];
            }
            la.copy_from_slice(next);
        }
        T::log_sum_exp(la)
    })
}

/// One tape node: value and partials from the `f64` forward–backward kernel.
fn fused<T: Scalar>(log_init: &[T], log_trans: &[T], log_emission: &[T], k: usize) -> T {
    let len = k + k * k + log_emission.len();
    scratch::with_vec(|values: &mut Vec<f64>| {
        values.clear();
        values.extend(
            log_init
                .iter()
                .chain(log_trans)
                .chain(log_emission)
                .map(|x| x.value()),
        );
        scratch::with_vec(|partials: &mut Vec<f64>| {
            partials.clear();
            partials.resize(len, 0.0);
            let (lp, le) = values.split_at(k + k * k);
            let (li, lt) = lp.split_at(k);
            let value = kernel::with_probs(li, lt, |probs| {
                kernel::value_and_partials_prepared(probs, le, k, partials)
            });
            match value {
                Some(value) => record(log_init, log_trans, log_emission, value, partials),
                None => scaled_generic(log_init, log_trans, log_emission, k),
            }
        })
    })
}

/// Records `T::custom` over the concatenated inputs.
fn record<T: Scalar>(
    log_init: &[T],
    log_trans: &[T],
    log_emission: &[T],
    value: f64,
    partials: &[f64],
) -> T {
    scratch::with_vec(|inputs: &mut Vec<T>| {
        inputs.clear();
        inputs.extend_from_slice(log_init);
        inputs.extend_from_slice(log_trans);
        inputs.extend_from_slice(log_emission);
        T::custom(inputs, value, partials)
    })
}

/// Fills the `T × K` emission matrix of `seq` (row-major) into `out`.
pub(crate) fn fill_emission<T: Scalar, E: Emission<T> + ?Sized>(
    emission: &E,
    seq: &[E::Obs],
    out: &mut [T],
) {
    let k = emission.n_states();
    for (t, row) in out.chunks_exact_mut(k).enumerate() {
        emission.log_densities(seq, t, row);
    }
}

/// The log-likelihood of one observation sequence under an emission model.
///
/// `log_init` and `log_trans` as in [`forward_log_likelihood`]; `K` is
/// `emission.n_states()`. The emission matrix is filled into a reused scratch buffer, so
/// repeated calls allocate nothing.
///
/// # Errors
/// Wrong parameter lengths, an empty sequence, or an emission log-density that is NaN or
/// `+inf` (named by position and state).
pub fn log_likelihood<T: Scalar, E: Emission<T> + ?Sized>(
    log_init: &[T],
    log_trans: &[T],
    emission: &E,
    seq: &[E::Obs],
) -> Result<T, HmmError> {
    let k = emission.n_states();
    check_params(log_init, log_trans, k)?;
    if seq.is_empty() {
        return Err(HmmError::EmptySequence { sequence: 0 });
    }
    if T::PREFERS_CUSTOM {
        let mut out = [T::cst(0.0)];
        batch_fused(
            log_init,
            log_trans,
            emission,
            seq,
            &[0, seq.len()],
            &mut out,
            false,
        )?;
        Ok(out[0])
    } else {
        with_generic_probs(log_init, log_trans, |probs| {
            sequence_value(probs, emission, seq)
        })
    }
}

/// One sequence through the generic recursion, the parameters prepared.
fn sequence_value<T: Scalar, E: Emission<T> + ?Sized>(
    probs: &GenericProbs<'_, T>,
    emission: &E,
    seq: &[E::Obs],
) -> Result<T, HmmError> {
    let k = emission.n_states();
    if seq.is_empty() {
        return Err(HmmError::EmptySequence { sequence: 0 });
    }
    scratch::with_vec(|le: &mut Vec<T>| {
        le.clear();
        le.resize(seq.len() * k, T::cst(0.0));
        fill_emission(emission, seq, le);
        check_emission_values(le.iter().map(|x| x.value()), k)?;
        Ok(scaled_prepared(probs, le, k))
    })
}

/// The total log-likelihood of a batch of independent sequences: the sum of the
/// per-sequence values in sequence order.
///
/// With `f64` values (and forward-mode duals over `f64`), and for the `f64` forward–backward
/// work of reverse mode, large batches run in parallel over sequences on the current rayon
/// pool; the per-sequence results are the same as serially and are summed in the same fixed
/// order, so the result is bit-identical to the serial one. Small batches, or a pool of one
/// thread, run serially (and, once warm, allocate nothing).
///
/// # Errors
/// As [`log_likelihood`], naming the sequence.
pub fn batch_log_likelihood<T, E>(
    log_init: &[T],
    log_trans: &[T],
    emission: &E,
    sequences: &Sequences<E::Obs>,
) -> Result<T, HmmError>
where
    T: Scalar,
    E: Emission<T> + Sync + ?Sized,
    E::Obs: Sync,
{
    scratch::with_vec(|values: &mut Vec<T>| {
        values.clear();
        values.resize(sequences.len(), T::cst(0.0));
        per_sequence_log_likelihood_into(log_init, log_trans, emission, sequences, values)?;
        Ok(T::sum_of(values))
    })
}

/// The log-likelihood of each sequence of a batch, in order.
///
/// # Errors
/// As [`batch_log_likelihood`].
pub fn per_sequence_log_likelihood<T, E>(
    log_init: &[T],
    log_trans: &[T],
    emission: &E,
    sequences: &Sequences<E::Obs>,
) -> Result<Vec<T>, HmmError>
where
    T: Scalar,
    E: Emission<T> + Sync + ?Sized,
    E::Obs: Sync,
{
    let mut out = vec![T::cst(0.0); sequences.len()];
    per_sequence_log_likelihood_into(log_init, log_trans, emission, sequences, &mut out)?;
    Ok(out)
}

/// Below this much work (observations × K × (K + 4)), a batch is evaluated serially: waking
/// a thread pool costs about 20 µs.
pub const PARALLEL_MIN_WORK: usize = 32_768;

/// Scalar types that carry no thread-local state, so that generic evaluation may run on pool
/// threads: `f64` and forward-mode duals over `f64`.
fn is_thread_safe<T: 'static>() -> bool {
    let id = TypeId::of::<T>();
    id == TypeId::of::<f64>()
        || id == TypeId::of::<Dual<f64>>()
        || id == TypeId::of::<DualVec<f64, 2>>()
        || id == TypeId::of::<DualVec<f64, 4>>()
        || id == TypeId::of::<DualVec<f64, 8>>()
        || id == TypeId::of::<DualVec<f64, 16>>()
        || id == TypeId::of::<Dual<Dual<f64>>>()
        || id == TypeId::of::<DualVec<Dual<f64>, 8>>()
}

fn work(sequences_total_len: usize, k: usize) -> usize {
    sequences_total_len.saturating_mul(k).saturating_mul(k + 4)
}

/// Whether to use the rayon pool for `n` sequences with this much work.
fn go_parallel(n: usize, work: usize) -> bool {
    n >= 2 && work >= PARALLEL_MIN_WORK && rayon::current_num_threads() > 1
}

/// [`per_sequence_log_likelihood`] into a caller's buffer (`out.len()` = number of
/// sequences); allocation-free once warm on the serial path.
///
/// # Errors
/// As [`batch_log_likelihood`].
pub fn per_sequence_log_likelihood_into<T, E>(
    log_init: &[T],
    log_trans: &[T],
    emission: &E,
    sequences: &Sequences<E::Obs>,
    out: &mut [T],
) -> Result<(), HmmError>
where
    T: Scalar,
    E: Emission<T> + Sync + ?Sized,
    E::Obs: Sync,
{
    let k = emission.n_states();
    check_params(log_init, log_trans, k)?;
    if out.len() != sequences.len() {
        return Err(HmmError::WrongLength {
            what: "output buffer (one entry per sequence)",
            expected: sequences.len(),
            found: out.len(),
        });
    }
    let parallel = go_parallel(sequences.len(), work(sequences.total_len(), k));
    if T::PREFERS_CUSTOM {
        batch_fused(
            log_init,
            log_trans,
            emission,
            sequences.flat(),
            sequences.offsets(),
            out,
            parallel,
        )
    } else {
        with_generic_probs(log_init, log_trans, |probs| {
            if parallel && is_thread_safe::<T>() {
                let offsets = sequences.offsets();
                let grain = grain(work(sequences.total_len(), k));
                par_ranges(
                    out,
                    sequences.len(),
                    &|s| s,
                    &|s| work(offsets[s], k),
                    grain,
                    &|s, slot: &mut [T]| {
                        slot[0] = sequence_value(probs, emission, &sequences[s])
                            .map_err(|e| e.in_sequence(s))?;
                        Ok(())
                    },
                )
            } else {
                for (s, (slot, seq)) in out.iter_mut().zip(sequences).enumerate() {
                    *slot = sequence_value(probs, emission, seq).map_err(|e| e.in_sequence(s))?;
                }
                Ok(())
            }
        })
    }
}

/// A function of a sequence index (slot bounds, cumulative work), shareable across threads.
type IndexFn<'a> = &'a (dyn Fn(usize) -> usize + Sync);

/// The work on one sequence's slot, shareable across threads.
type SlotFn<'a, X> = &'a (dyn Fn(usize, &mut [X]) -> Result<(), HmmError> + Sync);

/// Splits the work into about `4 × threads` pieces.
fn grain(total_work: usize) -> usize {
    (total_work / (4 * rayon::current_num_threads().max(1))).max(PARALLEL_MIN_WORK / 4)
}

/// Runs `f(s, &mut buf[bound(s) .. bound(s + 1)])` for every `s < count` (`bound(0) == 0`,
/// `bound(count) == buf.len()`), splitting the range in halves with `rayon::join` while its
/// work (`cum_work(end) - cum_work(start)`) exceeds `grain`. The first error in sequence
/// order wins, as serially.
fn par_ranges<X: Send>(
    buf: &mut [X],
    count: usize,
    bound: IndexFn<'_>,
    cum_work: IndexFn<'_>,
    grain: usize,
    f: SlotFn<'_, X>,
) -> Result<(), HmmError> {
    debug_assert_eq!(bound(count) - bound(0), buf.len());
    par_ranges_rec(buf, 0, count, bound, cum_work, grain, f)
}

fn par_ranges_rec<X: Send>(
    buf: &mut [X],
    start: usize,
    end: usize,
    bound: IndexFn<'_>,
    cum_work: IndexFn<'_>,
    grain: usize,
    f: SlotFn<'_, X>,
) -> Result<(), HmmError> {
    let base = bound(start);
    if end - start <= 1 || cum_work(end) - cum_work(start) <= grain {
        for s in start..end {
            f(s, &mut buf[bound(s) - base..bound(s + 1) - base])?;
        }
        return Ok(());
    }
    let mid = start + (end - start) / 2;
    let (left, right) = buf.split_at_mut(bound(mid) - base);
    let (l, r) = rayon::join(
        || par_ranges_rec(left, start, mid, bound, cum_work, grain, f),
        || par_ranges_rec(right, mid, end, bound, cum_work, grain, f),
    );
    l.and(r)
}

/// Reverse mode over a batch (sequence `s` is `flat[offsets[s]..offsets[s + 1]]`): the
/// `f64` forward–backward of every sequence runs serially or in parallel with identical
/// results, then one node per sequence is recorded on this thread in sequence order. With an
/// emission that offers [`Emission::fused_parameters`], its Jacobian is folded into the
/// kernel and a node's inputs are `[log_init | log_trans | θ]`; otherwise the emission
/// densities are recorded on this thread first and a node's inputs are
/// `[log_init | log_trans | ℓ of the sequence]`.
fn batch_fused<T, E>(
    log_init: &[T],
    log_trans: &[T],
    emission: &E,
    flat: &[E::Obs],
    offsets: &[usize],
    out: &mut [T],
    parallel: bool,
) -> Result<(), HmmError>
where
    T: Scalar,
    E: Emission<T> + ?Sized,
{
    scratch::with_vec(|theta: &mut Vec<T>| {
        theta.clear();
        if emission.fused_parameters(theta) {
            batch_fused_emission(
                log_init, log_trans, emission, theta, flat, offsets, out, parallel,
            )
        } else {
            batch_fused_nodes(log_init, log_trans, emission, flat, offsets, out, parallel)
        }
    })
}

/// Runs `run(s, slot)` for every sequence over the per-sequence slots of `slots`
/// (`bound(s)..bound(s + 1)`), serially or in parallel.
fn for_each_slot(
    slots: &mut [f64],
    n: usize,
    bound: IndexFn<'_>,
    cum_work: IndexFn<'_>,
    total_work: usize,
    parallel: bool,
    run: SlotFn<'_, f64>,
) -> Result<(), HmmError> {
    if parallel {
        par_ranges(slots, n, bound, cum_work, grain(total_work), run)
    } else {
        let mut rest = slots;
        for s in 0..n {
            let (slot, tail) = rest.split_at_mut(bound(s + 1) - bound(s));
            run(s, slot)?;
            rest = tail;
        }
        Ok(())
    }
}

/// [`batch_fused`] for an emission with the fused fast path.
#[allow(clippy::too_many_arguments)]
fn batch_fused_emission<T, E>(
    log_init: &[T],
    log_trans: &[T],
    emission: &E,
    theta: &[T],
    flat: &[E::Obs],
    offsets: &[usize],
    out: &mut [T],
    parallel: bool,
) -> Result<(), HmmError>
where
    T: Scalar,
    E: Emission<T> + ?Sized,
{
    let k = emission.n_states();
    let kk = k + k * k;
    let np = theta.len();
    let n = offsets.len() - 1;
    let total = offsets[n];
    scratch::with_vec(|values: &mut Vec<f64>| {
        // 1. Plain log-densities and their Jacobians (zeroed buffers), checked.
        values.clear();
        values.extend(log_init.iter().chain(log_trans).map(|x| x.value()));
        values.resize(kk + total * k * (1 + np), 0.0);
        let (params, rest) = values.split_at_mut(kk);
        let (le, jac) = rest.split_at_mut(total * k);
        for s in 0..n {
            let seq = &flat[offsets[s]..offsets[s + 1]];
            for t in 0..seq.len() {
                let i = offsets[s] + t;
                emission.log_densities_with_jacobian(
                    seq,
                    t,
                    &mut le[i * k..(i + 1) * k],
                    &mut jac[i * k * np..(i + 1) * k * np],
                );
            }
            check_emission_values(le[offsets[s] * k..offsets[s + 1] * k].iter().copied(), k)
                .map_err(|e| e.in_sequence(s))?;
        }
        let (le, jac) = (&*le, &*jac);
        let (li, lt) = params.split_at(k);
        // 2. Per sequence s, a slot [value | ∂/∂log_init, ∂/∂log_trans (K + K²) | ∂/∂θ (P) |
        //    ∂/∂ℓ (Tₛ K)]: the kernel's partials, then the chain rule through the Jacobian.
        let bound = |s: usize| s * (1 + kk + np) + offsets[s] * k;
        kernel::with_probs(li, lt, |probs| {
            scratch::with_vec(|slots: &mut Vec<f64>| {
                slots.clear();
                slots.resize(bound(n), 0.0);
                let run = |s: usize, slot: &mut [f64]| {
                    let range = offsets[s] * k..offsets[s + 1] * k;
                    let (v, rest) = slot.split_at_mut(1);
                    let (d_params, rest) = rest.split_at_mut(kk);
                    let (d_theta, d_le) = rest.split_at_mut(np);
                    let value = kernel::value_and_partials_split(
                        probs,
                        &le[range.clone()],
                        k,
                        d_params,
                        d_le,
                    );
                    if value.is_some() {
                        // ∂/∂θ_p = Σ_{t,k} γ[t][k] ∂ℓ[t][k]/∂θ_p.
                        contract(d_le, &jac[range.start * np..range.end * np], d_theta);
                    }
                    v[0] = value.unwrap_or(f64::NAN);
                    Ok(())
                };
                for_each_slot(
                    slots,
                    n,
                    &bound,
                    &|s| work(offsets[s], k),
                    work(total, k),
                    parallel,
                    &run,
                )?;
                // 3. One node per sequence, in order, on this thread.
                scratch::with_vec(|inputs: &mut Vec<T>| {
                    inputs.clear();
                    inputs.extend_from_slice(log_init);
                    inputs.extend_from_slice(log_trans);
                    inputs.extend_from_slice(theta);
                    for (s, o) in out.iter_mut().enumerate() {
                        let slot = &slots[bound(s)..bound(s + 1)];
                        *o = if slot[0].is_nan() {
                            // Probability space failed: the generic code on recorded densities.
                            let seq = &flat[offsets[s]..offsets[s + 1]];
                            scratch::with_vec(|le_t: &mut Vec<T>| {
                                le_t.clear();
                                le_t.resize(seq.len() * k, T::cst(0.0));
                                fill_emission(emission, seq, le_t);
                                scaled_generic(log_init, log_trans, le_t, k)
                            })
                        } else {
                            T::custom(inputs, slot[0], &slot[1..1 + kk + np])
                        };
                    }
                });
                Ok(())
            })
        })
    })
}

/// `out[p] = Σᵢ g[i] jac[i · P + p]` (`P = out.len()`), in a fixed order, with independent
/// register accumulators for small `P` (a running sum in memory would serialise on
/// store-to-load latency).
fn contract(g: &[f64], jac: &[f64], out: &mut [f64]) {
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

/// [`batch_fused`] with emission densities recorded one node each.
fn batch_fused_nodes<T, E>(
    log_init: &[T],
    log_trans: &[T],
    emission: &E,
    flat: &[E::Obs],
    offsets: &[usize],
    out: &mut [T],
    parallel: bool,
) -> Result<(), HmmError>
where
    T: Scalar,
    E: Emission<T> + ?Sized,
{
    let k = emission.n_states();
    let kk = k + k * k;
    let n = offsets.len() - 1;
    let total = offsets[n];
    scratch::with_vec(|le: &mut Vec<T>| {
        // 1. Emission log-densities of every sequence, on this thread (they may record).
        le.clear();
        le.resize(total * k, T::cst(0.0));
        for s in 0..n {
            let seq = &flat[offsets[s]..offsets[s + 1]];
            fill_emission(emission, seq, &mut le[offsets[s] * k..offsets[s + 1] * k]);
        }
        scratch::with_vec(|values: &mut Vec<f64>| {
            values.clear();
            values.extend(log_init.iter().chain(log_trans).map(|x| x.value()));
            values.extend(le.iter().map(|x| x.value()));
            let (params, le_values) = values.split_at(kk);
            for s in 0..n {
                let range = offsets[s] * k..offsets[s + 1] * k;
                check_emission_values(le_values[range].iter().copied(), k)
                    .map_err(|e| e.in_sequence(s))?;
            }
            let (li, lt) = params.split_at(k);
            // 2. Per sequence s, a slot [value | partials (K + K² + Tₛ K)].
            let bound = |s: usize| s * (1 + kk) + offsets[s] * k;
            kernel::with_probs(li, lt, |probs| {
                scratch::with_vec(|slots: &mut Vec<f64>| {
                    slots.clear();
                    slots.resize(bound(n), 0.0);
                    let run = |s: usize, slot: &mut [f64]| {
                        let (v, partials) = slot.split_at_mut(1);
                        let le_s = &le_values[offsets[s] * k..offsets[s + 1] * k];
                        v[0] = kernel::value_and_partials_prepared(probs, le_s, k, partials)
                            .unwrap_or(f64::NAN);
                        Ok(())
                    };
                    for_each_slot(
                        slots,
                        n,
                        &bound,
                        &|s| work(offsets[s], k),
                        work(total, k),
                        parallel,
                        &run,
                    )?;
                    // 3. One node per sequence, in order, on this thread.
                    for (s, o) in out.iter_mut().enumerate() {
                        let slot = &slots[bound(s)..bound(s + 1)];
                        let le_s = &le[offsets[s] * k..offsets[s + 1] * k];
                        *o = if slot[0].is_nan() {
                            // Probability space failed: the generic code.
                            scaled_generic(log_init, log_trans, le_s, k)
                        } else {
                            record(log_init, log_trans, le_s, slot[0], &slot[1..])
                        };
                    }
                    Ok(())
                })
            })
        })
    })
}
