//! `trellis decode`: Viterbi paths and smoothed state probabilities per sequence.

use std::fmt::Write as _;
use std::path::Path;

use crate::plots::{self, DecodedSequence};
use serde_json::Value;
use trellis_models::hmm::{self, seed_dataset};
use trellis_models::zoo::{Family, HmmModel};
use trellis_models::BayesianModel;

use crate::family::check_params;
use crate::input::Input;
use crate::io::{read_json, write_file};
use crate::obs::CliObs;
use crate::output_dir::OutputDir;
use crate::provenance;
use crate::{DecodeArgs, ModelArgs};

/// How many sequences the state plot shows.
const PLOTTED_SEQUENCES: usize = 3;

pub fn run<F: Family>(family: F, input: &Input, args: &DecodeArgs) -> Result<(), String>
where
    F::Obs: CliObs,
{
    let model = input.model(family)?;
    let (values, origin) = match &args.fit {
        Some(dir) => (
            posterior_means(&model, &args.model, dir)?,
            format!("posterior means from {}", dir.display()),
        ),
        None => (
            input.given_params(&model, "--params (or --fit)")?,
            match &input.params {
                Some((_, source)) => format!("parameters from {source}"),
                None => "the true parameters of the built-in dataset".to_string(),
            },
        ),
    };
    let out = OutputDir::prepare(&args.out)?;
    let k = input.states;
    // Sequence by sequence: each has its own chain with covariates, and its missing steps
    // masked (they get states too).
    let decoded = (0..model.data().len())
        .map(|s| {
            model
                .at_sequence(&values, s, |chain, emission, seq| {
                    let path = hmm::viterbi(chain, emission, seq)?;
                    let smoothed = hmm::smooth(chain, emission, seq)?;
                    Ok((path, smoothed))
                })
                .map_err(|e| e.to_string())?
                // The per-sequence routines number the sequence 0.
                .map_err(|e: hmm::HmmError| input.hmm_error(&e.in_sequence(s)))
        })
        .collect::<Result<Vec<_>, String>>()?;

    let mut viterbi_csv = String::new();
    let mut smoothed_csv = String::from("sequence,time");
    for state in 0..k {
        let _ = write!(smoothed_csv, ",p_state_{state}");
    }
    smoothed_csv.push('\n');
    for (s, (path, smoothed)) in decoded.iter().enumerate() {
        let row: Vec<String> = path.states.iter().map(usize::to_string).collect();
        viterbi_csv.push_str(&row.join(","));
        viterbi_csv.push('\n');
        for (t, probs) in smoothed.rows().into_iter().enumerate() {
            let _ = write!(smoothed_csv, "{s},{t}");
            for p in probs {
                let _ = write!(smoothed_csv, ",{p:?}");
            }
            smoothed_csv.push('\n');
        }
    }
    let viterbi_path = args.out.join("viterbi.csv");
    let smoothed_path = args.out.join("smoothed.csv");
    write_file(&viterbi_path, viterbi_csv.as_bytes())?;
    write_file(&smoothed_path, smoothed_csv.as_bytes())?;

    say!(
        "Decoded {} with {} (K = {}) at {origin}",
        input.describe(model.data()),
        input.kind.name(),
        k
    );
    for (s, (path, _)) in decoded.iter().take(PLOTTED_SEQUENCES).enumerate() {
        let shown: String = path.states.iter().take(40).map(usize::to_string).collect();
        let more = if path.states.len() > 40 { "…" } else { "" };
        say!(
            "  sequence {s}: {shown}{more} (log p = {:.3})",
            path.log_probability
        );
    }
    // The built-in dataset knows its hidden states.
    let truth = input.raw.is_none().then(|| seed_dataset().hidden_states);
    if let Some(truth) = &truth {
        let (mut agree, mut total) = (0usize, 0usize);
        for ((path, _), states) in decoded.iter().zip(truth.iter()) {
            agree += path
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

    let mut files = vec![
        viterbi_path.display().to_string(),
        smoothed_path.display().to_string(),
    ];
    let observed: Vec<Vec<f64>> = model
        .data()
        .iter()
        .take(PLOTTED_SEQUENCES)
        .map(|seq| seq.iter().map(CliObs::plot_value).collect())
        .collect();
    let panels: Vec<DecodedSequence<'_>> = observed
        .iter()
        .zip(&decoded)
        .enumerate()
        .map(|(s, (y, (path, smoothed)))| DecodedSequence {
            observations: y,
            states: &path.states,
            smoothed: smoothed.as_slice(),
            truth: truth.as_ref().and_then(|t| t.get(s)),
        })
        .collect();
    let title = "Viterbi paths (bands) and smoothed state probabilities";
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

/// Posterior means of every parameter element from a `trellis fit` output folder, in layout
/// order; refused when the fit's provenance shows another model, K or data than `args`.
fn posterior_means<F: Family>(
    model: &HmmModel<F>,
    args: &ModelArgs,
    dir: &Path,
) -> Result<Vec<f64>, String> {
    let path = dir.join("summary.json");
    let json = read_json(&path, "fit summary")?;
    let source = path.display().to_string();
    let expected = provenance::lines(model, args, None)?;
    let recorded = provenance::from_summary_json(&json);
    if let Some(note) = provenance::check_same_fit(&recorded, &expected, &source)? {
        say!("note: {note}");
    }
    let values = model
        .layout()
        .element_names()
        .iter()
        .map(|name| {
            json.get(name)
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
