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
use crate::sampler::{Chain, ChainStart, Phase, Sampler, Transition};
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
    let progress = Progress::new(
        config.first_chain,
        config.chains,
        config.warmup + config.draws,
        config.progress,
    );
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

    let mut out = Vec::with_capacity(width);
    let mut warmup =
        Draws::with_capacity(width, if config.keep_warmup { config.warmup } else { 0 });
    bar.phase(true);
    let t0 = Instant::now();
    for iteration in 0..config.warmup {
        let phase = Phase::Warmup {
            iteration,
            total: config.warmup,
        };
        let stats = chain
            .step(Transition::new(density, &mut point, phase, &mut rng))
            .map_err(ChainStage::Warmup(iteration).fatal(k))?;
        if config.keep_warmup {
            density.write_output(&point.position, &mut out);
            warmup.push(&out, stats);
        }
        bar.tick(stats.divergent);
    }
    chain.end_warmup();
    let warmup_seconds = t0.elapsed().as_secs_f64();

    bar.phase(false);
    let t1 = Instant::now();
    let mut draws = Draws::with_capacity(width, config.draws);
    for iteration in 0..config.draws {
        let stats = chain
            .step(Transition::new(
                density,
                &mut point,
                Phase::Sampling { iteration },
                &mut rng,
            ))
            .map_err(ChainStage::Draw(iteration).fatal(k))?;
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
        tuning: chain.tuning(),
        warmup_seconds,
        sampling_seconds,
    })
}
