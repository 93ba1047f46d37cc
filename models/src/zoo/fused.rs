//! The sparse fused Jacobian of per-state families ([`FusedEmission`] with
//! [`jacobian_width`](FusedEmission::jacobian_width)): state `k`'s density depends on a few
//! scalars (its own parameters, plus any shared ones), so a step writes `K × W` (index,
//! partial) pairs instead of a `K × P` row each, and the adjoint contracts them in `O(K W)`.

use trellis_ad::{scratch, Scalar};

use crate::emission::FusedEmission;

/// Writes the sparse form of a per-state family with `W` partials per density: `entry(k)`
/// gives state `k`'s value and partials, `index(k, j)` the parameter index of partial `j`.
#[inline]
pub(crate) fn per_state<const W: usize>(
    values: &mut [f64],
    indices: &mut [usize],
    partials: &mut [f64],
    mut entry: impl FnMut(usize) -> (f64, [f64; W]),
    index: impl Fn(usize, usize) -> usize,
) {
    let rows = indices
        .chunks_exact_mut(W)
        .zip(partials.chunks_exact_mut(W));
    for (k, (value, (idx, part))) in values.iter_mut().zip(rows).enumerate() {
        let (v, d) = entry(k);
        *value = v;
        for j in 0..W {
            idx[j] = index(k, j);
            part[j] = d[j];
        }
    }
}

/// The parameter index of partial `j` of state `k` when the parameters are `groups` blocks of
/// `K` (one scalar per state each: `θ = [g₀[0 … K−1] | g₁[0 … K−1] | …]`), the usual layout.
#[inline]
pub(crate) fn grouped(n_states: usize) -> impl Fn(usize, usize) -> usize {
    move |k, j| j * n_states + k
}

/// The dense form (`K × P`, for callers of
/// [`log_densities_with_jacobian`](FusedEmission::log_densities_with_jacobian)) scattered from
/// the sparse one: the library itself only asks sparse families for the sparse form.
pub(crate) fn dense_from_sparse<T: Scalar, E: FusedEmission<T> + ?Sized>(
    emission: &E,
    seq: &[E::Obs],
    t: usize,
    values: &mut [f64],
    jacobian: &mut [f64],
) {
    let k = values.len();
    let width = emission
        .jacobian_width()
        .expect("dense_from_sparse is only for emissions with a sparse Jacobian");
    let n_params = jacobian.len().checked_div(k).unwrap_or(0);
    scratch::with_filled(k * width, 0usize, |indices: &mut [usize]| {
        scratch::with_filled(k * width, 0.0f64, |partials: &mut [f64]| {
            emission.log_densities_with_sparse_jacobian(seq, t, values, indices, partials);
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
