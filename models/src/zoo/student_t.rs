//! Student-t emissions: robust per-state location and scale, with degrees of freedom shared
//! by all states or one per state.

use rand::Rng;
use rand_xoshiro::Xoshiro256PlusPlus;
use trellis_ad::special::{digamma, ln_gamma};
use trellis_ad::Scalar;

use super::fused::SparseStep;
use super::initial;
use super::view::PerStateView;
use super::{
    check_len, check_values, declare_sds, finite, gamma_prior, positive, Family, LOCATION_PRIOR,
    MEANS, SCALE_PRIOR,
};
use crate::hmm::{HmmError, Sequences};
use crate::layout::{LayoutError, ParamHandle, ParamLayout, Params, Shape};
use crate::model::ModelError;
use crate::priors::Prior;
use crate::transforms::Transform;

/// `ln √π`.
const LN_SQRT_PI: f64 = 0.572_364_942_924_700_1;

/// `y | state k ~ StudentT(nus[k] or nus[0], locs[k], scales[k])`.
///
/// `nus` has one entry (shared by all states) or `K`. In reverse mode the hand-derived
/// partials with respect to location, scale and `ν` are fused into the HMM's
/// forward–backward node ([`FusedEmission`]); evaluated alone, each `ℓ[t][k]` is one tape node.
///
/// ```
/// use trellis_models::{zoo::StudentT, Emission};
/// let (locs, scales, nu) = ([0.0, 5.0], [1.0, 1.0], [3.0]);
/// let e = StudentT::new(&locs, &scales, &nu)?;
/// let mut out = [0.0; 2];
/// e.log_densities(&[1.0], 0, &mut out);
/// assert!((out[0] - (-1.5762529945270716)).abs() < 1e-13);
/// # Ok::<(), trellis_models::ModelError>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct StudentT<'a, T> {
    locs: &'a [T],
    scales: &'a [T],
    nus: &'a [T],
}

impl<'a, T: Scalar> StudentT<'a, T> {
    /// A view over `K` locations, `K` scales and 1 or `K` degrees of freedom.
    ///
    /// # Errors
    /// Mismatched or zero lengths, a non-finite location, a scale or `ν` that is not positive
    /// and finite.
    pub fn new(locs: &'a [T], scales: &'a [T], nus: &'a [T]) -> Result<Self, ModelError> {
        if locs.is_empty() {
            return Err(HmmError::NoStates.into());
        }
        check_len("scales", scales, locs.len())?;
        if nus.len() != 1 {
            check_len("nus (1 shared or one per state)", nus, locs.len())?;
        }
        check_values("locs", locs, finite, "must be finite")?;
        check_values("scales", scales, positive, "must be positive and finite")?;
        check_values("nus", nus, positive, "must be positive and finite")?;
        Ok(Self { locs, scales, nus })
    }

    /// A view without checks (the layout guarantees the lengths and supports).
    pub(crate) fn from_parts(locs: &'a [T], scales: &'a [T], nus: &'a [T]) -> Self {
        Self { locs, scales, nus }
    }

    fn nu(&self, k: usize) -> T {
        if self.nus.len() == 1 {
            self.nus[0]
        } else {
            self.nus[k]
        }
    }
}

/// `ln t_ν(y; μ, σ)` written over `Scalar` (the source of truth).
fn generic<T: Scalar>(y: f64, mu: T, sigma: T, nu: T) -> T {
    let z = (-mu + y) / sigma;
    let half = (nu + 1.0) * 0.5;
    half.ln_gamma()
        - (nu * 0.5).ln_gamma()
        - nu.ln() * 0.5
        - LN_SQRT_PI
        - sigma.ln()
        - half * (z * z / nu).ln_1p()
}

/// Value and partials `(∂μ, ∂σ, ∂ν)` of [`generic`] in `f64`.
fn fused(y: f64, mu: f64, sigma: f64, nu: f64) -> (f64, [f64; 3]) {
    let z = (y - mu) / sigma;
    let z2 = z * z;
    let half = 0.5 * (nu + 1.0);
    let log1p = (z2 / nu).ln_1p();
    let value = ln_gamma(half)
        - ln_gamma(0.5 * nu)
        - 0.5 * nu.ln()
        - LN_SQRT_PI
        - sigma.ln()
        - half * log1p;
    let w = (nu + 1.0) / (nu + z2);
    let d_mu = w * z / sigma;
    let d_sigma = (w * z2 - 1.0) / sigma;
    let d_nu =
        0.5 * (digamma(half) - digamma(0.5 * nu)) - 0.5 / nu - 0.5 * log1p + 0.5 * w * z2 / nu;
    (value, [d_mu, d_sigma, d_nu])
}

