//! `fit --relabel` and `trellis relabel DIR`: each chain relabeled to the first chain by the
//! best permutation of its state-specific parameters (`trellis_models::relabel`), the
//! finished chain files rewritten in place (each atomically) with the permutations recorded
//! in their headers, so that every later reader (`summary`, `decode --fit`, `ppc`, ArviZ)
//! sees one labeling.

use std::io::BufRead as _;
use std::path::{Path, PathBuf};

use clap::Args;
use trellis_models::layout::ParamLayout;
use trellis_models::pointwise::parameter_columns;
use trellis_models::relabel::{self as library, constrained_draws, detect_in_draws, StateParams};
use trellis_models::zoo::Family;
use trellis_models::BayesianModel as _;
use trellis_samplers::output::read::output_name;
use trellis_samplers::Trace;

use crate::fitted::Fitted;
use crate::input::Input;
use crate::io::write_file;
use crate::obs::CliObs;
use crate::provenance;

/// The header key of the record: `# trellis_relabel = to chain 1's labels: chain 1 [0, 1];
/// chain 2 [1, 0]`. Every file carries the whole record (the chain-file reader requires the
/// files of one run to share their header settings).
pub const HEADER_KEY: &str = "trellis_relabel";

/// `trellis relabel DIR`: relabel an existing fit's chains and rewrite its summary.
#[derive(Debug, Args)]
pub struct RelabelArgs {
    /// Output folder of `trellis fit` (its chain files are rewritten in place).
    pub fit: PathBuf,
    /// Data file of the fit, when it was moved from where it ran (replaces the header's).
    #[arg(long)]
    pub data: Option<PathBuf>,
}

/// Why `--relabel` cannot apply to the model with `layout` (one line), checked before
/// sampling so that nobody waits for a run that is then refused.
pub fn check(layout: &ParamLayout, states: usize, chains: usize) -> Result<(), String> {
    if let Some(reason) = library::refusal(layout, states) {
        return Err(format!("--relabel does not apply: {reason}"));
    }
    if chains < 2 {
        return Err(
            "--relabel relabels chains to the first one: it needs --chains 2 or more".into(),
        );
    }
    Ok(())
}

/// The relabel record of a chain file's header, if any (read up to the column header only).
pub fn recorded(path: &Path) -> Result<Option<String>, String> {
    let file = std::fs::File::open(path).map_err(|e| {
        format!(
            "cannot read '{}': {}",
            path.display(),
            crate::io::io_reason(&e)
        )
    })?;
    let prefix = format!("# {HEADER_KEY} = ");
    for line in std::io::BufReader::new(file).lines() {
        let line = line.map_err(|e| format!("cannot read '{}': {e}", path.display()))?;
        if !line.starts_with('#') {
            break;
        }
        if let Some(record) = line.strip_prefix(&prefix) {
            return Ok(Some(record.trim().to_string()));
        }
    }
    Ok(None)
}

/// Relabels the finished chain files `files` (one per chain of `trace`, in its chain order)
/// of a model with `layout` and `states` states: detects each chain's best permutation
/// against the first chain's labels and rewrites every file with its parameter columns moved
/// accordingly (text fields moved as they are: the values stay bit-identical) and the record
/// in its header. Returns the record.
pub fn apply(
    files: &[PathBuf],
    trace: &Trace,
    layout: &ParamLayout,
    states: usize,
) -> Result<String, String> {
    check(layout, states, trace.num_chains())?;
    let params = StateParams::from_layout(layout, states);
    let columns = parameter_columns(layout, trace).map_err(|e| e.to_string())?;
    let found = detect_in_draws(&params, &constrained_draws(trace, &columns));
    let chain_numbers: Vec<usize> = trace.chains.iter().map(|c| c.chain + 1).collect();
    let entries: Vec<String> = found
        .chains
        .iter()
        .zip(&chain_numbers)
        .map(|(c, n)| format!("chain {n} {:?}", c.permutation))
        .collect();
    let record = format!(
        "to chain {}'s labels: {}",
        chain_numbers[found.reference],
        entries.join("; ")
    );
    // The trace's names of the constrained values, in layout order.
    let value_names: Vec<&str> = columns.iter().map(|&j| trace.names[j].as_str()).collect();
    // Every file is rewritten in memory before any is written, so that a file that cannot be
    // relabeled (already relabeled, a short row) leaves the whole run as it was.
    let rewritten = files
        .iter()
        .zip(&found.chains)
        .map(|(path, labeling)| {
            let sources = params.sources(&labeling.permutation);
            rewrite(path, &value_names, &sources, &record)
        })
        .collect::<Result<Vec<String>, String>>()?;
    for (path, text) in files.iter().zip(&rewritten) {
        write_file(path, text.as_bytes())?;
    }
    Ok(record)
}

