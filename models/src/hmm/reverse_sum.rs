//! Reverse mode over a batch whose total alone is differentiated ([`batch_log_likelihood`]),
//! when the per-sequence nodes of [`super::reverse`] would be large: each of those carries
//! its own `∂/∂log_init, ∂/∂log_trans, ∂/∂θ` (`K + K² + P` operands), so `N` sequences cost
//! `O(N · K²)` memory twice over (the slots, then the tape). Here those partials are summed
//! over the sequences instead, in a fixed order — fixed blocks of consecutive sequences (how
//! many depends only on `N`, `K` and `P`), each summed in sequence order, the blocks in block
//! order — so the result is the same serially and in parallel whatever the thread count, and
//! the whole batch is one tape node of `O(K² + P + T·K)` operands: `O(K·T + K²)` memory.
//! Only the order of the sums differs from the per-sequence path (agreement to rounding).
//!
//! [`batch_log_likelihood`]: super::batch_log_likelihood

use std::cell::RefCell;

use trellis_ad::{scratch, Scalar};

use super::adjoint::{self, with_stale};
use super::batch::{for_each_slot, go_parallel, work, IndexFn, SlotFn};
use super::checks::{check_params, check_plain_emission};
use super::data::Sequences;
use super::error::HmmError;
use super::forward::fill_emission;
use super::missing::MissingSteps;
use super::recursion::{self, with_probs};
use super::reverse::FusedEmissionValues;
use crate::emission::{Emission, FusedEmission};

thread_local! {
    /// This thread's block slots of a batch (see [`Blocks`]).
    static BLOCKS: RefCell<Vec<f64>> = const { RefCell::new(Vec::new()) };
    /// This thread's partials of one sequence before they are added to its block's sums.
    static TEMP: RefCell<Vec<f64>> = const { RefCell::new(Vec::new()) };
}

/// Beyond this many `f64` of per-sequence shared partials, `N · (K + K² + P)` (4 MiB), a
/// reverse-mode batch total is accumulated over sequences (this module) instead of recorded
/// one node per sequence: the reference model (`K = 3`, 70 sequences) stays far below it.
pub const ACCUMULATE_MIN: usize = 1 << 19;

/// The block sums take at most this many `f64` (16 MiB) …
const BLOCK_BUDGET: usize = 1 << 21;

/// … and there are at most this many blocks (enough to keep a pool busy).
const MAX_BLOCKS: usize = 16;

/// `N · (K + K² + P)`, saturating.
fn shared_partials(n: usize, k: usize, p: usize) -> usize {
    n.saturating_mul(k.saturating_mul(k).saturating_add(k).saturating_add(p))
}

/// The number of blocks for `n ≥ 1` sequences of `shared` shared partials each: a function of
/// `n` and `shared` only, never of the thread count, so the sums are reproducible.
fn n_blocks(n: usize, shared: usize) -> usize {
    (BLOCK_BUDGET / shared.max(1)).clamp(1, MAX_BLOCKS).min(n)
}

/// `a[i] += b[i]`.
fn add(a: &mut [f64], b: &[f64]) {
    for (x, y) in a.iter_mut().zip(b) {
        *x += y;
    }
}

/// The batch's total log-likelihood as one accumulated node when `T` prefers custom
/// operations and the per-sequence partials would exceed `threshold` `f64`; `None` (nothing
/// done) otherwise, for the per-sequence path.
pub(crate) fn batch_total<T, E>(
    log_init: &[T],
    log_trans: &[T],
    emission: &E,
    sequences: &Sequences<E::Obs>,
    threshold: usize,
) -> Option<Result<T, HmmError>>
where
    T: Scalar,
    E: Emission<T> + ?Sized,
{
    if !T::CUSTOM_IS_CHEAPER {
        return None;
    }
    let k = emission.n_states();
    let n = sequences.len();
    // Cheap test first: even with `P = 0` the batch may be small.
    if shared_partials(n, k, 0) <= threshold && emission.fused().is_none() {
        return None;
    }
    let inputs = Blocks {
        log_init,
        log_trans,
        emission,
        flat: sequences.flat(),
        offsets: sequences.offsets(),
        missing: sequences.missing(),
        parallel: go_parallel(n, work(sequences.total_len(), k)),
    };
    match emission.fused() {
        Some(fused) => scratch::with_vec(|theta: &mut Vec<T>| {
            theta.clear();
            fused.parameters(theta);
            if shared_partials(n, k, theta.len()) <= threshold {
                return None;
            }
            Some(
                check_params(log_init, log_trans, k)
                    .and_then(|()| total_fused(&inputs, fused, theta)),
            )
        }),
        None => Some(check_params(log_init, log_trans, k).and_then(|()| total_nodes(&inputs))),
    }
}

