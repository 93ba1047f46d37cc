//! posteriordb's `bball_drive_event_0-hmm_drive_0`, written as user code on the public API.
//!
//! Two hidden states; transition rows `theta1`, `theta2` ~ Dirichlet(`alpha` rows, from the
//! data); positive, ordered rates `phi` and `lambda` with `phi[1] ~ N(0, 1)`,
//! `phi[2] ~ N(3, 1)` (same for `lambda`); two independent observations per step,
//! `u[t] ~ Exponential(phi[state])` and `v[t] ~ Exponential(lambda[state])`; no
//! initial-state distribution.
//!
//! `cargo run --release -p trellis-models --example posteriordb_hmm_drive`

use trellis_ad::Scalar;
use trellis_models::distributions::exponential_lpdf;
use trellis_models::hmm::{self, Sequences};
use trellis_models::{
    BayesianModel, Emission, ModelDensity, ModelError, NameStyle, ParamLayout, Params, Prior,
    Shape, Transform,
};
use trellis_samplers::{sample, Nuts, RunConfig};

/// `(u, v)` with `u ~ Exponential(phi[k])`, `v ~ Exponential(lambda[k])`: a user-defined
/// emission of two observations per step, written once over `Scalar`.
pub struct Drive<'a, T> {
    pub phi: &'a [T],
    pub lambda: &'a [T],
}

impl<T: Scalar> Emission<T> for Drive<'_, T> {
    type Obs = (f64, f64);
    fn n_states(&self) -> usize {
        self.phi.len()
    }
    fn log_densities(&self, obs: &[(f64, f64)], t: usize, out: &mut [T]) {
        let (u, v) = obs[t];
        for (k, out) in out.iter_mut().enumerate() {
            *out = exponential_lpdf(T::constant(u), self.phi[k])
                + exponential_lpdf(T::constant(v), self.lambda[k]);
        }
    }
}

/// The posterior: data plus parameter layout.
pub struct HmmDrive {
    obs: Sequences<(f64, f64)>,
    layout: ParamLayout,
}

impl HmmDrive {
    /// The model on posteriordb's data.
    pub fn new() -> Result<Self, Box<dyn std::error::Error>> {
        let data: serde_json::Value =
            serde_json::from_str(include_str!("data/bball_drive_event_0.data.json"))?;
        let u: Vec<f64> = serde_json::from_value(data["u"].clone())?;
        let v: Vec<f64> = serde_json::from_value(data["v"].clone())?;
        let alpha: Vec<Vec<f64>> = serde_json::from_value(data["alpha"].clone())?;
        let dirichlet = |row: &[f64]| Prior::Dirichlet {
            alpha: row.to_vec(),
        };
        // Stan's x[1] ~ normal(0, 1); x[2] ~ normal(3, 1) for x = phi, lambda.
        let rate = |layout: ParamLayout, name| {
            layout.add_with_prior(
                name,
                Shape::Vector(2),
                Transform::PositiveOrdered,
                Prior::normal_each(&[0.0, 3.0], &[1.0, 1.0]),
            )
        };
        let layout = ParamLayout::new()
            .add_with_prior(
                "theta1",
                Shape::Vector(2),
                Transform::Simplex,
                dirichlet(&alpha[0]),
            )?
            .add_with_prior(
                "theta2",
                Shape::Vector(2),
                Transform::Simplex,
                dirichlet(&alpha[1]),
            )?;
        let layout = rate(rate(layout, "phi")?, "lambda")?.with_name_style(NameStyle::OneBased);
        let obs = Sequences::single(u.into_iter().zip(v).collect())?;
        Ok(Self { obs, layout })
    }
}

impl BayesianModel for HmmDrive {
    fn layout(&self) -> &ParamLayout {
        &self.layout
    }

    fn log_likelihood<T: Scalar>(&self, params: &Params<'_, T>) -> Result<T, ModelError> {
        let rows = [params.log_value(0), params.log_value(1)];
        let mut log_trans = [T::constant(0.0); 4];
        for (dst, row) in log_trans.chunks_mut(2).zip(rows) {
            dst.copy_from_slice(row.expect("a simplex provides its logs"));
        }
        let emission = Drive {
            phi: params.value(2),
            lambda: params.value(3),
        };
        let no_initial = [T::constant(0.0); 2];
        Ok(hmm::batch_log_likelihood(
            &no_initial,
            &log_trans,
            &emission,
            &self.obs,
        )?)
    }
}

#[allow(dead_code)]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let density = ModelDensity::new(HmmDrive::new()?);
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
