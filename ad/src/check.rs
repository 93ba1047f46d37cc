//! Finite-difference gradient checking, for users' own tests.

use std::fmt;

use crate::{forward, reverse, ScalarFn};

/// Tolerances and step for [`check_gradient`].
///
/// Component `i` passes when
/// `|analytic − numeric| ≤ abs_tol + rel_tol · max(|analytic|, |numeric|) + noise_i`, where
/// `noise_i = 16 ε · max(|f(x)|, 1) / hᵢ` bounds the rounding error of the difference
/// quotient itself (it grows as the step shrinks and with the size of `f`).
#[derive(Debug, Clone)]
pub struct GradientCheck {
    /// Relative tolerance.
    pub rel_tol: f64,
    /// Absolute tolerance.
    pub abs_tol: f64,
    /// Relative step: `hᵢ = step · max(|xᵢ|, 1)`. The default `1e-3` suits the fourth-order
    /// stencil used here (its truncation error is `O(h⁴)`).
    pub step: f64,
    /// Also compare forward mode with reverse mode.
    pub check_forward: bool,
}

impl Default for GradientCheck {
    fn default() -> Self {
        Self {
            rel_tol: 1e-6,
            abs_tol: 1e-8,
            step: 1e-3,
            check_forward: true,
        }
    }
}

/// What a passing check measured.
#[derive(Debug, Clone)]
pub struct GradientReport {
    /// `f(x)`.
    pub value: f64,
    /// The reverse-mode gradient.
    pub analytic: Vec<f64>,
    /// The finite-difference gradient.
    pub numeric: Vec<f64>,
    /// The component whose error relative to its tolerance was largest.
    pub worst_index: usize,
    /// That component's error divided by its tolerance (≤ 1 when passing).
    pub worst_ratio: f64,
}

/// A failed check: which component, what each method gave.
#[derive(Debug, Clone, PartialEq)]
pub struct GradientMismatch {
    /// Index of the worst component.
    pub index: usize,
    /// Which derivative disagreed: "reverse vs finite differences" or "forward vs reverse".
    pub comparison: &'static str,
    /// The AD value.
    pub analytic: f64,
    /// The value it was compared with.
    pub numeric: f64,
    /// The tolerance that was exceeded.
    pub tolerance: f64,
    /// The point.
    pub x: Vec<f64>,
}

impl fmt::Display for GradientMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "gradient component {} ({}): {:e} vs {:e} (difference {:e} > tolerance {:e}) at x = {:?}",
            self.index,
            self.comparison,
            self.analytic,
            self.numeric,
            (self.analytic - self.numeric).abs(),
            self.tolerance,
            self.x
        )
    }
}

impl std::error::Error for GradientMismatch {}

/// Checks the reverse-mode (and optionally forward-mode) gradient of `f` at `x` against
/// fourth-order central finite differences with a step scaled to each `|xᵢ|`.
///
/// Returns the report on success, or the worst failing component. Non-finite values anywhere
/// fail the check.
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
    let mismatch = |index, comparison, analytic, numeric, tolerance| GradientMismatch {
        index,
        comparison,
        analytic,
        numeric,
        tolerance,
        x: x.to_vec(),
    };
    let scale = value.abs().max(1.0);
    if options.check_forward {
        let forward = forward::gradient(f, x);
        for (i, (&a, &b)) in analytic.iter().zip(&forward).enumerate() {
            // Both are exact up to rounding: compare at a rounding-level tolerance.
            let tol = 1e-12 * (a.abs().max(b.abs()) + scale) + options.abs_tol;
            if !(a.is_finite() && b.is_finite()) || (a - b).abs() > tol {
                return Err(mismatch(i, "forward vs reverse", b, a, tol));
            }
        }
    }
    let numeric = finite_difference_gradient(f, x, options.step);
    let mut worst = (0, 0.0_f64);
    for (i, (&a, &d)) in analytic.iter().zip(&numeric).enumerate() {
        let h = options.step * x[i].abs().max(1.0);
        let noise = 16.0 * f64::EPSILON * scale / h;
        let tol = options.abs_tol + options.rel_tol * a.abs().max(d.abs()) + noise;
        let err = (a - d).abs();
        if !(a.is_finite() && d.is_finite()) || err > tol {
            return Err(mismatch(i, "reverse vs finite differences", a, d, tol));
        }
        let ratio = err / tol;
        if ratio >= worst.1 {
            worst = (i, ratio);
        }
    }
    Ok(GradientReport {
        value,
        analytic,
        numeric,
        worst_index: worst.0,
        worst_ratio: worst.1,
    })
}

/// The gradient of `f` at `x` by fourth-order central differences,
/// `(8 (f(x+h) − f(x−h)) − (f(x+2h) − f(x−2h))) / 12h`, with `hᵢ = step · max(|xᵢ|, 1)`:
/// truncation error `O(h⁴)`. Evaluates `f` with plain `f64`s, `4n` times.
pub fn finite_difference_gradient<F: ScalarFn + ?Sized>(f: &F, x: &[f64], step: f64) -> Vec<f64> {
    let mut point = x.to_vec();
    (0..x.len())
        .map(|i| {
            let h = step * x[i].abs().max(1.0);
            let mut at = |offset: f64| {
                point[i] = x[i] + offset;
                let v = f.eval(&point);
                point[i] = x[i];
                v
            };
            let (f_p1, f_m1, f_p2, f_m2) = (at(h), at(-h), at(2.0 * h), at(-2.0 * h));
            (8.0 * (f_p1 - f_m1) - (f_p2 - f_m2)) / (12.0 * h)
        })
        .collect()
}
