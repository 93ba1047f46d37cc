//! The reverse-mode glue: how the forward algorithm records itself on the tape. Each
//! sequence is one node whose value and partials come from the `f64` forward–backward
//! [`adjoint`]; an emission that offers the fused fast path ([`Emission::fused`]) has its
//! Jacobian folded into that node too, so no node is recorded per emission density. Where the
//! adjoint cannot trust probability space it takes a log-space pass itself, still one node;
//! only a sequence it finds impossible (its value NaN here) records the generic recursion.

use std::cell::RefCell;

use trellis_ad::{scratch, Scalar};

use super::adjoint::{self, with_stale};
use super::batch::{IndexFn, SlotFn};
use super::checks::check_plain_emission;
use super::error::HmmError;
use super::forward::fill_emission;
use super::lanes;
use super::missing::MissingSteps;
use super::recursion::{self, with_probs};
use crate::emission::{Emission, FusedEmission};

thread_local! {
    /// This thread's per-sequence result slots of a batch (see `Batch::with_filled_slots`).
    static SLOTS: RefCell<Vec<f64>> = const { RefCell::new(Vec::new()) };
    /// This thread's fused-emission values and Jacobian (see
    /// [`FusedEmissionValues::with_filled`]).
    static EMISSION_VALUES: RefCell<Vec<f64>> = const { RefCell::new(Vec::new()) };
    /// This thread's sparse-Jacobian parameter indices (see
    /// [`FusedEmissionValues::with_filled`]).
    static EMISSION_INDICES: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

/// One tape node: value and partials from the `f64` forward–backward adjoint.
pub(crate) fn fused<T: Scalar>(log_init: &[T], log_trans: &[T], log_emission: &[T], k: usize) -> T {
    let len = k + log_trans.len() + log_emission.len();
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
            let (lp, le) = values.split_at(k + log_trans.len());
            let (li, lt) = lp.split_at(k);
            let value = with_probs(li, lt, |probs| {
                adjoint::value_and_partials_prepared(probs, le, k, partials)
            });
            match value {
                Some(value) => record(log_init, log_trans, log_emission, value, partials),
                None => recursion::log_likelihood(log_init, log_trans, log_emission, k),
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

/// Reverse mode over a batch (sequence `s` is `flat[offsets[s]..offsets[s + 1]]`): the
/// `f64` forward–backward of every sequence runs serially or in parallel with identical
/// results, then one node per sequence is recorded on this thread in sequence order. With an
/// emission that offers [`Emission::fused`], its Jacobian is folded into the
/// adjoint and a node's inputs are `[log_init | log_trans | θ]`; otherwise the emission
/// densities are recorded on this thread first and a node's inputs are
/// `[log_init | log_trans | ℓ of the sequence]`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn batch_fused<T, E>(
    log_init: &[T],
    log_trans: &[T],
    emission: &E,
    flat: &[E::Obs],
    offsets: &[usize],
    missing: Option<&[bool]>,
    out: &mut [T],
    parallel: bool,
) -> Result<(), HmmError>
where
    T: Scalar,
    E: Emission<T> + ?Sized,
{
    let batch = Batch {
        log_init,
        log_trans,
        emission,
        flat,
        offsets,
        missing,
        parallel,
    };
    match emission.fused() {
        Some(fused) => scratch::with_vec(|theta: &mut Vec<T>| {
            theta.clear();
            fused.parameters(theta);
            batch_fused_emission(&batch, fused, theta, out)
        }),
        None => batch_fused_nodes(&batch, out),
    }
}

/// The inputs of [`batch_fused`]: sequence `s` is `flat[offsets[s]..offsets[s + 1]]`.
struct Batch<'a, T: Scalar, E: Emission<T> + ?Sized> {
    log_init: &'a [T],
    log_trans: &'a [T],
    emission: &'a E,
    flat: &'a [E::Obs],
    offsets: &'a [usize],
    /// Missing-step flags of the whole batch (flat, as `flat`), if any.
    missing: Option<&'a [bool]>,
    parallel: bool,
}

impl<'a, T: Scalar, E: Emission<T> + ?Sized> Batch<'a, T, E> {
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

    /// One buffer of per-sequence slots (sequence `s`'s is `bound(s)..bound(s + 1)`),
    /// each filled by `run`, serially or in parallel with identical results; then `record`
    /// reads them on this thread.
    ///
    /// With `lanes`, sequences of equal length may run four at a time ([`lanes`]), their
    /// slots laid out as [`lanes::LaneJob`] says.
    fn with_filled_slots<R>(
        &self,
        bound: IndexFn<'_>,
        lanes: Option<&lanes::LaneJob<'_, '_>>,
        run: SlotFn<'_, f64>,
        record: impl FnOnce(&mut [f64]) -> R,
    ) -> Result<R, HmmError> {
        let (offsets, k) = (self.offsets, self.emission.n_states());
        let n = offsets.len() - 1;
        // Every slot entry that is read is written first (a slot whose value is NaN is read
        // no further), so the buffer is reused without zeroing.
        with_stale(&SLOTS, bound(n), |slots| {
            lanes::for_each_unit(slots, offsets, k, bound, self.parallel, lanes, run)?;
            Ok(record(slots))
        })
    }
}

/// [`batch_fused`] for an emission with the fused fast path.
fn batch_fused_emission<T, E>(
    batch: &Batch<'_, T, E>,
    fused: &dyn FusedEmission<T, Obs = E::Obs>,
    theta: &[T],
    out: &mut [T],
) -> Result<(), HmmError>
where
    T: Scalar,
    E: Emission<T> + ?Sized,
{
    let (k, kk, _, _) = batch.dims();
    let np = theta.len();
    let (log_init, log_trans) = (batch.log_init, batch.log_trans);
    let (flat, offsets) = (batch.flat, batch.offsets);
    // 1. Plain log-densities (and their Jacobians, unless the emission has its own
    //    vector–Jacobian product), checked.
    let vjp = fused.has_vjp();
    let parts = FusedEmissionValues::new(
        (log_init, log_trans),
        (flat, offsets),
        k,
        (fused.jacobian_width(), vjp),
        np,
    );
    parts.with_filled(&|s| batch.view(s), |filled| {
        let (li, lt, le) = (filled.log_init, filled.log_trans, filled.log_emission);
        // 2. Per sequence s, a slot [value | ∂/∂log_init, ∂/∂log_trans (K + K²) | ∂/∂θ (P) |
        //    ∂/∂ℓ (Tₛ K)]: the adjoint's partials, then the chain rule through the stored
        //    Jacobian (here, on any thread) or the emission's product (step 3, on this
        //    thread, where the emission lives).
        let bound = |s: usize| s * (1 + kk + np) + offsets[s] * k;
        let chain_rule = |s: usize, d_le: &[f64], d_theta: &mut [f64]| {
            if !vjp {
                filled.chain_rule(s, d_le, d_theta);
            }
        };
        with_probs(li, lt, |probs| {
            let run = |s: usize, slot: &mut [f64]| {
                let range = offsets[s] * k..offsets[s + 1] * k;
                let (v, rest) = slot.split_at_mut(1);
                let (d_params, rest) = rest.split_at_mut(kk);
                let (d_theta, d_le) = rest.split_at_mut(np);
                let value = adjoint::value_and_partials_split(probs, &le[range], k, d_params, d_le);
                if value.is_some() {
                    chain_rule(s, d_le, d_theta);
                }
                v[0] = value.unwrap_or(f64::NAN);
                Ok(())
            };
            let job = lanes::LaneJob {
                log_emission: le,
                probs,
                extra: np,
                finish: &chain_rule,
            };
            // 3. One node per sequence, in order, on this thread.
            batch.with_filled_slots(&bound, Some(&job), &run, |slots| {
                if vjp {
                    for s in 0..out.len() {
                        let slot = &mut slots[bound(s)..bound(s + 1)];
                        if !slot[0].is_nan() {
                            let seq = &flat[offsets[s]..offsets[s + 1]];
                            let (d_theta, d_le) = slot[1 + kk..].split_at_mut(np);
                            batch.view(s).sequence_vjp(seq, None, d_le, d_theta);
                        }
                    }
                }
                scratch::with_vec(|inputs: &mut Vec<T>| {
                    inputs.clear();
                    inputs.extend_from_slice(log_init);
                    inputs.extend_from_slice(log_trans);
                    inputs.extend_from_slice(theta);
                    for (s, o) in out.iter_mut().enumerate() {
                        let slot = &slots[bound(s)..bound(s + 1)];
                        *o = if slot[0].is_nan() {
                            // The adjoint found the sequence impossible: the generic code on recorded
                            // densities decides.
                            let seq = &flat[offsets[s]..offsets[s + 1]];
                            scratch::with_vec(|le_t: &mut Vec<T>| {
                                le_t.clear();
                                le_t.resize(seq.len() * k, T::constant(0.0));
                                fill_emission(&batch.view(s), seq, le_t);
                                recursion::log_likelihood(log_init, log_trans, le_t, k)
                            })
                        } else {
                            T::custom(inputs, slot[0], &slot[1..1 + kk + np])
                        };
                    }
                })
            })
        })
    })
}

/// Step 1 of the fused-emission paths (this module's and
/// [`reverse_sum`](super::reverse_sum)'s): every sequence's plain log-densities and their
/// Jacobian with respect to the emission's `P` parameters, checked.
pub(crate) struct FusedEmissionValues<'a, T, O> {
    pub(crate) log_init: &'a [T],
    pub(crate) log_trans: &'a [T],
    /// Every sequence's observations, one after another (sequence `s` at `offsets[s]`).
    pub(crate) flat: &'a [O],
    pub(crate) offsets: &'a [usize],
    pub(crate) k: usize,
    /// [`FusedEmission::jacobian_width`].
    pub(crate) sparse: Option<usize>,
    /// Whether the emission's own product ([`FusedEmission::sequence_vjp`]) replaces the
    /// stored Jacobian (none is then filled).
    pub(crate) vjp: bool,
    /// Jacobian entries per density: `P` (dense), the sparse form's width `W`, or 0 with
    /// [`vjp`](Self::vjp).
    pub(crate) per_density: usize,
}