/// One chain file rewritten (returned, not written): the record inserted before the column
/// header, and in every draw row the field of value `i` replaced by that of value
/// `sources[i]`.
fn rewrite(
    path: &Path,
    value_names: &[&str],
    sources: &[usize],
    record: &str,
) -> Result<String, String> {
    let shown = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read '{shown}': {}", crate::io::io_reason(&e)))?;
    let mut out = String::with_capacity(text.len() + record.len() + 32);
    // CSV column of each constrained value, found from the column header.
    let mut at: Option<Vec<usize>> = None;
    let mut fields_out: Vec<&str> = Vec::new();
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        if body.starts_with('#') || body.is_empty() {
            if body.starts_with(&format!("# {HEADER_KEY} = ")) {
                return Err(format!(
                    "{shown}: the chains were relabeled already ({})",
                    body.trim_start_matches('#').trim()
                ));
            }
            out.push_str(line);
            continue;
        }
        let Some(columns) = &at else {
            let names: Vec<String> = body.split(',').map(output_name).collect();
            let found: Option<Vec<usize>> = value_names
                .iter()
                .map(|v| names.iter().position(|n| n == v))
                .collect();
            at = Some(found.ok_or_else(|| {
                format!("{shown}: the column header lacks a parameter of the model")
            })?);
            out.push_str(&format!("# {HEADER_KEY} = {record}\n"));
            out.push_str(line);
            continue;
        };
        let fields: Vec<&str> = body.split(',').collect();
        fields_out.clear();
        fields_out.extend_from_slice(&fields);
        for (i, &source) in sources.iter().enumerate() {
            let (to, from) = (columns[i], columns[source]);
            if to >= fields.len() || from >= fields.len() {
                return Err(format!(
                    "{shown}: a draw row is shorter than the column header"
                ));
            }
            fields_out[to] = fields[from];
        }
        out.push_str(&fields_out.join(","));
        out.push_str(&line[body.len()..]);
    }
    if at.is_none() {
        return Err(format!("{shown}: no column header"));
    }
    Ok(out)
}

/// The relabel record among a chain file's header settings.
pub fn from_settings(settings: &[(String, String)]) -> Option<&str> {
    settings
        .iter()
        .find(|(k, _)| k == HEADER_KEY)
        .map(|(_, v)| v.as_str())
}

/// Runs `trellis relabel DIR`: relabels the fit's chain files as `fit --relabel` does, then
/// rewrites its summary.json, plots and report from the relabeled files.
pub fn run<F: Family>(family: F, input: &Input, fitted: &Fitted) -> Result<(), String>
where
    F::Obs: CliObs,
{
    let (model, _) = fitted.model(input, family)?;
    let dir = &fitted.dir;
    // One file per chain of the trace, in its (chain-number) order.
    let files: Vec<PathBuf> = fitted
        .trace
        .chains
        .iter()
        .map(|c| dir.join(format!("chain_{}.csv", c.chain + 1)))
        .collect();
    let record = apply(&files, &fitted.trace, model.layout(), input.states)?;
    say!("Relabeled {record}");
    let (trace, settings) =
        Trace::from_cmdstan_csv_with_settings(&files, false).map_err(|e| e.to_string())?;
    let lines = provenance::from_csv_settings(&settings);
    let truth = provenance::true_values(&lines, trace.names.len());
    let seconds = crate::summary::wall_seconds(&trace);
    let mut written = crate::fit::summarise(
        &trace,
        truth.as_deref(),
        seconds,
        dir,
        true,
        &lines,
        Some(&record),
    )?;
    written.extend(crate::report::after_fit(dir, dir).map(|p| p.display().to_string()));
    say!("\nWrote {}", written.join(", "));
    Ok(())
}
