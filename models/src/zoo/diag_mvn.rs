//! Diagonal multivariate Gaussian emissions: vector observations with independent
//! components given the state.

use rand_xoshiro::Xoshiro256PlusPlus;
use trellis_ad::{scratch, Scalar};

use super::fused::SparseStep;
use super::view::PerStateView;
use super::{
    check_len, check_rows, check_values, declare_sds, draw_normal, finite, positive, Family,
    LocationScaleHandles, LOCATION_PRIOR, SCALE_PRIOR,
};
use crate::distributions::LN_SQRT_2PI;
use crate::layout::{LayoutError, ParamLayout, Params, Shape};
use crate::model::ModelError;
use crate::priors::Prior;
use crate::transforms::Transform;

/// `y | state k ~ Normal(means[k, ·], diag(sds[k, ·])²)` for `y ∈ ℝᴰ` (`K × D` row-major
/// parameters, rows = states).
///
/// Under the HMM likelihood in reverse mode the densities are fused into the forward–backward
/// node ([`FusedEmission`], `2D` partials per density); evaluated alone, each `ℓ[t][k]` is one
/// tape node over the state's `2D` parameters. An
/// observation with the wrong number of components gives NaN, reported by the forward
/// algorithm as a typed error; [`DiagonalMvnFamily`]'s data check names it directly.
///
/// A NaN component is a missing coordinate: it is marginalised (contributes 0 to every
/// state's log-density, with zero derivatives), so an all-NaN observation is a wholly
/// missing step.
///
/// ```
/// use trellis_models::{zoo::DiagonalMvn, Emission};
/// let (means, sds) = ([0.0, 0.0, 5.0, 5.0], [1.0, 1.0, 1.0, 1.0]);
/// let e = DiagonalMvn::new(&means, &sds, 2)?;
/// let mut out = [0.0; 2];
/// e.log_densities(&[vec![0.0, 0.0]], 0, &mut out);
/// assert!((out[0] + 2.0 * 0.9189385332046727).abs() < 1e-15);
/// # Ok::<(), trellis_models::ModelError>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct DiagonalMvn<'a, T> {
    means: &'a [T],
    sds: &'a [T],
    dim: usize,
}

impl<'a, T: Scalar> DiagonalMvn<'a, T> {
    /// A view over `K × D` means and standard deviations, `D = dim`.
    ///
    /// # Errors
    /// `D = 0`, lengths that are not the same positive multiple of `D`, a non-finite mean, a
    /// standard deviation that is not positive and finite.
    pub fn new(means: &'a [T], sds: &'a [T], dim: usize) -> Result<Self, ModelError> {
        check_rows("means (K × D)", means, dim)?;
        check_len("sds (K × D)", sds, means.len())?;
        check_values("means", means, finite, "must be finite")?;
        check_values("sds", sds, positive, "must be positive and finite")?;
        Ok(Self { means, sds, dim })
    }

    /// Dimension `D` of an observation.
    pub fn dim(&self) -> usize {
        self.dim
    }
}

/// State row `(mus, sigmas)`'s log-density of `y` in `f64`, with `∂/∂mus[i]` in
/// `partials[i]` and `∂/∂sigmas[i]` in `partials[D + i]` (left as they are, zero, for a
/// missing coordinate).
fn row_value_and_partials<T: Scalar>(
    y: &[f64],
    mus: &[T],
    sigmas: &[T],
    partials: &mut [f64],
) -> f64 {
    let d = mus.len();
    let mut value = 0.0;
    // A NaN coordinate is missing: marginalised, it contributes 0.
    for i in (0..d).filter(|&i| !y[i].is_nan()) {
        let (m, s) = (mus[i].value(), sigmas[i].value());
        let z = (y[i] - m) / s;
        value += -0.5 * z * z - s.ln() - LN_SQRT_2PI;
        partials[i] = z / s;
        partials[d + i] = (z * z - 1.0) / s;
    }
    value
}

