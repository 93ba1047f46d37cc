//! Forward mode: dual numbers carrying `N` directional derivatives.

use std::fmt;

use crate::chain_rule::{chain_scalar_methods, impl_via_chain, Chain};
use crate::Scalar;

/// A dual number `re + Σ epsᵢ εᵢ` carrying `N` tangents (directional derivatives) at once.
///
/// Generic over any [`Scalar`] `T`, so duals nest: `DualVec<Dual<f64>, N>` or
/// `Dual<Dual<f64>>` carries second derivatives, and `Dual<Var>` (a dual over a reverse-mode
/// variable) gives Hessian-vector products. A gradient of `n` inputs costs `⌈n / N⌉`
/// evaluations with `DualVec<f64, N>`.
///
/// ```
/// use trellis_ad::prelude::*;
/// // f(x, y) = x·y + sin(x); both partial derivatives in one evaluation.
/// let x = DualVec::<f64, 2>::seeded(0.5, 0);
/// let y = DualVec::<f64, 2>::seeded(2.0, 1);
/// let f = x * y + x.sin();
/// assert_eq!(f.value(), 0.5 * 2.0 + 0.5f64.sin());
/// assert!((f.eps[0] - (2.0 + 0.5f64.cos())).abs() < 1e-15);
/// assert!((f.eps[1] - 0.5).abs() < 1e-15);
/// ```
///
/// # Zero tangents times infinite partials
///
/// With `ZERO_SAFE` (the default), an exactly zero tangent times an infinite or NaN partial
/// contributes 0, as in reverse mode (`∂(√x + y)/∂y` at `x = 0` is 1, not NaN). That costs a
/// finiteness test per operation. `DualVec<T, N, false>` multiplies plainly, so such a
/// product is NaN; it is what [`forward::value_and_gradient_into`](crate::forward) runs
/// first, redoing a pass with the zero-safe type only when a result is NaN (a plain NaN
/// reaches every result it feeds, so a result that is not NaN is the zero-safe one).
#[derive(Clone, Copy)]
pub struct DualVec<T, const N: usize, const ZERO_SAFE: bool = true> {
    /// The primal value.
    pub re: T,
    /// The tangents: `eps[i]` is the derivative along the `i`-th seeded direction.
    pub eps: [T; N],
}

/// A dual number with one tangent: `f(Dual::variable(x)).tangent()` is `f'(x)`.
pub type Dual<T> = DualVec<T, 1>;

impl<T: Scalar, const N: usize, const Z: bool> DualVec<T, N, Z> {
    /// A dual with the given value and tangents.
    #[inline]
    pub fn new(re: T, eps: [T; N]) -> Self {
        Self { re, eps }
    }

    /// An input variable seeded in direction `direction`: tangent 1 there, 0 elsewhere.
    /// Panics if `direction >= N`.
    #[inline]
    pub fn seeded(re: T, direction: usize) -> Self {
        let mut eps = [T::constant(0.0); N];
        eps[direction] = T::constant(1.0);
        Self { re, eps }
    }
}

impl<T: Scalar> Dual<T> {
    /// An input variable of a one-direction dual: tangent 1.
    #[inline]
    pub fn variable(re: T) -> Self {
        Self::seeded(re, 0)
    }

    /// The single tangent.
    #[inline]
    pub fn tangent(&self) -> T {
        self.eps[0]
    }
}

/// `tangent · partial`, where an exactly zero tangent contributes exactly 0 even when the
/// partial is infinite or NaN (as in reverse mode, whose sweep skips zero adjoints): the
/// derivative along a direction the value does not depend on is 0, whatever the others are.
#[inline(always)]
fn tangent_times<T: Scalar>(tangent: T, partial: T) -> T {
    if tangent.is_exact_zero() {
        tangent
    } else {
        tangent * partial
    }
}

/// `eps · deriv` lane by lane with [`tangent_times`]; out of line, since it is the rare case.
/// By value in and out, so the common path keeps its tangents in registers.
#[cold]
#[inline(never)]
fn scale_tangents_zero_safe<T: Scalar, const N: usize>(eps: [T; N], deriv: T) -> [T; N] {
    eps.map(|e| tangent_times(e, deriv))
}

