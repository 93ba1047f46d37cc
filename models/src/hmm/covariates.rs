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
use super::checks::{check_params_with, check_plain_emission};
use super::error::HmmError;
use super::recursion::{with_const_states, with_step_probabilities};

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
/// exponentiate `ln Γₜ` again. Returns what the recursion's flags need to know about them.
/// The shapes are the caller's to check.
///
/// A row is `exp(η) / (1 + Σ_{j≠i} exp(η_j))` (the reference category's term is exactly 1:
/// `K − 1` exponentials a row), or, when some `η` is large enough that the sum could
/// overflow, `exp(η − m) / Σ exp(η − m)` with `m = maxⱼ η`.
///
/// `KC` as in the recursion (the number of states at compile time when it is 1 … 4, else
/// 0): call through `with_const_states!`. The number of covariates is made a compile-time
/// constant too when it is 1 … 4, so that the dot products unroll.
pub(crate) fn covariate_transition_probabilities<const KC: usize>(
    coef: &[f64],
    k: usize,
    c: usize,
    design: &[f64],
    out: &mut [f64],
) -> StepSummary {
    match c {
        1 => probabilities::<KC, 1>(coef, k, c, design, out),
        2 => probabilities::<KC, 2>(coef, k, c, design, out),
        3 => probabilities::<KC, 3>(coef, k, c, design, out),
        4 => probabilities::<KC, 4>(coef, k, c, design, out),
        _ => probabilities::<KC, 0>(coef, k, c, design, out),
    }
}

/// [`covariate_transition_probabilities`] with `CC` the number of covariates when known at
/// compile time (else 0).
fn probabilities<const KC: usize, const CC: usize>(
    coef: &[f64],
    k: usize,
    c: usize,
    design: &[f64],
    out: &mut [f64],
) -> StepSummary {
    let k = if KC > 0 { KC } else { k };
    let c = if CC > 0 { CC } else { c };
    let coef = &coef[..k * k * c];
    // The smallest probability (NaN ignored) and the largest row sum, whether a row sum is
    // NaN: the summary's other entries follow unless a probability is exactly 0 (below).
    let mut min = f64::INFINITY;
    let mut max_row_sum = 0.0f64;
    let mut nan = false;
    for (p_t, z) in out.chunks_exact_mut(k * k).zip(design.chunks_exact(c)) {
        let z = &z[..c];
        for i in 0..k {
            let row = &mut p_t[i * k..(i + 1) * k];
            let w_row = &coef[i * k * c..(i + 1) * k * c];
            let mut m = 0.0f64;
            for j in 0..k {
                let e = if j == i {
                    0.0
                } else {
                    dot(&w_row[j * c..(j + 1) * c], z)
                };
                row[j] = e;
                m = m.max(e);
            }
            // Below this, Σ exp(η) cannot overflow for any practical K.
            let shift = if m < 600.0 { 0.0 } else { m };
            let mut sum = 0.0;
            for (j, e) in row.iter_mut().enumerate() {
                *e = if j == i && shift == 0.0 {
                    1.0
                } else {
                    (*e - shift).exp()
                };
                sum += *e;
            }
            let inv = 1.0 / sum;
            let mut row_sum = 0.0;
            for e in row.iter_mut() {
                *e *= inv;
                row_sum += *e;
                min = min.min(*e);
            }
            nan |= row_sum.is_nan();
            max_row_sum = max_row_sum.max(row_sum);
        }
    }
    // Every probability is NaN or at least 0 (`exp(·) · inv`, `inv > 0`).
    let any_zero = min == 0.0;
    let min_positive = if any_zero {
        // Rare (a probability underflowed): the smallest positive one, by another pass.
        out.iter()
            .fold(f64::INFINITY, |m, &x| if x > 0.0 { m.min(x) } else { m })
    } else {
        min
    };
    StepSummary {
        min_positive,
        any_zero,
        max_row_sum,
        nan,
    }
}

