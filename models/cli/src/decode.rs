//! `trellis decode`: Viterbi paths and smoothed state probabilities per sequence, at given
//! parameters, at a fit's posterior means (`--at-mean`), or over its posterior draws.

use std::fmt::Write as _;
use std::path::Path;

use crate::plots::{self, DecodedSequence};
use serde_json::Value;
use trellis_models::hmm::{self, seed_dataset};
use trellis_models::pointwise::parameter_columns;
use trellis_models::relabel::{constrained_draws, detect_in_trace};
use trellis_models::zoo::{Family, HmmModel};
use trellis_models::BayesianModel;
use trellis_samplers::Trace;

use crate::family::check_params;
use crate::fitted::chain_files;
use crate::input::Input;
use crate::io::{read_json, write_file};
use crate::obs::CliObs;
use crate::output_dir::OutputDir;
use crate::ppc::spread;
use crate::provenance;
use crate::{DecodeArgs, ModelArgs};

/// How many sequences the state plot shows.
const PLOTTED_SEQUENCES: usize = 3;

/// Decoding over the posterior: per step the most frequent state and the share of draws
/// whose Viterbi path has it (`sequence,time,state,share`).
pub const SHARE_FILE: &str = "viterbi_share.csv";

pub fn run<F: Family>(family: F, input: &Input, args: &DecodeArgs) -> Result<(), String>
where
    F::Obs: CliObs,
{
    let model = input.model(family)?;
    let (decoded, origin) = match &args.fit {
        Some(dir) => {
            let summary = fit_summary(&model, &args.model, dir)?;
            // The summary is checked first (the means are needed, or at least must exist).
            let means = posterior_means(&model, &summary, dir)?;
            let trace =
                Trace::from_cmdstan_csv(&chain_files(dir)?, false).map_err(|e| e.to_string())?;
            check_labels(&model, input.states, &trace, dir)?;
            if args.at_mean {
                (
                    at_point(&model, input, &means)?,
                    format!("posterior means from {}", dir.display()),
                )
            } else {
                over_posterior(&model, input, &trace, args.draws, dir)?
            }
        }
        None => (
            at_point(
                &model,
                input,
                &input.given_params(&model, "--params (or --fit)")?,
            )?,
            match &input.params {
                Some((_, source)) => format!("parameters from {source}"),
                None => "the true parameters of the built-in dataset".to_string(),
            },
        ),
    };
    let out = OutputDir::prepare(&args.out)?;
    let k = input.states;
    let mut viterbi_csv = String::new();
    let mut smoothed_csv = String::from("sequence,time");
    for state in 0..k {
        let _ = write!(smoothed_csv, ",p_state_{state}");
    }
    smoothed_csv.push('\n');
    let mut share_csv = String::from("sequence,time,state,share\n");
    for (s, one) in decoded.iter().enumerate() {
        let row: Vec<String> = one.states.iter().map(usize::to_string).collect();
        viterbi_csv.push_str(&row.join(","));
        viterbi_csv.push('\n');
        for (t, probs) in one.smoothed.chunks_exact(k).enumerate() {
            let _ = write!(smoothed_csv, "{s},{t}");
            for p in probs {
                let _ = write!(smoothed_csv, ",{p:?}");
            }
            smoothed_csv.push('\n');
        }
        for (t, (state, share)) in one
            .states
            .iter()
            .zip(one.share.iter().flatten())
            .enumerate()
        {
            let _ = writeln!(share_csv, "{s},{t},{state},{share:?}");
        }
    }
    let viterbi_path = args.out.join("viterbi.csv");
    let smoothed_path = args.out.join("smoothed.csv");
    write_file(&viterbi_path, viterbi_csv.as_bytes())?;
    write_file(&smoothed_path, smoothed_csv.as_bytes())?;
    let mut files = vec![
        viterbi_path.display().to_string(),
        smoothed_path.display().to_string(),
    ];
    if decoded.iter().any(|d| d.share.is_some()) {
        let share_path = args.out.join(SHARE_FILE);
        write_file(&share_path, share_csv.as_bytes())?;
        files.push(share_path.display().to_string());
    }

    say!(
        "Decoded {} with {} (K = {}) at {origin}",
        input.describe(model.data()),
        input.kind.name(),
        k
    );
    for (s, one) in decoded.iter().take(PLOTTED_SEQUENCES).enumerate() {
        let shown: String = one.states.iter().take(40).map(usize::to_string).collect();
        let more = if one.states.len() > 40 { "…" } else { "" };
        let score = match (&one.share, one.log_probability) {
            (Some(share), _) => format!(
                "draws agreeing: {:.0}% on average",
                100.0 * share.iter().sum::<f64>() / share.len().max(1) as f64
            ),
            (None, Some(log_p)) => format!("log p = {log_p:.3}"),
            (None, None) => String::new(),
        };
        say!("  sequence {s}: {shown}{more} ({score})");
    }
    // The built-in dataset knows its hidden states.
    let truth = input.raw.is_none().then(|| seed_dataset().hidden_states);
    if let Some(truth) = &truth {
        let (mut agree, mut total) = (0usize, 0usize);
        for (one, states) in decoded.iter().zip(truth.iter()) {
            agree += one
                .states
                .iter()
                .zip(states)
                .filter(|(a, b)| a == b)
                .count();
            total += states.len();
        }
        say!(
            "Viterbi paths match the true hidden states at {agree} of {total} time steps ({:.1}%)",
            100.0 * agree as f64 / total as f64
        );
    }

    // A missing step leaves a gap in the line (a non-finite value), not its placeholder.
    let data = model.data();
    let observed: Vec<Vec<f64>> = data
        .iter()
        .take(PLOTTED_SEQUENCES)
        .enumerate()
        .map(|(s, seq)| {
            let missing = |t: usize| data.missing_of(s).is_some_and(|m| m[t]);
            seq.iter()
                .enumerate()
                .map(|(t, o)| if missing(t) { f64::NAN } else { o.plot_value() })
                .collect()
        })
        .collect();
    let panels: Vec<DecodedSequence<'_>> = observed
        .iter()
        .zip(&decoded)
        .enumerate()
        .map(|(s, (y, one))| DecodedSequence {
            observations: y,
            states: &one.states,
            smoothed: Some(&one.smoothed),
            truth: truth.as_ref().and_then(|t| t.get(s)),
        })
        .collect();
    let title = if decoded.iter().any(|d| d.share.is_some()) {
        "Most frequent Viterbi state over posterior draws (bands), averaged smoothed probabilities"
    } else {
        "Viterbi paths (bands) and smoothed state probabilities"
    };
    match plots::decode_plot(&args.out.join("states"), &panels, k, title) {
        Ok(output) => {
            files.extend(output.files.iter().map(|p| p.display().to_string()));
            for notice in output.notices {
                say!("note: {notice}");
            }
        }
        Err(e) => say!("note: plot not written: {e}"),
    }
    say!("Wrote {}", files.join(", "));
    out.keep();
    Ok(())
}