impl<T: Scalar> PerStateView for DiagonalMvn<'_, T> {
    type Num = T;
    type Obs = Vec<f64>;

    fn log_densities(&self, seq: &[Vec<f64>], t: usize, out: &mut [T]) {
        let y = &seq[t];
        let d = self.dim;
        if y.len() != d {
            out.fill(T::constant(f64::NAN));
            return;
        }
        let rows = self.means.chunks(d).zip(self.sds.chunks(d));
        if T::CUSTOM_IS_CHEAPER {
            scratch::with_vec(|inputs: &mut Vec<T>| {
                scratch::with_vec(|partials: &mut Vec<f64>| {
                    for (o, (mus, sigmas)) in out.iter_mut().zip(rows) {
                        inputs.clear();
                        inputs.extend_from_slice(mus);
                        inputs.extend_from_slice(sigmas);
                        partials.clear();
                        partials.resize(2 * d, 0.0);
                        let value = row_value_and_partials(y, mus, sigmas, partials);
                        *o = T::custom(inputs, value, partials);
                    }
                })
            });
        } else {
            for (o, (mus, sigmas)) in out.iter_mut().zip(rows) {
                let mut lp = T::constant(0.0);
                for i in (0..d).filter(|&i| !y[i].is_nan()) {
                    let z = (-mus[i] + y[i]) / sigmas[i];
                    lp += -(z * z) * 0.5 - sigmas[i].ln() - LN_SQRT_2PI;
                }
                *o = lp;
            }
        }
    }

    fn n_states(&self) -> usize {
        self.means.len() / self.dim
    }

    /// Reverse mode's fast path, sparse: state `k`'s density depends on its row of means and of
    /// standard deviations only, so the adjoint contracts `2D` partials per density whatever `K`.
    fn write_step(&self, seq: &[Vec<f64>], t: usize, out: SparseStep<'_>) {
        let (y, d) = (&seq[t], self.dim);
        // θ = [means (K × D) | sds (K × D)].
        let sds_start = self.means.len();
        let rows = self.means.chunks(d).zip(self.sds.chunks(d));
        let pairs = out
            .indices
            .chunks_exact_mut(2 * d)
            .zip(out.partials.chunks_exact_mut(2 * d));
        for (k, ((value, (idx, part)), (mus, sigmas))) in
            out.values.iter_mut().zip(pairs).zip(rows).enumerate()
        {
            for i in 0..d {
                idx[i] = k * d + i;
                idx[d + i] = sds_start + k * d + i;
            }
            // A wrong dimension: NaN, which the forward algorithm reports as a typed error.
            *value = if y.len() == d {
                row_value_and_partials(y, mus, sigmas, part)
            } else {
                f64::NAN
            };
        }
    }

    fn parameter_blocks(&self) -> impl Iterator<Item = &[T]> {
        [self.means, self.sds].into_iter()
    }

    fn width(&self) -> usize {
        2 * self.dim
    }

    fn check_params(&self) -> Result<(), ModelError> {
        DiagonalMvn::new(self.means, self.sds, self.dim).map(|_| ())
    }

    fn sample(
        &self,
        state: usize,
        _history: &[Vec<f64>],
        rng: &mut Xoshiro256PlusPlus,
    ) -> Vec<f64> {
        let d = self.dim;
        (0..d)
            .map(|i| {
                let j = state * d + i;
                draw_normal(self.means[j].value(), self.sds[j].value(), rng)
            })
            .collect()
    }
}

/// The diagonal-MVN HMM family: `mu` (`K × D`, rows = states) ~ `Normal(0, 10)` with the
/// first column ordered (`mu[0,0] < mu[1,0] < …`, which breaks label switching while leaving
/// the other coordinates free), and `sigma` (`K × D`, log) ~ `HalfNormal(5)`.
#[derive(Debug, Clone, PartialEq)]
pub struct DiagonalMvnFamily {
    /// Number of hidden states `K`.
    pub n_states: usize,
    /// Dimension `D` of the observations.
    pub dim: usize,
    /// Prior of each mean.
    pub mu_prior: Prior,
    /// Prior of each standard deviation.
    pub sigma_prior: Prior,
    /// Whether the first coordinate of the means is ordered across states (default true).
    pub ordered: bool,
}

impl DiagonalMvnFamily {
    /// `K` states in dimension `D` with the default priors.
    pub fn new(n_states: usize, dim: usize) -> Self {
        Self {
            n_states,
            dim,
            mu_prior: LOCATION_PRIOR,
            sigma_prior: SCALE_PRIOR,
            ordered: true,
        }
    }
}

impl Family for DiagonalMvnFamily {
    type Obs = Vec<f64>;
    type Handles = LocationScaleHandles;
    type Emission<'a, T: Scalar> = DiagonalMvn<'a, T>;

    fn add_params(&self, layout: &mut ParamLayout) -> Result<Self::Handles, LayoutError> {
        let shape = Shape::Matrix(self.n_states, self.dim);
        let mu_transform = if self.ordered {
            Transform::OrderedColumn(0)
        } else {
            Transform::Identity
        };
        Ok(LocationScaleHandles {
            mu: layout.declare("mu", shape, mu_transform, self.mu_prior.clone())?,
            sigma: declare_sds(layout, shape, &self.sigma_prior)?,
        })
    }

    fn emission<'a, T: Scalar>(
        &'a self,
        handles: &Self::Handles,
        params: &Params<'a, T>,
    ) -> DiagonalMvn<'a, T> {
        DiagonalMvn {
            means: params.of(handles.mu),
            sds: params.of(handles.sigma),
            dim: self.dim,
        }
    }

    fn invalid_observation(&self, y: &Vec<f64>) -> Option<String> {
        let d = self.dim;
        (y.len() != d).then(|| format!("has {} components, expected {d}", y.len()))
    }

    fn n_states(&self) -> usize {
        self.n_states
    }
}
