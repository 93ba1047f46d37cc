//! Bayesian models: a [`ParamLayout`] with priors plus a log-likelihood, turned into a
//! log-density on the unconstrained space for `trellis-ad` and `trellis-samplers`.
//!
//! ```
//! use trellis_ad::{check_gradient, GradientCheck, Scalar};
//! use trellis_models::{BayesianModel, ModelDensity, ModelError, ParamLayout, Params, Prior,
//!                      Shape, Transform};
//! use trellis_models::distributions::normal_lpdf;
//!
//! /// y ~ Normal(mu, sigma) with mu ~ Normal(0, 10), sigma ~ HalfNormal(1).
//! struct NormalModel { y: Vec<f64>, layout: ParamLayout }
//! impl BayesianModel for NormalModel {
//!     fn layout(&self) -> &ParamLayout { &self.layout }
//!     fn log_likelihood<T: Scalar>(&self, p: &Params<'_, T>) -> Result<T, ModelError> {
//!         let (mu, sigma) = (p.value(0)[0], p.value(1)[0]);
//!         Ok(self.y.iter().map(|&y| normal_lpdf(T::constant(y), mu, sigma)).sum())
//!     }
//! }
//! let layout = ParamLayout::new()
//!     .add_with_prior("mu", Shape::Scalar, Transform::Identity, Prior::Normal { mu: 0.0, sigma: 10.0 })?
//!     .add_with_prior("sigma", Shape::Scalar, Transform::Log, Prior::HalfNormal { sigma: 1.0 })?;
//! let model = NormalModel { y: vec![0.3, -1.2, 0.8], layout };
//! let terms = model.point_logps(&[0.0, 0.0])?;
//! assert_eq!(terms[0].0, "mu");
//! assert_eq!(terms[2].0, "loglike");
//! let total: f64 = terms.iter().map(|t| t.1).sum();
//! assert!((model.log_density(&[0.0, 0.0])? - total).abs() < 1e-12);
//! let density = ModelDensity::new(&model);
//! check_gradient(&density, &[0.1, -0.3], &GradientCheck::default()).unwrap();
//! # Ok::<(), trellis_models::ModelError>(())
//! ```

use thiserror::Error;
use trellis_ad::{scratch, Recording, Scalar, ScalarFn, Var};
use trellis_samplers::{LogDensity, LogDensityError};

use crate::hmm::HmmError;
use crate::layout::{LayoutError, ParamLayout, Params};

