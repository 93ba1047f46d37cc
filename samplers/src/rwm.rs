//! Random-walk Metropolis with a Gaussian proposal `x' = x + s · L z`, where `L Lᵀ` is the
//! adapted posterior (co)variance (diagonal by default, windows as for HMC) and the scale `s`
//! is tuned by dual averaging toward the optimal acceptance rate 0.234 (Roberts, Gelman &
//! Gilks 1997). After each covariance update the scale restarts from `2.38 / √n`.

use rand::Rng;
use rand_distr::StandardNormal;

use crate::adapt::{AdaptSettings, HamiltonianAdapter};
use crate::density::LogDensity;
use crate::error::ConfigError;
use crate::mass_matrix::{Metric, MetricKind};
use crate::sampler::{ChainRng, DrawStats, Phase, Point, Sampler, Tuning};

/// Random-walk Metropolis settings.
///
/// Differences from the Hamiltonian defaults: target acceptance 0.234, and dual-averaging
/// γ = 0.5 instead of 0.05 — a single proposal's acceptance probability is a much noisier
/// signal than NUTS's trajectory average, and with γ = 0.05 the short final window (50
/// iterations after the last covariance update) ends well below the target.
#[derive(Debug, Clone)]
pub struct RandomWalk {
    /// Adaptation: `step_size` tunes the proposal scale (target acceptance 0.234 by default),
    /// `metric` the proposal covariance (diagonal by default), `windows` when it is
    /// re-estimated. `initial_step_size` is not used: the scale starts at `2.38 / √n`.
    pub adapt: AdaptSettings,
    chain: Option<Box<RwmChain>>,
}

impl Default for RandomWalk {
    fn default() -> Self {
        let mut adapt = AdaptSettings::default();
        adapt.step_size.target_accept = 0.234;
        adapt.step_size.gamma = 0.5;
        Self { adapt, chain: None }
    }
}

impl RandomWalk {
    /// Random-walk Metropolis with the defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the target acceptance rate (default 0.234).
    pub fn with_target_accept(mut self, target: f64) -> Self {
        self.adapt.step_size.target_accept = target;
        self
    }
}

#[derive(Debug, Clone)]
struct RwmChain {
    /// Proposal covariance, stored like a metric's inverse.
    shape: Metric,
    scale: f64,
    adapter: HamiltonianAdapter,
    proposal: Point,
    z: Vec<f64>,
}

fn default_scale(dim: usize) -> f64 {
    2.38 / (dim as f64).sqrt()
}

impl Sampler for RandomWalk {
    fn name(&self) -> &str {
        "rwm"
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.adapt.validate()
    }

    fn settings(&self) -> Vec<(String, String)> {
        let mut s = vec![("algorithm".into(), "rwm".into())];
        s.extend(
            self.adapt
                .describe()
                .into_iter()
                .filter(|(k, _)| k != "stepsize"),
        );
        s
    }

    fn init<D: LogDensity + ?Sized>(
        &mut self,
        _density: &D,
        point: &Point,
        num_warmup: usize,
        _rng: &mut ChainRng,
    ) {
        let dim = point.position.len();
        let scale = default_scale(dim);
        self.chain = Some(Box::new(RwmChain {
            shape: Metric::identity(dim, self.adapt.metric == MetricKind::Dense),
            scale,
            // Dual averaging shrinks toward 10× the value it is given; for a random walk the
            // shrinkage point should be the theoretical optimum itself.
            adapter: HamiltonianAdapter::new(&self.adapt, dim, num_warmup, scale / 10.0),
            proposal: point.clone(),
            z: vec![0.0; dim],
        }));
    }

    fn step<D: LogDensity + ?Sized>(
        &mut self,
        density: &D,
        point: &mut Point,
        phase: Phase,
        rng: &mut ChainRng,
    ) -> DrawStats {
        let c = self
            .chain
            .as_mut()
            .expect("RandomWalk::step called before RandomWalk::init");
        let n = point.position.len();
        for zi in &mut c.z {
            *zi = rng.sample(StandardNormal);
        }
        let x = &mut c.proposal.position;
        x.copy_from_slice(&point.position);
        match &c.shape {
            Metric::Diag { inv, .. } => {
                for i in 0..n {
                    x[i] += c.scale * inv[i].sqrt() * c.z[i];
                }
            }
            Metric::Dense { chol, .. } => {
                for i in 0..n {
                    let lz: f64 = (0..=i).map(|k| chol[i * n + k] * c.z[k]).sum();
                    x[i] += c.scale * lz;
                }
            }
        }
        let accept_stat = match c.proposal.evaluate(density) {
            Ok(()) => (c.proposal.logp - point.logp).exp().min(1.0),
            Err(_) => 0.0,
        };
        if rng.random::<f64>() < accept_stat {
            std::mem::swap(point, &mut c.proposal);
        }
        let stats = DrawStats {
            lp: point.logp,
            accept_stat,
            step_size: c.scale,
            tree_depth: 0,
            n_grad: 1,
            divergent: false,
            energy: -point.logp,
            max_depth_hit: false,
        };
        if phase.is_warmup() {
            let (scale, updated) = c.adapter.learn(accept_stat, &point.position, &mut c.shape);
            c.scale = scale;
            if updated {
                c.scale = default_scale(n);
                c.adapter.restart_step_size(c.scale / 10.0);
            }
        }
        stats
    }

    fn end_warmup(&mut self) {
        if let Some(c) = self.chain.as_mut() {
            if let Some(s) = c.adapter.final_step_size() {
                c.scale = s;
            }
        }
    }

    fn tuning(&self) -> Tuning {
        match &self.chain {
            Some(c) => Tuning {
                step_size: Some(c.scale),
                inv_metric: Some(c.shape.to_inv_metric()),
                extra: vec![("proposal_scale".into(), c.scale)],
            },
            None => Tuning::default(),
        }
    }
}
