//! The checks every family's emission view makes of its parameters and observations, with
//! errors that name the parameter element or the observation.

use trellis_ad::Scalar;

use crate::hmm::HmmError;
use crate::model::ModelError;

/// The error for observation `position` of sequence `sequence`.
pub(crate) fn invalid_obs(
    sequence: usize,
    position: usize,
    value: impl std::fmt::Display,
    reason: impl Into<String>,
) -> HmmError {
    HmmError::InvalidObservation {
        sequence,
        position,
        value: value.to_string(),
        reason: reason.into(),
    }
}

/// Checks that `values` (the parameter `name`) has `expected` entries.
pub(crate) fn check_len<T>(name: &str, values: &[T], expected: usize) -> Result<(), ModelError> {
    if values.len() == expected {
        Ok(())
    } else {
        Err(ModelError::WrongLength {
            what: format!("emission parameter `{name}`"),
            expected,
            found: values.len(),
        })
    }
}

/// Checks that `values` (the parameter `name`) are whole rows of `width` entries, at least
/// one (one row per state).
pub(crate) fn check_rows<T>(name: &str, values: &[T], width: usize) -> Result<(), ModelError> {
    if width == 0 || values.is_empty() {
        return Err(HmmError::NoStates.into());
    }
    check_len(name, values, values.len().div_ceil(width) * width)
}

/// The support of an emission parameter's values, and what the error says when one lies
/// outside it.
#[derive(Clone, Copy)]
pub(crate) struct Support {
    ok: fn(f64) -> bool,
    reason: &'static str,
}

impl Support {
    /// Values for which `ok` holds; `reason` says what is required ("must be …").
    pub(crate) const fn new(ok: fn(f64) -> bool, reason: &'static str) -> Self {
        Self { ok, reason }
    }
}

/// Finite values.
pub(crate) const FINITE: Support = Support::new(finite, "must be finite");
/// Positive finite values.
pub(crate) const POSITIVE: Support = Support::new(positive, "must be positive and finite");

/// Checks the parameters of an emission view that has one value per state for each of them:
/// at least one state, every parameter as long as the first, each value in its support,
/// in that order (so the error names the first problem).
pub(crate) fn check_per_state<T: Scalar>(
    params: &[(&str, &[T], Support)],
) -> Result<(), ModelError> {
    let n_states = params.first().map_or(0, |(_, values, _)| values.len());
    if n_states == 0 {
        return Err(HmmError::NoStates.into());
    }
    for (name, values, _) in &params[1..] {
        check_len(name, values, n_states)?;
    }
    for (name, values, support) in params {
        check_values(name, values, support.ok, support.reason)?;
    }
    Ok(())
}

/// Checks each value of the parameter `name` with `ok`; `reason` says what is required.
pub(crate) fn check_values<T: Scalar>(
    name: &str,
    values: &[T],
    ok: impl Fn(f64) -> bool,
    reason: &str,
) -> Result<(), ModelError> {
    match values.iter().position(|v| !ok(v.value())) {
        None => Ok(()),
        Some(i) => Err(ModelError::InvalidParameter {
            name: format!("{name}[{i}]"),
            value: values[i].value(),
            reason: reason.into(),
        }),
    }
}

/// Finite values.
pub(crate) fn finite(v: f64) -> bool {
    v.is_finite()
}

/// Positive finite values.
pub(crate) fn positive(v: f64) -> bool {
    v > 0.0 && v.is_finite()
}
