//! The [`Scalar`] trait: the one numeric type model code is written against.

use std::fmt::{Debug, Display};
use std::iter::Sum;
use std::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Sub, SubAssign};

use num_traits::{Float, FromPrimitive};

use crate::elementwise::{ElementwiseFn, MapArg};
use crate::{special, stable_derivatives};

/// A real number that may carry derivative information.
///
/// Write a model once over `T: Scalar` and evaluate it with `f64` (values), with
/// [`Dual`](crate::Dual)/[`DualVec`](crate::DualVec) (forward mode, nestable for higher
/// derivatives) or with [`Var`](crate::Var) (reverse mode, a thread-local tape). Generic code
/// reads like `f64` code: `T op T` and `T op f64` work everywhere.
///
/// `f64 op T` (e.g. `2.0 * x`) is implemented for every concrete scalar type, but Rust does
/// not let a trait promise it for a generic `T` (bounds on other types are not implied), so in
/// generic code write `x * 2.0` or `T::constant(2.0) * x`.
///
/// Beyond [`num_traits::Float`] (which supplies `ln_1p`, `exp_m1`, `powi`, `powf`, `sqrt`,
/// `tanh`, `sin`, `cos`, `abs`, `min`, `max`, …) the trait offers what probabilistic code
/// needs, each as one differentiable operation with a numerically stable formulation.
///
/// Derivative conventions at non-differentiable points (the same in every mode):
/// - `abs` at 0 has derivative 0;
/// - `max(a, b)` and `min(a, b)` at a tie `a == b` give each argument half the derivative
///   (as JAX does), so `max(x, x)` has derivative 1;
/// - `floor`, `ceil`, `round`, `trunc`, `signum` have derivative 0.
///
/// # Example
/// ```
/// use trellis_ad::{Scalar, Dual};
///
/// // Written once, evaluated with plain values and with a dual number.
/// fn log_normal_density<T: Scalar>(x: T, mu: T, sigma: T) -> T {
///     let z = (x - mu) / sigma;
///     -(z * z) * 0.5 - sigma.ln() - 0.5 * (2.0 * std::f64::consts::PI).ln()
/// }
/// let value = log_normal_density(1.0, 0.0, 1.0);
/// let with_tangent = log_normal_density(Dual::variable(1.0), Dual::constant(0.0), Dual::constant(1.0));
/// assert_eq!(with_tangent.value(), value);
/// assert!((with_tangent.tangent() - (-1.0)).abs() < 1e-15); // d/dx = -(x - mu)/sigma²
/// ```
pub trait Scalar:
    Float
    + FromPrimitive
    + Debug
    + Display
    + Default
    + Send
    + Sync
    + 'static
    + Add<f64, Output = Self>
    + Sub<f64, Output = Self>
    + Mul<f64, Output = Self>
    + Div<f64, Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + AddAssign<f64>
    + SubAssign<f64>
    + MulAssign<f64>
    + DivAssign<f64>
    + Sum
{
    /// True when [`Scalar::custom`] is much cheaper than evaluating generic code (reverse
    /// mode, where it records one tape node). Fused kernels check it to choose between a
    /// hand-derived gradient and the generic source of truth.
    const CUSTOM_IS_CHEAPER: bool = false;

    /// A constant (no derivative).
    fn constant(x: f64) -> Self;

    /// The primal value as `f64` (for nested duals, the innermost value).
    fn value(self) -> f64;

    /// `ln(exp(self) + exp(other))` without overflow; `-inf` when both are `-inf`, with zero
    /// (not NaN) derivatives there.
    fn log_add_exp(self, other: Self) -> Self;

    /// `ln Σ exp(xᵢ)` as one operation (one tape node in reverse mode).
    ///
    /// Stable for entries near ±700 and below -1e5. All `-inf` (or an empty slice) gives
    /// `-inf` with zero derivatives; any `+inf` entry gives `+inf`, with derivative 1 on the
    /// first infinite entry and 0 elsewhere; a NaN entry gives NaN.
    fn log_sum_exp(xs: &[Self]) -> Self;

    /// `Σ xᵢ` as one operation (one tape node in reverse mode).
    fn sum_of(xs: &[Self]) -> Self;

    /// `Σ xᵢ yᵢ` as one operation. Panics if the lengths differ.
    fn dot(xs: &[Self], ys: &[Self]) -> Self;

    /// `Σ xᵢ²` as one operation (one tape node in reverse mode): sums of squared residuals
    /// without a node per square and per addition.
    fn sum_of_squares(xs: &[Self]) -> Self {
        let mut acc = Self::constant(0.0);
        for &x in xs {
            acc += x * x;
        }
        acc
    }

    /// `ln Σ exp(xᵢ + yᵢ)` as one operation (one tape node in reverse mode, over both
    /// slices): one state of a log-space forward recursion, `xᵢ` the previous step's log
    /// probabilities and `yᵢ` a column of log transition probabilities, without a node per
    /// sum. The conventions of [`Scalar::log_sum_exp`] apply to the sums. Panics if the
    /// lengths differ.
    fn log_sum_exp_of_sums(xs: &[Self], ys: &[Self]) -> Self {
        assert_eq!(
            xs.len(),
            ys.len(),
            "log_sum_exp_of_sums: slices of different lengths"
        );
        crate::scratch::with_vec(|sums: &mut Vec<Self>| {
            sums.extend(xs.iter().zip(ys).map(|(&x, &y)| x + y));
            Self::log_sum_exp(sums)
        })
    }

    /// `ln N(y; mean, sd)`, the normal log-density of an observation `y`, as one operation
    /// (one tape node in reverse mode, for both parameters).
    fn normal_ln_pdf(y: f64, mean: Self, sd: Self) -> Self {
        let z = (mean - y) / sd;
        -(z * z) * 0.5 - sd.ln() - HALF_LN_2PI
    }

    /// `Σ ln σ(xᵢ)`, σ the logistic sigmoid, as one operation (one tape node in reverse
    /// mode): the log-likelihood of successes with logits `xᵢ` (a failure with logit `η`
    /// contributes `ln σ(-η)`: negate its logit, or its predictor's weights). Stable like
    /// [`Scalar::log_logistic`].
    fn sum_log_logistic(xs: &[Self]) -> Self {
        let mut acc = Self::constant(0.0);
        for &x in xs {
            acc += x.log_logistic();
        }
        acc
    }

    /// `Σᵢ f(args₁ᵢ, …, args_Nᵢ)` as one operation (one tape node in reverse mode): an
    /// elementwise function summed over slices, each argument a slice of `Self`
    /// ([`MapArg::Each`]), a broadcast scalar ([`MapArg::All`]) or constant data
    /// ([`MapArg::Data`]). In reverse mode each slice entry becomes one operand of the node
    /// and each broadcast scalar one operand with its partials summed, so a residual sum such
    /// as `Σ ((μ + τηᵢ - yᵢ)/σᵢ)²` records one node, not four per element. Every other mode
    /// evaluates [`ElementwiseFn::eval`] element by element (exact by construction).
    ///
    /// Panics if the slice arguments differ in length or if no argument is a slice.
    fn sum_map<F: ElementwiseFn<N>, const N: usize>(f: &F, args: [MapArg<'_, Self>; N]) -> Self {
        crate::elementwise::sum_map_generic(f, args)
    }

    /// `Σᵣ ln σ(Σₖ Xᵣₖ βₖ)` for a row-major constant `design` matrix `X` of `beta.len()`
    /// columns, as one operation (one tape node in reverse mode, with `beta.len()` operands):
    /// a logistic-regression log-likelihood (sign each row by its label: a failure's row
    /// enters negated) without a node per row. The same values as
    /// [`Scalar::weighted_sum`] of each row followed by [`Scalar::sum_log_logistic`].
    ///
    /// Panics if `design.len()` is not a multiple of `beta.len()` (or `beta` is empty).
    fn sum_log_logistic_of_linear(design: &[f64], beta: &[Self]) -> Self {
        let rows = crate::elementwise::design_rows(design, beta.len());
        crate::scratch::with_vec(|etas: &mut Vec<Self>| {
            etas.extend(rows.map(|row| Self::weighted_sum(beta, row)));
            Self::sum_log_logistic(etas)
        })
    }

    /// `Σ wᵢ xᵢ` with constant weights, as one operation. Panics if the lengths differ.
    fn weighted_sum(xs: &[Self], weights: &[f64]) -> Self;

    /// A value whose derivatives with respect to `inputs` are given: `value = f(x)` and
    /// `partials[i] = ∂f/∂xᵢ`, both computed by the caller at the inputs' primal values
    /// (hand-written, or from another library).
    ///
    /// Exact for values and first derivatives in every mode. It is a first-order rule: the
    /// node contributes **no curvature** under nested duals (`Dual<Dual<f64>>`,
    /// `forward::hessian`, and `Dual<Var>` in `reverse::hvp`/`reverse::hessian`), because its
    /// partials are constants there. Use [`Scalar::custom_with_hessian`] when second
    /// derivatives must go through it. Panics if the lengths differ.
    fn custom(inputs: &[Self], value: f64, partials: &[f64]) -> Self;

    /// Like [`Scalar::custom`], with the Hessian `∂²f/∂xᵢ∂xⱼ` too (`n × n`, row-major, at the
    /// inputs' primal values), so that nested duals, `forward::hessian`, `reverse::hvp` and
    /// `reverse::hessian` stay exact through the node: each partial becomes a custom value
    /// whose own partials are its Hessian row.
    ///
    /// ```
    /// use trellis_ad::{forward, reverse, Scalar, ScalarFn};
    /// /// x₀² x₁ as one hand-written node.
    /// struct F;
    /// impl ScalarFn for F {
    ///     fn eval<T: Scalar>(&self, x: &[T]) -> T {
    ///         let (a, b) = (x[0].value(), x[1].value());
    ///         let hessian = [2.0 * b, 2.0 * a, 2.0 * a, 0.0];
    ///         T::custom_with_hessian(x, a * a * b, &[2.0 * a * b, a * a], &hessian)
    ///     }
    /// }
    /// let h = reverse::hessian(&F, &[3.0, 2.0]);
    /// assert_eq!(h, forward::hessian(&F, &[3.0, 2.0]));
    /// assert_eq!(h[[0, 0]], 4.0);
    /// assert_eq!(h[[0, 1]], 6.0);
    /// assert_eq!(h[[1, 1]], 0.0);
    /// ```
    ///
    /// Panics if the lengths differ (`hessian.len()` must be `inputs.len()²`).
    fn custom_with_hessian(inputs: &[Self], value: f64, partials: &[f64], hessian: &[f64]) -> Self {
        assert_eq!(
            hessian.len(),
            inputs.len() * inputs.len(),
            "custom_with_hessian: an n × n Hessian for n inputs"
        );
        Self::custom(inputs, value, partials)
    }

    /// `ln(1 + exp(x))`, exact for large `x` (`softplus(800) == 800`).
    fn softplus(self) -> Self;

    /// The logistic sigmoid `1 / (1 + exp(-x))`.
    fn logistic(self) -> Self;

    /// `ln(logistic(x)) = -softplus(-x)`, stable for very negative `x`.
    fn log_logistic(self) -> Self;

    /// `ln |Γ(x)|`.
    fn ln_gamma(self) -> Self;

    /// The digamma function ψ(x) = d/dx ln Γ(x).
    fn digamma(self) -> Self;

    /// The polygamma function ψ⁽ⁿ⁾(x) (`n = 0` is digamma).
    fn polygamma(self, n: u32) -> Self;

    /// The error function.
    fn erf(self) -> Self;

    /// The complementary error function `1 - erf(x)`, accurate in the right tail.
    fn erfc(self) -> Self;

    /// The standard normal CDF Φ(x), accurate in both tails.
    fn norm_cdf(self) -> Self;

    /// `ln Φ(x)`, accurate for very negative `x`.
    fn log_norm_cdf(self) -> Self;

    /// Whether this is exactly zero with all derivative parts exactly zero: a tangent that
    /// contributes nothing, so multiplying it by an infinite partial gives 0, not NaN.
    #[doc(hidden)]
    fn is_exact_zero(self) -> bool;

    /// Whether the value and all derivative parts are finite (then plain tangent products
    /// cannot make NaN from a zero tangent).
    #[doc(hidden)]
    fn is_all_finite(self) -> bool;

    /// `sech²(x)`, accurate for all `x` (the derivative of `tanh`). Internal: the chain rule
    /// needs it as an operation so that its own derivative is stable too.
    #[doc(hidden)]
    fn sech2(self) -> Self;

    /// `φ(x)/Φ(x)`, the derivative of `ln Φ` (internal, see [`Scalar::sech2`]).
    #[doc(hidden)]
    fn inv_mills(self) -> Self;

    /// `x + φ(x)/Φ(x)`, without cancellation for very negative `x` (internal).
    #[doc(hidden)]
    fn mills_offset(self) -> Self;
}

/// ½ ln 2π.
pub(crate) const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;

/// `ln(exp(a) + exp(b))` on plain values.
#[inline]
pub(crate) fn log_add_exp_f64(a: f64, b: f64) -> f64 {
    let (hi, lo) = if a >= b { (a, b) } else { (b, a) };
    if hi.is_infinite() {
        // Both -inf, or an infinite maximum: `lo - hi` would be NaN.
        return if a.is_nan() || b.is_nan() {
            f64::NAN
        } else {
            hi
        };
    }
    if hi.is_nan() || lo.is_nan() {
        return f64::NAN;
    }
    hi + (lo - hi).exp().ln_1p()
}

/// The maximum of `values` and the index of its first occurrence; `(-inf, None)` when empty,
/// NaN when any entry is NaN.
#[inline]
pub(crate) fn max_with_index(values: impl Iterator<Item = f64>) -> (f64, Option<usize>) {
    let mut best = f64::NEG_INFINITY;
    let mut arg = None;
    for (i, v) in values.enumerate() {
        if v.is_nan() {
            return (f64::NAN, Some(i));
        }
        if arg.is_none() || v > best {
            best = v;
            arg = Some(i);
        }
    }
    (best, arg)
}

/// `ln Σ exp(xᵢ)` on plain values with the conventions of [`Scalar::log_sum_exp`].
#[inline]
pub(crate) fn log_sum_exp_f64(xs: &[f64]) -> f64 {
    let (max, _) = max_with_index(xs.iter().copied());
    if !max.is_finite() {
        return max;
    }
    let sum: f64 = xs.iter().map(|&x| (x - max).exp()).sum();
    max + sum.ln()
}

/// Stable `softplus` on plain values.
#[inline]
pub(crate) fn softplus_f64(x: f64) -> f64 {
    if x > 0.0 {
        x + (-x).exp().ln_1p()
    } else {
        x.exp().ln_1p()
    }
}

/// `(ln σ(x), σ(-x))`, the log-logistic and its derivative, sharing one exponential; the
/// same values as `-softplus_f64(-x)` and `logistic_f64(-x)`.
#[inline]
pub(crate) fn log_logistic_and_slope_f64(x: f64) -> (f64, f64) {
    let e = (-x.abs()).exp();
    let slope = if x > 0.0 {
        e / (1.0 + e)
    } else {
        1.0 / (1.0 + e)
    };
    (x.min(0.0) - e.ln_1p(), slope)
}

/// Stable logistic sigmoid on plain values.
#[inline]
pub(crate) fn logistic_f64(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

impl Scalar for f64 {
    #[inline]
    fn constant(x: f64) -> Self {
        x
    }
    #[inline]
    fn value(self) -> f64 {
        self
    }
    #[inline]
    fn log_add_exp(self, other: Self) -> Self {
        log_add_exp_f64(self, other)
    }
    #[inline]
    fn log_sum_exp(xs: &[Self]) -> Self {
        log_sum_exp_f64(xs)
    }
    #[inline]
    fn sum_of(xs: &[Self]) -> Self {
        xs.iter().sum()
    }
    #[inline]
    fn dot(xs: &[Self], ys: &[Self]) -> Self {
        assert_eq!(xs.len(), ys.len(), "dot: slices of different lengths");
        xs.iter().zip(ys).map(|(x, y)| x * y).sum()
    }
    #[inline]
    fn weighted_sum(xs: &[Self], weights: &[f64]) -> Self {
        Self::dot(xs, weights)
    }
    #[inline]
    fn custom(inputs: &[Self], value: f64, partials: &[f64]) -> Self {
        assert_eq!(
            inputs.len(),
            partials.len(),
            "custom: one partial per input"
        );
        value
    }
    #[inline]
    fn softplus(self) -> Self {
        softplus_f64(self)
    }
    #[inline]
    fn logistic(self) -> Self {
        logistic_f64(self)
    }
    #[inline]
    fn log_logistic(self) -> Self {
        -softplus_f64(-self)
    }
    #[inline]
    fn ln_gamma(self) -> Self {
        special::ln_gamma(self)
    }
    #[inline]
    fn digamma(self) -> Self {
        special::digamma(self)
    }
    #[inline]
    fn polygamma(self, n: u32) -> Self {
        special::polygamma(n, self)
    }
    #[inline]
    fn erf(self) -> Self {
        special::erf(self)
    }
    #[inline]
    fn erfc(self) -> Self {
        special::erfc(self)
    }
    #[inline]
    fn norm_cdf(self) -> Self {
        special::norm_cdf(self)
    }
    #[inline]
    fn log_norm_cdf(self) -> Self {
        special::log_norm_cdf(self)
    }
    #[inline]
    fn is_exact_zero(self) -> bool {
        self == 0.0
    }
    #[inline]
    fn is_all_finite(self) -> bool {
        self.is_finite()
    }
    #[inline]
    fn sech2(self) -> Self {
        stable_derivatives::sech2(self)
    }
    #[inline]
    fn inv_mills(self) -> Self {
        stable_derivatives::inv_mills(self)
    }
    #[inline]
    fn mills_offset(self) -> Self {
        stable_derivatives::mills_offset(self)
    }
}
