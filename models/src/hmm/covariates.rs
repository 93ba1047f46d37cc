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

use std::cell::RefCell;

use trellis_ad::{scratch, Scalar};

use super::adjoint::{self, XiSink};
use super::checks::{check_emission_values, check_params_with};
use super::error::HmmError;
use super::recursion::with_step_probabilities;

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
                        dot(&coef[(i * k + j) * c..(i * k + j + 1) * c], z)
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

/// Fills `out` with the `T − 1` per-step transition matrices as probabilities (the same
/// shapes as [`covariate_log_transitions`], which takes the logarithms): each row a softmax
/// of `ηₜ[i][·]`, computed once in probability space so that the recursion need not
/// exponentiate `ln Γₜ` again. The shapes are the caller's to check.
///
/// Each row is `exp(η − m) / Σ exp(η − m)` with `m = max(0, maxⱼ η)` (no overflow; the
/// reference category's term is `exp(−m)`, exactly 1 when `m = 0`).
pub(crate) fn covariate_transition_probabilities(
    coef: &[f64],
    k: usize,
    c: usize,
    design: &[f64],
    out: &mut [f64],
) {
    let steps = out.len() / (k * k);
    for t in 0..steps {
        let z = &design[t * c..(t + 1) * c];
        for i in 0..k {
            let row = &mut out[(t * k + i) * k..(t * k + i + 1) * k];
            let mut m = 0.0f64;
            for (j, e) in row.iter_mut().enumerate() {
                *e = if j == i {
                    0.0
                } else {
                    let w = &coef[(i * k + j) * c..(i * k + j + 1) * c];
                    dot(w, z)
                };
                m = m.max(*e);
            }
            let mut sum = 0.0;
            for (j, e) in row.iter_mut().enumerate() {
                *e = if j == i && m == 0.0 {
                    1.0
                } else {
                    (*e - m).exp()
                };
                sum += *e;
            }
            let inv = 1.0 / sum;
            for e in row.iter_mut() {
                *e *= inv;
            }
        }
    }
}

/// `Σ_c w[c] · z[c]`, in the order `c = 0, 1, …`.
#[inline(always)]
fn dot<T: Scalar>(w: &[T], z: &[f64]) -> T {
    let mut s = w[0] * z[0];
    for (&wc, &zc) in w[1..].iter().zip(&z[1..]) {
        s += wc * zc;
    }
    s
}

/// The backward pass's sink for a covariate model: each step's `ξₜ` (the step from `t − 1`
/// into `t`) is contracted at once into the coefficient gradient,
/// `∂ ln L / ∂coef[i][j][c] += (ξₜ[i][j] − Γₜ[i][j] Σⱼ' ξₜ[i][j']) · z_{t−1}[c]` for `j ≠ i`,
/// so that no more than one step's `ξ` (K²) is ever kept.
struct CoefficientSink<'a> {
    k: usize,
    c: usize,
    design: &'a [f64],
    /// `∂ ln L / ∂coef`, `K × K × C` (accumulated; the diagonal stays 0).
    d_coef: &'a mut [f64],
    /// One step's `ξ`, `K²`.
    xi: &'a mut [f64],
}

impl XiSink for CoefficientSink<'_> {
    #[inline(always)]
    fn xi(&mut self, _t: usize) -> &mut [f64] {
        self.xi.fill(0.0);
        &mut *self.xi
    }

    #[inline(always)]
    fn done(&mut self, t: usize, p: &[f64]) {
        let (k, c) = (self.k, self.c);
        let z = &self.design[(t - 1) * c..t * c];
        for i in 0..k {
            let xi_row = &self.xi[i * k..(i + 1) * k];
            let total: f64 = xi_row.iter().sum();
            for j in (0..k).filter(|&j| j != i) {
                let d_eta = xi_row[j] - p[i * k + j] * total;
                let d = &mut self.d_coef[(i * k + j) * c..(i * k + j + 1) * c];
                for (dc, &zc) in d.iter_mut().zip(z) {
                    *dc += d_eta * zc;
                }
            }
        }
    }
}

/// Value and partials of one sequence of a covariate model in plain values: the
/// log-likelihood, and into `d_init` (K), `d_coef` (`K × K × C`, overwritten) and
/// `d_emission` (`T × K`) its partials with respect to `ln p(z₁)`, the coefficients and the
/// emission log-densities `log_emission`. `Γₜ` is built once as probabilities and the
/// backward pass contracts each step's `ξₜ` straight into `d_coef`.
///
/// `Ok(None)` when probability space cannot be trusted: the caller falls back to the generic
/// recursion (which makes the same decision and switches to log space).
///
/// # Errors
/// NaN or `+inf` in `log_init` or `log_emission`, or NaN among the transition probabilities
/// (coefficients or covariates that are not finite). The shapes are the caller's.
#[allow(clippy::too_many_arguments)]
pub(crate) fn covariate_value_and_partials(
    log_init: &[f64],
    coef: &[f64],
    c: usize,
    design: &[f64],
    log_emission: &[f64],
    d_init: &mut [f64],
    d_coef: &mut [f64],
    d_emission: &mut [f64],
) -> Result<Option<f64>, HmmError> {
    let k = log_init.len();
    let n = log_emission.len() / k;
    check_params_with(log_init, &[], k, 0, "")?;
    check_emission_values(log_emission.iter().copied(), k)?;
    d_coef.fill(0.0);
    PROBABILITIES.with(|cell| {
        let mut buf = cell.borrow_mut();
        let k2 = k * k;
        // [Γ (T − 1 steps) | one step's ξ]; every entry is written before it is read.
        buf.resize(n.saturating_sub(1) * k2 + k2, 0.0);
        let (p, xi) = buf.split_at_mut(n.saturating_sub(1) * k2);
        covariate_transition_probabilities(coef, k, c, design, p);
        if let Some(index) = p.iter().position(|x| x.is_nan()) {
            return Err(HmmError::InvalidLogProbability {
                what: "log_trans",
                index,
                value: f64::NAN,
            });
        }
        let mut sink = CoefficientSink {
            k,
            c,
            design,
            d_coef,
            xi,
        };
        Ok(with_step_probabilities(log_init, p, |probs| {
            adjoint::value_and_partials_sink(probs, log_emission, k, d_init, d_emission, &mut sink)
        }))
    })
}

thread_local! {
    /// The per-step transition probabilities of [`covariate_value_and_partials`], reused.
    static PROBABILITIES: RefCell<Vec<f64>> = const { RefCell::new(Vec::new()) };
}