/// `eps · d_self + other · d_other` lane by lane with [`tangent_times`] (the rare case).
#[cold]
#[inline(never)]
fn combine_tangents_zero_safe<T: Scalar, const N: usize>(
    eps: [T; N],
    d_self: T,
    other: [T; N],
    d_other: T,
) -> [T; N] {
    let mut out = eps;
    for ((out, e), o) in out.iter_mut().zip(eps).zip(other) {
        *out = tangent_times(e, d_self) + tangent_times(o, d_other);
    }
    out
}

impl<T: Scalar, const N: usize, const Z: bool> Chain for DualVec<T, N, Z> {
    type Primal = T;
    #[inline]
    fn primal(self) -> T {
        self.re
    }
    #[inline]
    fn lift(re: T) -> Self {
        Self {
            re,
            eps: [T::constant(0.0); N],
        }
    }
    #[inline(always)]
    fn chain(self, value: T, deriv: T) -> Self {
        // Plain products unless the partial is not finite (only then can a zero tangent
        // turn into NaN): one predictable branch per operation, the loop stays vectorised,
        // and the rare case is out of line with its operands passed by value, so the common
        // path keeps the tangents in registers.
        if Z && !deriv.is_all_finite() {
            return Self {
                re: value,
                eps: scale_tangents_zero_safe(self.eps, deriv),
            };
        }
        let mut eps = self.eps;
        for e in &mut eps {
            *e *= deriv;
        }
        Self { re: value, eps }
    }
    #[inline(always)]
    fn chain2(self, other: Self, value: T, d_self: T, d_other: T) -> Self {
        if Z && !(d_self.is_all_finite() && d_other.is_all_finite()) {
            return Self {
                re: value,
                eps: combine_tangents_zero_safe(self.eps, d_self, other.eps, d_other),
            };
        }
        let mut eps = self.eps;
        for (e, o) in eps.iter_mut().zip(other.eps) {
            *e = *e * d_self + o * d_other;
        }
        Self { re: value, eps }
    }
}

impl_via_chain!(impl [T: Scalar, const N: usize, const Z: bool] DualVec<T, N, Z>);

impl<T: Scalar, const N: usize, const Z: bool> Scalar for DualVec<T, N, Z> {
    #[inline]
    fn constant(x: f64) -> Self {
        Self::lift(T::constant(x))
    }

    chain_scalar_methods!();

    #[inline]
    fn is_exact_zero(self) -> bool {
        self.re.is_exact_zero() && self.eps.iter().all(|e| e.is_exact_zero())
    }

    #[inline]
    fn is_all_finite(self) -> bool {
        self.re.is_all_finite() && self.eps.iter().all(|e| e.is_all_finite())
    }

    fn log_sum_exp(xs: &[Self]) -> Self {
        // Two passes over the primal values, no buffer: the maximum (by value), then the
        // shifted sum; tangents are the softmax-weighted tangents.
        let (max_value, arg) = crate::scalar::max_with_index(xs.iter().map(|x| x.value()));
        let Some(arg) = arg else {
            return Self::constant(f64::NEG_INFINITY);
        };
        if max_value.is_nan() {
            // NaN value and NaN derivative along every direction an input moves in.
            let mut eps = [T::constant(0.0); N];
            for x in xs {
                for (e, xe) in eps.iter_mut().zip(x.eps) {
                    *e += Self::times(xe, T::constant(f64::NAN));
                }
            }
            return Self {
                re: T::constant(f64::NAN),
                eps,
            };
        }
        if max_value == f64::INFINITY {
            return xs[arg];
        }
        if max_value == f64::NEG_INFINITY {
            return Self::constant(f64::NEG_INFINITY);
        }
        let max = xs[arg].re;
        let mut sum = T::constant(0.0);
        for x in xs {
            sum += (x.re - max).exp();
        }
        let re = max + sum.ln();
        // Weights from the shifted exponentials, not exp(x - re): near ±1e5 the subtraction
        // of two large numbers would cost ~11 digits.
        let inv_sum = sum.recip();
        let mut eps = [T::constant(0.0); N];
        for x in xs {
            let w = (x.re - max).exp() * inv_sum;
            for (e, xe) in eps.iter_mut().zip(x.eps) {
                // w ∈ [0, 1]: finite, no zero-safe product needed.
                *e += w * xe;
            }
        }
        Self { re, eps }
    }

