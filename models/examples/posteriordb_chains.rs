//! Stuck chains on posteriordb's `hmm_drive`: many chains (default 48) under each warm-up
//! metric adaptation, counting those whose sampling phase stays in a minor mode.
//!
//! A chain counts as stuck when its mean `lp__` over the draws lies more than
//! [`STUCK_LP_GAP`] below the median chain's: the posterior's `lp__` has a standard deviation
//! of about √(d/2) ≈ 1.7 for its 6 parameters, so a mean 5 lower is not a chain that mixes in
//! the main mode. Also prints each scheme's warm-up gradients per chain (median, max, and
//! max / median: the slowest chain sets a fit's wall time), min bulk ESS per gradient, and the
//! chains with divergent transitions after warm-up (a chain can mix in the main mode and still
//! leave warm-up with a step size or metric that diverges there, which the `lp__` gap misses);
//! each of those is listed on stderr with its divergences, step size and mean `lp__`.
//!
//! ```text
//! cargo run --release -p trellis-models --example posteriordb_chains [CHAINS] [SEED] [CANDIDATES]
//! ```
//!
//! `CANDIDATES` (default 1) is [`InitSettings::candidates`]: each chain starts at the best of
//! that many jittered points (`trellis fit` uses 32).

#[allow(dead_code)]
#[path = "posteriordb_hmm_drive.rs"]
mod drive;

use trellis_models::ModelDensity;
use trellis_samplers::{sample, InitSettings, InitialMetric, MetricAdaptation, Nuts, RunConfig};

/// How far (in log density) below the median chain's mean `lp__` a stuck chain's lies.
const STUCK_LP_GAP: f64 = 5.0;

/// The upper median of `xs` (the element at n / 2 once sorted).
fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let chains: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(48);
    let seed: u64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(12);
    let candidates: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(1);
    let density = ModelDensity::new(drive::HmmDrive::new()?);
    println!(
        "| scheme | chains | init candidates | stuck | divergent | warm-up gradients median / max (ratio) | min bulk ESS / gradient |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (name, scheme) in [
        ("stan windows", MetricAdaptation::StanWindows),
        ("draws+gradients", MetricAdaptation::DrawsAndGradients),
    ] {
        let nuts = Nuts::new()
            .with_initial_metric(InitialMetric::Gradient)
            .with_metric_adaptation(scheme);
        let config = RunConfig {
            chains,
            seed,
            progress: false,
            init: InitSettings {
                candidates,
                ..InitSettings::default()
            },
            ..RunConfig::default()
        };
        let trace = sample(&density, &nuts, &config)?;
        let mut mean_lp: Vec<f64> = trace
            .chains
            .iter()
            .map(|c| {
                let s = c.draws.stats();
                s.iter().map(|s| s.lp).sum::<f64>() / s.len() as f64
            })
            .collect();
        // Every iteration's gradients are counted whether its draw is kept or not.
        let warm: Vec<f64> = trace
            .chains
            .iter()
            .map(|c| {
                let sampling: u64 = c.draws.stats().iter().map(|s| u64::from(s.n_grad)).sum();
                (c.gradient_evaluations - sampling) as f64
            })
            .collect();
        let all: f64 = trace
            .chains
            .iter()
            .map(|c| c.gradient_evaluations as f64)
            .sum();
        let centre = median(mean_lp.clone());
        let stuck = mean_lp
            .iter()
            .filter(|&&m| m < centre - STUCK_LP_GAP)
            .count();
        let mut divergent = 0;
        let counts = trace.divergences_per_chain();
        for ((c, lp), &count) in trace.chains.iter().zip(&mean_lp).zip(&counts) {
            if count > 0 {
                divergent += 1;
                eprintln!(
                    "{name}: chain {} {count} divergences, step size {:.3}, mean lp {lp:.2}",
                    c.chain,
                    c.tuning.step_size.unwrap_or(f64::NAN)
                );
            }
        }
        let steps = median(
            trace
                .chains
                .iter()
                .filter_map(|c| c.tuning.step_size)
                .collect(),
        );
        eprintln!("{name}: median step size {steps:.3}");
        let max_warm = warm.iter().copied().fold(0.0, f64::max);
        let median_warm = median(warm.clone());
        let min_ess = trace
            .summary()?
            .rows()
            .iter()
            .map(|r| r.ess_bulk)
            .fold(f64::INFINITY, f64::min);
        mean_lp.sort_by(f64::total_cmp);
        println!(
            "| {name} | {chains} | {candidates} | {stuck} | {divergent} | {median_warm:.0} / {max_warm:.0} ({:.2}) | {:.4} |",
            max_warm / median_warm,
            min_ess / all
        );
        eprintln!(
            "{name}: lowest chain mean lp {:.2}, median {centre:.2}",
            mean_lp[0]
        );
    }
    Ok(())
}
