//! The forward algorithm, written once over [`Scalar`].
//!
//! [`forward_log_likelihood_generic`] is the single source of truth: a scaled recursion in
//! probability space (each step's emission log-densities are shifted by their maximum before
//! exponentiating, the forward vector is normalised, and the normalisers' logarithms are
//! accumulated), which falls back to a log-space recursion if a normaliser ever under- or
//! overflows. Evaluated with `f64` it gives values, with duals forward-mode derivatives, with
//! `Var` reverse-mode derivatives.
//!
//! [`forward_log_likelihood`] is what callers use: for scalar types that prefer custom
//! operations (reverse mode, `T::PREFERS_CUSTOM`), it computes the value and all partials
//! with the fused forward–backward [`kernel`](super::kernel) and records one tape node;
//! otherwise it runs the generic recursion. Property tests check the two against each other.
//!
//! Zero probabilities (`-inf` log-probabilities or log-densities) are allowed everywhere: the
//! value is right and the derivatives are finite wherever the value is finite.

use std::any::TypeId;

use trellis_ad::{scratch, Dual, DualVec, Scalar};

use super::data::Sequences;
use super::error::HmmError;
use super::kernel::{
    self, any_tiny, any_underflow, mass_growth_bound, rescaling, row_max, weighted_max, LogAccumulator, LostMass, LARGE,
    NEGLIGIBLE, SMALL,
};
use crate::emission::Emission;

