//! NUTS with the metric adapted from draws and gradients (`MetricAdaptation::
//! DrawsAndGradients`, nutpie's scheme) on the must-pass Gaussian targets: moments within 4
//! MCSE, R-hat < 1.01, the adapted metric near the true variances, bit-identical draws
//! whatever the thread count, and the settings it cannot serve rejected.

use crate::common;

use common::{check_all, check_moments, config, Correlated2, DiagGaussian};
use trellis_samplers::diagnostics::mcse_mean;
use trellis_samplers::{sample, ConfigError, MetricAdaptation, MetricKind, Nuts, SampleError};

fn nuts() -> Nuts {
    Nuts::default().with_metric_adaptation(MetricAdaptation::DrawsAndGradients)
}

#[test]
fn standard_normal_100d() {
    let d = DiagGaussian::standard(100);
    let trace = sample(&d, &nuts(), &config(4, 1000, 1000, 20240501)).unwrap();
    check_all(
        "draws+gradients 100-D standard normal",
        &trace,
        &[0.0; 100],
        &[1.0; 100],
    );
    assert_eq!(trace.divergences(), 0);
}

#[test]
fn correlated_gaussian_rho_099() {
    let d = Correlated2 { rho: 0.99 };
    let trace = sample(&d, &nuts(), &config(4, 1000, 1000, 7)).unwrap();
    for j in 0..2 {
        check_moments(&trace, j, 0.0, 1.0, 4.0);
    }
    let x = common::array(trace.column(0));
    let y = common::array(trace.column(1));
    let prod = &x * &y;
    let z = (prod.mean().unwrap() - 0.99) / mcse_mean(prod.view());
    assert!(z.abs() < 4.0, "E[x0 x1] off by {z:.2} MCSE");
}

#[test]
fn scales_from_1e_minus_2_to_1e2() {
    common::check_scales_1e_minus_2_to_1e2("draws+gradients", &nuts());
}

#[test]
fn draws_are_bit_identical_whatever_the_thread_count() {
    let d = DiagGaussian::standard(5);
    let mut c = config(4, 200, 200, 42);
    let mut runs = Vec::new();
    for threads in [1, 3, 0] {
        c.threads = threads;
        runs.push(sample(&d, &nuts(), &c).unwrap());
    }
    for other in &runs[1..] {
        for (a, b) in runs[0].chains.iter().zip(&other.chains) {
            assert_eq!(a.draws.values(), b.draws.values());
            assert_eq!(a.draws.stats(), b.draws.stats());
            assert_eq!(a.warmup.values(), b.warmup.values());
            assert_eq!(a.tuning, b.tuning);
        }
    }
    // The scheme is in effect: it differs from Stan's windows on the same seed.
    c.threads = 1;
    let stan = sample(&d, &Nuts::default(), &c).unwrap();
    assert_ne!(
        stan.chains[0].draws.values(),
        runs[0].chains[0].draws.values()
    );
    assert!(runs[0]
        .sampler_settings
        .contains(&("metric_adaptation".into(), "draws_and_gradients".into())));
    assert!(!stan
        .sampler_settings
        .iter()
        .any(|(k, _)| k == "metric_adaptation"));
}

#[test]
fn a_dense_metric_is_rejected_with_a_clear_error() {
    let d = DiagGaussian::standard(2);
    let err = sample(
        &d,
        &nuts().with_metric(MetricKind::Dense),
        &config(1, 10, 10, 1),
    )
    .unwrap_err();
    let SampleError::Config(ConfigError::Other(message)) = &err else {
        panic!("unexpected error {err:?}")
    };
    assert!(message.contains("diagonal metric"), "{message}");
}
