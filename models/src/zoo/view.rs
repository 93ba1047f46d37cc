//! What a per-state zoo view states, once: its observation type, its log-densities, the
//! sparse form of their Jacobian and how it draws. [`Emission`] (with the fast path
//! claimed), [`FusedEmission`] and [`SampleEmission`] follow from it, so a family file has
//! one implementation per view with only what is particular to it.

use rand_xoshiro::Xoshiro256PlusPlus;
use trellis_ad::{scratch, Scalar};

use super::fused::SparseStep;
use crate::emission::{Emission, FusedEmission};
use crate::model::ModelError;
use crate::simulate::SampleEmission;

/// A zoo emission view whose state `k` depends on a few scalars (its own parameters, plus
/// any shared ones): every type that implements it is an [`Emission`] offering the fast
/// path, a sparse [`FusedEmission`] (`jacobian_width() == Some(self.width())`) and a
/// [`SampleEmission`]; the methods mean what they mean there.
///
/// The number type is an associated type rather than a parameter so that the blanket
/// implementations below coexist with the direct implementations of other views (a trait
/// parameter would let another crate implement this trait for them). The trait is `pub` in a
/// private module (nameable by no other crate, so no other crate implements it) because the
/// public implementations' `Obs` is its associated type.
pub trait PerStateView {
    /// The number type of the view's parameters.
    type Num: Scalar;
    /// One time step's observation.
    type Obs;

    /// [`Emission::log_densities`].
    fn log_densities(&self, seq: &[Self::Obs], t: usize, out: &mut [Self::Num]);

    /// [`Emission::n_states`].
    fn n_states(&self) -> usize;

    /// Writes step `t`'s values and (index, partial) pairs into `out`
    /// ([`FusedEmission::log_densities_with_sparse_jacobian`]).
    fn write_step(&self, seq: &[Self::Obs], t: usize, out: SparseStep<'_>);

    /// The parameter blocks whose concatenation is θ (the `P` scalars), in order.
    fn parameter_blocks(&self) -> impl Iterator<Item = &[Self::Num]>;

    /// [`SampleEmission::check_params`].
    fn check_params(&self) -> Result<(), ModelError>;

    /// [`SampleEmission::sample`].
    fn sample(&self, state: usize, past: &[Self::Obs], rng: &mut Xoshiro256PlusPlus) -> Self::Obs;

    /// Partials per density (`W`). The default, one per parameter block, is right when each
    /// block holds one scalar per state.
    fn width(&self) -> usize {
        self.parameter_blocks().count()
    }
}

// The helper trait is an internal device, so the lints about a crate-private trait in public
// implementations' bounds do not apply: users see (and call) the public traits only.
#[allow(private_bounds, private_interfaces)]
impl<V: PerStateView> Emission<V::Num> for V {
    type Obs = V::Obs;

    fn n_states(&self) -> usize {
        PerStateView::n_states(self)
    }

    fn log_densities(&self, seq: &[V::Obs], t: usize, out: &mut [V::Num]) {
        PerStateView::log_densities(self, seq, t, out);
    }

    /// Reverse mode's fast path ([`FusedEmission`], sparse form).
    fn fused(&self) -> Option<&dyn FusedEmission<V::Num, Obs = V::Obs>> {
        Some(self)
    }
}

#[allow(private_bounds, private_interfaces)]
impl<V: PerStateView> FusedEmission<V::Num> for V {
    fn parameters(&self, out: &mut Vec<V::Num>) {
        for block in self.parameter_blocks() {
            out.extend_from_slice(block);
        }
    }

    fn jacobian_width(&self) -> Option<usize> {
        Some(self.width())
    }

    fn log_densities_with_sparse_jacobian(
        &self,
        seq: &[V::Obs],
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
    fn log_densities_with_jacobian(&self, seq: &[V::Obs], t: usize, v: &mut [f64], j: &mut [f64]) {
        let k = v.len();
        let width = self.width();
        let n_params = j.len().checked_div(k).unwrap_or(0);
        scratch::with_filled(k * width, 0usize, |indices: &mut [usize]| {
            scratch::with_filled(k * width, 0.0f64, |partials: &mut [f64]| {
                let out = SparseStep {
                    values: &mut *v,
                    indices: &mut *indices,
                    partials: &mut *partials,
                };
                self.write_step(seq, t, out);
                let pairs = indices
                    .chunks_exact(width)
                    .zip(partials.chunks_exact(width));
                for (row, (idx, part)) in j.chunks_exact_mut(n_params).zip(pairs) {
                    for (&p, &d) in idx.iter().zip(part) {
                        row[p] += d;
                    }
                }
            })
        });
    }
}

#[allow(private_bounds, private_interfaces)]
impl<V: PerStateView> SampleEmission<V::Num> for V {
    fn check_params(&self) -> Result<(), ModelError> {
        PerStateView::check_params(self)
    }

    fn sample(&self, state: usize, history: &[V::Obs], rng: &mut Xoshiro256PlusPlus) -> V::Obs {
        PerStateView::sample(self, state, history, rng)
    }
}
