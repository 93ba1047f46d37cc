//! Typed errors of the samplers: configuration, initialisation and output.

use std::path::PathBuf;

use thiserror::Error;

use crate::density::LogDensityError;

/// A setting that cannot work, found before any chain starts.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ConfigError {
    /// `draws` was 0: there would be nothing to return.
    #[error("the number of draws must be at least 1 (got 0); warm-up may be 0 but draws may not")]
    ZeroDraws,
    /// `chains` was 0.
    #[error("the number of chains must be at least 1 (got 0)")]
    ZeroChains,
    /// The target acceptance statistic of step-size adaptation was outside (0, 1).
    #[error("target acceptance statistic must lie strictly between 0 and 1 (got {0})")]
    TargetAccept(f64),
    /// NUTS maximum tree depth was 0 (no leapfrog step could ever be taken).
    #[error("maximum tree depth must be at least 1 (got 0)")]
    MaxDepthZero,
    /// A numeric setting that must be finite and positive was not.
    #[error("setting `{name}` must be finite and positive (got {value})")]
    NotPositive {
        /// Name of the setting.
        name: &'static str,
        /// The offending value.
        value: f64,
    },
    /// A count that must be at least 1 was 0.
    #[error("setting `{name}` must be at least 1 (got 0)")]
    ZeroCount {
        /// Name of the setting.
        name: &'static str,
    },
    /// The user-supplied initial point does not match the density's dimension.
    #[error("initial point has {got} coordinates but the density has dimension {expected}")]
    InitialPointDim {
        /// `LogDensity::dim()`.
        expected: usize,
        /// Length of the given point.
        got: usize,
    },
    /// The user-supplied initial point has a non-finite coordinate.
    #[error("initial point coordinate {index} is not finite ({value})")]
    InitialPointNonFinite {
        /// Coordinate index.
        index: usize,
        /// Its value.
        value: f64,
    },
    /// The density has dimension 0.
    #[error("the density has dimension 0: there is nothing to sample")]
    ZeroDimension,
    /// `LogDensity::output_names` and `LogDensity::write_output` disagree in length.
    #[error("the density names {names} output values but wrote {written}")]
    OutputLength {
        /// Number of names.
        names: usize,
        /// Number of values written for the initial point.
        written: usize,
    },
    /// Any other sampler-specific problem.
    #[error("{0}")]
    Other(String),
}

/// What was not finite (or failed) when a point was evaluated.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum NonFinite {
    /// The log-density returned an error.
    #[error("the log-density returned an error: {0}")]
    Error(#[from] LogDensityError),
    /// The log-density value was NaN or ±∞.
    #[error("the log-density is {0}")]
    LogDensity(f64),
    /// A gradient component was NaN or ±∞.
    #[error("gradient component {index} is {value}")]
    Gradient {
        /// Index of the first non-finite component.
        index: usize,
        /// Its value.
        value: f64,
    },
}

/// No valid starting point was found for a chain.
#[derive(Debug, Clone, PartialEq, Error)]
#[error(
    "chain {chain}: no valid initial point after {attempts} attempt(s) \
     (initial point plus uniform(-{jitter}, {jitter}) jitter); last attempt: {last}"
)]
pub struct InitError {
    /// Index of the chain (0-based).
    pub chain: usize,
    /// How many points were tried.
    pub attempts: usize,
    /// Half-width of the uniform jitter.
    pub jitter: f64,
    /// What was wrong at the last point tried.
    pub last: NonFinite,
}

/// Writing output files failed.
#[derive(Debug, Error)]
pub enum OutputError {
    /// An I/O error on a path.
    #[error("could not write {path}: {source}")]
    Io {
        /// The file being written.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// JSON serialisation failed.
    #[error("could not serialise the JSON summary: {0}")]
    Json(#[from] serde_json::Error),
    /// The posterior summary table could not be built (e.g. two outputs share a name).
    #[error("could not build the posterior summary: {0}")]
    Summary(#[from] crate::summary::SummaryError),
}

/// Why a sampling run failed.
#[derive(Debug, Error)]
pub enum SampleError {
    /// Invalid settings (nothing was run).
    #[error("invalid configuration: {0}")]
    Config(#[from] ConfigError),
    /// A chain could not be initialised.
    #[error(transparent)]
    Init(#[from] InitError),
    /// The log-density failed in a way that is not recoverable
    /// ([`LogDensityError::is_recoverable`]): the run stopped.
    #[error("chain {chain}, {at}: {source}")]
    Density {
        /// Index of the chain (0-based) that met the error.
        chain: usize,
        /// Where in the chain.
        at: ChainStage,
        /// The density's error.
        source: LogDensityError,
    },
    /// `LogDensity::write_output` wrote a different number of values than
    /// `LogDensity::output_names` names (it did not when the run started): the run stopped.
    #[error(
        "chain {chain}, {at}: the density wrote {written} output values where its output \
         names are {names} (LogDensity::write_output and output_names disagree)"
    )]
    OutputLength {
        /// Index of the chain (0-based).
        chain: usize,
        /// Where in the chain.
        at: ChainStage,
        /// Number of output names.
        names: usize,
        /// Number of values written.
        written: usize,
    },
    /// Streaming the draws to disk failed: the run stopped.
    #[error(transparent)]
    Output(#[from] OutputError),
}

/// Where in a chain something happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChainStage {
    /// Finding the initial point, or setting the chain up there.
    Initialisation,
    /// Warm-up iteration (0-based).
    Warmup(usize),
    /// Draw after warm-up (0-based).
    Draw(usize),
}

impl std::fmt::Display for ChainStage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChainStage::Initialisation => f.write_str("initialisation"),
            ChainStage::Warmup(i) => write!(f, "warm-up iteration {i}"),
            ChainStage::Draw(i) => write!(f, "draw {i}"),
        }
    }
}

impl ChainStage {
    /// Wraps a density error of chain `chain` at this stage (for `map_err`).
    pub(crate) fn fatal(self, chain: usize) -> impl FnOnce(LogDensityError) -> SampleError {
        move |source| SampleError::Density {
            chain,
            at: self,
            source,
        }
    }
}
