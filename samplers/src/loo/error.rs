//! The error type of the `loo` module.

use thiserror::Error;

/// Why PSIS-LOO, WAIC or a comparison could not be computed.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum LooError {
    /// The log-likelihood array has no chains, no draws or no observations.
    #[error(
        "log-likelihood is empty: {chains} chains x {draws} draws x {observations} observations"
    )]
    Empty {
        /// Number of chains found.
        chains: usize,
        /// Number of draws per chain found.
        draws: usize,
        /// Number of observations found.
        observations: usize,
    },
    /// Too few pooled draws for the estimate.
    #[error("{draws} pooled draws given, at least {needed} are needed")]
    TooFewDraws {
        /// Number of pooled draws (chains × draws).
        draws: usize,
        /// Fewest draws the computation accepts.
        needed: usize,
    },
    /// A log-likelihood value is NaN or infinite.
    #[error(
        "log-likelihood at chain {chain}, draw {draw}, observation {observation} is {value}; \
         every value must be finite"
    )]
    NonFiniteLogLik {
        /// Chain index (0-based).
        chain: usize,
        /// Draw index within the chain (0-based).
        draw: usize,
        /// Observation index (0-based).
        observation: usize,
        /// The offending value.
        value: f64,
    },
    /// A log importance ratio passed to [`psis`] is NaN or infinite.
    #[error("log importance ratio {index} is {value}; every ratio must be finite")]
    NonFiniteRatio {
        /// Position of the ratio (0-based).
        index: usize,
        /// The offending value.
        value: f64,
    },
    /// The relative efficiency must be a finite positive number.
    #[error("relative efficiency r_eff must be finite and positive, got {0}")]
    InvalidRelativeEfficiency(f64),
    /// [`relative_efficiency`] was given no posterior parameter.
    #[error("no posterior parameter given to compute the relative efficiency from")]
    NoParameters,
    /// Posterior parameters (or models) disagree in shape.
    #[error("{what} {index} has shape {found:?}, but {what} 0 has shape {expected:?}")]
    ShapeMismatch {
        /// What disagrees ("parameter" or "model").
        what: &'static str,
        /// Index of the first disagreeing item.
        index: usize,
        /// Shape of item 0.
        expected: Vec<usize>,
        /// Shape of the disagreeing item.
        found: Vec<usize>,
    },
    /// The effective sample size of a posterior parameter is undefined (NaN draws, or fewer
    /// than four draws per chain).
    #[error("ESS of posterior parameter {parameter} is {ess}; r_eff needs it finite")]
    UndefinedEss {
        /// Index of the parameter (0-based).
        parameter: usize,
        /// The ESS found.
        ess: f64,
    },
    /// [`compare`] was given no model.
    #[error("no models to compare")]
    NoModels,
    /// Two models given to [`compare`] share a name.
    #[error("duplicate model name {0:?}")]
    DuplicateModelName(String),
}
