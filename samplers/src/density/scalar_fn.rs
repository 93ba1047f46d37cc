//! The automatic-differentiation adapter: any function written once over
//! [`trellis_ad::Scalar`] (a [`ScalarFn`]) becomes a [`LogDensity`], its gradient computed by
//! reverse mode (default) or forward mode.
//!
//! Reverse mode records on `trellis-ad`'s thread-local tape, which keeps its capacity between
//! calls: after the first evaluation on a thread, gradients allocate nothing. Each chain runs
//! on one thread, so chains never share a tape.

use trellis_ad::{forward, reverse, ScalarFn};

use crate::density::{LogDensity, LogDensityError};

/// How [`ScalarFnDensity`] differentiates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AdMode {
    /// Reverse mode on the thread-local tape: one sweep per gradient, whatever the
    /// dimension. The default.
    #[default]
    Reverse,
    /// Forward mode with vector duals: cost grows with the dimension; good for a handful of
    /// parameters and for checking reverse mode.
    Forward,
}

/// A [`LogDensity`] from a log-density written over [`trellis_ad::Scalar`].
///
/// ```
/// use trellis_ad::{Scalar, ScalarFn};
/// use trellis_samplers::{sample, Nuts, RunConfig, ScalarFnDensity};
///
/// /// log N(x | 3, 2²), written once for every number type.
/// struct Normal;
/// impl ScalarFn for Normal {
///     fn eval<T: Scalar>(&self, x: &[T]) -> T {
///         let z = (x[0] - 3.0) / 2.0;
///         -(z * z) * 0.5
///     }
/// }
///
/// let density = ScalarFnDensity::new(Normal, 1).with_names(vec!["mu".into()]);
/// let config = RunConfig { chains: 2, warmup: 300, draws: 500, progress: false,
///                          ..RunConfig::default() };
/// let trace = sample(&density, &Nuts::default(), &config)?;
/// let mu = trace.column_by_name("mu").unwrap().concat();
/// let mean = mu.iter().sum::<f64>() / mu.len() as f64;
/// assert!((mean - 3.0).abs() < 0.4);
/// # Ok::<(), trellis_samplers::SampleError>(())
/// ```
#[derive(Debug, Clone)]
pub struct ScalarFnDensity<F> {
    f: F,
    dim: usize,
    mode: AdMode,
    names: Option<Vec<String>>,
    initial: Option<Vec<f64>>,
}

impl<F: ScalarFn + Sync> ScalarFnDensity<F> {
    /// `f` on ℝ^`dim`, differentiated in reverse mode.
    pub fn new(f: F, dim: usize) -> Self {
        Self {
            f,
            dim,
            mode: AdMode::Reverse,
            names: None,
            initial: None,
        }
    }

    /// Chooses reverse or forward mode.
    pub fn with_mode(mut self, mode: AdMode) -> Self {
        self.mode = mode;
        self
    }

    /// Names the coordinates in the output (default `x[0]`, `x[1]`, …). Must have `dim`
    /// entries.
    pub fn with_names(mut self, names: Vec<String>) -> Self {
        self.names = Some(names);
        self
    }

    /// Sets the point chains start from before jitter (default the origin).
    pub fn with_initial_point(mut self, x: Vec<f64>) -> Self {
        self.initial = Some(x);
        self
    }

    /// The differentiation mode.
    pub fn mode(&self) -> AdMode {
        self.mode
    }

    /// The wrapped function.
    pub fn function(&self) -> &F {
        &self.f
    }
}

impl<F: ScalarFn + Sync> LogDensity for ScalarFnDensity<F> {
    fn dim(&self) -> usize {
        self.dim
    }

    fn logp_and_grad(&self, x: &[f64], grad: &mut [f64]) -> Result<f64, LogDensityError> {
        Ok(match self.mode {
            AdMode::Reverse => reverse::value_and_gradient_into(&self.f, x, grad),
            AdMode::Forward => forward::value_and_gradient_into(&self.f, x, grad),
        })
    }

    fn initial_point(&self) -> Vec<f64> {
        self.initial.clone().unwrap_or_else(|| vec![0.0; self.dim])
    }

    fn output_names(&self) -> Vec<String> {
        match &self.names {
            Some(n) => n.clone(),
            None => (0..self.dim).map(|i| format!("x[{i}]")).collect(),
        }
    }
}