impl<T: Scalar> PerStateView for StudentT<'_, T> {
    type Num = T;
    type Obs = f64;

    fn log_densities(&self, seq: &[f64], t: usize, out: &mut [T]) {
        let y = seq[t];
        for (k, o) in out.iter_mut().enumerate() {
            let (mu, sigma, nu) = (self.locs[k], self.scales[k], self.nu(k));
            *o = if T::CUSTOM_IS_CHEAPER {
                let (value, partials) = fused(y, mu.value(), sigma.value(), nu.value());
                T::custom(&[mu, sigma, nu], value, &partials)
            } else {
                generic(y, mu, sigma, nu)
            };
        }
    }

    fn n_states(&self) -> usize {
        self.locs.len()
    }

    /// Reverse mode's fast path, sparse: state `k`'s density depends on state `k`'s parameters
    /// only (and the shared `ν`, if one), so the adjoint contracts `3` partials per density
    /// whatever `K`.
    fn write_step(&self, seq: &[f64], t: usize, out: SparseStep<'_>) {
        let y = seq[t];
        let k_states = self.locs.len();
        let shared_nu = self.nus.len() == 1;
        let entry = |k: usize| {
            let (mu, sigma, nu) = (self.locs[k], self.scales[k], self.nu(k));
            fused(y, mu.value(), sigma.value(), nu.value())
        };
        // θ = [locs (K) | scales (K) | nus (1 or K)].
        let index = |k: usize, j: usize| {
            if j == 2 && shared_nu {
                2 * k_states
            } else {
                j * k_states + k
            }
        };
        out.per_state(entry, index);
    }

    fn parameter_blocks(&self) -> impl Iterator<Item = &[T]> {
        [self.locs, self.scales, self.nus].into_iter()
    }

    fn check_params(&self) -> Result<(), ModelError> {
        StudentT::new(self.locs, self.scales, self.nus).map(|_| ())
    }

    fn sample(&self, state: usize, _history: &[f64], rng: &mut Xoshiro256PlusPlus) -> f64 {
        let (loc, scale) = (self.locs[state].value(), self.scales[state].value());
        match rand_distr::StudentT::new(self.nu(state).value()) {
            Ok(d) => loc + scale * rng.sample(d),
            // Unreachable after `check_params`.
            Err(_) => loc,
        }
    }
}

/// The Student-t HMM family (robust to outliers): `mu` (`K`, ordered by default to break
/// label switching) ~ `Normal(0, 10)`, `sigma` (`K`, log) ~ `HalfNormal(5)`, and `nu` (1
/// shared, or `K` with `shared_nu = false`; log) ~ `Gamma(2, 0.1)` (Juárez & Steel's prior,
/// as in Stan's recommendations).
#[derive(Debug, Clone, PartialEq)]
pub struct StudentTFamily {
    /// Number of hidden states.
    pub n_states: usize,
    /// Prior of each location.
    pub mu_prior: Prior,
    /// Prior of each scale.
    pub sigma_prior: Prior,
    /// Prior of the degrees of freedom.
    pub nu_prior: Prior,
    /// One `ν` for all states (default) or one per state.
    pub shared_nu: bool,
    /// Whether the locations are ordered (default true).
    pub ordered: bool,
}

impl StudentTFamily {
    /// `K` states with the default priors and a shared `ν`.
    pub fn new(n_states: usize) -> Self {
        Self {
            n_states,
            mu_prior: LOCATION_PRIOR,
            sigma_prior: SCALE_PRIOR,
            nu_prior: gamma_prior(0.1),
            shared_nu: true,
            ordered: true,
        }
    }
}

/// Where [`StudentTFamily`]'s parameters are in a model's layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StudentTHandles {
    /// The locations.
    pub mu: ParamHandle,
    /// The scales.
    pub sigma: ParamHandle,
    /// The degrees of freedom (1 shared or one per state).
    pub nu: ParamHandle,
}

impl Family for StudentTFamily {
    type Obs = f64;
    type Handles = StudentTHandles;
    type Emission<'a, T: Scalar> = StudentT<'a, T>;

    fn add_params(&self, layout: &mut ParamLayout) -> Result<StudentTHandles, LayoutError> {
        let k = Shape::Vector(self.n_states);
        let nu_shape = if self.shared_nu { Shape::Scalar } else { k };
        Ok(StudentTHandles {
            mu: MEANS.declare(layout, self.n_states, self.ordered, &self.mu_prior)?,
            sigma: declare_sds(layout, k, &self.sigma_prior)?,
            nu: layout.declare("nu", nu_shape, Transform::Log, self.nu_prior.clone())?,
        })
    }

    fn emission<'a, T: Scalar>(
        &'a self,
        handles: &StudentTHandles,
        params: &Params<'a, T>,
    ) -> StudentT<'a, T> {
        let (locs, scales) = (params.of(handles.mu), params.of(handles.sigma));
        StudentT::from_parts(locs, scales, params.of(handles.nu))
    }

    fn n_states(&self) -> usize {
        self.n_states
    }

    fn initial_values(
        &self,
        handles: &StudentTHandles,
        data: &Sequences<f64>,
    ) -> Vec<(ParamHandle, Vec<f64>)> {
        initial::location_scale((handles.mu, handles.sigma), data, self.n_states)
    }
}
