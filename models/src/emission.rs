//! The emission abstraction: the log-density of one observation given each hidden state,
//! and its optional reverse-mode fast path ([`FusedEmission`]).

use trellis_ad::{scratch, Scalar};

/// An emission distribution with its parameters, evaluated for every hidden state at once.
///
/// Implementations are usually small views over parameter slices of the model's number type
/// (e.g. `Gaussian<'a, T> { means: &'a [T], sds: &'a [T] }`), so building one per log-density
/// evaluation allocates nothing. The same code then serves plain values, forward mode and
/// reverse mode. Write your own for observations the zoo does not cover: the forward
/// algorithm and all inference routines take any `Emission`.
pub trait Emission<T: Scalar> {
    /// One time step's observation (`f64`, a count, a category, a vector row, a tuple …).
    type Obs;

    /// Number of hidden states `K`.
    fn n_states(&self) -> usize;

    /// Writes `ln p(seq[t] | state k, seq[..t])` into `out[k]` for every state `k < K`
    /// (`out.len() == K`). Earlier observations are available for autoregressive families.
    fn log_densities(&self, seq: &[Self::Obs], t: usize, out: &mut [T]);

    /// The optional reverse-mode fast path: `None` (the default) or `Some(self)` from a type
    /// that implements [`FusedEmission`] — the compiler checks that it does, so the fast
    /// path cannot be claimed half-implemented. Only consulted when `T::CUSTOM_IS_CHEAPER`.
    ///
    /// ```
    /// # use trellis_ad::Scalar;
    /// # use trellis_models::{Emission, FusedEmission};
    /// struct Shifted<T> { shift: T }
    /// impl<T: Scalar> Emission<T> for Shifted<T> {
    ///     type Obs = f64;
    ///     fn n_states(&self) -> usize { 2 }
    ///     fn log_densities(&self, seq: &[f64], t: usize, out: &mut [T]) {
    ///         for (k, o) in out.iter_mut().enumerate() {
    ///             let z = self.shift * (k as f64) - seq[t];
    ///             *o = z * z * -0.5;
    ///         }
    ///     }
    ///     fn fused(&self) -> Option<&dyn FusedEmission<T, Obs = f64>> { Some(self) }
    /// }
    /// impl<T: Scalar> FusedEmission<T> for Shifted<T> {
    ///     fn parameters(&self, out: &mut Vec<T>) { out.push(self.shift) }
    ///     fn log_densities_with_jacobian(
    ///         &self, seq: &[f64], t: usize, values: &mut [f64], jacobian: &mut [f64],
    ///     ) {
    ///         for k in 0..2 {
    ///             let z = self.shift.value() * (k as f64) - seq[t];
    ///             values[k] = z * z * -0.5;
    ///             jacobian[k] = -z * (k as f64); // ∂ℓ[k]/∂shift
    ///         }
    ///     }
    /// }
    /// ```
    ///
    /// Claiming the fast path without implementing it does not compile:
    ///
    /// ```compile_fail
    /// # use trellis_ad::Scalar;
    /// # use trellis_models::{Emission, FusedEmission};
    /// struct Half;
    /// impl<T: Scalar> Emission<T> for Half {
    ///     type Obs = f64;
    ///     fn n_states(&self) -> usize { 1 }
    ///     fn log_densities(&self, _: &[f64], _: usize, out: &mut [T]) { out.fill(T::constant(0.0)) }
    ///     fn fused(&self) -> Option<&dyn FusedEmission<T, Obs = f64>> { Some(self) }
    /// }
    /// ```
    fn fused(&self) -> Option<&dyn FusedEmission<T, Obs = Self::Obs>> {
        None
    }
}

