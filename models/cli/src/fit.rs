//! `trellis fit`: sample the posterior, print the summary, write draws, summary and plots.

use std::path::Path;
use std::time::Instant;

use serde_json::{json, Value};
use trellis_models::pointwise::WithLogLik;
use trellis_models::zoo::Family;
use trellis_models::{BayesianModel as _, ModelDensity};
use trellis_samplers::diagnostics::DEFAULT_HDI_PROB;
use trellis_samplers::output::stream::CsvStream;
use trellis_samplers::{
    plots, plots::TraceLayout, sample_streaming, InitSettings, InitialMetric, Mala, MetricKind,
    Nuts, RandomWalk, RunConfig, Sampler, StaticHmc, Summary, Trace,
};

use crate::input::Input;
use crate::io::{output_error, write_file};
use crate::obs::CliObs;
use crate::output_dir::{RunDir, FIT_FILES};
use crate::start::{self, Init};
use crate::text::plural;
use crate::{AdaptKind, FitArgs, SamplerKind};

/// Bulk and tail ESS below this many per chain get a warning (Vehtari et al. 2021: 100 per
/// chain, 400 for 4 chains).
const MIN_ESS_PER_CHAIN: f64 = 100.0;
/// R-hat above this gets a warning (Vehtari et al. 2021).
const MAX_RHAT: f64 = 1.01;

/// `--init-candidates`' default for a start read off the data (see `FitArgs`).
const DATA_START_CANDIDATES: usize = 32;

