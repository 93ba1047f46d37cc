//! The forward algorithm's entry points: the log-likelihood of one sequence from its
//! emission matrix ([`forward_log_likelihood`]) or under any [`Emission`]
//! ([`log_likelihood`]), and of a batch of ragged sequences ([`batch_log_likelihood`],
//! [`per_sequence_log_likelihood`]). Evaluated with `f64` they give values, with duals
//! forward-mode derivatives, with `Var` reverse-mode derivatives.
//!
//! Behind them, one recursion ([`super::recursion`], with its log-space fallback
//! [`super::log_space`]); for scalar types that prefer custom operations (reverse mode,
//! `T::CUSTOM_IS_CHEAPER`) the reverse-mode glue ([`super::reverse`]) records one tape node per
//! sequence whose value and partials come from the forward–backward [`super::adjoint`] — the
//! recursion's `f64` instance, so the value is bit-identical to the generic one. An emission
//! that offers [`Emission::fused`] has its Jacobian folded into that node as well. Large
//! batches run in parallel over sequences ([`super::batch`]). Property tests check every
//! route against the generic code and against enumeration of all paths.
//!
//! Zero probabilities (`-inf` log-probabilities or log-densities) are allowed everywhere: the
//! value is right and the derivatives are finite wherever the value is finite. Exact zeros
//! are constants in the generic code (cut from the derivative graph), so no `0 × ∞` arises.

use trellis_ad::{scratch, Scalar};

use super::batch::per_sequence_log_likelihood_into;
use super::checks::{check_emission, check_emission_values, check_params, check_params_with};
use super::data::Sequences;
use super::error::HmmError;
use super::log_space;
use super::recursion::{self, with_probs, Probs};
use super::reverse;
use super::reverse_sum;
use crate::emission::Emission;

/// The log-likelihood `ln p(y₁..y_T)` of one sequence from its emission log-densities.
///
/// - `log_init`: `ln p(z₁ = k)`, length `K`;
/// - `log_trans`: `ln p(zₜ₊₁ = j | zₜ = i)` at `i · K + j` (rows = from-state), length `K²`;
/// - `log_emission`: `ln p(yₜ | zₜ = k)` at `t · K + k`, length `T · K` with `T ≥ 1`.
///
/// The probabilities need not be normalised: the result is the log of the sum over all
/// hidden paths of `π[z₁] Πₜ P[zₜ][zₜ₊₁] Πₜ e[t][zₜ]`, and its derivatives are those of that
/// function of free log-probabilities. `-inf` entries (zero probabilities) are allowed.
///
/// In reverse mode this is one tape node (fused forward–backward); otherwise the generic
/// recursion [`forward_log_likelihood_generic`].
///
/// # Errors
/// Wrong lengths, `K = 0`, an empty sequence, or NaN / `+inf` inputs.
///
/// ```
/// use trellis_models::hmm::forward_log_likelihood;
/// // Two states, always in state 0: log L = ln 1 + ln N-density terms.
/// let li = [0.0, f64::NEG_INFINITY];
/// let lt = [0.0, f64::NEG_INFINITY, f64::NEG_INFINITY, 0.0];
/// let le = [-1.0, -5.0, -2.0, -0.5];
/// let ll: f64 = forward_log_likelihood(&li, &lt, &le, 2).unwrap();
/// assert!((ll - (-3.0)).abs() < 1e-14);
/// ```
pub fn forward_log_likelihood<T: Scalar>(
    log_init: &[T],
    log_trans: &[T],
    log_emission: &[T],
    k: usize,
) -> Result<T, HmmError> {
    check_params(log_init, log_trans, k)?;
    check_emission(log_emission, k)?;
    Ok(if T::CUSTOM_IS_CHEAPER {
        reverse::fused(log_init, log_trans, log_emission, k)
    } else {
        recursion::log_likelihood(log_init, log_trans, log_emission, k)
    })
}

