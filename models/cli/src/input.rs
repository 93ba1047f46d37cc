//! A command's input, read before the family is chosen: the data and parameter files, the
//! model's sizes, then the model, the given parameters and any known true ones.

use std::path::{Path, PathBuf};

use serde_json::Value;
use trellis_models::hmm::{seed_dataset, HmmError, Observation, Sequences};
use trellis_models::zoo::{Covariates, Family, HmmModel};
use trellis_models::{BayesianModel, ModelError};

use crate::covariates::{self, CovariateTable, SequenceRows};
use crate::data::{self, RawData};
use crate::family::{check_params, params_from_json};
use crate::io::read_json;
use crate::masks::ChainMasks;
use crate::obs::{self, CliObs, ObsContext};
use crate::text::plural;
use crate::{FamilyChoice, ModelArgs, ModelKind};

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
    /// The sizes that set the memory a command needs.
    pub sizes: ModelSizes,
    /// Structural zeros of the chain (`--transition-mask`, `--initial-mask`, `--structure`).
    pub masks: Option<ChainMasks>,
    /// Covariates of the transitions (`--covariates`), matched to the data.
    pub covariates: Option<CovariateTable>,
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
        let sizes = ModelSizes {
            kind: model.model,
            states: model.states,
            symbols: symbols.unwrap_or(2),
            dim: raw.as_ref().map_or(1, |r| r.dim),
            observations: raw.as_ref().map_or(BUILTIN_OBSERVATIONS, |r| {
                r.sequences.iter().map(|s| s.steps.len()).sum()
            }),
        };
        sizes.check_memory(None)?;
        let masks = ChainMasks::from_options(
            model.states,
            model.structure,
            model.initial_mask.as_deref(),
            model.transition_mask.as_deref(),
        )?;
        if let (Some(masks), Some((json, source))) = (&masks, &params) {
            masks.check_params(json, source)?;
        }
        // Exact zeros in the given probabilities are structural zeros.
        let masks = match &params {
            Some((json, source)) => ChainMasks::with_zeros_of(masks, model.states, json, source)?,
            None => masks,
        };
        let covariates = match model.covariates.as_deref() {
            Some(path) => Some(match &raw {
                Some(raw) => covariates::read(path, &SequenceRows::of(raw), &raw.source)?,
                None => {
                    let lengths = seed_dataset()
                        .sequences
                        .iter()
                        .map(<[f64]>::len)
                        .collect::<Vec<_>>();
                    covariates::read(
                        path,
                        &SequenceRows::numbered(lengths),
                        "the built-in dataset",
                    )?
                }
            }),
            None => None,
        };
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
            sizes,
            masks,
            covariates,
        })
    }

    /// The family this input asks for, with its sizes.
    pub fn family_choice(&self) -> FamilyChoice {
        FamilyChoice {
            kind: self.kind,
            states: self.states,
            symbols: self.context.symbols.unwrap_or(2),
            dim: self.dim(),
        }
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
        let model = HmmModel::new(family, data).map_err(|e| match &self.raw {
            Some(raw) => self.data_error(raw, &e),
            None => e.to_string(),
        })?;
        let model = match &self.covariates {
            Some(table) => {
                let n_obs = model.data().total_len();
                let covariates = Covariates::new(table.names.clone(), table.values.clone(), n_obs)
                    .map_err(|e| format!("{}: {e}", table.source))?;
                model
                    .with_covariates(covariates)
                    .map_err(|e| format!("{}: {e}", table.source))?
            }
            None => model,
        };
        let model = match &self.masks {
            Some(masks) => model
                .with_masks(masks.state_masks())
                .map_err(|e| format!("{}: {e}", masks.transition_source))?,
            None => model,
        };
        Ok(model)
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
        covariates::check_coefficient_diagonal(model.layout(), &values, source)?;
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
            if let Some((place, value)) = self.cell(*sequence, *position) {
                return format!(
                    "{place}: {value} is not a valid observation for model '{}': {reason}",
                    self.kind.name()
                );
            }
        }
        format!("{}: {e}", raw.source)
    }

    /// `file:line:column` and the text of observation `position` of sequence `sequence` in
    /// the data file (its first value, for vector observations); `None` for the built-in
    /// dataset.
    fn cell(&self, sequence: usize, position: usize) -> Option<(String, f64)> {
        let raw = self.raw.as_ref()?;
        let cell = raw.sequences.get(sequence)?.steps.get(position)?.first()?;
        Some((
            format!("{}:{}:{}", raw.source, cell.line, cell.column),
            cell.value,
        ))
    }

    /// An HMM error as a message, with the data file's cell when it names an observation
    /// the model gives probability zero (the first one responsible for a −inf
    /// log-likelihood).
    pub fn hmm_error(&self, e: &HmmError) -> String {
        if let HmmError::ZeroProbability { sequence, position } = e {
            if let Some((place, value)) = self.cell(*sequence, *position) {
                // Display writes 1e200 with all its 201 digits.
                let value = if value.abs() < 1e15 {
                    format!("{value}")
                } else {
                    format!("{value:e}")
                };
                return format!(
                    "{e}; observation {position} of sequence {sequence} is {value} at {place}"
                );
            }
        }
        e.to_string()
    }

    fn builtin_truth<F: Family>(&self, model: &HmmModel<F>) -> Option<Vec<f64>> {
        if self.raw.is_some() || self.kind != ModelKind::GaussianShared || self.states != 3 {
            return None;
        }
        let truth = trellis_models::reference::seed_true_constrained();
        (truth.len() == model.layout().constrained_len()).then_some(truth)
    }
}

