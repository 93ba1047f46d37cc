//! The Metropolis-adjusted Langevin algorithm.
//!
//! The proposal `x' = x + (ε²/2) M⁻¹∇log p(x) + ε M^{-1/2} z` with its Metropolis–Hastings
//! correction is exactly one leapfrog step of HMC with a fresh momentum, so MALA is written
//! that way: it shares the integrator, the metric and the adaptation of the Hamiltonian
//! samplers, with the step size tuned toward the optimal MALA acceptance rate 0.574.

use super::hamiltonian::validate_max_energy_error;
use super::hamiltonian::HamiltonianCore;
use super::hmc::{HmcChain, Steps};
use crate::adapt::metric::MetricKind;
use crate::adapt::{AdaptSettings, StartTuning};
use crate::density::LogDensity;
use crate::error::ConfigError;
use crate::sampler::{ChainStart, NewChain, Sampler};

/// MALA settings.
///
/// Differences from the Hamiltonian defaults: target acceptance 0.574 and dual-averaging
/// γ = 0.2 instead of 0.05, because one proposal's acceptance probability is a noisier
/// signal than a NUTS trajectory's average (with γ = 0.05 the final acceptance overshoots
/// the target by about 0.1).
#[derive(Debug, Clone)]
pub struct Mala {
    /// Energy error counted as a divergence. Default 1000.
    pub max_energy_error: f64,
    /// Warm-up adaptation; the target acceptance defaults to 0.574 (Roberts & Rosenthal 1998).
    pub adapt: AdaptSettings,
    /// Step size and metric to start from (default: the heuristic and the initial metric).
    pub start: StartTuning,
}

impl Default for Mala {
    fn default() -> Self {
        let adapt = AdaptSettings::with_dual_averaging(0.574, 0.2);
        Self {
            max_energy_error: 1000.0,
            adapt,
            start: StartTuning::default(),
        }
    }
}

impl Mala {
    /// MALA with the defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Chooses the metric (preconditioner; default diagonal).
    pub fn with_metric(mut self, metric: MetricKind) -> Self {
        self.adapt.metric = metric;
        self
    }

    /// Starts from a given step size and metric, e.g. an earlier run's adapted ones (see
    /// [`StartTuning`]).
    pub fn with_start(mut self, start: StartTuning) -> Self {
        self.start = start;
        self
    }
}

impl Sampler for Mala {
    /// MALA's chain is static HMC's with one leapfrog step.
    type Chain = HmcChain;

    fn name(&self) -> &str {
        "mala"
    }

    fn validate(&self) -> Result<(), ConfigError> {
        validate_max_energy_error(self.max_energy_error)?;
        self.adapt.validate()
    }

    fn validate_dim(&self, dim: usize) -> Result<(), ConfigError> {
        self.start.validate(self.adapt.metric, dim)
    }

    fn settings(&self) -> Vec<(String, String)> {
        let mut s = vec![("algorithm".into(), "mala".into())];
        s.extend(self.adapt.describe());
        s
    }

    fn new_chain<D: LogDensity + ?Sized>(&self, start: ChainStart<'_, D>) -> NewChain<Self> {
        Ok(HmcChain {
            core: HamiltonianCore::new(&self.adapt, &self.start, start)?,
            steps: Steps::One,
            max_energy_error: self.max_energy_error,
        })
    }
}
