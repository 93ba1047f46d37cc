//! Warm-up adaptation side by side on the reference fit (the seed data, shared-signal
//! Gaussian, K = 3; 2 chains × (1000 warm-up + 1000 draws), as `trellis fit --chains 2`):
//! Stan's windows against the metric from draws and gradients, per seed. Prints gradient
//! counts and ESS per gradient, which do not depend on machine load.
//!
//! ```text
//! cargo run --release -p trellis-benches --example adapt_compare [SEEDS]   # default 5
//! ```

use trellis_models::hmm::seed_dataset;
use trellis_models::zoo::{HmmModel, SharedSignalFamily};
use trellis_models::ModelDensity;
use trellis_samplers::{sample, InitialMetric, MetricAdaptation, Nuts, RunConfig};

fn main() {
    let seeds: u64 = std::env::args()
        .nth(1)
        .map(|s| s.parse().expect("SEEDS is a count"))
        .unwrap_or(5);
    let data = seed_dataset().sequences;
    let model = HmmModel::new(SharedSignalFamily::new(3), data).expect("model");
    let density = ModelDensity::new(model);
    println!(
        "| scheme | seed | warm-up gradients per chain | leapfrog / draw | acceptance | \
         step size | min bulk ESS | ESS / gradient |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for seed in 1..=seeds {
        for (name, scheme) in [
            ("stan windows", MetricAdaptation::StanWindows),
            ("draws+gradients", MetricAdaptation::DrawsAndGradients),
        ] {
            let nuts = Nuts::new()
                .with_initial_metric(InitialMetric::Gradient)
                .with_metric_adaptation(scheme);
            let config = RunConfig {
                chains: 2,
                warmup: 1000,
                draws: 1000,
                seed,
                progress: false,
                ..RunConfig::default()
            };
            let trace = sample(&density, &nuts, &config).expect("run");
            let warm: Vec<u64> = trace
                .chains
                .iter()
                .map(|c| c.warmup.stats().iter().map(|s| s.n_grad as u64).sum())
                .collect();
            let draws: Vec<_> = trace.chains.iter().flat_map(|c| c.draws.stats()).collect();
            let sampling: u64 = draws.iter().map(|s| s.n_grad as u64).sum();
            let accept = draws.iter().map(|s| s.accept_stat).sum::<f64>() / draws.len() as f64;
            let steps: Vec<String> = draws
                .iter()
                .step_by(1000)
                .map(|s| format!("{:.3}", s.step_size))
                .collect();
            let min_ess = trace
                .summary()
                .expect("summary")
                .rows()
                .iter()
                .map(|r| r.ess_bulk)
                .filter(|e| e.is_finite())
                .fold(f64::INFINITY, f64::min);
            let total = warm.iter().sum::<u64>() + sampling;
            println!(
                "| {name} | {seed} | {warm:?} | {:.2} | {accept:.3} | {} | {min_ess:.0} | {:.4} |",
                sampling as f64 / draws.len() as f64,
                steps.join(", "),
                min_ess / total as f64
            );
        }
    }
}
