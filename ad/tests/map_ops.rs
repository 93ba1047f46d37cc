//! `Scalar::sum_map` (an elementwise function summed over slices, one tape node) and
//! `Scalar::sum_log_logistic_of_linear` (a logistic-regression log-likelihood, one node):
//! value, gradient and Hessian in every mode against closed forms, one node each, the
//! argument checks, and forward = reverse = finite differences at random points.

use proptest::prelude::*;
use trellis_ad::{reverse, ElementwiseFn, MapArg, Recording, Scalar, ScalarFn, Var};

use crate::modes;
use modes::{check, close, every_mode_within, logistic};

/// One Rosenbrock term `100 (b - a²)² + (1 - a)²`, with hand-written partials.
struct RosenbrockTerm;
impl ElementwiseFn<2> for RosenbrockTerm {
    fn eval<T: Scalar>(&self, [a, b]: [T; 2]) -> T {
        let r = b - a * a;
        let s = -a + 1.0;
        r * r * 100.0 + s * s
    }
    fn value_and_partials(&self, [a, b]: [f64; 2]) -> (f64, [f64; 2]) {
        let r = b - a * a;
        let s = 1.0 - a;
        (r * r * 100.0 + s * s, [-400.0 * r * a - 2.0 * s, 200.0 * r])
    }
}

/// The same term with the default (dual-number) partials.
struct RosenbrockTermByDuals;
impl ElementwiseFn<2> for RosenbrockTermByDuals {
    fn eval<T: Scalar>(&self, args: [T; 2]) -> T {
        RosenbrockTerm.eval(args)
    }
}

/// Extended Rosenbrock `Σᵢ term(xᵢ, xᵢ₊₁)` as one `sum_map`.
struct Rosenbrock<F>(F);
impl<F: ElementwiseFn<2>> ScalarFn for Rosenbrock<F> {
    fn eval<T: Scalar>(&self, x: &[T]) -> T {
        let n = x.len();
        T::sum_map(&self.0, [MapArg::Each(&x[..n - 1]), MapArg::Each(&x[1..])])
    }
}

/// Rosenbrock's value, gradient and (tridiagonal) Hessian, by hand.
fn rosenbrock_closed_form(x: &[f64]) -> (f64, Vec<f64>, Vec<Vec<f64>>) {
    let n = x.len();
    let (mut value, mut grad, mut hess) = (0.0, vec![0.0; n], vec![vec![0.0; n]; n]);
    for i in 0..n - 1 {
        let (a, b) = (x[i], x[i + 1]);
        let r = b - a * a;
        value += 100.0 * r * r + (1.0 - a) * (1.0 - a);
        grad[i] += -400.0 * r * a - 2.0 * (1.0 - a);
        grad[i + 1] += 200.0 * r;
        hess[i][i] += 1200.0 * a * a - 400.0 * b + 2.0;
        hess[i + 1][i + 1] += 200.0;
        hess[i][i + 1] -= 400.0 * a;
        hess[i + 1][i] -= 400.0 * a;
    }
    (value, grad, hess)
}

#[test]
fn sum_map_rosenbrock_in_every_mode() {
    for x in [vec![0.5, -1.25, 2.0, 0.75], vec![-3.0, 1e-3, 10.0]] {
        let (value, grad, hess) = rosenbrock_closed_form(&x);
        let h = |i: usize, j: usize| hess[i][j];
        every_mode_within(&Rosenbrock(RosenbrockTerm), &x, value, &grad, &h, 1e-13);
        every_mode_within(
            &Rosenbrock(RosenbrockTermByDuals),
            &x,
            value,
            &grad,
            &h,
            1e-13,
        );
    }
}

/// A group's terms `-ηⱼ²/2 - zⱼ²/2`, `zⱼ = (μ + τηⱼ - yⱼ)/σⱼ`, of `(ηⱼ, μ, τ, yⱼ, σⱼ)`;
/// default partials.
struct GroupTerm;
impl ElementwiseFn<5> for GroupTerm {
    fn eval<T: Scalar>(&self, [eta, mu, tau, y, s]: [T; 5]) -> T {
        let z = (mu + tau * eta - y) / s;
        -(eta * eta) * 0.5 - z * z * 0.5
    }
}

const Y: [f64; 3] = [1.5, -0.25, 3.0];
const SIGMA: [f64; 3] = [0.5, 2.0, 1.25];

/// `Σⱼ GroupTerm(ηⱼ, μ, τ, yⱼ, σⱼ)` of `(μ, τ, η₁, η₂, η₃)`: broadcast parameters and data.
struct Groups;
impl ScalarFn for Groups {
    fn eval<T: Scalar>(&self, x: &[T]) -> T {
        T::sum_map(
            &GroupTerm,
            [
                MapArg::Each(&x[2..]),
                MapArg::All(x[0]),
                MapArg::All(x[1]),
                MapArg::Data(&Y),
                MapArg::Data(&SIGMA),
            ],
        )
    }
}

