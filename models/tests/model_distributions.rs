//! Closed-form values and gradients of the prior/emission log-densities.

use proptest::prelude::*;
use trellis_ad::{check_gradient, testing, GradientCheck, Scalar, ScalarFn};
use trellis_models::distributions::*;

/// Reference values computed with mpmath at 40 digits from the textbook formulas.
#[test]
fn closed_form_values() {
    let cases: [(&str, f64, f64); 16] = [
        (
            "normal(0; 0, 1)",
            normal_lpdf(0.0, 0.0, 1.0),
            -0.918_938_533_204_672_7,
        ),
        (
            "normal(1.5; 0.5, 2)",
            normal_lpdf(1.5, 0.5, 2.0),
            -1.737_085_713_764_618,
        ),
        (
            "half_normal(1; 1)",
            half_normal_lpdf(1.0, 1.0),
            -0.725_791_352_644_727_4,
        ),
        (
            "half_normal(0.7; 1.3)",
            half_normal_lpdf(0.7, 1.3),
            -0.633126031313402,
        ),
        (
            "lognormal(2; 0.3, 0.8)",
            lognormal_lpdf(2.0, 0.3, 0.8),
            -1.509695838686529,
        ),
        (
            "exponential(0.5; 2)",
            exponential_lpdf(0.5, 2.0),
            -0.306_852_819_440_054_7,
        ),
        (
            "gamma(0.5; 2, 3)",
            gamma_lpdf(0.5, 2.0, 3.0),
            0.004_077_396_776_274_073,
        ),
        (
            "gamma(1.7; 3.5, 0.8)",
            gamma_lpdf(1.7, 3.5, 0.8),
            -2.015_405_404_291_382_4,
        ),
        (
            "beta(0.3; 2, 5)",
            beta_lpdf(0.3, 2.0, 5.0),
            0.770_524_801_581_289_9,
        ),
        (
            "student_t(1; 3, 0, 1)",
            student_t_lpdf(1.0, 3.0, 0.0, 1.0),
            -1.576_252_994_527_071_6,
        ),
        (
            "student_t(-0.4; 4.5, 0.6, 1.7)",
            student_t_lpdf(-0.4, 4.5, 0.6, 1.7),
            -1.708_410_342_333_973_7,
        ),
        (
            "cauchy(2; 0.5, 1.5)",
            cauchy_lpdf(2.0, 0.5, 1.5),
            -2.243_342_174_517_51,
        ),
        (
            "half_cauchy(2; 1)",
            half_cauchy_lpdf(2.0, 1.0),
            -2.061020617723555,
        ),
        (
            "poisson(3; 2.5)",
            poisson_lpmf(3, 2.5),
            -1.542_887_273_605_589_8,
        ),
        (
            "poisson(40; 31.5)",
            poisson_lpmf(40, 31.5),
            -3.821_137_881_493_900_3,
        ),
        (
            "uniform(0.3; -1, 2)",
            uniform_lpdf(0.3, -1.0, 2.0),
            -1.098_612_288_668_109_7,
        ),
    ];
    for (name, got, want) in cases {
        assert!(
            (got - want).abs() <= 1e-13 * want.abs().max(1.0),
            "{name}: got {got:.17}, want {want:.17}"
        );
    }
}

#[test]
fn dirichlet_values() {
    // ln Γ(6) − ln Γ(1) − ln Γ(2) − ln Γ(3) + ln 0.3 + 2 ln 0.5 = ln 4.5.
    let lp = dirichlet_lpdf(&[0.2, 0.3, 0.5], &[1.0, 2.0, 3.0]);
    assert!((lp - 4.5f64.ln()).abs() < 1e-13, "{lp}");
    let lp_log = dirichlet_lpdf_log(&[0.2f64.ln(), 0.3f64.ln(), 0.5f64.ln()], &[1.0, 2.0, 3.0]);
    assert!((lp_log - 4.5f64.ln()).abs() < 1e-13, "{lp_log}");
    // Dirichlet(1,1,1) = ln Γ(3) = ln 2 everywhere on the simplex, including its boundary.
    assert!((dirichlet_lpdf(&[0.0, 0.25, 0.75], &[1.0; 3]) - 2f64.ln()).abs() < 1e-15);
    assert!(
        (dirichlet_lpdf_log(&[f64::NEG_INFINITY, 0.0, f64::NEG_INFINITY], &[1.0; 3]) - 2f64.ln())
            .abs()
            < 1e-15
    );
}

