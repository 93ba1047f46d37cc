//! The sparse fused Jacobian of per-state families
//! ([`jacobian_width`](crate::FusedEmission::jacobian_width) `Some(W)`): state `k`'s density
//! depends on a few scalars (its own parameters, plus any shared ones), so a step writes
//! `K × W` (index, partial) pairs instead of a `K × P` row each, and the adjoint contracts
//! them in `O(K W)`. A family states how one step's pairs are computed
//! ([`PerStateView::write_step`](super::view::PerStateView::write_step)); these are the
//! buffers it writes them into and the usual index layout.

/// One step's output buffers of the sparse form: `K` values and `K × W` (index, partial)
/// pairs, all zeroed on arrival.
pub struct SparseStep<'a> {
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
