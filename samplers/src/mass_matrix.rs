//! The metric (inverse mass matrix) of the Hamiltonian samplers — diagonal or dense — and the
//! running estimators used to adapt it to the posterior (co)variance during warm-up.

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
    /// [`InitialMetric::Gradient`](crate::adapt::InitialMetric), the diagonal from the
    /// gradient at the initial point; stored dense for [`MetricKind::Dense`].
    pub(crate) fn initial(settings: &crate::adapt::AdaptSettings, gradient: &[f64]) -> Self {
        let n = gradient.len();
        let dense = settings.metric == MetricKind::Dense;
        let mut metric = Metric::identity(n, dense);
        if let Some(inv) = settings.initial_metric.diagonal(gradient) {
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

/// Welford's running mean and variance, per coordinate.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct WelfordVar {
    n: usize,
    mean: Vec<f64>,
    m2: Vec<f64>,
}

impl WelfordVar {
    pub(crate) fn new(dim: usize) -> Self {
        Self {
            n: 0,
            mean: vec![0.0; dim],
            m2: vec![0.0; dim],
        }
    }

    pub(crate) fn restart(&mut self) {
        self.n = 0;
        self.mean.iter_mut().for_each(|m| *m = 0.0);
        self.m2.iter_mut().for_each(|m| *m = 0.0);
    }

    pub(crate) fn num_samples(&self) -> usize {
        self.n
    }

    pub(crate) fn add(&mut self, x: &[f64]) {
        self.n += 1;
        let inv_n = 1.0 / self.n as f64;
        for ((m, s), &xi) in self.mean.iter_mut().zip(&mut self.m2).zip(x) {
            let d = xi - *m;
            *m += d * inv_n;
            *s += d * (xi - *m);
        }
    }

    /// Sample variances (divisor `n − 1`); requires at least two samples.
    pub(crate) fn variance(&self, out: &mut [f64]) {
        let denom = (self.n as f64 - 1.0).max(1.0);
        for (o, s) in out.iter_mut().zip(&self.m2) {
            *o = s / denom;
        }
    }
}

/// Welford's running mean and covariance matrix (row-major).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct WelfordCov {
    n: usize,
    dim: usize,
    mean: Vec<f64>,
    m2: Vec<f64>,
    delta: Vec<f64>,
}

impl WelfordCov {
    pub(crate) fn new(dim: usize) -> Self {
        Self {
            n: 0,
            dim,
            mean: vec![0.0; dim],
            m2: vec![0.0; dim * dim],
            delta: vec![0.0; dim],
        }
    }

    pub(crate) fn restart(&mut self) {
        self.n = 0;
        self.mean.iter_mut().for_each(|m| *m = 0.0);
        self.m2.iter_mut().for_each(|m| *m = 0.0);
    }

    pub(crate) fn num_samples(&self) -> usize {
        self.n
    }

    pub(crate) fn add(&mut self, x: &[f64]) {
        self.n += 1;
        let inv_n = 1.0 / self.n as f64;
        let d = self.dim;
        for ((delta, mean), &xi) in self.delta.iter_mut().zip(&mut self.mean).zip(x) {
            *delta = xi - *mean;
            *mean += *delta * inv_n;
        }
        // m2 += (x − old mean)(x − new mean)ᵀ
        for (row, &di) in self.m2.chunks_exact_mut(d).zip(&self.delta) {
            for ((m, &xj), &mj) in row.iter_mut().zip(x).zip(&self.mean) {
                *m += di * (xj - mj);
            }
        }
    }

    /// Sample covariance (divisor `n − 1`), symmetrised.
    pub(crate) fn covariance(&self, out: &mut [f64]) {
        let denom = (self.n as f64 - 1.0).max(1.0);
        let d = self.dim;
        for i in 0..d {
            for j in 0..d {
                out[i * d + j] = 0.5 * (self.m2[i * d + j] + self.m2[j * d + i]) / denom;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn welford_matches_two_pass_estimates() {
        let xs = [[1.0, 2.0], [2.0, 1.5], [4.0, 0.0], [-1.0, 3.0]];
        let mut v = WelfordVar::new(2);
        let mut c = WelfordCov::new(2);
        for x in &xs {
            v.add(x);
            c.add(x);
        }
        let mean = [1.5, 1.625];
        let mut var = [0.0; 2];
        let mut cov = [0.0; 4];
        for x in &xs {
            for i in 0..2 {
                var[i] += (x[i] - mean[i]).powi(2) / 3.0;
                for j in 0..2 {
                    cov[i * 2 + j] += (x[i] - mean[i]) * (x[j] - mean[j]) / 3.0;
                }
            }
        }
        let mut got = [0.0; 2];
        v.variance(&mut got);
        let mut got_c = [0.0; 4];
        c.covariance(&mut got_c);
        for i in 0..2 {
            assert!((got[i] - var[i]).abs() < 1e-12);
        }
        for i in 0..4 {
            assert!((got_c[i] - cov[i]).abs() < 1e-12);
        }
    }

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
