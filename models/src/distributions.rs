//! Log-densities of the distributions priors and emissions are built from, generic over
//! [`Scalar`], with their full normalising constants (as PyMC reports them).
//!
//! Every function returns `-inf` (a constant, with zero derivative) when the point lies
//! outside the support or a parameter is invalid (a non-positive scale, rate, shape or
//! concentration), so a sampler rejects such a point instead of seeing NaN. Parameters are
//! `T` so they can themselves be model parameters (hierarchical priors); pass constants as
//! `T::constant(value)`.
//!
//! ```
//! use trellis_models::distributions::{gamma_lpdf, normal_lpdf};
//! // log N(0; 0, 1) = -½ ln 2π
//! assert!((normal_lpdf(0.0, 0.0, 1.0) + 0.9189385332046727).abs() < 1e-15);
//! // Gamma(shape 2, rate 3) at 0.5: 2 ln 3 − ln Γ(2) + ln 0.5 − 1.5
//! let expected = 2.0 * 3f64.ln() + 0.5f64.ln() - 1.5;
//! assert!((gamma_lpdf(0.5, 2.0, 3.0) - expected).abs() < 1e-14);
//! ```

use std::f64::consts::LN_2;

use trellis_ad::Scalar;

/// `½ ln(2π)`.
pub(crate) const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_8;
/// `ln π`.
const LN_PI: f64 = 1.144_729_885_849_400_2;

#[inline]
fn neg_inf<T: Scalar>() -> T {
    T::constant(f64::NEG_INFINITY)
}

/// `(a − 1)·ln x`, exactly 0 when `a == 1` and `x = 0` (not `0·(−inf) = NaN`).
#[inline]
fn power_term<T: Scalar>(a: T, ln_x: T) -> T {
    if a.value() == 1.0 && ln_x.value() == f64::NEG_INFINITY {
        T::constant(0.0)
    } else {
        (a - 1.0) * ln_x
    }
}

/// `v ≥ 0`; false for NaN.
#[inline]
fn nonnegative(v: f64) -> bool {
    v >= 0.0
}

/// `true` when `p` is a positive finite number (scales, rates, shapes).
#[inline]
fn positive<T: Scalar>(p: T) -> bool {
    let v = p.value();
    v > 0.0 && v.is_finite()
}

/// Normal log-density `ln N(x; μ, σ) = −½ ((x − μ)/σ)² − ln σ − ½ ln 2π`.
pub fn normal_lpdf<T: Scalar>(x: T, mu: T, sigma: T) -> T {
    if !positive(sigma) {
        return neg_inf();
    }
    let z = (x - mu) / sigma;
    -(z * z) * 0.5 - sigma.ln() - LN_SQRT_2PI
}

/// Half-normal log-density on `x ≥ 0`: `½ ln(2/π) − ln σ − ½ (x/σ)²` (PyMC's `HalfNormal`).
pub fn half_normal_lpdf<T: Scalar>(x: T, sigma: T) -> T {
    if !positive(sigma) || !nonnegative(x.value()) {
        return neg_inf();
    }
    let z = x / sigma;
    -(z * z) * 0.5 - sigma.ln() + (LN_2 - LN_SQRT_2PI)
}

/// Log-normal log-density on `x > 0`: `−ln x − ln σ − ½ ln 2π − ½ ((ln x − μ)/σ)²`.
pub fn lognormal_lpdf<T: Scalar>(x: T, mu: T, sigma: T) -> T {
    if x.value() <= 0.0 || x.value().is_nan() {
        return neg_inf();
    }
    lognormal_lpdf_with_log(x.ln(), mu, sigma)
}

/// [`lognormal_lpdf`] given `ln x` (exact when `ln x` comes straight from a log transform).
pub(crate) fn lognormal_lpdf_with_log<T: Scalar>(ln_x: T, mu: T, sigma: T) -> T {
    if !positive(sigma) || ln_x.value().is_nan() {
        return neg_inf();
    }
    let z = (ln_x - mu) / sigma;
    -(z * z) * 0.5 - ln_x - sigma.ln() - LN_SQRT_2PI
}

/// Exponential log-density on `x ≥ 0` with rate `λ`: `ln λ − λx`.
pub fn exponential_lpdf<T: Scalar>(x: T, rate: T) -> T {
    if !positive(rate) || !nonnegative(x.value()) {
        return neg_inf();
    }
    rate.ln() - rate * x
}

/// Gamma log-density on `x ≥ 0` with shape `α` and rate `β`:
/// `α ln β − ln Γ(α) + (α − 1) ln x − βx`.
pub fn gamma_lpdf<T: Scalar>(x: T, shape: T, rate: T) -> T {
    if !nonnegative(x.value()) {
        return neg_inf();
    }
    gamma_lpdf_with_log(x, x.ln(), shape, rate)
}

/// [`gamma_lpdf`] given `ln x` as well as `x`.
pub(crate) fn gamma_lpdf_with_log<T: Scalar>(x: T, ln_x: T, shape: T, rate: T) -> T {
    if !positive(shape) || !positive(rate) || !nonnegative(x.value()) {
        return neg_inf();
    }
    shape * rate.ln() - shape.ln_gamma() + power_term(shape, ln_x) - rate * x
}

