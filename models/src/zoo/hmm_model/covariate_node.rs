//! The log-likelihood of one sequence of a covariate model: through the generic code
//! ([`generic_sequence`]), and in reverse mode one tape node per sequence over
//! `[ln p_initial_state | transition_coef | θ]` (θ the emission's fused parameters), from the
//! `f64` forward–backward adjoint with per-step transitions and the chain rule through the
//! multinomial logit, instead of a node per transition entry and per emission density.
//! Without structural zeros the whole batch's forward–backward runs first ([`fused_batch`]),
//! four equal-length sequences at a time on SIMD lanes where the machine allows
//! (`hmm::covariate_lanes`); [`fused_sequence`] is the one-sequence route (a model with an
//! emission view lacking the fused path, or inputs the batch route leaves to it).
//!
//! With `ln Γₜ[i][·] = ηₜ[i][·] − lse(ηₜ[i][·])` and `ξₜ = ∂ ln L / ∂ ln Γₜ`,
//! `∂ ln L / ∂ηₜ[i][j] = ξₜ[i][j] − Γₜ[i][j] Σⱼ' ξₜ[i][j']`, and
//! `∂ ln L / ∂coef[i][j][c] = Σₜ ∂ ln L / ∂ηₜ[i][j] · zₜ[c]` for `j ≠ i` (0 on the diagonal).

use trellis_ad::{scratch, Scalar};

use crate::emission::{Emission, FusedEmission};
use crate::hmm::{self, adjoint, HmmError, MissingSteps, Sequences, Transitions};

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

/// Every sequence of a covariate model without structural zeros in reverse mode through its
/// fused emission, one node per sequence pushed to `values` in sequence order: the `f64`
/// forward–backward of all sequences first ([`hmm::covariate_for_each_sequence`]: lane
/// groups of equal-length sequences where the machine allows, serially or in parallel with
/// identical results), then the nodes on this thread. A sequence whose probability space
/// cannot be trusted records the generic recursion ([`generic_sequence`]), as
/// [`fused_sequence`] does.
///
/// `Ok(false)` (with `values` untouched) when the batch route does not apply — an emission
/// view without the fused path, invalid inputs, or any error — so that the caller takes the
/// per-sequence route, which reports errors as it always has.
#[allow(clippy::too_many_arguments)]
pub(super) fn fused_batch<T: Scalar, E: Emission<T> + ?Sized>(
    li: &[T],
    coef: &[T],
    design: &[f64],
    c: usize,
    emission: &E,
    data: &Sequences<E::Obs>,
    theta: &[T],
    values: &mut Vec<T>,
) -> Result<bool, HmmError> {
    let k = li.len();
    let n = data.len();
    let offsets = data.offsets();
    let total = data.total_len();
    let (nc, np) = (coef.len(), theta.len());
    let view = |s: usize| MissingSteps::new(emission, data.missing_of(s));
    // The emission's Jacobian shape (each view has its inner emission's).
    let Some(width) = emission.fused().map(|f| f.jacobian_width()) else {
        return Ok(false);
    };
    let per_density = width.unwrap_or(np);
    scratch::with_vec(|buf: &mut Vec<f64>| {
        // [li | coef | le | jac], the Jacobian zeroed (a missing step's entries are never
        // written).
        buf.clear();
        buf.resize(k + nc + total * k * (1 + per_density), 0.0);
        let (li_v, rest) = buf.split_at_mut(k);
        let (coef_v, rest) = rest.split_at_mut(nc);
        let (le, jac) = rest.split_at_mut(total * k);
        for (v, x) in li_v.iter_mut().zip(li).chain(coef_v.iter_mut().zip(coef)) {
            *v = x.value();
        }
        if hmm::check_params_with(li_v, &[], k, 0, "").is_err() {
            return Ok(false);
        }
        scratch::with_vec(|indices: &mut Vec<usize>| {
            indices.clear();
            if width.is_some() {
                indices.resize(total * k * per_density, 0);
            }
            for (s, seq) in data.iter().enumerate() {
                let v = view(s);
                let Some(f) = v.fused() else {
                    return Ok(false);
                };
                let (start, end) = (offsets[s], offsets[s + 1]);
                let le_s = &mut le[start * k..end * k];
                let pairs = start * k * per_density..end * k * per_density;
                match width {
                    Some(_) => f.sequence_with_sparse_jacobian(
                        seq,
                        le_s,
                        &mut indices[pairs.clone()],
                        &mut jac[pairs],
                    ),
                    None => f.sequence_with_jacobian(seq, le_s, &mut jac[pairs]),
                }
                if hmm::check_plain_emission(le_s, k).is_err() {
                    return Ok(false);
                }
            }
            let (li_v, coef_v, le, jac, indices) = (&*li_v, &*coef_v, &*le, &*jac, &*indices);
            // ∂/∂θ_p = Σ_{t,k} γ[t][k] ∂ℓ[t][k]/∂θ_p.
            let chain_rule = |s: usize, d_le: &[f64], d_theta: &mut [f64]| {
                let pairs = offsets[s] * k * per_density..offsets[s + 1] * k * per_density;
                match width {
                    Some(w) => adjoint::contract_sparse(
                        d_le,
                        w,
                        &indices[pairs.clone()],
                        &jac[pairs],
                        d_theta,
                    ),
                    None => adjoint::contract(d_le, &jac[pairs], d_theta),
                }
            };
            let job = hmm::CovariateJob {
                log_init: li_v,
                coef: coef_v,
                c,
                design,
                log_emission: le,
                offsets,
                extra: np,
                finish: &chain_rule,
            };
            scratch::with_vec(|slots: &mut Vec<f64>| {
                slots.clear();
                slots.resize(job.bound(n), 0.0);
                // As the homogeneous batch decides (`hmm::batch`).
                let parallel = n >= 2
                    && hmm::work(total, k) >= hmm::PARALLEL_MIN_WORK
                    && rayon::current_num_threads() > 1;
                if hmm::covariate_for_each_sequence(&job, slots, parallel).is_err() {
                    return Ok(false);
                }
                let grads = k + nc + np;
                scratch::with_vec(|inputs: &mut Vec<T>| {
                    inputs.clear();
                    inputs.extend_from_slice(li);
                    inputs.extend_from_slice(coef);
                    inputs.extend_from_slice(theta);
                    for (s, seq) in data.iter().enumerate() {
                        let slot = &slots[job.bound(s)..job.bound(s + 1)];
                        values.push(if slot[0].is_nan() {
                            let (start, end) = (offsets[s], offsets[s + 1]);
                            let design_s = &design[start * c..end * c];
                            generic_sequence(li, coef, design_s, c, &view(s), seq)
                                .map_err(|e| e.in_sequence(s))?
                        } else {
                            T::custom(inputs, slot[0], &slot[1..1 + grads])
                        });
                    }
                    Ok(true)
                })
            })
        })
    })
}