/// Observations in the built-in reference dataset (70 sequences of 51).
const BUILTIN_OBSERVATIONS: usize = 70 * 51;

/// Parameter-sized vectors a sampler chain keeps at once (position, momentum, gradient,
/// metric, the NUTS tree's ends and proposal, the adaptation's sums…): a floor for the
/// memory estimate, not an exact count.
const VECTORS_PER_CHAIN: f64 = 16.0;
/// Values per observation and state the forward–backward recursion keeps (emission
/// log-densities, forward weights, their adjoints).
const VALUES_PER_OBSERVATION_AND_STATE: f64 = 3.0;
/// Parameter-sized vectors a simulation keeps at once (the default or given parameters as
/// JSON, their constrained and unconstrained values, the written `params.json`): a floor.
const SIMULATION_VECTORS: f64 = 4.0;

/// The sizes that set a command's memory, known before the model is built (building it
/// already allocates K × symbols for a categorical prior).
pub struct ModelSizes {
    pub kind: ModelKind,
    pub states: usize,
    pub symbols: usize,
    pub dim: usize,
    pub observations: usize,
}

/// The run a memory estimate is for: how many chains keep how many draws each.
pub struct RunSizes {
    pub chains: usize,
    /// Draws kept per chain (warm-up included when it is kept).
    pub draws: usize,
    /// Whether the metric is dense (parameters² values per chain).
    pub dense: bool,
}

impl ModelSizes {
    /// Constrained parameters of the model: K initial probabilities, K² transition
    /// probabilities and the family's emission parameters (an upper bound for families with
    /// shared parameters). In f64, so that absurd sizes are estimated, not overflowed.
    fn parameters(&self) -> f64 {
        let k = self.states as f64;
        let emission = match self.kind {
            ModelKind::GaussianShared => 2.0,
            ModelKind::Poisson | ModelKind::Exponential => k,
            ModelKind::Gaussian => 2.0 * k,
            ModelKind::StudentT | ModelKind::Ar1 => 3.0 * k + 1.0,
            ModelKind::Categorical => k * self.symbols as f64 + self.symbols as f64,
            ModelKind::DiagGaussian => 2.0 * k * self.dim as f64,
        };
        k + k * k + emission
    }

    /// Refuses, before anything is allocated, a model (and with `run`, a fit) whose memory
    /// estimate exceeds the machine's physical memory, with a line naming the sizes and the
    /// estimate. The estimate is a floor: the parameter vectors, the recursion's workspace
    /// and the draws kept, 8 bytes a value.
    pub fn check_memory(&self, run: Option<&RunSizes>) -> Result<(), String> {
        let parameters = self.parameters();
        let model_bytes = 8.0
            * (VECTORS_PER_CHAIN * parameters
                + VALUES_PER_OBSERVATION_AND_STATE * self.observations as f64 * self.states as f64);
        let (bytes, what) = match run {
            None => (model_bytes, String::new()),
            Some(run) => {
                let chains = run.chains as f64;
                let metric = if run.dense {
                    parameters * parameters
                } else {
                    0.0
                };
                let draws = chains * run.draws as f64 * (parameters + 7.0);
                (
                    chains * (model_bytes + 8.0 * metric) + 8.0 * draws,
                    format!(
                        ", {} × {} draws kept ({} values)",
                        crate::text::plural(run.chains, "chain"),
                        run.draws,
                        count_text(draws)
                    ),
                )
            }
        };
        self.refuse_above_memory(bytes, &what)
    }

    /// Refuses, before anything is allocated (building the family already allocates its
    /// priors), a simulation (`trellis simulate` without `--fit`) whose parameters cannot fit
    /// in physical memory: [`SIMULATION_VECTORS`] parameter vectors, 8 bytes a value. The
    /// simulated values have their own cap (`--sequences × --length`), checked after this.
    pub fn check_simulation_memory(&self) -> Result<(), String> {
        self.refuse_above_memory(8.0 * SIMULATION_VECTORS * self.parameters(), "")
    }

    /// `Ok` when `bytes` fit in physical memory (or it is not known), else the one-line
    /// refusal naming the sizes (`what`: the run's part of the sentence) and the estimate.
    fn refuse_above_memory(&self, bytes: f64, what: &str) -> Result<(), String> {
        let Some(available) = physical_memory() else {
            return Ok(());
        };
        if bytes <= available as f64 {
            return Ok(());
        }
        let symbols = match self.kind {
            ModelKind::Categorical => format!(", {} symbols", self.symbols),
            _ => String::new(),
        };
        Err(format!(
            "too large for this machine: K = {} states{symbols} ({} parameters){what} need at \
             least {} of memory, and it has {}",
            self.states,
            count_text(self.parameters()),
            bytes_text(bytes),
            bytes_text(available as f64)
        ))
    }
}

/// Physical memory in bytes (Linux `/proc/meminfo`), or `None` where it is not known.
fn physical_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// A count as a whole number, or in scientific notation from a million up ("1.2e10").
fn count_text(count: f64) -> String {
    if count < 1e6 {
        format!("{count:.0}")
    } else {
        format!("{count:.1e}")
    }
}

/// A byte count in MB, GB, or scientific-notation GB past a petabyte, e.g. "80.0 GB".
fn bytes_text(bytes: f64) -> String {
    if bytes >= 1e15 {
        format!("{:.1e} GB", bytes / 1e9)
    } else if bytes >= 1e9 {
        format!("{:.1} GB", bytes / 1e9)
    } else {
        format!("{:.0} MB", bytes / 1e6)
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
