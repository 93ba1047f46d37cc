//! Warm-up adaptation side by side on the reference fit (the seed data, shared-signal
//! Gaussian, K = 3; 2 chains × (1000 warm-up + 1000 draws), as `trellis fit --chains 2`):
//! Stan's windows against the metric from draws and gradients, per seed. Prints gradient
//! counts and ESS per gradient, which do not depend on machine load, then per scheme the
//! medians over seeds and the slowest chain's warm-up against the median chain's (over all
//! chains of all seeds: the slowest chain sets a fit's wall time).
//!
//! ```text
//! cargo run --release -p trellis-benches --bin adapt_compare [SEEDS]   # default 5
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
    let schemes = [
        ("stan windows", MetricAdaptation::StanWindows),
        ("draws+gradients", MetricAdaptation::DrawsAndGradients),
    ];
    // Per scheme: ESS per gradient and sampling acceptance per seed, warm-up per chain.
    let mut tally = vec![(Vec::new(), Vec::new(), Vec::new()); schemes.len()];
    for seed in 1..=seeds {
        for ((name, scheme), (ess_per_grad, acceptance, warmups)) in
            schemes.iter().zip(tally.iter_mut())
        {
            let (name, scheme) = (*name, *scheme);
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
            ess_per_grad.push(min_ess / total as f64);
            acceptance.push(accept);
            warmups.extend(warm.iter().map(|&w| w as f64));
        }
    }
    println!();
    println!(
        "| scheme | median ESS / gradient | median acceptance | warm-up gradients per chain: \
         median, max, max / median |"
    );
    println!("|---|---|---|---|");
    for ((name, _), (ess_per_grad, acceptance, warmups)) in schemes.iter().zip(&mut tally) {
        let max = warmups.iter().copied().fold(0.0, f64::max);
        let mid = median(warmups);
        println!(
            "| {name} | {:.4} | {:.3} | {mid:.0}, {max:.0}, {:.2} |",
            median(ess_per_grad),
            median(acceptance),
            max / mid
        );
    }
}

/// The median of `xs` (sorted in place).
fn median(xs: &mut [f64]) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        0.5 * (xs[n / 2 - 1] + xs[n / 2])
    }
}