/// A `trellis fit` output folder's summary.json, refused when the fit's provenance shows
/// another model, K or data than `args`.
fn fit_summary<F: Family>(
    model: &HmmModel<F>,
    args: &ModelArgs,
    dir: &Path,
) -> Result<Value, String> {
    let path = dir.join("summary.json");
    let json = read_json(&path, "fit summary")?;
    let source = path.display().to_string();
    let expected = provenance::lines(model, args, None)?;
    let recorded = provenance::from_summary_json(&json);
    if let Some(note) = provenance::check_same_fit(&recorded, &expected, &source)? {
        say!("note: {note}");
    }
    Ok(json)
}

/// Refuses a fit whose chains found the states under different labels (pooling their draws,
/// or their means, would mix states), unless its chain files record a relabeling.
fn check_labels<F: Family>(
    model: &HmmModel<F>,
    states: usize,
    trace: &Trace,
    dir: &Path,
) -> Result<(), String> {
    if crate::relabel::recorded(&chain_files(dir)?[0])?.is_some() {
        return Ok(());
    }
    match detect_in_trace(model.layout(), states, trace).and_then(|found| found.warning()) {
        Some(warning) => Err(format!(
            "{warning} Not decoding: the chains' draws would mix states. Relabel them with \
             `trellis relabel {}` (or fit with --relabel) and decode again.",
            dir.display()
        )),
        None => Ok(()),
    }
}

