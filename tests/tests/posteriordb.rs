//! Write-your-own-model acceptance: the two posteriordb HMMs, written as user code in
//! `models/examples/`, against Stan's reference posteriors.
//!
//! For every parameter: |our mean − reference mean| ≤ 4·√(our MCSE² + reference MCSE²), our
//! sd within 10 % of the reference sd, R-hat < 1.01, no divergences after warm-up. Chain
//! lengths are chosen so the tolerance is about 0.05–0.1 posterior sd: a model with a missing
//! log-Jacobian fails it (see `missing_log_jacobian_is_detected`).

#[path = "../../models/examples/posteriordb_hmm_drive.rs"]
#[allow(dead_code)]
mod drive;
// The drive example loads the hmm_example model (whose likelihood it shares) as a module.
use drive::hmm_example as example;

use proptest::prelude::*;
use serde_json::Value;
use trellis_ad::{check_gradient, GradientCheck, Scalar};
use trellis_models::{BayesianModel, ModelDensity, ModelError, ParamLayout, Params};
use trellis_samplers::{sample, InitialMetric, MetricAdaptation, Nuts, RunConfig, Summary, Trace};

fn reference(name: &str) -> Value {
    let path = format!(
        "{}/fixtures/posteriordb-hmm/{name}.reference.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn run<M: BayesianModel>(model: M, draws: usize, seed: u64) -> (Trace, Summary) {
    run_with(model, draws, seed, &Nuts::new())
}

/// NUTS as `trellis fit` runs it by default: a gradient-based initial metric, then the
/// diagonal metric adapted from draws and gradients (nutpie's scheme, with the early
/// variance floor that keeps hmm_drive's chains out of its minor mode).
fn cli_nuts() -> Nuts {
    Nuts::new()
        .with_initial_metric(InitialMetric::Gradient)
        .with_metric_adaptation(MetricAdaptation::DrawsAndGradients)
}

fn run_with<M: BayesianModel>(model: M, draws: usize, seed: u64, nuts: &Nuts) -> (Trace, Summary) {
    let config = RunConfig {
        chains: 4,
        warmup: 1000,
        draws,
        seed,
        progress: false,
        ..RunConfig::default()
    };
    let trace = sample(&ModelDensity::new(model), nuts, &config).unwrap();
    let gradients: u64 = trace
        .run_summary()
        .unwrap()
        .per_chain
        .iter()
        .map(|c| c.gradient_evaluations)
        .sum();
    let min_ess = trace
        .summary()
        .unwrap()
        .rows()
        .iter()
        .map(|r| r.ess_bulk)
        .fold(f64::INFINITY, f64::min);
    eprintln!(
        "{gradients} gradients, min bulk ESS {min_ess:.0}, ESS per gradient {:.4}",
        min_ess / gradients as f64
    );
    let summary = trace.summary().unwrap();
    (trace, summary)
}

/// The failures of the acceptance criteria, one line each (empty when all hold).
fn failures(summary: &Summary, reference: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for (name, r) in reference["parameters"].as_object().unwrap() {
        let ours = summary
            .row(name)
            .unwrap_or_else(|| panic!("no parameter {name}"));
        let (ref_mean, ref_sd, ref_mcse) = (
            r["mean"].as_f64().unwrap(),
            r["sd"].as_f64().unwrap(),
            r["mcse_mean"].as_f64().unwrap(),
        );
        let tolerance = 4.0 * (ours.mcse_mean.powi(2) + ref_mcse.powi(2)).sqrt();
        let z = (ours.mean - ref_mean) / (ours.mcse_mean.powi(2) + ref_mcse.powi(2)).sqrt();
        eprintln!(
            "{name:<10} reference {ref_mean:.5} ± {ref_mcse:.5}  ours {:.5} ± {:.5}  z = {z:+.2}  sd {:.5} vs {ref_sd:.5}  r_hat {:.4}",
            ours.mean, ours.mcse_mean, ours.sd, ours.r_hat
        );
        if (ours.mean - ref_mean).abs() > tolerance {
            out.push(format!(
                "{name}: mean {} vs {ref_mean} (z = {z:.2})",
                ours.mean
            ));
        }
        if (ours.sd / ref_sd - 1.0).abs() > 0.10 {
            out.push(format!("{name}: sd {} vs {ref_sd}", ours.sd));
        }
        if ours.r_hat.is_nan() || ours.r_hat >= 1.01 {
            out.push(format!("{name}: r_hat {}", ours.r_hat));
        }
    }
    out
}

/// Samples `model` with `nuts` and asserts no divergences and every parameter within the
/// criteria above against the named reference.
fn assert_matches_reference<M: BayesianModel>(
    model: M,
    draws: usize,
    seed: u64,
    nuts: &Nuts,
    reference_name: &str,
) {
    let (trace, summary) = run_with(model, draws, seed, nuts);
    assert_eq!(trace.divergences(), 0, "{reference_name}: divergences");
    let failed = failures(&summary, &reference(reference_name));
    assert!(failed.is_empty(), "{reference_name}: {failed:#?}");
}

#[test]
fn hmm_example_matches_stan_reference() {
    let model = example::HmmExample::new().unwrap();
    assert_matches_reference(model, 4000, 11, &Nuts::new(), "hmm_example-hmm_example");
}

#[test]
fn hmm_drive_matches_stan_reference() {
    let model = drive::HmmDrive::new().unwrap();
    let name = "bball_drive_event_0-hmm_drive_0";
    assert_matches_reference(model, 2000, 12, &Nuts::new(), name);
}

#[test]
fn hmm_example_matches_stan_reference_with_draw_gradient_adaptation() {
    let model = example::HmmExample::new().unwrap();
    assert_matches_reference(model, 4000, 11, &cli_nuts(), "hmm_example-hmm_example");
}

#[test]
fn hmm_drive_matches_stan_reference_with_draw_gradient_adaptation() {
    let model = drive::HmmDrive::new().unwrap();
    let name = "bball_drive_event_0-hmm_drive_0";
    assert_matches_reference(model, 2000, 12, &cli_nuts(), name);
}

/// The same example with the simplex transforms' log-Jacobian left out (a classic user
/// error): the criteria above must reject it, or they would not be testing anything.
#[test]
fn missing_log_jacobian_is_detected() {
    struct WithoutJacobian(example::HmmExample);
    impl BayesianModel for WithoutJacobian {
        fn layout(&self) -> &ParamLayout {
            self.0.layout()
        }
        fn extra_log_prior<T: Scalar>(&self, params: &Params<'_, T>, index: usize) -> T {
            let jacobian = if index < 2 {
                params.log_jacobian(index)
            } else {
                T::constant(0.0)
            };
            self.0.extra_log_prior(params, index) - jacobian
        }
        fn log_likelihood<T: Scalar>(&self, params: &Params<'_, T>) -> Result<T, ModelError> {
            self.0.log_likelihood(params)
        }
    }
    let (_, summary) = run(
        WithoutJacobian(example::HmmExample::new().unwrap()),
        4000,
        11,
    );
    let failed = failures(&summary, &reference("hmm_example-hmm_example"));
    assert!(
        !failed.is_empty(),
        "a model without its log-Jacobian passed"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The user models' gradients, checked by the public finite-difference checker at random
    /// unconstrained points.
    #[test]
    fn user_model_gradients_match_finite_differences(
        u in proptest::collection::vec(-1.5f64..1.5, 8),
    ) {
        let example = ModelDensity::new(example::HmmExample::new().unwrap());
        check_gradient(&example, &u[..4], &GradientCheck::default())
            .map_err(|e| TestCaseError::fail(format!("hmm_example: {e}")))?;
        let drive = ModelDensity::new(drive::HmmDrive::new().unwrap());
        check_gradient(&drive, &u[..6], &GradientCheck::default())
            .map_err(|e| TestCaseError::fail(format!("hmm_drive: {e}")))?;
    }
}
