//! Running chains: configuration, per-chain random streams, parallel threads, warm-up and
//! sampling loops, and the [`Trace`] they produce.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use crate::density::LogDensity;
use crate::error::{ConfigError, SampleError};
use crate::init::{initialise, InitSettings};
use crate::progress::Progress;
use crate::sampler::{ChainRng, DrawStats, Phase, Sampler, Tuning};

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
    /// Show a progress bar per chain (only ever on a terminal). Default true.
    pub progress: bool,
    /// Keep the warm-up draws and their statistics in the trace. Default true.
    pub keep_warmup: bool,
    /// Jittered initialisation.
    pub init: InitSettings,
    /// Where chains start before jitter; `None` uses [`LogDensity::initial_point`].
    pub initial_point: Option<Vec<f64>>,
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
        self.init.validate()
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

/// Draws of one chain in one phase: output values (row-major, one row per draw) and
/// statistics.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Draws {
    width: usize,
    values: Vec<f64>,
    stats: Vec<DrawStats>,
}

impl Draws {
    fn with_capacity(width: usize, draws: usize) -> Self {
        Self {
            width,
            values: Vec::with_capacity(width * draws),
            stats: Vec::with_capacity(draws),
        }
    }

    fn push(&mut self, values: &[f64], stats: DrawStats) {
        assert_eq!(
            values.len(),
            self.width,
            "LogDensity::write_output wrote {} values but output_names has {}",
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
        let (c, d, w) = (self.chains.len(), self.config.draws, self.names.len());
        let flat: Vec<f64> = self
            .chains
            .iter()
            .flat_map(|ch| ch.draws.values().iter().copied())
            .collect();
        ndarray::Array3::from_shape_vec((c, d, w), flat).expect("chains have equal shapes")
    }

    /// Divergent transitions after warm-up, per chain.
    pub fn divergences_per_chain(&self) -> Vec<usize> {
        self.chains
            .iter()
            .map(|c| c.draws.stats().iter().filter(|s| s.divergent).count())
            .collect()
    }

    /// Divergent transitions after warm-up, all chains.
    pub fn divergences(&self) -> usize {
        self.divergences_per_chain().iter().sum()
    }

    /// Transitions after warm-up that stopped at the maximum tree depth, per chain.
    pub fn max_depth_hits_per_chain(&self) -> Vec<usize> {
        self.chains
            .iter()
            .map(|c| c.draws.stats().iter().filter(|s| s.max_depth_hit).count())
            .collect()
    }

    /// Transitions after warm-up that stopped at the maximum tree depth, all chains.
    pub fn max_depth_hits(&self) -> usize {
        self.max_depth_hits_per_chain().iter().sum()
    }

    /// Human-readable warnings about the run: divergences and maximum-depth hits per chain.
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
                    c.chain
                ));
            }
            if depth > 0 {
                w.push(format!(
                    "chain {}: {depth} of {n} draws after warm-up stopped at the maximum tree depth",
                    c.chain
                ));
            }
        }
        w
    }
}

