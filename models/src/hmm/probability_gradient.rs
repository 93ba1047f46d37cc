//! The gradient of the log-likelihood with respect to the chain's probabilities as given
//! (each entry a free variable), finite at exact zeros.
//!
//! The log-probability gradient `∂ ln L / ∂ ln p = p · ∂ ln L / ∂p` vanishes at a zero entry
//! and cannot be divided back; here the partials are computed in probability space by a
//! scaled forward–backward pass:
//!
//! - `∂ ln L / ∂π[i] = e₀(i) β₀(i) / L`;
//! - `∂ ln L / ∂Γ[i][j] = Σₜ αₜ(i) eₜ₊₁(j) βₜ₊₁(j) / L`,
//!
//! with `α`, `β` the forward and backward weights and `eₜ(j) = p(yₜ | zₜ = j)`.

use super::checks::{check_emission, check_plain_emission};
use super::data::Sequences;
use super::error::HmmError;
use super::forward::fill_emission;
use super::missing::MissingSteps;
use crate::emission::Emission;

/// The log-likelihood and its partials with respect to the probabilities.
#[derive(Clone, Debug, PartialEq)]
pub struct ProbabilityGradient {
    /// `ln L`, summed over sequences.
    pub log_likelihood: f64,
    /// `∂ ln L / ∂p_initial_state[i]`, length `K`.
    pub initial: Vec<f64>,
    /// `∂ ln L / ∂p_transition[i][j]` at `i · K + j`, length `K²`.
    pub transition: Vec<f64>,
}

/// [`ProbabilityGradient`] of one sequence from its emission log-densities `log_emission`
/// (`T × K`, row-major), the probabilities `p_init` (`K`) and `p_trans` (`K × K`) as given
/// (zeros allowed, rows need not sum to 1).
///
/// ```
/// use trellis_models::hmm::{forward_log_likelihood, probability_gradient};
/// // A left-to-right chain with an exact zero: its partial is finite.
/// let (pi, p) = ([1.0, 0.0], [0.7, 0.3, 0.0, 1.0]);
/// let le = [-1.0, -2.0, -0.5, -3.0, -2.0, -0.1];
/// let g = probability_gradient(&pi, &p, &le, 2)?;
/// let h = 1e-6;
/// let ll = |p10: f64| {
///     let lt = [0.7f64.ln(), 0.3f64.ln(), p10.ln(), 1.0f64.ln()];
///     forward_log_likelihood(&[0.0, f64::NEG_INFINITY], &lt, &le, 2).unwrap()
/// };
/// assert!((g.log_likelihood - ll(0.0)).abs() < 1e-12);
/// assert!((g.transition[2] - (ll(h) - ll(0.0)) / h).abs() < 1e-4);
/// # Ok::<(), trellis_models::hmm::HmmError>(())
/// ```
///
/// # Errors
/// Wrong lengths, `K = 0`, an empty sequence, a probability that is negative or not finite,
/// a NaN or `+inf` log-density, or a sequence of probability 0
/// ([`HmmError::ZeroProbability`]: the gradient of `ln L` does not exist there).
pub fn probability_gradient(
    p_init: &[f64],
    p_trans: &[f64],
    log_emission: &[f64],
    k: usize,
) -> Result<ProbabilityGradient, HmmError> {
    check_probabilities(p_init, p_trans, k)?;
    check_emission(log_emission, k)?;
    let mut out = ProbabilityGradient {
        log_likelihood: 0.0,
        initial: vec![0.0; k],
        transition: vec![0.0; k * k],
    };
    accumulate(p_init, p_trans, log_emission, k, &mut out)?;
    Ok(out)
}

