//! What every command does first: read the data and parameter files, settle the model's
//! sizes, and build the model.

use std::path::{Path, PathBuf};

use serde_json::Value;
use trellis_models::hmm::{seed_dataset, Observation, Sequences};
use trellis_models::zoo::{Family, HmmModel};
use trellis_models::BayesianModel;

use crate::data::{self, RawData};
use crate::family::{params_from_json, params_to_json};
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

/// Reads a JSON file.
pub fn read_json(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read parameter file '{}': {e}", path.display()))?;
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
        let params = params
            .map(|p| read_json(p).map(|v| (v, p.display().to_string())))
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
            "{} sequences ({} observations) from {source}",
            data.len(),
            data.total_len()
        )
    }

    /// The model on the data, with the family's default priors.
    pub fn model<F: Family>(&self, family: F) -> Result<HmmModel<F>, String>
    where
        F::Obs: CliObs,
    {
        let data = self.sequences::<F::Obs>()?;
        HmmModel::new(family, data).map_err(|e| match &self.raw {
            Some(raw) => format!("{}: {e}", raw.source),
            None => e.to_string(),
        })
    }

    /// Parameters given with `--params`, or the built-in dataset's true ones when they fit
    /// the model. Constrained values in layout order, checked against each support.
    pub fn given_params<F: Family>(&self, model: &HmmModel<F>) -> Result<Vec<f64>, String> {
        let values = match &self.params {
            Some((json, source)) => params_from_json(model.layout(), json, source)?,
            None => self.builtin_truth(model).ok_or_else(|| {
                "--params is required unless the model is the reference gaussian-shared model \
                 with 3 states on the built-in dataset"
                    .to_string()
            })?,
        };
        let source = self
            .params
            .as_ref()
            .map_or("parameters", |(_, s)| s.as_str());
        model
            .layout()
            .unconstrain(&values)
            .map_err(|e| format!("{source}: {e}"))?;
        Ok(values)
    }

    /// True parameters, when known: the built-in dataset's, or a `params.json` written by
    /// `trellis simulate` beside the data file for the same model and number of states.
    pub fn truth<F: Family>(&self, model: &HmmModel<F>) -> Option<Vec<f64>> {
        if self.raw.is_none() {
            return self.builtin_truth(model);
        }
        let path = self.truth_file.as_ref()?;
        let json = read_json(path).ok()?;
        let same_model = json.get("model").and_then(Value::as_str) == Some(self.kind.name());
        let same_k = json.get("states").and_then(Value::as_u64) == Some(self.states as u64);
        if !(same_model && same_k) {
            return None;
        }
        params_from_json(model.layout(), &json, "").ok()
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

/// Creates the output folder and makes sure files can be written there, before any work.
pub fn prepare_output(dir: &Path) -> Result<(), String> {
    let fail =
        |e: std::io::Error| format!("cannot write to output folder '{}': {e}", dir.display());
    std::fs::create_dir_all(dir).map_err(fail)?;
    let probe = dir.join(".trellis-write-test");
    std::fs::write(&probe, b"").map_err(fail)?;
    std::fs::remove_file(&probe).map_err(fail)
}

/// Writes a file atomically (temporary file, then rename).
pub fn write_file(path: &Path, contents: &[u8]) -> Result<(), String> {
    trellis_samplers::output::write_atomic(path, contents).map_err(|e| e.to_string())
}