/// Why a model could not be built, evaluated or simulated.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ModelError {
    /// A layout problem: wrong vector length, value outside the support, invalid declaration.
    #[error(transparent)]
    Layout(#[from] LayoutError),
    /// Bad data or HMM parameters (names the sequence, position and value).
    #[error(transparent)]
    Hmm(#[from] HmmError),
    /// An emission parameter that is invalid (given directly rather than through a layout).
    #[error("emission parameter {name} = {value} is invalid: {reason}")]
    InvalidParameter {
        /// The parameter element, e.g. `sigma[1]`.
        name: String,
        /// Its value.
        value: f64,
        /// Why it is invalid.
        reason: String,
    },
    /// A parameter vector or array of the wrong length or shape (given directly).
    #[error("{what} has length {found}, expected {expected}")]
    WrongLength {
        /// What has the wrong length.
        what: String,
        /// The length required.
        expected: usize,
        /// The length given.
        found: usize,
    },
}

/// A Bayesian model: parameters (with priors and transforms) and a log-likelihood written
/// once over [`Scalar`].
///
/// The joint log-density on the unconstrained space is
/// `Σᵢ [log prior(paramᵢ) + log|Jᵢ|] + log-likelihood`, PyMC's `model.logp()` with
/// `jacobian=True`, normalising constants included.
pub trait BayesianModel: Sync {
    /// The parameters.
    fn layout(&self) -> &ParamLayout;

    /// Log prior terms of parameter `index` (constrained space, no Jacobian) *added to* the
    /// [`Prior`](crate::Prior) declared for it in the layout: 0 by default. Override it for
    /// priors whose hyperparameters are other parameters (declare such a parameter with
    /// [`Prior::Flat`](crate::Prior::Flat)); per-element constants need no override
    /// ([`Prior::PerElement`](crate::Prior::PerElement)). Because the declared priors are
    /// always added, an override cannot drop them (e.g. the Dirichlet priors of a chain) by
    /// forgetting a fallback arm; the full prior is [`log_prior`].
    ///
    /// ```
    /// use trellis_ad::Scalar;
    /// use trellis_models::{model, BayesianModel, ModelError, ParamLayout, Params, Prior, Shape, Transform};
    /// use trellis_models::distributions::normal_lpdf;
    /// /// x ~ Normal(0, tau), tau ~ HalfNormal(1).
    /// struct Hier { layout: ParamLayout }
    /// impl BayesianModel for Hier {
    ///     fn layout(&self) -> &ParamLayout { &self.layout }
    ///     fn extra_log_prior<T: Scalar>(&self, p: &Params<'_, T>, index: usize) -> T {
    ///         match index {
    ///             1 => normal_lpdf(p.value(1)[0], T::constant(0.0), p.value(0)[0]),
    ///             _ => T::constant(0.0), // tau's HalfNormal is added anyway
    ///         }
    ///     }
    ///     fn log_likelihood<T: Scalar>(&self, _: &Params<'_, T>) -> Result<T, ModelError> {
    ///         Ok(T::constant(0.0))
    ///     }
    /// }
    /// let layout = ParamLayout::new()
    ///     .add_with_prior("tau", Shape::Scalar, Transform::Log, Prior::HalfNormal { sigma: 1.0 })?
    ///     .add("x", Shape::Scalar, Transform::Identity)?;
    /// let m = Hier { layout };
    /// let mut buffer = Vec::new();
    /// let params = m.layout().params_from_constrained(&[1.0, 0.0], &mut buffer)?;
    /// let half_normal = 2f64.ln() - 0.5 * (2.0 * std::f64::consts::PI).ln() - 0.5;
    /// assert!((model::log_prior(&m, &params, 0) - half_normal).abs() < 1e-12);
    /// # Ok::<(), trellis_models::ModelError>(())
    /// ```
    fn extra_log_prior<T: Scalar>(&self, params: &Params<'_, T>, index: usize) -> T {
        let _ = (params, index);
        T::constant(0.0)
    }

    /// The log-likelihood of the data (and any other potential) at `params`.
    fn log_likelihood<T: Scalar>(&self, params: &Params<'_, T>) -> Result<T, ModelError>;

    /// Where samplers start before their jitter (unconstrained): the zero point of the
    /// layout by default, PyMC's choice. [`HmmModel`](crate::zoo::HmmModel) reads a better
    /// one off its data ([`Family::initial_values`](crate::zoo::Family::initial_values)).
    fn initial_point(&self) -> Vec<f64> {
        self.layout().initial_point()
    }

    /// The name of the likelihood term in [`BayesianModel::point_logps`].
    fn likelihood_name(&self) -> &str {
        "loglike"
    }

    /// The joint log-density at the unconstrained point `u`, log-Jacobians included.
    /// Allocation-free once warm (the constrained parameters live in a per-thread buffer).
    fn log_density<T: Scalar>(&self, u: &[T]) -> Result<T, ModelError> {
        scratch::with_vec(|buffer: &mut Vec<T>| {
            let params = self.layout().constrain_params(u, buffer)?;
            let mut total = self.log_likelihood(&params)?;
            for i in 0..self.layout().params().len() {
                total += log_prior(self, &params, i) + params.log_jacobian(i);
            }
            Ok(total)
        })
    }

    /// Per-term log-densities at the unconstrained point `u` (PyMC's `point_logps`): one
    /// term per parameter (its prior plus its log-Jacobian), then the likelihood.
    fn point_logps(&self, u: &[f64]) -> Result<Vec<(String, f64)>, ModelError> {
        let layout = self.layout();
        let mut buffer = Vec::new();
        let params = layout.constrain_params(u, &mut buffer)?;
        let mut terms: Vec<(String, f64)> = layout
            .params()
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let lp = log_prior(self, &params, i) + params.log_jacobian(i);
                (p.name.clone(), lp)
            })
            .collect();
        terms.push((
            self.likelihood_name().to_string(),
            self.log_likelihood(&params)?,
        ));
        Ok(terms)
    }

    /// The joint log-density at `u`, with its reverse-mode gradient written into `grad`.
    /// Allocation-free once warm.
    fn log_density_and_gradient_into(
        &self,
        u: &[f64],
        grad: &mut [f64],
    ) -> Result<f64, ModelError> {
        let dim = self.layout().dim();
        for (what, len) in [
            ("unconstrained point", u.len()),
            ("gradient buffer", grad.len()),
        ] {
            if len != dim {
                return Err(ModelError::WrongLength {
                    what: what.to_string(),
                    expected: dim,
                    found: len,
                });
            }
        }
        let rec = Recording::start();
        scratch::with_vec(|inputs: &mut Vec<Var>| {
            inputs.clear();
            inputs.extend(u.iter().map(|&x| rec.input(x)));
            let y = self.log_density(inputs)?;
            rec.gradient_into(y, inputs, grad);
            Ok(y.value())
        })
    }

    /// The joint log-density and its reverse-mode gradient at `u`.
    fn log_density_and_gradient(&self, u: &[f64]) -> Result<(f64, Vec<f64>), ModelError> {
        let mut grad = vec![0.0; self.layout().dim()];
        let value = self.log_density_and_gradient_into(u, &mut grad)?;
        Ok((value, grad))
    }

    /// Constrained values at the unconstrained point `u` (in the order of
    /// [`ParamLayout::element_names`]).
    fn constrained(&self, u: &[f64]) -> Result<Vec<f64>, ModelError> {
        let mut out = Vec::new();
        self.layout().constrain(u, &mut out)?;
        Ok(out)
    }
}

