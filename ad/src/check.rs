//! Gradient and Hessian checking against finite differences, for users' own tests.
//!
//! The finite-difference side is [`crate::finite_difference`]: per coordinate, Richardson
//! extrapolation over a sequence of steps, the step with the smallest estimated error chosen,
//! and that error estimate used in the tolerance. A failure names the coordinate, both
//! values, the step and the estimated finite-difference error, so a wrong gradient can be
//! told from a bad finite difference.

use std::fmt;

use ndarray::Array2;

use crate::finite_difference::{estimate, finite_difference_estimates, FdEstimate, FdSteps};
use crate::{forward, reverse, ScalarFn};

/// Tolerances for [`check_gradient`] and [`check_hessian`].
///
/// Component `i` passes when
/// `|AD − FD| ≤ abs_tol + rel_tol · max(|AD|, |FD|) + 4 · fd_errorᵢ`, where `fd_errorᵢ` is the
/// finite difference's own error estimate (truncation + rounding) at its best step. So the
/// tolerance is as tight as the function allows: about 1e-10 relative for a well-conditioned
/// function, looser only where the finite difference itself is uncertain.
#[derive(Debug, Clone)]
pub struct GradientCheck {
    /// Relative tolerance floor (default 1e-9): what is left once the finite-difference error
    /// is accounted for.
    pub rel_tol: f64,
    /// Absolute tolerance floor (default 1e-12).
    pub abs_tol: f64,
    /// The largest finite-difference step, relative to `max(|xᵢ|, 1)` (default 0.25); the
    /// estimator halves it [`FdSteps::default`]`().count` times and keeps the best.
    pub step: f64,
    /// Also compare forward mode with reverse mode (values and derivatives, to rounding).
    pub check_forward: bool,
}

impl Default for GradientCheck {
    fn default() -> Self {
        Self {
            rel_tol: 1e-9,
            abs_tol: 1e-12,
            step: FdSteps::default().first,
            check_forward: true,
        }
    }
}

impl GradientCheck {
    fn steps(&self) -> FdSteps {
        FdSteps {
            first: self.step,
            ..FdSteps::default()
        }
    }

    fn tolerance(&self, analytic: f64, numeric: f64, fd_error: f64) -> f64 {
        self.abs_tol + self.rel_tol * analytic.abs().max(numeric.abs()) + 4.0 * fd_error
    }

    /// Compares an AD derivative with its finite-difference estimate: the error relative to
    /// the tolerance, or the mismatch built by `mismatch(comparison, numeric, tolerance)`
    /// with the step and estimated error filled in.
    fn judge(
        &self,
        analytic: f64,
        fd: &FdEstimate,
        comparison: &'static str,
        mismatch: impl Fn(&'static str, f64, f64) -> GradientMismatch,
    ) -> Result<f64, GradientMismatch> {
        let Some(numeric) = fd.value else {
            return Err(mismatch(
                "finite differences unavailable (not finite on both sides at every step)",
                f64::NAN,
                f64::NAN,
            ));
        };
        let tol = self.tolerance(analytic, numeric, fd.error);
        let err = (analytic - numeric).abs();
        if !analytic.is_finite() || err > tol {
            return Err(GradientMismatch {
                step: fd.step,
                fd_error: fd.error,
                ..mismatch(comparison, numeric, tol)
            });
        }
        Ok(err / tol)
    }
}

/// What a passing gradient check measured.
#[derive(Debug, Clone)]
pub struct GradientReport {
    /// `f(x)` (reverse mode; checked against the plain `f64` evaluation).
    pub value: f64,
    /// The reverse-mode gradient.
    pub analytic: Vec<f64>,
    /// The finite-difference gradient.
    pub numeric: Vec<f64>,
    /// The finite-difference estimates with their errors and steps.
    pub estimates: Vec<FdEstimate>,
    /// The component whose error relative to its tolerance was largest.
    pub worst_index: usize,
    /// That component's error divided by its tolerance (≤ 1 when passing).
    pub worst_ratio: f64,
}

/// A failed check: which component, what each side gave, and how sure the finite difference
/// was.
#[derive(Debug, Clone, PartialEq)]
pub struct GradientMismatch {
    /// The coordinate (for a Hessian, the row).
    pub index: usize,
    /// For a Hessian, the column; `None` for a gradient or value.
    pub column: Option<usize>,
    /// What disagreed: "reverse vs finite differences", "forward vs reverse", "value: reverse
    /// vs f64", "finite differences unavailable", ...
    pub comparison: &'static str,
    /// The AD value.
    pub analytic: f64,
    /// The value it was compared with.
    pub numeric: f64,
    /// The tolerance that was exceeded.
    pub tolerance: f64,
    /// The finite-difference step (0 when the comparison involves none).
    pub step: f64,
    /// The finite difference's estimated error (0 when the comparison involves none).
    pub fd_error: f64,
    /// The point.
    pub x: Vec<f64>,
}

impl GradientMismatch {
    /// A mismatch with no finite difference involved (`step` and `fd_error` 0).
    fn new(
        x: &[f64],
        (index, column): (usize, Option<usize>),
        comparison: &'static str,
        analytic: f64,
        numeric: f64,
        tolerance: f64,
    ) -> Self {
        Self {
            index,
            column,
            comparison,
            analytic,
            numeric,
            tolerance,
            step: 0.0,
            fd_error: 0.0,
            x: x.to_vec(),
        }
    }
}

/// A failed Hessian check (same fields; `column` is set).
pub type HessianMismatch = GradientMismatch;

impl fmt::Display for GradientMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.column {
            Some(j) => write!(f, "Hessian entry ({}, {})", self.index, j)?,
            None => write!(f, "gradient component {}", self.index)?,
        }
        write!(
            f,
            " ({}): AD {:e} vs {:e} (difference {:e} > tolerance {:e}",
            self.comparison,
            self.analytic,
            self.numeric,
            (self.analytic - self.numeric).abs(),
            self.tolerance,
        )?;
        if self.step > 0.0 {
            write!(
                f,
                "; finite-difference step {:e}, estimated finite-difference error {:e}",
                self.step, self.fd_error
            )?;
        }
        write!(f, ") at x = {:?}", self.x)
    }
}

