//! `trellis`: fit, simulate, decode and check hidden Markov models from the command line.

/// `println!` that ignores write errors: when stdout is a closed pipe (`trellis fit | head`),
/// the command still finishes and writes its files instead of panicking.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

mod compare;
mod covariates;
mod data;
mod decode;
mod family;
mod fit;
mod fitted;
mod input;
mod io;
mod layout_traps;
mod logp;
mod masks;
mod obs;
mod output_dir;
mod plots;
mod ppc;
mod provenance;
mod relabel;
mod report;
mod simulate;
mod start;
mod summary;
mod text;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, Parser, Subcommand, ValueEnum};
use trellis_models::zoo::{
    Ar1Family, CategoricalFamily, DiagonalMvnFamily, ExponentialFamily, GaussianFamily,
    PoissonFamily, SharedSignalFamily, StudentTFamily,
};

use crate::input::Input;

const EXAMPLES: &str = "\
Examples:
  # The reference model on the built-in dataset, and its log-likelihood and gradient
  trellis fit --out fit
  trellis logp --json
  # Simulate a Poisson HMM, fit it, decode it with the posterior means
  trellis simulate --model poisson --states 2 --out sim
  trellis fit --model poisson --states 2 --data sim/data.csv --out fit
  trellis decode --model poisson --states 2 --data sim/data.csv --fit fit --out decoded
  # Every sampling option
  trellis fit --model gaussian --states 3 --data obs.csv --chains 4 --warmup 1000 \\
      --draws 1000 --seed 7 --sampler nuts --target-accept 0.9 --max-depth 12 --dense \\
      --threads 2 --quiet --out fit
  # Run control: replace that run, reusing its adaptation without warm-up, every 5th draw
  trellis fit --warmup 0 --metric fit/metric.json --thin 5 --init 0 --save-warmup \
      --overwrite --out fit

Each command's options: trellis <COMMAND> --help";

/// Bayesian hidden Markov models with exact gradients and NUTS, without Python.
///
/// With no data file every command works on the built-in reference dataset: 70 sequences of
/// 51 observations from a 3-state Gaussian HMM (the PyMC/JAX HMM example), whose true
/// parameters are known.
#[derive(Debug, Parser)]
#[command(
    name = "trellis",
    version,
    propagate_version = true,
    after_help = EXAMPLES
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Sample the posterior of an HMM with NUTS (or another sampler) and summarise it.
    Fit(FitArgs),
    /// Draw a dataset from a zoo model, with its hidden states and true parameters.
    Simulate(SimulateArgs),
    /// Log-likelihood and gradient at given parameters, by forward and reverse mode, with a
    /// finite-difference check.
    Logp(LogpArgs),
    /// Most likely state paths (Viterbi) and smoothed state probabilities.
    Decode(DecodeArgs),
    /// Summarise the chain files of one run (e.g. chains fitted by separate processes with
    /// `fit --chain-id`): the same table, warnings and summary.json as `fit`.
    Summary(summary::SummaryArgs),
    /// Compare fits of models of the same data by PSIS-LOO or WAIC (ArviZ's compare table).
    Compare(compare::CompareArgs),
    /// Posterior predictive checks of a fit: replicated data against observed, with p-values
    /// and a figure.
    Ppc(ppc::PpcArgs),
    /// Relabel an existing fit's chains to chain 1 (as `fit --relabel`) and rewrite its
    /// summary.
    Relabel(relabel::RelabelArgs),
    /// Rebuild a fit folder's report.html (provenance, summary, warnings, figures), with the
    /// figures of a later `ppc` or `decode --fit` run.
    Report(report::ReportArgs),
}

/// The emission families of the model zoo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ModelKind {
    /// Normal emissions with mean (k+1)·emission_signal and one sd (the reference model).
    GaussianShared,
    /// Normal emissions with a mean and sd per state (means ordered).
    Gaussian,
    /// Poisson counts with a rate per state (rates ordered).
    Poisson,
    /// Categorical symbols 0..M-1 with a probability vector per state.
    Categorical,
    /// Student-t emissions with a location and scale per state and a shared ν.
    StudentT,
    /// Autoregressive Gaussian: mean = c_k + φ_k·(previous observation).
    Ar1,
    /// Diagonal multivariate Gaussian (vector observations, long CSV layout).
    DiagGaussian,
    /// Exponential emissions with a rate per state (rates ordered).
    Exponential,
}