/// What [`covariate_transition_probabilities`] found about its probabilities (for the
/// recursion's [`Flags`](super::scaling::Flags), without another pass over them).
#[derive(Clone, Copy, Debug)]
pub(crate) struct StepSummary {
    /// The smallest positive probability (`inf` if none).
    pub(crate) min_positive: f64,
    /// Whether a probability underflowed to exactly 0.
    pub(crate) any_zero: bool,
    /// The largest row sum (1 up to rounding).
    pub(crate) max_row_sum: f64,
    /// Whether a row holds NaN (coefficients or covariates that are not finite).
    pub(crate) nan: bool,
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

/// The backward pass's sink for a covariate model: each row of each step's `ξₜ` (the step
/// from `t − 1` into `t`) is contracted at once into the coefficient gradient,
/// `∂ ln L / ∂coef[i][j][c] += (ξₜ[i][j] − Γₜ[i][j] Σⱼ' ξₜ[i][j']) · z_{t−1}[c]` for `j ≠ i`,
/// so that no more than one row of `ξ` is ever kept (in registers, for a small constant K).
/// `KC`, `CC`: the numbers of states and of covariates when known at compile time (else 0).
struct CoefficientSink<'a, const KC: usize, const CC: usize> {
    k: usize,
    c: usize,
    design: &'a [f64],
    /// `∂ ln L / ∂coef`, `K × K × C` (accumulated; the diagonal stays 0).
    d_coef: &'a mut [f64],
}

impl<const KC: usize, const CC: usize> XiSink for CoefficientSink<'_, KC, CC> {
    #[inline(always)]
    fn row(&mut self, t: usize, i: usize, xi_row: &[f64], p_row: &[f64]) {
        let k = if KC > 0 { KC } else { self.k };
        let c = if CC > 0 { CC } else { self.c };
        let z = &self.design[(t - 1) * c..t * c];
        let (xi_row, p_row) = (&xi_row[..k], &p_row[..k]);
        let mut total = xi_row[0];
        for &x in &xi_row[1..] {
            total += x;
        }
        let d_rows = &mut self.d_coef[i * k * c..(i + 1) * k * c];
        for j in 0..k {
            if j != i {
                let d_eta = xi_row[j] - p_row[j] * total;
                let d = &mut d_rows[j * c..(j + 1) * c];
                for cc in 0..c {
                    d[cc] += d_eta * z[cc];
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
    check_plain_emission(log_emission, k)?;
    d_coef.fill(0.0);
    PROBABILITIES.with(|cell| {
        let mut buf = cell.borrow_mut();
        let k2 = k * k;
        // Γ (T − 1 steps); every entry is written before it is read.
        buf.resize(n.saturating_sub(1) * k2, 0.0);
        let p = &mut buf[..];
        let summary = with_const_states!(
            k,
            covariate_transition_probabilities::<@>(coef, k, c, design, p)
        );
        if summary.nan {
            let index = p.iter().position(|x| x.is_nan()).unwrap_or(0);
            return Err(HmmError::InvalidLogProbability {
                what: "log_trans",
                index,
                value: f64::NAN,
            });
        }
        let sink = Sink {
            k,
            c,
            design,
            d_coef,
        };
        Ok(with_step_probabilities(
            log_init,
            p,
            &summary,
            |probs| with_const_states!(k, Sink::run::<@>(sink, probs, log_emission, d_init, d_emission)),
        ))
    })
}

/// The parts of a [`CoefficientSink`], made one for `KC` states.
struct Sink<'a> {
    k: usize,
    c: usize,
    design: &'a [f64],
    d_coef: &'a mut [f64],
}

impl Sink<'_> {
    /// The forward–backward pass of one sequence with this sink (`KC` as in the recursion;
    /// the number of covariates a compile-time constant too when it is 1 … 4).
    fn run<const KC: usize>(
        self,
        probs: &super::recursion::Probs<'_, f64>,
        log_emission: &[f64],
        d_init: &mut [f64],
        d_emission: &mut [f64],
    ) -> Option<f64> {
        match self.c {
            1 => self.run_c::<KC, 1>(probs, log_emission, d_init, d_emission),
            2 => self.run_c::<KC, 2>(probs, log_emission, d_init, d_emission),
            3 => self.run_c::<KC, 3>(probs, log_emission, d_init, d_emission),
            4 => self.run_c::<KC, 4>(probs, log_emission, d_init, d_emission),
            _ => self.run_c::<KC, 0>(probs, log_emission, d_init, d_emission),
        }
    }

    fn run_c<const KC: usize, const CC: usize>(
        self,
        probs: &super::recursion::Probs<'_, f64>,
        log_emission: &[f64],
        d_init: &mut [f64],
        d_emission: &mut [f64],
    ) -> Option<f64> {
        let k = self.k;
        let mut sink = CoefficientSink::<KC, CC> {
            k,
            c: self.c,
            design: self.design,
            d_coef: self.d_coef,
        };
        adjoint::value_and_partials_sink(probs, log_emission, k, d_init, d_emission, &mut sink)
    }
}

thread_local! {
    /// The per-step transition probabilities of [`covariate_value_and_partials`], reused.
    static PROBABILITIES: RefCell<Vec<f64>> = const { RefCell::new(Vec::new()) };
}