impl std::error::Error for GradientMismatch {}

/// Agreement of two exact-up-to-rounding results (AD modes, or AD value and `f64` value).
fn rounding_tolerance(a: f64, b: f64, scale: f64) -> f64 {
    1e-11 * (a.abs().max(b.abs()) + scale)
}

/// Checks the reverse-mode (and optionally forward-mode) gradient of `f` at `x` against
/// Richardson-extrapolated finite differences with a per-coordinate step (see
/// [`GradientCheck`] for the tolerance), and the reverse-mode value against the plain `f64`
/// evaluation (so a custom operation whose value is off is caught too).
///
/// Returns the report on success, or the first failing component. Non-finite AD values fail;
/// so does a coordinate where no finite-difference step kept `f` finite.
///
/// # Return NaN outside the support
///
/// The finite differences start wide: the first step of coordinate `i` is
/// `0.25·max(|xᵢ|, 1)`, halved down to about 1e-11 of that. So `f` is evaluated well away
/// from `x` (at `x = 0.1` the first points are `-0.15` and `0.35`). Where `f` is not defined,
/// make it return NaN (or ±∞) rather than a finite value of some other formula, and not
/// panic: a non-finite value tells the checker that a step left the support, and it
/// restarts its extrapolation from the smaller steps that stay inside. A finite value
/// there (a clamped `ln(max(x, 1e-300))`, a density that is 0 and then logged as a large
/// negative constant) is taken at face value and spoils the estimate.
///
/// ```
/// use trellis_ad::{check_gradient, GradientCheck, Scalar, ScalarFn};
/// struct F;
/// impl ScalarFn for F {
///     fn eval<T: Scalar>(&self, x: &[T]) -> T { (x[0] * x[1]).exp() + x[1].ln_gamma() }
/// }
/// let report = check_gradient(&F, &[0.3, 2.5], &GradientCheck::default()).unwrap();
/// assert!(report.worst_ratio <= 1.0);
/// ```
pub fn check_gradient<F: ScalarFn + ?Sized>(
    f: &F,
    x: &[f64],
    options: &GradientCheck,
) -> Result<GradientReport, GradientMismatch> {
    let (value, analytic) = reverse::value_and_gradient(f, x);
    let mismatch = |index, comparison, analytic, numeric, tolerance| {
        GradientMismatch::new(x, (index, None), comparison, analytic, numeric, tolerance)
    };
    let plain = f.eval(x);
    let scale = value.abs().max(1.0);
    let tol = rounding_tolerance(value, plain, scale);
    if !(value.is_finite() && plain.is_finite()) || (value - plain).abs() > tol {
        return Err(mismatch(0, "value: reverse vs f64", value, plain, tol));
    }
    if options.check_forward {
        let (forward_value, forward) = forward::value_and_gradient(f, x);
        let tol = rounding_tolerance(value, forward_value, scale);
        if (value - forward_value).abs() > tol {
            return Err(mismatch(
                0,
                "value: forward vs reverse",
                forward_value,
                value,
                tol,
            ));
        }
        for (i, (&a, &b)) in analytic.iter().zip(&forward).enumerate() {
            let tol = rounding_tolerance(a, b, scale) + options.abs_tol;
            if !(a.is_finite() && b.is_finite()) || (a - b).abs() > tol {
                return Err(mismatch(i, "forward vs reverse", b, a, tol));
            }
        }
    }
    let estimates = finite_difference_estimates(f, x, &options.steps());
    let mut worst = (0, 0.0_f64);
    for (i, (&a, fd)) in analytic.iter().zip(&estimates).enumerate() {
        let ratio = options.judge(a, fd, "reverse vs finite differences", |what, d, tol| {
            mismatch(i, what, a, d, tol)
        })?;
        if ratio >= worst.1 {
            worst = (i, ratio);
        }
    }
    Ok(GradientReport {
        value,
        analytic,
        numeric: estimates
            .iter()
            .map(|e| e.value.unwrap_or(f64::NAN))
            .collect(),
        estimates,
        worst_index: worst.0,
        worst_ratio: worst.1,
    })
}