/// Runs `config.chains` chains of `sampler` on `density` in parallel and returns their draws.
///
/// Chain `k` uses [`chain_rng`]`(config.seed, k)` for everything (jitter, momenta, accept
/// decisions), so the result is bit-identical whatever `config.threads` is.
///
/// ```
/// use trellis_samplers::{sample, LogDensity, LogDensityError, Nuts, RunConfig};
///
/// struct StdNormal;
/// impl LogDensity for StdNormal {
///     fn dim(&self) -> usize { 3 }
///     fn logp_and_grad(&self, x: &[f64], g: &mut [f64]) -> Result<f64, LogDensityError> {
///         for (gi, xi) in g.iter_mut().zip(x) { *gi = -xi; }
///         Ok(-0.5 * x.iter().map(|v| v * v).sum::<f64>())
///     }
/// }
///
/// let config = RunConfig { chains: 2, warmup: 200, draws: 200, progress: false,
///                          ..RunConfig::default() };
/// let trace = sample(&StdNormal, &Nuts::default(), &config)?;
/// assert_eq!(trace.chains.len(), 2);
/// assert_eq!(trace.chains[0].draws.len(), 200);
/// assert_eq!(trace.names, ["x[0]", "x[1]", "x[2]"]);
/// # Ok::<(), trellis_samplers::SampleError>(())
/// ```
pub fn sample<D, S>(density: &D, sampler: &S, config: &RunConfig) -> Result<Trace, SampleError>
where
    D: LogDensity + ?Sized,
    S: Sampler,
{
    config.validate()?;
    sampler.validate()?;
    let dim = density.dim();
    if dim == 0 {
        return Err(ConfigError::ZeroDimension.into());
    }
    let base = match &config.initial_point {
        Some(p) => p.clone(),
        None => density.initial_point(),
    };
    if base.len() != dim {
        return Err(ConfigError::InitialPointDim {
            expected: dim,
            got: base.len(),
        }
        .into());
    }
    if let Some((index, &value)) = base.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(ConfigError::InitialPointNonFinite { index, value }.into());
    }
    let names = density.output_names();
    let mut probe = Vec::new();
    density.write_output(&base, &mut probe);
    if probe.len() != names.len() {
        return Err(ConfigError::OutputLength {
            names: names.len(),
            written: probe.len(),
        }
        .into());
    }

    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let threads = match config.threads {
        0 => cores,
        t => t,
    }
    .min(config.chains);
    // When the chains alone keep every core busy, a density that parallelises internally
    // (with rayon) would only oversubscribe them: each worker then runs inside its own
    // one-thread rayon pool, where such work runs inline. With spare cores it may use them.
    let nested_serial = threads >= cores;
    let progress = Progress::new(config.chains, config.warmup + config.draws, config.progress);
    let results: Vec<Mutex<Option<Result<ChainTrace, SampleError>>>> =
        (0..config.chains).map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);

    let chains_loop = || loop {
        let k = next.fetch_add(1, Ordering::Relaxed);
        if k >= config.chains {
            break;
        }
        let r = run_chain(density, sampler, config, &base, names.len(), k, &progress);
        *results[k].lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
    };
    let work = || {
        let single = nested_serial
            .then(|| rayon::ThreadPoolBuilder::new().num_threads(1).build().ok())
            .flatten();
        match single {
            Some(pool) => pool.install(chains_loop),
            None => chains_loop(),
        }
    };
    if threads <= 1 {
        work();
    } else {
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(work);
            }
        });
    }

    let mut chains = Vec::with_capacity(config.chains);
    for r in results {
        let r = r.into_inner().unwrap_or_else(|e| e.into_inner());
        chains.push(r.expect("every chain ran")?);
    }
    let trace = Trace {
        sampler: sampler.name().to_string(),
        sampler_settings: sampler.settings(),
        names,
        dim,
        config: config.clone(),
        chains,
    };
    if config.progress && std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        for w in trace.warnings() {
            eprintln!("warning: {w}");
        }
    }
    Ok(trace)
}

fn run_chain<D, S>(
    density: &D,
    sampler: &S,
    config: &RunConfig,
    base: &[f64],
    width: usize,
    k: usize,
    progress: &Progress,
) -> Result<ChainTrace, SampleError>
where
    D: LogDensity + ?Sized,
    S: Sampler,
{
    let mut bar = progress.chain(k);
    let mut rng = chain_rng(config.seed, k);
    let (mut point, init_attempts) = initialise(density, base, &config.init, k, &mut rng)?;
    let initial_position = point.position.clone();
    let mut s = sampler.clone();
    s.init(density, &point, config.warmup, &mut rng);

    let mut out = Vec::with_capacity(width);
    let mut warmup =
        Draws::with_capacity(width, if config.keep_warmup { config.warmup } else { 0 });
    bar.phase(true);
    let t0 = Instant::now();
    for iteration in 0..config.warmup {
        let stats = s.step(
            density,
            &mut point,
            Phase::Warmup {
                iteration,
                total: config.warmup,
            },
            &mut rng,
        );
        if config.keep_warmup {
            density.write_output(&point.position, &mut out);
            warmup.push(&out, stats);
        }
        bar.tick(stats.divergent);
    }
    s.end_warmup();
    let warmup_seconds = t0.elapsed().as_secs_f64();

    bar.phase(false);
    let t1 = Instant::now();
    let mut draws = Draws::with_capacity(width, config.draws);
    for iteration in 0..config.draws {
        let stats = s.step(density, &mut point, Phase::Sampling { iteration }, &mut rng);
        density.write_output(&point.position, &mut out);
        draws.push(&out, stats);
        bar.tick(stats.divergent);
    }
    let sampling_seconds = t1.elapsed().as_secs_f64();
    bar.finish();

    Ok(ChainTrace {
        chain: k,
        init_attempts,
        initial_position,
        warmup,
        draws,
        tuning: s.tuning(),
        warmup_seconds,
        sampling_seconds,
    })
}
