//! Filtering and smoothing (the scaled recursion's forward pass and the forward–backward
//! adjoint's backward pass) against the log-space filter and smoother kept as the test oracle
//! (`hmm_common::oracle`), on ordinary data and on inputs that send the scaled recursion to
//! its log-space fallback; and the posterior log-likelihood against the batch value.

use crate::hmm_common;

use hmm_common::oracle;
use hmm_common::*;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use trellis_models::hmm::{self, HmmParams, Sequences};

/// Checks `filter`, `posterior` and `smooth` against the oracle to `tol` (absolute, on
/// probabilities) and the posterior log-likelihood to `tol` relative.
fn check_against_oracle(params: &HmmParams, le: &[f64], tol: f64) {
    let k = params.n_states();
    let n = le.len() / k;
    let emission = Table { k, le: le.to_vec() };
    let seq: Vec<usize> = (0..n).collect();
    let reference = oracle::forward_filter(params, le).unwrap();
    let smoothed_reference = oracle::backward_smooth(params, &reference);
    let filtered = hmm::filter(params, &emission, &seq).unwrap();
    let post = hmm::posterior(params, &emission, &seq).unwrap();
    assert_eq!(filtered, post.filtered);
    assert_eq!(hmm::smooth(params, &emission, &seq).unwrap(), post.smoothed);
    for (i, (f, g)) in filtered.iter().zip(post.smoothed.iter()).enumerate() {
        let (fr, gr) = (reference.log_alpha[i].exp(), smoothed_reference[i].exp());
        assert!((f - fr).abs() <= tol, "filtered[{i}]: {f} vs {fr}");
        assert!((g - gr).abs() <= tol, "smoothed[{i}]: {g} vs {gr}");
    }
    let ll = reference.log_likelihood;
    assert!(
        (post.log_likelihood - ll).abs() <= tol * ll.abs().max(1.0),
        "{} vs {ll}",
        post.log_likelihood
    );
    // The posterior's log-likelihood is the one the batch API gives, to the bit.
    let batch =
        hmm::sequence_log_likelihoods(params, &emission, &Sequences::new(vec![seq]).unwrap())
            .unwrap();
    assert_eq!(batch[0], post.log_likelihood);
}

fn random_params(rng: &mut impl Rng, k: usize) -> HmmParams {
    let row = |rng: &mut dyn rand::RngCore| {
        let p: Vec<f64> = (0..k).map(|_| rng.random::<f64>() + 0.05).collect();
        let s: f64 = p.iter().sum();
        p.into_iter().map(|x| x / s).collect::<Vec<_>>()
    };
    let init = row(rng);
    let trans: Vec<f64> = (0..k).flat_map(|_| row(rng)).collect();
    HmmParams::from_probabilities(&init, &trans).unwrap()
}

#[test]
fn filtering_and_smoothing_match_the_log_space_oracle() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
    for k in [1, 2, 3, 4, 6] {
        for n in [1, 2, 17, 200] {
            let params = random_params(&mut rng, k);
            let le: Vec<f64> = (0..n * k).map(|_| -30.0 * rng.random::<f64>()).collect();
            check_against_oracle(&params, &le, 1e-12);
        }
    }
}

#[test]
fn peaked_emissions_take_the_log_space_fallback_and_still_match() {
    // State 1 is dropped at t = 0 (density e^-2050 relative) and then needed: the lost-mass
    // bound sends the sequence to log space (filtering by the log-space recursion, smoothing
    // by reverse mode through the generic recursion).
    let params = HmmParams::from_probabilities(&[0.5, 0.5], &[0.5, 0.5, 0.5, 0.5]).unwrap();
    let le = [0.0, -2050.0, -3200.0, 0.0, -1.0, -2.0];
    check_against_oracle(&params, &le, 1e-12);
    // A transition probability below 1e-150: probability space is not used at all.
    let tiny = 1e-200;
    let params = HmmParams::from_probabilities(&[0.3, 0.7], &[1.0 - tiny, tiny, 0.4, 0.6]).unwrap();
    let le = [-1.0, -2.0, -0.5, -3.0, -2.0, -0.1, -4.0, -1.0];
    check_against_oracle(&params, &le, 1e-12);
}

#[test]
fn zero_probabilities_match_the_oracle() {
    // A left-to-right chain with exact zeros in π and P.
    let params = HmmParams::from_probabilities(
        &[1.0, 0.0, 0.0],
        &[0.8, 0.2, 0.0, 0.0, 0.7, 0.3, 0.0, 0.0, 1.0],
    )
    .unwrap();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
    let le: Vec<f64> = (0..30).map(|_| -5.0 * rng.random::<f64>()).collect();
    check_against_oracle(&params, &le, 1e-12);
}
