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
//!
//! Each sequence is decoded and replicated with its own chain, so covariate-driven fits are
//! checked with their per-step transitions and data with missing observations keep their
//! missing pattern in the replicates (see [`posterior_predictive`]). None of these statistics
//! flags a *homogeneous* fit to data whose switching is driven by a covariate: the fit
//! reproduces the average switching rate, and the statistics do not look at when the
//! switches happen (tried with 8 × 60 observations, slopes ±6 on the logit of leaving, a
//! covariate of period 10 or 60: every p-value within [0.18, 0.93]).

use rand::{RngCore, SeedableRng};
use rand_xoshiro::SplitMix64;
use rayon::prelude::*;
use serde::Serialize;

use rand_xoshiro::Xoshiro256PlusPlus;

use crate::hmm::{self, SequenceChain};
use crate::model::ModelError;
use crate::simulate::SampleEmission;
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
/// sequence) with hidden states `states` (same shape), every observation observed: see
/// [`statistics_observed`].
///
/// # Panics
/// When `states` and `values` differ in shape (a caller's bug).
pub fn statistics(values: &[Vec<f64>], states: &[Vec<usize>]) -> [f64; 7] {
    statistics_observed(values, states, None)
}

/// The test statistics ([`STATISTIC_NAMES`]) of observations `values` (one vector per
/// sequence) with hidden states `states` (same shape), skipping the steps that `missing`
/// flags (flat order of the sequences concatenated, `true` = missing; `None`: none missing).
///
/// The statistics of the observations read observed steps only: mean, sd and maximum over
/// them; autocorrelation pools the pairs of consecutive steps that are *both* observed of
/// every sequence around the observed mean (0 when all observed values are equal); the sd
/// within states is the root mean square deviation of each observed value from the mean of
/// its decoded state's observed values. The state statistics count every step: the states
/// at missing steps are decoded like the others (the emission is marginalised there, the
/// chain is not), so the mean run length is the number of *steps* over the number of runs of
/// one state and the switches are those of the whole decoded path. The placeholders at
/// missing steps are never read, so with the same missing pattern on both sides observed
/// and replicated data are compared like for like.
///
/// # Panics
/// When `states`, `values` and `missing` differ in shape (a caller's bug).
pub fn statistics_observed(
    values: &[Vec<f64>],
    states: &[Vec<usize>],
    missing: Option<&[bool]>,
) -> [f64; 7] {
    assert!(
        values.len() == states.len() && values.iter().zip(states).all(|(v, s)| v.len() == s.len()),
        "ppc::statistics: values and states must have the same shape"
    );
    let n_steps: usize = values.iter().map(Vec::len).sum();
    let none_missing = vec![false; if missing.is_some() { 0 } else { n_steps }];
    let missing = missing.unwrap_or(&none_missing);
    assert_eq!(
        missing.len(),
        n_steps,
        "ppc::statistics: one missing flag per step"
    );
    // (value, state) of the observed steps, in flat order.
    let observed = || {
        values
            .iter()
            .flatten()
            .zip(states.iter().flatten())
            .zip(missing)
            .filter(|(_, m)| !**m)
            .map(|((y, z), _)| (*y, *z))
    };
    let nf = observed().count().max(1) as f64;
    let mean = observed().map(|(y, _)| y).sum::<f64>() / nf;
    let sum_sq: f64 = observed().map(|(y, _)| (y - mean).powi(2)).sum();
    let sd = (sum_sq / nf).sqrt();
    let max = observed().map(|(y, _)| y).fold(f64::NEG_INFINITY, f64::max);
    // One running sum over the pairs of every sequence, in order.
    let lagged: f64 = values
        .iter()
        .scan(0, |offset, v| {
            let flags = &missing[*offset..*offset + v.len()];
            *offset += v.len();
            Some((v, flags))
        })
        .flat_map(|(v, flags)| {
            v.windows(2)
                .zip(flags.windows(2))
                .filter(|(_, m)| !m[0] && !m[1])
                .map(|(w, _)| (w[0] - mean) * (w[1] - mean))
        })
        .sum();
    let autocorrelation = if sum_sq > 0.0 { lagged / sum_sq } else { 0.0 };
    let switches: usize = states
        .iter()
        .map(|s| s.windows(2).filter(|w| w[0] != w[1]).count())
        .sum();
    let runs = switches + states.iter().filter(|s| !s.is_empty()).count();
    let mean_run_length = n_steps as f64 / runs.max(1) as f64;
    let k = states.iter().flatten().copied().max().map_or(0, |m| m + 1);
    let mut state_sum = vec![0.0; k];
    let mut state_count = vec![0usize; k];
    for (y, z) in observed() {
        state_sum[z] += y;
        state_count[z] += 1;
    }
    let state_mean: Vec<f64> = state_sum
        .iter()
        .zip(&state_count)
        .map(|(s, &c)| s / c.max(1) as f64)
        .collect();
    let within: f64 = observed().map(|(y, z)| (y - state_mean[z]).powi(2)).sum();
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

/// Draws one replicated dataset at each of `draws` (constrained values, layout order),
/// decodes observed and replicated data at that draw, and compares their
/// [`statistics_observed`].
///
/// Each sequence is decoded (Viterbi) and simulated with its own chain
/// ([`HmmModel::at_sequence`]): its per-step transitions in a covariate model, its own
/// covariates in the replicate. A replicate has the data's number and lengths of sequences
/// and keeps the data's missing pattern: values are drawn at every step (an autoregressive
/// family reads its lagged value), then the same steps as in the data are missing (holding
/// the family's [`Family::missing_marker`], as the data does), decoded
/// with the emission marginalised there, and skipped by every statistic of the observations
/// on both sides ([`statistics_observed`]: the decoded states at missing steps still count
/// for the run lengths and switches).
///
/// Replicate `i` is simulated from a stream seeded by `seed` and `i` alone (one sub-seed per
/// sequence, in order), and draws are processed in parallel in a fixed order, so the result
/// is bit-identical for a seed whatever the number of threads.
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
    let missing = data.missing();
    let marker = model.family().missing_marker();
    let observed_values: Vec<Vec<f64>> = data.iter().map(scalars).collect();
    let per_draw: Vec<([f64; 7], [f64; 7], Vec<f64>)> = draws
        .par_iter()
        .enumerate()
        .map(|(i, point)| {
            let mut stream =
                SplitMix64::seed_from_u64(seed ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let mut observed_states = Vec::with_capacity(data.len());
            let mut replicated_states = Vec::with_capacity(data.len());
            let mut replicated_values = Vec::with_capacity(data.len());
            for s in 0..data.len() {
                let sub_seed = stream.next_u64();
                let (observed, replicated, values) =
                    model.at_sequence(point, s, |chain, view, seq| {
                        let decode = |seq: &[F::Obs]| {
                            hmm::viterbi(chain, view, seq)
                                .map(|p| p.states)
                                .map_err(|e| ModelError::from(e.in_sequence(s)))
                        };
                        let observed = decode(seq)?;
                        let mut replicate = simulate_one(chain, view.inner(), seq.len(), sub_seed)?;
                        mark_missing(&mut replicate, data.missing_of(s), &marker);
                        Ok::<_, ModelError>((observed, decode(&replicate)?, scalars(&replicate)))
                    })??;
                observed_states.push(observed);
                replicated_states.push(replicated);
                replicated_values.push(values);
            }
            Ok((
                statistics_observed(&observed_values, &observed_states, missing),
                statistics_observed(&replicated_values, &replicated_states, missing),
                observed_only(&replicated_values, missing),
            ))
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
        observed_values: observed_only(&observed_values, missing),
        replicated_values: per_draw.into_iter().map(|d| d.2).collect(),
    })
}

/// Stores the family's missing marker (if it has one) at the replicate's missing steps, as
/// [`HmmModel`] stores it in the data: an autoregressive family then decodes the replicate as
/// it decodes the observed data (the step after a gap conditioned on the last observed
/// value, not on the drawn one).
fn mark_missing<O: Clone>(replicate: &mut [O], missing: Option<&[bool]>, marker: &Option<O>) {
    if let (Some(missing), Some(marker)) = (missing, marker) {
        crate::hmm::data::fill_missing(replicate, missing, marker);
    }
}

/// The observations of one sequence as numbers ([`ScalarObservation`]).
fn scalars<O: ScalarObservation>(seq: &[O]) -> Vec<f64> {
    seq.iter().map(ScalarObservation::scalar).collect()
}

/// `values` concatenated, without the steps that `missing` (flat order) flags.
fn observed_only(values: &[Vec<f64>], missing: Option<&[bool]>) -> Vec<f64> {
    let flat = values.concat();
    match missing {
        None => flat,
        Some(m) => flat
            .into_iter()
            .zip(m)
            .filter(|(_, &m)| !m)
            .map(|(y, _)| y)
            .collect(),
    }
}

/// One sequence of `len` observations from `chain` and `emission`, drawn as
/// [`simulate_hmm`](crate::simulate::simulate_hmm) draws each of its sequences (hidden path
/// first, then the observations in time order, one generator seeded by `seed`): for a
/// homogeneous chain the replicate is the one-sequence simulation of that seed.
fn simulate_one<E: SampleEmission + ?Sized>(
    chain: SequenceChain<'_>,
    emission: &E,
    len: usize,
    seed: u64,
) -> Result<Vec<E::Obs>, ModelError> {
    emission.check_params()?;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let path = hmm::simulate_states(chain, len, &mut rng);
    Ok(path.iter().fold(Vec::with_capacity(len), |mut seq, &z| {
        let y = emission.sample(z, &seq, &mut rng);
        seq.push(y);
        seq
    }))
}
