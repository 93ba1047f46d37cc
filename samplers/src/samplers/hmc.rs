//! Static Hamiltonian Monte Carlo: a fixed (jittered) integration time, leapfrog steps, one
//! Metropolis accept/reject of the end point. Adapts like NUTS (step size and metric).

use rand::Rng;

use super::hamiltonian::{leapfrog, pair_mut, validate_max_energy_error};
use super::hamiltonian::{HamiltonianChain, HamiltonianCore};
use crate::adapt::metric::MetricKind;
use crate::adapt::{AdaptSettings, StartTuning};
use crate::density::LogDensity;
use crate::error::ConfigError;
use crate::sampler::{ChainRng, ChainStart, DrawStats, NewChain, Point, Sampler, StepResult};

/// Static HMC settings.
///
/// Each transition integrates for `integration_time × U(1 − jitter, 1 + jitter)` (rounded to
/// a whole number of steps, at least one, at most `max_steps`). The default time π/2 is a
/// quarter period of a unit-variance Gaussian in the adapted metric, where successive draws
/// are nearly independent.
#[derive(Debug, Clone)]
pub struct StaticHmc {
    /// Nominal integration time. Default π/2.
    pub integration_time: f64,
    /// Relative jitter of the integration time, in \[0, 1). Default 0.2.
    pub jitter: f64,
    /// Cap on leapfrog steps per transition. Default 1024.
    pub max_steps: usize,
    /// A trajectory diverges when its energy error exceeds this. Default 1000.
    pub max_energy_error: f64,
    /// Warm-up adaptation (step size, metric). Target acceptance 0.8 by default.
    pub adapt: AdaptSettings,
    /// Step size and metric to start from (default: the heuristic and the initial metric).
    pub start: StartTuning,
}

impl Default for StaticHmc {
    fn default() -> Self {
        Self {
            integration_time: std::f64::consts::FRAC_PI_2,
            jitter: 0.2,
            max_steps: 1024,
            max_energy_error: 1000.0,
            adapt: AdaptSettings::default(),
            start: StartTuning::default(),
        }
    }
}

impl StaticHmc {
    /// Static HMC with the defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the nominal integration time.
    pub fn with_integration_time(mut self, t: f64) -> Self {
        self.integration_time = t;
        self
    }

    /// Chooses the metric (default diagonal).
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

/// How many leapfrog steps a static trajectory takes.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Steps {
    /// `integration_time × U(1 − jitter, 1 + jitter) / ε`, rounded, in `1..=max_steps`.
    Jittered {
        integration_time: f64,
        jitter: f64,
        max_steps: usize,
    },
    /// Exactly one (MALA).
    One,
}

/// The state of one chain of static HMC or of MALA (a one-step static trajectory).
#[derive(Debug, Clone)]
pub struct HmcChain {
    pub(crate) core: HamiltonianCore,
    pub(crate) steps: Steps,
    pub(crate) max_energy_error: f64,
}

impl HamiltonianChain for HmcChain {
    fn core(&self) -> &HamiltonianCore {
        &self.core
    }

    fn core_mut(&mut self) -> &mut HamiltonianCore {
        &mut self.core
    }

    /// A number of leapfrog steps from `point` with a fresh momentum, then Metropolis.
    fn transition<D: LogDensity + ?Sized>(
        &mut self,
        density: &D,
        point: &mut Point,
        rng: &mut ChainRng,
    ) -> StepResult {
        let n_steps = match self.steps {
            Steps::One => 1,
            Steps::Jittered {
                integration_time,
                jitter,
                max_steps,
            } => {
                let u: f64 = rng.random();
                let t = integration_time * (1.0 + jitter * (2.0 * u - 1.0));
                ((t / self.core.eps).round() as usize).clamp(1, max_steps)
            }
        };
        let core = &mut self.core;
        core.states[0].load(point);
        core.states[0].refresh_momentum(&core.metric, rng);
        let h0 = core.states[0].energy();
        let mut cur = 0;
        let mut divergent = false;
        let mut n_grad = 0;
        for _ in 0..n_steps {
            let (from, to) = pair_mut(&mut core.states, cur, 1 - cur);
            leapfrog(density, &core.metric, from, to, core.eps, &mut core.scratch)?;
            n_grad += 1;
            cur = 1 - cur;
            let error = core.states[cur].energy() - h0;
            if error.is_nan() || error > self.max_energy_error {
                divergent = true;
                break;
            }
        }
        let end = &core.states[cur];
        let log_ratio = h0 - end.energy();
        let accept_stat = if divergent {
            0.0
        } else {
            log_ratio.exp().min(1.0)
        };
        let accepted = !divergent && rng.random::<f64>() < accept_stat;
        let (lp, energy) = if accepted {
            end.store(point);
            (end.logp, end.energy())
        } else {
            (point.logp, h0)
        };
        Ok(DrawStats {
            lp,
            accept_stat,
            step_size: core.eps,
            tree_depth: 0,
            n_grad,
            divergent,
            energy,
            max_depth_hit: false,
        })
    }
}

impl Sampler for StaticHmc {
    type Chain = HmcChain;

    fn name(&self) -> &str {
        "static_hmc"
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if !(self.integration_time.is_finite() && self.integration_time > 0.0) {
            return Err(ConfigError::NotPositive {
                name: "integration_time",
                value: self.integration_time,
            });
        }
        if !(0.0..1.0).contains(&self.jitter) {
            return Err(ConfigError::Other(format!(
                "setting `jitter` must lie in [0, 1) (got {})",
                self.jitter
            )));
        }
        if self.max_steps == 0 {
            return Err(ConfigError::ZeroCount { name: "max_steps" });
        }
        validate_max_energy_error(self.max_energy_error)?;
        self.adapt.validate()
    }

    fn validate_dim(&self, dim: usize) -> Result<(), ConfigError> {
        self.start.validate(self.adapt.metric, dim)
    }

    fn settings(&self) -> Vec<(String, String)> {
        let mut s = vec![
            ("algorithm".into(), "hmc".into()),
            ("engine".into(), "static".into()),
            ("int_time".into(), self.integration_time.to_string()),
            ("int_time_jitter".into(), self.jitter.to_string()),
            ("max_steps".into(), self.max_steps.to_string()),
        ];
        s.extend(self.adapt.describe());
        s
    }

    fn new_chain<D: LogDensity + ?Sized>(&self, start: ChainStart<'_, D>) -> NewChain<Self> {
        Ok(HmcChain {
            core: HamiltonianCore::new(&self.adapt, &self.start, start)?,
            steps: Steps::Jittered {
                integration_time: self.integration_time,
                jitter: self.jitter,
                max_steps: self.max_steps,
            },
            max_energy_error: self.max_energy_error,
        })
    }
}