/// What `fit --log-lik` records with every draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LogLikKind {
    /// Nothing.
    None,
    /// One value per sequence.
    Sequence,
    /// One value per observation, conditional on the earlier ones of its sequence.
    Step,
}

impl LogLikKind {
    /// The library's unit, `None` for nothing.
    fn unit(self) -> Option<trellis_models::pointwise::LogLikUnit> {
        use trellis_models::pointwise::LogLikUnit;
        match self {
            LogLikKind::None => None,
            LogLikKind::Sequence => Some(LogLikUnit::Sequence),
            LogLikKind::Step => Some(LogLikUnit::Step),
        }
    }
}

/// How NUTS adapts its metric during warm-up (`--adapt`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum AdaptKind {
    /// Stan's windows: the variance of each slow window's draws.
    Stan,
    /// nutpie's: the diagonal from draws and gradients, refreshed every iteration.
    DrawsGradients,
}

impl AdaptKind {
    /// The library's scheme for `--adapt` given as `chosen` (`None`: the default, which is
    /// draws and gradients for a diagonal metric and Stan's windows with `--dense`, as only
    /// they estimate a dense metric).
    fn resolve(
        chosen: Option<Self>,
        dense: bool,
    ) -> Result<trellis_samplers::MetricAdaptation, String> {
        use trellis_samplers::MetricAdaptation;
        match (chosen, dense) {
            (Some(AdaptKind::DrawsGradients), true) => Err(
                "--adapt draws-gradients estimates a diagonal metric: drop --dense, or use \
                 --adapt stan with it"
                    .into(),
            ),
            (Some(AdaptKind::Stan), _) | (None, true) => Ok(MetricAdaptation::StanWindows),
            (_, false) => Ok(MetricAdaptation::DrawsAndGradients),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SamplerKind {
    Nuts,
    Hmc,
    Mala,
    Rwm,
}

/// Where the data comes from and which model explains it.
#[derive(Debug, Args)]
struct ModelArgs {
    /// Emission family.
    #[arg(long, value_enum, default_value = "gaussian-shared")]
    model: ModelKind,
    /// Number of hidden states K (at least 2).
    #[arg(long, default_value_t = 3)]
    states: usize,
    /// Data file (CSV). Wide layout: one sequence per row, rows may differ in length, no
    /// header. Long layout: header `sequence,time,value[,value…]`, one observation per row.
    /// Default: the built-in reference dataset.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Number of categories for `--model categorical` (default: largest symbol + 1).
    #[arg(long)]
    symbols: Option<usize>,
    /// Covariates of the transitions (CSV, long layout `sequence,time,x1[,x2…]`, one row per
    /// observation with the data's sequence labels and times; wide data's sequences are
    /// labelled 0, 1, … and start at time 0). The transition from t to t+1 is a multinomial
    /// logit of (1, x1_t, x2_t, …): parameter `transition_coef` (K×K×C, diagonal fixed at 0)
    /// replaces `p_transition`.
    #[arg(long)]
    covariates: Option<PathBuf>,
    /// Transition mask (JSON: K rows of K entries 0 or 1): a 0 fixes p_transition[i,j] at
    /// exactly 0; each row's free entries form a simplex of their own.
    #[arg(long, conflicts_with = "structure")]
    transition_mask: Option<PathBuf>,
    /// Initial-state mask (JSON: K entries 0 or 1): a 0 fixes p_initial_state[i] at 0.
    #[arg(long)]
    initial_mask: Option<PathBuf>,
    /// Shorthand masks: `left-to-right` = upper-bidiagonal transitions, starting in state 0
    /// (an --initial-mask given as well replaces the start).
    #[arg(long, value_enum)]
    structure: Option<masks::Structure>,
}

#[derive(Debug, Args)]
struct FitArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// Number of chains, run in parallel.
    #[arg(long, default_value_t = 4)]
    chains: usize,
    /// Number of the first chain (1-based): the run's chains are N … N+chains−1, each with
    /// the random stream, start and file name (chain_N.csv) it has in one run of enough
    /// chains, so chains fitted by separate jobs merge with `trellis summary`.
    #[arg(long, default_value_t = 1)]
    chain_id: usize,
    /// Warm-up (adaptation) iterations per chain.
    #[arg(long, default_value_t = 1000)]
    warmup: usize,
    /// Draws kept per chain.
    #[arg(long, default_value_t = 1000)]
    draws: usize,
    /// Seed: the same seed gives the same draws whatever the number of threads.
    #[arg(long, default_value_t = 20261124)]
    seed: u64,
    /// Sampler.
    #[arg(long, value_enum, default_value = "nuts")]
    sampler: SamplerKind,
    /// Target acceptance rate of the step-size adaptation.
    #[arg(long, default_value_t = 0.8)]
    target_accept: f64,
    /// Maximum NUTS tree depth.
    #[arg(long, default_value_t = 10)]
    max_depth: usize,
    /// Adapt a dense mass matrix instead of a diagonal one.
    #[arg(long)]
    dense: bool,
    /// How NUTS adapts the metric in warm-up: `draws-gradients` (nutpie's diagonal from
    /// draws and gradients; the default) or `stan` (Stan's windows; the default with
    /// --dense, the only one that estimates a dense metric).
    #[arg(long, value_enum)]
    adapt: Option<AdaptKind>,
    /// Worker threads (default: one per chain, at most the number of cores).
    #[arg(long)]
    threads: Option<usize>,
    /// No progress bars.
    #[arg(long)]
    quiet: bool,
    /// Keep every N-th iteration (the first, then every N after it), as CmdStan's thin.
    #[arg(long, default_value_t = 1)]
    thin: usize,
    /// Also write the warm-up iterations to the chain files (CmdStan's save_warmup).
    #[arg(long)]
    save_warmup: bool,
    /// Where chains start: a JSON file of constrained parameter values, like params.json
    /// (one object for every chain, or an array of objects, one per chain numbered from 1);
    /// `0` for the zero point of the unconstrained space; or a number R for uniform(−R, R)
    /// there, as CmdStan's init. Default: uniform(−1, 1) around a point read off the data
    /// (locations and rates at the data's quantiles, so that no two states start on one
    /// cluster; PyMC's jitter+adapt_diag around it).
    // Hyphen values are taken so that `--init -1` is refused by name, not as an option.
    #[arg(long, value_name = "FILE|0|R", allow_hyphen_values = true)]
    init: Option<String>,
    /// Jittered starting points found per chain, of which the one with the highest
    /// log-density starts it (1: PyMC's jitter+adapt_diag as it is). Around a point read off
    /// the data they keep chains out of the minor modes of mixture-like posteriors (two
    /// states on one cluster); around the zero point the highest start can lie in one.
    /// Default: 32 for a family that reads its starting point off the data (gaussian,
    /// student-t, ar1, poisson, exponential) without --init, 1 otherwise. Points given in an
    /// --init file are used as they are.
    #[arg(long, value_name = "N")]
    init_candidates: Option<usize>,
    /// Step size to start from; with --warmup 0 it is used as it is.
    #[arg(long, allow_hyphen_values = true)]
    step_size: Option<f64>,
    /// Inverse metric to start from: the metric.json a fit writes (or CmdStan's metric
    /// file), or a CmdStan CSV's adaptation block. Its step size is used too unless
    /// --step-size is given, so `--warmup 0 --metric old/metric.json` reuses an adaptation.
    #[arg(long, value_name = "FILE")]
    metric: Option<PathBuf>,
    /// Replace an earlier fit in --out: the new run is written beside it and takes its
    /// place when it finishes, so no file of the old run survives.
    #[arg(long)]
    overwrite: bool,
    /// Record the pointwise log-likelihood of every draw as columns log_lik.1 … (for
    /// `trellis compare` and `az.from_cmdstan(…, log_likelihood="log_lik")`): one per
    /// sequence (the unit for LOO), or one per observation given the ones before it.
    #[arg(long, value_enum, default_value = "none")]
    log_lik: LogLikKind,
    /// After sampling, relabel each chain to chain 1 by the best permutation of its
    /// state-specific parameters (for families without an ordering, e.g. categorical, whose
    /// chains may find the same states under other labels); the chain files are rewritten
    /// with the permutations recorded in their headers (`trellis_relabel`) and summary.json.
    #[arg(long)]
    relabel: bool,
    /// Output folder for draws, summary and plots: new or empty, or an earlier fit with
    /// --overwrite.
    #[arg(long, default_value = "trellis-out")]
    out: PathBuf,
}

#[derive(Debug, Args)]
struct SimulateArgs {
    /// Emission family.
    #[arg(long, value_enum, default_value = "gaussian-shared")]
    model: ModelKind,
    /// Number of hidden states K (at least 2).
    #[arg(long, default_value_t = 3)]
    states: usize,
    /// Parameters (JSON file). Default: the family's default parameters.
    #[arg(long)]
    params: Option<PathBuf>,
    /// Number of sequences.
    #[arg(long, default_value_t = 70)]
    sequences: usize,
    /// Observations per sequence.
    #[arg(long, default_value_t = 51)]
    length: usize,
    /// Seed.
    #[arg(long, default_value_t = 20261124)]
    seed: u64,
    /// Number of categories for `--model categorical`.
    #[arg(long, default_value_t = 4)]
    symbols: usize,
    /// Values per observation for `--model diag-gaussian`.
    #[arg(long, default_value_t = 2)]
    dim: usize,
    /// Replace an earlier simulation in --out (only its own files).
    #[arg(long)]
    overwrite: bool,
    /// Covariates (CSV, long layout `sequence,time,x1[,x2…]`): simulate the covariate-driven
    /// model (parameter `transition_coef`), one sequence per label of the file, with its
    /// times (in place of --sequences and --length). Required when the parameters have
    /// `transition_coef`.
    #[arg(long, conflicts_with_all = ["sequences", "length"])]
    covariates: Option<PathBuf>,
    /// Fraction of observations written as NA (missing at random, each independently; the
    /// first of each sequence is always observed). In [0, 1).
    #[arg(long, default_value_t = 0.0)]
    missing_rate: f64,
    /// Replicated datasets of this `trellis fit` folder's data (its sequence lengths and
    /// missing steps) from its posterior draws, one per replicate, written to
    /// OUT/replicate_1 … replicate_N (each with data.csv, states.csv, params.json) and
    /// OUT/replicates.csv (which draw each used). The model is the fit's.
    #[arg(long, conflicts_with_all = ["params", "covariates", "sequences", "length", "missing_rate"])]
    fit: Option<PathBuf>,
    /// Number of replicated datasets with --fit (posterior draws spread evenly over all
    /// chains).
    #[arg(long, default_value_t = 100, requires = "fit")]
    draws: usize,
    /// With --fit: draw each replicate's parameters from the model's prior instead of the
    /// posterior (a prior predictive check).
    #[arg(long, requires = "fit")]
    prior: bool,
    /// With --fit: the fit's data file, when it was moved from where it ran.
    #[arg(long, requires = "fit")]
    data: Option<PathBuf>,
    /// Output folder: data.csv, states.csv, params.json (with --fit the replicate folders);
    /// new or empty, or an earlier simulation with --overwrite.
    #[arg(long, default_value = "trellis-sim")]
    out: PathBuf,
}

#[derive(Debug, Args)]
struct LogpArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// Parameters (JSON file): an object with one entry per parameter (a number, an array, or
    /// an array of rows), like the params.json `trellis simulate` writes. Default with the
    /// built-in dataset and the reference model: its true parameters.
    #[arg(long)]
    params: Option<PathBuf>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
    /// Compute the forward-mode column even above 200 parameters (it costs O(parameters)
    /// evaluations' worth of work).
    #[arg(long)]
    forward: bool,
    /// Compute the finite-difference column even above 200 parameters (2 evaluations per
    /// parameter).
    #[arg(long)]
    fd: bool,
}

#[derive(Debug, Args)]
struct DecodeArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// Parameters (JSON file), as for `trellis logp`. Default with the built-in dataset and
    /// the reference model: its true parameters.
    #[arg(long, conflicts_with = "fit")]
    params: Option<PathBuf>,
    /// Decode over the posterior of this `trellis fit` output folder: smoothed probabilities
    /// averaged over --draws posterior draws, and per step the state most of the draws'
    /// Viterbi paths give (viterbi_share.csv: the share of draws agreeing).
    #[arg(long)]
    fit: Option<PathBuf>,
    /// Posterior draws decoded with --fit, spread evenly over the draws of all chains (all of
    /// them when there are fewer).
    #[arg(long, default_value_t = 100)]
    draws: usize,
    /// With --fit: decode once at the posterior means instead.
    #[arg(long, requires = "fit")]
    at_mean: bool,
    /// Output folder: viterbi.csv, smoothed.csv (with --fit also viterbi_share.csv) and a
    /// plot.
    #[arg(long, default_value = "trellis-decode")]
    out: PathBuf,
}