pub fn run<F: Family>(
    family: F,
    input: &Input,
    args: &FitArgs,
    started: Instant,
) -> Result<(), String>
where
    F::Obs: CliObs,
{
    check_settings(args)?;
    let model = input.model(family)?;
    if args.relabel {
        crate::relabel::check(model.layout(), input.states, args.chains)?;
    }
    let (truth, truth_note) = input.truth(&model);
    let layout = model.layout();
    // Candidates refine a start read off the data; around the zero point the best of
    // several can be a minor mode's (posteriordb hmm_drive: 8 of 48 chains stuck with 32,
    // 1 with one, benches/BENCHMARKS.md).
    let from_data = args.init.is_none() && model.initial_point() != layout.initial_point();
    let mut init = InitSettings {
        candidates: args.init_candidates.unwrap_or(if from_data {
            DATA_START_CANDIDATES
        } else {
            1
        }),
        ..InitSettings::default()
    };
    let (mut chain_initial_points, mut initial_point) = (None, None);
    match &args.init {
        None => {}
        Some(arg) => match start::read_init(layout, arg, args.chain_id, args.chains)? {
            Init::Radius(radius) => {
                // CmdStan's init=R: around the zero point, not the data's.
                init.jitter = radius;
                initial_point = Some(layout.initial_point());
            }
            Init::Points(points) => {
                // Given starting points are used exactly, as CmdStan does.
                init.jitter = 0.0;
                chain_initial_points = Some(points);
            }
        },
    }
    let start = start::read_start(
        args.metric.as_deref(),
        args.step_size,
        layout.dim(),
        args.dense,
    )?;
    let out = RunDir::prepare(&args.out, args.overwrite, &FIT_FILES)?;

    let config = RunConfig {
        chains: args.chains,
        warmup: args.warmup,
        draws: args.draws,
        seed: args.seed,
        threads: args.threads.unwrap_or(0),
        progress: !args.quiet,
        keep_warmup: args.save_warmup,
        init,
        initial_point,
        first_chain: args.chain_id - 1,
        thin: args.thin,
        chain_initial_points,
    };
    let metric = if args.dense {
        MetricKind::Dense
    } else {
        MetricKind::Diag
    };
    let data_description = input.describe(model.data());
    say!(
        "Fitting {} (K = {}) to {data_description}",
        input.kind.name(),
        input.states
    );
    let thinned = if args.thin > 1 {
        format!(", every {}th kept", args.thin)
    } else {
        String::new()
    };
    say!(
        "{}, {} × ({} warm-up + {} draws{thinned}), seed {}; model ready after {:.0} ms",
        args.sampler.label(),
        plural(args.chains, "chain"),
        args.warmup,
        args.draws,
        args.seed,
        started.elapsed().as_secs_f64() * 1e3
    );
    if let Some(note) = truth_note {
        say!("note: {note}");
    }
    if out.replacing() {
        say!(
            "note: writing into '{}'; it replaces '{}' when the run finishes",
            out.path().display(),
            out.target().display()
        );
    }
    let provenance = crate::provenance::lines(&model, &args.model, truth.as_deref())?;
    let stream = CsvStream::new(out.path(), "chain", provenance.clone());
    let density = WithLogLik::new(ModelDensity::new(model), args.log_lik.unit());
    let clock = Instant::now();
    let mut trace = match args.sampler {
        SamplerKind::Nuts => {
            let nuts = Nuts::new()
                .with_target_accept(args.target_accept)
                .with_max_depth(args.max_depth as u32)
                .with_metric(metric)
                .with_initial_metric(InitialMetric::Gradient)
                .with_metric_adaptation(AdaptKind::resolve(args.adapt, args.dense)?)
                .with_start(start);
            run_sampler(&density, &nuts, &config, &stream)?
        }
        SamplerKind::Hmc => {
            let hmc = StaticHmc::new().with_metric(metric).with_start(start);
            run_sampler(&density, &hmc, &config, &stream)?
        }
        SamplerKind::Mala => {
            let mala = Mala::new().with_metric(metric).with_start(start);
            run_sampler(&density, &mala, &config, &stream)?
        }
        SamplerKind::Rwm => run_sampler(
            &density,
            &RandomWalk::new().with_target_accept(args.target_accept.min(0.234)),
            &config,
            &stream,
        )?,
    };
    let seconds = clock.elapsed().as_secs_f64();
    // Paths as they are once the run's folder is in place.
    let shown = |path: &Path| out.target().join(file_name(path)).display().to_string();
    let mut written: Vec<String> = trace
        .chains
        .iter()
        .map(|c| shown(&stream.path(c.chain)))
        .collect();
    if let Some(metric_json) = start::metric_file(&trace, metric.stan_name()) {
        let text = serde_json::to_string_pretty(&metric_json).map_err(|e| e.to_string())?;
        let path = out.path().join("metric.json");
        write_file(&path, text.as_bytes())?;
        written.push(shown(&path));
    }
    // Relabeled once the chain files are final; the summary is then of the files as they
    // now are (read back: the trace in memory keeps the sampled labels).
    let relabeled = if args.relabel {
        let files: Vec<_> = trace.chains.iter().map(|c| stream.path(c.chain)).collect();
        let layout = density.model().layout();
        let record = crate::relabel::apply(&files, &trace, layout, input.states)?;
        say!("Relabeled {record}");
        trace = Trace::from_cmdstan_csv(&files, false).map_err(|e| e.to_string())?;
        Some(record)
    } else {
        None
    };
    // Label switching is named as such (with its fixes) instead of "more --draws would help".
    let switching =
        trellis_models::relabel::detect_in_trace(density.model().layout(), input.states, &trace)
            .and_then(|found| found.warning());
    let summarised = summarise_with(
        &trace,
        truth.as_deref(),
        seconds,
        out.path(),
        true,
        &provenance,
        Labels {
            switching,
            relabeled: relabeled.as_deref(),
        },
    )?;
    written.extend(summarised.iter().map(|p| shown(Path::new(p))));
    written.extend(crate::report::after_fit(out.path(), out.target()).map(|p| shown(&p)));
    out.commit()?;
    say!("\nWrote {}", written.join(", "));
    Ok(())
}

/// The last component of `path`.
fn file_name(path: &Path) -> &std::ffi::OsStr {
    path.file_name().unwrap_or(path.as_os_str())
}

