//! What NUTS, static HMC and MALA share: phase-space states, the leapfrog integrator, and
//! [`HamiltonianCore`] — the metric and step size of a chain with their warm-up adaptation.

use crate::adapt::metric::Metric;
use crate::adapt::step_size::find_initial_step_size;
use crate::adapt::{AdaptSettings, HamiltonianAdapter, StartTuning};
use crate::density::{LogDensity, LogDensityError};
use crate::error::ConfigError;
use crate::sampler::{Chain, ChainRng, ChainStart, Point, StepResult, Transition, Tuning};
use crate::vecmath;

/// A point of phase space with everything the samplers need about it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PhaseState {
    /// Position.
    pub x: Vec<f64>,
    /// Momentum.
    pub p: Vec<f64>,
    /// ∇ log p at `x`.
    pub g: Vec<f64>,
    /// Velocity `M⁻¹ p` ("p♯" of the no-U-turn criterion).
    pub v: Vec<f64>,
    /// log p at `x` (−∞ if it failed or was not finite).
    pub logp: f64,
    /// Kinetic energy `½ p·v`.
    pub kinetic: f64,
}

impl PhaseState {
    pub(crate) fn new(n: usize) -> Self {
        Self {
            x: vec![0.0; n],
            p: vec![0.0; n],
            g: vec![0.0; n],
            v: vec![0.0; n],
            logp: f64::NEG_INFINITY,
            kinetic: 0.0,
        }
    }

    /// Hamiltonian `−log p + ½ pᵀM⁻¹p`; +∞ when not finite.
    #[inline]
    pub(crate) fn energy(&self) -> f64 {
        let h = self.kinetic - self.logp;
        if h.is_nan() {
            f64::INFINITY
        } else {
            h
        }
    }

    /// Takes position, gradient and log-density from a chain point.
    pub(crate) fn load(&mut self, point: &Point) {
        self.x.copy_from_slice(&point.position);
        self.g.copy_from_slice(&point.gradient);
        self.logp = point.logp;
    }

    /// Writes position, gradient and log-density back to a chain point.
    pub(crate) fn store(&self, point: &mut Point) {
        point.position.copy_from_slice(&self.x);
        point.gradient.copy_from_slice(&self.g);
        point.logp = self.logp;
    }

    /// Draws a fresh momentum from `N(0, M)`.
    pub(crate) fn refresh_momentum(&mut self, metric: &Metric, rng: &mut ChainRng) {
        self.kinetic = metric.sample_momentum(rng, &mut self.p, &mut self.v);
    }
}

/// One leapfrog step of size `eps` (negative: backward in time) from `from` into `to`.
///
/// A non-finite log-density or a recoverable density error leaves `to.logp = −∞` (infinite
/// energy); a non-finite gradient makes the kinetic energy non-finite. Either way the caller
/// sees `energy() = ∞`. A density error that is not recoverable is returned (the run stops).
/// `scratch` (length `n`) is only used by dense metrics.
#[inline]
pub(crate) fn leapfrog<D: LogDensity + ?Sized>(
    density: &D,
    metric: &Metric,
    from: &PhaseState,
    to: &mut PhaseState,
    eps: f64,
    scratch: &mut [f64],
) -> Result<(), LogDensityError> {
    match metric {
        Metric::Diag { inv, .. } => {
            vecmath::leapfrog_diag_first(&from.x, &from.p, &from.g, inv, eps, &mut to.x, &mut to.p);
        }
        Metric::Dense { inv, .. } => {
            to.p.copy_from_slice(&from.p);
            vecmath::axpy(0.5 * eps, &from.g, &mut to.p);
            vecmath::matvec(inv, &to.p, scratch);
            to.x.copy_from_slice(&from.x);
            vecmath::axpy(eps, scratch, &mut to.x);
        }
    }
    to.logp = match density.logp_and_grad(&to.x, &mut to.g) {
        Ok(lp) if lp.is_finite() => lp,
        Err(e) if !e.is_recoverable() => return Err(e),
        _ => f64::NEG_INFINITY,
    };
    if to.logp == f64::NEG_INFINITY {
        // The gradient is meaningless here; keep the momentum finite and stop.
        to.p.copy_from_slice(&from.p);
        to.v.copy_from_slice(&from.v);
        to.kinetic = from.kinetic;
        return Ok(());
    }
    to.kinetic = match metric {
        Metric::Diag { inv, .. } => {
            0.5 * vecmath::leapfrog_diag_second(&mut to.p, &to.g, inv, eps, &mut to.v)
        }
        Metric::Dense { .. } => {
            vecmath::axpy(0.5 * eps, &to.g, &mut to.p);
            metric.velocity(&to.p, &mut to.v)
        }
    };
    Ok(())
}

