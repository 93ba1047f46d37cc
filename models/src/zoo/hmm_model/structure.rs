//! The structure of an HMM's Markov chain beyond a free transition matrix: structural zeros
//! ([`StateMasks`]) and covariate-driven transitions ([`Covariates`]).

use super::{MarkovPriors, TransitionParams};
use crate::layout::{LayoutError, ParamHandle, ParamLayout, Shape};
use crate::model::ModelError;
use crate::priors::Prior;
use crate::transforms::Transform;

/// Which entries of `p_initial_state` and `p_transition` are free (`true`) and which are
/// structural zeros (`false`), for [`HmmModel::with_masks`](super::HmmModel::with_masks).
///
/// ```
/// use trellis_models::zoo::StateMasks;
/// let masks = StateMasks::left_to_right(3);
/// assert_eq!(masks.initial, [true, false, false]);
/// assert_eq!(masks.transition[1], [false, true, true]);
/// assert_eq!(masks.transition[2], [false, false, true]); // the last state absorbs
/// assert!(masks.validate(3).is_ok());
/// let mut bad = masks.clone();
/// bad.transition[1] = vec![false; 3];
/// assert!(bad.validate(3).unwrap_err().to_string().contains("row 1"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateMasks {
    /// One flag per state for `p_initial_state`.
    pub initial: Vec<bool>,
    /// One row of flags per from-state for `p_transition` (`K × K`).
    pub transition: Vec<Vec<bool>>,
}

impl StateMasks {
    /// Every entry free (the unmasked model).
    pub fn all_free(k: usize) -> Self {
        Self {
            initial: vec![true; k],
            transition: vec![vec![true; k]; k],
        }
    }

    /// A left-to-right chain: it starts in state 0, and from state `i` either stays or moves
    /// to `i + 1` (upper-bidiagonal transitions); the last row has one free entry, the
    /// constant 1.
    pub fn left_to_right(k: usize) -> Self {
        Self {
            initial: (0..k).map(|i| i == 0).collect(),
            transition: (0..k)
                .map(|i| (0..k).map(|j| j == i || j == i + 1).collect())
                .collect(),
        }
    }

    /// Checks the shapes against `k` states and that every row (the initial distribution
    /// and each transition row) has at least one free entry.
    ///
    /// # Errors
    /// [`LayoutError::InvalidParameter`] naming `p_initial_state` or the row of
    /// `p_transition`.
    pub fn validate(&self, k: usize) -> Result<(), ModelError> {
        let invalid = |name: &str, reason: String| -> ModelError {
            LayoutError::InvalidParameter {
                name: name.into(),
                reason,
            }
            .into()
        };
        if self.initial.len() != k {
            return Err(invalid(
                "p_initial_state",
                format!("the mask has {} entries, expected {k}", self.initial.len()),
            ));
        }
        if !self.initial.contains(&true) {
            return Err(invalid(
                "p_initial_state",
                "the mask has no free entry (at least one state must be possible at the start)"
                    .into(),
            ));
        }
        if self.transition.len() != k {
            return Err(invalid(
                "p_transition",
                format!("the mask has {} rows, expected {k}", self.transition.len()),
            ));
        }
        for (r, row) in self.transition.iter().enumerate() {
            if row.len() != k {
                return Err(invalid(
                    "p_transition",
                    format!(
                        "row {r} of the mask has {} entries, expected {k}",
                        row.len()
                    ),
                ));
            }
            if !row.contains(&true) {
                return Err(invalid(
                    "p_transition",
                    format!("row {r} of the mask has no free entry (a row of probabilities needs at least one)"),
                ));
            }
        }
        Ok(())
    }

    /// Whether every transition entry is free.
    pub(crate) fn transitions_all_free(&self) -> bool {
        self.transition.iter().flatten().all(|&f| f)
    }

    /// The transition flags, row-major.
    pub(crate) fn transition_flat(&self) -> Vec<bool> {
        self.transition.iter().flatten().copied().collect()
    }

    /// The reference category of row `i` of covariate-driven transitions (its `η` is 0 and
    /// its coefficients are fixed at 0): staying (`i`) when that is possible, else the first
    /// free entry — one free entry per row must be pinned, or the row's softmax would be
    /// unchanged by a shift of all its coefficients (not identified).
    pub fn reference(&self, i: usize) -> usize {
        let row = &self.transition[i];
        if row[i] {
            i
        } else {
            row.iter().position(|&f| f).unwrap_or(i)
        }
    }
}

/// Covariates of the transitions, one row per observation in the flat order of
/// [`Sequences`](crate::hmm::Sequences), for
/// [`HmmModel::with_covariates`](super::HmmModel::with_covariates).
///
/// The transition from `t` to `t + 1` uses the design vector `zₜ = (1, x1ₜ, x2ₜ, …)` of the
/// from-time `t` (intercept first, `C = 1 + names.len()` entries); the last row of each
/// sequence is not used.
///
/// ```
/// use trellis_models::zoo::Covariates;
/// let cov = Covariates::new(vec!["temp".into()], vec![0.5, -1.0, 2.0], 3)?;
/// assert_eq!(cov.design_len(), 2);
/// assert_eq!(cov.design(), vec![1.0, 0.5, 1.0, -1.0, 1.0, 2.0]);
/// assert!(Covariates::new(vec!["x".into()], vec![f64::NAN], 1).is_err());
/// # Ok::<(), trellis_models::ModelError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Covariates {
    /// The covariates' names (`x1`, `temperature`, …).
    pub names: Vec<String>,
    /// The values, row-major: observation `n`'s covariate `c` at `n · names.len() + c`.
    pub values: Vec<f64>,
}