/// Posterior means of every parameter element from a fit's summary.json (`summary`), in
/// layout order.
fn posterior_means<F: Family>(
    model: &HmmModel<F>,
    summary: &Value,
    dir: &Path,
) -> Result<Vec<f64>, String> {
    let source = dir.join("summary.json").display().to_string();
    let values = model
        .layout()
        .element_names()
        .iter()
        .map(|name| {
            summary
                .get(name)
                .and_then(|row| row.get("mean"))
                .and_then(Value::as_f64)
                .ok_or_else(|| {
                    format!("{source}: no posterior mean for '{name}': was it written by `trellis fit` with the same --model and --states?")
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    check_params(model.layout(), &values, &source)?;
    Ok(values)
}

/// One sequence decoded.
struct Decoded {
    /// The state of each step: the Viterbi path, or over the posterior the state most draws'
    /// paths have there.
    states: Vec<usize>,
    /// Smoothed probabilities, `T × K` row-major (over the posterior: their average).
    smoothed: Vec<f64>,
    /// `ln p(path, y)` of a path decoded at one point.
    log_probability: Option<f64>,
    /// Over the posterior: the share of draws whose path has `states[t]` at step `t`.
    share: Option<Vec<f64>>,
}

/// Viterbi paths and smoothed probabilities of every sequence at the constrained `values`,
/// sequence by sequence: each has its own chain with covariates, and its missing steps masked
/// (they get states too).
fn at_point<F: Family>(
    model: &HmmModel<F>,
    input: &Input,
    values: &[f64],
) -> Result<Vec<Decoded>, String>
where
    F::Obs: CliObs,
{
    (0..model.data().len())
        .map(|s| {
            model
                .at_sequence(values, s, |chain, emission, seq| {
                    let path = hmm::viterbi(chain, emission, seq)?;
                    let smoothed = hmm::smooth(chain, emission, seq)?;
                    Ok(Decoded {
                        states: path.states,
                        smoothed: smoothed.iter().copied().collect(),
                        log_probability: Some(path.log_probability),
                        share: None,
                    })
                })
                .map_err(|e| e.to_string())?
                // The per-sequence routines number the sequence 0.
                .map_err(|e: hmm::HmmError| input.hmm_error(&e.in_sequence(s)))
        })
        .collect()
}

/// Decodes at `n` posterior draws of `trace` (pooled chain after chain, spread evenly as
/// `trellis ppc` does) and summarises: smoothed probabilities averaged over the draws, and
/// per step the state most of the draws' Viterbi paths give (the lowest on a tie) with the
/// share of draws agreeing. Returns the result and a description of its origin.
fn over_posterior<F: Family>(
    model: &HmmModel<F>,
    input: &Input,
    trace: &Trace,
    n: usize,
    dir: &Path,
) -> Result<(Vec<Decoded>, String), String>
where
    F::Obs: CliObs,
{
    if n == 0 {
        return Err("--draws must be at least 1".into());
    }
    let columns =
        parameter_columns(model.layout(), trace).map_err(|e| format!("{}: {e}", dir.display()))?;
    let pooled = constrained_draws(trace, &columns).concat();
    let chosen = spread(pooled.len(), n);
    let k = input.states;
    let mut total: Vec<Decoded> = Vec::new();
    let mut counts: Vec<Vec<usize>> = Vec::new();
    for &i in &chosen {
        let one = at_point(model, input, &pooled[i])?;
        if total.is_empty() {
            counts = one.iter().map(|d| vec![0; d.states.len() * k]).collect();
            total = one
                .iter()
                .map(|d| Decoded {
                    states: Vec::new(),
                    smoothed: vec![0.0; d.smoothed.len()],
                    log_probability: None,
                    share: None,
                })
                .collect();
        }
        for ((sum, count), d) in total.iter_mut().zip(&mut counts).zip(&one) {
            for (a, b) in sum.smoothed.iter_mut().zip(&d.smoothed) {
                *a += b;
            }
            for (t, &z) in d.states.iter().enumerate() {
                count[t * k + z] += 1;
            }
        }
    }
    let draws = chosen.len() as f64;
    for (sum, count) in total.iter_mut().zip(&counts) {
        for p in sum.smoothed.iter_mut() {
            *p /= draws;
        }
        let (states, share) = count
            .chunks_exact(k)
            .map(|c| {
                // The first of the most frequent states: the lowest on a tie.
                let (z, &most) =
                    c.iter().enumerate().fold(
                        (0, &0),
                        |best, (z, m)| if *m > *best.1 { (z, m) } else { best },
                    );
                (z, most as f64 / draws)
            })
            .unzip();
        sum.states = states;
        sum.share = Some(share);
    }
    let origin = format!(
        "{} of the {} posterior draws in {} (smoothed probabilities averaged, most frequent \
         Viterbi state per step)",
        chosen.len(),
        pooled.len(),
        dir.display()
    );
    Ok((total, origin))
}
