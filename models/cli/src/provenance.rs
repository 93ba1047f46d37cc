//! What produced a run, recorded in every CSV header and in `summary.json`, and the check
//! that a fit given to `decode --fit` is one of the same model, K and data.
//!
//! The lines are `(key, value)` pairs: CmdStan's `model` first (CmdStanPy and ArviZ read it),
//! then names CmdStan does not use. The data file is identified by its SHA-256, so a fit is
//! matched to its data wherever the file has been copied to (the nodes of a cluster).

use std::io::Read as _;
use std::path::Path;

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use trellis_models::zoo::{Family, HmmModel};
use trellis_models::BayesianModel;

use crate::io::io_reason;
use crate::ModelArgs;

/// Key of the emission family (`poisson`, `gaussian`, …).
const FAMILY: &str = "trellis_family";
/// Key of the number of hidden states K.
const STATES: &str = "trellis_states";
/// Key of the data file's path as given (not compared: the same data may sit elsewhere).
const DATA_FILE: &str = "trellis_data";
/// Key of the data file's SHA-256 (`built-in` for the built-in dataset).
const DATA_SHA256: &str = "trellis_data_sha256";
/// Key of the covariates file's path as given (`--covariates`; not compared, as the data's).
pub const COVARIATES_FILE: &str = "trellis_covariates_file";
/// Key of the covariates file's SHA-256: a fit is rebuilt only from the same covariates.
pub const COVARIATES_SHA256: &str = "trellis_covariates_sha256";
/// Prefix of one line per declared parameter: shape, transform and prior.
const PARAM_PREFIX: &str = "trellis_param_";
/// Key of the true parameter values, when the fit knew them (built-in dataset, or a
/// `params.json` from `trellis simulate` beside the data): constrained, in column order.
const TRUE_VALUES: &str = "trellis_true_values";
/// Key of the Trellis version.
const VERSION: &str = "trellis_version";
/// Key of the full command line.
pub const COMMAND_LINE: &str = "command_line";
/// Key of the command line of the `trellis summary` that merged a fit's chain files.
pub const SUMMARY_COMMAND_LINE: &str = "summary_command_line";
/// The value of [`DATA_FILE`] and [`DATA_SHA256`] for the built-in reference dataset.
const BUILT_IN: &str = "built-in";
/// Key of the provenance object in `summary.json`.
pub const JSON_KEY: &str = "provenance";

/// The provenance lines of a run of `model` on the data of `args`: CmdStan's `model`, the
/// family, K, the data file with its SHA-256 and size, one line per parameter (shape,
/// transform, prior as the model declares them), any masks or covariates the model has, the
/// true parameter values when known (`truth`, so that `summary` shows them as `fit` does),
/// the Trellis version and the full command line.
pub fn lines<F: Family>(
    model: &HmmModel<F>,
    args: &ModelArgs,
    truth: Option<&[f64]>,
) -> Result<Vec<(String, String)>, String> {
    let family = args.model.name();
    let (data_file, sha256) = match &args.data {
        Some(path) => (path.display().to_string(), file_sha256(path)?),
        None => (BUILT_IN.to_string(), BUILT_IN.to_string()),
    };
    let mut lines = vec![
        (
            "model".to_string(),
            format!("trellis_{}_{}", family.replace('-', "_"), args.states),
        ),
        (FAMILY.to_string(), family.to_string()),
        (STATES.to_string(), args.states.to_string()),
        (DATA_FILE.to_string(), data_file),
        (DATA_SHA256.to_string(), sha256),
        (
            "trellis_observations".to_string(),
            model.data().total_len().to_string(),
        ),
        (
            "trellis_sequences".to_string(),
            model.data().len().to_string(),
        ),
    ];
    for param in model.layout().params() {
        lines.push((
            format!("{PARAM_PREFIX}{}", param.name),
            format!(
                "{:?}, {:?}, prior {:?}",
                param.shape, param.transform, param.prior
            ),
        ));
    }
    lines.extend(model_extras(model));
    if let Some(path) = args
        .covariates
        .as_deref()
        .filter(|_| model.covariates().is_some())
    {
        lines.push((COVARIATES_FILE.to_string(), path.display().to_string()));
        lines.push((COVARIATES_SHA256.to_string(), file_sha256(path)?));
    }
    if let Some(truth) = truth {
        // `{:?}` is the shortest text that reads back to the same f64.
        let values: Vec<String> = truth.iter().map(|v| format!("{v:?}")).collect();
        lines.push((TRUE_VALUES.to_string(), values.join(", ")));
    }
    lines.push((VERSION.to_string(), env!("CARGO_PKG_VERSION").to_string()));
    lines.push((COMMAND_LINE.to_string(), command_line()));
    Ok(lines)
}

