//! Missing observations: an emission view that gives log-density 0 to every state at the
//! missing steps of one sequence (the step is marginalised) and never reads their
//! placeholder values.
//!
//! Wrapping the family's emission keeps every route of the forward algorithm — generic
//! recursion, fused adjoint with or without the emission's Jacobian, inference — unchanged:
//! the rows of a missing step are exact zeros with zero derivatives, and a missing step
//! costs no emission evaluation at all.

use trellis_ad::Scalar;

use crate::emission::{Emission, FusedEmission};

/// `inner` with the steps flagged in `missing` (one flag per step of the sequence it is used
/// with, `true` = missing) given log-density 0 for every state.
///
/// An autoregressive emission (e.g. [`Ar1Gaussian`](crate::zoo::Ar1Gaussian)) at the step
/// after a missing one reads the missing step's stored value when it looks back: store its
/// marker there (NaN for `Ar1Gaussian`, [`Sequences::with_missing_marker`](crate::hmm::Sequences::with_missing_marker)) and the step
/// after the gap gets the gap's conditional density given the last observed value;
/// [`HmmModel`](crate::zoo::HmmModel) does so itself. With a finite placeholder there, the
/// density would be conditioned on the placeholder.
///
/// ```
/// use trellis_models::{hmm::{self, MissingSteps}, zoo::Gaussian, Emission};
/// let (means, sds) = ([0.0, 3.0], [1.0, 1.0]);
/// let gaussian = Gaussian::new(&means, &sds)?;
/// let missing = [false, true, false];
/// let masked = MissingSteps::new(&gaussian, Some(&missing));
/// let mut out = [1.0; 2];
/// // The placeholder 1e9 at step 1 is never read.
/// masked.log_densities(&[0.1, 1e9, 2.9], 1, &mut out);
/// assert_eq!(out, [0.0, 0.0]);
/// # Ok::<(), trellis_models::ModelError>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct MissingSteps<'a, E: ?Sized> {
    inner: &'a E,
    missing: Option<&'a [bool]>,
}

impl<'a, E: ?Sized> MissingSteps<'a, E> {
    /// `inner` with the missing steps `missing` (`None`: nothing missing).
    pub fn new(inner: &'a E, missing: Option<&'a [bool]>) -> Self {
        Self { inner, missing }
    }

    /// Whether step `t` is missing.
    ///
    /// # Panics
    /// If the flags are shorter than the sequence (the flags of another sequence).
    #[inline]
    fn is_missing(&self, t: usize) -> bool {
        self.missing.is_some_and(|m| {
            *m.get(t).unwrap_or_else(|| {
                panic!(
                    "MissingSteps: step {t} of a sequence with {} missing flags",
                    m.len()
                )
            })
        })
    }

    /// The first `len` flags (`None` when nothing is missing).
    ///
    /// # Panics
    /// If the flags are shorter than the sequence, as [`is_missing`](Self::is_missing).
    fn flags(&self, len: usize) -> Option<&'a [bool]> {
        self.missing.map(|m| {
            m.get(..len).unwrap_or_else(|| {
                panic!(
                    "MissingSteps: a sequence of {len} steps with {} missing flags",
                    m.len()
                )
            })
        })
    }

    /// The wrapped emission.
    pub fn inner(&self) -> &'a E {
        self.inner
    }
}

impl<T: Scalar, E: Emission<T> + ?Sized> Emission<T> for MissingSteps<'_, E> {
    type Obs = E::Obs;

    fn n_states(&self) -> usize {
        self.inner.n_states()
    }

    #[inline]
    fn log_densities(&self, seq: &[E::Obs], t: usize, out: &mut [T]) {
        if self.is_missing(t) {
            out.fill(T::constant(0.0));
        } else {
            self.inner.log_densities(seq, t, out);
        }
    }

    fn fused(&self) -> Option<&dyn FusedEmission<T, Obs = E::Obs>> {
        self.inner
            .fused()
            .map(|_| self as &dyn FusedEmission<T, Obs = E::Obs>)
    }
}

