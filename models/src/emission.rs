//! The emission abstraction: the log-density of one observation given each hidden state.

use trellis_ad::Scalar;

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

    /// Optional reverse-mode fast path, together with
    /// [`log_densities_with_jacobian`](Emission::log_densities_with_jacobian).
    ///
    /// An emission whose log-densities depend on a few scalars θ (its parameters) may push θ
    /// onto `out` and return `true`. The HMM likelihood then asks for plain values and their
    /// Jacobian with respect to θ, folds the chain rule `Σₜ Σₖ γ[t][k] ∂ℓ[t][k]/∂θ` into its
    /// fused forward–backward kernel, and records one tape node per sequence instead of one
    /// per log-density: several times faster under reverse mode. Only consulted when
    /// `T::PREFERS_CUSTOM`. The default returns `false` (use `log_densities`).
    ///
    /// The Jacobian is dense (`K × P` per time step, for the whole batch at once), so this
    /// pays off for emissions with few parameters (e.g. a signal and a noise shared by all
    /// states); with per-state parameters (`P ∝ K`) it costs `O(T K P)` time and memory.
    fn fused_parameters(&self, out: &mut Vec<T>) -> bool {
        let _ = out;
        false
    }

    /// With [`fused_parameters`](Emission::fused_parameters) returning `true`: writes the
    /// values of `ln p(seq[t] | state k, seq[..t])` into `values[k]` and
    /// `∂ ln p(seq[t] | state k) / ∂θ_p` into `jacobian[k * P + p]`, where θ are the `P`
    /// scalars pushed by `fused_parameters`. Both buffers arrive zeroed.
    ///
    /// Implement both methods or neither. The default writes NaN values, so an emission
    /// that claims the fast path without implementing it gets a typed
    /// `InvalidLogDensity` error rather than a wrong gradient.
    fn log_densities_with_jacobian(
        &self,
        seq: &[Self::Obs],
        t: usize,
        values: &mut [f64],
        jacobian: &mut [f64],
    ) {
        let _ = (seq, t, jacobian);
        values.fill(f64::NAN);
    }
}