impl SamplerKind {
    /// The sampler's name in messages.
    fn label(self) -> &'static str {
        match self {
            SamplerKind::Nuts => "NUTS",
            SamplerKind::Hmc => "Static HMC",
            SamplerKind::Mala => "MALA",
            SamplerKind::Rwm => "Random-walk Metropolis",
        }
    }
}

fn check_settings(args: &FitArgs) -> Result<(), String> {
    if args.draws == 0 {
        return Err("--draws must be at least 1".into());
    }
    if args.chains == 0 {
        return Err("--chains must be at least 1".into());
    }
    crate::summary::check_chain_id(args.chain_id, args.chains)?;
    if !(args.target_accept > 0.0 && args.target_accept < 1.0) {
        return Err(format!(
            "--target-accept must lie strictly between 0 and 1, got {}",
            args.target_accept
        ));
    }
    if args.max_depth == 0 || args.max_depth > 30 {
        return Err(format!(
            "--max-depth must be between 1 and 30, got {}",
            args.max_depth
        ));
    }
    if args.threads == Some(0) {
        return Err("--threads must be at least 1".into());
    }
    if args.thin == 0 {
        return Err("--thin must be at least 1".into());
    }
    // Each candidate costs one gradient or a few: a million is already absurd.
    if let Some(n) = args.init_candidates.filter(|&n| n == 0 || n > 1_000_000) {
        return Err(format!(
            "--init-candidates must be between 1 and 1000000, got {n}"
        ));
    }
    if args.sampler == SamplerKind::Rwm && (args.metric.is_some() || args.step_size.is_some()) {
        return Err("--step-size and --metric apply to nuts, hmc and mala, not rwm".into());
    }
    Ok(())
}

fn run_sampler<D: trellis_samplers::LogDensity, S: Sampler>(
    density: &D,
    sampler: &S,
    config: &RunConfig,
    stream: &CsvStream,
) -> Result<Trace, String> {
    sample_streaming(density, sampler, config, stream).map_err(|e| match e {
        trellis_samplers::SampleError::Output(e) => output_error(e),
        e => format!("sampling failed: {e}"),
    })
}

/// Prints the summary table and warnings of `trace` and writes `summary.json` (and the plots
/// if `with_plots`) to `out`, with `provenance` (what produced the run) and the record of a
/// relabeling of the chains (`fit --relabel`, `trellis relabel`); returns the files
/// written. `fit` and `summary` share it, so a merged run reports exactly as a single one.
pub fn summarise(
    trace: &Trace,
    truth: Option<&[f64]>,
    seconds: f64,
    out: &std::path::Path,
    with_plots: bool,
    provenance: &[(String, String)],
    relabeled: Option<&str>,
) -> Result<Vec<String>, String> {
    let labels = Labels {
        switching: None,
        relabeled,
    };
    summarise_with(trace, truth, seconds, out, with_plots, provenance, labels)
}

/// What the summary says about the chains' labels.
struct Labels<'a> {
    /// A label-switching warning (from `trellis_models::relabel`).
    switching: Option<String>,
    /// The record of a relabeling of the chains, kept in summary.json.
    relabeled: Option<&'a str>,
}

/// [`summarise`] with a label-switching warning (from `trellis_models::relabel`), which
/// replaces the advice to draw more, and the record of a relabeling (`relabeled`, kept in
/// summary.json).
fn summarise_with(
    trace: &Trace,
    truth: Option<&[f64]>,
    seconds: f64,
    out: &std::path::Path,
    with_plots: bool,
    provenance: &[(String, String)],
    labels: Labels<'_>,
) -> Result<Vec<String>, String> {
    // The figures need only the draws and the true values: they render while the summary
    // is computed and printed (on this machine's other cores; the sampling threads are done).
    // Their notices are printed after the summary, so the output reads the same.
    let (summarised, figures) = rayon::join(
        || summary_and_json(trace, truth, seconds, out, provenance, labels),
        || with_plots.then(|| write_plots(trace, truth, out)),
    );
    let mut written = summarised?;
    if let Some((files, notices)) = figures {
        for notice in notices {
            say!("note: {notice}");
        }
        written.extend(files);
    }
    Ok(written)
}