/// The inputs of [`batch_total`]: sequence `s` is `flat[offsets[s]..offsets[s + 1]]`.
///
/// Block `b` holds sequences `start(b)..start(b + 1)`; its slot (one buffer, the blocks one
/// after another) is `[Σ ∂/∂log_init, ∂/∂log_trans (K + K²) | Σ ∂/∂θ (P) | the value of each
/// of its sequences | (per-density nodes only) ∂/∂ℓ of its sequences]`.
struct Blocks<'a, T: Scalar, E: Emission<T> + ?Sized> {
    log_init: &'a [T],
    log_trans: &'a [T],
    emission: &'a E,
    flat: &'a [E::Obs],
    offsets: &'a [usize],
    missing: Option<&'a [bool]>,
    parallel: bool,
}

impl<'a, T: Scalar, E: Emission<T> + ?Sized> Blocks<'a, T, E> {
    /// `(K, K + K², number of sequences, total length)`.
    fn dims(&self) -> (usize, usize, usize, usize) {
        let k = self.emission.n_states();
        let n = self.offsets.len() - 1;
        (k, k + k * k, n, self.offsets[n])
    }

    /// The emission of sequence `s`: its missing steps (if any) marginalised.
    fn view(&self, s: usize) -> MissingSteps<'a, E> {
        let range = self.offsets[s]..self.offsets[s + 1];
        MissingSteps::new(self.emission, self.missing.map(|m| &m[range]))
    }

    /// Runs `run(b, slot)` for every block (`blocks` of them, sequence bounds `start`, slot
    /// bounds `bound`), serially or in parallel with identical results, then `record` on this
    /// thread with every slot.
    fn with_blocks<R>(
        &self,
        blocks: usize,
        start: IndexFn<'_>,
        bound: IndexFn<'_>,
        run: SlotFn<'_, f64>,
        record: impl FnOnce(&mut [f64]) -> R,
    ) -> Result<R, HmmError> {
        let (k, _, _, total) = self.dims();
        let offsets = self.offsets;
        let cum_work = |b: usize| work(offsets[start(b)], k);
        // Every entry of a slot that is read is written first (the sums are zeroed by `run`),
        // so the buffer is reused without zeroing.
        with_stale(&BLOCKS, bound(blocks), |slots| {
            for_each_slot(
                slots,
                blocks,
                bound,
                &cum_work,
                work(total, k),
                self.parallel,
                run,
            )?;
            Ok(record(slots))
        })
    }

    /// Sums every block's first `shared` entries into block 0's, in block order.
    fn sum_blocks(slots: &mut [f64], blocks: usize, shared: usize, bound: &dyn Fn(usize) -> usize) {
        let (first, rest) = slots.split_at_mut(shared);
        for b in 1..blocks {
            let at = bound(b) - shared;
            add(first, &rest[at..at + shared]);
        }
    }

    /// The generic recursion's value of sequence `s` (the adjoint found it impossible).
    fn fallback(&self, s: usize) -> T {
        let k = self.emission.n_states();
        let seq = &self.flat[self.offsets[s]..self.offsets[s + 1]];
        scratch::with_vec(|le: &mut Vec<T>| {
            le.clear();
            le.resize(seq.len() * k, T::constant(0.0));
            fill_emission(&self.view(s), seq, le);
            recursion::log_likelihood(self.log_init, self.log_trans, le, k)
        })
    }
}

