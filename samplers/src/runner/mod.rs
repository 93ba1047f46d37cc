//! Running chains: parallel threads, each chain's warm-up and sampling loop, and the
//! [`Trace`] they produce. The parts: [`config`] (what to run), [`init`] (where chains start)
//! and [`trace`] (what comes out).

pub mod config;
pub mod init;
pub mod trace;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

pub use config::{chain_rng, RunConfig};
pub use trace::{ChainTrace, Draws, Trace};

use crate::density::LogDensity;
use crate::error::{ChainStage, ConfigError, SampleError};
use crate::output::progress::Progress;
use crate::output::stream::{ChainFile, CsvStream};
use crate::output::{Footer, RunHeader};
use crate::sampler::{Chain, ChainStart, DrawStats, Phase, Sampler, Transition};
use init::initialise;

/// Runs `config.chains` chains of `sampler` on `density` in parallel and returns their draws.
///
/// Chain `k` (counting from `config.first_chain`) uses [`chain_rng`]`(config.seed, k)` for
/// everything (jitter, momenta, accept decisions), so the result is bit-identical whatever
/// `config.threads` is, and chain `k` is the same whichever run of chains it is part of.
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
    run(density, sampler, config, None)
}

/// [`sample`], writing each chain's CmdStan CSV as its draws are made: the file grows as
/// `{stem}_{N}.csv.partial` and is renamed to `{stem}_{N}.csv` when the chain finishes (see
/// [`CsvStream`]). The finished files are byte for byte what
/// [`crate::output::cmdstan_csv_with`] makes of the returned trace with the stream's
/// provenance lines. If the run fails, files of unfinished chains stay `.partial`.
pub fn sample_streaming<D, S>(
    density: &D,
    sampler: &S,
    config: &RunConfig,
    stream: &CsvStream,
) -> Result<Trace, SampleError>
where
    D: LogDensity + ?Sized,
    S: Sampler,
{
    run(density, sampler, config, Some(stream))
}

/// The starting points (before jitter) of the run's chains, checked.
fn base_points<D: LogDensity + ?Sized>(
    density: &D,
    config: &RunConfig,
) -> Result<Vec<Vec<f64>>, ConfigError> {
    let dim = density.dim();
    let points = match (&config.chain_initial_points, &config.initial_point) {
        (Some(points), _) => points.clone(),
        (None, Some(p)) => vec![p.clone(); config.chains],
        (None, None) => vec![density.initial_point(); config.chains],
    };
    for base in &points {
        if base.len() != dim {
            return Err(ConfigError::InitialPointDim {
                expected: dim,
                got: base.len(),
            });
        }
        if let Some((index, &value)) = base.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(ConfigError::InitialPointNonFinite { index, value });
        }
    }
    Ok(points)
}

/// Checks that `kept` draws of `width` values fit in memory at all (a request beyond
/// `isize::MAX` bytes could never be met and used to panic with "capacity overflow").
fn check_storage(kept: usize, width: usize, what: &str) -> Result<(), ConfigError> {
    let bytes = kept
        .checked_mul(width.max(1))
        .and_then(|n| n.checked_mul(std::mem::size_of::<f64>()))
        .filter(|&b| b <= isize::MAX as usize);
    match bytes {
        Some(_) => Ok(()),
        None => Err(ConfigError::Other(format!(
            "{kept} {what} of {width} output values per chain cannot be held in memory"
        ))),
    }
}

fn run<D, S>(
    density: &D,
    sampler: &S,
    config: &RunConfig,
    stream: Option<&CsvStream>,
) -> Result<Trace, SampleError>
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
    sampler.validate_dim(dim)?;
    let bases = base_points(density, config)?;
    let names = density.output_names();
    let mut probe = Vec::new();
    density.write_output(&bases[0], &mut probe);
    if probe.len() != names.len() {
        return Err(ConfigError::OutputLength {
            names: names.len(),
            written: probe.len(),
        }
        .into());
    }
    check_storage(config.kept_draws(), names.len(), "draws")?;
    check_storage(config.kept_warmup(), names.len(), "warm-up draws")?;

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
    let progress = Progress::new(
        config.first_chain,
        config.chains,
        config.warmup.saturating_add(config.draws),
        config.progress,
        threads,
    );
    let sampler_settings = sampler.settings();
    let header = RunHeader {
        sampler: sampler.name(),
        sampler_settings: &sampler_settings,
        names: &names,
        dim,
        config,
        provenance: stream.map_or(&[], |s| s.provenance()),
    };
    let output = Output {
        stream,
        header: &header,
        width: names.len(),
    };
    let results: Vec<Mutex<Option<Result<ChainTrace, SampleError>>>> =
        (0..config.chains).map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);

    let chains_loop = || loop {
        let k = next.fetch_add(1, Ordering::Relaxed);
        if k >= config.chains {
            break;
        }
        let r = run_chain(density, sampler, config, &bases[k], &output, k, &progress);
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
        sampler_settings,
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

/// Where a chain's draws go besides its [`Draws`]: the streamed file, if any.
struct Output<'a> {
    stream: Option<&'a CsvStream>,
    header: &'a RunHeader<'a>,
    /// Output values per draw ([`LogDensity::output_names`]).
    width: usize,
}

