//! MCMC for any differentiable log-density: NUTS with Stan-style adaptation, static HMC,
//! MALA and random-walk Metropolis behind one [`Sampler`] trait; parallel chains;
//! ArviZ-compatible diagnostics; CmdStan-layout output.

pub mod density;
pub mod diagnostics;

pub use density::{LogDensity, LogDensityError};