#[test]
fn outside_support_is_negative_infinity() {
    let ninf = f64::NEG_INFINITY;
    assert_eq!(half_normal_lpdf(-0.1, 1.0), ninf);
    assert_eq!(lognormal_lpdf(0.0, 0.0, 1.0), ninf);
    assert_eq!(exponential_lpdf(-1.0, 1.0), ninf);
    assert_eq!(gamma_lpdf(-1.0, 2.0, 1.0), ninf);
    assert_eq!(beta_lpdf(1.2, 2.0, 2.0), ninf);
    assert_eq!(uniform_lpdf(3.0, 0.0, 1.0), ninf);
    assert_eq!(half_cauchy_lpdf(-2.0, 1.0), ninf);
    assert_eq!(dirichlet_lpdf(&[0.5, 0.6], &[1.0, 1.0]), ninf);
    assert_eq!(dirichlet_lpdf(&[0.5, 0.5], &[1.0, 1.0, 1.0]), ninf);
    // Invalid parameters.
    assert_eq!(normal_lpdf(0.0, 0.0, 0.0), ninf);
    assert_eq!(normal_lpdf(0.0, 0.0, -1.0), ninf);
    assert_eq!(gamma_lpdf(1.0, 0.0, 1.0), ninf);
    assert_eq!(student_t_lpdf(1.0, -1.0, 0.0, 1.0), ninf);
    assert_eq!(poisson_lpmf(2, -0.5), ninf);
    assert_eq!(dirichlet_lpdf(&[0.5, 0.5], &[1.0, 0.0]), ninf);
}

#[test]
fn boundary_values_are_not_nan() {
    // Exponential-like Gamma(1, β) at 0 is ln β; Beta(1, b) at 0 is ln b.
    assert!((gamma_lpdf(0.0, 1.0, 2.5) - 2.5f64.ln()).abs() < 1e-15);
    assert!((beta_lpdf(0.0, 1.0, 3.0) - 3f64.ln()).abs() < 1e-14);
    assert_eq!(poisson_lpmf(0, 0.0), 0.0);
    assert_eq!(poisson_lpmf(1, 0.0), f64::NEG_INFINITY);
}

/// `f(args)` for one distribution, all arguments differentiable. Positive arguments are
/// passed as logarithms (`log_args` lists them), so finite differences use a step relative to
/// their scale.
struct Lpdf {
    name: &'static str,
    log_args: &'static [usize],
}

impl ScalarFn for Lpdf {
    fn eval<T: Scalar>(&self, raw: &[T]) -> T {
        let mut a = raw.to_vec();
        for &i in self.log_args {
            a[i] = raw[i].exp();
        }
        match self.name {
            "normal" => normal_lpdf(a[0], a[1], a[2]),
            "half_normal" => half_normal_lpdf(a[0], a[1]),
            "lognormal" => lognormal_lpdf(a[0], a[1], a[2]),
            "exponential" => exponential_lpdf(a[0], a[1]),
            "gamma" => gamma_lpdf(a[0], a[1], a[2]),
            // x passed as its logit, for the same reason.
            "beta" => beta_lpdf(a[0].logistic(), a[1], a[2]),
            "student_t" => student_t_lpdf(a[0], a[1], a[2], a[3]),
            "cauchy" => cauchy_lpdf(a[0], a[1], a[2]),
            "half_cauchy" => half_cauchy_lpdf(a[0], a[1]),
            "poisson" => poisson_lpmf(4, a[0]),
            "dirichlet" => {
                // Probabilities from a softmax of three free numbers.
                let lse = T::log_sum_exp(&a);
                let p: Vec<T> = a.iter().map(|&x| (x - lse).exp()).collect();
                dirichlet_lpdf(&p, &[0.5, 2.0, 3.5])
            }
            other => panic!("unknown {other}"),
        }
    }
}

fn check(name: &'static str, log_args: &'static [usize], x: &[f64]) -> Result<(), TestCaseError> {
    check_gradient(&Lpdf { name, log_args }, x, &GradientCheck::default())
        .map(|_| ())
        .map_err(|e| TestCaseError::fail(format!("{name}: {e}")))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn gradients_location_scale(x in testing::well_scaled(), mu in testing::well_scaled(),
                                log_s in -3.0f64..3.0, log_nu in -0.7f64..3.4) {
        check("normal", &[2], &[x, mu, log_s])?;
        check("student_t", &[1, 3], &[x, log_nu, mu, log_s])?;
        check("cauchy", &[2], &[x, mu, log_s])?;
    }

    #[test]
    fn gradients_positive(log_x in -3.0f64..3.0, mu in testing::well_scaled(),
                          log_s in -3.0f64..3.0, log_shape in -1.6f64..3.0) {
        check("half_normal", &[0, 1], &[log_x, log_s])?;
        check("lognormal", &[0, 2], &[log_x, mu, log_s])?;
        check("exponential", &[0, 1], &[log_x, log_s])?;
        check("gamma", &[0, 1, 2], &[log_x, log_shape, log_s])?;
        check("half_cauchy", &[0, 1], &[log_x, log_s])?;
        check("poisson", &[0], &[log_s])?;
    }

    #[test]
    fn gradients_unit_interval(logit_x in -4.0f64..4.0, log_a in -1.6f64..3.0, log_b in -1.6f64..3.0) {
        check("beta", &[1, 2], &[logit_x, log_a, log_b])?;
    }

    #[test]
    fn gradients_dirichlet(z in testing::bounded_vec(3, 3.0)) {
        check("dirichlet", &[], &z)?;
    }
}
