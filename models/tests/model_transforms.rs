//! Constraining transforms: round trips, log-Jacobians against the determinant of the
//! Jacobian, gradients, and PyMC's simplex numbers.

use proptest::prelude::*;
use trellis_ad::{check_gradient, forward, testing, GradientCheck, Scalar, ScalarFn, VectorFn};
use trellis_models::Transform;

/// Every transform with the length of its last axis and the number of rows of a block.
fn all_transforms() -> Vec<(Transform, usize, usize)> {
    vec![
        (Transform::Identity, 3, 1),
        (Transform::Log, 3, 2),
        (Transform::LowerBound(-1.5), 2, 1),
        (Transform::UpperBound(2.0), 2, 1),
        (
            Transform::Interval {
                lower: -1.0,
                upper: 3.0,
            },
            3,
            1,
        ),
        (
            Transform::Interval {
                lower: 0.0,
                upper: 1.0,
            },
            2,
            1,
        ),
        (Transform::Ordered, 4, 1),
        (Transform::Ordered, 3, 2),
        (Transform::PositiveOrdered, 4, 1),
        (Transform::OrderedColumn(0), 2, 3),
        (Transform::OrderedColumn(1), 3, 3),
        (Transform::Simplex, 3, 1),
        (Transform::Simplex, 4, 3),
        (Transform::Simplex, 2, 1),
        (Transform::StickBreaking, 3, 1),
        (Transform::StickBreaking, 5, 2),
    ]
}

fn constrain<T: Scalar>(t: Transform, k: usize, rows: usize, u: &[T]) -> (Vec<T>, Vec<T>, T) {
    let mut values = vec![T::constant(0.0); k * rows];
    let mut logs = vec![T::constant(f64::NAN); k * rows];
    let lj = t.constrain(u, k, &mut values, &mut logs);
    (values, logs, lj)
}

/// `u ↦ x` with the last entry of each simplex row dropped (so the map is square).
struct Square(Transform, usize, usize);
impl VectorFn for Square {
    fn eval<T: Scalar>(&self, u: &[T]) -> Vec<T> {
        let Square(t, k, rows) = *self;
        let (x, _, _) = constrain(t, k, rows, u);
        if t.is_simplex() {
            x.chunks(k).flat_map(|r| r[..k - 1].to_vec()).collect()
        } else {
            x
        }
    }
}

/// `ln |det A|` by Gaussian elimination with partial pivoting.
fn log_abs_det(mut a: Vec<Vec<f64>>) -> f64 {
    let n = a.len();
    let mut total = 0.0;
    for c in 0..n {
        let p = (c..n)
            .max_by(|&i, &j| a[i][c].abs().total_cmp(&a[j][c].abs()))
            .unwrap();
        a.swap(c, p);
        let pivot = a[c][c];
        total += pivot.abs().ln();
        let (top, bottom) = a.split_at_mut(c + 1);
        for row in bottom {
            let f = row[c] / pivot;
            for (x, p) in row[c..].iter_mut().zip(&top[c][c..]) {
                *x -= f * p;
            }
        }
    }
    total
}

fn jacobian_rows(f: &Square, u: &[f64]) -> Vec<Vec<f64>> {
    let jac = forward::jacobian(f, u);
    jac.rows().into_iter().map(|r| r.to_vec()).collect()
}

#[test]
fn pymc_simplex_at_origin() {
    let (p, logs, lj) = constrain(Transform::Simplex, 3, 1, &[0.0, 0.0]);
    for (x, l) in p.iter().zip(&logs) {
        assert!((x - 1.0 / 3.0).abs() < 1e-16);
        assert!((l + 3f64.ln()).abs() < 1e-15);
    }
    // log K + Σ log pₖ = log 3 − 3 log 3 = −2 log 3 (truth.json's −1.504… = ln Γ(3) + this).
    assert!((lj + 2.0 * 3f64.ln()).abs() < 1e-15, "{lj}");
    assert!((2f64.ln() + lj - (-1.5040773967762742)).abs() < 1e-15);
}

