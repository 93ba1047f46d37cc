//! Posterior predictive checks: the statistics on hand-computed examples, and on real fits —
//! data simulated from the fitted model gives no extreme p-value, while a Poisson fit to
//! overdispersed (negative-binomial) counts and a 2-state fit to 3-state data are flagged
//! (some p-value below 0.01: observed autocorrelation, sd and maximum above nearly every
//! replicate's).

use crate::ppc_common;

use ppc_common::{describe, posterior_draws};
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Gamma, Poisson};
use rand_xoshiro::Xoshiro256PlusPlus;
use trellis_models::hmm::Sequences;
use trellis_models::ppc::{posterior_predictive, statistics, ScalarObservation, STATISTIC_NAMES};
use trellis_models::zoo::{Family, GaussianFamily, HmmModel, PoissonFamily};

#[test]
fn statistics_by_hand() {
    let values = vec![vec![1.0, 2.0, 2.0, 5.0], vec![0.0, 2.0]];
    let states = vec![vec![0, 0, 1, 1], vec![0, 0]];
    let got = statistics(&values, &states);
    // mean 2, deviations (-1, 0, 0, 3 | -2, 0), Σ d² = 14, sd = √(14/6).
    let mean = 2.0;
    let sd = (14.0f64 / 6.0).sqrt();
    // lag-1 pairs: (-1·0) + (0·0) + (0·3) + (-2·0) = 0.
    let autocorrelation = 0.0;
    // one switch; runs = 1 + 2 sequences = 3; 6 / 3 = 2.
    // state 0: 1, 2, 0, 2 (mean 1.25); state 1: 2, 5 (mean 3.5).
    let within = ((0.0625 + 0.5625 + 1.5625 + 0.5625 + 2.25 + 2.25) / 6.0f64).sqrt();
    let expected = [mean, sd, 5.0, autocorrelation, 2.0, 1.0, within];
    for (j, (g, e)) in got.iter().zip(expected).enumerate() {
        assert!((g - e).abs() < 1e-14, "{}: {g} vs {e}", STATISTIC_NAMES[j]);
    }
    // A positively autocorrelated sequence.
    let smooth = vec![vec![0.0, 0.0, 0.0, 1.0, 1.0, 1.0]];
    let r = statistics(&smooth, &[vec![0; 6]])[3];
    // mean 0.5, deviations ±0.5, pairs: 4 × 0.25 − 0.25 = 0.75, Σ d² = 1.5.
    assert!((r - 0.5).abs() < 1e-14, "{r}");
}

fn gaussian_truth(k: usize) -> Vec<f64> {
    let mu: Vec<f64> = (0..k).map(|i| 3.0 * i as f64 - 3.0).collect();
    let sigma = vec![0.6; k];
    let init = vec![1.0 / k as f64; k];
    let stay = 0.85;
    let trans: Vec<f64> = (0..k * k)
        .map(|e| {
            if e / k == e % k {
                stay
            } else {
                (1.0 - stay) / (k - 1) as f64
            }
        })
        .collect();
    [mu, sigma, init, trans].concat()
}

fn simulated_gaussian(k: usize, seed: u64) -> Sequences<f64> {
    let placeholder = Sequences::new(vec![vec![0.0]]).unwrap();
    let model = HmmModel::new(GaussianFamily::new(k), placeholder).unwrap();
    model
        .simulate(&gaussian_truth(k), 12, 50, seed)
        .unwrap()
        .observations
}

#[test]
fn data_from_the_model_gives_no_extreme_p_value() {
    let model = HmmModel::new(GaussianFamily::new(2), simulated_gaussian(2, 31)).unwrap();
    let draws = posterior_draws(&model, 4, 300, 200);
    let check = posterior_predictive(&model, &draws, 9).unwrap();
    assert_eq!(check.replicated_values.len(), draws.len());
    assert_eq!(check.replicated_values[0].len(), model.data().total_len());
    eprintln!("{}", describe(&check));
    assert!(check.extreme(0.01).is_empty(), "{}", describe(&check));
    // Bit-identical for a seed.
    assert_eq!(posterior_predictive(&model, &draws, 9).unwrap(), check);
}

#[test]
fn a_two_state_fit_to_three_state_data_is_flagged() {
    let model = HmmModel::new(GaussianFamily::new(2), simulated_gaussian(3, 32)).unwrap();
    assert_flagged(&model, 5, 10);
}

/// Asserts that the posterior predictive check of `model` (posterior draws sampled with
/// `draw_seed`, replicates with `ppc_seed`) flags a statistic: the observed one above (nearly)
/// every replicate's, p < 0.01.
fn assert_flagged<F: Family>(model: &HmmModel<F>, draw_seed: u64, ppc_seed: u64)
where
    F::Obs: ScalarObservation,
{
    let draws = posterior_draws(model, draw_seed, 300, 200);
    let check = posterior_predictive(model, &draws, ppc_seed).unwrap();
    eprintln!("{}", describe(&check));
    assert!(
        check.statistics.iter().any(|s| s.p_value < 0.01),
        "{}",
        describe(&check)
    );
}

/// Counts from a 2-state HMM with negative-binomial emissions (gamma–Poisson mixtures, shape
/// 1.5: variance mean + mean²/1.5, far above the Poisson's).
fn overdispersed_counts(seed: u64) -> Sequences<u32> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let means = [3.0, 15.0];
    let shape = 1.5;
    let sequences: Vec<Vec<u32>> = (0..12)
        .map(|_| {
            let mut z = usize::from(rng.random::<bool>());
            (0..50)
                .map(|_| {
                    if rng.random::<f64>() < 0.1 {
                        z = 1 - z;
                    }
                    let rate: f64 = Gamma::new(shape, means[z] / shape)
                        .unwrap()
                        .sample(&mut rng);
                    Poisson::new(rate.max(1e-9)).unwrap().sample(&mut rng) as u32
                })
                .collect()
        })
        .collect();
    Sequences::new(sequences).unwrap()
}

#[test]
fn a_poisson_fit_to_overdispersed_counts_is_flagged() {
    let model = HmmModel::new(PoissonFamily::new(2), overdispersed_counts(33)).unwrap();
    assert_flagged(&model, 6, 11);
}
