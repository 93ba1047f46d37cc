//! Warm-up adaptation of the Hamiltonian samplers, as Stan does it: dual-averaging step size
//! throughout, and the metric estimated in windows — an initial fast interval (75
//! iterations), slow windows doubling from 25, a terminal fast interval (50) — each window's
//! (co)variance estimate regularised toward the identity.
//!
//! The parts are leaves that [`HamiltonianAdapter`] composes, as nuts-rs's adapt strategy
//! does: [`step_size`] (dual averaging and the first-step heuristic), [`metric`] (the metric
//! itself), [`welford`] (running (co)variance estimates) and [`windows`] (the schedule).

pub mod metric;
pub mod step_size;
pub(crate) mod welford;
pub mod windows;

use serde::{Deserialize, Serialize};

use crate::error::ConfigError;
use metric::{InitialMetric, Metric, MetricKind};
use step_size::{DualAveraging, DualAveragingSettings};
use welford::{WelfordCov, WelfordVar};
use windows::{WindowSchedule, WindowSettings};

/// Warm-up settings shared by the gradient-based samplers.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AdaptSettings {
    /// Dual averaging of the step size (target acceptance, γ, t₀, κ).
    pub step_size: DualAveragingSettings,
    /// Metric to use and adapt (diagonal by default).
    pub metric: MetricKind,
    /// Warm-up windows of metric adaptation.
    pub windows: WindowSettings,
    /// Step size the initial heuristic starts from. Default 1.
    pub initial_step_size: f64,
    /// The metric before the first adaptation window closes. Default: Stan's identity.
    pub initial_metric: InitialMetric,
}

impl Default for AdaptSettings {
    fn default() -> Self {
        Self {
            step_size: DualAveragingSettings::default(),
            metric: MetricKind::Diag,
            windows: WindowSettings::default(),
            initial_step_size: 1.0,
            initial_metric: InitialMetric::Identity,
        }
    }
}

impl AdaptSettings {
    /// The defaults with dual averaging toward `target_accept` at regularisation scale
    /// `gamma` (the single-proposal samplers want a larger γ than NUTS's 0.05).
    pub fn with_dual_averaging(target_accept: f64, gamma: f64) -> Self {
        let mut adapt = Self::default();
        adapt.step_size.target_accept = target_accept;
        adapt.step_size.gamma = gamma;
        adapt
    }

    /// Checks ranges (target acceptance in (0, 1), positive γ, t₀, κ, initial step size).
    pub fn validate(&self) -> Result<(), ConfigError> {
        let d = self.step_size.target_accept;
        if !(d > 0.0 && d < 1.0) {
            return Err(ConfigError::TargetAccept(d));
        }
        for (name, value) in [
            ("gamma", self.step_size.gamma),
            ("t0", self.step_size.t0),
            ("kappa", self.step_size.kappa),
            ("initial_step_size", self.initial_step_size),
        ] {
            if !(value.is_finite() && value > 0.0) {
                return Err(ConfigError::NotPositive { name, value });
            }
        }
        Ok(())
    }

    /// `key = value` lines for output headers, in CmdStan's vocabulary.
    pub(crate) fn describe(&self) -> Vec<(String, String)> {
        let s = &self.step_size;
        vec![
            ("delta".into(), s.target_accept.to_string()),
            ("gamma".into(), s.gamma.to_string()),
            ("kappa".into(), s.kappa.to_string()),
            ("t0".into(), s.t0.to_string()),
            ("init_buffer".into(), self.windows.init_buffer.to_string()),
            ("term_buffer".into(), self.windows.term_buffer.to_string()),
            ("window".into(), self.windows.base_window.to_string()),
            ("metric".into(), self.metric.stan_name().into()),
            ("stepsize".into(), self.initial_step_size.to_string()),
            (
                "initial_metric".into(),
                format!("{:?}", self.initial_metric).to_lowercase(),
            ),
        ]
    }
}

/// Running estimate of the metric within a window.
#[derive(Debug, Clone, PartialEq)]
enum Estimator {
    None,
    Var(WelfordVar),
    Cov(WelfordCov),
}