/// Checks the shapes and the values of the parameters of one evaluation.
pub(crate) fn check_params<T: Scalar>(log_init: &[T], log_trans: &[T], k: usize) -> Result<(), HmmError> {
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
pub(crate) fn check_emission_values(values: impl Iterator<Item = f64>, k: usize) -> Result<(), HmmError> {
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

#[inline]
fn accumulate_generic<T: Scalar>(acc: &mut LogAccumulator<T>, c: T) {
    acc.prod *= c;
    if !(SMALL..=LARGE).contains(&acc.prod.value()) {
        acc.log += acc.prod.ln();
        acc.prod = T::cst(1.0);
    }
}

/// `a[j] = pred[j] · exp(row[j] - m)` (a constant 0 where either factor is an exact zero);
/// returns `Σ a`. Sets `*lost` as the kernel's `weigh` does.
#[inline]
fn weigh_generic<T: Scalar>(pred: &[T], row: &[T], m: f64, a: &mut [T], lost: &mut bool) -> T {
    for j in 0..pred.len() {
        a[j] = if pred[j].value() == 0.0 || row[j].value() == f64::NEG_INFINITY {
            T::cst(0.0)
        } else {
            let e = (row[j] - m).exp();
            let aj = pred[j] * e;
            if e.value() < f64::MIN_POSITIVE || aj.value() < f64::MIN_POSITIVE {
                *lost = true;
            }
            aj
        };
    }
    let mut c = a[0];
    for &x in &a[1..] {
        c += x;
    }
    c
}

/// Scaled forward recursion on validated inputs. Its `f64` instance performs exactly the
/// operations of the forward pass of [`kernel::value_and_partials`].
pub(crate) fn scaled_generic<T: Scalar>(
    log_init: &[T],
    log_trans: &[T],
    log_emission: &[T],
    k: usize,
) -> T {
    let n = log_emission.len() / k;
    let result = scratch::with_vec(|buf: &mut Vec<T>| {
        buf.clear();
        buf.resize(k + k * k + 2 * k, T::cst(0.0));
        let (pi, rest) = buf.split_at_mut(k);
        let (p, rest) = rest.split_at_mut(k * k);
        let (a, pred) = rest.split_at_mut(k);
        for (x, &l) in pi.iter_mut().zip(log_init) {
            *x = l.exp();
        }
        for (x, &l) in p.iter_mut().zip(log_trans) {
            *x = l.exp();
        }
        let mut shift = 0.0;
        let mut acc = LogAccumulator {
            log: T::cst(0.0),
            prod: T::cst(1.0),
        };
        let r = scratch::with_vec(|pv: &mut Vec<f64>| {
            pv.clear();
            pv.extend(p.iter().map(|x| x.value()));
            mass_growth_bound(pi.iter().map(|x| x.value()), pv, k)
        });
        if any_tiny(pi.iter().chain(p.iter()).map(|x| x.value())) {
            return None;
        }
        let mut lost_mass = LostMass::new(k, r);
        let pi_underflow =
            any_underflow(log_init.iter().zip(pi.iter()).map(|(l, x)| (l.value(), x.value())));
        let p_underflow =
            any_underflow(log_trans.iter().zip(p.iter()).map(|(l, x)| (l.value(), x.value())));
        for t in 0..n {
            let row = &log_emission[t * k..(t + 1) * k];
            let m_row = row_max(row.iter().map(|x| x.value()));
            if m_row == f64::NEG_INFINITY {
                return Some(T::cst(f64::NEG_INFINITY));
            }
            // Predicted (unnormalised) state weights. Exact zeros (zero probabilities, -inf
            // log-densities, underflow) are kept as constants, cut from the derivative graph:
            // their true derivatives are zero, and a product with a zero-valued factor would
            // otherwise multiply a possibly huge adjoint by 0 (NaN once it overflowed).
            let mut lost_pred = if t == 0 { pi_underflow } else { p_underflow };
            if t == 0 {
                pred.copy_from_slice(pi);
            } else {
                for j in 0..k {
                    let mut s: Option<T> = None;
                    for i in 0..k {
                        let pij = p[i * k + j];
                        if a[i].value() != 0.0 && pij.value() != 0.0 {
                            let term = a[i] * pij;
                            if term.value() < f64::MIN_POSITIVE {
                                lost_pred = true;
                            }
                            s = Some(match s {
                                None => term,
                                Some(s) => s + term,
                            });
                        }
                    }
                    pred[j] = s.unwrap_or(T::cst(0.0));
                }
            }
            let mut m = m_row;
            let mut lost = false;
            let mut c = weigh_generic(pred, row, m, a, &mut lost);
            if c.value() < SMALL {
                // See the kernel: shift by the largest predicted-times-emission weight.
                m = weighted_max(pred.iter().zip(row).map(|(q, l)| (q.value(), l.value())));
                if m == f64::NEG_INFINITY {
                    return None;
                }
                lost = false;
                c = weigh_generic(pred, row, m, a, &mut lost);
            }
            lost_mass.step(lost || lost_pred, m_row - m, c.value());
            let (scale, log_scale) = rescaling(c.value())?;
            if scale != 1.0 {
                for x in a.iter_mut() {
                    *x *= scale;
                }
                c *= scale;
            }
            let inv = T::cst(1.0) / c;
            let mut lost_norm = false;
            for x in a.iter_mut() {
                *x = if x.value() == 0.0 {
                    T::cst(0.0)
                } else {
                    let y = *x * inv;
                    if y.value() < NEGLIGIBLE {
                        lost_norm = true;
                        T::cst(0.0)
                    } else {
                        y
                    }
                };
            }
            lost_mass.normalised(k, lost_norm);
            if !lost_mass.ok() {
                return None;
            }
            shift += m + log_scale;
            accumulate_generic(&mut acc, c);
        }
        Some(acc.log + acc.prod.ln() + shift)
    });
    // A normaliser under- or overflowed: redo the sequence in log space.
    result.unwrap_or_else(|| log_space_generic(log_init, log_trans, log_emission, k))
}

/// Log-space forward recursion on validated inputs.
fn log_space_generic<T: Scalar>(log_init: &[T], log_trans: &[T], log_emission: &[T], k: usize) -> T {
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
            match kernel::value_and_partials(li, lt, le, k, partials) {
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
pub(crate) fn fill_emission<T: Scalar, E: Emission<T> + ?Sized>(emission: &E, seq: &[E::Obs], out: &mut [T]) {
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
    scratch::with_vec(|le: &mut Vec<T>| {
        le.clear();
        le.resize(seq.len() * k, T::cst(0.0));
        fill_emission(emission, seq, le);
        check_emission_values(le.iter().map(|x| x.value()), k)?;
        Ok(if T::PREFERS_CUSTOM {
            fused(log_init, log_trans, le, k)
        } else {
            scaled_generic(log_init, log_trans, le, k)
        })
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
        batch_fused(log_init, log_trans, emission, sequences, out, parallel)
    } else if parallel && is_thread_safe::<T>() {
        let offsets = sequences.offsets();
        let grain = grain(work(sequences.total_len(), k));
        par_ranges(
            out,
            sequences.len(),
            &|s| s,
            &|s| work(offsets[s], k),
            grain,
            &|s, slot: &mut [T]| {
                slot[0] = log_likelihood(log_init, log_trans, emission, &sequences[s])
                    .map_err(|e| e.in_sequence(s))?;
                Ok(())
            },
        )
    } else {
        for (s, (slot, seq)) in out.iter_mut().zip(sequences).enumerate() {
            *slot = log_likelihood(log_init, log_trans, emission, seq)
                .map_err(|e| e.in_sequence(s))?;
        }
        Ok(())
    }
}

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
    bound: &(dyn Fn(usize) -> usize + Sync),
    cum_work: &(dyn Fn(usize) -> usize + Sync),
    grain: usize,
    f: &(dyn Fn(usize, &mut [X]) -> Result<(), HmmError> + Sync),
) -> Result<(), HmmError> {
    debug_assert_eq!(bound(count) - bound(0), buf.len());
    par_ranges_rec(buf, 0, count, bound, cum_work, grain, f)
}

fn par_ranges_rec<X: Send>(
    buf: &mut [X],
    start: usize,
    end: usize,
    bound: &(dyn Fn(usize) -> usize + Sync),
    cum_work: &(dyn Fn(usize) -> usize + Sync),
    grain: usize,
    f: &(dyn Fn(usize, &mut [X]) -> Result<(), HmmError> + Sync),
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

/// Reverse mode over a batch: emission matrices recorded on this thread; the `f64`
/// forward–backward of every sequence (serially or in parallel, with identical results);
/// then one node per sequence, recorded on this thread in sequence order.
fn batch_fused<T, E>(
    log_init: &[T],
    log_trans: &[T],
    emission: &E,
    sequences: &Sequences<E::Obs>,
    out: &mut [T],
    parallel: bool,
) -> Result<(), HmmError>
where
    T: Scalar,
    E: Emission<T> + Sync + ?Sized,
    E::Obs: Sync,
{
    let k = emission.n_states();
    let kk = k + k * k;
    let n = sequences.len();
    let total = sequences.total_len();
    let offsets = sequences.offsets();
    scratch::with_vec(|le: &mut Vec<T>| {
        // 1. Emission log-densities of every sequence, on this thread (they may record).
        le.clear();
        le.resize(total * k, T::cst(0.0));
        for (s, seq) in sequences.iter().enumerate() {
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
            scratch::with_vec(|slots: &mut Vec<f64>| {
                slots.clear();
                slots.resize(bound(n), 0.0);
                let run = |s: usize, slot: &mut [f64]| {
                    let (v, partials) = slot.split_at_mut(1);
                    let le_s = &le_values[offsets[s] * k..offsets[s + 1] * k];
                    v[0] = kernel::value_and_partials(li, lt, le_s, k, partials).unwrap_or(f64::NAN);
                    Ok(())
                };
                if parallel {
                    let grain = grain(work(total, k));
                    par_ranges(slots, n, &bound, &|s| work(offsets[s], k), grain, &run)?;
                } else {
                    let mut rest = &mut slots[..];
                    for s in 0..n {
                        let (slot, tail) = rest.split_at_mut(bound(s + 1) - bound(s));
                        run(s, slot)?;
                        rest = tail;
                    }
                }
                // 3. One node per sequence, in order, on this thread.
                for (s, o) in out.iter_mut().enumerate() {
                    let slot = &slots[bound(s)..bound(s + 1)];
                    let le_s = &le[offsets[s] * k..offsets[s + 1] * k];
                    *o = if slot[0].is_nan() {
                        // The probability-space recursion under- or overflowed: generic code.
                        scaled_generic(log_init, log_trans, le_s, k)
                    } else {
                        record(log_init, log_trans, le_s, slot[0], &slot[1..])
                    };
                }
                Ok(())
            })
        })
    })
}