/// Masks and covariate names of the model, as `trellis_mask_initial`,
/// `trellis_mask_transition` (rows of 0/1, `;` between rows) and `trellis_covariates`
/// lines; they are compared by [`check_same_fit`], which compares every identifying line.
fn model_extras<F: Family>(model: &HmmModel<F>) -> Vec<(String, String)> {
    let flags = |row: &[bool]| -> String {
        row.iter()
            .map(|&free| if free { "1" } else { "0" })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut lines = Vec::new();
    if let Some(masks) = model.masks() {
        lines.push(("trellis_mask_initial".to_string(), flags(&masks.initial)));
        let rows: Vec<String> = masks.transition.iter().map(|r| flags(r)).collect();
        lines.push(("trellis_mask_transition".to_string(), rows.join("; ")));
    }
    if let Some(covariates) = model.covariates() {
        lines.push((
            "trellis_covariates".to_string(),
            covariates.names.join(", "),
        ));
    }
    lines
}

/// The command line as typed: arguments joined by spaces, those holding whitespace or
/// quotes single-quoted (shell style) so that the line can be run again.
pub fn command_line() -> String {
    let quoted: Vec<String> = std::env::args_os()
        .map(|a| {
            let a = a.to_string_lossy().into_owned();
            if a.is_empty() || a.contains(|c: char| c.is_whitespace() || c == '\'' || c == '"') {
                format!("'{}'", a.replace('\'', r"'\''"))
            } else {
                a
            }
        })
        .collect();
    quoted.join(" ")
}

/// SHA-256 of the file at `path`, as 64 lowercase hex digits; read in blocks, so a large
/// data file is never held twice in memory.
pub fn file_sha256(path: &Path) -> Result<String, String> {
    let reason = |e: std::io::Error| {
        format!(
            "cannot read '{}' to record its SHA-256: {}",
            path.display(),
            io_reason(&e)
        )
    };
    let mut file = std::fs::File::open(path).map_err(reason)?;
    let mut hasher = Sha256::new();
    let mut block = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut block).map_err(reason)?;
        if n == 0 {
            break;
        }
        hasher.update(&block[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// The provenance lines as a JSON object (for `summary.json`), in order.
pub fn to_json(lines: &[(String, String)]) -> Value {
    let object: Map<String, Value> = lines
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    Value::Object(object)
}

/// The provenance lines recorded in a `summary.json` (empty if it has none: a fit written
/// before provenance was recorded).
pub fn from_summary_json(json: &Value) -> Vec<(String, String)> {
    json.get(JSON_KEY)
        .and_then(Value::as_object)
        .map(|object| {
            object
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// The provenance lines of a chain file's header settings: those `fit` wrote (CmdStan's
/// `model` up to the fit's `command_line`), which the sampler's own lines follow.
pub fn from_csv_settings(settings: &[(String, String)]) -> Vec<(String, String)> {
    settings
        .iter()
        .take_while(|(k, _)| k != "trellis_samplers_version")
        .cloned()
        .collect()
}

/// The true values a fit recorded, if it recorded `expected` of them (one per column).
pub fn true_values(lines: &[(String, String)], expected: usize) -> Option<Vec<f64>> {
    let (_, text) = lines.iter().find(|(k, _)| k == TRUE_VALUES)?;
    let values: Vec<f64> = text
        .split(", ")
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    (values.len() == expected).then_some(values)
}

/// Whether `key` identifies what was fitted (family, K, data, parameters and their priors),
/// as opposed to where and how the run was made (data path, version, command line).
fn identifies_fit(key: &str) -> bool {
    key.starts_with("trellis_")
        && ![DATA_FILE, COVARIATES_FILE, VERSION, TRUE_VALUES].contains(&key)
        && !key.ends_with("command_line")
}

/// Checks that the fit whose provenance is `recorded` (read from `source`) is of the model,
/// K and data that `expected` describes; otherwise one line naming the first mismatch.
/// A fit that records no provenance passes with a notice (it cannot be checked).
pub fn check_same_fit(
    recorded: &[(String, String)],
    expected: &[(String, String)],
    source: &str,
) -> Result<Option<String>, String> {
    let value = |lines: &[(String, String)], key: &str| -> Option<String> {
        lines.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
    };
    if value(recorded, FAMILY).is_none() {
        return Ok(Some(format!(
            "{source} records no provenance (written by an older trellis?): not checked \
             against this model and data"
        )));
    }
    for (key, wanted) in expected.iter().filter(|(k, _)| identifies_fit(k)) {
        let found = value(recorded, key).unwrap_or_else(|| "nothing".to_string());
        if &found == wanted {
            continue;
        }
        let what = match key.as_str() {
            FAMILY => format!("model '{found}', not '{wanted}' (--model)"),
            STATES => format!("K = {found} states, not {wanted} (--states)"),
            DATA_SHA256 => format!(
                "other data: SHA-256 {found} of '{}', not {wanted} of '{}' (--data)",
                value(recorded, DATA_FILE).unwrap_or_default(),
                value(expected, DATA_FILE).unwrap_or_default()
            ),
            COVARIATES_SHA256 => format!(
                "other covariates: SHA-256 {found} of '{}', not {wanted} of '{}' (--covariates)",
                value(recorded, COVARIATES_FILE).unwrap_or_default(),
                value(expected, COVARIATES_FILE).unwrap_or_default()
            ),
            _ => match key.strip_prefix(PARAM_PREFIX) {
                Some(param) => format!("parameter '{param}' as {found}, not {wanted}"),
                None => format!("{key} = {found}, not {wanted}"),
            },
        };
        return Err(format!("{source} is a fit of {what}"));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_first_identifying_mismatch_is_named() {
        let fit = lines(&[
            (FAMILY, "poisson"),
            (STATES, "4"),
            (DATA_FILE, "a.csv"),
            (DATA_SHA256, "aa"),
            (COMMAND_LINE, "trellis fit"),
        ]);
        let mut asked = fit.clone();
        asked[4].1 = "trellis decode".into();
        asked[2].1 = "elsewhere/a.csv".into();
        assert_eq!(check_same_fit(&fit, &asked, "f"), Ok(None));
        asked[3].1 = "bb".into();
        assert_eq!(
            check_same_fit(&fit, &asked, "f").unwrap_err(),
            "f is a fit of other data: SHA-256 aa of 'a.csv', not bb of 'elsewhere/a.csv' (--data)"
        );
        asked[1].1 = "3".into();
        assert_eq!(
            check_same_fit(&fit, &asked, "f").unwrap_err(),
            "f is a fit of K = 4 states, not 3 (--states)"
        );
        asked[0].1 = "exponential".into();
        assert_eq!(
            check_same_fit(&fit, &asked, "f").unwrap_err(),
            "f is a fit of model 'poisson', not 'exponential' (--model)"
        );
        assert!(check_same_fit(&[], &asked, "f").unwrap().is_some());
    }

    #[test]
    fn csv_settings_keep_the_block_before_the_samplers_lines() {
        let settings = lines(&[
            ("model", "trellis_poisson_2"),
            (FAMILY, "poisson"),
            (COMMAND_LINE, "trellis fit --chain-id 3"),
            ("trellis_samplers_version", "0.1.0"),
            ("num_samples", "10"),
        ]);
        assert_eq!(from_csv_settings(&settings), settings[..3]);
    }

    #[test]
    fn masks_and_covariate_names_are_recorded() {
        use trellis_models::hmm::Sequences;
        use trellis_models::zoo::{Covariates, PoissonFamily, StateMasks};
        let data = Sequences::new(vec![vec![1u32, 2, 0], vec![3, 1]]).unwrap();
        let plain = HmmModel::new(PoissonFamily::new(2), data.clone()).unwrap();
        assert!(model_extras(&plain).is_empty());
        let masked = plain
            .clone()
            .with_masks(StateMasks::left_to_right(2))
            .unwrap();
        assert_eq!(
            model_extras(&masked),
            lines(&[
                ("trellis_mask_initial", "1 0"),
                ("trellis_mask_transition", "1 1; 0 1"),
            ])
        );
        let covariates = Covariates::new(vec!["x".into(), "y".into()], vec![0.0; 10], 5).unwrap();
        let driven = plain.with_covariates(covariates).unwrap();
        assert_eq!(
            model_extras(&driven),
            lines(&[("trellis_covariates", "x, y")])
        );
    }
}
