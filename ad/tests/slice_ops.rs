//! The one-node operations `sum_of_squares`, `sum_log_logistic`, `log_sum_exp_of_sums` and
//! `normal_ln_pdf`: value, gradient and
//! Hessian in every mode (`f64`, `Var`, `DualVec`, nested duals, forward and reverse
//! Hessians, Hessian-vector products through `Dual<Var>`) against closed forms, including
//! points where the logistic saturates. (Forward = reverse = finite differences at random
//! points is in `derivatives.rs`.)

use trellis_ad::{reverse, Recording, Scalar, ScalarFn, Var};

use crate::modes;
use modes::{close, every_mode, every_mode_full, logistic};

/// ln σ(x) = -ln(1 + e^{-x}), stably.
fn log_logistic(x: f64) -> f64 {
    if x >= 0.0 {
        -(-x).exp().ln_1p()
    } else {
        x - x.exp().ln_1p()
    }
}

struct SumOfSquares;
impl ScalarFn for SumOfSquares {
    fn eval<T: Scalar>(&self, x: &[T]) -> T {
        T::sum_of_squares(x)
    }
}

struct SumLogLogistic;
impl ScalarFn for SumLogLogistic {
    fn eval<T: Scalar>(&self, x: &[T]) -> T {
        T::sum_log_logistic(x)
    }
}

#[test]
fn sum_of_squares_in_every_mode() {
    let x = [0.5, -3.0, 1e150, 0.0, -1e-200];
    let value = 0.25 + 9.0 + 1e300 + 0.0 + 0.0;
    let grad: Vec<f64> = x.iter().map(|v| 2.0 * v).collect();
    every_mode(&SumOfSquares, &x, value, &grad, &[2.0; 5]);
}

#[test]
fn sum_log_logistic_in_every_mode() {
    // Moderate points, a tiny one, and both saturated tails.
    let x = [0.3, -2.0, 1e-18, 40.0, -800.0, 800.0];
    let value: f64 = x.iter().map(|&v| log_logistic(v)).sum();
    let grad: Vec<f64> = x.iter().map(|&v| logistic(-v)).collect();
    let hess: Vec<f64> = x.iter().map(|&v| -logistic(v) * logistic(-v)).collect();
    every_mode(&SumLogLogistic, &x, value, &grad, &hess);
    // The tails themselves: ln σ(-800) = -800 with slope 1; ln σ(800) = -e^{-800} = 0⁻.
    let (v, g) = reverse::value_and_gradient(&SumLogLogistic, &[-800.0]);
    assert_eq!((v, g[0]), (-800.0, 1.0));
    let (v, g) = reverse::value_and_gradient(&SumLogLogistic, &[800.0]);
    assert_eq!((v, g[0]), (0.0, 0.0));
}

/// Each operation is one tape node whatever the slice length; constants add no operands.
#[test]
fn slice_operations_record_one_node() {
    let rec = Recording::start();
    let mut x: Vec<Var> = (0..50).map(|i| rec.input(i as f64 * 0.1)).collect();
    x.push(Var::constant(2.0));
    let before = rec.len();
    let squares = Var::sum_of_squares(&x);
    let logs = Var::sum_log_logistic(&x);
    assert_eq!(rec.len() - before, 2);
    assert_eq!(
        squares.value(),
        x.iter().map(|v| v.value() * v.value()).sum::<f64>()
    );
    let grad = rec.gradient(squares + logs, &x[..50]);
    for (i, g) in grad.iter().enumerate() {
        let v = i as f64 * 0.1;
        close(*g, 2.0 * v + logistic(-v), 1e-15, "combined gradient");
    }
    // All-constant slices record nothing.
    let constants = [Var::constant(1.0), Var::constant(-1.0)];
    let before = rec.len();
    let c = Var::sum_log_logistic(&constants);
    assert!(c.is_constant());
    assert_eq!(rec.len(), before);
    close(
        c.value(),
        log_logistic(1.0) + log_logistic(-1.0),
        1e-15,
        "constant value",
    );
}

/// `ln Σ exp(xᵢ + yᵢ)` over the first and second halves of the input.
struct LogSumExpOfSums;
impl ScalarFn for LogSumExpOfSums {
    fn eval<T: Scalar>(&self, x: &[T]) -> T {
        let half = x.len() / 2;
        T::log_sum_exp_of_sums(&x[..half], &x[half..])
    }
}

#[test]
fn log_sum_exp_of_sums_in_every_mode() {
    // Sums near ±1e5 (where shifting matters) and an ordinary spread.
    for x in [
        vec![0.3, -1.2, 2.0, 0.5, 0.1, -0.7],
        vec![-1e5, -1e5 - 1.0, 3.0, 0.0, 0.5, -3.5],
        vec![1e5, 2.0, -0.5, -1e5 + 1.0, 1e5, 0.25],
    ] {
        let n = x.len() / 2;
        let sums: Vec<f64> = (0..n).map(|i| x[i] + x[n + i]).collect();
        let max = sums.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let total: f64 = sums.iter().map(|s| (s - max).exp()).sum();
        let value = max + total.ln();
        let w: Vec<f64> = sums.iter().map(|s| (s - max).exp() / total).collect();
        let grad: Vec<f64> = (0..2 * n).map(|i| w[i % n]).collect();
        // ∂²/∂sᵢ∂sⱼ = wᵢ δᵢⱼ − wᵢ wⱼ, the same for x and y entries.
        let hess = |i: usize, j: usize| {
            let (a, b) = (i % n, j % n);
            (if a == b { w[a] } else { 0.0 }) - w[a] * w[b]
        };
        every_mode_full(&LogSumExpOfSums, &x, value, &grad, &hess);
    }
    // One node over both slices.
    let rec = Recording::start();
    let v: Vec<Var> = (0..6).map(|i| rec.input(i as f64)).collect();
    let before = rec.len();
    let _ = Var::log_sum_exp_of_sums(&v[..3], &v[3..]);
    assert_eq!(rec.len() - before, 1);
}

/// `ln N(0.7; μ, σ)` of `(μ, σ)`.
struct NormalLnPdf;
impl ScalarFn for NormalLnPdf {
    fn eval<T: Scalar>(&self, x: &[T]) -> T {
        T::normal_ln_pdf(0.7, x[0], x[1])
    }
}

#[test]
fn normal_ln_pdf_in_every_mode() {
    for (mean, sd) in [(0.2, 1.3), (-4.0, 0.05), (0.7, 2.0), (1e3, 10.0)] {
        let z: f64 = (mean - 0.7) / sd;
        let value = -0.5 * z * z - sd.ln() - 0.918_938_533_204_672_8;
        let grad = [-z / sd, (z * z - 1.0) / sd];
        let h = [
            -1.0 / (sd * sd),
            2.0 * z / (sd * sd),
            2.0 * z / (sd * sd),
            (1.0 - 3.0 * z * z) / (sd * sd),
        ];
        every_mode_full(&NormalLnPdf, &[mean, sd], value, &grad, &|i, j| {
            h[2 * i + j]
        });
    }
    let rec = Recording::start();
    let (m, s) = (rec.input(0.1), rec.input(2.0));
    let before = rec.len();
    let _ = Var::normal_ln_pdf(1.0, m, s);
    assert_eq!(rec.len() - before, 1);
}
