//! The log-likelihood of one sequence of a covariate model: through the generic code
//! ([`generic_sequence`]), and in reverse mode one tape node per sequence over
//! `[ln p_initial_state | transition_coef | θ]` (θ the emission's fused parameters), from the
//! `f64` forward–backward adjoint with per-step transitions and the chain rule through the
//! multinomial logit, instead of a node per transition entry and per emission density.
//!
//! With `ln Γₜ[i][·] = ηₜ[i][·] − lse(ηₜ[i][·])` and `ξₜ = ∂ ln L / ∂ ln Γₜ`,
//! `∂ ln L / ∂ηₜ[i][j] = ξₜ[i][j] − Γₜ[i][j] Σⱼ' ξₜ[i][j']`, and
//! `∂ ln L / ∂coef[i][j][c] = Σₜ ∂ ln L / ∂ηₜ[i][j] · zₜ[c]` for `j ≠ i` (0 on the diagonal).

use trellis_ad::{scratch, Scalar};

use crate::emission::{Emission, FusedEmission};
use crate::hmm::{self, adjoint, HmmError, Transitions};

/// One sequence of a covariate model in reverse mode through its fused emission: the
/// recorded log-likelihood, or `None` when probability space cannot be trusted (the caller
/// then records the generic recursion).
///
/// `li`: `ln p_initial_state` (K); `coef`: `K × K × C`; `design`: `Tₛ × C`; `theta`: the
/// emission's fused parameters (pushed once per batch by the caller). The transition
/// matrices are built once as probabilities and the backward pass contracts each step's
/// `ξₜ` into the coefficient gradient as it goes
/// ([`covariate_value_and_partials`](crate::hmm::covariate_value_and_partials)): nothing per
/// step is kept beyond `Γₜ`.
pub(super) fn fused_sequence<T: Scalar, O>(
    li: &[T],
    coef: &[T],
    design: &[f64],
    c: usize,
    fused: &dyn FusedEmission<T, Obs = O>,
    theta: &[T],
    seq: &[O],
) -> Result<Option<T>, HmmError> {
    let k = li.len();
    let n = seq.len();
    let (nc, np) = (coef.len(), theta.len());
    let width = fused.jacobian_width();
    let per_density = width.unwrap_or(np);
    scratch::with_vec(|buf: &mut Vec<f64>| {
        // [∂/∂li | ∂/∂coef | ∂/∂θ] [li | coef | le | ∂/∂le | jac]; the Jacobian zeroed (a
        // missing step's entries are never written).
        buf.clear();
        buf.resize(2 * (k + nc) + np + 2 * n * k + n * k * per_density, 0.0);
        let (grad, rest) = buf.split_at_mut(k + nc + np);
        let (li_v, rest) = rest.split_at_mut(k);
        let (coef_v, rest) = rest.split_at_mut(nc);
        let (le, rest) = rest.split_at_mut(n * k);
        let (d_le, jac) = rest.split_at_mut(n * k);
        for (v, x) in li_v.iter_mut().zip(li).chain(coef_v.iter_mut().zip(coef)) {
            *v = x.value();
        }
        scratch::with_vec(|indices: &mut Vec<usize>| {
            indices.clear();
            match width {
                Some(_) => {
                    indices.resize(n * k * per_density, 0);
                    fused.sequence_with_sparse_jacobian(seq, le, indices, jac);
                }
                None => fused.sequence_with_jacobian(seq, le, jac),
            }
            let (d_li, rest) = grad.split_at_mut(k);
            let (d_coef, d_theta) = rest.split_at_mut(nc);
            let value =
                hmm::covariate_value_and_partials(li_v, coef_v, c, design, le, d_li, d_coef, d_le)?;
            let Some(value) = value else {
                return Ok(None);
            };
            // ∂/∂θ_p = Σ_{t,k} γ[t][k] ∂ℓ[t][k]/∂θ_p.
            match width {
                Some(w) => adjoint::contract_sparse(d_le, w, indices, jac, d_theta),
                None => adjoint::contract(d_le, jac, d_theta),
            }
            scratch::with_vec(|inputs: &mut Vec<T>| {
                inputs.clear();
                inputs.extend_from_slice(li);
                inputs.extend_from_slice(coef);
                inputs.extend_from_slice(theta);
                Ok(Some(T::custom(inputs, value, grad)))
            })
        })
    })
}

/// One sequence of a covariate model through the generic code: `ln Γₜ` from the
/// coefficients, the emission matrix, then the recursion with per-step transitions.
pub(super) fn generic_sequence<T: Scalar, E: Emission<T> + ?Sized>(
    li: &[T],
    coef: &[T],
    design: &[f64],
    c: usize,
    emission: &E,
    seq: &[E::Obs],
) -> Result<T, HmmError> {
    let k = li.len();
    scratch::with_vec(|lt: &mut Vec<T>| {
        lt.clear();
        lt.resize((seq.len() - 1) * k * k, T::constant(0.0));
        hmm::covariate_log_transitions(coef, k, c, design, lt)?;
        scratch::with_vec(|le: &mut Vec<T>| {
            le.clear();
            le.resize(seq.len() * k, T::constant(0.0));
            for (t, row) in le.chunks_exact_mut(k).enumerate() {
                emission.log_densities(seq, t, row);
            }
            hmm::forward_log_likelihood_with(li, Transitions::PerStep(lt), le, k)
        })
    })
}