/// [`probability_gradient`] summed over a batch of sequences under `emission`, missing
/// observations ([`Sequences::with_missing`]) marginalised.
///
/// # Errors
/// As [`probability_gradient`], naming the sequence.
pub fn batch_probability_gradient<E: Emission<f64> + ?Sized>(
    p_init: &[f64],
    p_trans: &[f64],
    emission: &E,
    sequences: &Sequences<E::Obs>,
) -> Result<ProbabilityGradient, HmmError> {
    let k = emission.n_states();
    check_probabilities(p_init, p_trans, k)?;
    let mut out = ProbabilityGradient {
        log_likelihood: 0.0,
        initial: vec![0.0; k],
        transition: vec![0.0; k * k],
    };
    let mut le = Vec::new();
    for (s, seq) in sequences.iter().enumerate() {
        let view = MissingSteps::new(emission, sequences.missing_of(s));
        le.clear();
        le.resize(seq.len() * k, 0.0);
        fill_emission(&view, seq, &mut le);
        check_plain_emission(&le, k).map_err(|e| e.in_sequence(s))?;
        accumulate(p_init, p_trans, &le, k, &mut out).map_err(|e| e.in_sequence(s))?;
    }
    Ok(out)
}

fn check_probabilities(p_init: &[f64], p_trans: &[f64], k: usize) -> Result<(), HmmError> {
    if k == 0 {
        return Err(HmmError::NoStates);
    }
    if p_init.len() != k {
        return Err(HmmError::WrongLength {
            what: "p_init (one entry per state)",
            expected: k,
            found: p_init.len(),
        });
    }
    if p_trans.len() != k * k {
        return Err(HmmError::WrongLength {
            what: "p_trans (K × K, row-major)",
            expected: k * k,
            found: p_trans.len(),
        });
    }
    if let Some(state) = p_init.iter().position(|p| !(p.is_finite() && *p >= 0.0)) {
        return Err(HmmError::InvalidInitialProbability {
            state,
            value: p_init[state],
        });
    }
    if let Some(i) = p_trans.iter().position(|p| !(p.is_finite() && *p >= 0.0)) {
        return Err(HmmError::InvalidTransitionProbability {
            row: i / k,
            column: i % k,
            value: p_trans[i],
        });
    }
    Ok(())
}

/// Adds one sequence's value and partials to `out` (validated inputs).
fn accumulate(
    p_init: &[f64],
    p_trans: &[f64],
    log_emission: &[f64],
    k: usize,
    out: &mut ProbabilityGradient,
) -> Result<(), HmmError> {
    let n = log_emission.len() / k;
    // eₜ scaled by its row maximum (exp(mₜ) goes into ln L), then the normalised forward
    // weights α̂ₜ with their normalisers cₜ.
    let mut e = vec![0.0; n * k];
    let mut alpha = vec![0.0; n * k];
    let mut c = vec![0.0; n];
    let mut log_l = 0.0;
    for t in 0..n {
        let row = &log_emission[t * k..(t + 1) * k];
        let m = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if m == f64::NEG_INFINITY {
            return Err(HmmError::ZeroProbability {
                sequence: 0,
                position: t,
            });
        }
        for j in 0..k {
            e[t * k + j] = (row[j] - m).exp();
            let prior = if t == 0 {
                p_init[j]
            } else {
                (0..k)
                    .map(|i| alpha[(t - 1) * k + i] * p_trans[i * k + j])
                    .sum()
            };
            alpha[t * k + j] = prior * e[t * k + j];
        }
        let sum: f64 = alpha[t * k..(t + 1) * k].iter().sum();
        if !(sum > 0.0 && sum.is_finite()) {
            return Err(HmmError::ZeroProbability {
                sequence: 0,
                position: t,
            });
        }
        for a in &mut alpha[t * k..(t + 1) * k] {
            *a /= sum;
        }
        c[t] = sum;
        log_l += sum.ln() + m;
    }
    // Backward: β̂_(T−1) = 1, β̂ₜ(i) = Σⱼ Γᵢⱼ êₜ₊₁(j) β̂ₜ₊₁(j) / cₜ₊₁.
    let mut beta = vec![1.0; k];
    let mut next = vec![0.0; k];
    for t in (0..n.saturating_sub(1)).rev() {
        for (j, w) in next.iter_mut().enumerate() {
            *w = e[(t + 1) * k + j] * beta[j] / c[t + 1];
        }
        for i in 0..k {
            for (d, &w) in out.transition[i * k..(i + 1) * k].iter_mut().zip(&next) {
                *d += alpha[t * k + i] * w;
            }
            beta[i] = (0..k).map(|j| p_trans[i * k + j] * next[j]).sum();
        }
    }
    for i in 0..k {
        out.initial[i] += e[i] * beta[i] / c[0];
    }
    out.log_likelihood += log_l;
    Ok(())
}