/// Checks the divergence threshold shared by the Hamiltonian samplers.
pub(crate) fn validate_max_energy_error(value: f64) -> Result<(), ConfigError> {
    if value.is_nan() || value <= 0.0 {
        return Err(ConfigError::NotPositive {
            name: "max_energy_error",
            value,
        });
    }
    Ok(())
}

/// A Hamiltonian sampler's chain: a [`HamiltonianCore`] and a transition. The [`Chain`]
/// around it — warm-up learning after each transition, freezing the step size, reporting
/// the tuning — is written once, below. (Public in a private module: nameable only here.)
pub trait HamiltonianChain: Send {
    /// The shared part.
    fn core(&self) -> &HamiltonianCore;
    /// The shared part, mutably.
    fn core_mut(&mut self) -> &mut HamiltonianCore;
    /// One transition from `point` at the current step size and metric.
    fn transition<D: LogDensity + ?Sized>(
        &mut self,
        density: &D,
        point: &mut Point,
        rng: &mut ChainRng,
    ) -> StepResult;
}

impl<C: HamiltonianChain> Chain for C {
    fn step<D: LogDensity + ?Sized>(&mut self, t: Transition<'_, D>) -> StepResult {
        let (density, point, phase, rng) = t.into_parts();
        let stats = self.transition(density, point, rng)?;
        if phase.is_warmup() {
            self.core_mut()
                .learn(density, point, stats.accept_stat, rng)?;
        }
        Ok(stats)
    }

    fn end_warmup(&mut self) {
        self.core_mut().end_warmup();
    }

    fn tuning(&self) -> Tuning {
        self.core().tuning()
    }
}

/// Metric, step size and their warm-up adaptation, with two phase-space states for the
/// first-step heuristic (static HMC and MALA also integrate in them): one chain's part that
/// NUTS, static HMC and MALA share.
#[derive(Debug, Clone)]
pub struct HamiltonianCore {
    pub(crate) metric: Metric,
    pub(crate) eps: f64,
    adapter: HamiltonianAdapter,
    pub(crate) states: [PhaseState; 2],
    pub(crate) scratch: Vec<f64>,
}

impl HamiltonianCore {
    /// The initial metric, then Stan's first-step heuristic from `point`.
    ///
    /// `given` replaces the initial metric and step size; a given step size without warm-up
    /// is kept as it is (no heuristic, as CmdStan's non-adaptive sampling).
    pub(crate) fn new<D: LogDensity + ?Sized>(
        settings: &AdaptSettings,
        given: &StartTuning,
        start: ChainStart<'_, D>,
    ) -> Result<Self, LogDensityError> {
        let ChainStart {
            density,
            point,
            num_warmup,
            rng,
        } = start;
        let dim = point.position.len();
        let initial = Metric::initial(settings.metric, settings.initial_metric, &point.gradient);
        let mut core = Self {
            metric: given.metric(settings.metric, initial),
            eps: given.step_size.unwrap_or(settings.initial_step_size),
            adapter: HamiltonianAdapter::new(settings, dim, num_warmup, 1.0),
            states: [PhaseState::new(dim), PhaseState::new(dim)],
            scratch: vec![0.0; dim],
        };
        if given.step_size.is_none() || num_warmup > 0 {
            core.restart_step_size(density, point, rng)?;
        }
        Ok(core)
    }

