//! End-to-end sampler tests on targets with known moments. Fixed seeds; tolerances are in
//! Monte Carlo standard errors computed from the chains' own effective sample sizes
//! (`diagnostics::mcse_mean`), and R-hat is the rank-normalised split R-hat.

use crate::common;

use common::{array, check_all, config, Correlated2, DiagGaussian};
use trellis_samplers::diagnostics::{mcse_mean, rhat};
use trellis_samplers::{
    sample, ConfigError, InvMetric, LogDensity, LogDensityError, Mala, MetricKind, NonFinite, Nuts,
    RandomWalk, SampleError, Sampler, StaticHmc, Trace,
};

// ---------------------------------------------------------------------------------------
// Targets (the Gaussians and the helpers are in `common`)

/// Neal's funnel: v ~ N(0, 3²), x_i | v ~ N(0, e^v), i = 1..n−1.
struct Funnel {
    n: usize,
}

impl LogDensity for Funnel {
    fn dim(&self) -> usize {
        self.n
    }
    fn logp_and_grad(&self, x: &[f64], g: &mut [f64]) -> Result<f64, LogDensityError> {
        let v = x[0];
        let k = (self.n - 1) as f64;
        let ev = (-v).exp();
        let mut ss = 0.0;
        for i in 1..self.n {
            ss += x[i] * x[i];
            g[i] = -x[i] * ev;
        }
        g[0] = -v / 9.0 - 0.5 * k + 0.5 * ss * ev;
        Ok(-v * v / 18.0 - 0.5 * k * v - 0.5 * ss * ev)
    }
    fn output_names(&self) -> Vec<String> {
        let mut names = vec!["v".to_string()];
        names.extend((1..self.n).map(|i| format!("x[{}]", i - 1)));
        names
    }
}

/// Half-normal written without a transform: log-density −∞ for x < 0.
struct HalfNormal;

impl LogDensity for HalfNormal {
    fn dim(&self) -> usize {
        1
    }
    fn logp_and_grad(&self, x: &[f64], g: &mut [f64]) -> Result<f64, LogDensityError> {
        if x[0] < 0.0 {
            g[0] = f64::NAN;
            return Ok(f64::NEG_INFINITY);
        }
        g[0] = -x[0];
        Ok(-0.5 * x[0] * x[0])
    }
    fn initial_point(&self) -> Vec<f64> {
        vec![1.0]
    }
}

// ---------------------------------------------------------------------------------------
// NUTS on Gaussians

#[test]
fn nuts_standard_normal_100d() {
    let d = DiagGaussian::standard(100);
    let trace = sample(&d, &Nuts::default(), &config(4, 1000, 1000, 20240501)).unwrap();
    check_all(
        "nuts 100-D standard normal",
        &trace,
        &[0.0; 100],
        &[1.0; 100],
    );
    assert_eq!(trace.divergences(), 0);
    assert_eq!(trace.max_depth_hits(), 0);
    // Warm-up draws are kept apart from the draws.
    for c in &trace.chains {
        assert_eq!(c.warmup.len(), 1000);
        assert_eq!(c.draws.len(), 1000);
    }
}

#[test]
fn nuts_correlated_gaussian_diag_and_dense() {
    let d = Correlated2 { rho: 0.99 };
    for metric in [MetricKind::Diag, MetricKind::Dense] {
        let nuts = Nuts::default().with_metric(metric);
        let trace = sample(&d, &nuts, &config(4, 1000, 1000, 7)).unwrap();
        check_all(
            &format!("nuts rho=0.99 {metric:?}"),
            &trace,
            &[0.0; 2],
            &[1.0; 2],
        );
        assert_eq!(trace.divergences(), 0, "{metric:?}");
        // The covariance: E[x0 x1] = 0.99.
        let prod = array(trace.column(0)) * array(trace.column(1));
        let z = (prod.mean().unwrap() - 0.99) / mcse_mean(prod.view());
        assert!(z.abs() < 4.0, "{metric:?}: covariance off by {z} MCSE");
        let depth: f64 = trace
            .stat(|s| s.tree_depth as f64)
            .concat()
            .iter()
            .sum::<f64>()
            / 4000.0;
        eprintln!("  mean tree depth {depth:.2}");
        if metric == MetricKind::Dense {
            // A dense metric adapted to the covariance makes the target isotropic: short trees.
            assert!(depth < 3.5, "dense metric mean tree depth {depth}");
            match &trace.chains[0].tuning.inv_metric {
                Some(InvMetric::Dense { values, .. }) => {
                    assert!((values[1] / (values[0] * values[3]).sqrt() - 0.99).abs() < 0.01)
                }
                other => panic!("expected a dense metric, got {other:?}"),
            }
        }
    }
}

