//! Helpers shared by the posterior predictive check tests (`ppc.rs`, `ppc_real_data.rs`).

use trellis_models::pointwise::parameter_columns;
use trellis_models::ppc::PredictiveCheck;
use trellis_models::relabel::constrained_draws;
use trellis_models::zoo::{Family, HmmModel};
use trellis_models::{BayesianModel, ModelDensity};
use trellis_samplers::{sample, Nuts, RunConfig};

/// Posterior draws of `model`: 2 chains of `iterations` warm-up and `iterations` draws
/// (sampler seed `seed`), thinned evenly to `kept` draws in all.
pub fn posterior_draws<F: Family>(
    model: &HmmModel<F>,
    seed: u64,
    iterations: usize,
    kept: usize,
) -> Vec<Vec<f64>> {
    let density = ModelDensity::new(model);
    let config = RunConfig {
        chains: 2,
        warmup: iterations,
        draws: iterations,
        seed,
        ..RunConfig::default()
    };
    let trace = sample(&density, &Nuts::new(), &config).unwrap();
    let columns = parameter_columns(model.layout(), &trace).unwrap();
    let pooled: Vec<Vec<f64>> = constrained_draws(&trace, &columns).concat();
    let step = pooled.len() / kept;
    pooled.into_iter().step_by(step).take(kept).collect()
}

/// Each statistic's p-value, for assertion messages.
pub fn describe(check: &PredictiveCheck) -> String {
    check
        .statistics
        .iter()
        .map(|s| format!("{} p = {:.3}", s.name, s.p_value))
        .collect::<Vec<_>>()
        .join(", ")
}