/// `node`, plus the generic values of the sequences whose value in `values` (sequence order)
/// is NaN.
fn with_fallbacks<T: Scalar>(
    node: T,
    values: impl Iterator<Item = f64>,
    fallback: impl Fn(usize) -> T,
) -> T {
    scratch::with_vec(|terms: &mut Vec<T>| {
        terms.clear();
        terms.push(node);
        terms.extend(
            values
                .enumerate()
                .filter(|(_, v)| v.is_nan())
                .map(|(s, _)| fallback(s)),
        );
        if terms.len() == 1 {
            terms[0]
        } else {
            T::sum_of(terms)
        }
    })
}

/// [`batch_total`] for an emission with the fused fast path: one node over
/// `[log_init | log_trans | θ]`.
fn total_fused<T, E>(
    batch: &Blocks<'_, T, E>,
    fused: &dyn FusedEmission<T, Obs = E::Obs>,
    theta: &[T],
) -> Result<T, HmmError>
where
    T: Scalar,
    E: Emission<T> + ?Sized,
{
    let (k, kk, n, _) = batch.dims();
    let np = theta.len();
    let (log_init, log_trans) = (batch.log_init, batch.log_trans);
    let (flat, offsets) = (batch.flat, batch.offsets);
    // 1. Plain log-densities and their Jacobians, checked, on this thread.
    let parts = FusedEmissionValues::new(
        (log_init, log_trans),
        (flat, offsets),
        k,
        // The Jacobian stored even where the emission has its own product: the chain rule
        // runs on the blocks' threads here, where the emission (on this thread) is not.
        (fused.jacobian_width(), false),
        np,
    );
    parts.with_filled(&|s| batch.view(s), |filled| {
        let (li, lt, le) = (filled.log_init, filled.log_trans, filled.log_emission);
        // 2. Per block, the sums of the shared partials and each sequence's value.
        let shared = kk + np;
        let blocks = n_blocks(n, shared);
        let start = |b: usize| b * n / blocks;
        let bound = |b: usize| b * shared + start(b);
        let chain_rule =
            |s: usize, d_le: &[f64], d_theta: &mut [f64]| filled.chain_rule(s, d_le, d_theta);
        with_probs(li, lt, |probs| {
            let run = |b: usize, slot: &mut [f64]| {
                let (sums, seq_values) = slot.split_at_mut(shared);
                sums.fill(0.0);
                let longest = (start(b)..start(b + 1))
                    .map(|s| offsets[s + 1] - offsets[s])
                    .max()
                    .unwrap_or(0);
                with_stale(&TEMP, shared + longest * k, |temp| {
                    let (one, d_le) = temp.split_at_mut(shared);
                    for s in start(b)..start(b + 1) {
                        let range = offsets[s] * k..offsets[s + 1] * k;
                        let d_le = &mut d_le[..range.len()];
                        let (d_params, d_theta) = one.split_at_mut(kk);
                        let value =
                            adjoint::value_and_partials_split(probs, &le[range], k, d_params, d_le);
                        seq_values[s - start(b)] = value.unwrap_or(f64::NAN);
                        if value.is_some() {
                            chain_rule(s, d_le, d_theta);
                            add(sums, one);
                        }
                    }
                });
                Ok(())
            };
            // 3. The blocks summed in order; one node, on this thread.
            batch.with_blocks(blocks, &start, &bound, &run, |slots| {
                Blocks::<T, E>::sum_blocks(slots, blocks, shared, &bound);
                let seq_value = |s: usize| {
                    let b = (0..blocks).rfind(|&b| start(b) <= s).unwrap_or(0);
                    slots[bound(b) + shared + s - start(b)]
                };
                let value: f64 = (0..n).map(seq_value).filter(|v| !v.is_nan()).sum();
                let node = scratch::with_vec(|inputs: &mut Vec<T>| {
                    inputs.clear();
                    inputs.extend_from_slice(log_init);
                    inputs.extend_from_slice(log_trans);
                    inputs.extend_from_slice(theta);
                    T::custom(inputs, value, &slots[..shared])
                });
                with_fallbacks(node, (0..n).map(seq_value), |s| batch.fallback(s))
            })
        })
    })
}

