//! A finished fit read back from its folder: the chain files, the model recorded in their
//! headers (the provenance lines `fit` writes: family, K, data file), and the input that
//! rebuilds that model, for the commands that work on a fit (`compare`, `ppc`).

use std::path::{Path, PathBuf};

use clap::ValueEnum;
use trellis_models::pointwise::parameter_columns;
use trellis_models::zoo::{Family, HmmModel};
use trellis_models::BayesianModel;
use trellis_samplers::output::read::read_cmdstan_csv;
use trellis_samplers::Trace;

use crate::input::Input;
use crate::masks::ChainMasks;
use crate::obs::CliObs;
use crate::provenance;
use crate::{ModelArgs, ModelKind};

/// A fit folder's draws and the model that produced them.
pub struct Fitted {
    /// The folder, as given.
    pub dir: PathBuf,
    /// The chains' draws.
    pub trace: Trace,
    /// The family, K and data file of the model, ready for [`Input::read`].
    pub model_args: ModelArgs,
    /// The structural zeros the header records (`trellis_mask_initial`/`_transition`).
    pub masks: Option<ChainMasks>,
}

/// The 0/1 rows of a `trellis_mask_…` header line (`1 0; 0 1`), each of `k` flags.
fn mask_rows(line: &str, k: usize) -> Option<Vec<Vec<bool>>> {
    line.split(';')
        .map(|row| {
            let flags: Option<Vec<bool>> = row
                .split_whitespace()
                .map(|f| match f {
                    "1" => Some(true),
                    "0" => Some(false),
                    _ => None,
                })
                .collect();
            flags.filter(|f| f.len() == k)
        })
        .collect()
}

/// The masks of a header's `trellis_mask_initial` and `trellis_mask_transition` lines
/// (`source` names the file in messages).
fn header_masks(
    initial: &str,
    transition: &str,
    states: usize,
    source: &str,
) -> Result<ChainMasks, String> {
    let initial = mask_rows(initial, states).filter(|rows| rows.len() == 1);
    let transition = mask_rows(transition, states).filter(|rows| rows.len() == states);
    let (Some(mut initial), Some(transition)) = (initial, transition) else {
        return Err(format!(
            "{source}: the trellis_mask lines are not K = {states} rows of 0/1 flags"
        ));
    };
    Ok(ChainMasks {
        initial: initial.remove(0),
        transition,
        initial_source: source.to_string(),
        transition_source: source.to_string(),
    })
}

impl Fitted {
    /// Reads the `chain_N.csv` files of `dir` and the model of their header. `data` replaces
    /// the header's data file (for a fit moved from where it ran).
    pub fn read(dir: &Path, data: Option<&Path>) -> Result<Self, String> {
        let files = chain_files(dir)?;
        let trace = Trace::from_cmdstan_csv(&files, false).map_err(|e| e.to_string())?;
        let first = read_cmdstan_csv(&files[0]).map_err(|e| e.to_string())?;
        let setting = |key: &str| {
            first.setting(key).ok_or_else(|| {
                format!(
                    "{}: the header has no '{key}' line (not written by `trellis fit`?)",
                    files[0].display()
                )
            })
        };
        let family = setting("trellis_family")?;
        let model = ModelKind::from_str(family, false).map_err(|_| {
            format!(
                "{}: unknown model family '{family}' in the header",
                files[0].display()
            )
        })?;
        let states: usize = setting("trellis_states")?.parse().map_err(|_| {
            format!(
                "{}: trellis_states is not a number of states",
                files[0].display()
            )
        })?;
        let data = match data {
            Some(path) => Some(path.to_path_buf()),
            None => match setting("trellis_data")? {
                "built-in" => None,
                recorded => Some(locate_data(dir, Path::new(recorded))?),
            },
        };
        // The number of categories is not in the header: the columns say it (K × M entries of
        // p_emission), which is what the fit used whatever --symbols was.
        let emission_columns = trace
            .names
            .iter()
            .filter(|n| n.starts_with("p_emission["))
            .count();
        let symbols = (model == ModelKind::Categorical && states > 0)
            .then_some(emission_columns / states.max(1));
        let covariates = match first.setting("trellis_covariates") {
            Some(_) => Some(recorded_covariates(dir, &files[0], |key| {
                first.setting(key)
            })?),
            None => None,
        };
        let masks = match (
            first.setting("trellis_mask_initial"),
            first.setting("trellis_mask_transition"),
        ) {
            (Some(initial), Some(transition)) => Some(header_masks(
                initial,
                transition,
                states,
                &files[0].display().to_string(),
            )?),
            _ => None,
        };
        Ok(Self {
            masks,
            dir: dir.to_path_buf(),
            trace,
            model_args: ModelArgs {
                model,
                states,
                data,
                symbols,
                // The masks are set on the input (`input`).
                transition_mask: None,
                initial_mask: None,
                structure: None,
                covariates,
            },
        })
    }

