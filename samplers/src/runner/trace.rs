//! What a run produces: every chain's draws and statistics ([`Trace`]) and the questions asked
//! of them (columns, divergences, warnings).

use serde::{Deserialize, Serialize};

use super::config::RunConfig;
use crate::sampler::{DrawStats, Tuning};

/// Draws reserved up front per chain and phase; beyond it the storage grows as draws come.
pub(crate) const MAX_RESERVED_DRAWS: usize = 1 << 16;
/// Output values reserved up front per chain and phase (8 MiB).
const MAX_RESERVED_VALUES: usize = 1 << 20;

/// Draws of one chain in one phase: output values (row-major, one row per draw) and
/// statistics.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Draws {
    width: usize,
    values: Vec<f64>,
    stats: Vec<DrawStats>,
}

impl Draws {
    /// Room for `draws` draws of `width` values, reserved up to [`MAX_RESERVED_DRAWS`]
    /// (more grow as they come): a huge request then fails, if ever, when memory runs out
    /// rather than up front.
    pub(crate) fn with_capacity(width: usize, draws: usize) -> Self {
        let draws = draws.min(MAX_RESERVED_DRAWS);
        Self {
            width,
            values: Vec::with_capacity(width.saturating_mul(draws).min(MAX_RESERVED_VALUES)),
            stats: Vec::with_capacity(draws),
        }
    }

    /// Appends one draw. The runner checks the width first (a density whose output length
    /// changes is a typed error there); a mismatch here is a bug in the caller.
    pub(crate) fn push(&mut self, values: &[f64], stats: DrawStats) {
        assert_eq!(
            values.len(),
            self.width,
            "Draws::push: {} values for a width of {}",
            values.len(),
            self.width
        );
        self.values.extend_from_slice(values);
        self.stats.push(stats);
    }

    /// Number of draws.
    pub fn len(&self) -> usize {
        self.stats.len()
    }

    /// True if there are no draws.
    pub fn is_empty(&self) -> bool {
        self.stats.is_empty()
    }

    /// Output values per draw.
    pub fn width(&self) -> usize {
        self.width
    }

    /// The output values of draw `i`.
    pub fn draw(&self, i: usize) -> &[f64] {
        &self.values[i * self.width..(i + 1) * self.width]
    }

    /// All values, row-major (`len() × width()`).
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// Value `j` across draws.
    pub fn column(&self, j: usize) -> Vec<f64> {
        assert!(
            j < self.width,
            "column {j} out of range (width {})",
            self.width
        );
        self.values
            .iter()
            .skip(j)
            .step_by(self.width)
            .copied()
            .collect()
    }

    /// Per-draw statistics.
    pub fn stats(&self) -> &[DrawStats] {
        &self.stats
    }

    /// Keeps the first `len` draws (all of them if there are fewer).
    pub fn truncate(&mut self, len: usize) {
        self.stats.truncate(len);
        self.values.truncate(len * self.width);
    }
}

/// Everything one chain produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChainTrace {
    /// Chain index (0-based).
    pub chain: usize,
    /// Points tried before a valid start was found.
    pub init_attempts: usize,
    /// The (jittered) starting position.
    pub initial_position: Vec<f64>,
    /// Warm-up draws (empty unless `keep_warmup`).
    pub warmup: Draws,
    /// Draws after warm-up.
    pub draws: Draws,
    /// Tuning at the end of warm-up (step size, inverse metric).
    pub tuning: Tuning,
    /// Wall time of warm-up, seconds.
    pub warmup_seconds: f64,
    /// Wall time of sampling, seconds.
    pub sampling_seconds: f64,
    /// Gradient evaluations of every iteration, warm-up and sampling, whether its draw was
    /// kept or not (`keep_warmup` off, thinning). A chain read back from a CSV file takes the
    /// count from the file's `# gradient_evaluations = …` footer line, or, where there is
    /// none (a file not written by trellis), counts the iterations the file holds.
    #[serde(default)]
    pub gradient_evaluations: u64,
}

