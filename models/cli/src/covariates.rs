//! `--covariates FILE`: the covariates of covariate-driven transitions, read and matched
//! row by row to the data.
//!
//! The file is in the long layout, `sequence,time,x1[,x2…]`: the header names the
//! covariates, and there is one row per observation of the data, with the same sequence
//! labels and times (the wide layout's sequences are labelled 0, 1, … by row and its times
//! start at 0). Covariates may not be missing. The transition from `t` to `t + 1` uses the
//! covariates of time `t`, so the last row of each sequence is read but not used.

use std::collections::HashMap;
use std::path::Path;

use serde_json::{json, Value};
use trellis_models::layout::{ParamLayout, Shape};

use crate::data::{self, shown, RawData};
use crate::text::plural;

/// One sequence of the data, as the covariates must match it.
#[derive(Debug, Clone, PartialEq)]
pub struct SequenceRows {
    pub label: String,
    pub first_time: i64,
    pub len: usize,
}

impl SequenceRows {
    /// The sequences of a parsed data file.
    pub fn of(raw: &RawData) -> Vec<Self> {
        raw.sequences
            .iter()
            .map(|s| Self {
                label: s.label.clone(),
                first_time: s.first_time,
                len: s.steps.len(),
            })
            .collect()
    }

    /// Sequences labelled 0, 1, … of the given lengths starting at time 0 (the wide layout,
    /// the built-in dataset).
    pub fn numbered(lengths: impl IntoIterator<Item = usize>) -> Vec<Self> {
        lengths
            .into_iter()
            .enumerate()
            .map(|(i, len)| Self {
                label: i.to_string(),
                first_time: 0,
                len,
            })
            .collect()
    }

    fn times(&self) -> String {
        let last = self.first_time + self.len as i64 - 1;
        format!("times {} to {last}", self.first_time)
    }
}

/// A covariates file matched to the data.
#[derive(Debug, Clone, PartialEq)]
pub struct CovariateTable {
    /// The file name as given, for messages.
    pub source: String,
    /// The covariates' names, from the header.
    pub names: Vec<String>,
    /// One row of `names.len()` values per observation, in the data's flat order (sequence by
    /// sequence, time by time), row-major.
    pub values: Vec<f64>,
    /// The sequences, in the covariates file's order of first appearance.
    pub sequences: Vec<SequenceRows>,
}

/// Reads `path` without matching it to any data (for `simulate`, where the covariates define
/// the sequences).
pub fn read_unmatched(path: &Path) -> Result<CovariateTable, String> {
    let raw = read_raw(path)?;
    let table = check_file(&raw)?;
    let sequences = SequenceRows::of(&raw);
    let values = raw
        .sequences
        .iter()
        .flat_map(|s| s.steps.iter().flatten().map(|c| c.value))
        .collect();
    Ok(CovariateTable {
        source: raw.source.clone(),
        names: table,
        values,
        sequences,
    })
}

/// Reads `path` and matches its rows to `data` (the data file's name is `data_source`).
pub fn read(
    path: &Path,
    data: &[SequenceRows],
    data_source: &str,
) -> Result<CovariateTable, String> {
    let raw = read_raw(path)?;
    let names = check_file(&raw)?;
    let source = &raw.source;
    let by_label: HashMap<&str, usize> = raw
        .sequences
        .iter()
        .enumerate()
        .map(|(i, s)| (s.label.as_str(), i))
        .collect();
    if let Some(extra) = raw
        .sequences
        .iter()
        .find(|s| !data.iter().any(|d| d.label == s.label))
    {
        return Err(format!(
            "{source}:{}: sequence '{}' is not in the data ({data_source}): the covariates need \
             the same sequence/time rows as the data",
            extra.first_line,
            shown(&extra.label)
        ));
    }
    let mut values = Vec::with_capacity(data.iter().map(|d| d.len).sum::<usize>() * names.len());
    for wanted in data {
        let Some(&i) = by_label.get(wanted.label.as_str()) else {
            return Err(format!(
                "{source}: no rows for sequence '{}' of the data ({data_source}, {}, {}): the \
                 covariates need the same sequence/time rows as the data",
                shown(&wanted.label),
                plural(wanted.len, "observation"),
                wanted.times()
            ));
        };
        let found = &raw.sequences[i];
        let rows = SequenceRows {
            label: found.label.clone(),
            first_time: found.first_time,
            len: found.steps.len(),
        };
        if rows != *wanted {
            return Err(format!(
                "{source}:{}: sequence '{}' has {} here but {} in the data ({data_source}): the \
                 covariates need the same sequence/time rows as the data",
                found.first_line,
                shown(&wanted.label),
                rows.times(),
                wanted.times()
            ));
        }
        values.extend(found.steps.iter().flatten().map(|c| c.value));
    }
    Ok(CovariateTable {
        source: source.clone(),
        names,
        values,
        sequences: data.to_vec(),
    })
}