/// The reverse-mode fast path of an [`Emission`] whose log-densities depend on a few scalars
/// θ (its parameters), offered through [`Emission::fused`].
///
/// The HMM likelihood asks for plain values and their Jacobian with respect to θ, folds the
/// chain rule `Σₜ Σₖ γ[t][k] ∂ℓ[t][k]/∂θ` into its fused forward–backward adjoint, and
/// records one tape node per sequence instead of one per log-density: several times faster
/// under reverse mode.
///
/// The Jacobian comes in one of two forms, chosen by [`jacobian_width`](Self::jacobian_width):
///
/// - dense (`None`, the default): `K × P` entries per time step, right for emissions with a
///   few parameters shared by all states (e.g. a signal and a noise);
/// - sparse (`Some(W)`): each density depends on at most `W` of the `P` scalars (with
///   per-state parameters, state `k`'s density depends on state `k`'s parameters only), so a
///   step stores `K × W` (index, partial) pairs and the adjoint contracts them in `O(K W)`
///   rather than `O(K P) = O(K²)`. Such an emission overrides
///   [`log_densities_with_sparse_jacobian`](Self::log_densities_with_sparse_jacobian) too.
///
/// An emission may also skip the stored Jacobian altogether: with
/// [`has_vjp`](Self::has_vjp) it fills only the log-densities
/// ([`sequence_values`](Self::sequence_values)) and computes the chain rule itself after
/// the backward pass ([`sequence_vjp`](Self::sequence_vjp), a vector–Jacobian product), as
/// the reference family ([`SharedSignalGaussian`](crate::zoo::SharedSignalGaussian)) does.
pub trait FusedEmission<T: Scalar>: Emission<T> {
    /// Pushes the `P` scalars θ that the log-densities depend on onto `out`.
    fn parameters(&self, out: &mut Vec<T>);

    /// Writes the values of `ln p(seq[t] | state k, seq[..t])` into `values[k]` and
    /// `∂ ln p(seq[t] | state k) / ∂θ_p` into `jacobian[k * P + p]`, where θ are the `P`
    /// scalars of [`parameters`](FusedEmission::parameters). Both buffers arrive zeroed.
    fn log_densities_with_jacobian(
        &self,
        seq: &[Self::Obs],
        t: usize,
        values: &mut [f64],
        jacobian: &mut [f64],
    );

    /// `Some(W)` when every log-density depends on at most `W` of the `P` parameters and
    /// [`log_densities_with_sparse_jacobian`](Self::log_densities_with_sparse_jacobian) is
    /// overridden to write them; `None` (the default) for the dense form.
    fn jacobian_width(&self) -> Option<usize> {
        None
    }

    /// The sparse form: writes `ln p(seq[t] | state k)` into `values[k]` and, for
    /// `j < W` (`W` from [`jacobian_width`](Self::jacobian_width)), a parameter index
    /// `indices[k * W + j] < P` with the partial `partials[k * W + j]` of state `k`'s density
    /// with respect to it (unused pairs: any valid index with partial 0; repeated indices
    /// add up). Both buffers arrive zeroed.
    ///
    /// The default serves the dense form (`W = P`): it writes the dense Jacobian into
    /// `partials` and the indices `0 … P−1` for every state.
    fn log_densities_with_sparse_jacobian(
        &self,
        seq: &[Self::Obs],
        t: usize,
        values: &mut [f64],
        indices: &mut [usize],
        partials: &mut [f64],
    ) {
        self.log_densities_with_jacobian(seq, t, values, partials);
        let width = partials.len().checked_div(values.len()).unwrap_or(0);
        for (i, index) in indices.iter_mut().enumerate() {
            *index = i % width.max(1);
        }
    }

    /// [`log_densities_with_sparse_jacobian`](Self::log_densities_with_sparse_jacobian) for
    /// every step of `seq`: `values` is `T × K`, `indices` and `partials` are `T × K × W`.
    fn sequence_with_sparse_jacobian(
        &self,
        seq: &[Self::Obs],
        values: &mut [f64],
        indices: &mut [usize],
        partials: &mut [f64],
    ) {
        steps_with_sparse_jacobian(self, seq, |_| true, values, indices, partials);
    }

    /// [`log_densities_with_jacobian`](FusedEmission::log_densities_with_jacobian) for every
    /// step of `seq`: `values` is `T × K`, `jacobian` is `T × K × P` (row-major). Rarely
    /// overridden: the provided loop makes one dynamic call per sequence, not per step.
    fn sequence_with_jacobian(&self, seq: &[Self::Obs], values: &mut [f64], jacobian: &mut [f64]) {
        steps_with_jacobian(self, seq, |_| true, values, jacobian);
    }