#[test]
fn sum_map_with_broadcasts_and_data_in_every_mode() {
    let x = [0.3, 1.7, -0.4, 0.9, 0.2];
    let (mu, tau) = (x[0], x[1]);
    let mut value = 0.0;
    let mut grad = vec![0.0; 5];
    // ∇zⱼ over (μ, τ, η…): (1, ηⱼ, …, τ at ηⱼ, …)/σⱼ; the only second derivative of zⱼ is
    // ∂²zⱼ/∂τ∂ηⱼ = 1/σⱼ.
    let mut hess = vec![vec![0.0; 5]; 5];
    for j in 0..3 {
        let (eta, s) = (x[2 + j], SIGMA[j]);
        let z = (mu + tau * eta - Y[j]) / s;
        value += -0.5 * eta * eta - 0.5 * z * z;
        let mut dz = [0.0; 5];
        dz[0] = 1.0 / s;
        dz[1] = eta / s;
        dz[2 + j] = tau / s;
        for a in 0..5 {
            grad[a] -= z * dz[a];
            for b in 0..5 {
                hess[a][b] -= dz[a] * dz[b];
            }
        }
        grad[2 + j] -= eta;
        hess[2 + j][2 + j] -= 1.0;
        hess[1][2 + j] -= z / s;
        hess[2 + j][1] -= z / s;
    }
    every_mode_within(&Groups, &x, value, &grad, &|i, j| hess[i][j], 1e-13);
}

/// Whatever the length, `sum_map` is one node; constants add no operands, and all-constant
/// arguments record nothing.
#[test]
fn sum_map_records_one_node() {
    let rec = Recording::start();
    let mut x: Vec<Var> = (0..40).map(|i| rec.input(i as f64 * 0.05)).collect();
    x[7] = Var::constant(0.35);
    let (mu, tau) = (rec.input(0.3), Var::constant(1.7));
    let before = rec.len();
    let f = Var::sum_map(
        &RosenbrockTerm,
        [MapArg::Each(&x[..39]), MapArg::Each(&x[1..])],
    );
    let data = vec![0.5; 40];
    let g = Var::sum_map(
        &GroupTerm,
        [
            MapArg::Each(&x),
            MapArg::All(mu),
            MapArg::All(tau),
            MapArg::Data(&data),
            MapArg::Data(&data),
        ],
    );
    assert_eq!(rec.len() - before, 2);
    let values: Vec<f64> = x.iter().map(|v| v.value()).collect();
    let (value, grad, _) = rosenbrock_closed_form(&values);
    close(f.value(), value, 1e-14, "value");
    let got = rec.gradient(f, &x);
    for i in (0..40).filter(|&i| i != 7) {
        close(got[i], grad[i], 1e-13, "gradient");
    }
    assert_eq!(got[7], 0.0);
    // The broadcast μ got the sum of its partials: Σⱼ -zⱼ/σⱼ.
    let d_mu: f64 = values
        .iter()
        .map(|eta| -((0.3 + 1.7 * eta - 0.5) / 0.5) / 0.5)
        .sum();
    close(rec.gradient(g, &[mu])[0], d_mu, 1e-13, "broadcast gradient");
    let constants = [Var::constant(1.0), Var::constant(2.0)];
    let before = rec.len();
    let c = Var::sum_map(
        &RosenbrockTerm,
        [MapArg::Each(&constants[..1]), MapArg::Each(&constants[1..])],
    );
    assert!(c.is_constant());
    assert_eq!(rec.len(), before);
    assert_eq!(c.value(), 100.0);
}

#[test]
#[should_panic(expected = "sum_map: slice arguments of different lengths")]
fn sum_map_rejects_unequal_slices() {
    let x = [1.0, 2.0, 3.0];
    let _ = f64::sum_map(&RosenbrockTerm, [MapArg::Each(&x[..2]), MapArg::Data(&x)]);
}

#[test]
#[should_panic(expected = "sum_map: at least one argument must be a slice")]
fn sum_map_needs_a_slice() {
    let _ = reverse::value_and_gradient(&NoSlice, &[1.0, 2.0]);
}

struct NoSlice;
impl ScalarFn for NoSlice {
    fn eval<T: Scalar>(&self, x: &[T]) -> T {
        T::sum_map(&RosenbrockTerm, [MapArg::All(x[0]), MapArg::All(x[1])])
    }
}

/// A 4 × 3 design; the last two rows saturate the logistic at the test point (η = ±800).
fn design(saturated: bool) -> Vec<f64> {
    let mut d = vec![0.5, -1.0, 2.0, -0.3, 0.8, 0.1];
    if saturated {
        d.extend([800.0, 0.0, 0.0, -800.0, 0.0, 0.0]);
    }
    d
}

