//! The reference for AR(1) HMMs with missing observations, shared by the library's
//! (`zoo_ar1_missing_model`) and the command's (`cli_ar1_missing`) tests: enumeration of
//! every hidden path with the gap conditional written out in closed form,
//! `y_t | y_s ~ N(μ + φ^g (y_s − μ), σ² (1 − φ^{2g}) / (1 − φ²))` with `g = t − s` the steps
//! back to the last observed value, the stationary `N(μ, σ² / (1 − φ²))` with none — generic
//! over [`Scalar`], so automatic differentiation of the enumeration gives exact reference
//! gradients. Independent of the zoo's code.
#![allow(dead_code)]

use trellis_ad::{Scalar, ScalarFn};

/// `ln N(y; mean, var)` (a variance, not a standard deviation).
fn normal<T: Scalar>(y: f64, mean: T, var: T) -> T {
    let z = (-mean + y) / var.sqrt();
    -(z * z) * 0.5 - var.ln() * 0.5 - (2.0 * std::f64::consts::PI).ln() * 0.5
}

/// The density of observed `seq[t]` in a state with `(μ, φ, σ)`: stationary with nothing
/// observed before `t`, else the `g`-step conditional on the last observed value `g` back.
pub fn gap_density<T: Scalar>(seq: &[Option<f64>], t: usize, mu: T, phi: T, sigma: T) -> T {
    let y = seq[t].expect("an observed step");
    let stationary = -(phi * phi) + 1.0;
    match (0..t).rev().find_map(|s| seq[s].map(|v| (v, t - s))) {
        None => normal(y, mu, sigma * sigma / stationary),
        Some((last, g)) => {
            let a = phi.powi(g as i32);
            let var = sigma * sigma * (-(a * a) + 1.0) / stationary;
            normal(y, mu + a * (-mu + last), var)
        }
    }
}

/// How the chain is parameterised in the constrained point after `mu, phi, sigma` (`K` each)
/// and `p_initial_state` (`K`).
#[derive(Clone, Copy)]
pub enum Chain<'a> {
    /// `p_transition`, `K × K`.
    Matrix,
    /// `transition_coef` (`K × K × 2`: intercept, slope), `x[s][t]` the covariate of
    /// sequence `s` at step `t`, with structural zeros where `free[i][j]` is `false`.
    Covariate {
        x: &'a [Vec<f64>],
        free: &'a [Vec<bool>],
    },
}

/// The joint log-probability of every path of `seq` (sequence `s`; paths through a
/// structural zero left out), from the constrained values `p` taken as given.
pub fn paths<T: Scalar>(
    p: &[T],
    k: usize,
    chain: Chain<'_>,
    seq: &[Option<f64>],
    s: usize,
) -> Vec<(Vec<usize>, T)> {
    let (mu, phi, sigma) = (&p[0..k], &p[k..2 * k], &p[2 * k..3 * k]);
    let init = &p[3 * k..4 * k];
    let rest = &p[4 * k..];
    let n = seq.len();
    let mut le = vec![T::constant(0.0); n * k];
    for t in (0..n).filter(|&t| seq[t].is_some()) {
        for j in 0..k {
            le[t * k + j] = gap_density(seq, t, mu[j], phi[j], sigma[j]);
        }
    }
    // ln Γ of the transition from t to t + 1; None at a structural zero.
    let log_trans = |t: usize, i: usize, j: usize| -> Option<T> {
        match chain {
            Chain::Matrix => Some(rest[i * k + j].ln()),
            Chain::Covariate { x, free } => {
                // Staying is the reference category.
                let eta = |j: usize| {
                    let c = &rest[(i * k + j) * 2..(i * k + j) * 2 + 2];
                    if i == j {
                        T::constant(0.0)
                    } else {
                        c[0] + c[1] * x[s][t]
                    }
                };
                let row: Vec<T> = (0..k).filter(|&j| free[i][j]).map(eta).collect();
                free[i][j].then(|| eta(j) - T::log_sum_exp(&row))
            }
        }
    };
    let mut out = Vec::new();
    'paths: for code in 0..k.pow(n as u32) {
        let z: Vec<usize> = (0..n).map(|t| code / k.pow(t as u32) % k).collect();
        let mut lp = init[z[0]].ln() + le[z[0]];
        for t in 1..n {
            match log_trans(t - 1, z[t - 1], z[t]) {
                Some(l) => lp = lp + l + le[t * k + z[t]],
                None => continue 'paths,
            }
        }
        out.push((z, lp));
    }
    out
}

/// The log-likelihood of sequences `data` (`None` = missing) by enumeration, as a function
/// of the constrained values.
pub struct Enumerated<'a> {
    /// Number of states.
    pub k: usize,
    pub data: &'a [Vec<Option<f64>>],
    pub chain: Chain<'a>,
}

impl Enumerated<'_> {
    /// Sequence `s`'s log-likelihood.
    pub fn sequence<T: Scalar>(&self, p: &[T], s: usize) -> T {
        let terms: Vec<T> = paths(p, self.k, self.chain, &self.data[s], s)
            .into_iter()
            .map(|(_, lp)| lp)
            .collect();
        T::log_sum_exp(&terms)
    }
}

impl ScalarFn for Enumerated<'_> {
    fn eval<T: Scalar>(&self, p: &[T]) -> T {
        let values: Vec<T> = (0..self.data.len()).map(|s| self.sequence(p, s)).collect();
        T::sum_of(&values)
    }
}