/// Which zoo family a command uses, and its sizes.
pub struct FamilyChoice {
    kind: ModelKind,
    states: usize,
    /// Number of categories (categorical family).
    symbols: usize,
    /// Values per observation (diagonal multivariate Gaussian).
    dim: usize,
}

/// Calls `$run(family, args…)` with the zoo family of the [`FamilyChoice`] `$choice`.
macro_rules! with_family {
    ($choice:expr, $run:path, $($arg:expr),*) => {{
        let FamilyChoice { kind, states: k, symbols, dim } = $choice;
        match kind {
            ModelKind::GaussianShared => $run(SharedSignalFamily::new(k), $($arg),*),
            ModelKind::Gaussian => $run(GaussianFamily::new(k), $($arg),*),
            ModelKind::Poisson => $run(PoissonFamily::new(k), $($arg),*),
            ModelKind::Categorical => $run(CategoricalFamily::new(k, symbols), $($arg),*),
            ModelKind::StudentT => $run(StudentTFamily::new(k), $($arg),*),
            ModelKind::Ar1 => $run(Ar1Family::new(k), $($arg),*),
            ModelKind::DiagGaussian => $run(DiagonalMvnFamily::new(k, dim), $($arg),*),
            ModelKind::Exponential => $run(ExponentialFamily::new(k), $($arg),*),
        }
    }};
}