impl<'a, T: Scalar, O> FusedEmissionValues<'a, T, O> {
    /// The batch's parts, for an emission with `n_params` parameters whose Jacobian has the
    /// form `jacobian_width` ([`FusedEmission::jacobian_width`]) says, or is not stored at
    /// all with `vjp` (the caller then applies [`FusedEmission::sequence_vjp`] itself).
    pub(crate) fn new(
        (log_init, log_trans): (&'a [T], &'a [T]),
        (flat, offsets): (&'a [O], &'a [usize]),
        k: usize,
        (jacobian_width, vjp): (Option<usize>, bool),
        n_params: usize,
    ) -> Self {
        Self {
            log_init,
            log_trans,
            flat,
            offsets,
            k,
            sparse: jacobian_width.filter(|_| !vjp),
            vjp,
            per_density: if vjp {
                0
            } else {
                jacobian_width.unwrap_or(n_params)
            },
        }
    }

    /// Runs `f` on `values` = `[log_init | log_trans | ℓ (total × K) | Jacobian]` and, for
    /// the sparse form, `indices` = the Jacobian's parameter indices (empty for the dense
    /// form), filled and checked; `view(s)` is sequence `s`'s emission.
    ///
    /// The buffers are this thread's, holding the previous evaluation's numbers: a
    /// sequence's part is zeroed first unless its view
    /// [writes every entry](FusedEmission::writes_every_entry) (a missing step's entries,
    /// for one, are not written), so a family that does costs no zeroing.
    pub(crate) fn with_filled<'e, E, R>(
        &self,
        view: &dyn Fn(usize) -> MissingSteps<'e, E>,
        f: impl FnOnce(&FilledEmission<'_>) -> Result<R, HmmError>,
    ) -> Result<R, HmmError>
    where
        E: Emission<T, Obs = O> + ?Sized + 'e,
    {
        let (k, per_density, offsets) = (self.k, self.per_density, self.offsets);
        let (kk, n) = (k + k * k, offsets.len() - 1);
        let total = offsets[n];
        let n_values = kk + total * k * (1 + per_density);
        let n_indices = self.sparse.map_or(0, |_| total * k * per_density);
        with_stale(&EMISSION_VALUES, n_values, |values| {
            with_stale(&EMISSION_INDICES, n_indices, |indices| {
                let plain = self.log_init.iter().chain(self.log_trans);
                for (slot, x) in values[..kk].iter_mut().zip(plain) {
                    *slot = x.value();
                }
                let (le, jac) = values[kk..].split_at_mut(total * k);
                for s in 0..n {
                    let (start, end) = (offsets[s], offsets[s + 1]);
                    let (seq, le_s) = (&self.flat[start..end], &mut le[start * k..end * k]);
                    let pairs = start * k * per_density..end * k * per_density;
                    let view = view(s);
                    let jac_s = &mut jac[pairs.clone()];
                    let zero = !(self.vjp || view.writes_every_entry());
                    if zero {
                        le_s.fill(0.0);
                        jac_s.fill(0.0);
                    }
                    if self.vjp {
                        // Every value written, missing steps' as zeros.
                        view.sequence_values(seq, None, le_s);
                    } else if self.sparse.is_some() {
                        let idx_s = &mut indices[pairs];
                        if zero {
                            idx_s.fill(0);
                        }
                        view.sequence_with_sparse_jacobian(seq, le_s, idx_s, jac_s);
                    } else {
                        view.sequence_with_jacobian(seq, le_s, jac_s);
                    }
                    check_plain_emission(le_s, k).map_err(|e| e.in_sequence(s))?;
                }
                let (params, rest) = values.split_at(kk);
                let (log_emission, jacobian) = rest.split_at(total * k);
                let (log_init, log_trans) = params.split_at(k);
                f(&FilledEmission {
                    log_init,
                    log_trans,
                    log_emission,
                    jacobian,
                    indices,
                    offsets,
                    k,
                    sparse: self.sparse,
                    per_density,
                })
            })
        })
    }
}