    /// Stan's heuristic from the current step size at `point`; dual averaging restarts there.
    fn restart_step_size<D: LogDensity + ?Sized>(
        &mut self,
        density: &D,
        point: &Point,
        rng: &mut ChainRng,
    ) -> Result<(), LogDensityError> {
        let [a, b] = &mut self.states;
        a.load(point);
        let (metric, scratch) = (&self.metric, &mut self.scratch);
        self.eps = find_initial_step_size(self.eps, |e| {
            a.refresh_momentum(metric, rng);
            let h0 = a.energy();
            leapfrog(density, metric, a, b, e, scratch)?;
            Ok(h0 - b.energy())
        })?;
        self.adapter.restart_step_size(self.eps);
        Ok(())
    }

    /// Warm-up learning after a transition with acceptance statistic `accept_stat` that
    /// ended at `point`.
    pub(crate) fn learn<D: LogDensity + ?Sized>(
        &mut self,
        density: &D,
        point: &Point,
        accept_stat: f64,
        rng: &mut ChainRng,
    ) -> Result<(), LogDensityError> {
        let (eps, metric_updated) = self.adapter.learn_with_gradient(
            accept_stat,
            &point.position,
            Some(&point.gradient),
            &mut self.metric,
        );
        self.eps = eps;
        if metric_updated {
            self.restart_step_size(density, point, rng)?;
        }
        Ok(())
    }

    /// Freezes the step size at its dual-averaging average.
    pub(crate) fn end_warmup(&mut self) {
        if let Some(eps) = self.adapter.final_step_size() {
            self.eps = eps;
        }
    }

    /// Step size and metric for the output.
    pub(crate) fn tuning(&self) -> Tuning {
        Tuning {
            step_size: Some(self.eps),
            inv_metric: Some(self.metric.to_inv_metric()),
            extra: Vec::new(),
        }
    }
}

/// Two distinct elements of a slice, mutably and immutably.
#[inline]
pub(crate) fn pair_mut<T>(v: &mut [T], read: usize, write: usize) -> (&T, &mut T) {
    assert_ne!(read, write);
    if read < write {
        let (a, b) = v.split_at_mut(write);
        (&a[read], &mut b[0])
    } else {
        let (a, b) = v.split_at_mut(read);
        (&b[0], &mut a[write])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::density::StdNormal;
    use rand::SeedableRng;

    #[test]
    fn leapfrog_is_reversible_and_nearly_conserves_energy() {
        for dense in [false, true] {
            let metric = Metric::identity(3, dense);
            let mut rng = ChainRng::seed_from_u64(3);
            let mut a = PhaseState::new(3);
            a.x.copy_from_slice(&[0.3, -1.0, 2.0]);
            a.logp = StdNormal(3).logp_and_grad(&a.x.clone(), &mut a.g).unwrap();
            a.refresh_momentum(&metric, &mut rng);
            let mut b = PhaseState::new(3);
            let mut c = PhaseState::new(3);
            let mut scratch = vec![0.0; 3];
            leapfrog(&StdNormal(3), &metric, &a, &mut b, 0.1, &mut scratch).unwrap();
            assert!((b.energy() - a.energy()).abs() < 1e-3);
            // Reverse: negate the step.
            leapfrog(&StdNormal(3), &metric, &b, &mut c, -0.1, &mut scratch).unwrap();
            for i in 0..3 {
                assert!((c.x[i] - a.x[i]).abs() < 1e-12);
                assert!((c.p[i] - a.p[i]).abs() < 1e-12);
            }
        }
    }
}
