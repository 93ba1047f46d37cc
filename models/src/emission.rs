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
}