    fn custom_with_hessian(inputs: &[Self], value: f64, partials: &[f64], hessian: &[f64]) -> Self {
        let n = inputs.len();
        assert_eq!(partials.len(), n, "custom: one partial per input");
        assert_eq!(
            hessian.len(),
            n * n,
            "custom_with_hessian: an n × n Hessian for n inputs"
        );
        Self::with_primals(inputs, |primals| {
            // Partial i as a value of the primal inputs whose own partials are Hessian row i:
            // that carries the curvature one level down. (Below that the rule is first order
            // again, which is all a Hessian needs.)
            let re = T::custom_with_hessian(primals, value, partials, hessian);
            let mut eps = [T::constant(0.0); N];
            for (i, x) in inputs.iter().enumerate() {
                if x.eps.iter().all(|e| e.is_exact_zero()) {
                    continue;
                }
                let partial = T::custom(primals, partials[i], &hessian[i * n..(i + 1) * n]);
                for (e, xe) in eps.iter_mut().zip(x.eps) {
                    *e += Self::times(xe, partial);
                }
            }
            Self { re, eps }
        })
    }

    fn sum_of(xs: &[Self]) -> Self {
        let mut acc = Self::constant(0.0);
        for x in xs {
            acc.re += x.re;
            for (e, xe) in acc.eps.iter_mut().zip(x.eps) {
                *e += xe;
            }
        }
        acc
    }

    fn dot(xs: &[Self], ys: &[Self]) -> Self {
        assert_eq!(xs.len(), ys.len(), "dot: slices of different lengths");
        let mut acc = Self::constant(0.0);
        for (x, y) in xs.iter().zip(ys) {
            acc.re += x.re * y.re;
            for ((e, xe), ye) in acc.eps.iter_mut().zip(x.eps).zip(y.eps) {
                *e += Self::times(xe, y.re) + Self::times(ye, x.re);
            }
        }
        acc
    }

    fn weighted_sum(xs: &[Self], weights: &[f64]) -> Self {
        assert_eq!(
            xs.len(),
            weights.len(),
            "weighted_sum: slices of different lengths"
        );
        let mut acc = Self::constant(0.0);
        for (x, &w) in xs.iter().zip(weights) {
            acc.re += x.re * w;
            for (e, xe) in acc.eps.iter_mut().zip(x.eps) {
                *e += Self::times(xe, T::constant(w));
            }
        }
        acc
    }

    fn custom(inputs: &[Self], value: f64, partials: &[f64]) -> Self {
        assert_eq!(
            inputs.len(),
            partials.len(),
            "custom: one partial per input"
        );
        // The primal is itself a custom value of the primal inputs, so nested duals get the
        // first derivative right at every level; tangents are partial-weighted tangents.
        let re = Self::with_primals(inputs, |primals| T::custom(primals, value, partials));
        let mut eps = [T::constant(0.0); N];
        for (x, &d) in inputs.iter().zip(partials) {
            for (e, xe) in eps.iter_mut().zip(x.eps) {
                *e += Self::times(xe, T::constant(d));
            }
        }
        Self { re, eps }
    }
}

impl<T: Scalar, const N: usize, const Z: bool> DualVec<T, N, Z> {
    /// `tangent · partial` under this type's rule: [`tangent_times`] when zero-safe, the
    /// plain product otherwise.
    #[inline(always)]
    fn times(tangent: T, partial: T) -> T {
        if Z {
            tangent_times(tangent, partial)
        } else {
            tangent * partial
        }
    }

    /// The primal parts of `inputs`, on the stack for up to 32 inputs, passed to `f`.
    fn with_primals<R>(inputs: &[Self], f: impl FnOnce(&[T]) -> R) -> R {
        const STACK: usize = 32;
        if inputs.len() <= STACK {
            let mut buf = [T::constant(0.0); STACK];
            for (b, x) in buf.iter_mut().zip(inputs) {
                *b = x.re;
            }
            f(&buf[..inputs.len()])
        } else {
            let buf: Vec<T> = inputs.iter().map(|x| x.re).collect();
            f(&buf)
        }
    }
}

impl<T: Scalar, const N: usize, const Z: bool> Default for DualVec<T, N, Z> {
    fn default() -> Self {
        Self::constant(0.0)
    }
}

impl<T: Scalar, const N: usize, const Z: bool> fmt::Debug for DualVec<T, N, Z> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DualVec")
            .field("re", &self.re)
            .field("eps", &self.eps)
            .finish()
    }
}

impl<T: Scalar, const N: usize, const Z: bool> fmt::Display for DualVec<T, N, Z> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.re)?;
        for (i, e) in self.eps.iter().enumerate() {
            write!(f, " + {e}ε{i}")?;
        }
        Ok(())
    }
}