#[test]
fn nuts_finds_scales_from_1e_minus_2_to_1e2() {
    common::check_scales_1e_minus_2_to_1e2("nuts", &Nuts::default());
}

// ---------------------------------------------------------------------------------------
// Pathological targets

#[test]
fn nuts_funnel_reports_divergences_without_panicking() {
    let d = Funnel { n: 10 };
    let trace = sample(&d, &Nuts::default(), &config(4, 1000, 1000, 1)).unwrap();
    let div = trace.divergences();
    eprintln!(
        "funnel: {div} divergences of 4000 draws; warnings: {:?}",
        trace.warnings()
    );
    assert!(div > 0, "the funnel's neck should produce divergences");
    assert!(trace.warnings().iter().any(|w| w.contains("divergent")));
    assert_eq!(trace.divergences_per_chain().iter().sum::<usize>(), div);
    for c in &trace.chains {
        assert!(c.draws.values().iter().all(|v| v.is_finite()));
        assert!(c.draws.stats().iter().all(|s| s.lp.is_finite()));
    }
    let json = serde_json::to_value(trace.run_summary().unwrap()).unwrap();
    assert_eq!(json["divergences"].as_u64().unwrap() as usize, div);
}

#[test]
fn half_normal_without_transform_rejects_the_forbidden_half() {
    let want_mean = (2.0 / std::f64::consts::PI).sqrt();
    let runs = [
        (
            "nuts",
            sample(&HalfNormal, &Nuts::default(), &config(4, 1000, 2000, 5)),
        ),
        (
            "rwm",
            sample(
                &HalfNormal,
                &RandomWalk::default(),
                &config(4, 1000, 4000, 5),
            ),
        ),
        (
            "mala",
            sample(&HalfNormal, &Mala::default(), &config(4, 1000, 4000, 5)),
        ),
    ];
    for (name, trace) in runs {
        let trace = trace.unwrap();
        let x = array(trace.column(0));
        assert!(
            x.iter().all(|&v| v >= 0.0),
            "{name}: a draw in the forbidden half"
        );
        let m = x.mean().unwrap();
        let z = (m - want_mean) / mcse_mean(x.view());
        let sq = x.mapv(|v| v * v);
        let z2 = (sq.mean().unwrap() - 1.0) / mcse_mean(sq.view());
        eprintln!(
            "half-normal {name}: mean {m:.4} ({z:.2} MCSE), E[x²] ({z2:.2} MCSE), divergences {}",
            trace.divergences()
        );
        assert!(
            z.abs() < 4.0 && z2.abs() < 4.0,
            "{name}: mean {m} off by {z} MCSE, E[x²] by {z2}"
        );
        assert!(rhat(x.view()) < 1.01);
    }
}

// ---------------------------------------------------------------------------------------
// Every sampler on the standard normal

fn run_standard_normal<S: Sampler>(label: &str, s: &S, draws: usize) -> Trace {
    let d = DiagGaussian::standard(10);
    let trace = sample(&d, s, &config(4, 1000, draws, 11)).unwrap();
    check_all(label, &trace, &[0.0; 10], &[1.0; 10]);
    assert_eq!(trace.divergences(), 0, "{label}");
    trace
}

#[test]
fn every_sampler_on_the_standard_normal() {
    let t = run_standard_normal("nuts", &Nuts::default(), 1000);
    let acc: f64 = t.stat(|s| s.accept_stat).concat().iter().sum::<f64>() / 4000.0;
    eprintln!("  nuts mean acceptance {acc:.3} (target 0.8)");
    assert!(acc > 0.7 && acc < 0.95, "nuts acceptance {acc}");
    run_standard_normal(
        "nuts unit metric",
        &Nuts::default().with_metric(MetricKind::Unit),
        1000,
    );
    run_standard_normal("static hmc", &StaticHmc::default(), 1000);
    run_standard_normal(
        "static hmc dense",
        &StaticHmc::default().with_metric(MetricKind::Dense),
        1000,
    );
    let t = run_standard_normal("mala", &Mala::default(), 4000);
    let acc: f64 = t.stat(|s| s.accept_stat).concat().iter().sum::<f64>() / 16000.0;
    eprintln!("  mala mean acceptance {acc:.3} (target 0.574)");
    assert!(acc > 0.45 && acc < 0.7, "mala acceptance {acc}");
    let t = run_standard_normal("rwm", &RandomWalk::default(), 25000);
    let acc: f64 = t.stat(|s| s.accept_stat).concat().iter().sum::<f64>() / 100000.0;
    eprintln!("  rwm mean acceptance {acc:.3} (target 0.234)");
    assert!(acc > 0.18 && acc < 0.3, "rwm acceptance {acc}");
}

// ---------------------------------------------------------------------------------------
// Determinism, configuration and initialisation errors

