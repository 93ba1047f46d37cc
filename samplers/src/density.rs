//! What the samplers consume: a log-density with its gradient on an unconstrained space.

use thiserror::Error;

/// Why a log-density could not be evaluated at a point.
///
/// Samplers treat an `Err` exactly like a non-finite log-density: the proposal is rejected
/// (and, inside a NUTS trajectory, counted as a divergence). It never aborts a chain.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum LogDensityError {
    /// The point lies outside the support of the density.
    #[error("point outside the support: {0}")]
    OutOfSupport(String),
    /// Any other failure, described for the user.
    #[error("log-density evaluation failed: {0}")]
    Failed(String),
}

/// A differentiable log-density on ℝⁿ: the one thing every sampler needs.
///
/// `logp_and_grad` takes `&self` so one density can serve several chains running in parallel
/// threads; implementations that need scratch space keep it thread-local (as the reverse-mode
/// tape of `trellis-ad` does).
pub trait LogDensity: Sync {
    /// Dimension `n` of the (unconstrained) space.
    fn dim(&self) -> usize;

    /// Writes ∇ log p(x) into `grad` (length `dim()`) and returns log p(x).
    ///
    /// A non-finite return value or an `Err` marks `x` as a rejected point.
    fn logp_and_grad(&self, x: &[f64], grad: &mut [f64]) -> Result<f64, LogDensityError>;

    /// Where chains start before jitter (PyMC's initial point). Default: the origin.
    fn initial_point(&self) -> Vec<f64> {
        vec![0.0; self.dim()]
    }

    /// Names of the quantities written for each draw (see [`LogDensity::write_output`]).
    /// Default: `x[0]`, `x[1]`, … for the unconstrained coordinates.
    fn output_names(&self) -> Vec<String> {
        (0..self.dim()).map(|i| format!("x[{i}]")).collect()
    }

    /// Maps an unconstrained point to the values recorded for a draw (for a model with
    /// constraining transforms: the constrained parameters). Default: the point itself.
    fn write_output(&self, x: &[f64], out: &mut Vec<f64>) {
        out.clear();
        out.extend_from_slice(x);
    }
}

impl<D: LogDensity + ?Sized> LogDensity for &D {
    fn dim(&self) -> usize {
        (**self).dim()
    }
    fn logp_and_grad(&self, x: &[f64], grad: &mut [f64]) -> Result<f64, LogDensityError> {
        (**self).logp_and_grad(x, grad)
    }
    fn initial_point(&self) -> Vec<f64> {
        (**self).initial_point()
    }
    fn output_names(&self) -> Vec<String> {
        (**self).output_names()
    }
    fn write_output(&self, x: &[f64], out: &mut Vec<f64>) {
        (**self).write_output(x, out)
    }
}
