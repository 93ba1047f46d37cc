//! Posterior predictive checks on the real-data features (issue 14 × issue 11): covariate-
//! driven transitions and missing observations. Each sequence is decoded and simulated with
//! its own chain, replicates keep the data's missing pattern, and every statistic of the
//! observations skips missing steps. Checked here: the statistics by hand on data with a
//! missing step; complete homogeneous data give bit-for-bit the results of the function as
//! it was before (a copy of its per-draw computation is kept below); a covariate model with
//! 10 % missing data gives no extreme p-value for the true model, bit-identically on one
//! thread and on many.

use crate::ppc_common;

use ppc_common::{describe, posterior_draws};
use rand::{RngCore, SeedableRng};
use rand_xoshiro::SplitMix64;
use trellis_models::hmm::{self, Sequences};
use trellis_models::ppc::{
    posterior_predictive, statistics, statistics_observed, ScalarObservation, STATISTIC_NAMES,
};
use trellis_models::simulate::simulate_hmm;
use trellis_models::zoo::{Covariates, Family, GaussianFamily, HmmModel};
use trellis_models::BayesianModel;

#[test]
fn statistics_skip_missing_steps_by_hand() {
    // Step 1 of the first sequence is missing: its placeholder 100 is never read.
    let values = vec![vec![1.0, 100.0, 3.0, 5.0], vec![0.0, 1.0]];
    let states = vec![vec![0, 0, 1, 1], vec![0, 1]];
    let missing = [false, true, false, false, false, false];
    let got = statistics_observed(&values, &states, Some(&missing));
    // Observed 1, 3, 5, 0, 1: mean 2, deviations −1, 1, 3, −2, −1, Σ d² = 16.
    let sd = (16.0f64 / 5.0).sqrt();
    // Pairs with both steps observed: (3, 5) → 1·3, (0, 1) → (−2)(−1): 5 / 16.
    let autocorrelation = 5.0 / 16.0;
    // States count at every step, the missing one included: 2 switches, 2 + 2 runs, 6 steps.
    let (run_length, switches) = (1.5, 2.0);
    // State 0 observed: 1, 0 (mean 0.5); state 1: 3, 5, 1 (mean 3).
    let within = ((0.25 + 0.25 + 0.0 + 4.0 + 4.0) / 5.0f64).sqrt();
    let expected = [2.0, sd, 5.0, autocorrelation, run_length, switches, within];
    for (j, (g, e)) in got.iter().zip(expected).enumerate() {
        assert!((g - e).abs() < 1e-14, "{}: {g} vs {e}", STATISTIC_NAMES[j]);
    }
    // Nothing flagged is nothing missing, bit for bit.
    let none = [false; 6];
    let all = statistics(&values, &states);
    assert_eq!(statistics_observed(&values, &states, Some(&none)), all);
    assert_eq!(statistics_observed(&values, &states, None), all);
    assert_eq!(all[2], 100.0, "without the flag the placeholder is read");
}

