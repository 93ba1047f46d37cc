//! Structural zeros of the Markov chain: `--transition-mask FILE`, `--initial-mask FILE` and
//! `--structure left-to-right`.
//!
//! A mask file is JSON: `K` entries 0 or 1 for `--initial-mask`, `K` rows of `K` for
//! `--transition-mask` (rows = from-state). A 0 fixes that probability at exactly 0; the free
//! entries (1) of each row form a simplex of their own size, so a row with a single free
//! entry is the constant 1, and a row with none is an error. `--structure left-to-right` is
//! the upper-bidiagonal transition mask (stay or move one state on; the last state absorbs)
//! with the chain starting in state 0.

use std::path::Path;

use serde_json::Value;
use trellis_models::zoo::StateMasks;

use crate::io::read_json;

/// Which entries of the chain's probabilities are free (`true`) or fixed at 0.
#[derive(Debug, Clone, PartialEq)]
pub struct ChainMasks {
    /// `K` flags for `p_initial_state`.
    pub initial: Vec<bool>,
    /// `K` rows of `K` flags for `p_transition`.
    pub transition: Vec<Vec<bool>>,
    /// Where each mask came from, for messages.
    pub initial_source: String,
    pub transition_source: String,
}

/// The shorthand structures of `--structure`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Structure {
    /// Upper-bidiagonal transitions (stay, or move to the next state; the last state
    /// absorbs), starting in state 0.
    LeftToRight,
}

impl ChainMasks {
    /// The masks the options ask for, or `None` when none of them is given.
    pub fn from_options(
        k: usize,
        structure: Option<Structure>,
        initial: Option<&Path>,
        transition: Option<&Path>,
    ) -> Result<Option<Self>, String> {
        if structure.is_none() && initial.is_none() && transition.is_none() {
            return Ok(None);
        }
        let mut masks = match structure {
            Some(Structure::LeftToRight) => Self {
                initial: (0..k).map(|i| i == 0).collect(),
                transition: (0..k)
                    .map(|i| (0..k).map(|j| j == i || j == i + 1).collect())
                    .collect(),
                initial_source: "--structure left-to-right".into(),
                transition_source: "--structure left-to-right".into(),
            },
            None => Self {
                initial: vec![true; k],
                transition: vec![vec![true; k]; k],
                initial_source: "no --initial-mask".into(),
                transition_source: "no --transition-mask".into(),
            },
        };
        if let Some(path) = initial {
            let source = path.display().to_string();
            masks.initial = read_initial(&read_json(path, "initial mask")?, k, &source)?;
            masks.initial_source = source;
        }
        if let Some(path) = transition {
            let source = path.display().to_string();
            masks.transition = read_transition(&read_json(path, "transition mask")?, k, &source)?;
            masks.transition_source = source;
        }
        Ok(Some(masks))
    }

    /// The masks with every exact zero of the parameter file `json` (in `p_initial_state` or
    /// `p_transition`) fixed as well, or `None` when there are neither masks nor zeros: a
    /// model evaluated at parameters with structural zeros needs them masked (an unmasked
    /// simplex has no zeros in its support). A row of zeros is refused.
    pub fn with_zeros_of(
        masks: Option<Self>,
        k: usize,
        json: &Value,
        source: &str,
    ) -> Result<Option<Self>, String> {
        let zero = |v: Option<&Value>| v.and_then(Value::as_f64) == Some(0.0);
        let initial: Vec<bool> = (0..k)
            .map(|i| zero(json.get("p_initial_state").and_then(|p| p.get(i))))
            .collect();
        let transition: Vec<Vec<bool>> = (0..k)
            .map(|i| {
                let row = json.get("p_transition").and_then(|p| p.get(i));
                (0..k).map(|j| zero(row.and_then(|r| r.get(j)))).collect()
            })
            .collect();
        if initial.iter().all(|&z| z) {
            return Err(format!(
                "{source}: p_initial_state is all zeros: probabilities must sum to 1"
            ));
        }
        if let Some(i) = transition.iter().position(|row| row.iter().all(|&z| z)) {
            return Err(format!(
                "{source}: p_transition[{i},:] is all zeros: probabilities must sum to 1"
            ));
        }
        let any_zero = initial.contains(&true) || transition.iter().flatten().any(|&z| z);
        if !any_zero {
            return Ok(masks);
        }
        let mut masks = masks.unwrap_or_else(|| Self {
            initial: vec![true; k],
            transition: vec![vec![true; k]; k],
            initial_source: format!("{source} (its zeros)"),
            transition_source: format!("{source} (its zeros)"),
        });
        for (m, z) in masks.initial.iter_mut().zip(&initial) {
            *m &= !z;
        }
        for (row, zeros) in masks.transition.iter_mut().zip(&transition) {
            for (m, z) in row.iter_mut().zip(zeros) {
                *m &= !z;
            }
        }
        Ok(Some(masks))
    }