/// The summary part of [`summarise_with`]: prints the table and warnings, writes
/// `summary.json`, and returns its path.
fn summary_and_json(
    trace: &Trace,
    truth: Option<&[f64]>,
    seconds: f64,
    out: &std::path::Path,
    provenance: &[(String, String)],
    labels: Labels<'_>,
) -> Result<Vec<String>, String> {
    let names = &trace.names;
    let chains = trace.num_chains();
    let mut summary = trace.summary().map_err(|e| e.to_string())?;
    if let Some(truth) = truth {
        for (name, &value) in names.iter().zip(truth) {
            summary
                .set_true_value(name, value)
                .map_err(|e| e.to_string())?;
        }
    }
    let run = trace.run_summary().map_err(|e| e.to_string())?;
    let gradient_evaluations: u64 = run.per_chain.iter().map(|c| c.gradient_evaluations).sum();
    let min_ess = summary
        .rows()
        .iter()
        .map(|r| r.ess_bulk)
        .filter(|e| e.is_finite())
        .reduce(f64::min);
    let ess_text = match min_ess {
        Some(ess) => format!("lowest bulk ESS {ess:.0} ({:.0} ESS/s)", ess / seconds),
        None => "bulk ESS not available (too few draws)".to_string(),
    };
    say!(
        "\nSampling took {seconds:.2} s wall: {gradient_evaluations} gradient evaluations, \
         {:.0} draws/s, {ess_text}\n",
        (chains * trace.draws_per_chain()) as f64 / seconds,
    );
    say!("{summary}");
    let min_ess = MIN_ESS_PER_CHAIN * chains as f64;
    let mut warnings = warnings(trace, &summary, chains, min_ess);
    if let Some(switching) = labels.switching {
        // More draws do not fix a chain stuck in another labeling.
        for w in warnings.iter_mut() {
            if let Some(kept) = w.strip_suffix("; more --draws would help") {
                *w = kept.to_string();
            }
        }
        warnings.push(switching);
    }
    for warning in &warnings {
        say!("warning: {warning}");
    }
    if warnings.is_empty() {
        let rhat = if chains > 1 {
            format!("R-hat ≤ {MAX_RHAT}, ")
        } else {
            String::new()
        };
        say!("No divergences, no maximum tree depth hits, {rhat}ESS ≥ {min_ess:.0}.");
    }

    let mut json = serde_json::to_value(&summary).map_err(|e| e.to_string())?;
    if let Value::Object(object) = &mut json {
        object.insert("divergences".into(), json!(trace.divergences()));
        object.insert("max_tree_depth_hits".into(), json!(trace.max_depth_hits()));
        object.insert("sampling_seconds".into(), json!(seconds));
        object.insert("gradient_evaluations".into(), json!(gradient_evaluations));
        object.insert("warnings".into(), json!(warnings));
        if let Some(record) = labels.relabeled {
            object.insert(crate::relabel::HEADER_KEY.into(), json!(record));
        }
        object.insert(
            crate::provenance::JSON_KEY.into(),
            crate::provenance::to_json(provenance),
        );
        object.insert(
            "run".into(),
            serde_json::to_value(&run).map_err(|e| e.to_string())?,
        );
    }
    let text = serde_json::to_string_pretty(&json).map_err(|e| e.to_string())?;
    write_file(&out.join("summary.json"), text.as_bytes())?;
    Ok(vec![out.join("summary.json").display().to_string()])
}

