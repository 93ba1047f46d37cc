//! Posterior predictive checks for HMMs (Gelman, Meng & Stern 1996; Gelman et al., *Bayesian
//! Data Analysis*, ch. 6): replicated datasets drawn at posterior draws, test statistics of
//! the observed data against those of the replicates, and posterior predictive p-values
//! `p = Pr(T(y_rep) ≥ T(y))`.
//!
//! Besides the usual summaries of the observations (mean, sd, maximum), the statistics are the
//! ones where an HMM check bites: the lag-1 autocorrelation of the observations, and, of the
//! hidden states decoded (Viterbi) at the same draw, the mean run length and the number of
//! state switches, and the sd of the observations around their decoded state's mean (which
//! exposes emissions more dispersed than the family allows). States of the observed data
//! and of each replicate are decoded at the draw that made the replicate, so both sides of
//! every comparison see the same parameters.
//!
//! A p-value near 0 says the observed statistic is larger than nearly all replicated ones,
//! near 1 smaller: either way the model does not reproduce that feature of the data.

use rand::{RngCore, SeedableRng};
use rand_xoshiro::SplitMix64;
use rayon::prelude::*;
use serde::Serialize;

use crate::hmm::{self, Sequences};
use crate::model::ModelError;
use crate::simulate::simulate_hmm;
use crate::zoo::{Family, HmmModel};

/// An observation's value as one number, for statistics over observations: the value itself
/// for scalars, the symbol's index for categories, the first coordinate of a vector.
pub trait ScalarObservation {
    /// The number the statistics use.
    fn scalar(&self) -> f64;
}

impl ScalarObservation for f64 {
    fn scalar(&self) -> f64 {
        *self
    }
}

impl ScalarObservation for u32 {
    fn scalar(&self) -> f64 {
        f64::from(*self)
    }
}

impl ScalarObservation for usize {
    fn scalar(&self) -> f64 {
        *self as f64
    }
}

impl ScalarObservation for Vec<f64> {
    fn scalar(&self) -> f64 {
        self.first().copied().unwrap_or(f64::NAN)
    }
}

/// The names of the statistics, in the order [`statistics`] returns them.
pub const STATISTIC_NAMES: [&str; 7] = [
    "mean",
    "sd",
    "max",
    "lag-1 autocorrelation",
    "mean run length",
    "state switches",
    "sd within states",
];

/// The test statistics ([`STATISTIC_NAMES`]) of observations `values` (one vector per
/// sequence) with hidden states `states` (same shape).
///
/// Autocorrelation pools the pairs of consecutive observations of every sequence around the
/// overall mean (0 when all observations are equal); the mean run length is the number of
/// observations over the number of runs of one state; the sd within states is the root mean
/// square deviation of each observation from the mean of its decoded state.
///
/// # Panics
/// When `states` and `values` differ in shape (a caller's bug).
pub fn statistics(values: &[Vec<f64>], states: &[Vec<usize>]) -> [f64; 7] {
    assert!(
        values.len() == states.len() && values.iter().zip(states).all(|(v, s)| v.len() == s.len()),
        "ppc::statistics: values and states must have the same shape"
    );
    let n: usize = values.iter().map(Vec::len).sum();
    let nf = n.max(1) as f64;
    let mean = values.iter().flatten().sum::<f64>() / nf;
    let sum_sq: f64 = values.iter().flatten().map(|y| (y - mean).powi(2)).sum();
    let sd = (sum_sq / nf).sqrt();
    let max = values
        .iter()
        .flatten()
        .copied()
        .fold(f64::NEG_INFINITY, f64::max);
    let lagged: f64 = values
        .iter()
        .flat_map(|v| v.windows(2).map(|w| (w[0] - mean) * (w[1] - mean)))
        .sum();
    let autocorrelation = if sum_sq > 0.0 { lagged / sum_sq } else { 0.0 };
    let switches: usize = states
        .iter()
        .map(|s| s.windows(2).filter(|w| w[0] != w[1]).count())
        .sum();
    let runs = switches + states.iter().filter(|s| !s.is_empty()).count();
    let mean_run_length = n as f64 / runs.max(1) as f64;
    let k = states.iter().flatten().copied().max().map_or(0, |m| m + 1);
    let mut state_sum = vec![0.0; k];
    let mut state_count = vec![0usize; k];
    for (y, z) in values.iter().flatten().zip(states.iter().flatten()) {
        state_sum[*z] += y;
        state_count[*z] += 1;
    }
    let state_mean: Vec<f64> = state_sum
        .iter()
        .zip(&state_count)
        .map(|(s, &c)| s / c.max(1) as f64)
        .collect();
    let within: f64 = values
        .iter()
        .flatten()
        .zip(states.iter().flatten())
        .map(|(y, z)| (y - state_mean[*z]).powi(2))
        .sum();
    [
        mean,
        sd,
        max,
        autocorrelation,
        mean_run_length,
        switches as f64,
        (within / nf).sqrt(),
    ]
}

