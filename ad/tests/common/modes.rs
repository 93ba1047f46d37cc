//! Checks of one function in every mode (`f64`, `Var`, `DualVec`, nested duals, forward and
//! reverse Hessians, Hessian-vector products through `Dual<Var>`) against closed forms,
//! shared by the tests of the one-node operations.

#![allow(dead_code)]

use proptest::test_runner::TestCaseError;
use trellis_ad::{check_gradient, forward, reverse, Dual, GradientCheck, Scalar, ScalarFn};

/// Forward mode = reverse mode = finite differences at `x` (the default checker), as a
/// proptest result.
pub fn check(f: &impl ScalarFn, x: &[f64]) -> Result<(), TestCaseError> {
    check_gradient(f, x, &GradientCheck::default())
        .map(|_| ())
        .map_err(|e| TestCaseError::fail(e.to_string()))
}

/// σ(x), stably, as the closed forms need it.
pub fn logistic(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// `a` within `rel` (relative) of `b`, or both equal (covers infinities and zeros).
pub fn close(a: f64, b: f64, rel: f64, what: &str) {
    assert!(
        a == b || (a - b).abs() <= rel * b.abs().max(f64::MIN_POSITIVE),
        "{what}: {a} vs {b}"
    );
}

/// Checks `f` at `x` in every mode against the value, gradient and Hessian diagonal given
/// (for operations with diagonal Hessians).
pub fn every_mode(f: &impl ScalarFn, x: &[f64], value: f64, grad: &[f64], hess_diag: &[f64]) {
    let hess = |i: usize, j: usize| if i == j { hess_diag[i] } else { 0.0 };
    every_mode_full(f, x, value, grad, &hess);
}

/// Checks `f` at `x` in every mode against the value, gradient and Hessian given.
pub fn every_mode_full(
    f: &impl ScalarFn,
    x: &[f64],
    value: f64,
    grad: &[f64],
    hess: &dyn Fn(usize, usize) -> f64,
) {
    every_mode_within(f, x, value, grad, hess, 1e-15);
}

/// [`every_mode_full`] with relative tolerance `rel` for values and gradients and `10 rel`
/// for second derivatives (for sums whose modes round in different orders).
pub fn every_mode_within(
    f: &impl ScalarFn,
    x: &[f64],
    value: f64,
    grad: &[f64],
    hess: &dyn Fn(usize, usize) -> f64,
    rel: f64,
) {
    let rel2 = 10.0 * rel;
    let n = x.len();
    close(f.eval(x), value, rel, "f64 value");
    let (v, g) = reverse::value_and_gradient(f, x);
    close(v, value, rel, "reverse value");
    let (vf, gf) = forward::value_and_gradient(f, x);
    close(vf, value, rel, "forward value");
    for i in 0..n {
        close(g[i], grad[i], rel, "reverse gradient");
        close(gf[i], grad[i], rel, "forward gradient");
    }
    let hf = forward::hessian(f, x);
    let hr = reverse::hessian(f, x);
    for i in 0..n {
        for j in 0..n {
            let expected = hess(i, j);
            close(hf[[i, j]], expected, rel2, "forward Hessian");
            close(hr[[i, j]], expected, rel2, "reverse Hessian");
        }
    }
    // Nested duals: the second derivative along coordinate 0.
    let mut nested: Vec<Dual<Dual<f64>>> = x.iter().map(|&v| Dual::constant(v)).collect();
    nested[0] = Dual::new(Dual::new(x[0], [1.0]), [Dual::constant(1.0)]);
    let y = f.eval(&nested);
    close(y.re.re, value, rel, "nested value");
    close(y.eps[0].re, grad[0], rel, "nested first derivative");
    close(
        y.eps[0].eps[0],
        hess(0, 0),
        rel2,
        "nested second derivative",
    );
    // Forward over reverse by hand: a Hessian-vector product along e₀ with Dual<Var>.
    let hv = reverse::hvp(f, x, &{
        let mut e = vec![0.0; n];
        e[0] = 1.0;
        e
    });
    for (i, h) in hv.iter().enumerate() {
        close(*h, hess(i, 0), rel2, "hvp");
    }
}
