//! Targets with known moments and MCSE-based checks shared by the sampler test files.
#![allow(dead_code)] // each test file uses a part

use ndarray::Array2;
use trellis_samplers::diagnostics::{mcse_mean, rhat};
use trellis_samplers::{sample, InvMetric, LogDensity, LogDensityError, Nuts, RunConfig, Trace};

/// Independent normals N(mu_i, sd_i²).
pub struct DiagGaussian {
    pub mu: Vec<f64>,
    pub sd: Vec<f64>,
}

impl DiagGaussian {
    pub fn standard(n: usize) -> Self {
        Self {
            mu: vec![0.0; n],
            sd: vec![1.0; n],
        }
    }
}

impl LogDensity for DiagGaussian {
    fn dim(&self) -> usize {
        self.mu.len()
    }
    fn logp_and_grad(&self, x: &[f64], g: &mut [f64]) -> Result<f64, LogDensityError> {
        let mut lp = 0.0;
        for i in 0..x.len() {
            let z = (x[i] - self.mu[i]) / self.sd[i];
            g[i] = -z / self.sd[i];
            lp -= 0.5 * z * z;
        }
        Ok(lp)
    }
}

/// Bivariate normal, unit variances, correlation `rho`.
pub struct Correlated2 {
    pub rho: f64,
}

impl LogDensity for Correlated2 {
    fn dim(&self) -> usize {
        2
    }
    fn logp_and_grad(&self, x: &[f64], g: &mut [f64]) -> Result<f64, LogDensityError> {
        let r = self.rho;
        let c = 1.0 / (1.0 - r * r);
        g[0] = -c * (x[0] - r * x[1]);
        g[1] = -c * (x[1] - r * x[0]);
        Ok(-0.5 * c * (x[0] * x[0] - 2.0 * r * x[0] * x[1] + x[1] * x[1]))
    }
}

pub fn config(chains: usize, warmup: usize, draws: usize, seed: u64) -> RunConfig {
    RunConfig {
        chains,
        warmup,
        draws,
        seed,
        progress: false,
        ..RunConfig::default()
    }
}

pub fn array(cols: Vec<Vec<f64>>) -> Array2<f64> {
    let (c, d) = (cols.len(), cols[0].len());
    Array2::from_shape_vec((c, d), cols.concat()).unwrap()
}

/// Checks E[x_j] = `mean` and E[(x_j − mean)²] = `var` within `tol` MCSE, and R-hat < 1.01.
/// Returns the two errors in MCSE units and R-hat.
pub fn check_moments(trace: &Trace, j: usize, mean: f64, var: f64, tol: f64) -> (f64, f64, f64) {
    let x = array(trace.column(j));
    let sq = x.mapv(|v| (v - mean) * (v - mean));
    let m = x.mean().unwrap();
    let s = sq.mean().unwrap();
    let z_mean = (m - mean) / mcse_mean(x.view());
    let z_var = (s - var) / mcse_mean(sq.view());
    let r = rhat(x.view());
    assert!(
        z_mean.abs() < tol && z_var.abs() < tol && r < 1.01,
        "{}: mean {m} (want {mean}, {z_mean:.2} MCSE), var {s} (want {var}, {z_var:.2} MCSE), R-hat {r}",
        trace.names[j]
    );
    (z_mean, z_var, r)
}

/// Runs `check_moments` over all coordinates and prints the worst case.
pub fn check_all(label: &str, trace: &Trace, means: &[f64], vars: &[f64]) {
    let mut worst = (0.0f64, 0.0f64, 0.0f64);
    for j in 0..means.len() {
        let (a, b, r) = check_moments(trace, j, means[j], vars[j], 4.0);
        worst = (worst.0.max(a.abs()), worst.1.max(b.abs()), worst.2.max(r));
    }
    eprintln!(
        "{label}: worst |mean error| {:.2} MCSE, worst |var error| {:.2} MCSE, max R-hat {:.4}, \
         divergences {}",
        worst.0,
        worst.1,
        worst.2,
        trace.divergences()
    );
}

/// NUTS `nuts` on independent normals with standard deviations from 1e-2 to 1e2: moments
/// within 4 MCSE, no divergence, and the adapted diagonal metric within a factor 1.5 of the
/// variances.
pub fn check_scales_1e_minus_2_to_1e2(label: &str, nuts: &Nuts) {
    let n = 9;
    let sd: Vec<f64> = (0..n)
        .map(|i| 10f64.powf(-2.0 + 4.0 * i as f64 / (n - 1) as f64))
        .collect();
    let mu: Vec<f64> = (0..n).map(|i| i as f64 - 4.0).collect();
    let d = DiagGaussian {
        mu: mu.clone(),
        sd: sd.clone(),
    };
    let trace = sample(&d, nuts, &config(4, 1000, 1000, 99)).unwrap();
    let vars: Vec<f64> = sd.iter().map(|s| s * s).collect();
    check_all(&format!("{label} scales 1e-2..1e2"), &trace, &mu, &vars);
    assert_eq!(trace.divergences(), 0);
    // The diagonal adaptation found the variances (for a Gaussian, sqrt(Var[x] / Var[∂ log p])
    // is the variance too) (within a factor 1.5 each way).
    for c in &trace.chains {
        let Some(InvMetric::Diag(inv)) = &c.tuning.inv_metric else {
            panic!("diag metric")
        };
        for (m, v) in inv.iter().zip(&vars) {
            assert!(
                m / v > 1.0 / 1.5 && m / v < 1.5,
                "adapted {m}, variance {v}"
            );
        }
    }
}