    /// The library's form of the masks.
    pub fn state_masks(&self) -> StateMasks {
        StateMasks {
            initial: self.initial.clone(),
            transition: self.transition.clone(),
        }
    }

    /// Refuses a parameter file that gives a non-zero probability where a mask fixes 0, or
    /// (covariate-driven transitions) a non-zero coefficient of a masked transition.
    pub fn check_params(&self, json: &Value, source: &str) -> Result<(), String> {
        let entry = |name: &str, index: &[usize]| {
            index
                .iter()
                .try_fold(json.get(name)?, |v, &i| v.get(i))
                .and_then(Value::as_f64)
        };
        for (i, &free) in self.initial.iter().enumerate() {
            match entry("p_initial_state", &[i]) {
                Some(p) if !free && p != 0.0 => {
                    return Err(format!(
                        "{source}: p_initial_state[{i}] is {p}, but {} fixes it at 0",
                        self.initial_source
                    ))
                }
                _ => {}
            }
        }
        for (i, row) in self.transition.iter().enumerate() {
            for (j, &free) in row.iter().enumerate() {
                match entry("p_transition", &[i, j]) {
                    Some(p) if !free && p != 0.0 => {
                        return Err(format!(
                            "{source}: p_transition[{i},{j}] is {p}, but {} fixes it at 0",
                            self.transition_source
                        ))
                    }
                    _ => {}
                }
                // With covariates: every coefficient of a masked transition must be 0.
                let nonzero = (0..)
                    .map_while(|c| entry("transition_coef", &[i, j, c]).map(|v| (c, v)))
                    .find(|&(_, v)| v != 0.0);
                if let (false, Some((c, v))) = (free, nonzero) {
                    return Err(format!(
                        "{source}: transition_coef[{i},{j},{c}] is {v}, but {} fixes the \
                         transition {i} → {j} at 0 (its coefficients must be 0)",
                        self.transition_source
                    ));
                }
            }
        }
        Ok(())
    }
}

/// A 0/1 (or false/true) flag.
fn flag(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => {
            let x = n.as_f64()?;
            (x == 0.0 || x == 1.0).then_some(x == 1.0)
        }
        _ => None,
    }
}

fn flags(value: &Value, k: usize) -> Option<Vec<bool>> {
    let items = value.as_array().filter(|a| a.len() == k)?;
    items.iter().map(flag).collect()
}

fn read_initial(json: &Value, k: usize, source: &str) -> Result<Vec<bool>, String> {
    let mask = flags(json, k).ok_or_else(|| {
        format!("{source}: the initial mask must be an array of {k} entries, each 0 or 1")
    })?;
    if !mask.contains(&true) {
        return Err(format!(
            "{source}: the initial mask has no free entry (1): the chain could start nowhere"
        ));
    }
    Ok(mask)
}

fn read_transition(json: &Value, k: usize, source: &str) -> Result<Vec<Vec<bool>>, String> {
    let wrong = || {
        format!("{source}: the transition mask must be an array of {k} rows of {k} entries, each 0 or 1")
    };
    let rows = json.as_array().filter(|a| a.len() == k).ok_or_else(wrong)?;
    let mask: Vec<Vec<bool>> = rows
        .iter()
        .map(|row| flags(row, k))
        .collect::<Option<_>>()
        .ok_or_else(wrong)?;
    if let Some(i) = mask.iter().position(|row| !row.contains(&true)) {
        return Err(format!(
            "{source}: row {i} of the transition mask has no free entry (1): every state needs \
             somewhere to go"
        ));
    }
    Ok(mask)
}