/// The transition probabilities of one sequence: one matrix for every step, or one per step.
///
/// Per-step matrices come from any code (covariate-driven transitions, a periodic model, …):
/// the caller computes `ln Γₜ` with the same scalar type as the rest of the model, and the
/// gradient flows through them (in reverse mode the fused node's partials with respect to
/// `ln Γₜ` are the expected transition counts `ξₜ` of that step).
#[derive(Clone, Copy, Debug)]
pub enum Transitions<'a, T> {
    /// `ln p(zₜ₊₁ = j | zₜ = i)` at `i · K + j` for every step, length `K²`.
    Homogeneous(&'a [T]),
    /// `T − 1` matrices of `K²` entries one after another: the step from `t` to `t + 1`
    /// (`t = 0 … T − 2`) at `t · K²`, row `i` = from-state. Length `(T − 1) · K²`.
    PerStep(&'a [T]),
}

impl<'a, T> Transitions<'a, T> {
    /// The log-probabilities as one slice (`K²` or `(T − 1) · K²`).
    pub fn as_slice(&self) -> &'a [T] {
        match *self {
            Self::Homogeneous(lt) | Self::PerStep(lt) => lt,
        }
    }
}

/// Checks the emission matrix and `transitions` of one sequence; returns the one slice of
/// log transition probabilities the recursion takes (whose length tells the two cases
/// apart: see `recursion::with_probs`).
pub(crate) fn check_inputs<'a, T: Scalar>(
    log_init: &[T],
    transitions: Transitions<'a, T>,
    log_emission: &[T],
    k: usize,
) -> Result<&'a [T], HmmError> {
    check_emission(log_emission, k)?;
    let steps = log_emission.len() / k;
    match transitions {
        Transitions::Homogeneous(lt) => check_params(log_init, lt, k)?,
        Transitions::PerStep(lt) => check_params_with(
            log_init,
            lt,
            k,
            steps.saturating_sub(1),
            "per-step log_trans ((T − 1) × K × K, row-major)",
        )?,
    }
    Ok(transitions.as_slice())
}

/// [`forward_log_likelihood`] with one transition matrix or one per step.
///
/// In reverse mode this is one tape node whose partials with respect to the per-step
/// `ln Γₜ` are `ξₜ[i][j]`, the posterior probability of the transition `i → j` from `t` to
/// `t + 1`; a model whose `ln Γₜ` depend on coefficients gets their gradient
/// `Σₜ Σᵢⱼ ξₜ[i][j] ∂ ln Γₜ[i][j] / ∂coef` by the chain rule, step by step.
///
/// # Errors
/// As [`forward_log_likelihood`]; per-step matrices must number `T − 1`.
///
/// ```
/// use trellis_models::hmm::{forward_log_likelihood, forward_log_likelihood_with, Transitions};
/// let li = [0.6f64.ln(), 0.4f64.ln()];
/// let le = [-1.0, -2.0, -0.5, -3.0, -2.0, -0.1];
/// // Two steps with the same matrix: the homogeneous value.
/// let p = [0.9f64.ln(), 0.1f64.ln(), 0.3f64.ln(), 0.7f64.ln()];
/// let steps: Vec<f64> = p.iter().chain(&p).copied().collect();
/// let a = forward_log_likelihood_with(&li, Transitions::PerStep(&steps), &le, 2).unwrap();
/// let b = forward_log_likelihood(&li, &p, &le, 2).unwrap();
/// assert_eq!(a, b);
/// ```
pub fn forward_log_likelihood_with<T: Scalar>(
    log_init: &[T],
    transitions: Transitions<'_, T>,
    log_emission: &[T],
    k: usize,
) -> Result<T, HmmError> {
    let log_trans = check_inputs(log_init, transitions, log_emission, k)?;
    Ok(if T::CUSTOM_IS_CHEAPER {
        reverse::fused(log_init, log_trans, log_emission, k)
    } else {
        recursion::log_likelihood(log_init, log_trans, log_emission, k)
    })
}

