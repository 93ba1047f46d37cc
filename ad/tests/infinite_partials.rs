//! Derivatives where a partial is infinite or the value overflows: a zero tangent times an
//! infinite partial contributes 0 in forward mode, as in reverse mode, and NaN propagates
//! where it should (the points of issue 9).

use trellis_ad::{forward, reverse, Dual, Float, Scalar, ScalarFn};

struct SqrtPlus;
impl ScalarFn for SqrtPlus {
    fn eval<T: Scalar>(&self, x: &[T]) -> T {
        x[0].sqrt() + x[1]
    }
}

struct Pow;
impl ScalarFn for Pow {
    fn eval<T: Scalar>(&self, x: &[T]) -> T {
        x[0].powf(x[1])
    }
}

struct DotWithConstants;
impl ScalarFn for DotWithConstants {
    fn eval<T: Scalar>(&self, x: &[T]) -> T {
        T::dot(x, &[T::constant(1.0), T::constant(2.0)])
    }
}

struct LogSumExp;
impl ScalarFn for LogSumExp {
    fn eval<T: Scalar>(&self, x: &[T]) -> T {
        T::log_sum_exp(x)
    }
}

#[test]
fn forward_and_reverse_agree_on_an_infinite_partial() {
    let x = [0.0, 1.0];
    assert_eq!(forward::gradient(&SqrtPlus, &x), vec![f64::INFINITY, 1.0]);
    assert_eq!(reverse::gradient(&SqrtPlus, &x), vec![f64::INFINITY, 1.0]);
}

#[test]
fn powf_tangent_is_finite_where_only_the_unused_partial_overflows() {
    // 1e150^2.5 overflows, and so does its partial in the exponent; the exponent is constant.
    let y = Dual::variable(1e150).powf(Dual::constant(2.5));
    assert_eq!(y.re, f64::INFINITY);
    // d/dx = 2.5·x^1.5 = 2.5e225, finite: the infinite ∂/∂q meets a zero tangent.
    assert_eq!(y.tangent(), 2.5 * 1e150f64.powf(1.5));
}

#[test]
fn powf_gradients_at_overflow_and_at_zero() {
    // (1e300)²: value and ∂/∂x overflow (2e300 does not); ∂/∂q = x² ln x overflows.
    let g = forward::gradient(&Pow, &[1e300, 2.0]);
    assert_eq!(g, vec![2e300, f64::INFINITY]);
    assert_eq!(reverse::gradient(&Pow, &[1e300, 2.0]), g);
    // 0^0.5: ∂/∂x = ∞, ∂/∂q = 0^0.5·ln 0 → 0 (the documented convention for x ≤ 0).
    let g = forward::gradient(&Pow, &[0.0, 0.5]);
    assert_eq!(g, vec![f64::INFINITY, 0.0]);
    assert_eq!(reverse::gradient(&Pow, &[0.0, 0.5]), g);
}

#[test]
fn powf_mixed_partial_at_zero_exponent() {
    // ∂²(x^y)/∂x∂y = x^(y-1)(1 + y ln x) = 1/2 at (2, 0); ∂²/∂y² = ln² 2.
    for h in [
        forward::hessian(&Pow, &[2.0, 0.0]),
        reverse::hessian(&Pow, &[2.0, 0.0]),
    ] {
        assert_eq!(h[[0, 0]], 0.0);
        assert_eq!(h[[0, 1]], 0.5);
        assert_eq!(h[[1, 0]], 0.5);
        assert!((h[[1, 1]] - 2f64.ln().powi(2)).abs() < 1e-16);
    }
}

#[test]
fn forward_dot_with_an_infinite_entry() {
    let x = [0.0, f64::INFINITY];
    assert_eq!(forward::gradient(&DotWithConstants, &x), vec![1.0, 2.0]);
    assert_eq!(reverse::gradient(&DotWithConstants, &x), vec![1.0, 2.0]);
}

#[test]
fn powi_negative_exponents_follow_f64() {
    let y = Dual::variable(1e-160).powi(-1);
    assert_eq!(y.re, 1e160);
    assert_eq!(y.tangent(), f64::NEG_INFINITY); // -1e320 overflows
    let y = Dual::variable(0.0).powi(-1);
    assert_eq!(y.re, f64::INFINITY);
    assert!(!y.tangent().is_nan());
    let y = Dual::variable(1e200).powi(-1);
    assert_eq!(y.re, 1e-200);
    assert_eq!(y.tangent(), -0.0); // -1e-400 underflows
}

#[test]
fn log_sum_exp_propagates_nan_into_the_gradient() {
    for g in [
        forward::gradient(&LogSumExp, &[f64::NAN, 0.0]),
        reverse::gradient(&LogSumExp, &[f64::NAN, 0.0]),
    ] {
        assert!(g.iter().all(|v| v.is_nan()), "{g:?}");
    }
}

/// Σ xᵢ + √x_last over 11 inputs: the infinite partial of √ at 0 meets zero tangents in both
/// forward passes (8 + 3 directions).
struct SumPlusRootOfLast;
impl ScalarFn for SumPlusRootOfLast {
    fn eval<T: Scalar>(&self, x: &[T]) -> T {
        T::sum_of(x) + x[x.len() - 1].sqrt()
    }
}

/// Forward gradients multiply tangents plainly and redo a pass zero-safe when it comes out
/// NaN: every pass here needs the redo, and the result is the zero-safe (reverse-mode) one.
#[test]
fn forward_gradient_redoes_passes_that_meet_an_infinite_partial() {
    let mut x = vec![0.5; 11];
    x[10] = 0.0;
    let mut expected = vec![1.0; 11];
    expected[10] = f64::INFINITY;
    assert_eq!(forward::gradient(&SumPlusRootOfLast, &x), expected);
    assert_eq!(reverse::gradient(&SumPlusRootOfLast, &x), expected);
    // The plain type alone gives NaN where a zero tangent meets the infinite partial.
    let plain = trellis_ad::DualVec::<f64, 2, false>::new(0.0, [0.0, 1.0]).sqrt();
    assert!(plain.eps[0].is_nan());
    assert_eq!(plain.eps[1], f64::INFINITY);
    let zero_safe = trellis_ad::DualVec::<f64, 2>::new(0.0, [0.0, 1.0]).sqrt();
    assert_eq!(zero_safe.eps, [0.0, f64::INFINITY]);
}

/// A true NaN derivative stays NaN through the redo.
#[test]
fn forward_gradient_keeps_a_true_nan_derivative() {
    let mut x = vec![0.5; 11];
    x[10] = -1.0;
    let g = forward::gradient(&SumPlusRootOfLast, &x);
    assert!(g[10].is_nan());
    assert!(g[..10].iter().all(|&d| d == 1.0));
}
