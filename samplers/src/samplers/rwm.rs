//! Random-walk Metropolis with a Gaussian proposal `x' = x + s · L z`, where `L Lᵀ` is the
//! adapted posterior (co)variance (diagonal by default, windows as for HMC) and the scale `s`
//! is tuned by dual averaging toward the optimal acceptance rate 0.234 (Roberts, Gelman &
//! Gilks 1997). After each covariance update the scale restarts from `2.38 / √n`.

use rand::Rng;
use rand_distr::StandardNormal;

use crate::adapt::metric::{Metric, MetricKind};
use crate::adapt::{AdaptSettings, HamiltonianAdapter};
use crate::density::LogDensity;
use crate::error::ConfigError;
use crate::sampler::{Chain, ChainStart, DrawStats, NewChain, Point, Sampler, StepResult};
use crate::sampler::{Transition, Tuning};

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
}

impl Default for RandomWalk {
    fn default() -> Self {
        let adapt = AdaptSettings::with_dual_averaging(0.234, 0.5);
        Self { adapt }
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

/// The state of one random-walk Metropolis chain.
#[derive(Debug, Clone)]
pub struct RwmChain {
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
    type Chain = RwmChain;

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

    fn new_chain<D: LogDensity + ?Sized>(&self, start: ChainStart<'_, D>) -> NewChain<Self> {
        let dim = start.point.position.len();
        let scale = default_scale(dim);
        Ok(RwmChain {
            shape: Metric::identity(dim, self.adapt.metric == MetricKind::Dense),
            scale,
            // Dual averaging shrinks toward 10× the value it is given; for a random walk the
            // shrinkage point should be the theoretical optimum itself.
            adapter: HamiltonianAdapter::new(&self.adapt, dim, start.num_warmup, scale / 10.0),
            proposal: start.point.clone(),
            z: vec![0.0; dim],
        })
    }
}

impl Chain for RwmChain {
    fn step<D: LogDensity + ?Sized>(&mut self, t: Transition<'_, D>) -> StepResult {
        let (density, point, phase, rng) = t.into_parts();
        let n = point.position.len();
        for zi in &mut self.z {
            *zi = rng.sample(StandardNormal);
        }
        let x = &mut self.proposal.position;
        x.copy_from_slice(&point.position);
        match &self.shape {
            Metric::Diag { inv, .. } => {
                for i in 0..n {
                    x[i] += self.scale * inv[i].sqrt() * self.z[i];
                }
            }
            Metric::Dense { chol, .. } => {
                for i in 0..n {
                    let lz: f64 = (0..=i).map(|k| chol[i * n + k] * self.z[k]).sum();
                    x[i] += self.scale * lz;
                }
            }
        }
        let accept_stat = if self.proposal.evaluate_proposal(density)? {
            (self.proposal.logp - point.logp).exp().min(1.0)
        } else {
            0.0
        };
        if rng.random::<f64>() < accept_stat {
            std::mem::swap(point, &mut self.proposal);
        }
        let stats = DrawStats {
            lp: point.logp,
            accept_stat,
            step_size: self.scale,
            n_grad: 1,
            energy: -point.logp,
            ..DrawStats::default()
        };
        if phase.is_warmup() {
            let (scale, updated) =
                self.adapter
                    .learn(accept_stat, &point.position, &mut self.shape);
            self.scale = scale;
            if updated {
                self.scale = default_scale(n);
                self.adapter.restart_step_size(self.scale / 10.0);
            }
        }
        Ok(stats)
    }

    fn end_warmup(&mut self) {
        if let Some(s) = self.adapter.final_step_size() {
            self.scale = s;
        }
    }

    fn tuning(&self) -> Tuning {
        Tuning {
            step_size: Some(self.scale),
            inv_metric: Some(self.shape.to_inv_metric()),
            extra: vec![("proposal_scale".into(), self.scale)],
        }
    }
}
