//! Second derivatives: nested duals, forward-over-reverse HVPs and both Hessian helpers,
//! against analytic Hessians and finite differences of the gradient.

use proptest::prelude::*;
use trellis_ad::{forward, reverse, Dual, Float, Scalar, ScalarFn};

/// Extended Rosenbrock, `Σ 100 (xᵢ₊₁ − xᵢ²)² + (1 − xᵢ)²`: the benchmarks' copy.
use crate::gradient_functions;
use gradient_functions::Rosenbrock;

fn rosenbrock_hessian(x: &[f64]) -> Vec<Vec<f64>> {
    let n = x.len();
    let mut h = vec![vec![0.0; n]; n];
    for i in 0..n - 1 {
        h[i][i] += 1200.0 * x[i] * x[i] - 400.0 * x[i + 1] + 2.0;
        h[i][i + 1] += -400.0 * x[i];
        h[i + 1][i] += -400.0 * x[i];
        h[i + 1][i + 1] += 200.0;
    }
    h
}

/// A function with dense mixed partials and special functions.
struct Mixed;
impl ScalarFn for Mixed {
    fn eval<T: Scalar>(&self, x: &[T]) -> T {
        let s = T::log_sum_exp(x);
        s * x[0].sin()
            + (x[1] * x[2]).exp() * 0.1
            + (x[2].exp() + 1.0).ln_gamma()
            + x[0].logistic() * x[1]
    }
}

/// Central differences of the reverse-mode gradient: column j of the Hessian.
fn fd_hessian(f: &impl ScalarFn, x: &[f64]) -> Vec<Vec<f64>> {
    let n = x.len();
    let mut h = vec![vec![0.0; n]; n];
    for j in 0..n {
        let step = 1e-5 * x[j].abs().max(1.0);
        let mut xp = x.to_vec();
        let mut xm = x.to_vec();
        xp[j] += step;
        xm[j] -= step;
        let gp = reverse::gradient(f, &xp);
        let gm = reverse::gradient(f, &xm);
        for i in 0..n {
            h[i][j] = (gp[i] - gm[i]) / (2.0 * step);
        }
    }
    h
}

fn assert_close(a: f64, b: f64, rel: f64, abs: f64, what: &str) -> Result<(), TestCaseError> {
    prop_assert!(
        (a - b).abs() <= abs + rel * a.abs().max(b.abs()),
        "{what}: {a} vs {b}"
    );
    Ok(())
}

#[test]
fn rosenbrock_hessian_is_exact_in_both_modes() {
    let x = [0.3, -1.2, 0.8, 2.0, -0.5];
    let exact = rosenbrock_hessian(&x);
    let fwd = forward::hessian(&Rosenbrock, &x);
    let rev = reverse::hessian(&Rosenbrock, &x);
    for i in 0..x.len() {
        for j in 0..x.len() {
            assert!(
                (fwd[[i, j]] - exact[i][j]).abs() < 1e-10,
                "forward H[{i},{j}]"
            );
            assert!(
                (rev[[i, j]] - exact[i][j]).abs() < 1e-10,
                "reverse H[{i},{j}]"
            );
        }
    }
}

#[test]
fn hvp_matches_hessian_times_vector() {
    let x = [0.4, -0.3, 1.1];
    let v = [0.7, -2.0, 0.25];
    let h = forward::hessian(&Mixed, &x);
    let hv = reverse::hvp(&Mixed, &x, &v);
    for i in 0..3 {
        let expected: f64 = (0..3).map(|j| h[[i, j]] * v[j]).sum();
        assert!(
            (hv[i] - expected).abs() < 1e-10 * (1.0 + expected.abs()),
            "{i}"
        );
    }
}

/// f(x) = x³ ln x: f'' = 6x ln x + 5x.
#[test]
fn nested_dual_second_derivative_is_analytic() {
    let x = 1.7f64;
    let d = Dual::new(Dual::new(x, [1.0]), [Dual::constant(1.0)]);
    let y = d.powi(3) * d.ln();
    let second = y.eps[0].eps[0];
    assert!((second - (6.0 * x * x.ln() + 5.0 * x)).abs() < 1e-12);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Nested duals (`forward::hessian`), forward-over-reverse (`reverse::hessian`) and
    /// finite differences of the gradient agree. FD of the gradient with h = 1e-5 has error
    /// O(h²·f⁗) + O(ε/h) ≈ 1e-9 relative here; 1e-6 leaves ample margin.
    #[test]
    fn hessians_agree(x in proptest::collection::vec(-1.5f64..1.5, 3)) {
        let fwd = forward::hessian(&Mixed, &x);
        let rev = reverse::hessian(&Mixed, &x);
        let fd = fd_hessian(&Mixed, &x);
        for i in 0..3 {
            for j in 0..3 {
                assert_close(fwd[[i, j]], rev[[i, j]], 1e-11, 1e-11, "forward vs reverse")?;
                assert_close(fwd[[i, j]], fd[i][j], 1e-6, 1e-6, "forward vs finite differences")?;
                assert_close(fwd[[i, j]], fwd[[j, i]], 1e-12, 1e-12, "symmetry")?;
            }
        }
    }

    /// Second derivatives of the special functions through `Dual<Dual<f64>>`: the derivative
    /// of the first derivative, checked by central differences of the first derivative.
    #[test]
    fn nested_duals_differentiate_special_functions(u in 0.0f64..1.0) {
        let x = 0.2 + 8.0 * u;
        type D2 = Dual<Dual<f64>>;
        type Case = (&'static str, fn(D2) -> D2);
        let funcs: [Case; 5] = [
            ("ln_gamma", |x| x.ln_gamma()),
            ("digamma", |x| x.digamma()),
            ("log_norm_cdf", |x| (x - 4.0).log_norm_cdf()),
            ("softplus∘sin", |x| x.sin().softplus()),
            ("erfc", |x| (x * 0.3).erfc()),
        ];
        for (name, f) in funcs {
            let second = |x: f64| f(Dual::new(Dual::new(x, [1.0]), [Dual::constant(1.0)])).eps[0].eps[0];
            let first = |x: f64| f(Dual::new(Dual::new(x, [1.0]), [Dual::constant(0.0)])).re.eps[0];
            let h = 1e-5;
            let fd = (first(x + h) - first(x - h)) / (2.0 * h);
            assert_close(second(x), fd, 1e-6, 1e-7, name)?;
        }
    }
}
