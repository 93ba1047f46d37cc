//! Reverse mode for covariate-driven transitions: one tape node per sequence over
//! `[ln p_initial_state | transition_coef | θ]` (θ the emission's fused parameters), from the
//! `f64` forward–backward adjoint with per-step transitions and the chain rule through the
//! multinomial logit, instead of a node per transition entry and per emission density.
//!
//! With `ln Γₜ[i][·] = ηₜ[i][·] − lse(ηₜ[i][·])` and `ξₜ = ∂ ln L / ∂ ln Γₜ`,
//! `∂ ln L / ∂ηₜ[i][j] = ξₜ[i][j] − Γₜ[i][j] Σⱼ' ξₜ[i][j']`, and
//! `∂ ln L / ∂coef[i][j][c] = Σₜ ∂ ln L / ∂ηₜ[i][j] · zₜ[c]` for `j ≠ i` (0 on the diagonal).

use trellis_ad::{scratch, Scalar};

use crate::emission::FusedEmission;
use crate::hmm::{adjoint, covariate_log_transitions, HmmError, Transitions};

/// One sequence of a covariate model in reverse mode through its fused emission: the
/// recorded log-likelihood, or `None` when probability space cannot be trusted (the caller
/// then records the generic recursion).
///
/// `li`: `ln p_initial_state` (K); `coef`: `K × K × C`; `design`: `Tₛ × C`; `theta`: the
/// emission's fused parameters (pushed once per batch by the caller).
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
    let (k2, np) = (k * k, theta.len());
    let width = fused.jacobian_width();
    let per_density = width.unwrap_or(np);
    scratch::with_vec(|buf: &mut Vec<f64>| {
        // [li | coef | lt (per step) | le | jac | partials (li, lt, le) | d_eta row]
        let steps = n - 1;
        let sizes = [k, coef.len(), steps * k2, n * k, n * k * per_density];
        buf.clear();
        buf.resize(sizes.iter().sum::<usize>() + k + steps * k2 + n * k, 0.0);
        let (li_v, rest) = buf.split_at_mut(k);
        let (coef_v, rest) = rest.split_at_mut(coef.len());
        let (lt, rest) = rest.split_at_mut(steps * k2);
        let (le, rest) = rest.split_at_mut(n * k);
        let (jac, partials) = rest.split_at_mut(n * k * per_density);
        for (v, x) in li_v.iter_mut().zip(li) {
            *v = x.value();
        }
        for (v, x) in coef_v.iter_mut().zip(coef) {
            *v = x.value();
        }
        covariate_log_transitions(coef_v, k, c, design, lt)?;
        scratch::with_vec(|indices: &mut Vec<usize>| {
            indices.clear();
            match width {
                Some(_) => {
                    indices.resize(n * k * per_density, 0);
                    fused.sequence_with_sparse_jacobian(seq, le, indices, jac);
                }
                None => fused.sequence_with_jacobian(seq, le, jac),
            }
            let value =
                adjoint::value_and_partials_with(li_v, Transitions::PerStep(lt), le, k, partials)?;
            let Some(value) = value else {
                return Ok(None);
            };
            let (d_li, rest) = partials.split_at(k);
            let (xi, d_le) = rest.split_at(steps * k2);
            scratch::with_vec(|grad: &mut Vec<f64>| {
                // [∂/∂li | ∂/∂coef | ∂/∂θ]
                grad.clear();
                grad.extend_from_slice(d_li);
                grad.resize(k + coef.len() + np, 0.0);
                let (d_coef, d_theta) = grad[k..].split_at_mut(coef.len());
                for t in 0..steps {
                    let z = &design[t * c..(t + 1) * c];
                    for i in 0..k {
                        let row = t * k2 + i * k..t * k2 + (i + 1) * k;
                        let (xi_row, lt_row) = (&xi[row.clone()], &lt[row]);
                        let total: f64 = xi_row.iter().sum();
                        for j in (0..k).filter(|&j| j != i) {
                            let d_eta = xi_row[j] - lt_row[j].exp() * total;
                            let d = &mut d_coef[(i * k + j) * c..(i * k + j + 1) * c];
                            for (dc, &zc) in d.iter_mut().zip(z) {
                                *dc += d_eta * zc;
                            }
                        }
                    }
                }
                match width {
                    Some(w) => {
                        for (&g, (idx, part)) in d_le
                            .iter()
                            .zip(indices.chunks_exact(w).zip(jac.chunks_exact(w)))
                        {
                            for (&p, &d) in idx.iter().zip(part) {
                                d_theta[p] += g * d;
                            }
                        }
                    }
                    None => {
                        for (&g, row) in d_le.iter().zip(jac.chunks_exact(np.max(1))) {
                            for (d, &j) in d_theta.iter_mut().zip(row) {
                                *d += g * j;
                            }
                        }
                    }
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
    })
}