/// One kept draw: checks the output width, stores it and streams it.
#[allow(clippy::too_many_arguments)]
fn keep<D: LogDensity + ?Sized>(
    density: &D,
    position: &[f64],
    stats: DrawStats,
    out: &mut Vec<f64>,
    width: usize,
    draws: &mut Draws,
    file: Option<&mut ChainFile>,
    chain: usize,
    at: ChainStage,
) -> Result<(), SampleError> {
    density.write_output(position, out);
    if out.len() != width {
        return Err(SampleError::OutputLength {
            chain,
            at,
            names: width,
            written: out.len(),
        });
    }
    if let Some(file) = file {
        file.row(&stats, out)?;
    }
    draws.push(out, stats);
    Ok(())
}

fn run_chain<D, S>(
    density: &D,
    sampler: &S,
    config: &RunConfig,
    base: &[f64],
    output: &Output<'_>,
    k: usize,
    progress: &Progress,
) -> Result<ChainTrace, SampleError>
where
    D: LogDensity + ?Sized,
    S: Sampler,
{
    let mut bar = progress.chain(k);
    // `k` numbers the chains of this run; `chain` is the chain's number among all chains.
    let k = config.first_chain + k;
    let mut rng = chain_rng(config.seed, k);
    let (mut point, init_attempts) = initialise(density, base, &config.init, k, &mut rng)?;
    let initial_position = point.position.clone();
    let mut chain = sampler
        .new_chain(ChainStart {
            density,
            point: &point,
            num_warmup: config.warmup,
            rng: &mut rng,
        })
        .map_err(ChainStage::Initialisation.fatal(k))?;

    let save_warmup = config.kept_warmup() > 0;
    let mut file = match output.stream {
        Some(stream) => Some(ChainFile::create(
            stream,
            output.header,
            k,
            init_attempts,
            save_warmup,
        )?),
        None => None,
    };
    let thin = config.thin.max(1);
    let width = output.width;
    let mut out = Vec::with_capacity(width);
    let mut warmup = Draws::with_capacity(width, config.kept_warmup());
    // Counted here, not from the kept draws: warm-up draws are usually not kept, and thinning
    // drops draws whose trajectories cost gradients all the same.
    let mut gradient_evaluations = 0u64;
    bar.phase(true);
    let t0 = Instant::now();
    for iteration in 0..config.warmup {
        let phase = Phase::Warmup {
            iteration,
            total: config.warmup,
        };
        let at = ChainStage::Warmup(iteration);
        let stats = chain
            .step(Transition::new(density, &mut point, phase, &mut rng))
            .map_err(at.fatal(k))?;
        gradient_evaluations += u64::from(stats.n_grad);
        if save_warmup && iteration % thin == 0 {
            let (position, file) = (&point.position, file.as_mut());
            keep(
                density,
                position,
                stats,
                &mut out,
                width,
                &mut warmup,
                file,
                k,
                at,
            )?;
        }
        bar.tick(stats.divergent);
    }
    chain.end_warmup();
    let warmup_seconds = t0.elapsed().as_secs_f64();
    let tuning = chain.tuning();
    if let Some(file) = file.as_mut() {
        file.tuning(&tuning)?;
    }

    bar.phase(false);
    let t1 = Instant::now();
    let mut draws = Draws::with_capacity(width, config.kept_draws());
    for iteration in 0..config.draws {
        let at = ChainStage::Draw(iteration);
        let stats = chain
            .step(Transition::new(
                density,
                &mut point,
                Phase::Sampling { iteration },
                &mut rng,
            ))
            .map_err(at.fatal(k))?;
        gradient_evaluations += u64::from(stats.n_grad);
        if iteration % thin == 0 {
            let (position, file) = (&point.position, file.as_mut());
            keep(
                density, position, stats, &mut out, width, &mut draws, file, k, at,
            )?;
        }
        bar.tick(stats.divergent);
    }
    let sampling_seconds = t1.elapsed().as_secs_f64();
    let trace = ChainTrace {
        chain: k,
        init_attempts,
        initial_position,
        warmup,
        draws,
        tuning,
        warmup_seconds,
        sampling_seconds,
        gradient_evaluations,
    };
    if let Some(file) = file {
        file.finish(&Footer::of(&trace))?;
    }
    bar.finish();
    Ok(trace)
}
