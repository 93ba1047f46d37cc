//! The metric (inverse mass matrix) of the Hamiltonian samplers — diagonal or dense — and the
//! metric a chain starts warm-up with.

use nalgebra::DMatrix;
use rand::Rng;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

use crate::sampler::InvMetric;
use crate::vecmath;

/// Which metric a Hamiltonian sampler uses and adapts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricKind {
    /// Diagonal inverse mass matrix adapted to the posterior variances (Stan's `diag_e`).
    #[default]
    Diag,
    /// Dense inverse mass matrix adapted to the posterior covariance (Stan's `dense_e`).
    Dense,
    /// Identity, never adapted (Stan's `unit_e`).
    Unit,
}

impl MetricKind {
    /// Stan's name for this metric.
    pub fn stan_name(self) -> &'static str {
        match self {
            MetricKind::Diag => "diag_e",
            MetricKind::Dense => "dense_e",
            MetricKind::Unit => "unit_e",
        }
    }
}

/// The (diagonal) metric a chain starts warm-up with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum InitialMetric {
    /// The identity, as Stan: until the first window closes (iteration 100 by default) the
    /// step size must suit the narrowest posterior direction.
    #[default]
    Identity,
    /// `M⁻¹ᵢᵢ = 1 / |∂ log p / ∂xᵢ|` at the initial point (nutpie's start), clamped to
    /// `[1e-8, 1e4]`; 1 where that partial is zero or not finite. On posteriors whose scales
    /// differ by orders of magnitude it spares the early warm-up most of its long
    /// trajectories; the windows then adapt from there as usual.
    Gradient,
}

impl InitialMetric {
    /// The diagonal `M⁻¹` to start from, given the gradient at the initial point.
    pub(crate) fn diagonal(self, gradient: &[f64]) -> Option<Vec<f64>> {
        match self {
            InitialMetric::Identity => None,
            InitialMetric::Gradient => Some(
                gradient
                    .iter()
                    .map(|g| {
                        let a = g.abs();
                        if a.is_finite() && a > 0.0 {
                            (1.0 / a).clamp(1e-8, 1e4)
                        } else {
                            1.0
                        }
                    })
                    .collect(),
            ),
        }
    }
}

/// Euclidean metric: kinetic energy `½ pᵀ M⁻¹ p`, momenta drawn from `N(0, M)`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Metric {
    /// Diagonal `M⁻¹` and `√M` (to draw momenta).
    Diag { inv: Vec<f64>, sqrt_mass: Vec<f64> },
    /// Dense row-major `M⁻¹` and its lower Cholesky factor `L` (`M⁻¹ = L Lᵀ`).
    Dense { inv: Vec<f64>, chol: Vec<f64> },
}

impl Metric {
    /// Identity metric, diagonal or dense storage.
    pub(crate) fn identity(n: usize, dense: bool) -> Self {
        if dense {
            let mut inv = vec![0.0; n * n];
            for i in 0..n {
                inv[i * n + i] = 1.0;
            }
            Metric::Dense {
                chol: inv.clone(),
                inv,
            }
        } else {
            Metric::Diag {
                inv: vec![1.0; n],
                sqrt_mass: vec![1.0; n],
            }
        }
    }

    /// The metric a chain starts warm-up with: identity (Stan) or, with
    /// [`InitialMetric::Gradient`], the diagonal from the gradient at the initial point;
    /// stored dense for [`MetricKind::Dense`].
    pub(crate) fn initial(kind: MetricKind, initial: InitialMetric, gradient: &[f64]) -> Self {
        let n = gradient.len();
        let dense = kind == MetricKind::Dense;
        let mut metric = Metric::identity(n, dense);
        if let Some(inv) = initial.diagonal(gradient) {
            if dense {
                let mut full = vec![0.0; n * n];
                for (i, v) in inv.iter().enumerate() {
                    full[i * n + i] = *v;
                }
                metric.set_dense(n, &full);
            } else {
                metric.set_diag(&inv);
            }
        }
        metric
    }

