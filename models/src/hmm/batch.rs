//! The batch driver: a batch of ragged sequences evaluated serially or in parallel over
//! sequences on the current rayon pool, with per-sequence results identical either way
//! (each sequence is computed by the same code; the split only decides which thread).

use std::any::TypeId;

use trellis_ad::{Dual, DualVec, Scalar};

use super::checks::check_params;
use super::data::Sequences;
use super::error::HmmError;
use super::forward::sequence_value;
use super::missing::MissingSteps;
use super::recursion::with_probs;
use super::reverse;
use crate::emission::Emission;

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
        || id == TypeId::of::<DualVec<f64, 8, false>>()
        || id == TypeId::of::<DualVec<f64, 16>>()
        || id == TypeId::of::<Dual<Dual<f64>>>()
        || id == TypeId::of::<DualVec<Dual<f64>, 8>>()
}

/// The work of `sequences_total_len` observations with `k` states.
pub(crate) fn work(sequences_total_len: usize, k: usize) -> usize {
    sequences_total_len.saturating_mul(k).saturating_mul(k + 4)
}

/// Whether to use the rayon pool for `n` sequences with this much work.
pub(crate) fn go_parallel(n: usize, work: usize) -> bool {
    n >= 2 && work >= PARALLEL_MIN_WORK && rayon::current_num_threads() > 1
}

/// [`per_sequence_log_likelihood`](super::per_sequence_log_likelihood) into a caller's buffer (`out.len()` = number of
/// sequences); allocation-free once warm on the serial path. Missing observations
/// ([`Sequences::with_missing`]) are marginalised, through the same (serial or parallel)
/// routes as complete data.
///
/// # Errors
/// As [`batch_log_likelihood`](super::batch_log_likelihood).
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
    if T::CUSTOM_IS_CHEAPER {
        reverse::batch_fused(
            log_init,
            log_trans,
            emission,
            sequences.flat(),
            sequences.offsets(),
            sequences.missing(),
            out,
            parallel,
        )
    } else {
        let offsets = sequences.offsets();
        with_probs(log_init, log_trans, |probs| {
            for_each_slot(
                out,
                sequences.len(),
                &|s| s,
                &|s| work(offsets[s], k),
                work(sequences.total_len(), k),
                parallel && is_thread_safe::<T>(),
                &|s, slot: &mut [T]| {
                    let view = MissingSteps::new(emission, sequences.missing_of(s));
                    slot[0] = sequence_value(probs, &view, &sequences[s])
                        .map_err(|e| e.in_sequence(s))?;
                    Ok(())
                },
            )
        })
    }
}

/// A function of a sequence index (slot bounds, cumulative work), shareable across threads.
pub(crate) type IndexFn<'a> = &'a (dyn Fn(usize) -> usize + Sync);

/// The work on one sequence's slot, shareable across threads.
pub(crate) type SlotFn<'a, X> = &'a (dyn Fn(usize, &mut [X]) -> Result<(), HmmError> + Sync);

/// Splits the work into about `4 × threads` pieces.
fn grain(total_work: usize) -> usize {
    (total_work / (4 * rayon::current_num_threads().max(1))).max(PARALLEL_MIN_WORK / 4)
}

/// Runs `f(s, &mut buf[bound(s) - bound(start) .. bound(s + 1) - bound(start)])` for every
/// `s` in `start..end` (`buf` spans the slots of exactly that range), splitting the range in
/// halves with `rayon::join` while its work (`cum_work(end) - cum_work(start)`) exceeds
/// `grain`. The first error in sequence order wins, as serially.
fn par_ranges<X: Send>(
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
        || par_ranges(left, start, mid, bound, cum_work, grain, f),
        || par_ranges(right, mid, end, bound, cum_work, grain, f),
    );
    l.and(r)
}

/// Runs `run(s, slot)` for every sequence over the per-sequence slots of `slots`
/// (`bound(s)..bound(s + 1)`), serially or in parallel.
pub(crate) fn for_each_slot<X: Send>(
    slots: &mut [X],
    n: usize,
    bound: IndexFn<'_>,
    cum_work: IndexFn<'_>,
    total_work: usize,
    parallel: bool,
    run: SlotFn<'_, X>,
) -> Result<(), HmmError> {
    if parallel {
        debug_assert_eq!(bound(n) - bound(0), slots.len());
        par_ranges(slots, 0, n, bound, cum_work, grain(total_work), run)
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