/// [`forward_log_likelihood_with`] through the generic recursion whatever the scalar type
/// (never the fused node): the reference the fused adjoint is tested against.
///
/// # Errors
/// As [`forward_log_likelihood_with`].
pub fn forward_log_likelihood_generic_with<T: Scalar>(
    log_init: &[T],
    transitions: Transitions<'_, T>,
    log_emission: &[T],
    k: usize,
) -> Result<T, HmmError> {
    let log_trans = check_inputs(log_init, transitions, log_emission, k)?;
    Ok(recursion::log_likelihood(
        log_init,
        log_trans,
        log_emission,
        k,
    ))
}

/// [`forward_log_likelihood_log_space`] with one transition matrix or one per step.
///
/// # Errors
/// As [`forward_log_likelihood_with`].
pub fn forward_log_likelihood_log_space_with<T: Scalar>(
    log_init: &[T],
    transitions: Transitions<'_, T>,
    log_emission: &[T],
    k: usize,
) -> Result<T, HmmError> {
    let log_trans = check_inputs(log_init, transitions, log_emission, k)?;
    Ok(log_space::value(log_init, log_trans, log_emission, k))
}

/// The generic forward recursion, whatever the scalar type (never the fused node): what the
/// fused reverse-mode adjoint is tested against. Same contract as [`forward_log_likelihood`].
pub fn forward_log_likelihood_generic<T: Scalar>(
    log_init: &[T],
    log_trans: &[T],
    log_emission: &[T],
    k: usize,
) -> Result<T, HmmError> {
    check_params(log_init, log_trans, k)?;
    check_emission(log_emission, k)?;
    Ok(recursion::log_likelihood(
        log_init,
        log_trans,
        log_emission,
        k,
    ))
}

/// The log-space forward recursion (`T::log_sum_exp` over previous states at every step),
/// exposed as the reference (test oracle) for the scaled recursion: slower, but free of any
/// scaling logic. Same contract as [`forward_log_likelihood`].
pub fn forward_log_likelihood_log_space<T: Scalar>(
    log_init: &[T],
    log_trans: &[T],
    log_emission: &[T],
    k: usize,
) -> Result<T, HmmError> {
    check_params(log_init, log_trans, k)?;
    check_emission(log_emission, k)?;
    Ok(log_space::value(log_init, log_trans, log_emission, k))
}

/// Fills the `T × K` emission matrix of `seq` (row-major) into `out`.
pub(crate) fn fill_emission<T: Scalar, E: Emission<T> + ?Sized>(
    emission: &E,
    seq: &[E::Obs],
    out: &mut [T],
) {
    let k = emission.n_states();
    for (t, row) in out.chunks_exact_mut(k).enumerate() {
        emission.log_densities(seq, t, row);
    }
}

/// The log-likelihood of one observation sequence under an emission model.
///
/// `log_init` and `log_trans` as in [`forward_log_likelihood`]; `K` is
/// `emission.n_states()`. The emission matrix is filled into a reused scratch buffer, so
/// repeated calls allocate nothing.
///
/// # Errors
/// Wrong parameter lengths, an empty sequence, or an emission log-density that is NaN or
/// `+inf` (named by position and state).
pub fn log_likelihood<T: Scalar, E: Emission<T> + ?Sized>(
    log_init: &[T],
    log_trans: &[T],
    emission: &E,
    seq: &[E::Obs],
) -> Result<T, HmmError> {
    let k = emission.n_states();
    check_params(log_init, log_trans, k)?;
    if seq.is_empty() {
        return Err(HmmError::EmptySequence { sequence: 0 });
    }
    if T::CUSTOM_IS_CHEAPER {
        let mut out = [T::constant(0.0)];
        reverse::batch_fused(
            log_init,
            log_trans,
            emission,
            seq,
            &[0, seq.len()],
            None,
            &mut out,
            false,
        )?;
        Ok(out[0])
    } else {
        with_probs(log_init, log_trans, |probs| {
            sequence_value(probs, emission, seq)
        })
    }
}

