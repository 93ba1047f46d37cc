//! The sparse fused Jacobian of per-state families ([`FusedEmission`] with
//! [`jacobian_width`](FusedEmission::jacobian_width)): state `k`'s density depends on a few
//! scalars (its own parameters, plus any shared ones), so a step writes `K × W` (index,
//! partial) pairs instead of a `K × P` row each, and the adjoint contracts them in `O(K W)`.
//!
//! A family states only what is particular to it ([`SparseJacobian`]: its parameter blocks
//! and how one step's pairs are computed); the [`FusedEmission`] plumbing around it (the
//! parameter list, the width, the dense form) is written once here.

use trellis_ad::{scratch, Scalar};

use crate::emission::{Emission, FusedEmission};

/// The part of a sparse [`FusedEmission`] that differs between zoo families; every type that
/// implements it is a [`FusedEmission`] with `jacobian_width() == Some(self.width())`.
///
/// The number type is an associated type rather than a parameter so that the blanket
/// implementation below can coexist with the direct [`FusedEmission`] implementations of
/// other views (a trait parameter would let another crate implement this trait for them).
pub(crate) trait SparseJacobian: Emission<Self::Num> {
    /// The number type of the view's parameters.
    type Num: Scalar;

    /// The parameter blocks whose concatenation is θ (the `P` scalars), in order.
    fn parameter_blocks(&self) -> impl Iterator<Item = &[Self::Num]>;

    /// Partials per density (`W`). The default, one per parameter block, is right when each
    /// block holds one scalar per state.
    fn width(&self) -> usize {
        self.parameter_blocks().count()
    }

    /// Writes step `t`'s values and (index, partial) pairs into `out`.
    fn write_step(&self, seq: &[Self::Obs], t: usize, out: SparseStep<'_>);
}

/// One step's output buffers of the sparse form: `K` values and `K × W` (index, partial)
/// pairs, all zeroed on arrival.
pub(crate) struct SparseStep<'a> {
    /// `values[k]`: state `k`'s log-density.
    pub(crate) values: &'a mut [f64],
    /// `indices[k * W + j]`: the parameter index of state `k`'s partial `j`.
    pub(crate) indices: &'a mut [usize],
    /// `partials[k * W + j]`: state `k`'s partial `j`.
    pub(crate) partials: &'a mut [f64],
}

impl SparseStep<'_> {
    /// Writes the pairs of a family with `W` partials per density: `entry(k)` gives state
    /// `k`'s value and partials, `index(k, j)` the parameter index of partial `j`.
    #[inline]
    pub(crate) fn per_state<const W: usize>(
        self,
        mut entry: impl FnMut(usize) -> (f64, [f64; W]),
        index: impl Fn(usize, usize) -> usize,
    ) {
        let rows = self
            .indices
            .chunks_exact_mut(W)
            .zip(self.partials.chunks_exact_mut(W));
        for (k, (value, (idx, part))) in self.values.iter_mut().zip(rows).enumerate() {
            let (v, d) = entry(k);
            *value = v;
            for j in 0..W {
                idx[j] = index(k, j);
                part[j] = d[j];
            }
        }
    }
}

/// The parameter index of partial `j` of state `k` when the parameters are `groups` blocks of
/// `K` (one scalar per state each: `θ = [g₀[0 … K−1] | g₁[0 … K−1] | …]`), the usual layout.
#[inline]
pub(crate) fn grouped(n_states: usize) -> impl Fn(usize, usize) -> usize {
    move |k, j| j * n_states + k
}

// The helper trait is an internal device, so the lints about a crate-private trait in a public
// implementation's bounds do not apply: users see (and call) `FusedEmission` only.
#[allow(private_bounds, private_interfaces)]
impl<E: SparseJacobian> FusedEmission<E::Num> for E {
    fn parameters(&self, out: &mut Vec<E::Num>) {
        for block in self.parameter_blocks() {
            out.extend_from_slice(block);
        }
    }

    fn jacobian_width(&self) -> Option<usize> {
        Some(self.width())
    }

    fn log_densities_with_sparse_jacobian(
        &self,
        seq: &[Self::Obs],
        t: usize,
        values: &mut [f64],
        indices: &mut [usize],
        partials: &mut [f64],
    ) {
        let out = SparseStep {
            values,
            indices,
            partials,
        };
        self.write_step(seq, t, out);
    }

    /// The dense form (`K × P`, for callers of
    /// [`log_densities_with_jacobian`](FusedEmission::log_densities_with_jacobian)) scattered
    /// from the sparse one: the library itself only asks sparse families for the sparse form.
    fn log_densities_with_jacobian(
        &self,
        seq: &[Self::Obs],
        t: usize,
        values: &mut [f64],
        jacobian: &mut [f64],
    ) {
        let k = values.len();
        let width = self.width();
        let n_params = jacobian.len().checked_div(k).unwrap_or(0);
        scratch::with_filled(k * width, 0usize, |indices: &mut [usize]| {
            scratch::with_filled(k * width, 0.0f64, |partials: &mut [f64]| {
                let out = SparseStep {
                    values: &mut *values,
                    indices: &mut *indices,
                    partials: &mut *partials,
                };
                self.write_step(seq, t, out);
                let pairs = indices
                    .chunks_exact(width)
                    .zip(partials.chunks_exact(width));
                for (row, (idx, part)) in jacobian.chunks_exact_mut(n_params).zip(pairs) {
                    for (&p, &d) in idx.iter().zip(part) {
                        row[p] += d;
                    }
                }
            })
        });
    }
}