    /// [`sequence_with_jacobian`](FusedEmission::sequence_with_jacobian) at the steps whose
    /// flag in `missing` (one per step of `seq`) is `false`; a missing step's values and
    /// Jacobian entries are set to 0 (the buffers may hold an earlier evaluation's numbers,
    /// see [`writes_every_entry`](Self::writes_every_entry)). What
    /// [`MissingSteps`](crate::hmm::MissingSteps) calls: one dynamic call per sequence.
    fn observed_steps_with_jacobian(
        &self,
        seq: &[Self::Obs],
        missing: &[bool],
        values: &mut [f64],
        jacobian: &mut [f64],
    ) {
        steps_with_jacobian(self, seq, |t| !missing[t], values, jacobian);
    }

    /// [`sequence_with_sparse_jacobian`](FusedEmission::sequence_with_sparse_jacobian) at
    /// the steps whose flag in `missing` is `false`, as
    /// [`observed_steps_with_jacobian`](FusedEmission::observed_steps_with_jacobian); a
    /// missing step's values, indices and partials are set to 0 (index 0 with partial 0 is
    /// a valid unused pair).
    fn observed_steps_with_sparse_jacobian(
        &self,
        seq: &[Self::Obs],
        missing: &[bool],
        values: &mut [f64],
        indices: &mut [usize],
        partials: &mut [f64],
    ) {
        steps_with_sparse_jacobian(self, seq, |t| !missing[t], values, indices, partials);
    }

    /// `true` when [`sequence_with_jacobian`](Self::sequence_with_jacobian) (dense form) or
    /// [`sequence_with_sparse_jacobian`](Self::sequence_with_sparse_jacobian) (sparse form)
    /// writes every entry of its buffers — every value, every Jacobian entry, every index —
    /// at every step, so the forward algorithm may hand it buffers holding the previous
    /// evaluation's numbers instead of zeroing them first (for the reference family that
    /// zeroing is about a fifth of a gradient's instructions). `false`, the default, keeps
    /// the promise that the buffers arrive zeroed, which families writing only their
    /// non-zero entries rely on. An emission that says `true` and leaves an entry unwritten
    /// gets a wrong gradient, never undefined behaviour.
    fn writes_every_entry(&self) -> bool {
        false
    }