/// What [`FusedEmissionValues::with_filled`] hands on: the plain values of the HMM's inputs,
/// and the emission's Jacobian for the chain rule.
pub(crate) struct FilledEmission<'b> {
    pub(crate) log_init: &'b [f64],
    pub(crate) log_trans: &'b [f64],
    /// `ℓ`, `total × K`.
    pub(crate) log_emission: &'b [f64],
    jacobian: &'b [f64],
    indices: &'b [usize],
    offsets: &'b [usize],
    k: usize,
    sparse: Option<usize>,
    per_density: usize,
}

impl FilledEmission<'_> {
    /// Adds sequence `s`'s `∂/∂θ_p = Σ_{t,k} ∂L/∂ℓ[t][k] · ∂ℓ[t][k]/∂θ_p` to `d_theta`, from
    /// its `∂L/∂ℓ` (`d_le`, `Tₛ × K`).
    pub(crate) fn chain_rule(&self, s: usize, d_le: &[f64], d_theta: &mut [f64]) {
        let (offsets, k, per_density) = (self.offsets, self.k, self.per_density);
        let pairs = offsets[s] * k * per_density..offsets[s + 1] * k * per_density;
        match self.sparse {
            Some(width) => adjoint::contract_sparse(
                d_le,
                width,
                &self.indices[pairs.clone()],
                &self.jacobian[pairs],
                d_theta,
            ),
            None => adjoint::contract(d_le, &self.jacobian[pairs], d_theta),
        }
    }
}