/// Beta log-density on `[0, 1]`: `(a − 1) ln x + (b − 1) ln(1 − x) − ln B(a, b)`.
pub fn beta_lpdf<T: Scalar>(x: T, a: T, b: T) -> T {
    let v = x.value();
    if !positive(a) || !positive(b) || !(0.0..=1.0).contains(&v) {
        return neg_inf();
    }
    let ln_beta = a.ln_gamma() + b.ln_gamma() - (a + b).ln_gamma();
    power_term(a, x.ln()) + power_term(b, (-x).ln_1p()) - ln_beta
}

/// Uniform log-density on `[lower, upper]`: `−ln(upper − lower)`.
pub fn uniform_lpdf<T: Scalar>(x: T, lower: T, upper: T) -> T {
    let (v, lo, hi) = (x.value(), lower.value(), upper.value());
    if hi <= lo || hi.is_nan() || lo.is_nan() || !(lo..=hi).contains(&v) {
        return neg_inf();
    }
    -(upper - lower).ln()
}

/// Dirichlet log-density of a probability vector `p` with concentrations `alpha`:
/// `ln Γ(Σα) − Σ ln Γ(αₖ) + Σ (αₖ − 1) ln pₖ`.
///
/// `-inf` when the lengths differ, an entry is outside `[0, 1]`, the entries do not sum to 1
/// (within `1e-9·K`) or a concentration is not positive.
pub fn dirichlet_lpdf<T: Scalar>(p: &[T], alpha: &[f64]) -> T {
    let sum: f64 = p.iter().map(|x| x.value()).sum();
    if p.len() != alpha.len()
        || p.iter().any(|x| !(0.0..=1.0).contains(&x.value()))
        || (sum - 1.0).abs() > 1e-9 * p.len() as f64
        || sum.is_nan()
    {
        return neg_inf();
    }
    dirichlet_lpdf_terms(alpha, |k| p[k].ln())
}

/// [`dirichlet_lpdf`] given `ln p` directly (from a log-softmax), exact even where a
/// probability underflows. The caller guarantees that `exp(ln_p)` lies on the simplex.
pub fn dirichlet_lpdf_log<T: Scalar>(ln_p: &[T], alpha: &[f64]) -> T {
    if ln_p.len() != alpha.len() || ln_p.iter().any(|x| x.value() > 0.0 || x.value().is_nan()) {
        return neg_inf();
    }
    dirichlet_lpdf_terms(alpha, |k| ln_p[k])
}

fn dirichlet_lpdf_terms<T: Scalar>(alpha: &[f64], ln_p: impl Fn(usize) -> T) -> T {
    if alpha.iter().any(|&a| !(a > 0.0 && a.is_finite())) {
        return neg_inf();
    }
    let total: f64 = alpha.iter().sum();
    let norm = trellis_ad::special::ln_gamma(total)
        - alpha
            .iter()
            .map(|&a| trellis_ad::special::ln_gamma(a))
            .sum::<f64>();
    let mut lp = T::constant(norm);
    for (k, &a) in alpha.iter().enumerate() {
        // Skipping α = 1 keeps a zero probability from turning 0·(−inf) into NaN.
        if a != 1.0 {
            lp += ln_p(k) * (a - 1.0);
        }
    }
    lp
}

/// Student-t log-density with `ν` degrees of freedom, location `μ` and scale `σ`:
/// `ln Γ((ν+1)/2) − ln Γ(ν/2) − ½ ln(νπ) − ln σ − (ν+1)/2 · ln(1 + z²/ν)`, `z = (x − μ)/σ`.
pub fn student_t_lpdf<T: Scalar>(x: T, nu: T, mu: T, sigma: T) -> T {
    if !positive(nu) || !positive(sigma) {
        return neg_inf();
    }
    let z = (x - mu) / sigma;
    let half_nu1 = (nu + 1.0) * 0.5;
    half_nu1.ln_gamma()
        - (nu * 0.5).ln_gamma()
        - (nu.ln() + LN_PI) * 0.5
        - sigma.ln()
        - half_nu1 * (z * z / nu).ln_1p()
}

/// Cauchy log-density: `−ln π − ln s − ln(1 + ((x − loc)/s)²)`.
pub fn cauchy_lpdf<T: Scalar>(x: T, loc: T, scale: T) -> T {
    if !positive(scale) {
        return neg_inf();
    }
    let z = (x - loc) / scale;
    -(z * z).ln_1p() - scale.ln() - LN_PI
}

/// Half-Cauchy log-density on `x ≥ 0`: `ln 2 − ln π − ln s − ln(1 + (x/s)²)`.
pub fn half_cauchy_lpdf<T: Scalar>(x: T, scale: T) -> T {
    if !positive(scale) || !nonnegative(x.value()) {
        return neg_inf();
    }
    let z = x / scale;
    -(z * z).ln_1p() - scale.ln() + (LN_2 - LN_PI)
}

/// Poisson log-probability of the count `k` with rate `λ`: `k ln λ − λ − ln k!`
/// (`λ = 0` gives `ln 1 = 0` at `k = 0`).
pub fn poisson_lpmf<T: Scalar>(k: u32, rate: T) -> T {
    let r = rate.value();
    if !(r >= 0.0 && r.is_finite()) {
        return neg_inf();
    }
    let kf = f64::from(k);
    let ln_fact = trellis_ad::special::ln_gamma(kf + 1.0);
    if k == 0 {
        return -rate;
    }
    rate.ln() * kf - rate - ln_fact
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::PI;

    #[test]
    fn constants() {
        assert!((LN_SQRT_2PI - 0.5 * (2.0 * PI).ln()).abs() <= 4.0 * f64::EPSILON);
        assert!((LN_PI - PI.ln()).abs() <= 4.0 * f64::EPSILON);
    }
}