/// One statistic's posterior predictive comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatisticCheck {
    /// The statistic's name (one of [`STATISTIC_NAMES`]).
    pub name: String,
    /// Its value on the observed data at each draw (constant over draws for statistics of the
    /// observations alone).
    pub observed: Vec<f64>,
    /// Its value on the replicate of each draw.
    pub replicated: Vec<f64>,
    /// `Pr(T(y_rep) ≥ T(y))` over draws.
    pub p_value: f64,
}

/// The result of [`posterior_predictive`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PredictiveCheck {
    /// One entry per statistic, in [`STATISTIC_NAMES`] order.
    pub statistics: Vec<StatisticCheck>,
    /// The observed data as numbers ([`ScalarObservation`]), sequences concatenated.
    pub observed_values: Vec<f64>,
    /// Each replicate's values, sequences concatenated (one vector per draw).
    pub replicated_values: Vec<Vec<f64>>,
}

impl PredictiveCheck {
    /// The statistics whose p-value lies below `alpha` or above `1 − alpha`.
    pub fn extreme(&self, alpha: f64) -> Vec<&StatisticCheck> {
        self.statistics
            .iter()
            .filter(|s| s.p_value < alpha || s.p_value > 1.0 - alpha)
            .collect()
    }
}

/// Draws one replicated dataset (same number and lengths of sequences as the model's data)
/// at each of `draws` (constrained values, layout order), decodes observed and replicated
/// data at that draw, and compares their [`statistics`].
///
/// Replicate `i` is simulated from a stream seeded by `seed` and `i` alone, and draws are
/// processed in parallel in a fixed order, so the result is bit-identical for a seed whatever
/// the number of threads.
///
/// # Errors
/// No draws; a draw outside the support; observed data impossible at a draw (Viterbi finds no
/// path).
pub fn posterior_predictive<F: Family>(
    model: &HmmModel<F>,
    draws: &[Vec<f64>],
    seed: u64,
) -> Result<PredictiveCheck, ModelError>
where
    F::Obs: ScalarObservation,
{
    if draws.is_empty() {
        return Err(ModelError::InvalidParameter {
            name: "draws".into(),
            value: 0.0,
            reason: "a posterior predictive check needs at least one posterior draw".into(),
        });
    }
    let data = model.data();
    let observed_values: Vec<Vec<f64>> = data
        .iter()
        .map(|s| s.iter().map(ScalarObservation::scalar).collect())
        .collect();
    let lengths: Vec<usize> = data.lengths().collect();
    let per_draw: Vec<([f64; 7], [f64; 7], Vec<f64>)> = draws
        .par_iter()
        .enumerate()
        .map(|(i, point)| {
            model
                .at_point(point, |chain, emission| {
                    let decode =
                        |sequences: &Sequences<F::Obs>| -> Result<Vec<Vec<usize>>, ModelError> {
                            sequences
                                .iter()
                                .enumerate()
                                .map(|(s, seq)| {
                                    hmm::viterbi(chain, emission, seq)
                                        .map(|p| p.states)
                                        .map_err(|e| e.in_sequence(s).into())
                                })
                                .collect()
                        };
                    let observed_states = decode(data)?;
                    let mut stream = SplitMix64::seed_from_u64(
                        seed ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
                    );
                    let mut replicate = Vec::with_capacity(lengths.len());
                    for &len in &lengths {
                        let one = simulate_hmm(chain, emission, 1, len, stream.next_u64())?;
                        replicate.push(one.observations.flat().to_vec());
                    }
                    let replicate = Sequences::new(replicate)?;
                    let replicated_states = decode(&replicate)?;
                    let replicated_values: Vec<Vec<f64>> = replicate
                        .iter()
                        .map(|s| s.iter().map(ScalarObservation::scalar).collect())
                        .collect();
                    Ok((
                        statistics(&observed_values, &observed_states),
                        statistics(&replicated_values, &replicated_states),
                        replicated_values.concat(),
                    ))
                })
                .and_then(|r| r)
        })
        .collect::<Result<_, ModelError>>()?;
    let n = per_draw.len() as f64;
    let statistics = STATISTIC_NAMES
        .iter()
        .enumerate()
        .map(|(j, name)| {
            let observed: Vec<f64> = per_draw.iter().map(|d| d.0[j]).collect();
            let replicated: Vec<f64> = per_draw.iter().map(|d| d.1[j]).collect();
            let exceed = observed
                .iter()
                .zip(&replicated)
                .filter(|(o, r)| r >= o)
                .count();
            StatisticCheck {
                name: name.to_string(),
                observed,
                replicated,
                p_value: exceed as f64 / n,
            }
        })
        .collect();
    Ok(PredictiveCheck {
        statistics,
        observed_values: observed_values.concat(),
        replicated_values: per_draw.into_iter().map(|d| d.2).collect(),
    })
}