/// The per-draw computation of `posterior_predictive` before it used each sequence's own
/// chain (`HmmModel::at_point`, one homogeneous chain, complete data): observed statistics,
/// replicated statistics, replicated values.
fn per_draw_before<F: Family>(
    model: &HmmModel<F>,
    point: &[f64],
    i: usize,
    seed: u64,
) -> ([f64; 7], [f64; 7], Vec<f64>)
where
    F::Obs: ScalarObservation,
{
    let data = model.data();
    let scalars = |s: &Sequences<F::Obs>| -> Vec<Vec<f64>> {
        s.iter()
            .map(|s| s.iter().map(ScalarObservation::scalar).collect())
            .collect()
    };
    model
        .at_point(point, |chain, emission| {
            let decode = |sequences: &Sequences<F::Obs>| -> Vec<Vec<usize>> {
                sequences
                    .iter()
                    .map(|seq| hmm::viterbi(chain, emission, seq).unwrap().states)
                    .collect()
            };
            let mut stream =
                SplitMix64::seed_from_u64(seed ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let replicate: Vec<Vec<F::Obs>> = data
                .lengths()
                .map(|len| {
                    let one = simulate_hmm(chain, emission, 1, len, stream.next_u64()).unwrap();
                    one.observations.flat().to_vec()
                })
                .collect();
            let replicate = Sequences::new(replicate).unwrap();
            let replicated = scalars(&replicate);
            (
                statistics(&scalars(data), &decode(data)),
                statistics(&replicated, &decode(&replicate)),
                replicated.concat(),
            )
        })
        .unwrap()
}

/// Points near the simulating truth (means, sds and transitions moved), in
/// the layout of a 2-state Gaussian HMM.
fn nearby_points() -> Vec<Vec<f64>> {
    (0..6)
        .map(|i| {
            let d = 0.1 * i as f64;
            let stay = 0.8 + 0.02 * i as f64;
            vec![
                -1.5 + d,
                1.5 - d,
                0.7,
                0.8 + d,
                0.4,
                0.6,
                stay,
                1.0 - stay,
                0.1 + d / 2.0,
                0.9 - d / 2.0,
            ]
        })
        .collect()
}

#[test]
fn complete_homogeneous_data_are_checked_as_before() {
    let placeholder = Sequences::single(vec![0.0]).unwrap();
    let truth = [-1.5, 1.5, 0.7, 0.8, 0.5, 0.5, 0.85, 0.15, 0.15, 0.85];
    let data = HmmModel::new(GaussianFamily::new(2), placeholder)
        .unwrap()
        .simulate(&truth, 5, 40, 21)
        .unwrap()
        .observations;
    let model = HmmModel::new(GaussianFamily::new(2), data).unwrap();
    let points = nearby_points();
    let check = posterior_predictive(&model, &points, 77).unwrap();
    for (i, point) in points.iter().enumerate() {
        let (observed, replicated, values) = per_draw_before(&model, point, i, 77);
        for (j, s) in check.statistics.iter().enumerate() {
            assert_eq!(s.observed[i].to_bits(), observed[j].to_bits(), "{}", s.name);
            assert_eq!(
                s.replicated[i].to_bits(),
                replicated[j].to_bits(),
                "{}",
                s.name
            );
        }
        assert_eq!(check.replicated_values[i], values);
    }
}

/// `sequences` × `length` covariate values: one smooth signal, phase-shifted per sequence.
fn signal(sequences: usize, length: usize, period: f64) -> Vec<f64> {
    (0..sequences * length)
        .map(|n| {
            let (s, t) = ((n / length) as f64, (n % length) as f64);
            (std::f64::consts::TAU * t / period + 1.1 * s).sin()
        })
        .collect()
}

/// A 2-state Gaussian HMM whose moves are driven by one covariate (`slope` on the logit of
/// leaving each state, opposite signs), in the layout of `model`.
fn covariate_truth(model: &HmmModel<GaussianFamily>, slope: f64) -> Vec<f64> {
    let names = model.layout().element_names();
    names
        .iter()
        .map(|name| match name.as_str() {
            "mu[0]" => -2.0,
            "mu[1]" => 2.0,
            "sigma[0]" | "sigma[1]" => 0.8,
            "p_initial_state[0]" | "p_initial_state[1]" => 0.5,
            "transition_coef[0,1,0]" | "transition_coef[1,0,0]" => -2.0,
            "transition_coef[0,1,1]" => slope,
            "transition_coef[1,0,1]" => -slope,
            other if other.starts_with("transition_coef") => 0.0,
            other => panic!("unexpected parameter {other}"),
        })
        .collect()
}

/// Data of `sequences` × `length` simulated from the covariate model of [`covariate_truth`]
/// with `missing_rate` of the observations missing, and their covariates.
fn covariate_data(
    sequences: usize,
    length: usize,
    period: f64,
    slope: f64,
    missing_rate: f64,
    seed: u64,
) -> (Sequences<f64>, Covariates) {
    let n = sequences * length;
    let covariates =
        Covariates::new(vec!["x".into()], signal(sequences, length, period), n).unwrap();
    let placeholder = Sequences::new(vec![vec![0.0; length]; sequences]).unwrap();
    let model = HmmModel::new(GaussianFamily::new(2), placeholder)
        .unwrap()
        .with_covariates(covariates.clone())
        .unwrap();
    let truth = covariate_truth(&model, slope);
    let simulated = model
        .simulate_like_data(&truth, missing_rate, seed)
        .unwrap();
    (simulated.observations, covariates)
}

#[test]
fn a_covariate_model_with_missing_data_gives_no_extreme_p_value() {
    let (data, covariates) = covariate_data(8, 60, 40.0, 2.5, 0.1, 12);
    let rate = data.n_missing() as f64 / data.total_len() as f64;
    assert!((0.05..0.15).contains(&rate), "missing rate {rate}");
    let model = HmmModel::new(GaussianFamily::new(2), data)
        .unwrap()
        .with_covariates(covariates)
        .unwrap();
    let draws = posterior_draws(&model, 3, 200, 100);
    let check = posterior_predictive(&model, &draws, 9).unwrap();
    eprintln!("{}", describe(&check));
    assert!(check.extreme(0.01).is_empty(), "{}", describe(&check));
    // The figure's values skip the missing steps on both sides.
    let observed = model.data().total_len() - model.data().n_missing();
    assert_eq!(check.observed_values.len(), observed);
    assert!(check.replicated_values.iter().all(|r| r.len() == observed));
    // Bit-identical for a seed, on one thread as on many.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let one_thread = pool.install(|| posterior_predictive(&model, &draws, 9).unwrap());
    assert_eq!(one_thread, check);
}