struct LogisticLinear(Vec<f64>);
impl ScalarFn for LogisticLinear {
    fn eval<T: Scalar>(&self, beta: &[T]) -> T {
        T::sum_log_logistic_of_linear(&self.0, beta)
    }
}

/// The same, written row by row with `weighted_sum` and `sum_log_logistic`.
struct LogisticRows(Vec<f64>);
impl ScalarFn for LogisticRows {
    fn eval<T: Scalar>(&self, beta: &[T]) -> T {
        let etas: Vec<T> = self
            .0
            .chunks(beta.len())
            .map(|row| T::weighted_sum(beta, row))
            .collect();
        T::sum_log_logistic(&etas)
    }
}

#[test]
fn sum_log_logistic_of_linear_in_every_mode() {
    for saturated in [false, true] {
        let x = design(saturated);
        let beta = [1.0, 0.4, -0.7];
        let rows: Vec<&[f64]> = x.chunks(3).collect();
        let eta: Vec<f64> = rows
            .iter()
            .map(|r| r.iter().zip(&beta).map(|(a, b)| a * b).sum())
            .collect();
        // ln σ(η) = -ln(1 + e^{-η}); at η = 800 that is -e^{-800} = -0, at -800 it is -800.
        let value: f64 = eta
            .iter()
            .map(|&e| {
                if e >= 0.0 {
                    -(-e).exp().ln_1p()
                } else {
                    e - e.exp().ln_1p()
                }
            })
            .sum();
        let mut grad = vec![0.0; 3];
        let mut hess = vec![vec![0.0; 3]; 3];
        for (r, &e) in rows.iter().zip(&eta) {
            for a in 0..3 {
                grad[a] += logistic(-e) * r[a];
                for b in 0..3 {
                    hess[a][b] -= logistic(e) * logistic(-e) * r[a] * r[b];
                }
            }
        }
        let f = LogisticLinear(x.clone());
        every_mode_within(&f, &beta, value, &grad, &|i, j| hess[i][j], 1e-14);
        // The same value, to the bit, as the row-by-row form, in plain and reverse mode.
        assert_eq!(f.eval(&beta), LogisticRows(x.clone()).eval(&beta));
        let (v, g) = reverse::value_and_gradient(&f, &beta);
        let (rv, rg) = reverse::value_and_gradient(&LogisticRows(x), &beta);
        assert_eq!(v, rv);
        for (a, b) in g.iter().zip(&rg) {
            close(*a, *b, 1e-14, "row-by-row gradient");
        }
    }
}

#[test]
fn sum_log_logistic_of_linear_is_one_node() {
    let rec = Recording::start();
    let beta: Vec<Var> = (0..3).map(|i| rec.input(0.1 * i as f64)).collect();
    let before = rec.len();
    let _ = Var::sum_log_logistic_of_linear(&design(true), &beta);
    assert_eq!(rec.len() - before, 1);
}

#[test]
#[should_panic(expected = "not a whole number of rows of 4 coefficients")]
fn sum_log_logistic_of_linear_rejects_a_ragged_design() {
    let _ = f64::sum_log_logistic_of_linear(&design(false), &[1.0; 4]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Forward = reverse = finite differences, for hand-written and default partials.
    #[test]
    fn sum_map_agrees(x in proptest::collection::vec(-3.0f64..3.0, 2..10)) {
        check(&Rosenbrock(RosenbrockTerm), &x)?;
        check(&Rosenbrock(RosenbrockTermByDuals), &x)?;
    }

    #[test]
    fn sum_map_with_broadcasts_agrees(x in proptest::collection::vec(-3.0f64..3.0, 5)) {
        check(&Groups, &x)?;
    }

    #[test]
    fn sum_log_logistic_of_linear_agrees(
        beta in proptest::collection::vec(-3.0f64..3.0, 3),
        design in proptest::collection::vec(-5.0f64..5.0, 3..30),
    ) {
        let rows = design.len() / 3;
        check(&LogisticLinear(design[..3 * rows].to_vec()), &beta)?;
    }

    /// Hand-written partials are what the default (dual-number) partials give.
    #[test]
    fn hand_partials_match_default(a in -10.0f64..10.0, b in -10.0f64..10.0) {
        let (v, d) = RosenbrockTerm.value_and_partials([a, b]);
        let (w, e) = RosenbrockTermByDuals.value_and_partials([a, b]);
        prop_assert_eq!(v, w);
        for (x, y) in d.iter().zip(&e) {
            prop_assert!((x - y).abs() <= 1e-12 * (1.0 + y.abs()), "{} vs {}", x, y);
        }
    }
}
