//! `trellis summary`: merge the chain files of one run (e.g. written by separate processes with
//! `fit --chain-id`) and report them exactly as `fit` does; plus the chain-id range check.

use std::path::{Path, PathBuf};

use clap::Args;
use trellis_samplers::Trace;

use crate::output_dir::OutputDir;
use crate::provenance;

/// Highest chain number `fit --chain-id` accepts: chain N's stream is N jumps of the seed's
/// generator, so the bound keeps the set-up instant while leaving room for any cluster.
pub const MAX_CHAIN_ID: usize = 100_000;

#[derive(Debug, Args)]
pub struct SummaryArgs {
    /// Chain files (`chain_N.csv`) or folders holding them, all from one run.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Also read unfinished chains (`chain_N.csv.partial` of a killed run), cut to the
    /// shortest.
    #[arg(long)]
    partial: bool,
    /// Also draw the trace and posterior plots.
    #[arg(long)]
    plots: bool,
    /// Output folder for summary.json (and the plots).
    #[arg(long, default_value = "trellis-summary")]
    out: PathBuf,
}

/// Checks that chains `chain_id … chain_id + chains − 1` are numbered within range.
pub fn check_chain_id(chain_id: usize, chains: usize) -> Result<(), String> {
    let last = chain_id.saturating_add(chains.saturating_sub(1));
    if chain_id == 0 || last > MAX_CHAIN_ID {
        return Err(format!(
            "--chain-id {chain_id} with --chains {chains} numbers chains up to {last}; \
             chain numbers run from 1 to {MAX_CHAIN_ID}"
        ));
    }
    Ok(())
}

/// The chain files named by `inputs`: files as given, folders expanded to their
/// `chain_N.csv` (and, with `partial`, `chain_N.csv.partial`) files.
fn chain_files(inputs: &[PathBuf], partial: bool) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    for input in inputs {
        if !input.is_dir() {
            files.push(input.clone());
            continue;
        }
        let entries = std::fs::read_dir(input)
            .map_err(|e| format!("cannot read folder '{}': {e}", input.display()))?;
        let mut found: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| is_chain_file(p, partial))
            .collect();
        if found.is_empty() {
            return Err(format!("no chain_N.csv files in '{}'", input.display()));
        }
        found.sort();
        files.extend(found);
    }
    Ok(files)
}

fn is_chain_file(path: &Path, partial: bool) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    let stem = match name.strip_suffix(".csv") {
        Some(stem) => stem,
        None if partial => match name.strip_suffix(".csv.partial") {
            Some(stem) => stem,
            None => return false,
        },
        None => return false,
    };
    stem.strip_prefix("chain_")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The wall time of a run read back from its files: that of its slowest chain.
pub fn wall_seconds(trace: &Trace) -> f64 {
    trace
        .chains
        .iter()
        .map(|c| c.warmup_seconds + c.sampling_seconds)
        .fold(0.0, f64::max)
}

/// Runs `trellis summary`.
pub fn run(args: &SummaryArgs) -> Result<(), String> {
    let files = chain_files(&args.files, args.partial)?;
    let (trace, settings) =
        Trace::from_cmdstan_csv_with_settings(&files, args.partial).map_err(|e| e.to_string())?;
    // What produced the fit (as its first chain's header records it), and this command.
    let mut lines = provenance::from_csv_settings(&settings);
    lines.push((
        provenance::SUMMARY_COMMAND_LINE.to_string(),
        provenance::command_line(),
    ));
    let out = OutputDir::prepare(&args.out)?;
    let ids: Vec<String> = trace
        .chains
        .iter()
        .map(|c| (c.chain + 1).to_string())
        .collect();
    say!(
        "Summary of {} {} (chains {}), {} draws each{}",
        files.len(),
        if files.len() == 1 { "file" } else { "files" },
        ids.join(", "),
        trace.config.draws,
        if args.partial {
            " (unfinished chains included, cut to the shortest)"
        } else {
            ""
        }
    );
    // The true values, when the fit knew them: the same `true` column as `fit`'s table.
    let truth = provenance::true_values(&lines, trace.names.len());
    let written = crate::fit::summarise(
        &trace,
        truth.as_deref(),
        wall_seconds(&trace),
        out.path(),
        args.plots,
        &lines,
        crate::relabel::from_settings(&settings),
    )?;
    say!("\nWrote {}", written.join(", "));
    out.keep();
    Ok(())
}
