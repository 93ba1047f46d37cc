//! Phase-space states and the leapfrog integrator shared by NUTS, static HMC and MALA.

use crate::density::LogDensity;
use crate::mass_matrix::Metric;
use crate::sampler::{ChainRng, Point};
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
/// A failed or non-finite log-density leaves `to.logp = −∞` (infinite energy); a non-finite
/// gradient makes the kinetic energy non-finite. Either way the caller sees `energy() = ∞`.
/// `scratch` (length `n`) is only used by dense metrics.
#[inline]
pub(crate) fn leapfrog<D: LogDensity + ?Sized>(
    density: &D,
    metric: &Metric,
    from: &PhaseState,
    to: &mut PhaseState,
    eps: f64,
    scratch: &mut [f64],
) {
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
        _ => f64::NEG_INFINITY,
    };
    if to.logp == f64::NEG_INFINITY {
        // The gradient is meaningless here; keep the momentum finite and stop.
        to.p.copy_from_slice(&from.p);
        to.v.copy_from_slice(&from.v);
        to.kinetic = from.kinetic;
        return;
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
    use crate::density::LogDensityError;
    use rand::SeedableRng;

    struct Normal;
    impl LogDensity for Normal {
        fn dim(&self) -> usize {
            3
        }
        fn logp_and_grad(&self, x: &[f64], g: &mut [f64]) -> Result<f64, LogDensityError> {
            let mut lp = 0.0;
            for (gi, xi) in g.iter_mut().zip(x) {
                *gi = -xi;
                lp -= 0.5 * xi * xi;
            }
            Ok(lp)
        }
    }

    #[test]
    fn leapfrog_is_reversible_and_nearly_conserves_energy() {
        for dense in [false, true] {
            let metric = Metric::identity(3, dense);
            let mut rng = ChainRng::seed_from_u64(3);
            let mut a = PhaseState::new(3);
            a.x.copy_from_slice(&[0.3, -1.0, 2.0]);
            a.logp = Normal.logp_and_grad(&a.x.clone(), &mut a.g).unwrap();
            a.refresh_momentum(&metric, &mut rng);
            let mut b = PhaseState::new(3);
            let mut c = PhaseState::new(3);
            let mut scratch = vec![0.0; 3];
            leapfrog(&Normal, &metric, &a, &mut b, 0.1, &mut scratch);
            assert!((b.energy() - a.energy()).abs() < 1e-3);
            // Reverse: negate the step.
            leapfrog(&Normal, &metric, &b, &mut c, -0.1, &mut scratch);
            for i in 0..3 {
                assert!((c.x[i] - a.x[i]).abs() < 1e-12);
                assert!((c.p[i] - a.p[i]).abs() < 1e-12);
            }
        }
    }
}
