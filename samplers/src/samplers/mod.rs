//! The samplers: each a settings type (implementing [`crate::Sampler`]) and the chain state
//! it makes (implementing [`crate::Chain`]).
//!
//! - [`nuts`]: the no-U-turn sampler, Stan's multinomial variant;
//! - [`hmc`]: static HMC (and the chain state MALA shares);
//! - [`mala`]: the Metropolis-adjusted Langevin algorithm, one leapfrog step of HMC;
//! - [`rwm`]: random-walk Metropolis;
//! - `hamiltonian`: phase-space states, the leapfrog integrator, and the metric, step size and
//!   their adaptation that the three Hamiltonian samplers share.

mod hamiltonian;
pub mod hmc;
pub mod mala;
pub mod nuts;
pub mod rwm;
