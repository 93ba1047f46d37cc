//! Chain initialisation like PyMC's `jitter+adapt_diag`: the model's initial point plus
//! uniform(−1, 1) jitter, retried a bounded number of times while the log-density or its
//! gradient is not finite; optionally the best of several such points.

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
    /// Jittered starting points found per chain (each within `max_attempts` tries), of
    /// which the one with the highest log-density starts the chain. Default 1 (PyMC's
    /// `jitter+adapt_diag`). Around an initial point read off the data, more keep a chain
    /// from starting in the basin of a minor mode its jitter happened to land in (a
    /// mixture-like posterior's merged states), which NUTS rarely leaves; around an
    /// uninformed point the highest start can itself be a minor mode's (benches/BENCHMARKS.md,
    /// posteriordb `hmm_drive`). Chains still start at different points.
    #[serde(default = "one")]
    pub candidates: usize,
}

fn one() -> usize {
    1
}

impl Default for InitSettings {
    fn default() -> Self {
        Self {
            jitter: 1.0,
            max_attempts: 20,
            candidates: 1,
        }
    }
}

/// The largest accepted [`InitSettings::jitter`]: half the largest `f64`.
pub const MAX_JITTER: f64 = f64::MAX / 2.0;

impl InitSettings {
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        if !(self.jitter.is_finite() && self.jitter >= 0.0) {
            return Err(ConfigError::Other(format!(
                "setting `jitter` must be finite and non-negative (got {})",
                self.jitter
            )));
        }
        // The RNG draws uniform(−jitter, jitter) from the range's width, 2·jitter, and
        // panics if that overflows to infinity.
        if !(2.0 * self.jitter).is_finite() {
            return Err(ConfigError::Other(format!(
                "setting `jitter` must be at most {MAX_JITTER:e} (half the largest f64, so \
                 that the uniform(-jitter, jitter) range has a finite width; got {:e})",
                self.jitter
            )));
        }
        if self.max_attempts == 0 {
            return Err(ConfigError::ZeroCount {
                name: "max_attempts",
            });
        }
        if self.candidates == 0 {
            return Err(ConfigError::ZeroCount { name: "candidates" });
        }
        Ok(())
    }
}

/// Finds chain `chain`'s starting point near `base`: the best of
/// [`InitSettings::candidates`] jittered points. Returns it and the number of points tried.
///
/// A density error that is not recoverable stops at once: no other point would avoid it.
pub(crate) fn initialise<D: LogDensity + ?Sized>(
    density: &D,
    base: &[f64],
    settings: &InitSettings,
    chain: usize,
    rng: &mut ChainRng,
) -> Result<(Point, usize), SampleError> {
    let (mut best, mut tried) = one_start(density, base, settings, chain, rng)?;
    // Without jitter every candidate is the same point.
    let more = if settings.jitter > 0.0 {
        settings.candidates - 1
    } else {
        0
    };
    for _ in 0..more {
        match one_start(density, base, settings, chain, rng) {
            Ok((point, attempts)) => {
                tried += attempts;
                // Ties keep the earlier point.
                if point.logp > best.logp {
                    best = point;
                }
            }
            // A candidate that found no finite point leaves the best one found.
            Err(SampleError::Init(_)) => tried += settings.max_attempts,
            Err(fatal) => return Err(fatal),
        }
    }
    Ok((best, tried))
}

/// One jittered starting point with a finite log-density and gradient, within
/// [`InitSettings::max_attempts`] tries; returns it and the tries it took.
fn one_start<D: LogDensity + ?Sized>(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_whose_range_overflows_is_refused() {
        let settings = |jitter| InitSettings {
            jitter,
            ..InitSettings::default()
        };
        assert!(settings(MAX_JITTER).validate().is_ok());
        // The largest accepted jitter can really be drawn from (1e308 used to panic here).
        let mut rng = crate::runner::config::chain_rng(1, 0);
        let u: f64 = rng.random_range(-MAX_JITTER..MAX_JITTER);
        assert!(u.abs() <= MAX_JITTER);
        for jitter in [1e308, f64::MAX, f64::INFINITY, -1.0, f64::NAN] {
            let err = settings(jitter).validate().unwrap_err().to_string();
            assert!(err.contains("setting `jitter` must be"), "{jitter}: {err}");
        }
        let err = settings(1e308).validate().unwrap_err().to_string();
        assert!(err.contains("at most 8.988465674311579e307"), "{err}");
        assert!(err.contains("got 1e308"), "{err}");
    }
}