    /// Replaces the diagonal `M⁻¹`.
    pub(crate) fn set_diag(&mut self, new_inv: &[f64]) {
        let sqrt_mass = new_inv.iter().map(|v| 1.0 / v.sqrt()).collect();
        *self = Metric::Diag {
            inv: new_inv.to_vec(),
            sqrt_mass,
        };
    }

    /// Replaces the dense `M⁻¹` (row-major, symmetric positive definite). Returns `false`
    /// (keeping the old metric) if the Cholesky factorisation fails.
    pub(crate) fn set_dense(&mut self, n: usize, new_inv: &[f64]) -> bool {
        let m = DMatrix::from_row_slice(n, n, new_inv);
        let Some(chol) = m.cholesky() else {
            return false;
        };
        let l = chol.l();
        let mut lower = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..=i {
                lower[i * n + j] = l[(i, j)];
            }
        }
        if lower.iter().any(|v| !v.is_finite()) {
            return false;
        }
        *self = Metric::Dense {
            inv: new_inv.to_vec(),
            chol: lower,
        };
        true
    }

    /// Draws `p ~ N(0, M)`, writes `v = M⁻¹ p` and returns the kinetic energy.
    pub(crate) fn sample_momentum<R: Rng + ?Sized>(
        &self,
        rng: &mut R,
        p: &mut [f64],
        v: &mut [f64],
    ) -> f64 {
        match self {
            Metric::Diag { inv, sqrt_mass } => {
                for (pi, s) in p.iter_mut().zip(sqrt_mass) {
                    let z: f64 = rng.sample(StandardNormal);
                    *pi = z * s;
                }
                0.5 * vecmath::diag_velocity(p, inv, v)
            }
            Metric::Dense { inv, chol } => {
                // p = L⁻ᵀ z, so that Cov(p) = (L Lᵀ)⁻¹ = M.
                let n = p.len();
                for vi in v.iter_mut() {
                    *vi = rng.sample(StandardNormal);
                }
                for i in (0..n).rev() {
                    let mut s = v[i];
                    for k in i + 1..n {
                        s -= chol[k * n + i] * p[k];
                    }
                    p[i] = s / chol[i * n + i];
                }
                vecmath::matvec(inv, p, v);
                0.5 * vecmath::dot(p, v)
            }
        }
    }

    /// Writes `v = M⁻¹ p` and returns the kinetic energy `½ p·v`.
    pub(crate) fn velocity(&self, p: &[f64], v: &mut [f64]) -> f64 {
        match self {
            Metric::Diag { inv, .. } => 0.5 * vecmath::diag_velocity(p, inv, v),
            Metric::Dense { inv, .. } => {
                vecmath::matvec(inv, p, v);
                0.5 * vecmath::dot(p, v)
            }
        }
    }

    /// The inverse metric for reporting.
    pub(crate) fn to_inv_metric(&self) -> InvMetric {
        match self {
            Metric::Diag { inv, .. } => InvMetric::Diag(inv.clone()),
            Metric::Dense { inv, .. } => InvMetric::Dense {
                dim: (inv.len() as f64).sqrt().round() as usize,
                values: inv.clone(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapt::welford::WelfordCov;
    use rand::SeedableRng;

    #[test]
    fn dense_momentum_has_covariance_mass() {
        // M⁻¹ = [[2, 1], [1, 2]] ⇒ M = [[2, −1], [−1, 2]] / 3.
        let mut m = Metric::identity(2, true);
        assert!(m.set_dense(2, &[2.0, 1.0, 1.0, 2.0]));
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(1);
        let mut c = WelfordCov::new(2);
        let (mut p, mut v) = ([0.0; 2], [0.0; 2]);
        for _ in 0..200_000 {
            let k = m.sample_momentum(&mut rng, &mut p, &mut v);
            assert!((k - 0.5 * (p[0] * v[0] + p[1] * v[1])).abs() < 1e-12);
            c.add(&p);
        }
        let mut cov = [0.0; 4];
        c.covariance(&mut cov);
        let want = [2.0 / 3.0, -1.0 / 3.0, -1.0 / 3.0, 2.0 / 3.0];
        for i in 0..4 {
            assert!((cov[i] - want[i]).abs() < 0.01, "{cov:?}");
        }
    }
}