/// The result of a run: all chains' draws and statistics, with what produced them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trace {
    /// [`Sampler::name`].
    pub sampler: String,
    /// [`Sampler::settings`].
    pub sampler_settings: Vec<(String, String)>,
    /// Names of the output values ([`LogDensity::output_names`]).
    pub names: Vec<String>,
    /// Dimension of the sampled (unconstrained) space.
    pub dim: usize,
    /// The run configuration.
    pub config: RunConfig,
    /// One entry per chain, in chain order.
    pub chains: Vec<ChainTrace>,
}

impl Trace {
    /// Number of chains.
    pub fn num_chains(&self) -> usize {
        self.chains.len()
    }

    /// Draws kept per chain after warm-up (fewer than [`RunConfig::draws`] when thinned).
    pub fn draws_per_chain(&self) -> usize {
        self.chains.first().map_or(0, |c| c.draws.len())
    }

    /// Index of the output value called `name`.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    /// Output value `j`, one vector of draws per chain (the layout diagnostics take).
    pub fn column(&self, j: usize) -> Vec<Vec<f64>> {
        self.chains.iter().map(|c| c.draws.column(j)).collect()
    }

    /// Output value called `name`, one vector of draws per chain.
    pub fn column_by_name(&self, name: &str) -> Option<Vec<Vec<f64>>> {
        self.index_of(name).map(|j| self.column(j))
    }

    /// A statistic, one vector per chain, e.g. `trace.stat(|s| s.lp)`.
    pub fn stat<T>(&self, f: impl Fn(&DrawStats) -> T) -> Vec<Vec<T>> {
        self.chains
            .iter()
            .map(|c| c.draws.stats().iter().map(&f).collect())
            .collect()
    }

    /// All draws as an array of shape `(chain, draw, value)`.
    pub fn to_array(&self) -> ndarray::Array3<f64> {
        let (c, d, w) = (self.chains.len(), self.draws_per_chain(), self.names.len());
        let flat: Vec<f64> = self
            .chains
            .iter()
            .flat_map(|ch| ch.draws.values().iter().copied())
            .collect();
        ndarray::Array3::from_shape_vec((c, d, w), flat).expect("chains have equal shapes")
    }

    /// Transitions after warm-up for which `flag` holds, per chain.
    fn count_per_chain(&self, flag: impl Fn(&DrawStats) -> bool) -> Vec<usize> {
        self.chains
            .iter()
            .map(|c| c.draws.stats().iter().filter(|s| flag(s)).count())
            .collect()
    }

    /// Divergent transitions after warm-up, per chain.
    pub fn divergences_per_chain(&self) -> Vec<usize> {
        self.count_per_chain(|s| s.divergent)
    }

    /// Divergent transitions after warm-up, all chains.
    pub fn divergences(&self) -> usize {
        self.divergences_per_chain().iter().sum()
    }

    /// Transitions after warm-up that stopped at the maximum tree depth, per chain.
    pub fn max_depth_hits_per_chain(&self) -> Vec<usize> {
        self.count_per_chain(|s| s.max_depth_hit)
    }

    /// Transitions after warm-up that stopped at the maximum tree depth, all chains.
    pub fn max_depth_hits(&self) -> usize {
        self.max_depth_hits_per_chain().iter().sum()
    }

    /// Human-readable warnings about the run: divergences and maximum-depth hits per chain
    /// (chains numbered 1-based, as their files are).
    pub fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        for (c, (div, depth)) in self.chains.iter().zip(
            self.divergences_per_chain()
                .into_iter()
                .zip(self.max_depth_hits_per_chain()),
        ) {
            let n = c.draws.len();
            if div > 0 {
                w.push(format!(
                    "chain {}: {div} of {n} draws after warm-up were divergent; \
                     the posterior may be biased (reparameterise or raise target_accept)",
                    c.chain + 1
                ));
            }
            if depth > 0 {
                w.push(format!(
                    "chain {}: {depth} of {n} draws after warm-up stopped at the maximum tree depth",
                    c.chain + 1
                ));
            }
        }
        w
    }
}