#[test]
fn pymc_simplex_matches_pymc_formula_and_truth_point() {
    // truth.json's true point: the row (0.9, 0.09, 0.01) maps to (2.2674649…, −0.0351201…).
    let u = Transform::Simplex
        .unconstrain(&[0.9, 0.09, 0.01], 3)
        .unwrap();
    assert!(
        (u[0] - 2.2674649211081035).abs() < 1e-14 && (u[1] + 0.03512017188594241).abs() < 1e-14
    );
    let u = Transform::Simplex.unconstrain(&[0.1, 0.8, 0.1], 3).unwrap();
    assert!((u[0] + 0.6931471805599452).abs() < 1e-14 && (u[1] - 1.3862943611198906).abs() < 1e-14);
    // PyMC's own expression: log K + K Σx − K logsumexp(x + Σx, 0).
    for x in [
        [0.45267793333655887, 0.22318728618200565],
        [-3.0, 7.5],
        [0.0, 0.0],
    ] {
        let (_, _, lj) = constrain(Transform::Simplex, 3, 1, &x);
        let s: f64 = x.iter().sum();
        let terms = [x[0] + s, x[1] + s, 0.0];
        let m = terms.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let lse = m + terms.iter().map(|t| (t - m).exp()).sum::<f64>().ln();
        let pymc = 3f64.ln() + 3.0 * s - 3.0 * lse;
        assert!(
            (lj - pymc).abs() < 1e-12 * pymc.abs().max(1.0),
            "{lj} vs {pymc}"
        );
    }
}

#[test]
fn stick_breaking_at_origin_is_uniform() {
    for k in [2, 3, 5] {
        let u = vec![0.0; k - 1];
        let (p, logs, _) = constrain(Transform::StickBreaking, k, 1, &u);
        for (x, l) in p.iter().zip(&logs) {
            assert!((x - 1.0 / k as f64).abs() < 1e-15, "{p:?}");
            assert!((l.exp() - x).abs() < 1e-16);
        }
    }
}

#[test]
fn single_state_simplex_is_one() {
    for t in [Transform::Simplex, Transform::StickBreaking] {
        let (p, logs, lj) = constrain(t, 1, 2, &[] as &[f64]);
        assert_eq!(p, vec![1.0, 1.0]);
        assert_eq!(logs, vec![0.0, 0.0]);
        assert_eq!(lj, 0.0);
        assert_eq!(t.unconstrain(&[1.0, 1.0], 1).unwrap(), Vec::<f64>::new());
    }
}

#[test]
fn extreme_simplex_stays_exact() {
    // exp(−1600) underflows, but its logarithm from the log-softmax is exact.
    let (p, logs, lj) = constrain(Transform::Simplex, 3, 1, &[800.0, -800.0]);
    assert_eq!(p[1], 0.0);
    assert!((logs[1] - (-1600.0)).abs() < 1e-9, "{}", logs[1]);
    assert!(lj.is_finite());
    struct F;
    impl ScalarFn for F {
        fn eval<T: Scalar>(&self, u: &[T]) -> T {
            let (_, logs, lj) = constrain(Transform::Simplex, 3, 1, u);
            lj + logs[1] * 0.5
        }
    }
    let g = trellis_ad::reverse::gradient(&F, &[800.0, -800.0]);
    assert!(g.iter().all(|x| x.is_finite()), "{g:?}");
}

#[test]
fn positive_ordered_example() {
    let (x, logs, lj) = constrain(Transform::PositiveOrdered, 3, 1, &[0.0, 1.0, -1.0]);
    let e = std::f64::consts::E;
    let want = [1.0, 1.0 + e, 1.0 + e + 1.0 / e];
    for i in 0..3 {
        assert!((x[i] - want[i]).abs() < 1e-14);
        assert!((logs[i] - want[i].ln()).abs() < 1e-14);
    }
    assert!((lj - 0.0).abs() < 1e-15); // Σ u = 0
    let (x, _, lj) = constrain(Transform::Ordered, 3, 1, &[-2.0, 1.0, -1.0]);
    assert_eq!(x, vec![-2.0, -2.0 + e, -2.0 + e + 1.0 / e]);
    assert_eq!(lj, 0.0); // u₂ + u₃
}

#[test]
fn log_jacobian_equals_determinant_at_fixed_points() {
    let u_for = |n: usize| (0..n).map(|i| 0.3 * i as f64 - 0.4).collect::<Vec<_>>();
    for (t, k, rows) in all_transforms() {
        let n = rows * t.unconstrained_len(k);
        let u = u_for(n);
        let (_, _, lj) = constrain(t, k, rows, &u);
        let det = log_abs_det(jacobian_rows(&Square(t, k, rows), &u));
        assert!(
            (lj - det).abs() < 1e-12 * det.abs().max(1.0),
            "{t:?} k={k}: {lj} vs {det}"
        );
    }
}

