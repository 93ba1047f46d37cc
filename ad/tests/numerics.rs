//! Numerical edge cases the issue names, in every mode.

use trellis_ad::{forward, reverse, Dual, Float, Scalar, ScalarFn};

struct Lse;
impl ScalarFn for Lse {
    fn eval<T: Scalar>(&self, x: &[T]) -> T {
        T::log_sum_exp(x)
    }
}

const NEG_INF: f64 = f64::NEG_INFINITY;

#[test]
fn log_sum_exp_of_all_neg_infinity_has_zero_gradient() {
    let x = [NEG_INF; 4];
    let (v, g) = reverse::value_and_gradient(&Lse, &x);
    assert_eq!(v, NEG_INF);
    assert_eq!(g, vec![0.0; 4]);
    let (v, g) = forward::value_and_gradient(&Lse, &x);
    assert_eq!(v, NEG_INF);
    assert_eq!(g, vec![0.0; 4]);
    assert_eq!(f64::log_sum_exp(&x), NEG_INF);
    assert_eq!(NEG_INF.log_add_exp(NEG_INF), NEG_INF);
    let (v, g) = forward::derivative(&Lse, NEG_INF);
    assert_eq!((v, g), (NEG_INF, 0.0));
}

/// Large equal inputs: the partials stay exactly 1/2 (no overflow in the exponentials).
#[test]
fn log_add_exp_partials_at_large_magnitudes() {
    assert_eq!(reverse::gradient(&Lae, &[1e15, 1e15]), vec![0.5, 0.5]);
    assert_eq!(forward::gradient(&Lae, &[1e15, 1e15]), vec![0.5, 0.5]);
}

#[test]
fn log_add_exp_of_neg_infinities_has_zero_gradient() {
    for mode in [
        reverse::value_and_gradient::<Lae>,
        forward::value_and_gradient::<Lae>,
    ] {
        let (v, g) = mode(&Lae, &[NEG_INF, NEG_INF]);
        assert_eq!(v, NEG_INF);
        assert_eq!(g, vec![0.0, 0.0]);
        let (v, g) = mode(&Lae, &[NEG_INF, 1.0]);
        assert_eq!(v, 1.0);
        assert_eq!(g, vec![0.0, 1.0]);
    }
}

#[test]
fn log_sum_exp_with_positive_infinity_is_infinite() {
    let x = [1.0, f64::INFINITY, 3.0];
    assert_eq!(f64::log_sum_exp(&x), f64::INFINITY);
    let (v, g) = reverse::value_and_gradient(&Lse, &x);
    assert_eq!(v, f64::INFINITY);
    assert_eq!(g, vec![0.0, 1.0, 0.0]);
    let (v, _) = forward::value_and_gradient(&Lse, &x);
    assert_eq!(v, f64::INFINITY);
}

#[test]
fn log_sum_exp_neither_overflows_nor_underflows() {
    let big = [700.0, 710.0, 705.0];
    let expected = 710.0 + (1.0 + (-10.0f64).exp() + (-5.0f64).exp()).ln();
    let (v, g) = reverse::value_and_gradient(&Lse, &big);
    assert!((v - expected).abs() < 1e-12, "{v}");
    let sum: f64 = g.iter().sum();
    assert!((sum - 1.0).abs() < 1e-15 && g.iter().all(|x| x.is_finite()));

    let tiny = [-1e5, -1e5 - 1.0, -1e5 + 2.0];
    let expected = -1e5 + 2.0 + (1.0 + (-2.0f64).exp() + (-3.0f64).exp()).ln();
    let (v, g) = reverse::value_and_gradient(&Lse, &tiny);
    assert!((v - expected).abs() < 1e-9, "{v}");
    assert!(g.iter().all(|&x| x > 0.0));
    let (vf, gf) = forward::value_and_gradient(&Lse, &tiny);
    assert_eq!(v, vf);
    for (a, b) in g.iter().zip(&gf) {
        assert!((a - b).abs() < 4.0 * f64::EPSILON, "{a} vs {b}");
    }
}

#[test]
fn softplus_is_exact_for_large_arguments() {
    assert_eq!(800.0f64.softplus(), 800.0);
    assert!(800.0f64.softplus().is_finite());
    let d = Dual::variable(800.0).softplus();
    assert_eq!((d.re, d.tangent()), (800.0, 1.0));
    assert_eq!((-800.0f64).softplus(), (-800.0f64).exp());
    assert!((0.0f64.softplus() - 2f64.ln()).abs() < 1e-16);
    assert_eq!((-800.0f64).log_logistic(), -800.0);
    assert_eq!(40.0f64.logistic(), 1.0 / (1.0 + (-40.0f64).exp()));
}

/// The documented conventions at kinks: abs'(0) = 0; max/min split a tie evenly.
#[test]
fn derivatives_at_ties_follow_the_documented_convention() {
    assert_eq!(Dual::variable(0.0).abs().tangent(), 0.0);
    let x = Dual::variable(2.0);
    assert_eq!(x.max(x).tangent(), 1.0);
    assert_eq!(x.max(Dual::constant(2.0)).tangent(), 0.5);
    assert_eq!(x.min(Dual::constant(2.0)).tangent(), 0.5);
    assert_eq!(x.max(Dual::constant(1.0)).tangent(), 1.0);
    assert_eq!(x.min(Dual::constant(1.0)).tangent(), 0.0);

    struct Relu;
    impl ScalarFn for Relu {
        fn eval<T: Scalar>(&self, x: &[T]) -> T {
            x[0].max(T::constant(0.0)) + x[1].abs()
        }
    }
    assert_eq!(reverse::gradient(&Relu, &[0.0, 0.0]), vec![0.5, 0.0]);
}

#[test]
fn powf_with_constant_exponent_on_negative_base_keeps_tangent_finite() {
    let x = Dual::variable(-2.0);
    let y = x.powf(Dual::constant(2.0));
    assert_eq!((y.re, y.tangent()), (4.0, -4.0));
}

/// `log_add_exp` of two inputs (for the `log_add_exp` tests above).
struct Lae;
impl ScalarFn for Lae {
    fn eval<T: Scalar>(&self, x: &[T]) -> T {
        x[0].log_add_exp(x[1])
    }
}
