//! posteriordb's `hmm_example-hmm_example`, written as user code on the public API.
//!
//! Two hidden states; transition rows `theta1`, `theta2` are simplexes with flat priors;
//! positive, ordered state means `mu` with `mu[1] ~ N(3, 1)`, `mu[2] ~ N(10, 1)`;
//! `y[t] ~ N(mu[state], 1)`; no initial-state distribution.
//!
//! `cargo run --release -p trellis-models --example posteriordb_hmm_example`

use trellis_ad::Scalar;
use trellis_models::distributions::normal_lpdf;
use trellis_models::hmm::{self, Sequences};
use trellis_models::{
    BayesianModel, Emission, ModelDensity, ModelError, NameStyle, ParamLayout, Params, Prior,
    Shape, Transform,
};
use trellis_samplers::{sample, Nuts, RunConfig};

/// `y ~ Normal(mu[k], 1)`: the emission, written once over `Scalar`.
pub struct UnitNormal<'a, T> {
    pub mu: &'a [T],
}

impl<T: Scalar> Emission<T> for UnitNormal<'_, T> {
    type Obs = f64;
    fn n_states(&self) -> usize {
        self.mu.len()
    }
    fn log_densities(&self, y: &[f64], t: usize, out: &mut [T]) {
        for (out, &mu) in out.iter_mut().zip(self.mu) {
            *out = normal_lpdf(T::constant(y[t]), mu, T::constant(1.0));
        }
    }
}

/// The posterior: data plus parameter layout.
pub struct HmmExample {
    y: Sequences<f64>,
    layout: ParamLayout,
}

impl HmmExample {
    /// The model on posteriordb's data.
    pub fn new() -> Result<Self, Box<dyn std::error::Error>> {
        let data: serde_json::Value =
            serde_json::from_str(include_str!("data/hmm_example.data.json"))?;
        let y: Vec<f64> = serde_json::from_value(data["y"].clone())?;
        let layout = ParamLayout::new()
            .add_with_prior("theta1", Shape::Vector(2), Transform::Simplex, Prior::Flat)?
            .add_with_prior("theta2", Shape::Vector(2), Transform::Simplex, Prior::Flat)?
            // Stan's mu[1] ~ normal(3, 1); mu[2] ~ normal(10, 1): one prior per element.
            .add_with_prior(
                "mu",
                Shape::Vector(2),
                Transform::PositiveOrdered,
                Prior::normal_each(&[3.0, 10.0], &[1.0, 1.0]),
            )?
            .with_name_style(NameStyle::OneBased);
        Ok(Self {
            y: Sequences::single(y)?,
            layout,
        })
    }
}

impl BayesianModel for HmmExample {
    fn layout(&self) -> &ParamLayout {
        &self.layout
    }

    fn log_likelihood<T: Scalar>(&self, params: &Params<'_, T>) -> Result<T, ModelError> {
        let emission = UnitNormal {
            mu: params.value(2),
        };
        two_state_log_likelihood(params, &emission, &self.y)
    }
}

/// The log-likelihood of a two-state HMM whose transition rows are the simplex parameters 0
/// and 1 of `params`, with no initial-state distribution (every initial log-probability is
/// 0), as both posteriordb HMMs have it.
pub fn two_state_log_likelihood<T: Scalar, E: Emission<T> + Sync>(
    params: &Params<'_, T>,
    emission: &E,
    data: &Sequences<E::Obs>,
) -> Result<T, ModelError>
where
    E::Obs: Sync,
{
    // Exact log-probabilities of the transition rows, straight from the simplex transform.
    let rows = [params.log_value(0), params.log_value(1)];
    let mut log_trans = [T::constant(0.0); 4];
    for (dst, row) in log_trans.chunks_mut(2).zip(rows) {
        dst.copy_from_slice(row.expect("a simplex provides its logs"));
    }
    let no_initial = [T::constant(0.0); 2];
    Ok(hmm::batch_log_likelihood(
        &no_initial,
        &log_trans,
        emission,
        data,
    )?)
}

/// Samples `model` with NUTS (4 chains, seed 1) and prints the summary, the speed and the
/// divergences.
pub fn sample_and_report<M: BayesianModel>(model: M) -> Result<(), Box<dyn std::error::Error>> {
    let density = ModelDensity::new(model);
    let config = RunConfig {
        chains: 4,
        seed: 1,
        ..RunConfig::default()
    };
    let started = std::time::Instant::now();
    let trace = sample(&density, &Nuts::new(), &config)?;
    let seconds = started.elapsed().as_secs_f64();
    let summary = trace.summary()?;
    println!("{summary}");
    let min_ess = summary
        .rows()
        .iter()
        .map(|r| r.ess_bulk)
        .fold(f64::INFINITY, f64::min);
    let draws = (config.chains * config.draws) as f64;
    println!(
        "{seconds:.2} s: {:.0} draws/s, {:.0} ESS/s (lowest bulk ESS {min_ess:.0}), {} divergences",
        draws / seconds,
        min_ess / seconds,
        trace.divergences()
    );
    Ok(())
}

#[allow(dead_code)]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    sample_and_report(HmmExample::new()?)
}