/// [`batch_fused`] with emission densities recorded one node each.
fn batch_fused_nodes<T, E>(batch: &Batch<'_, T, E>, out: &mut [T]) -> Result<(), HmmError>
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
            // 2. Per sequence s, a slot [value | partials (K + K² + Tₛ K)].
            let bound = |s: usize| s * (1 + kk) + offsets[s] * k;
            with_probs(li, lt, |probs| {
                let run = |s: usize, slot: &mut [f64]| {
                    let (v, partials) = slot.split_at_mut(1);
                    let le_s = &le_values[offsets[s] * k..offsets[s + 1] * k];
                    v[0] = adjoint::value_and_partials_prepared(probs, le_s, k, partials)
                        .unwrap_or(f64::NAN);
                    Ok(())
                };
                let job = lanes::LaneJob {
                    log_emission: le_values,
                    probs,
                    extra: 0,
                    finish: &|_, _, _| {},
                };
                // 3. One node per sequence, in order, on this thread.
                batch.with_filled_slots(&bound, Some(&job), &run, |slots| {
                    for (s, o) in out.iter_mut().enumerate() {
                        let slot = &slots[bound(s)..bound(s + 1)];
                        let le_s = &le[offsets[s] * k..offsets[s + 1] * k];
                        *o = if slot[0].is_nan() {
                            // The adjoint found the sequence impossible: the generic code decides.
                            recursion::log_likelihood(log_init, log_trans, le_s, k)
                        } else {
                            record(log_init, log_trans, le_s, slot[0], &slot[1..])
                        };
                    }
                })
            })
        })
    })
}
