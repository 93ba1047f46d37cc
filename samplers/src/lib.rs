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

pub mod density;
pub mod diagnostics;
pub mod summary;

pub mod adapt;
pub mod error;
mod hamiltonian;
pub mod hmc;
pub mod init;
pub mod loo;
pub mod mala;
pub mod mass_matrix;
pub mod nuts;
pub mod output;
#[cfg(feature = "plots")]
pub mod plots;
mod progress;
pub mod runner;
pub mod rwm;
pub mod sampler;
pub mod scalar_density;
pub mod step_size;
mod vecmath;

pub use density::{LogDensity, LogDensityError};
pub use summary::{Summary, SummaryError, SummaryRow};

pub use adapt::{AdaptSettings, InitialMetric, WindowSettings};
pub use error::{ConfigError, InitError, NonFinite, OutputError, SampleError};
pub use hmc::StaticHmc;
pub use init::InitSettings;
pub use loo::{compare, loo, waic, Comparison, Loo, LooError, Waic};
pub use mala::Mala;
pub use mass_matrix::MetricKind;
pub use nuts::Nuts;
pub use output::{ChainSummary, RunSummary};
pub use runner::{chain_rng, sample, ChainTrace, Draws, RunConfig, Trace};
pub use rwm::RandomWalk;
pub use sampler::{ChainRng, DrawStats, InvMetric, Phase, Point, Sampler, Tuning};
pub use scalar_density::{AdMode, ScalarFnDensity};
pub use step_size::DualAveragingSettings;