/// [`batch_total`] with emission densities recorded one node each: one node over
/// `[log_init | log_trans | ℓ of every sequence]`.
fn total_nodes<T, E>(batch: &Blocks<'_, T, E>) -> Result<T, HmmError>
where
    T: Scalar,
    E: Emission<T> + ?Sized,
{
    let (k, kk, n, total) = batch.dims();
    let (log_init, log_trans) = (batch.log_init, batch.log_trans);
    let (flat, offsets) = (batch.flat, batch.offsets);
    scratch::with_vec(|le: &mut Vec<T>| {
        // 1. Emission log-densities of every sequence, on this thread (they may record).
        le.clear();
        le.resize(total * k, T::constant(0.0));
        for s in 0..n {
            let seq = &flat[offsets[s]..offsets[s + 1]];
            let le_s = &mut le[offsets[s] * k..offsets[s + 1] * k];
            fill_emission(&batch.view(s), seq, le_s);
        }
        scratch::with_vec(|values: &mut Vec<f64>| {
            values.clear();
            values.extend(log_init.iter().chain(log_trans).map(|x| x.value()));
            values.extend(le.iter().map(|x| x.value()));
            let (params, le_values) = values.split_at(kk);
            for s in 0..n {
                let range = offsets[s] * k..offsets[s + 1] * k;
                check_plain_emission(&le_values[range], k).map_err(|e| e.in_sequence(s))?;
            }
            let (li, lt) = params.split_at(k);
            // 2. Per block, the sums of the shared partials, each sequence's value and ∂/∂ℓ.
            let blocks = n_blocks(n, kk);
            let start = |b: usize| b * n / blocks;
            let bound = |b: usize| b * kk + start(b) + offsets[start(b)] * k;
            with_probs(li, lt, |probs| {
                let run = |b: usize, slot: &mut [f64]| {
                    let (first, last) = (start(b), start(b + 1));
                    let (sums, rest) = slot.split_at_mut(kk);
                    let (seq_values, d_le_all) = rest.split_at_mut(last - first);
                    sums.fill(0.0);
                    with_stale(&TEMP, kk, |one| {
                        for s in first..last {
                            let at = (offsets[s] - offsets[first]) * k;
                            let d_le = &mut d_le_all[at..at + (offsets[s + 1] - offsets[s]) * k];
                            let le_s = &le_values[offsets[s] * k..offsets[s + 1] * k];
                            let value =
                                adjoint::value_and_partials_split(probs, le_s, k, one, d_le);
                            seq_values[s - first] = value.unwrap_or(f64::NAN);
                            if value.is_some() {
                                add(sums, one);
                            } else {
                                // The generic recursion records this sequence on its own.
                                d_le.fill(0.0);
                            }
                        }
                    });
                    Ok(())
                };
                // 3. The blocks summed in order; one node, on this thread.
                batch.with_blocks(blocks, &start, &bound, &run, |slots| {
                    Blocks::<T, E>::sum_blocks(slots, blocks, kk, &bound);
                    let block_of = |s: usize| (0..blocks).rfind(|&b| start(b) <= s).unwrap_or(0);
                    let seq_value = |s: usize| {
                        let b = block_of(s);
                        slots[bound(b) + kk + s - start(b)]
                    };
                    let value: f64 = (0..n).map(seq_value).filter(|v| !v.is_nan()).sum();
                    let node = scratch::with_vec(|partials: &mut Vec<f64>| {
                        partials.clear();
                        partials.extend_from_slice(&slots[..kk]);
                        for b in 0..blocks {
                            let at = bound(b) + kk + start(b + 1) - start(b);
                            partials.extend_from_slice(&slots[at..bound(b + 1)]);
                        }
                        scratch::with_vec(|inputs: &mut Vec<T>| {
                            inputs.clear();
                            inputs.extend_from_slice(log_init);
                            inputs.extend_from_slice(log_trans);
                            inputs.extend_from_slice(le);
                            T::custom(inputs, value, partials)
                        })
                    });
                    with_fallbacks(node, (0..n).map(seq_value), |s| {
                        let le_s = &le[offsets[s] * k..offsets[s + 1] * k];
                        recursion::log_likelihood(log_init, log_trans, le_s, k)
                    })
                })
            })
        })
    })
}