fn run(command: Command, started: Instant) -> Result<(), String> {
    match command {
        Command::Fit(args) => {
            // Refused before reading anything, as the other option clashes are.
            AdaptKind::resolve(args.adapt, args.dense)?;
            let input = Input::read(&args.model, None)?;
            input.sizes.check_memory(Some(&input::RunSizes {
                chains: args.chains,
                draws: args.draws.saturating_add(args.warmup),
                dense: args.dense,
            }))?;
            with_family!(input.family_choice(), fit::run, &input, &args, started)
        }
        Command::Logp(args) => {
            let input = Input::read(&args.model, args.params.as_deref())?;
            with_family!(input.family_choice(), logp::run, &input, &args)
        }
        Command::Decode(args) => {
            let input = Input::read(&args.model, args.params.as_deref())?;
            with_family!(input.family_choice(), decode::run, &input, &args)
        }
        Command::Summary(args) => summary::run(&args),
        Command::Compare(args) => compare::run(&args, |fitted| {
            let input = fitted.input()?;
            with_family!(
                input.family_choice(),
                compare::recomputed_log_lik,
                &input,
                fitted
            )
        }),
        Command::Ppc(args) => {
            let fitted = ppc::read_fit(&args)?;
            let input = fitted.input()?;
            with_family!(input.family_choice(), ppc::run, &input, &fitted, &args)
        }
        Command::Report(args) => report::run(&args),
        Command::Relabel(args) => {
            let fitted = fitted::Fitted::read(&args.fit, args.data.as_deref())?;
            let input = fitted.input()?;
            with_family!(input.family_choice(), relabel::run, &input, &fitted)
        }
        Command::Simulate(args) => {
            if let Some(fit) = &args.fit {
                let fitted = fitted::Fitted::read(fit, args.data.as_deref())?;
                let input = fitted.input()?;
                return with_family!(
                    input.family_choice(),
                    simulate::replicates,
                    &input,
                    &fitted,
                    &args
                );
            }
            if args.states < 2 {
                return Err(format!("--states must be at least 2, got {}", args.states));
            }
            if args.symbols < 2 {
                return Err(format!(
                    "--symbols must be at least 2, got {}",
                    args.symbols
                ));
            }
            if args.dim == 0 {
                return Err("--dim must be at least 1".into());
            }
            let params = args
                .params
                .as_deref()
                .map(|p| io::read_json(p, "parameter file").map(|v| (v, p.display().to_string())))
                .transpose()?;
            // K = 100 000 was killed for lack of memory while building the 10¹⁰ default
            // transition probabilities; 4·10⁹ symbols aborted building the family's prior.
            input::ModelSizes {
                kind: args.model,
                states: args.states,
                symbols: args.symbols,
                dim: args.dim,
                observations: 0,
            }
            .check_simulation_memory()?;
            let choice = FamilyChoice {
                kind: args.model,
                states: args.states,
                symbols: args.symbols,
                dim: args.dim,
            };
            with_family!(choice, simulate::run, params.as_ref(), &args)
        }
    }
}

fn main() -> ExitCode {
    let started = Instant::now();
    let cli = Cli::parse();
    match run(cli.command, started) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