/// The file's rows, with the data reader's errors (a header of only `sequence,time` named as
/// a covariates file's: the data reader's wording asks for a value column).
fn read_raw(path: &Path) -> Result<RawData, String> {
    data::read(path).map_err(|e| match e {
        data::DataError::BadHeader { path, line, found } if is_bare_long_header(&found) => {
            format!(
                "{path}:{line}: the header '{found}' names no covariate: a covariates file needs \
                 'sequence,time,x1[,x2…]' (for time-homogeneous transitions, leave out \
                 --covariates)"
            )
        }
        e => e.to_string(),
    })
}

/// Whether a header is the long layout's `sequence,time` with no further column.
fn is_bare_long_header(found: &str) -> bool {
    let fields: Vec<&str> = found.split(',').map(|f| f.trim()).collect();
    fields.len() == 2 && fields[0] == "sequence" && fields[1] == "time"
}

/// Checks the layout and the cells of a covariates file; returns the covariates' names.
fn check_file(raw: &RawData) -> Result<Vec<String>, String> {
    let source = &raw.source;
    if !raw.long {
        return Err(format!(
            "{source}: a covariates file needs the long layout: a header 'sequence,time,x1[,x2…]' \
             naming the covariates, then one row per observation"
        ));
    }
    for (i, name) in raw.columns.iter().enumerate() {
        if name.is_empty() {
            return Err(format!(
                "{source}:{}: covariate column {} has no name in the header",
                raw.header_line,
                i + 3
            ));
        }
        if raw.columns[..i].contains(name) {
            return Err(format!(
                "{source}:{}: covariate '{}' is named twice in the header",
                raw.header_line,
                shown(name)
            ));
        }
    }
    let missing = raw
        .sequences
        .iter()
        .flat_map(|s| s.steps.iter().flatten())
        .find(|c| c.missing);
    if let Some(cell) = missing {
        return Err(format!(
            "{source}:{}:{}: covariate '{}' is missing (NA): covariates may not be missing",
            cell.line,
            cell.column,
            shown(&raw.columns[cell.column - 3])
        ));
    }
    Ok(raw.columns.clone())
}

/// The name of the covariate transition coefficients in parameter files.
pub const COEFFICIENTS: &str = "transition_coef";

/// Refuses parameter values (layout order) with a non-zero fixed coefficient: the diagonal
/// of `transition_coef` is fixed at 0 (staying is the reference category), and so are the
/// coefficients of masked transitions and of the reference of a row whose staying entry is
/// masked (the layout's mask of `transition_coef` says which).
pub fn check_coefficient_diagonal(
    layout: &ParamLayout,
    values: &[f64],
    source: &str,
) -> Result<(), String> {
    for spec in layout.params().iter().filter(|s| s.name == COEFFICIENTS) {
        let Shape::Array3(k, _, c) = spec.shape else {
            continue;
        };
        let block = &values[spec.constrained_offset..spec.constrained_offset + spec.shape.len()];
        let free = spec.mask.as_ref().map(|m| m.free());
        for (n, &v) in block.iter().enumerate() {
            let (i, j, z) = (n / c / k, n / c % k, n % c);
            if v == 0.0 || free.is_some_and(|f| f[n]) || (free.is_none() && i != j) {
                continue;
            }
            let why = if i == j {
                "the diagonal coefficients must be 0 (staying in a state is the reference \
                 category)"
                    .to_string()
            } else {
                format!(
                    "the transition {i} → {j} is masked or is the reference category of row {i} \
                     (whose staying entry is masked), so its coefficients must be 0"
                )
            };
            return Err(format!(
                "{source}: {COEFFICIENTS}[{i},{j},{z}] is {v}, but {why}"
            ));
        }
    }
    Ok(())
}

/// Default coefficients for `simulate --covariates` (`K × K × C` as JSON): intercepts that
/// give the default sticky chain (0.9 on the diagonal) at covariates 0, and slopes of ±0.8
/// (alternating with i + j + c) so that each covariate moves every transition.
pub fn default_coefficients(k: usize, c: usize) -> Value {
    let leave = 0.1 / (k as f64 - 1.0);
    let intercept = (leave / 0.9).ln();
    let coef: Vec<Vec<Vec<f64>>> = (0..k)
        .map(|i| {
            (0..k)
                .map(|j| {
                    (0..c)
                        .map(|z| match (i == j, z) {
                            (true, _) => 0.0,
                            (false, 0) => intercept,
                            (false, z) if (i + j + z) % 2 == 0 => 0.8,
                            (false, _) => -0.8,
                        })
                        .collect()
                })
                .collect()
        })
        .collect();
    json!(coef)
}