fn warnings(trace: &Trace, summary: &Summary, chains: usize, min_ess: f64) -> Vec<String> {
    let mut out = trace.warnings();
    // Entries fixed by the model (structural zeros, the diagonal of transition_coef) have
    // constant draws: no R-hat or ESS to estimate, and nothing to warn about. The pointwise
    // log-likelihood columns are not parameters: as ArviZ keeps them in their own group and
    // its convergence checks look at the posterior only, they get no warning either.
    let rows: Vec<&trellis_samplers::SummaryRow> = summary
        .rows()
        .iter()
        .filter(|r| r.sd != 0.0 && !crate::report::is_log_lik(&r.name))
        .collect();
    let unavailable = rows
        .iter()
        .any(|r| r.ess_bulk.is_nan() || r.ess_tail.is_nan() || (chains > 1 && r.r_hat.is_nan()));
    if unavailable {
        out.push(
            "R-hat or ESS could not be estimated for some parameters (too few draws)".to_string(),
        );
    }
    // R-hat compares chains: with one chain it is not defined (NaN), and not a warning.
    let high_rhat: Vec<&str> = rows
        .iter()
        .filter(|r| r.r_hat > MAX_RHAT)
        .map(|r| r.name.as_str())
        .collect();
    if !high_rhat.is_empty() {
        out.push(format!(
            "R-hat above {MAX_RHAT} for {}",
            name_list(&high_rhat, rows.len())
        ));
    }
    let low_ess: Vec<&str> = rows
        .iter()
        .filter(|r| r.ess_bulk < min_ess || r.ess_tail < min_ess)
        .map(|r| r.name.as_str())
        .collect();
    if !low_ess.is_empty() {
        let per_chain = if chains > 1 {
            format!(" ({MIN_ESS_PER_CHAIN:.0} per chain)")
        } else {
            String::new()
        };
        out.push(format!(
            "bulk or tail ESS below {min_ess:.0}{per_chain} for {}; more --draws would help",
            name_list(&low_ess, rows.len())
        ));
    }
    out
}

/// Parameter names for a warning: all of them, or the first few and how many more.
fn name_list(names: &[&str], total: usize) -> String {
    const SHOWN: usize = 6;
    if names.len() == total && total > SHOWN {
        format!("all {total} parameters")
    } else if names.len() > SHOWN {
        format!(
            "{} and {} more",
            names[..SHOWN].join(", "),
            names.len() - SHOWN
        )
    } else {
        names.join(", ")
    }
}

/// Renders the trace and posterior figures of `trace` (with the true values `truth`, one per
/// name, if known) into `out`; returns the files written and the notices to print. A figure
/// that fails becomes a notice, never an error.
fn write_plots(
    trace: &Trace,
    truth: Option<&[f64]>,
    out: &std::path::Path,
) -> (Vec<String>, Vec<String>) {
    // The pointwise log-likelihood columns are for `compare`, not parameters to look at
    // (70 of them made a 9 000 px posterior figure).
    let arrays: Vec<(&String, _, Option<f64>)> = trace
        .names
        .iter()
        .enumerate()
        .filter(|(_, n)| !crate::report::is_log_lik(n))
        .map(|(j, n)| {
            (
                n,
                trace.column_array(j),
                truth.and_then(|t| t.get(j).copied()),
            )
        })
        .collect();
    let traced: Vec<(&str, _)> = arrays
        .iter()
        .map(|(n, a, _)| (n.as_str(), a.view()))
        .collect();
    let with_truth: Vec<(&str, _, Option<f64>)> = arrays
        .iter()
        .map(|(n, a, t)| (n.as_str(), a.view(), *t))
        .collect();
    let (mut files, mut notices) = (Vec::new(), Vec::new());
    // The two figures side by side: rendering (the PNGs' supersampling above all) is most of
    // what a fit spends after its last draw, and the cores are idle by then.
    let (trace_plot, posterior_plot) = rayon::join(
        || plots::trace_plot_with(&out.join("trace"), &traced, TraceLayout::Compact),
        || plots::posterior_plot(&out.join("posterior"), &with_truth, DEFAULT_HDI_PROB),
    );
    for result in [trace_plot, posterior_plot] {
        match result {
            Ok(output) => {
                files.extend(output.files.iter().map(|p| p.display().to_string()));
                notices.extend(output.notices);
            }
            Err(e) => notices.push(format!("plot not written: {e}")),
        }
    }
    (files, notices)
}
