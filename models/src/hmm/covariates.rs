//! Covariate-driven transitions: a multinomial logit of the from-time's covariates, as in
//! momentuHMM and hmmTMB.
//!
//! With the design vector `zₜ = (1, x1ₜ, x2ₜ, …)` (`C` entries, intercept first), the
//! transition from `t` to `t + 1` has `ηₜ[i][j] = Σ_c coef[i][j][c] · zₜ[c]` for `j ≠ i`,
//! `ηₜ[i][i] = 0` (staying is the reference category) and `Γₜ[i][·] = softmax(ηₜ[i][·])`.
//! The diagonal coefficients are ignored (their gradient is 0).
//!
//! The per-step `ln Γₜ` are computed with the model's scalar type and handed to the
//! recursion as [`Transitions::PerStep`](super::Transitions::PerStep): in reverse mode the
//! gradient with respect to the coefficients is `Σₜ Σᵢⱼ ξₜ[i][j] ∂ ln Γₜ[i][j] / ∂coef`,
//! accumulated step by step by the tape.

use trellis_ad::{scratch, Scalar};

use super::error::HmmError;

/// Fills `out` with the `T − 1` per-step log transition matrices of a sequence whose design
/// vectors are `design` (`T × C`, row-major, `zₜ` at `t · C`; the last row is not used, as
/// the last step has no transition out of it).
///
/// `coef` is `K × K × C` row-major (`coef[i][j][c]` at `(i · K + j) · C + c`); its diagonal
/// entries are ignored. `out` gets `(T − 1) · K²` entries, the step from `t` at `t · K²`.
///
/// # Errors
/// [`HmmError::WrongLength`] for a `coef` that is not `K × K × C`, a `design` that is not a
/// whole number of rows, or an `out` of the wrong length; [`HmmError::NoStates`] for `K = 0`.
///
/// ```
/// use trellis_models::hmm::{covariate_log_transitions, forward_log_likelihood_with, Transitions};
/// let (k, c) = (2, 2);
/// // coef[0][1] = (−2, 1), coef[1][0] = (−1, 0); diagonal ignored.
/// let coef = [0.0, 0.0, -2.0, 1.0, -1.0, 0.0, 0.0, 0.0];
/// let design = [1.0, 0.5, 1.0, -1.0, 1.0, 2.0]; // T = 3, z = (1, x)
/// let mut lt = vec![0.0; 2 * k * k];
/// covariate_log_transitions(&coef, k, c, &design, &mut lt).unwrap();
/// // Step 0, row 0: softmax(0, −2 + 0.5).
/// let p01 = 1.0 / (1.0 + (1.5f64).exp());
/// assert!((lt[1].exp() - p01).abs() < 1e-15);
/// let li = [0.5f64.ln(); 2];
/// let le = [-1.0, -2.0, -0.5, -3.0, -2.0, -0.1];
/// let ll: f64 = forward_log_likelihood_with(&li, Transitions::PerStep(&lt), &le, k).unwrap();
/// assert!(ll.is_finite());
/// ```
pub fn covariate_log_transitions<T: Scalar>(
    coef: &[T],
    k: usize,
    c: usize,
    design: &[f64],
    out: &mut [T],
) -> Result<(), HmmError> {
    if k == 0 {
        return Err(HmmError::NoStates);
    }
    if coef.len() != k * k * c {
        return Err(HmmError::WrongLength {
            what: "transition_coef (K × K × C, row-major)",
            expected: k * k * c,
            found: coef.len(),
        });
    }
    if c == 0 || design.len() % c != 0 {
        return Err(HmmError::WrongLength {
            what: "design (T × C, row-major, intercept first)",
            expected: (design.len() / c.max(1) + 1) * c.max(1),
            found: design.len(),
        });
    }
    let steps = (design.len() / c).saturating_sub(1);
    if out.len() != steps * k * k {
        return Err(HmmError::WrongLength {
            what: "per-step log_trans ((T − 1) × K × K, row-major)",
            expected: steps * k * k,
            found: out.len(),
        });
    }
    scratch::with_vec(|eta: &mut Vec<T>| {
        eta.clear();
        eta.resize(k, T::constant(0.0));
        for t in 0..steps {
            let z = &design[t * c..(t + 1) * c];
            for i in 0..k {
                for (j, e) in eta.iter_mut().enumerate() {
                    *e = if j == i {
                        T::constant(0.0)
                    } else {
                        let w = &coef[(i * k + j) * c..(i * k + j + 1) * c];
                        let mut s = w[0] * z[0];
                        for (&wc, &zc) in w[1..].iter().zip(&z[1..]) {
                            s += wc * zc;
                        }
                        s
                    };
                }
                let lse = T::log_sum_exp(eta);
                let row = &mut out[t * k * k + i * k..t * k * k + (i + 1) * k];
                for (o, &e) in row.iter_mut().zip(eta.iter()) {
                    *o = e - lse;
                }
            }
        }
    });
    Ok(())
}
