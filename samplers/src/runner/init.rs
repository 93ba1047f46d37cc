//! Chain initialisation like PyMC's `jitter+adapt_diag`: the model's initial point plus
//! uniform(−1, 1) jitter, retried a bounded number of times while the log-density or its
//! gradient is not finite.

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::density::LogDensity;
use crate::error::{ChainStage, ConfigError, InitError, NonFinite, SampleError};
use crate::sampler::{ChainRng, Point};

/// How chains find their starting points.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct InitSettings {
    /// Half-width of the uniform jitter added to each coordinate of the initial point.
    /// Default 1; 0 starts exactly at the initial point.
    pub jitter: f64,
    /// Points tried per chain before giving up. Default 20.
    pub max_attempts: usize,
}

impl Default for InitSettings {
    fn default() -> Self {
        Self {
            jitter: 1.0,
            max_attempts: 20,
        }
    }
}

impl InitSettings {
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        if !(self.jitter.is_finite() && self.jitter >= 0.0) {
            return Err(ConfigError::Other(format!(
                "setting `jitter` must be finite and non-negative (got {})",
                self.jitter
            )));
        }
        if self.max_attempts == 0 {
            return Err(ConfigError::ZeroCount {
                name: "max_attempts",
            });
        }
        Ok(())
    }
}

/// Finds chain `chain`'s starting point near `base`. Returns it and the number of attempts.
///
/// A density error that is not recoverable stops at once: no other point would avoid it.
pub(crate) fn initialise<D: LogDensity + ?Sized>(
    density: &D,
    base: &[f64],
    settings: &InitSettings,
    chain: usize,
    rng: &mut ChainRng,
) -> Result<(Point, usize), SampleError> {
    let mut point = Point::zeros(base.len());
    let mut last = NonFinite::LogDensity(f64::NAN);
    for attempt in 1..=settings.max_attempts {
        for (x, b) in point.position.iter_mut().zip(base) {
            *x = if settings.jitter > 0.0 {
                b + rng.random_range(-settings.jitter..settings.jitter)
            } else {
                *b
            };
        }
        match point.evaluate(density) {
            Ok(()) => return Ok((point, attempt)),
            Err(NonFinite::Error(e)) if !e.is_recoverable() => {
                return Err(ChainStage::Initialisation.fatal(chain)(e))
            }
            Err(e) => last = e,
        }
    }
    Err(InitError {
        chain,
        attempts: settings.max_attempts,
        jitter: settings.jitter,
        last,
    }
    .into())
}