    /// `true` when this emission overrides [`sequence_values`](Self::sequence_values) and
    /// [`sequence_vjp`](Self::sequence_vjp) with loops cheaper than its Jacobian. The
    /// forward algorithm then stores only the log-densities and, after its backward pass,
    /// asks for the chain rule `Σₜ Σₖ γ[t][k] ∂ℓ[t][k]/∂θ` (a vector–Jacobian product)
    /// instead of storing the `T × K × P` Jacobian and contracting it: for the reference
    /// family (K = 3, P = 2) that is 3 doubles a step written instead of 9. `false`, the
    /// default, keeps the stored Jacobian.
    ///
    /// The emission of [`Emission::fused`]'s example with its own product: reverse mode
    /// (this route) and forward mode (no fast path) give the same gradient.
    ///
    /// ```
    /// use trellis_ad::{forward, reverse, Scalar, ScalarFn};
    /// use trellis_models::{hmm, Emission, FusedEmission, Sequences};
    ///
    /// struct Shifted<T> { shift: T }
    /// impl<T: Scalar> Emission<T> for Shifted<T> {
    ///     type Obs = f64;
    ///     fn n_states(&self) -> usize { 2 }
    ///     fn log_densities(&self, seq: &[f64], t: usize, out: &mut [T]) {
    ///         for (k, o) in out.iter_mut().enumerate() {
    ///             let z = self.shift * (k as f64) - seq[t];
    ///             *o = z * z * -0.5;
    ///         }
    ///     }
    ///     fn fused(&self) -> Option<&dyn FusedEmission<T, Obs = f64>> { Some(self) }
    /// }
    /// impl<T: Scalar> FusedEmission<T> for Shifted<T> {
    ///     fn parameters(&self, out: &mut Vec<T>) { out.push(self.shift) }
    ///     fn log_densities_with_jacobian(
    ///         &self, seq: &[f64], t: usize, values: &mut [f64], jacobian: &mut [f64],
    ///     ) {
    ///         for k in 0..2 {
    ///             let z = self.shift.value() * (k as f64) - seq[t];
    ///             values[k] = z * z * -0.5;
    ///             jacobian[k] = -z * (k as f64);
    ///         }
    ///     }
    ///     fn has_vjp(&self) -> bool { true }
    ///     // The same values as the Jacobian route, bit for bit.
    ///     fn sequence_values(&self, seq: &[f64], missing: Option<&[bool]>, values: &mut [f64]) {
    ///         for (t, out) in values.chunks_exact_mut(2).enumerate() {
    ///             for k in 0..2 {
    ///                 let z = self.shift.value() * (k as f64) - seq[t];
    ///                 out[k] = if missing.is_some_and(|m| m[t]) { 0.0 } else { z * z * -0.5 };
    ///             }
    ///         }
    ///     }
    ///     // Σₜ Σₖ γ[t][k] · ∂ℓ[t][k]/∂shift, without forming the Jacobian.
    ///     fn sequence_vjp(
    ///         &self, seq: &[f64], missing: Option<&[bool]>, d_le: &[f64], d_theta: &mut [f64],
    ///     ) {
    ///         let mut sum = 0.0;
    ///         for (t, g) in d_le.chunks_exact(2).enumerate() {
    ///             if !missing.is_some_and(|m| m[t]) {
    ///                 let z = self.shift.value() - seq[t]; // state 1 (state 0's partial is 0)
    ///                 sum -= g[1] * z;
    ///             }
    ///         }
    ///         d_theta[0] = sum;
    ///     }
    /// }
    ///
    /// // x = (shift, ln π (2), ln P (2 × 2)).
    /// struct Model(Sequences<f64>);
    /// impl ScalarFn for Model {
    ///     fn eval<T: Scalar>(&self, x: &[T]) -> T {
    ///         let emission = Shifted { shift: x[0] };
    ///         hmm::batch_log_likelihood(&x[1..3], &x[3..7], &emission, &self.0).unwrap()
    ///     }
    /// }
    /// let model = Model(Sequences::new(vec![vec![0.1, 0.9, 1.2, 0.0], vec![1.1, -0.2]])?);
    /// let x = [0.8, 0.5f64.ln(), 0.5f64.ln(), 0.9f64.ln(), 0.1f64.ln(), 0.2f64.ln(), 0.8f64.ln()];
    /// let (_, by_product) = reverse::value_and_gradient(&model, &x);
    /// let (_, by_forward) = forward::value_and_gradient(&model, &x);
    /// for (a, b) in by_product.iter().zip(&by_forward) {
    ///     assert!((a - b).abs() < 1e-12 * (1.0 + b.abs()), "{a} vs {b}");
    /// }
    /// # Ok::<(), trellis_models::HmmError>(())
    /// ```
    fn has_vjp(&self) -> bool {
        false
    }

    /// The log-densities of every step of `seq` into `values` (`T × K`), 0 at the steps
    /// flagged in `missing` (one flag per step, `true` = missing); every entry is written.
    /// The provided version computes each step's Jacobian too and discards it; an emission
    /// saying [`has_vjp`](Self::has_vjp) overrides it with the same values (bit for bit:
    /// the values must not depend on which route asked for them).
    fn sequence_values(&self, seq: &[Self::Obs], missing: Option<&[bool]>, values: &mut [f64]) {
        let k = self.n_states();
        let width = self.jacobian_width().unwrap_or_else(|| n_parameters(self));
        with_step_jacobian(k * width, |indices, partials| {
            for (t, out) in values.chunks_exact_mut(k).enumerate().take(seq.len()) {
                out.fill(0.0);
                if !missing.is_some_and(|m| m[t]) {
                    indices.fill(0);
                    partials.fill(0.0);
                    self.log_densities_with_sparse_jacobian(seq, t, out, indices, partials);
                }
            }
        });
    }

