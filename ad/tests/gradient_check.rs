//! The gradient checker neither cries wolf nor sleeps: the cases of issue 9.

use trellis_ad::{
    check_gradient, check_hessian, finite_difference_estimates, FdSteps, GradientCheck, Scalar,
    ScalarFn,
};

/// A small deterministic generator (a 64-bit LCG), so the data need no dependency.
struct Lcg(u64);
impl Lcg {
    fn uniform(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    /// Box–Muller.
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

/// A user's two-state HMM with 2-D Normal emissions of sd 0.1: parameters are the two state
/// means (4 numbers) and the logits of staying in each state (2 numbers). The log-likelihood
/// by the forward algorithm in log space, written directly on `Scalar`.
struct Hmm {
    observations: Vec<[f64; 2]>,
}

const EMISSION_SD: f64 = 0.1;

impl Hmm {
    fn simulate(len: usize) -> (Self, Vec<f64>) {
        let truth = vec![0.0, 0.0, 1.0, 0.5, 2.0, 1.5];
        let means = [[truth[0], truth[1]], [truth[2], truth[3]]];
        let mut rng = Lcg(7);
        let mut state = 0;
        let observations = (0..len)
            .map(|_| {
                let stay = if state == 0 { 0.88 } else { 0.82 };
                if rng.uniform() > stay {
                    state = 1 - state;
                }
                [
                    means[state][0] + EMISSION_SD * rng.normal(),
                    means[state][1] + EMISSION_SD * rng.normal(),
                ]
            })
            .collect();
        (Self { observations }, truth)
    }
}

impl ScalarFn for Hmm {
    fn eval<T: Scalar>(&self, p: &[T]) -> T {
        let emission = |state: usize, y: &[f64; 2]| {
            let dx = (p[2 * state] - y[0]) * (1.0 / EMISSION_SD);
            let dy = (p[2 * state + 1] - y[1]) * (1.0 / EMISSION_SD);
            -(dx * dx + dy * dy) * 0.5
                - (2.0 * std::f64::consts::PI * EMISSION_SD * EMISSION_SD).ln()
        };
        let stay = [p[4].log_logistic(), p[5].log_logistic()];
        let leave = [(-p[4]).log_logistic(), (-p[5]).log_logistic()];
        let half = T::constant(0.5f64.ln());
        let mut alpha = [
            half + emission(0, &self.observations[0]),
            half + emission(1, &self.observations[0]),
        ];
        for y in &self.observations[1..] {
            let to0 = (alpha[0] + stay[0]).log_add_exp(alpha[1] + leave[1]);
            let to1 = (alpha[0] + leave[0]).log_add_exp(alpha[1] + stay[1]);
            alpha = [to0 + emission(0, y), to1 + emission(1, y)];
        }
        alpha[0].log_add_exp(alpha[1])
    }
}

#[test]
fn hmm_user_model_never_fails_falsely_at_posterior_scale_points() {
    let (model, truth) = Hmm::simulate(200);
    let mut rng = Lcg(11);
    for draw in 0..40 {
        // Posterior-scale perturbations: sd ≈ 0.1/√100 = 0.01 for the means, 0.2 for logits.
        let point: Vec<f64> = truth
            .iter()
            .enumerate()
            .map(|(i, &t)| t + if i >= 4 { 0.2 } else { 0.01 } * rng.normal())
            .collect();
        if let Err(e) = check_gradient(&model, &point, &GradientCheck::default()) {
            panic!("draw {draw}: false failure: {e}");
        }
    }
}

struct LogAddExp;
impl ScalarFn for LogAddExp {
    fn eval<T: Scalar>(&self, x: &[T]) -> T {
        x[0].log_add_exp(x[1])
    }
}

#[test]
fn log_add_exp_at_large_negative_arguments_passes() {
    check_gradient(&LogAddExp, &[-1e5, -1e5 - 1.0], &GradientCheck::default()).unwrap();
    check_hessian(&LogAddExp, &[-1e5, -1e5 - 1.0], &GradientCheck::default()).unwrap();
}

/// A well-conditioned function through a custom node whose `coordinate` partial is scaled by
/// `1 + partial_error` and whose value is shifted by `value_error`.
struct Perturbed {
    coordinate: usize,
    partial_error: f64,
    value_error: f64,
}
impl ScalarFn for Perturbed {
    fn eval<T: Scalar>(&self, x: &[T]) -> T {
        let v: Vec<f64> = x.iter().map(|t| t.value()).collect();
        let value = v[0].sin() * v[1].exp() + v[2] * v[2];
        let mut partials = vec![v[0].cos() * v[1].exp(), v[0].sin() * v[1].exp(), 2.0 * v[2]];
        partials[self.coordinate] *= 1.0 + self.partial_error;
        if T::CUSTOM_IS_CHEAPER {
            T::custom(x, value + self.value_error, &partials)
        } else {
            // The generic source of truth (what plain f64 and forward mode evaluate).
            x[0].sin() * x[1].exp() + x[2] * x[2]
        }
    }
}

#[test]
fn correct_custom_partials_pass() {
    let f = Perturbed {
        coordinate: 1,
        partial_error: 0.0,
        value_error: 0.0,
    };
    check_gradient(&f, &[0.7, -0.3, 1.2], &GradientCheck::default()).unwrap();
}

#[test]
fn partial_wrong_by_1e7_relative_is_detected() {
    for coordinate in 0..3 {
        let f = Perturbed {
            coordinate,
            partial_error: 1e-7,
            value_error: 0.0,
        };
        let options = GradientCheck {
            check_forward: false, // the finite differences alone must catch it
            ..GradientCheck::default()
        };
        let err = check_gradient(&f, &[0.7, -0.3, 1.2], &options).unwrap_err();
        assert_eq!(err.index, coordinate);
        assert_eq!(err.comparison, "reverse vs finite differences");
        let message = err.to_string();
        for needle in [
            format!("gradient component {coordinate}"),
            "AD ".to_string(),
            "finite-difference step".to_string(),
            "estimated finite-difference error".to_string(),
        ] {
            assert!(message.contains(&needle), "{needle:?} not in {message}");
        }
        assert!(err.step > 0.0 && err.fd_error < 1e-7 * err.analytic.abs());
    }
}

#[test]
fn partial_wrong_by_1e6_relative_is_detected() {
    let f = Perturbed {
        coordinate: 0,
        partial_error: 1e-6,
        value_error: 0.0,
    };
    assert!(check_gradient(&f, &[0.7, -0.3, 1.2], &GradientCheck::default()).is_err());
}

#[test]
fn wrong_constant_in_the_value_is_detected() {
    let f = Perturbed {
        coordinate: 0,
        partial_error: 0.0,
        value_error: 1e-8,
    };
    let err = check_gradient(&f, &[0.7, -0.3, 1.2], &GradientCheck::default()).unwrap_err();
    assert_eq!(err.comparison, "value: reverse vs f64");
}

struct LogProbability;
impl ScalarFn for LogProbability {
    fn eval<T: Scalar>(&self, x: &[T]) -> T {
        x[0].ln() + (-x[0] + 1.0).ln() * 3.0 + x[1] * x[1]
    }
}

#[test]
fn estimate_near_the_edge_of_the_support_is_finite_or_unavailable_never_nan() {
    // p = 1e-5: big steps leave (0, 1); the estimator uses the ones that stay inside.
    let fd = finite_difference_estimates(&LogProbability, &[1e-5, 0.3], &FdSteps::default());
    let exact = 1e5 - 3.0 / (1.0 - 1e-5);
    let d = fd[0]
        .value
        .expect("steps below 1e-5 stay inside the support");
    assert!(
        (d - exact).abs() <= 4.0 * fd[0].error,
        "{d} vs {exact}, {:?}",
        fd[0]
    );
    assert!(fd[0].error < 1e-6 * exact && fd[0].step < 1e-5);
    check_gradient(&LogProbability, &[1e-5, 0.3], &GradientCheck::default()).unwrap();
    // On the boundary itself (f = -inf there) there is no finite difference: reported as
    // unavailable, in every coordinate, and the check says so.
    let fd = finite_difference_estimates(&LogProbability, &[0.0, 0.3], &FdSteps::default());
    assert_eq!(fd[0].value, None);
    assert_eq!(fd[1].value, None);
    assert!(fd[0].error.is_infinite());
}

struct Smooth;
impl ScalarFn for Smooth {
    fn eval<T: Scalar>(&self, x: &[T]) -> T {
        (x[0] * x[1]).sin() + x[0].log_norm_cdf() + (x[1] * x[2]).exp() * x[2].tanh()
    }
}

#[test]
fn check_hessian_passes_correct_and_catches_missing_curvature() {
    check_hessian(&Smooth, &[0.3, -1.2, 0.8], &GradientCheck::default()).unwrap();
    // A custom node carries no curvature under nested duals (documented on `Scalar::custom`):
    // the Hessian check sees it; with its Hessian supplied, the check passes.
    let x = [0.7, -0.3, 1.2];
    let err = check_hessian(
        &AlwaysCustom {
            with_hessian: false,
        },
        &x,
        &GradientCheck::default(),
    )
    .unwrap_err();
    assert!(err.column.is_some());
    assert_eq!(
        err.comparison,
        "reverse vs finite differences of the gradient"
    );
    check_hessian(
        &AlwaysCustom { with_hessian: true },
        &x,
        &GradientCheck::default(),
    )
    .unwrap();
}

/// sin(x₀)·exp(x₁) + x₂² as one custom node in every mode, optionally with its Hessian.
struct AlwaysCustom {
    with_hessian: bool,
}
impl ScalarFn for AlwaysCustom {
    fn eval<T: Scalar>(&self, x: &[T]) -> T {
        let v: Vec<f64> = x.iter().map(|t| t.value()).collect();
        let (s, c, e) = (v[0].sin(), v[0].cos(), v[1].exp());
        let value = s * e + v[2] * v[2];
        let partials = [c * e, s * e, 2.0 * v[2]];
        if self.with_hessian {
            let hessian = [-s * e, c * e, 0.0, c * e, s * e, 0.0, 0.0, 0.0, 2.0];
            T::custom_with_hessian(x, value, &partials, &hessian)
        } else {
            T::custom(x, value, &partials)
        }
    }
}