#[test]
fn draws_are_bit_identical_whatever_the_thread_count() {
    let d = DiagGaussian::standard(5);
    let mut c = config(4, 200, 200, 42);
    c.threads = 1;
    let one = sample(&d, &Nuts::default(), &c).unwrap();
    c.threads = 3;
    let three = sample(&d, &Nuts::default(), &c).unwrap();
    c.threads = 0;
    let all = sample(&d, &Nuts::default(), &c).unwrap();
    for (a, b) in one
        .chains
        .iter()
        .zip(&three.chains)
        .chain(one.chains.iter().zip(&all.chains))
    {
        assert_eq!(a.draws.values(), b.draws.values());
        assert_eq!(a.draws.stats(), b.draws.stats());
        assert_eq!(a.warmup.values(), b.warmup.values());
        assert_eq!(a.tuning, b.tuning);
    }
    // Chains differ from each other, and another seed gives other draws.
    assert_ne!(one.chains[0].draws.values(), one.chains[1].draws.values());
    c.seed = 43;
    let other = sample(&d, &Nuts::default(), &c).unwrap();
    assert_ne!(one.chains[0].draws.values(), other.chains[0].draws.values());
    // Chain k does not depend on how many chains run.
    c.seed = 42;
    c.chains = 2;
    let two = sample(&d, &Nuts::default(), &c).unwrap();
    assert_eq!(two.chains[1].draws.values(), one.chains[1].draws.values());
}

#[test]
fn invalid_configurations_are_rejected_with_clear_errors() {
    let d = DiagGaussian::standard(2);
    let err = |r: Result<Trace, SampleError>| match r {
        Err(SampleError::Config(e)) => e,
        other => panic!("expected a configuration error, got {other:?}"),
    };
    let e = err(sample(&d, &Nuts::default(), &config(1, 0, 0, 1)));
    assert_eq!(e, ConfigError::ZeroDraws);
    assert!(e.to_string().contains("draws"));
    assert_eq!(
        err(sample(&d, &Nuts::default(), &config(0, 0, 10, 1))),
        ConfigError::ZeroChains
    );
    for bad in [0.0, 1.0, 1.5, f64::NAN] {
        let e = err(sample(
            &d,
            &Nuts::default().with_target_accept(bad),
            &config(1, 10, 10, 1),
        ));
        assert!(matches!(e, ConfigError::TargetAccept(_)), "{e}");
    }
    let e = err(sample(
        &d,
        &Nuts::default().with_max_depth(0),
        &config(1, 10, 10, 1),
    ));
    assert_eq!(e, ConfigError::MaxDepthZero);
    let mut c = config(1, 10, 10, 1);
    c.initial_point = Some(vec![0.0; 3]);
    assert_eq!(
        err(sample(&d, &Nuts::default(), &c)),
        ConfigError::InitialPointDim {
            expected: 2,
            got: 3
        }
    );
    // Warm-up 0 is allowed: the initial step-size heuristic is used as is.
    let t = sample(&d, &Nuts::default(), &config(1, 0, 50, 1)).unwrap();
    assert_eq!(t.chains[0].draws.len(), 50);
    assert!(t.chains[0].warmup.is_empty());
}

struct Broken {
    nan_gradient: bool,
}

impl LogDensity for Broken {
    fn dim(&self) -> usize {
        3
    }
    fn logp_and_grad(&self, _x: &[f64], g: &mut [f64]) -> Result<f64, LogDensityError> {
        if self.nan_gradient {
            g.fill(0.0);
            g[2] = f64::NAN;
            Ok(0.0)
        } else {
            Ok(f64::NEG_INFINITY)
        }
    }
}

#[test]
fn initialisation_failure_names_the_chain_and_what_was_not_finite() {
    let r = sample(
        &Broken {
            nan_gradient: false,
        },
        &Nuts::default(),
        &config(2, 10, 10, 1),
    );
    let Err(SampleError::Init(e)) = r else {
        panic!("expected an initialisation error")
    };
    assert_eq!(e.chain, 0);
    assert_eq!(e.attempts, 20);
    assert_eq!(e.last, NonFinite::LogDensity(f64::NEG_INFINITY));
    let msg = e.to_string();
    assert!(
        msg.contains("chain 0") && msg.contains("-inf") && msg.contains("20 attempt"),
        "{msg}"
    );

    let r = sample(
        &Broken { nan_gradient: true },
        &RandomWalk::default(),
        &config(1, 10, 10, 1),
    );
    let Err(SampleError::Init(e)) = r else {
        panic!("expected an initialisation error")
    };
    assert!(matches!(e.last, NonFinite::Gradient { index: 2, value } if value.is_nan()));
    assert!(e.to_string().contains("gradient component 2 is NaN"), "{e}");
}

