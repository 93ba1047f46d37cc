//! The Metropolis-adjusted Langevin algorithm.
//!
//! The proposal `x' = x + (ε²/2) M⁻¹∇log p(x) + ε M^{-1/2} z` with its Metropolis–Hastings
//! correction is exactly one leapfrog step of HMC with a fresh momentum, so MALA is written
//! that way: it shares the integrator, the metric and the adaptation of the Hamiltonian
//! samplers, with the step size tuned toward the optimal MALA acceptance rate 0.574.

use crate::adapt::AdaptSettings;
use crate::density::LogDensity;
use crate::error::ConfigError;
use crate::hmc::HmcCore;
use crate::mass_matrix::MetricKind;
use crate::sampler::{ChainRng, DrawStats, Phase, Point, Sampler, Tuning};

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
    core: Option<Box<HmcCore>>,
}

impl Default for Mala {
    fn default() -> Self {
        let mut adapt = AdaptSettings::default();
        adapt.step_size.target_accept = 0.574;
        adapt.step_size.gamma = 0.2;
        Self {
            max_energy_error: 1000.0,
            adapt,
            core: None,
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
}

impl Sampler for Mala {
    fn name(&self) -> &str {
        "mala"
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.max_energy_error.is_nan() || self.max_energy_error <= 0.0 {
            return Err(ConfigError::NotPositive {
                name: "max_energy_error",
                value: self.max_energy_error,
            });
        }
        self.adapt.validate()
    }

    fn settings(&self) -> Vec<(String, String)> {
        let mut s = vec![("algorithm".into(), "mala".into())];
        s.extend(self.adapt.describe());
        s
    }

    fn init<D: LogDensity + ?Sized>(
        &mut self,
        density: &D,
        point: &Point,
        num_warmup: usize,
        rng: &mut ChainRng,
    ) {
        self.core = Some(Box::new(HmcCore::new(
            &self.adapt,
            density,
            point,
            num_warmup,
            rng,
        )));
    }

    fn step<D: LogDensity + ?Sized>(
        &mut self,
        density: &D,
        point: &mut Point,
        phase: Phase,
        rng: &mut ChainRng,
    ) -> DrawStats {
        let core = self
            .core
            .as_mut()
            .expect("Mala::step called before Mala::init");
        let stats = core.transition(density, point, 1, self.max_energy_error, rng);
        if phase.is_warmup() {
            core.adapt(density, point, stats.accept_stat, rng);
        }
        stats
    }

    fn end_warmup(&mut self) {
        if let Some(core) = self.core.as_mut() {
            core.end_warmup();
        }
    }

    fn tuning(&self) -> Tuning {
        self.core.as_ref().map(|c| c.tuning()).unwrap_or_default()
    }
}
