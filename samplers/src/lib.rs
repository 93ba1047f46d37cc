//! MCMC for any differentiable log-density: NUTS with Stan-style adaptation, static HMC,
//! MALA and random-walk Metropolis behind one [`Sampler`] trait; parallel chains;
//! ArviZ-compatible diagnostics; CmdStan-layout output.
//!
//! Write the target as a [`LogDensity`] (by hand, or through automatic differentiation with
//! [`ScalarFnDensity`]), pick a sampler ([`Nuts`], [`StaticHmc`], [`Mala`], [`RandomWalk`] or
//! your own [`Sampler`]) and call [`sample`]:
//!
//! ```
//! use trellis_samplers::{sample, LogDensity, LogDensityError, Nuts, RunConfig};
//!
//! /// Independent normals with standard deviations 1 and 10.
//! struct Target;
//! impl LogDensity for Target {
//!     fn dim(&self) -> usize { 2 }
//!     fn logp_and_grad(&self, x: &[f64], g: &mut [f64]) -> Result<f64, LogDensityError> {
//!         g[0] = -x[0];
//!         g[1] = -x[1] / 100.0;
//!         Ok(-0.5 * (x[0] * x[0] + x[1] * x[1] / 100.0))
//!     }
//! }
//!
//! let config = RunConfig { chains: 2, warmup: 500, draws: 500, seed: 1, progress: false,
//!                          ..RunConfig::default() };
//! let trace = sample(&Target, &Nuts::default(), &config)?;
//! let summary = trace.summary().unwrap();
//! assert!(summary.row("x[1]").unwrap().sd > 5.0);
//! assert!(trace.chains.iter().all(|c| c.tuning.step_size.unwrap() > 0.1));
//! // trace.write_cmdstan_csv(dir, "output")? writes files ArviZ's from_cmdstan reads.
//! # Ok::<(), trellis_samplers::SampleError>(())
//! ```

// The crate's structure, one folder a part:
// - `sampler`: the two traits every sampler implements (settings → chain state);
// - `samplers/`: NUTS, static HMC, MALA, random-walk Metropolis and the Hamiltonian parts
//   they share;
// - `adapt/`: warm-up adaptation composed of leaves (step size, metric, running estimates,
//   windows);
// - `runner/`: the run configuration, initialisation, parallel chains and the trace;
// - `density/`: what samplers consume; `diagnostics/`: ArviZ's numbers and summary table;
// - `loo/`: PSIS-LOO, WAIC and model comparison, as ArviZ computes them;
// - `output/`: CmdStan CSV and JSON files, progress bars and (feature `plots`) figures.
pub mod adapt;
pub mod density;
pub mod diagnostics;
pub mod error;
pub mod loo;
pub mod output;
pub mod runner;
pub mod sampler;
pub mod samplers;
mod vecmath;

#[cfg(feature = "plots")]
pub use output::plots;

pub use density::scalar_fn::{AdMode, ScalarFnDensity};
pub use density::{LogDensity, LogDensityError, StdNormal};
pub use diagnostics::summary::{self, Summary, SummaryError, SummaryRow};

pub use adapt::metric::{InitialMetric, MetricKind};
pub use adapt::step_size::DualAveragingSettings;
pub use adapt::windows::WindowSettings;
pub use adapt::AdaptSettings;
pub use adapt::MetricAdaptation;
pub use adapt::StartTuning;
pub use error::{ChainStage, ConfigError, InitError, NonFinite, OutputError, SampleError};
pub use loo::{compare, loo, waic, Comparison, Loo, LooError, Waic};
pub use output::{ChainSummary, RunSummary};
pub use runner::init::InitSettings;
pub use runner::{chain_rng, sample, sample_streaming, ChainTrace, Draws, RunConfig, Trace};
pub use sampler::{Chain, ChainRng, ChainStart, DrawStats, InvMetric, NewChain, Phase, Point};
pub use sampler::{Sampler, StepResult, Transition, Tuning};
pub use samplers::hmc::{HmcChain, StaticHmc};
pub use samplers::mala::Mala;
pub use samplers::nuts::{Nuts, NutsChain};
pub use samplers::rwm::{RandomWalk, RwmChain};
