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
use trellis_models::hmm::Sequences;
use trellis_models::{
    BayesianModel, Emission, ModelError, NameStyle, ParamLayout, Params, Prior, Shape, Transform,
};

// The two-state likelihood and the sampling report are the `hmm_example` model's.
#[allow(dead_code)]
#[path = "posteriordb_hmm_example.rs"]
pub mod hmm_example;
use hmm_example::{sample_and_report, two_state_log_likelihood};

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
    layout: ParamLayout,
    obs: Sequences<(f64, f64)>,
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
    fn log_likelihood<T: Scalar>(&self, params: &Params<'_, T>) -> Result<T, ModelError> {
        let emission = Drive {
            phi: params.value(2),
            lambda: params.value(3),
        };
        two_state_log_likelihood(params, &emission, &self.obs)
    }

    fn layout(&self) -> &ParamLayout {
        &self.layout
    }
}

#[allow(dead_code)]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    sample_and_report(HmmDrive::new()?)
}