// ---------------------------------------------------------------------------------------
// Output

#[test]
fn cmdstan_csv_and_json_summary_are_written() {
    let d = DiagGaussian::standard(3);
    let trace = sample(&d, &Nuts::default(), &config(2, 100, 50, 8)).unwrap();
    let dir = std::env::temp_dir().join(format!("trellis-samplers-csv-{}", std::process::id()));
    let paths = trace.write_cmdstan_csv(&dir, "output").unwrap();
    assert_eq!(paths.len(), 2);
    let text = std::fs::read_to_string(&paths[1]).unwrap();
    let header = text.lines().find(|l| !l.starts_with('#')).unwrap();
    assert_eq!(
        header,
        "lp__,accept_stat__,stepsize__,treedepth__,n_leapfrog__,divergent__,energy__,x.1,x.2,x.3"
    );
    assert!(text.contains("#     num_warmup = 100\n"));
    assert!(text.contains("#     save_warmup = 1\n"));
    assert!(text.contains("# Step size = "));
    assert!(text.contains("# Diagonal elements of inverse mass matrix:\n"));
    assert!(text.contains("seconds (Warm-up)"));
    let rows: Vec<Vec<f64>> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .skip(1)
        .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
        .collect();
    assert_eq!(rows.len(), 150);
    assert!(rows.iter().all(|r| r.len() == 10));
    // Last row is the last draw of chain 1, written exactly.
    let last = &trace.chains[1].draws;
    assert_eq!(&rows[149][7..], last.draw(last.len() - 1));
    assert_eq!(rows[149][0], last.stats()[last.len() - 1].lp);

    let json_path = dir.join("summary.json");
    trace.write_json_summary(&json_path).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    assert_eq!(json["sampler"], "nuts");
    assert_eq!(json["per_chain"].as_array().unwrap().len(), 2);
    assert!(json["parameters"]["x[0]"]["ess_bulk"].as_f64().unwrap() > 10.0);
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---------------------------------------------------------------------------------------
// Automatic differentiation adapter

/// A correlated 3-D Gaussian written once over `Scalar`: means (1, −2, 0.5), sds (1, 2, 0.5),
/// correlation 0.6 between the first two coordinates.
struct AdGaussian;

impl trellis_ad::ScalarFn for AdGaussian {
    fn eval<T: trellis_ad::Scalar>(&self, x: &[T]) -> T {
        let rho = 0.6;
        let z0 = (x[0] - 1.0) / 1.0;
        let z1 = (x[1] + 2.0) / 2.0;
        let z2 = (x[2] - 0.5) / 0.5;
        let q = (z0 * z0 - z0 * z1 * (2.0 * rho) + z1 * z1) / (1.0 - rho * rho);
        -(q + z2 * z2) * 0.5
    }
}

#[test]
fn scalar_fn_density_samples_a_gaussian_in_both_ad_modes() {
    use trellis_samplers::{AdMode, ScalarFnDensity};
    let x = [0.3, -1.0, 2.0];
    let (mut gr, mut gf) = ([0.0; 3], [0.0; 3]);
    let rev = ScalarFnDensity::new(AdGaussian, 3);
    let fwd = ScalarFnDensity::new(AdGaussian, 3).with_mode(AdMode::Forward);
    let lr = rev.logp_and_grad(&x, &mut gr).unwrap();
    let lf = fwd.logp_and_grad(&x, &mut gf).unwrap();
    assert!((lr - lf).abs() < 1e-14);
    for i in 0..3 {
        assert!((gr[i] - gf[i]).abs() < 1e-12);
    }
    let means = [1.0, -2.0, 0.5];
    let vars = [1.0, 4.0, 0.25];
    for (label, d) in [("reverse", rev), ("forward", fwd)] {
        let trace = sample(&d, &Nuts::default(), &config(4, 500, 1000, 17)).unwrap();
        check_all(&format!("ad {label}"), &trace, &means, &vars);
        assert_eq!(trace.divergences(), 0);
    }
}

// ---------------------------------------------------------------------------------------
// The custom-sampler example

use crate::custom_sampler;

#[test]
fn custom_sampler_example_runs_and_is_correct() {
    let trace = custom_sampler::run(&config(4, 1000, 20000, 2024));
    let sds = [0.5, 1.0, 2.0, 4.0];
    let vars: Vec<f64> = sds.iter().map(|s| s * s).collect();
    check_all("custom Barker sampler", &trace, &[0.0; 4], &vars);
    assert_eq!(trace.sampler, "barker");
    // The runner's output machinery works for it too.
    let csv = trellis_samplers::output::cmdstan_csv(&trace, &trace.chains[0]);
    assert!(csv.contains("lp__,accept_stat__"));
}
