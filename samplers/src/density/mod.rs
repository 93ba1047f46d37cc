//! What the samplers consume: a log-density with its gradient on an unconstrained space.

pub mod scalar_fn;

use thiserror::Error;

/// Why a log-density could not be evaluated at a point.
///
/// A *recoverable* error ([`LogDensityError::is_recoverable`], as nuts-rs's
/// `LogpError::is_recoverable`) belongs to the point: samplers treat it exactly like a
/// non-finite log-density — the proposal is rejected (and, inside a NUTS trajectory, counted
/// as a divergence) and the chain goes on. A [`LogDensityError::Fatal`] error would happen at
/// any point (a bug in the model, a dimension mismatch): it stops the run, and
/// [`crate::sample`] returns it as [`crate::SampleError::Density`].
#[derive(Debug, Clone, PartialEq, Error)]
pub enum LogDensityError {
    /// The point lies outside the support of the density (recoverable).
    #[error("point outside the support: {0}")]
    OutOfSupport(String),
    /// Any other failure at this point, described for the user (recoverable).
    #[error("log-density evaluation failed: {0}")]
    Failed(String),
    /// A failure no other point would avoid — a bug in the model, a dimension mismatch — that
    /// must stop the run (not recoverable).
    #[error("log-density evaluation failed and cannot recover: {0}")]
    Fatal(String),
}

impl LogDensityError {
    /// False for an error that must stop the run ([`LogDensityError::Fatal`]); true for one
    /// that only rejects the point where it happened.
    pub fn is_recoverable(&self) -> bool {
        !matches!(self, LogDensityError::Fatal(_))
    }
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
    /// A non-finite return value or a recoverable `Err` marks `x` as a rejected point; an
    /// error that is not recoverable stops the run.
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

/// The standard normal on ℝⁿ (`StdNormal(n)`): a reference target with known answers, for
/// tests, examples and benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StdNormal(pub usize);

impl LogDensity for StdNormal {
    fn dim(&self) -> usize {
        self.0
    }
    fn logp_and_grad(&self, x: &[f64], grad: &mut [f64]) -> Result<f64, LogDensityError> {
        let mut lp = 0.0;
        for (g, xi) in grad.iter_mut().zip(x) {
            *g = -xi;
            lp -= 0.5 * xi * xi;
        }
        Ok(lp)
    }
}