    /// The input that rebuilds the fitted model.
    pub fn input(&self) -> Result<Input, String> {
        let mut input = Input::read(&self.model_args, None)
            .map_err(|e| format!("{}: {e}", self.dir.display()))?;
        input.masks = self.masks.clone();
        Ok(input)
    }

    /// The fitted model and the trace's columns of its parameters (layout order); refuses
    /// draws that lack one of the model's parameters.
    pub fn model<F: Family>(
        &self,
        input: &Input,
        family: F,
    ) -> Result<(HmmModel<F>, Vec<usize>), String>
    where
        F::Obs: CliObs,
    {
        let model = input.model(family)?;
        let columns = parameter_columns(model.layout(), &self.trace)
            .map_err(|e| format!("{}: {e}", self.dir.display()))?;
        Ok((model, columns))
    }

    /// A name for tables: the folder as given.
    pub fn name(&self) -> String {
        self.dir.display().to_string()
    }
}

/// The `chain_N.csv` files of a fit folder, in name order.
pub(crate) fn chain_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read fit folder '{}': {e}", dir.display()))?;
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_prefix("chain_"))
                .and_then(|n| n.strip_suffix(".csv"))
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        })
        .collect();
    if files.is_empty() {
        return Err(format!(
            "no chain_N.csv files in '{}' (is it a `trellis fit` output folder?)",
            dir.display()
        ));
    }
    files.sort();
    Ok(files)
}

/// The covariates file a covariate fit's header records (`chain` is the header's file,
/// `setting` reads its lines), located as the data file is and refused when its SHA-256 is
/// not the recorded one (the file changed since the fit: the fit would be rebuilt on other
/// covariates).
fn recorded_covariates<'a>(
    dir: &Path,
    chain: &Path,
    setting: impl Fn(&str) -> Option<&'a str>,
) -> Result<PathBuf, String> {
    let (Some(recorded), Some(sha256)) = (
        setting(provenance::COVARIATES_FILE),
        setting(provenance::COVARIATES_SHA256),
    ) else {
        return Err(format!(
            "{}: a fit with covariate-driven transitions whose header does not record its \
             covariates file (written by an older trellis?): it cannot be rebuilt",
            chain.display()
        ));
    };
    let path = locate(
        dir,
        Path::new(recorded),
        "covariates",
        "put it back where `fit` read it",
    )?;
    let found = provenance::file_sha256(&path)?;
    if found != sha256 {
        return Err(format!(
            "{}: the covariates file '{}' has changed since the fit (SHA-256 {found}, the fit \
             recorded {sha256}): the fit cannot be rebuilt on other covariates",
            dir.display(),
            path.display()
        ));
    }
    Ok(path)
}

/// The data file recorded in a fit's header, located as [`locate`] does.
fn locate_data(dir: &Path, recorded: &Path) -> Result<PathBuf, String> {
    locate(dir, recorded, "data", "give it with --data")
}

/// A file recorded in a fit's header (`what`: "data"): relative paths are relative to where
/// `fit` ran, which may not be here, so the fit folder and its parent are tried too; `hint`
/// ends the message when it is not found.
fn locate(dir: &Path, recorded: &Path, what: &str, hint: &str) -> Result<PathBuf, String> {
    let mut candidates = vec![recorded.to_path_buf()];
    if recorded.is_relative() {
        candidates.push(dir.join(recorded));
        if let Some(parent) = dir.parent() {
            candidates.push(parent.join(recorded));
            if let Some(name) = recorded.file_name() {
                candidates.push(parent.join(name));
            }
        }
    }
    candidates.into_iter().find(|p| p.is_file()).ok_or_else(|| {
        format!(
            "{}: the fit's {what} file '{}' is not found (here, in the fit folder or beside \
                 it); {hint}",
            dir.display(),
            recorded.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::mask_rows;

    #[test]
    fn mask_lines_read_back_as_written() {
        assert_eq!(
            mask_rows("1 1; 0 1", 2),
            Some(vec![vec![true, true], vec![false, true]])
        );
        assert_eq!(mask_rows("1 0", 2), Some(vec![vec![true, false]]));
        // A row of the wrong length or a flag other than 0/1 is not a mask.
        assert_eq!(mask_rows("1 1; 0", 2), None);
        assert_eq!(mask_rows("1 2", 2), None);
    }
}