impl<M: BayesianModel> BayesianModel for &M {
    fn layout(&self) -> &ParamLayout {
        (**self).layout()
    }
    fn extra_log_prior<T: Scalar>(&self, params: &Params<'_, T>, index: usize) -> T {
        (**self).extra_log_prior(params, index)
    }
    fn log_likelihood<T: Scalar>(&self, params: &Params<'_, T>) -> Result<T, ModelError> {
        (**self).log_likelihood(params)
    }
    fn likelihood_name(&self) -> &str {
        (**self).likelihood_name()
    }
}

/// The full log prior density (constrained space, no Jacobian) of parameter `index` of
/// `model`: its declared [`Prior`](crate::Prior) plus
/// [`BayesianModel::extra_log_prior`].
pub fn log_prior<M: BayesianModel + ?Sized, T: Scalar>(
    model: &M,
    params: &Params<'_, T>,
    index: usize,
) -> T {
    model.layout().log_prior(params, index) + model.extra_log_prior(params, index)
}

/// A model seen as a function of the unconstrained vector: a [`ScalarFn`] for `trellis-ad`
/// and a [`LogDensity`] for `trellis-samplers` (recording constrained values per draw).
#[derive(Debug, Clone, Copy)]
pub struct ModelDensity<M> {
    model: M,
}

impl<M: BayesianModel> ModelDensity<M> {
    /// Wraps a model (or a reference to one).
    pub fn new(model: M) -> Self {
        Self { model }
    }

    /// The wrapped model.
    pub fn model(&self) -> &M {
        &self.model
    }
}

impl<M: BayesianModel> ScalarFn for ModelDensity<M> {
    /// The joint log-density. This trait cannot return an error, so a failed evaluation
    /// (wrong length, an emission density that is NaN) gives NaN here; use
    /// [`BayesianModel::log_density`] or [`LogDensity::logp_and_grad`] for the typed error.
    fn eval<T: Scalar>(&self, x: &[T]) -> T {
        self.model
            .log_density(x)
            .unwrap_or_else(|_| T::constant(f64::NAN))
    }
}

impl<M: BayesianModel> LogDensity for ModelDensity<M> {
    fn dim(&self) -> usize {
        self.model.layout().dim()
    }

    fn logp_and_grad(&self, x: &[f64], grad: &mut [f64]) -> Result<f64, LogDensityError> {
        if x.len() == self.dim() {
            if let Some(i) = x.iter().position(|v| !v.is_finite()) {
                let names = self.model.layout().unconstrained_names();
                return Err(LogDensityError::OutOfSupport(format!(
                    "{} = {} is not finite",
                    names[i], x[i]
                )));
            }
        }
        // A vector of the wrong length fails at every point (a caller's bug): the sampler
        // must stop with it rather than reject point after point.
        self.model
            .log_density_and_gradient_into(x, grad)
            .map_err(|e| match e {
                ModelError::WrongLength { .. } => LogDensityError::Fatal(e.to_string()),
                _ => LogDensityError::Failed(e.to_string()),
            })
    }

    fn initial_point(&self) -> Vec<f64> {
        self.model.initial_point()
    }

    fn output_names(&self) -> Vec<String> {
        self.model.layout().element_names()
    }

    fn write_output(&self, x: &[f64], out: &mut Vec<f64>) {
        if self.model.layout().constrain(x, out).is_err() {
            out.clear();
            out.resize(self.model.layout().constrained_len(), f64::NAN);
        }
    }
}