/// The inner emission's fast path; only reached through [`Emission::fused`], which offers
/// the view's fast path only when the inner one exists.
fn inner_fused<T: Scalar, E: Emission<T> + ?Sized>(
    inner: &E,
) -> &dyn FusedEmission<T, Obs = E::Obs> {
    inner
        .fused()
        .expect("MissingSteps offers the fused path only when its inner emission does")
}

/// The inner emission's fast path at observed steps; zero values and partials, written here,
/// at missing ones.
impl<T: Scalar, E: Emission<T> + ?Sized> FusedEmission<T> for MissingSteps<'_, E> {
    fn parameters(&self, out: &mut Vec<T>) {
        inner_fused(self.inner).parameters(out);
    }

    fn log_densities_with_jacobian(
        &self,
        seq: &[E::Obs],
        t: usize,
        values: &mut [f64],
        jacobian: &mut [f64],
    ) {
        if self.is_missing(t) {
            values.fill(0.0);
            jacobian.fill(0.0);
        } else {
            inner_fused(self.inner).log_densities_with_jacobian(seq, t, values, jacobian);
        }
    }

    fn jacobian_width(&self) -> Option<usize> {
        inner_fused(self.inner).jacobian_width()
    }

    fn log_densities_with_sparse_jacobian(
        &self,
        seq: &[E::Obs],
        t: usize,
        values: &mut [f64],
        indices: &mut [usize],
        partials: &mut [f64],
    ) {
        if self.is_missing(t) {
            // Index 0 with partial 0 is a valid unused pair.
            values.fill(0.0);
            indices.fill(0);
            partials.fill(0.0);
        } else {
            inner_fused(self.inner)
                .log_densities_with_sparse_jacobian(seq, t, values, indices, partials);
        }
    }

    fn sequence_with_sparse_jacobian(
        &self,
        seq: &[E::Obs],
        values: &mut [f64],
        indices: &mut [usize],
        partials: &mut [f64],
    ) {
        let fused = inner_fused(self.inner);
        match self.flags(seq.len()) {
            None => fused.sequence_with_sparse_jacobian(seq, values, indices, partials),
            Some(missing) => {
                fused.observed_steps_with_sparse_jacobian(seq, missing, values, indices, partials)
            }
        }
    }

    /// The inner emission's answer: its observed-steps methods write a missing step's
    /// entries as zeros.
    fn writes_every_entry(&self) -> bool {
        inner_fused(self.inner).writes_every_entry()
    }

    fn sequence_with_jacobian(&self, seq: &[E::Obs], values: &mut [f64], jacobian: &mut [f64]) {
        let fused = inner_fused(self.inner);
        match self.flags(seq.len()) {
            None => fused.sequence_with_jacobian(seq, values, jacobian),
            Some(missing) => fused.observed_steps_with_jacobian(seq, missing, values, jacobian),
        }
    }

    fn has_vjp(&self) -> bool {
        inner_fused(self.inner).has_vjp()
    }

    /// The inner emission's values with this view's missing steps (the `missing` given is
    /// used only when the view has none).
    fn sequence_values(&self, seq: &[E::Obs], missing: Option<&[bool]>, values: &mut [f64]) {
        let missing = self.flags(seq.len()).or(missing);
        inner_fused(self.inner).sequence_values(seq, missing, values);
    }

    /// The inner emission's product, skipping this view's missing steps (as
    /// [`sequence_values`](Self::sequence_values)).
    fn sequence_vjp(
        &self,
        seq: &[E::Obs],
        missing: Option<&[bool]>,
        d_le: &[f64],
        d_theta: &mut [f64],
    ) {
        let missing = self.flags(seq.len()).or(missing);
        inner_fused(self.inner).sequence_vjp(seq, missing, d_le, d_theta);
    }
}
