//! Welford's running estimates of the posterior (co)variance, from which warm-up windows set
//! the metric.

/// Count, running mean and sums of squared deviations (per coordinate for [`WelfordVar`],
/// per pair of coordinates for [`WelfordCov`]).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Moments {
    n: usize,
    mean: Vec<f64>,
    m2: Vec<f64>,
}

impl Moments {
    fn new(dim: usize, m2_len: usize) -> Self {
        Self {
            n: 0,
            mean: vec![0.0; dim],
            m2: vec![0.0; m2_len],
        }
    }

    /// Forgets every sample (a new window starts).
    pub(crate) fn restart(&mut self) {
        self.n = 0;
        self.mean.iter_mut().for_each(|m| *m = 0.0);
        self.m2.iter_mut().for_each(|m| *m = 0.0);
    }

    /// Samples added since the last restart.
    pub(crate) fn num_samples(&self) -> usize {
        self.n
    }
}

/// Welford's running mean and variance, per coordinate.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct WelfordVar {
    pub(crate) moments: Moments,
}

impl WelfordVar {
    pub(crate) fn new(dim: usize) -> Self {
        Self {
            moments: Moments::new(dim, dim),
        }
    }

    pub(crate) fn add(&mut self, x: &[f64]) {
        self.moments.n += 1;
        let inv_n = 1.0 / self.moments.n as f64;
        for ((m, s), &xi) in self
            .moments
            .mean
            .iter_mut()
            .zip(&mut self.moments.m2)
            .zip(x)
        {
            let d = xi - *m;
            *m += d * inv_n;
            *s += d * (xi - *m);
        }
    }

    /// Sample variances (divisor `n − 1`); requires at least two samples.
    pub(crate) fn variance(&self, out: &mut [f64]) {
        let denom = (self.moments.n as f64 - 1.0).max(1.0);
        for (o, s) in out.iter_mut().zip(&self.moments.m2) {
            *o = s / denom;
        }
    }
}

/// Welford's running mean and covariance matrix (row-major).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct WelfordCov {
    pub(crate) moments: Moments,
    dim: usize,
    delta: Vec<f64>,
}

impl WelfordCov {
    pub(crate) fn new(dim: usize) -> Self {
        Self {
            moments: Moments::new(dim, dim * dim),
            dim,
            delta: vec![0.0; dim],
        }
    }

    pub(crate) fn add(&mut self, x: &[f64]) {
        self.moments.n += 1;
        let inv_n = 1.0 / self.moments.n as f64;
        let d = self.dim;
        for ((delta, mean), &xi) in self.delta.iter_mut().zip(&mut self.moments.mean).zip(x) {
            *delta = xi - *mean;
            *mean += *delta * inv_n;
        }
        // m2 += (x − old mean)(x − new mean)ᵀ
        for (row, &di) in self.moments.m2.chunks_exact_mut(d).zip(&self.delta) {
            for ((m, &xj), &mj) in row.iter_mut().zip(x).zip(&self.moments.mean) {
                *m += di * (xj - mj);
            }
        }
    }

    /// Sample covariance (divisor `n − 1`), symmetrised.
    pub(crate) fn covariance(&self, out: &mut [f64]) {
        let denom = (self.moments.n as f64 - 1.0).max(1.0);
        let d = self.dim;
        for i in 0..d {
            for j in 0..d {
                out[i * d + j] =
                    0.5 * (self.moments.m2[i * d + j] + self.moments.m2[j * d + i]) / denom;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
