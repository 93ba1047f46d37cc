//! What every command does first: read the data and parameter files, settle the model's
//! sizes, and build the model.

use std::collections::HashSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde_json::Value;
use trellis_models::hmm::{seed_dataset, HmmError, Observation, Sequences};
use trellis_models::zoo::{Family, HmmModel};
use trellis_models::{BayesianModel, ModelError};

use crate::data::{self, RawData};
use crate::family::{check_params, params_from_json, params_to_json};
use crate::obs::{self, CliObs, ObsContext};
use crate::{ModelArgs, ModelKind};

/// The inputs of a command, read before the family is chosen.
pub struct Input {
    pub kind: ModelKind,
    pub states: usize,
    /// The parsed data file, or `None` for the built-in dataset.
    pub raw: Option<RawData>,
    pub context: ObsContext,
    /// A parameter file and its name.
    pub params: Option<(Value, String)>,
    /// Where to look for true parameters written by `trellis simulate`.
    pub truth_file: Option<PathBuf>,
}

/// `n` and the noun, plural when `n` is not 1: "1 chain", "4 chains".
pub fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("{n} {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// An I/O error's text without Rust's " (os error N)" suffix.
pub fn io_reason(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.rfind(" (os error ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// Reads a JSON file; `what` names it in messages ("parameter file", "fit summary").
pub fn read_json(path: &Path, what: &str) -> Result<Value, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {what} '{}': {}", path.display(), io_reason(&e)))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: invalid JSON: {e}", path.display()))
}

impl Input {
    /// Reads `--data` and `--params`, checks K, and works out the number of categories.
    pub fn read(model: &ModelArgs, params: Option<&Path>) -> Result<Self, String> {
        if model.states < 2 {
            return Err(format!("--states must be at least 2, got {}", model.states));
        }
        let raw = model
            .data
            .as_deref()
            .map(data::read)
            .transpose()
            .map_err(|e| e.to_string())?;
        if raw.is_none() && !model.model.accepts_builtin_data() {
            return Err(format!(
                "model '{}' needs --data: the built-in dataset has real-valued observations",
                model.model.name()
            ));
        }
        if let Some(raw) = &raw {
            check_layout(model.model, raw)?;
        }
        let params = params
            .map(|p| read_json(p, "parameter file").map(|v| (v, p.display().to_string())))
            .transpose()?;
        let symbols = match model.model {
            ModelKind::Categorical => Some(match (model.symbols, &params, &raw) {
                (Some(m), _, _) => m,
                (None, Some((json, _)), _) => emission_width(json).unwrap_or(2),
                (None, None, Some(raw)) => obs::inferred_symbols(raw),
                (None, None, None) => 2,
            }),
            _ => None,
        };
        if let Some(m) = symbols {
            if m < 2 {
                return Err(format!("--symbols must be at least 2, got {m}"));
            }
        }
        let truth_file = model
            .data
            .as_deref()
            .and_then(Path::parent)
            .map(|dir| dir.join("params.json"));
        Ok(Self {
            kind: model.model,
            states: model.states,
            raw,
            context: ObsContext {
                model: model.model.name().to_string(),
                symbols,
            },
            params,
            truth_file,
        })
    }

    /// Values per observation (the width of vector observations).
    pub fn dim(&self) -> usize {
        self.raw.as_ref().map_or(1, |r| r.dim)
    }

    /// The observations as the family's type.
    pub fn sequences<O: CliObs + Observation>(&self) -> Result<Sequences<O>, String> {
        match &self.raw {
            Some(raw) => obs::sequences(raw, &self.context),
            None => {
                let seed = seed_dataset();
                let converted: Option<Vec<Vec<O>>> = seed
                    .sequences
                    .iter()
                    .map(|s| s.iter().map(|&y| O::from_builtin(y)).collect())
                    .collect();
                let converted = converted
                    .ok_or_else(|| format!("model '{}' needs --data", self.kind.name()))?;
                Sequences::new(converted).map_err(|e| e.to_string())
            }
        }
    }

