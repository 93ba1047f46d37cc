//! What a run is: how many chains, for how long, from which seed, and each chain's random
//! stream.

use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use super::init::InitSettings;
use crate::error::ConfigError;
use crate::sampler::ChainRng;

/// How many chains to run, for how long, from which seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
    /// Number of chains. Default 4.
    pub chains: usize,
    /// Warm-up (adaptation) iterations per chain; may be 0. Default 1000.
    pub warmup: usize,
    /// Draws kept per chain after warm-up; at least 1. Default 1000.
    pub draws: usize,
    /// The one seed all chains' streams derive from. Default 0.
    pub seed: u64,
    /// Worker threads; 0 means one per available core (never more than `chains`). The draws
    /// do not depend on it. Default 0.
    pub threads: usize,
    /// Show progress on standard error: a bar per chain on a terminal, otherwise one plain
    /// line per chain at every tenth of its iterations. Default true.
    pub progress: bool,
    /// Keep the warm-up draws and their statistics in the trace. Default true.
    pub keep_warmup: bool,
    /// Jittered initialisation.
    pub init: InitSettings,
    /// Where chains start before jitter; `None` uses [`LogDensity::initial_point`].
    pub initial_point: Option<Vec<f64>>,
    /// Index (0-based) of the first chain of this run: the run's chains are `first_chain …
    /// first_chain + chains − 1`, each with the random stream, starting point and number it
    /// has in a single run of enough chains, so chains can be spread over processes or
    /// machines and merged afterwards. Default 0.
    #[serde(default)]
    pub first_chain: usize,
    /// Keep every `thin`-th iteration (the first, then every `thin` after it), of warm-up
    /// (when kept) and of sampling, as CmdStan's `thin`: `draws` iterations keep
    /// ⌈draws / thin⌉ draws. At least 1. Default 1.
    #[serde(default = "one")]
    pub thin: usize,
    /// Where each chain of this run starts, one point per chain (entry `k` for chain
    /// `first_chain + k`); overrides `initial_point`. Jitter applies as usual (set
    /// [`InitSettings::jitter`] to 0 to start exactly there). Default `None`.
    #[serde(default)]
    pub chain_initial_points: Option<Vec<Vec<f64>>>,
}

fn one() -> usize {
    1
}

impl Default for RunConfig {
    fn default() -> Self {
        Self {
            chains: 4,
            warmup: 1000,
            draws: 1000,
            seed: 0,
            threads: 0,
            progress: true,
            keep_warmup: true,
            init: InitSettings::default(),
            initial_point: None,
            first_chain: 0,
            thin: 1,
            chain_initial_points: None,
        }
    }
}

impl RunConfig {
    /// Checks the run settings.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.draws == 0 {
            return Err(ConfigError::ZeroDraws);
        }
        if self.chains == 0 {
            return Err(ConfigError::ZeroChains);
        }
        if self.first_chain.checked_add(self.chains).is_none() {
            return Err(ConfigError::Other(format!(
                "first chain {} plus {} chains overflows",
                self.first_chain, self.chains
            )));
        }
        if self.thin == 0 {
            return Err(ConfigError::ZeroCount { name: "thin" });
        }
        if self.warmup.checked_add(self.draws).is_none() {
            return Err(ConfigError::Other(format!(
                "{} warm-up iterations plus {} draws overflow the iteration counter",
                self.warmup, self.draws
            )));
        }
        if let Some(points) = &self.chain_initial_points {
            if points.len() != self.chains {
                return Err(ConfigError::Other(format!(
                    "{} initial points for {} chains: give one per chain",
                    points.len(),
                    self.chains
                )));
            }
        }
        self.init.validate()
    }

    /// Draws kept per chain after warm-up: ⌈draws / thin⌉.
    pub fn kept_draws(&self) -> usize {
        self.draws.div_ceil(self.thin.max(1))
    }

    /// Warm-up draws kept per chain: ⌈warmup / thin⌉ if `keep_warmup`, else 0.
    pub fn kept_warmup(&self) -> usize {
        if self.keep_warmup {
            self.warmup.div_ceil(self.thin.max(1))
        } else {
            0
        }
    }
}

/// The random stream of chain `chain`: xoshiro256++ seeded from `seed`, advanced by `chain`
/// jumps of 2¹²⁸ steps — so it depends only on the seed and the chain index.
pub fn chain_rng(seed: u64, chain: usize) -> ChainRng {
    let mut rng = ChainRng::seed_from_u64(seed);
    for _ in 0..chain {
        rng.jump();
    }
    rng
}
