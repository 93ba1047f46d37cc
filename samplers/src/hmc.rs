//! Static Hamiltonian Monte Carlo: a fixed (jittered) integration time, leapfrog steps, one
//! Metropolis accept/reject of the end point. Adapts like NUTS (step size and metric).

use rand::Rng;

use crate::adapt::{AdaptSettings, HamiltonianAdapter};
use crate::density::LogDensity;
use crate::error::ConfigError;
use crate::hamiltonian::{leapfrog, pair_mut, PhaseState};
use crate::mass_matrix::{Metric, MetricKind};
use crate::sampler::{ChainRng, DrawStats, Phase, Point, Sampler, Tuning};
use crate::step_size::find_initial_step_size;

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
    core: Option<Box<HmcCore>>,
}

impl Default for StaticHmc {
    fn default() -> Self {
        Self {
            integration_time: std::f64::consts::FRAC_PI_2,
            jitter: 0.2,
            max_steps: 1024,
            max_energy_error: 1000.0,
            adapt: AdaptSettings::default(),
            core: None,
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
}

/// Metric, step size, adaptation and two phase-space states: the machinery static HMC and
/// MALA share.
#[derive(Debug, Clone)]
pub(crate) struct HmcCore {
    pub metric: Metric,
    pub eps: f64,
    adapter: HamiltonianAdapter,
    states: [PhaseState; 2],
    scratch: Vec<f64>,
}

impl HmcCore {
    pub(crate) fn new<D: LogDensity + ?Sized>(
        settings: &AdaptSettings,
        density: &D,
        point: &Point,
        num_warmup: usize,
        rng: &mut ChainRng,
    ) -> Self {
        let dim = point.position.len();
        let mut core = Self {
            metric: Metric::initial(settings, &point.gradient),
            eps: settings.initial_step_size,
            adapter: HamiltonianAdapter::new(settings, dim, num_warmup, 1.0),
            states: [PhaseState::new(dim), PhaseState::new(dim)],
            scratch: vec![0.0; dim],
        };
        core.eps = core.init_step_size(density, point, core.eps, rng);
        core.adapter.restart_step_size(core.eps);
        core
    }

    fn init_step_size<D: LogDensity + ?Sized>(
        &mut self,
        density: &D,
        point: &Point,
        eps: f64,
        rng: &mut ChainRng,
    ) -> f64 {
        let [a, b] = &mut self.states;
        a.load(point);
        let (metric, scratch) = (&self.metric, &mut self.scratch);
        find_initial_step_size(eps, |e| {
            a.refresh_momentum(metric, rng);
            let h0 = a.energy();
            leapfrog(density, metric, a, b, e, scratch);
            h0 - b.energy()
        })
    }

    /// `n_steps` leapfrog steps from `point` with a fresh momentum, then Metropolis.
    pub(crate) fn transition<D: LogDensity + ?Sized>(
        &mut self,
        density: &D,
        point: &mut Point,
        n_steps: usize,
        max_energy_error: f64,
        rng: &mut ChainRng,
    ) -> DrawStats {
        self.states[0].load(point);
        self.states[0].refresh_momentum(&self.metric, rng);
        let h0 = self.states[0].energy();
        let mut cur = 0;
        let mut divergent = false;
        let mut n_grad = 0;
        for _ in 0..n_steps {
            let (from, to) = pair_mut(&mut self.states, cur, 1 - cur);
            leapfrog(density, &self.metric, from, to, self.eps, &mut self.scratch);
            n_grad += 1;
            cur = 1 - cur;
            let error = self.states[cur].energy() - h0;
            if error.is_nan() || error > max_energy_error {
                divergent = true;
                break;
            }
        }
        let end = &self.states[cur];
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
        DrawStats {
            lp,
            accept_stat,
            step_size: self.eps,
            tree_depth: 0,
            n_grad,
            divergent,
            energy,
            max_depth_hit: false,
        }
    }

    /// Warm-up learning after a transition.
    pub(crate) fn adapt<D: LogDensity + ?Sized>(
        &mut self,
        density: &D,
        point: &Point,
        accept_stat: f64,
        rng: &mut ChainRng,
    ) {
        let (eps, metric_updated) =
            self.adapter
                .learn(accept_stat, &point.position, &mut self.metric);
        self.eps = eps;
        if metric_updated {
            self.eps = self.init_step_size(density, point, self.eps, rng);
            self.adapter.restart_step_size(self.eps);
        }
    }

    pub(crate) fn end_warmup(&mut self) {
        if let Some(eps) = self.adapter.final_step_size() {
            self.eps = eps;
        }
    }

    pub(crate) fn tuning(&self) -> Tuning {
        Tuning {
            step_size: Some(self.eps),
            inv_metric: Some(self.metric.to_inv_metric()),
            extra: Vec::new(),
        }
    }
}

impl Sampler for StaticHmc {
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
        if self.max_energy_error.is_nan() || self.max_energy_error <= 0.0 {
            return Err(ConfigError::NotPositive {
                name: "max_energy_error",
                value: self.max_energy_error,
            });
        }
        self.adapt.validate()
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
            .expect("StaticHmc::step called before StaticHmc::init");
        let u: f64 = rng.random();
        let t = self.integration_time * (1.0 + self.jitter * (2.0 * u - 1.0));
        let n_steps = ((t / core.eps).round() as usize).clamp(1, self.max_steps);
        let stats = core.transition(density, point, n_steps, self.max_energy_error, rng);
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