    /// The vector–Jacobian product `d_theta[p] = Σₜ Σₖ d_le[t·K + k] · ∂ℓ[t][k]/∂θ_p` over
    /// the steps of `seq` not flagged in `missing`, `d_theta` (the `P` scalars of
    /// [`parameters`](Self::parameters)) overwritten. The provided version contracts each
    /// step's Jacobian as it is computed; an emission saying [`has_vjp`](Self::has_vjp)
    /// overrides it with a loop that never forms the Jacobian (equal to rounding).
    fn sequence_vjp(
        &self,
        seq: &[Self::Obs],
        missing: Option<&[bool]>,
        d_le: &[f64],
        d_theta: &mut [f64],
    ) {
        let k = self.n_states();
        let width = self.jacobian_width().unwrap_or(d_theta.len());
        d_theta.fill(0.0);
        with_step_jacobian(k * width, |indices, partials| {
            scratch::with_filled(k, 0.0, |values: &mut [f64]| {
                for (t, g) in d_le.chunks_exact(k).enumerate().take(seq.len()) {
                    if missing.is_some_and(|m| m[t]) {
                        continue;
                    }
                    indices.fill(0);
                    partials.fill(0.0);
                    values.fill(0.0);
                    self.log_densities_with_sparse_jacobian(seq, t, values, indices, partials);
                    let pairs = indices.iter().zip(partials.iter()).enumerate();
                    for (i, (&index, &partial)) in pairs {
                        d_theta[index] += g[i / width.max(1)] * partial;
                    }
                }
            })
        });
    }
}

/// The number of scalars of [`FusedEmission::parameters`].
fn n_parameters<T: Scalar, F: FusedEmission<T> + ?Sized>(emission: &F) -> usize {
    scratch::with_vec(|theta: &mut Vec<T>| {
        theta.clear();
        emission.parameters(theta);
        theta.len()
    })
}

/// Runs `f` on one step's sparse-form buffers of `len` (index, partial) pairs.
fn with_step_jacobian<R>(len: usize, f: impl FnOnce(&mut [usize], &mut [f64]) -> R) -> R {
    scratch::with_filled(len, 0usize, |indices: &mut [usize]| {
        scratch::with_filled(len, 0.0, |partials: &mut [f64]| f(indices, partials))
    })
}

/// The provided per-sequence loops of [`FusedEmission`]: the dense form at the steps `t`
/// with `keep(t)`, zeros at the others (`values` is `T × K`, `jacobian` `T × K × P`).
fn steps_with_jacobian<T: Scalar, F: FusedEmission<T> + ?Sized>(
    emission: &F,
    seq: &[F::Obs],
    keep: impl Fn(usize) -> bool,
    values: &mut [f64],
    jacobian: &mut [f64],
) {
    let k = emission.n_states();
    // `K × P` Jacobian entries per step.
    let per_step = jacobian.len().checked_div(seq.len()).unwrap_or(0);
    for t in 0..seq.len() {
        let (values, jacobian) = (
            &mut values[t * k..(t + 1) * k],
            &mut jacobian[t * per_step..(t + 1) * per_step],
        );
        if keep(t) {
            emission.log_densities_with_jacobian(seq, t, values, jacobian);
        } else {
            values.fill(0.0);
            jacobian.fill(0.0);
        }
    }
}

/// [`steps_with_jacobian`] for the sparse form (`indices` and `partials` `T × K × W`).
fn steps_with_sparse_jacobian<T: Scalar, F: FusedEmission<T> + ?Sized>(
    emission: &F,
    seq: &[F::Obs],
    keep: impl Fn(usize) -> bool,
    values: &mut [f64],
    indices: &mut [usize],
    partials: &mut [f64],
) {
    let k = emission.n_states();
    let per_step = partials.len().checked_div(seq.len()).unwrap_or(0);
    for t in 0..seq.len() {
        let pairs = t * per_step..(t + 1) * per_step;
        let (values, indices, partials) = (
            &mut values[t * k..(t + 1) * k],
            &mut indices[pairs.clone()],
            &mut partials[pairs],
        );
        if keep(t) {
            emission.log_densities_with_sparse_jacobian(seq, t, values, indices, partials);
        } else {
            values.fill(0.0);
            indices.fill(0);
            partials.fill(0.0);
        }
    }
}
