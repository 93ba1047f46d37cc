//! The custom-operation API: user-supplied value and gradient as one tape node, mixed with
//! ordinary arithmetic, checked by finite differences.

use proptest::prelude::*;
use trellis_ad::{
    check_gradient, reverse, testing, GradientCheck, Recording, Scalar, ScalarFn, Var,
};

/// log ∫ of a softmax-weighted quadratic, with a hand-written gradient: stands in for a
/// function computed by another library.
fn external_value_and_grad(x: &[f64], grad: &mut [f64]) -> f64 {
    let lse = f64::log_sum_exp(x);
    let q: f64 = x.iter().map(|v| v * v).sum();
    for (g, v) in grad.iter_mut().zip(x) {
        *g = (v - lse).exp() + 2.0 * v;
    }
    lse + q
}

struct WithCustom;
impl ScalarFn for WithCustom {
    fn eval<T: Scalar>(&self, x: &[T]) -> T {
        let values: Vec<f64> = x.iter().map(|v| v.value()).collect();
        let mut grad = vec![0.0; x.len()];
        let value = external_value_and_grad(&values, &mut grad);
        let wrapped = T::custom(x, value, &grad);
        // Mixed freely with ordinary arithmetic on both sides.
        (wrapped * x[0] * 0.1).sin() + wrapped.sqrt() * 0.5 - x[1] * x[2]
    }
}

/// The same function without the custom node.
struct Plain;
impl ScalarFn for Plain {
    fn eval<T: Scalar>(&self, x: &[T]) -> T {
        let q = T::dot(x, x);
        let wrapped = T::log_sum_exp(x) + q;
        (wrapped * x[0] * 0.1).sin() + wrapped.sqrt() * 0.5 - x[1] * x[2]
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn custom_node_gradient_matches_finite_differences(x in testing::bounded_vec(4, 2.0)) {
        check_gradient(&WithCustom, &x, &GradientCheck::default())
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let custom = reverse::gradient(&WithCustom, &x);
        let plain = reverse::gradient(&Plain, &x);
        for (a, b) in custom.iter().zip(&plain) {
            prop_assert!((a - b).abs() <= 1e-10 * (1.0 + b.abs()), "{a} vs {b}");
        }
    }
}

#[test]
fn custom_op_closure_records_one_node() {
    let rec = Recording::start();
    let x: Vec<Var> = [0.5, -1.0, 2.0].iter().map(|&v| rec.input(v)).collect();
    let before = rec.len();
    let y = Var::custom_op(&x, external_value_and_grad);
    assert_eq!(
        rec.len() - before,
        1,
        "one node for the whole custom operation"
    );
    let z = y * 2.0 + x[0];
    let grad = rec.gradient(z, &x);
    let mut expected = [0.0; 3];
    external_value_and_grad(&[0.5, -1.0, 2.0], &mut expected);
    assert!((grad[0] - (2.0 * expected[0] + 1.0)).abs() < 1e-12);
    assert!((grad[1] - 2.0 * expected[1]).abs() < 1e-12);
    assert!((grad[2] - 2.0 * expected[2]).abs() < 1e-12);
}

#[test]
fn fused_nodes_are_single_nodes() {
    let rec = Recording::start();
    let x: Vec<Var> = (0..10).map(|i| rec.input(i as f64)).collect();
    let before = rec.len();
    let _ = Var::log_sum_exp(&x);
    let _ = Var::sum_of(&x);
    let _ = Var::dot(&x[..5], &x[5..]);
    let _ = Var::weighted_sum(&x, &[1.0; 10]);
    assert_eq!(rec.len() - before, 4);
}

#[test]
fn tape_is_reused_without_growing() {
    let x: Vec<f64> = (0..50).map(|i| (i as f64 * 0.37).sin()).collect();
    let mut grad = vec![0.0; x.len()];
    reverse::value_and_gradient_into(&Plain, &x, &mut grad);
    let warm = trellis_ad::tape_capacity();
    for _ in 0..20 {
        reverse::value_and_gradient_into(&Plain, &x, &mut grad);
    }
    assert_eq!(trellis_ad::tape_capacity(), warm);
}

#[test]
fn recordings_nest() {
    // A gradient taken inside a function being differentiated.
    struct Outer;
    impl ScalarFn for Outer {
        fn eval<T: Scalar>(&self, x: &[T]) -> T {
            let inner = reverse::gradient(&Plain, &[x[0].value(), 0.5, -0.25]);
            x[0] * inner[0] + x[1]
        }
    }
    let g = reverse::gradient(&Outer, &[0.3, 1.0]);
    let inner = reverse::gradient(&Plain, &[0.3, 0.5, -0.25]);
    assert!((g[0] - inner[0]).abs() < 1e-15);
    assert_eq!(g[1], 1.0);
}

/// `v ± c` shares `v`'s node (its adjoint is `v`'s): nothing recorded, gradients exact.
#[test]
fn constant_shifts_record_no_node() {
    let rec = Recording::start();
    let x = rec.input(1.5);
    let y = x * x;
    let before = rec.len();
    let shifted = (y + 2.0) - 0.5 + 0.25;
    let flipped = 3.0 + x;
    assert_eq!(rec.len(), before, "no node for a constant shift");
    assert_eq!(shifted.value(), 2.25 + 1.75);
    let out = shifted * flipped;
    // d/dx (x² + 1.75)(3 + x) = 2x(3 + x) + x² + 1.75.
    let expected = 2.0 * 1.5 * 4.5 + 2.25 + 1.75;
    assert_eq!(rec.gradient(out, &[x]), vec![expected]);
}