#[test]
fn finite_difference_jacobian_of_simplex() {
    // The (K−1) × (K−1) Jacobian by central differences, for PyMC's simplex at K = 4.
    let u = [0.3, -1.1, 0.7];
    let f = Square(Transform::Simplex, 4, 1);
    let h = 1e-6;
    let mut jac = vec![vec![0.0; 3]; 3];
    for j in 0..3 {
        let (mut up, mut dn) = (u.to_vec(), u.to_vec());
        up[j] += h;
        dn[j] -= h;
        let (a, b) = (f.eval(&up), f.eval(&dn));
        for i in 0..3 {
            jac[i][j] = (a[i] - b[i]) / (2.0 * h);
        }
    }
    let (_, _, lj) = constrain(Transform::Simplex, 4, 1, &u);
    let det = log_abs_det(jac);
    assert!((lj - det).abs() < 1e-8, "{lj} vs {det}");
}

/// `Σ wᵢ xᵢ + Σ logs + log|J|`: every output of the transform is differentiated.
struct Everything(Transform, usize, usize);
impl ScalarFn for Everything {
    fn eval<T: Scalar>(&self, u: &[T]) -> T {
        let Everything(t, k, rows) = *self;
        let (x, logs, lj) = constrain(t, k, rows, u);
        let mut total = lj;
        for (i, v) in x.iter().enumerate() {
            total += *v * (0.1 * i as f64 - 0.3);
        }
        if t.provides_logs() {
            for l in &logs {
                total += *l * 0.25;
            }
        }
        total
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn round_trip_and_jacobian(seed_u in testing::bounded_vec(15, 3.0)) {
        for (t, k, rows) in all_transforms() {
            let n = rows * t.unconstrained_len(k);
            let u = &seed_u[..n];
            let (x, logs, lj) = constrain(t, k, rows, u);
            // constrain ∘ unconstrain = id on the constrained side, and back.
            let back = t.unconstrain(&x, k).map_err(|e| TestCaseError::fail(format!("{t:?}: {e:?}")))?;
            let (x2, _, _) = constrain(t, k, rows, &back);
            for (a, b) in x.iter().zip(&x2) {
                prop_assert!((a - b).abs() <= 1e-12 * a.abs().max(1.0), "{:?}: {} vs {}", t, a, b);
            }
            for (a, b) in u.iter().zip(&back) {
                prop_assert!((a - b).abs() <= 1e-8 * a.abs().max(1.0), "{:?}: u {} vs {}", t, a, b);
            }
            if t.provides_logs() {
                for (v, l) in x.iter().zip(&logs) {
                    prop_assert!((v.ln() - l).abs() <= 1e-12 * l.abs().max(1.0), "{:?}", t);
                }
            }
            let det = log_abs_det(jacobian_rows(&Square(t, k, rows), u));
            prop_assert!((lj - det).abs() <= 1e-9 * det.abs().max(1.0), "{:?}: {} vs {}", t, lj, det);
            check_gradient(&Everything(t, k, rows), u, &GradientCheck::default())
                .map_err(|e| TestCaseError::fail(format!("{t:?}: {e}")))?;
        }
    }

    #[test]
    fn simplex_points_round_trip(p in testing::simplex(4)) {
        for t in [Transform::Simplex, Transform::StickBreaking] {
            let u = t.unconstrain(&p, 4).unwrap();
            let (x, _, _) = constrain(t, 4, 1, &u);
            for (a, b) in p.iter().zip(&x) {
                prop_assert!((a - b).abs() < 1e-14, "{:?}: {:?} vs {:?}", t, p, x);
            }
        }
    }
}

#[test]
fn unconstrain_rejects_points_outside_the_support() {
    let err = |t: Transform, x: &[f64], k: usize| t.unconstrain(x, k).unwrap_err();
    assert_eq!(
        err(Transform::Log, &[1.0, 0.0], 2),
        (1, "must be positive".to_string())
    );
    assert_eq!(
        err(Transform::Log, &[f64::NAN], 1),
        (0, "not finite".to_string())
    );
    assert_eq!(
        err(
            Transform::Interval {
                lower: 0.0,
                upper: 1.0
            },
            &[1.0],
            1
        ),
        (0, "must lie strictly inside (0, 1)".to_string())
    );
    assert_eq!(
        err(Transform::Ordered, &[0.0, 2.0, 2.0], 3),
        (2, "must exceed the previous element 2".to_string())
    );
    assert_eq!(
        err(Transform::PositiveOrdered, &[-1.0, 2.0], 2),
        (0, "must be positive".to_string())
    );
    assert_eq!(
        err(Transform::Simplex, &[0.5, 0.5, 0.2, 0.7], 2),
        (
            2,
            "simplex entries sum to 0.8999999999999999, not 1".to_string()
        )
    );
    assert_eq!(err(Transform::StickBreaking, &[1.0, 0.0], 2).0, 1);
    assert_eq!(
        err(Transform::OrderedColumn(0), &[1.0, 5.0, 0.5, 6.0], 2),
        (2, "must exceed the entry above it, 1".to_string())
    );
}
