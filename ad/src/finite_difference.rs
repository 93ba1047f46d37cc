//! Finite-difference derivative estimates that know their own error: central differences over
//! a geometric sequence of steps, Richardson-extrapolated, with the step chosen per coordinate
//! where the estimated error is smallest (as numdifftools does).
//!
//! The estimate at each step is the central difference `D(h) = (f(x+h) − f(x−h)) / 2h`,
//! extrapolated twice (`h²` and `h⁴` terms eliminated, for steps halving each time). Its error
//! estimate is the spread between neighbouring extrapolations (truncation) plus the rounding
//! noise of the difference quotient, `ε · (|f(x+h)| + |f(x−h)|) / h`. Big steps lose to
//! truncation, tiny ones to rounding; the minimum sits at the scale of the function itself,
//! whatever `x` is. Steps where `f` is not finite (outside the support) are skipped, so a
//! coordinate near a boundary is estimated from the steps that stay inside; if none do, the
//! estimate is [`FdEstimate::value`] `= None`, never a silent NaN.

use crate::ScalarFn;

/// The step sequence of the estimator.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FdSteps {
    /// The largest step, relative to `max(|xᵢ|, 1)`.
    pub first: f64,
    /// How many steps, each half the previous.
    pub count: usize,
}

impl Default for FdSteps {
    /// 0.25·max(|xᵢ|, 1) down to about 1e-11 of it (36 halvings): wide enough that the best
    /// step of a function varying on scale 1e-4 (an HMM posterior) or on scale 1 at
    /// |x| = 1e5 (`log_add_exp(-1e5, -1e5 - 1)`) is inside.
    fn default() -> Self {
        Self {
            first: 0.25,
            count: 36,
        }
    }
}

/// One finite-difference derivative estimate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FdEstimate {
    /// The estimate, or `None` when no step kept `f` finite on both sides (the coordinate
    /// sits on the edge of the support at every step tried).
    pub value: Option<f64>,
    /// Estimated absolute error of `value` (truncation + rounding); infinite when unavailable.
    pub error: f64,
    /// The step that gave `value` (0 when unavailable).
    pub step: f64,
}

impl FdEstimate {
    const UNAVAILABLE: Self = Self {
        value: None,
        error: f64::INFINITY,
        step: 0.0,
    };
}

/// Derivative estimates of the `m` outputs of `eval` with respect to a scalar `t` at `t0`.
/// `eval(t, out)` writes the `m` outputs at `t` into `out`.
pub(crate) fn estimate(
    mut eval: impl FnMut(f64, &mut [f64]),
    t0: f64,
    m: usize,
    steps: &FdSteps,
) -> Vec<FdEstimate> {
    let scale = t0.abs().max(1.0);
    let mut plus = vec![0.0; m];
    let mut minus = vec![0.0; m];
    // Per output: central differences D_k, first and second extrapolations, noise per step.
    let mut best = vec![FdEstimate::UNAVAILABLE; m];
    let mut d = vec![Vec::<f64>::new(); m];
    let mut r1 = vec![Vec::<f64>::new(); m];
    let mut r2 = vec![Vec::<f64>::new(); m];
    let mut noise = vec![Vec::<f64>::new(); m];
    let mut h = steps.first * scale;
    for _ in 0..steps.count {
        // The step actually taken (t0 ± h rounds): use the exact difference of the points.
        let (tp, tm) = (t0 + h, t0 - h);
        eval(tp, &mut plus);
        eval(tm, &mut minus);
        let width = tp - tm;
        for i in 0..m {
            let (fp, fm) = (plus[i], minus[i]);
            if !(fp.is_finite() && fm.is_finite()) || width == 0.0 {
                // Outside the support (or a step below resolution): restart the tableau.
                d[i].clear();
                r1[i].clear();
                r2[i].clear();
                noise[i].clear();
                continue;
            }
            d[i].push((fp - fm) / width);
            noise[i].push(4.0 * f64::EPSILON * (fp.abs() + fm.abs()) / width);
            let k = d[i].len();
            if k >= 2 {
                r1[i].push((4.0 * d[i][k - 1] - d[i][k - 2]) / 3.0);
            }
            let k1 = r1[i].len();
            if k1 >= 2 {
                r2[i].push((16.0 * r1[i][k1 - 1] - r1[i][k1 - 2]) / 15.0);
            }
            let k2 = r2[i].len();
            if k2 >= 2 {
                // The extrapolation at the previous step, judged by both its neighbours
                // (one of them is known only now).
                let j = k2 - 2;
                let mut truncation = (r2[i][j + 1] - r2[i][j]).abs();
                if j >= 1 {
                    truncation = truncation.max((r2[i][j] - r2[i][j - 1]).abs());
                }
                // Rounding noise of the smallest difference entering r2[j] (D_{j+2}),
                // amplified by the extrapolation weights (≈ 1.8).
                let error = truncation + 2.0 * noise[i][j + 2];
                if error < best[i].error {
                    best[i] = FdEstimate {
                        value: Some(r2[i][j]),
                        error,
                        // r2[j] combines the differences at 8h, 4h and 2h (this run's
                        // current step is h): report the largest.
                        step: 8.0 * h,
                    };
                }
            }
        }
        h *= 0.5;
    }
    best
}

/// The finite-difference estimate of `∂f/∂xᵢ` at `x` for every `i`, each with its error and
/// step. Evaluates `f` with plain `f64`s, `2 · steps.count` times per coordinate.
///
/// This is what a "finite differences" column should show: `value` is `None` (not NaN) when
/// `f` is not finite on both sides at every step (e.g. a probability of 1e-5 whose every
/// step crossed 0 — but the steps go down to ~1e-11·max(|x|, 1), so that needs a point
/// within ~1e-11 of the boundary).
///
/// ```
/// use trellis_ad::{finite_difference_estimates, FdSteps, Scalar, ScalarFn};
/// struct F;
/// impl ScalarFn for F {
///     fn eval<T: Scalar>(&self, x: &[T]) -> T { x[0].ln() + x[1].exp() }
/// }
/// let fd = finite_difference_estimates(&F, &[1e-5, 0.5], &FdSteps::default());
/// let d0 = fd[0].value.unwrap();
/// assert!((d0 - 1e5).abs() <= 4.0 * fd[0].error && fd[0].error < 1e-3);
/// assert!((fd[1].value.unwrap() - 0.5f64.exp()).abs() < 1e-10);
/// ```
pub fn finite_difference_estimates<F: ScalarFn + ?Sized>(
    f: &F,
    x: &[f64],
    steps: &FdSteps,
) -> Vec<FdEstimate> {
    let mut point = x.to_vec();
    (0..x.len())
        .map(|i| {
            estimate(
                |t, out| {
                    point[i] = t;
                    out[0] = f.eval(&point);
                    point[i] = x[i];
                },
                x[i],
                1,
                steps,
            )[0]
        })
        .collect()
}