impl Covariates {
    /// `names.len()` covariates for `n_obs` observations, `values` row-major.
    ///
    /// # Errors
    /// No covariate, an empty or repeated name, a length other than
    /// `n_obs × names.len()`, a value that is not finite (covariates may not be missing).
    pub fn new(names: Vec<String>, values: Vec<f64>, n_obs: usize) -> Result<Self, ModelError> {
        let cov = Self { names, values };
        cov.check(n_obs)?;
        Ok(cov)
    }

    /// Checks the covariates against `n_obs` observations (see [`Covariates::new`]).
    ///
    /// # Errors
    /// As [`Covariates::new`].
    pub fn check(&self, n_obs: usize) -> Result<(), ModelError> {
        let invalid = |reason: String| -> ModelError {
            LayoutError::InvalidParameter {
                name: "covariates".into(),
                reason,
            }
            .into()
        };
        if self.names.is_empty() {
            return Err(invalid("no covariate is named".into()));
        }
        for (i, name) in self.names.iter().enumerate() {
            if name.trim().is_empty() {
                return Err(invalid(format!("covariate {i} has an empty name")));
            }
            if self.names[..i].contains(name) {
                return Err(invalid(format!("covariate `{name}` is named twice")));
            }
        }
        let c = self.names.len();
        let expected = n_obs.checked_mul(c);
        if expected != Some(self.values.len()) {
            return Err(ModelError::WrongLength {
                what: format!("covariate values ({n_obs} observations × {c} covariates)"),
                expected: expected.unwrap_or(usize::MAX),
                found: self.values.len(),
            });
        }
        if let Some(i) = self.values.iter().position(|v| !v.is_finite()) {
            return Err(invalid(format!(
                "covariate `{}` of observation {} is {}, not a finite number (covariates may not be missing)",
                self.names[i % c],
                i / c,
                self.values[i]
            )));
        }
        Ok(())
    }

    /// Number of covariates.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether there is no covariate (never, once checked).
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// `C`, the design vector's length: the intercept and each covariate.
    pub fn design_len(&self) -> usize {
        1 + self.names.len()
    }

    /// The design vectors `(1, x1, x2, …)` of every observation, row-major (`N × C`).
    pub fn design(&self) -> Vec<f64> {
        let c = self.names.len().max(1);
        self.values
            .chunks(c)
            .flat_map(|row| std::iter::once(1.0).chain(row.iter().copied()))
            .collect()
    }
}

/// Declares `p_initial_state` and the transition parameters (`p_transition`, or
/// `transition_coef` with covariates) in `layout`.
pub(super) fn declare_chain(
    layout: &mut ParamLayout,
    k: usize,
    markov: &MarkovPriors,
    masks: Option<&StateMasks>,
    covariates: Option<&Covariates>,
    coefficient_prior: &Prior,
) -> Result<(ParamHandle, TransitionParams), ModelError> {
    let initial = match masks {
        Some(m) => layout.declare_masked(
            "p_initial_state",
            Shape::Vector(k),
            markov.transform,
            markov.initial.clone(),
            m.initial.clone(),
        )?,
        None => layout.declare(
            "p_initial_state",
            Shape::Vector(k),
            markov.transform,
            markov.initial.clone(),
        )?,
    };
    let transition = match covariates {
        Some(cov) => {
            let c = cov.design_len();
            // Free: an entry the mask allows that is not its row's reference category.
            let reference = |i: usize| masks.map_or(i, |m| m.reference(i));
            let allowed = |i: usize, j: usize| masks.map_or(true, |m| m.transition[i][j]);
            let free: Vec<bool> = (0..k * k * c)
                .map(|n| {
                    let (i, j) = (n / c / k, n / c % k);
                    j != reference(i) && allowed(i, j)
                })
                .collect();
            let mask = masks
                .filter(|m| !m.transitions_all_free())
                .map(StateMasks::transition_flat);
            let coef = layout.declare_masked(
                "transition_coef",
                Shape::Array3(k, k, c),
                Transform::Identity,
                coefficient_prior.clone(),
                free,
            )?;
            TransitionParams::Coefficients {
                coef,
                covariates: cov.clone(),
                design: cov.design(),
                mask,
            }
        }
        None => TransitionParams::Matrix(match masks {
            Some(m) if !m.transitions_all_free() => layout.declare_masked(
                "p_transition",
                Shape::Matrix(k, k),
                markov.transform,
                markov.transition.clone(),
                m.transition_flat(),
            )?,
            _ => layout.declare(
                "p_transition",
                Shape::Matrix(k, k),
                markov.transform,
                markov.transition.clone(),
            )?,
        }),
    };
    Ok((initial, transition))
}