    /// Human description of the data, e.g. "70 sequences (3570 observations) from the
    /// built-in reference dataset".
    pub fn describe<O>(&self, data: &Sequences<O>) -> String {
        let source = match &self.raw {
            Some(raw) => raw.source.clone(),
            None => "the built-in reference dataset".to_string(),
        };
        format!(
            "{} ({}) from {source}",
            plural(data.len(), "sequence"),
            plural(data.total_len(), "observation")
        )
    }

    /// The model on the data, with the family's default priors.
    pub fn model<F: Family>(&self, family: F) -> Result<HmmModel<F>, String>
    where
        F::Obs: CliObs,
    {
        let data = self.sequences::<F::Obs>()?;
        HmmModel::new(family, data).map_err(|e| match &self.raw {
            Some(raw) => self.data_error(raw, &e),
            None => e.to_string(),
        })
    }

    /// Parameters given with `--params`, or the built-in dataset's true ones when they fit
    /// the model. Constrained values in layout order, checked against each support.
    /// `required` names the options that can give them, for the message when none did.
    pub fn given_params<F: Family>(
        &self,
        model: &HmmModel<F>,
        required: &str,
    ) -> Result<Vec<f64>, String> {
        let values = match &self.params {
            Some((json, source)) => params_from_json(model.layout(), json, source)?,
            None => self.builtin_truth(model).ok_or_else(|| {
                format!(
                    "{required} is required: true parameters are built in only for the reference \
                     model (gaussian-shared, 3 states, built-in dataset)"
                )
            })?,
        };
        let source = self
            .params
            .as_ref()
            .map_or("built-in parameters", |(_, s)| s.as_str());
        check_params(model.layout(), &values, source)?;
        Ok(values)
    }

    /// True parameters, when known: the built-in dataset's, or a `params.json` written by
    /// `trellis simulate` beside the data file for the same model and number of states.
    /// The second value explains why a `params.json` that is there was not used.
    pub fn truth<F: Family>(&self, model: &HmmModel<F>) -> (Option<Vec<f64>>, Option<String>) {
        if self.raw.is_none() {
            return (self.builtin_truth(model), None);
        }
        let Some(path) = self.truth_file.as_ref().filter(|p| p.is_file()) else {
            return (None, None);
        };
        let shown = path.display();
        let json = match read_json(path, "true parameter file") {
            Ok(json) => json,
            Err(e) => return (None, Some(format!("true values not shown: {e}"))),
        };
        let file_model = json.get("model").and_then(Value::as_str).unwrap_or("?");
        let file_k = json.get("states").and_then(Value::as_u64).unwrap_or(0);
        if file_model != self.kind.name() {
            return (
                None,
                Some(format!(
                    "true values not shown: {shown} is for model '{file_model}', not '{}'",
                    self.kind.name()
                )),
            );
        }
        if file_k != self.states as u64 {
            return (
                None,
                Some(format!(
                    "true values not shown: {shown} is for {file_k} states, not {}",
                    self.states
                )),
            );
        }
        match params_from_json(model.layout(), &json, &shown.to_string()) {
            Ok(values) => (Some(values), None),
            Err(e) => (None, Some(format!("true values not shown: {e}"))),
        }
    }

    /// A model error about the data file, pointing at the cell when it names an observation.
    fn data_error(&self, raw: &RawData, e: &ModelError) -> String {
        if let ModelError::Hmm(HmmError::InvalidObservation {
            sequence,
            position,
            reason,
            ..
        }) = e
        {
            let cell = raw
                .sequences
                .get(*sequence)
                .and_then(|s| s.steps.get(*position))
                .and_then(|cells| cells.first());
            if let Some(cell) = cell {
                return format!(
                    "{}:{}:{}: {} is not a valid observation for model '{}': {reason}",
                    raw.source,
                    cell.line,
                    cell.column,
                    cell.value,
                    self.kind.name()
                );
            }
        }
        format!("{}: {e}", raw.source)
    }

    fn builtin_truth<F: Family>(&self, model: &HmmModel<F>) -> Option<Vec<f64>> {
        if self.raw.is_some() || self.kind != ModelKind::GaussianShared || self.states != 3 {
            return None;
        }
        let truth = trellis_models::reference::seed_true_constrained();
        (truth.len() == model.layout().constrained_len()).then_some(truth)
    }
}