/// One sequence through the generic recursion, the parameters prepared.
pub(crate) fn sequence_value<T: Scalar, E: Emission<T> + ?Sized>(
    probs: &Probs<'_, T>,
    emission: &E,
    seq: &[E::Obs],
) -> Result<T, HmmError> {
    let k = emission.n_states();
    if seq.is_empty() {
        return Err(HmmError::EmptySequence { sequence: 0 });
    }
    scratch::with_vec(|le: &mut Vec<T>| {
        le.clear();
        le.resize(seq.len() * k, T::constant(0.0));
        fill_emission(emission, seq, le);
        check_emission_values(le.iter().map(|x| x.value()), k)?;
        Ok(recursion::value(probs, le, k))
    })
}

/// The total log-likelihood of a batch of independent sequences: the sum of the
/// per-sequence values in sequence order.
///
/// With `f64` values (and forward-mode duals over `f64`), and for the `f64` forward–backward
/// work of reverse mode, large batches run in parallel over sequences on the current rayon
/// pool; the per-sequence results are the same as serially and are summed in the same fixed
/// order, so the result is bit-identical to the serial one. Small batches, or a pool of one
/// thread, run serially (and, once warm, allocate nothing).
///
/// Missing observations ([`Sequences::with_missing`]) contribute log-density 0 to every
/// state (serially or in parallel, as complete data).
///
/// In reverse mode, a batch whose per-sequence partials with respect to the shared
/// parameters (`N · (K + K² + P)`) exceed [`ACCUMULATE_MIN`](super::ACCUMULATE_MIN) `f64`
/// records one node for the total, those partials summed over the sequences in a fixed
/// order (the same serially and in parallel): `O(K·T + K²)` memory instead of `O(N·K²)`.
/// The value and gradient then agree with the per-sequence nodes' to rounding.
///
/// # Errors
/// As [`log_likelihood`], naming the sequence.
pub fn batch_log_likelihood<T, E>(
    log_init: &[T],
    log_trans: &[T],
    emission: &E,
    sequences: &Sequences<E::Obs>,
) -> Result<T, HmmError>
where
    T: Scalar,
    E: Emission<T> + Sync + ?Sized,
    E::Obs: Sync,
{
    batch_log_likelihood_with_threshold(
        log_init,
        log_trans,
        emission,
        sequences,
        reverse_sum::ACCUMULATE_MIN,
    )
}

/// [`batch_log_likelihood`] with the reverse-mode accumulation threshold given (in `f64` of
/// per-sequence shared partials; `usize::MAX`: never accumulate, `0`: always): for tests
/// comparing the two reverse-mode routes.
///
/// # Errors
/// As [`batch_log_likelihood`].
#[doc(hidden)]
pub fn batch_log_likelihood_with_threshold<T, E>(
    log_init: &[T],
    log_trans: &[T],
    emission: &E,
    sequences: &Sequences<E::Obs>,
    threshold: usize,
) -> Result<T, HmmError>
where
    T: Scalar,
    E: Emission<T> + Sync + ?Sized,
    E::Obs: Sync,
{
    if let Some(total) =
        reverse_sum::batch_total(log_init, log_trans, emission, sequences, threshold)
    {
        return total;
    }
    scratch::with_vec(|values: &mut Vec<T>| {
        values.clear();
        values.resize(sequences.len(), T::constant(0.0));
        per_sequence_log_likelihood_into(log_init, log_trans, emission, sequences, values)?;
        Ok(T::sum_of(values))
    })
}

/// The log-likelihood of each sequence of a batch, in order.
///
/// # Errors
/// As [`batch_log_likelihood`].
pub fn per_sequence_log_likelihood<T, E>(
    log_init: &[T],
    log_trans: &[T],
    emission: &E,
    sequences: &Sequences<E::Obs>,
) -> Result<Vec<T>, HmmError>
where
    T: Scalar,
    E: Emission<T> + Sync + ?Sized,
    E::Obs: Sync,
{
    let mut out = vec![T::constant(0.0); sequences.len()];
    per_sequence_log_likelihood_into(log_init, log_trans, emission, sequences, &mut out)?;
    Ok(out)
}