/// What a passing Hessian check measured.
#[derive(Debug, Clone)]
pub struct HessianReport {
    /// The reverse-mode (forward-over-reverse) Hessian.
    pub analytic: Array2<f64>,
    /// Finite differences of the reverse-mode gradient, column `j` from steps in `xⱼ`.
    pub numeric: Array2<f64>,
    /// The entry (row, column) whose error relative to its tolerance was largest.
    pub worst_entry: (usize, usize),
    /// That entry's error divided by its tolerance (≤ 1 when passing).
    pub worst_ratio: f64,
}

/// Checks second derivatives: `reverse::hessian` against `forward::hessian` (to rounding) and
/// against Richardson-extrapolated finite differences of the reverse-mode gradient, with the
/// tolerance of [`GradientCheck`] from each entry's finite-difference error estimate.
///
/// ```
/// use trellis_ad::{check_hessian, GradientCheck, Scalar, ScalarFn};
/// struct F;
/// impl ScalarFn for F {
///     fn eval<T: Scalar>(&self, x: &[T]) -> T { (x[0] * x[1]).sin() + x[0].log_norm_cdf() }
/// }
/// check_hessian(&F, &[0.3, -2.5], &GradientCheck::default()).unwrap();
/// ```
pub fn check_hessian<F: ScalarFn + ?Sized>(
    f: &F,
    x: &[f64],
    options: &GradientCheck,
) -> Result<HessianReport, HessianMismatch> {
    let n = x.len();
    let analytic = reverse::hessian(f, x);
    let mismatch = |i, j, comparison, analytic, numeric, tolerance| {
        GradientMismatch::new(x, (i, Some(j)), comparison, analytic, numeric, tolerance)
    };
    let scale = analytic.iter().fold(1.0_f64, |m, v| m.max(v.abs()));
    if options.check_forward {
        let forward = forward::hessian(f, x);
        for ((i, j), &a) in analytic.indexed_iter() {
            let b = forward[[i, j]];
            let tol = rounding_tolerance(a, b, scale) + options.abs_tol;
            if !(a.is_finite() && b.is_finite()) || (a - b).abs() > tol {
                return Err(mismatch(i, j, "forward vs reverse", b, a, tol));
            }
        }
    }
    let mut numeric = Array2::zeros((n, n));
    let mut worst = ((0, 0), 0.0_f64);
    let mut point = x.to_vec();
    for j in 0..n {
        let column = estimate(
            |t, out| {
                point[j] = t;
                let v = reverse::value_and_gradient_into(f, &point, out);
                if !v.is_finite() {
                    out.fill(f64::NAN);
                }
                point[j] = x[j];
            },
            x[j],
            n,
            &options.steps(),
        );
        for (i, fd) in column.iter().enumerate() {
            let a = analytic[[i, j]];
            let comparison = "reverse vs finite differences of the gradient";
            let ratio = options.judge(a, fd, comparison, |what, d, tol| {
                mismatch(i, j, what, a, d, tol)
            })?;
            numeric[[i, j]] = fd.value.unwrap_or(f64::NAN);
            if ratio >= worst.1 {
                worst = ((i, j), ratio);
            }
        }
    }
    Ok(HessianReport {
        analytic,
        numeric,
        worst_entry: worst.0,
        worst_ratio: worst.1,
    })
}

/// The gradient of `f` at `x` by finite differences: the values of
/// [`finite_difference_estimates`] with the first step `step · max(|xᵢ|, 1)`, NaN where no
/// estimate was available. Prefer [`finite_difference_estimates`], which also gives each
/// estimate's error and step.
pub fn finite_difference_gradient<F: ScalarFn + ?Sized>(f: &F, x: &[f64], step: f64) -> Vec<f64> {
    let steps = FdSteps {
        first: step,
        ..FdSteps::default()
    };
    finite_difference_estimates(f, x, &steps)
        .iter()
        .map(|e| e.value.unwrap_or(f64::NAN))
        .collect()
}