/// Step size and metric adaptation of one chain during warm-up.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct HamiltonianAdapter {
    dual: DualAveraging,
    schedule: WindowSchedule,
    estimator: Estimator,
    scratch: Vec<f64>,
}

impl HamiltonianAdapter {
    pub(crate) fn new(settings: &AdaptSettings, dim: usize, num_warmup: usize, eps: f64) -> Self {
        let estimator = match settings.metric {
            MetricKind::Diag => Estimator::Var(WelfordVar::new(dim)),
            MetricKind::Dense => Estimator::Cov(WelfordCov::new(dim)),
            MetricKind::Unit => Estimator::None,
        };
        let scratch = match settings.metric {
            MetricKind::Dense => vec![0.0; dim * dim],
            _ => vec![0.0; dim],
        };
        Self {
            dual: DualAveraging::new(settings.step_size, eps),
            schedule: WindowSchedule::new(settings.windows, num_warmup),
            estimator,
            scratch,
        }
    }

    /// Learns from one warm-up transition. Returns the next step size, and whether the metric
    /// was just replaced (then the caller re-runs the step-size heuristic and calls
    /// [`HamiltonianAdapter::restart_step_size`]).
    pub(crate) fn learn(
        &mut self,
        accept_stat: f64,
        position: &[f64],
        metric: &mut Metric,
    ) -> (f64, bool) {
        let eps = self.dual.update(accept_stat);
        let (add, end) = self.schedule.tick();
        let mut updated = false;
        match &mut self.estimator {
            Estimator::None => {}
            Estimator::Var(w) => {
                if add {
                    w.add(position);
                }
                if end {
                    let n = w.moments.num_samples() as f64;
                    w.variance(&mut self.scratch);
                    for v in &mut self.scratch {
                        *v = (n / (n + 5.0)) * *v + 1e-3 * (5.0 / (n + 5.0));
                    }
                    if self.scratch.iter().all(|v| v.is_finite() && *v > 0.0) {
                        metric.set_diag(&self.scratch);
                        updated = true;
                    }
                    w.moments.restart();
                }
            }
            Estimator::Cov(w) => {
                if add {
                    w.add(position);
                }
                if end {
                    let n = w.moments.num_samples() as f64;
                    let d = position.len();
                    w.covariance(&mut self.scratch);
                    for v in &mut self.scratch {
                        *v *= n / (n + 5.0);
                    }
                    for i in 0..d {
                        self.scratch[i * d + i] += 1e-3 * (5.0 / (n + 5.0));
                    }
                    updated = self.scratch.iter().all(|v| v.is_finite())
                        && metric.set_dense(d, &self.scratch);
                    w.moments.restart();
                }
            }
        }
        (eps, updated)
    }

    /// Restarts dual averaging around a new step size (after a metric update).
    pub(crate) fn restart_step_size(&mut self, eps: f64) {
        self.dual.restart(eps);
    }

    /// The step size to use after warm-up, if any adaptation happened.
    pub(crate) fn final_step_size(&self) -> Option<f64> {
        self.dual.final_step_size()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adapter_regularises_the_variance_toward_identity() {
        let settings = AdaptSettings::default();
        let mut a = HamiltonianAdapter::new(&settings, 1, 1000, 1.0);
        let mut metric = Metric::identity(1, false);
        let mut updates = 0;
        for i in 0..100 {
            let x = if i % 2 == 0 { 3.0 } else { -3.0 };
            let (_, up) = a.learn(0.8, &[x], &mut metric);
            updates += up as usize;
        }
        assert_eq!(updates, 1);
        // Iterations 75..=99 are the first slow window: 25 samples, sample variance shrunk
        // toward 1e-3 with weight 5 / (n + 5).
        let xs: Vec<f64> = (75..100)
            .map(|i| if i % 2 == 0 { 3.0 } else { -3.0 })
            .collect();
        let m = xs.iter().sum::<f64>() / 25.0;
        let var = xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / 24.0;
        let n = 25.0;
        let want = n / (n + 5.0) * var + 1e-3 * 5.0 / (n + 5.0);
        match metric {
            Metric::Diag { inv, .. } => assert!((inv[0] - want).abs() < 1e-12),
            _ => unreachable!(),
        }
    }
}
