//! Gaussian emissions: one mean and one standard deviation per state.

use rand_xoshiro::Xoshiro256PlusPlus;
use trellis_ad::Scalar;

use super::fused::{grouped, SparseStep};
use super::initial;
use super::view::PerStateView;
use super::{
    check_per_state, declare_sds, draw_normal, normal_entry, Family, LocationScaleHandles, FINITE,
    LOCATION_PRIOR, MEANS, POSITIVE, SCALE_PRIOR,
};
use crate::distributions::LN_SQRT_2PI;
use crate::hmm::Sequences;
use crate::layout::{LayoutError, ParamHandle, ParamLayout, Params, Shape};
use crate::model::ModelError;
use crate::priors::Prior;

/// `y | state k ~ Normal(means[k], sds[k])`.
///
/// ```
/// use trellis_models::{zoo::Gaussian, Emission};
/// let (means, sds) = ([0.0, 3.0], [1.0, 2.0]);
/// let e = Gaussian::new(&means, &sds)?;
/// let mut out = [0.0; 2];
/// e.log_densities(&[0.0], 0, &mut out);
/// assert!((out[0] + 0.9189385332046727).abs() < 1e-15);
/// # Ok::<(), trellis_models::ModelError>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Gaussian<'a, T> {
    means: &'a [T],
    sds: &'a [T],
}

impl<'a, T: Scalar> Gaussian<'a, T> {
    /// A view over `K` means and `K` standard deviations.
    ///
    /// # Errors
    /// Lengths that differ or are zero, a non-finite mean, a standard deviation that is not
    /// positive and finite.
    pub fn new(means: &'a [T], sds: &'a [T]) -> Result<Self, ModelError> {
        check_per_state(&[("means", means, FINITE), ("sds", sds, POSITIVE)])?;
        Ok(Self { means, sds })
    }

    /// A view without checks (the layout guarantees the lengths and supports).
    pub(crate) fn from_parts(means: &'a [T], sds: &'a [T]) -> Self {
        Self { means, sds }
    }
}

impl<T: Scalar> PerStateView for Gaussian<'_, T> {
    type Num = T;
    type Obs = f64;

    fn log_densities(&self, seq: &[f64], t: usize, out: &mut [T]) {
        let y = seq[t];
        for ((o, &m), &s) in out.iter_mut().zip(self.means).zip(self.sds) {
            *o = normal_entry(y, m, s);
        }
    }

    fn n_states(&self) -> usize {
        self.means.len()
    }

    /// Reverse mode's fast path, sparse: state `k`'s density depends on state `k`'s parameters
    /// only, so the adjoint contracts `2` partials per density whatever `K`.
    fn write_step(&self, seq: &[f64], t: usize, out: SparseStep<'_>) {
        let y = seq[t];
        let entry = |k: usize| {
            let (m, s): (f64, f64) = (self.means[k].value(), self.sds[k].value());
            let z = (y - m) / s;
            let value = -0.5 * z * z - s.ln() - LN_SQRT_2PI;
            (value, [z / s, (z * z - 1.0) / s])
        };
        out.per_state(entry, grouped(self.means.len()));
    }

    fn parameter_blocks(&self) -> impl Iterator<Item = &[T]> {
        [self.means, self.sds].into_iter()
    }

    fn check_params(&self) -> Result<(), ModelError> {
        Gaussian::new(self.means, self.sds).map(|_| ())
    }

    fn sample(&self, state: usize, _history: &[f64], rng: &mut Xoshiro256PlusPlus) -> f64 {
        draw_normal(self.means[state].value(), self.sds[state].value(), rng)
    }
}

/// The Gaussian HMM family: parameters `mu` (`K`, ordered by default so that state `k` is
/// the `k`-th lowest mean: label switching would otherwise make the posterior `K!`-modal)
/// with prior `Normal(0, 10)`, and `sigma` (`K`, log transform) with prior `HalfNormal(5)`.
#[derive(Debug, Clone, PartialEq)]
pub struct GaussianFamily {
    /// Number of hidden states.
    pub n_states: usize,
    /// Prior of each mean.
    pub mu_prior: Prior,
    /// Prior of each standard deviation.
    pub sigma_prior: Prior,
    /// Whether the means are ordered (default true).
    pub ordered: bool,
}

impl GaussianFamily {
    /// `K` states with the default priors.
    pub fn new(n_states: usize) -> Self {
        Self {
            n_states,
            mu_prior: LOCATION_PRIOR,
            sigma_prior: SCALE_PRIOR,
            ordered: true,
        }
    }
}

impl Family for GaussianFamily {
    type Obs = f64;
    type Handles = LocationScaleHandles;
    type Emission<'a, T: Scalar> = Gaussian<'a, T>;

    fn add_params(&self, layout: &mut ParamLayout) -> Result<Self::Handles, LayoutError> {
        Ok(LocationScaleHandles {
            mu: MEANS.declare(layout, self.n_states, self.ordered, &self.mu_prior)?,
            sigma: declare_sds(layout, Shape::Vector(self.n_states), &self.sigma_prior)?,
        })
    }

    fn emission<'a, T: Scalar>(
        &'a self,
        handles: &Self::Handles,
        params: &Params<'a, T>,
    ) -> Gaussian<'a, T> {
        Gaussian::from_parts(params.of(handles.mu), params.of(handles.sigma))
    }

    fn n_states(&self) -> usize {
        self.n_states
    }

    fn initial_values(
        &self,
        handles: &LocationScaleHandles,
        data: &Sequences<f64>,
    ) -> Vec<(ParamHandle, Vec<f64>)> {
        initial::location_scale((handles.mu, handles.sigma), data, self.n_states)
    }
}