/// The number of categories in a parameter file's `p_emission`.
fn emission_width(json: &Value) -> Option<usize> {
    json.get("p_emission")?
        .as_array()?
        .first()?
        .as_array()
        .map(Vec::len)
}

/// A parameter file for `values`, with the model's name and size so `fit` can recognise it.
pub fn params_file<F: Family>(kind: ModelKind, model: &HmmModel<F>, values: &[f64]) -> Value {
    let mut object = serde_json::Map::new();
    object.insert("model".into(), Value::from(kind.name()));
    object.insert("states".into(), Value::from(model.family().n_states()));
    object.extend(params_to_json(model.layout(), values));
    Value::Object(object)
}

/// Refuses a data file whose layout the model cannot read: vector observations need the
/// long layout, scalar ones a single value column.
fn check_layout(kind: ModelKind, raw: &RawData) -> Result<(), String> {
    if kind == ModelKind::DiagGaussian && !raw.long {
        return Err(format!(
            "{}: model 'diag-gaussian' takes vector observations, which need the long layout \
             (header 'sequence,time,y0,y1,…', one observation per row); this file is in the \
             wide layout (one value per cell)",
            raw.source
        ));
    }
    if kind != ModelKind::DiagGaussian && raw.dim != 1 {
        return Err(format!(
            "{}:{}: model '{}' takes one value per observation, but the header has {} value \
             columns (vector observations need --model diag-gaussian)",
            raw.source,
            raw.header_line,
            kind.name(),
            raw.dim
        ));
    }
    Ok(())
}

/// An output folder being filled. Unless [`OutputDir::keep`] is called, dropping it (on an
/// error, or a panic) removes the files the command added and the folders it created, so a
/// failed command leaves nothing behind. Files that were there before are left alone.
pub struct OutputDir {
    path: PathBuf,
    /// Folders this command created, outermost first.
    created: Vec<PathBuf>,
    /// Names present in the folder before the command.
    before: HashSet<OsString>,
    keep: bool,
}

impl OutputDir {
    /// Creates the folder (and missing parents) and makes sure files can be written there,
    /// before any work.
    pub fn prepare(dir: &Path) -> Result<Self, String> {
        let fail = |e: std::io::Error| {
            format!(
                "cannot write to output folder '{}': {}",
                dir.display(),
                io_reason(&e)
            )
        };
        let mut created = Vec::new();
        let mut missing = Some(dir);
        while let Some(d) = missing {
            if d.as_os_str().is_empty() || d.symlink_metadata().is_ok() {
                break;
            }
            created.push(d.to_path_buf());
            missing = d.parent();
        }
        created.reverse();
        let mut out = Self {
            path: dir.to_path_buf(),
            created,
            before: HashSet::new(),
            keep: false,
        };
        std::fs::create_dir_all(dir).map_err(fail)?;
        out.before = std::fs::read_dir(dir)
            .map_err(fail)?
            .filter_map(|entry| entry.ok().map(|e| e.file_name()))
            .collect();
        let probe = dir.join(format!(".trellis-write-test{}", std::process::id()));
        std::fs::write(&probe, b"").map_err(fail)?;
        std::fs::remove_file(&probe).map_err(fail)?;
        Ok(out)
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The command succeeded: keep what it wrote.
    pub fn keep(mut self) {
        self.keep = true;
    }
}

impl Drop for OutputDir {
    fn drop(&mut self) {
        if self.keep {
            return;
        }
        if let Ok(entries) = std::fs::read_dir(&self.path) {
            for entry in entries.flatten() {
                if !self.before.contains(&entry.file_name()) {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
        for dir in self.created.iter().rev() {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

/// Writes a file atomically (temporary file, then rename).
pub fn write_file(path: &Path, contents: &[u8]) -> Result<(), String> {
    trellis_samplers::output::write_atomic(path, contents).map_err(output_error)
}

/// A library output error as a message.
pub fn output_error(e: trellis_samplers::OutputError) -> String {
    match e {
        trellis_samplers::OutputError::Io { path, source } => {
            format!("cannot write '{}': {}", path.display(), io_reason(&source))
        }
        other => other.to_string(),
    }
}
