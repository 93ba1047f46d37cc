//! Bad input gives a typed error naming what and where — never a panic, never a silent NaN.

use trellis_ad::ScalarFn;
use trellis_models::hmm::{self, HmmError, HmmParams, Sequences};
use trellis_models::reference::{seed_reference_model, seed_true_constrained};
use trellis_models::simulate::simulate_hmm;
use trellis_models::zoo::*;
use trellis_models::{BayesianModel, Emission, ModelDensity, ModelError};
use trellis_samplers::{LogDensity, LogDensityError};

fn msg<T: std::fmt::Debug, E: std::fmt::Display>(r: Result<T, E>) -> String {
    r.unwrap_err().to_string()
}

#[test]
fn non_finite_and_empty_observations() {
    assert_eq!(
        msg(Sequences::new(vec![vec![0.1, 0.2], vec![0.3, f64::NAN]])),
        "observation 1 of sequence 1 is NaN, not a finite number"
    );
    assert_eq!(
        msg(Sequences::new(vec![vec![f64::INFINITY]])),
        "observation 0 of sequence 0 is inf, not a finite number"
    );
    assert_eq!(
        msg(Sequences::new(vec![vec![0.1], vec![]])),
        "sequence 1 is empty: every sequence needs at least one observation"
    );
    assert_eq!(
        msg(Sequences::<f64>::new(Vec::<Vec<f64>>::new())),
        "no sequences: a data set needs at least one sequence"
    );
    assert_eq!(
        msg(Sequences::new(vec![vec![vec![1.0, f64::INFINITY]]])),
        "observation 0 of sequence 0 is inf, not a finite number"
    );
    // In a vector observation NaN is a missing coordinate (marginalised), not an error.
    assert!(Sequences::new(vec![vec![vec![1.0, f64::NAN]]]).is_ok());
}

#[test]
fn poisson_counts_must_be_non_negative_integers() {
    assert_eq!(
        msg(counts_from_f64(&[vec![1.0, 2.0], vec![0.0, -1.0]])),
        "observation 1 of sequence 1 (-1) is invalid: a count must be a non-negative integer"
    );
    assert_eq!(
        msg(counts_from_f64(&[vec![2.5]])),
        "observation 0 of sequence 0 (2.5) is invalid: a count must be a non-negative integer"
    );
    assert_eq!(
        msg(counts_from_f64(&[vec![3.0, f64::NAN]])),
        "observation 1 of sequence 0 is NaN, not a finite number"
    );
    assert_eq!(
        msg(counts_from_f64(&[vec![1e10]])),
        "observation 0 of sequence 0 (10000000000) is invalid: a count must fit in a u32"
    );
    assert_eq!(
        msg(counts_from_f64(&[vec![1.0], vec![]])),
        "sequence 1 is empty: every sequence needs at least one observation"
    );
}

#[test]
fn categories_out_of_range() {
    let data = Sequences::new(vec![vec![0usize, 1], vec![2, 3]]).unwrap();
    assert_eq!(
        msg(HmmModel::new(CategoricalFamily::new(2, 3), data.clone())),
        "observation 1 of sequence 1 (3) is invalid: category out of range: there are 3 symbols (0..3)"
    );
    // Used directly, the emission writes NaN and the forward algorithm names the spot.
    let log_p = [
        0.5f64.ln(),
        0.25f64.ln(),
        0.25f64.ln(),
        0.1f64.ln(),
        0.1f64.ln(),
        0.8f64.ln(),
    ];
    let e = Categorical::new(&log_p, 3).unwrap();
    let li = [0.5f64.ln(); 2];
    let lt = [0.5f64.ln(); 4];
    assert_eq!(
        msg(hmm::batch_log_likelihood(&li, &lt, &e, &data)),
        "emission log-density of observation 1 of sequence 1 in state 0 is NaN: it must not be NaN or +inf"
    );
}

#[test]
fn family_specific_observation_checks() {
    let rows = Sequences::new(vec![vec![vec![1.0, 2.0], vec![1.0, 2.0, 3.0]]]).unwrap();
    assert_eq!(
        msg(HmmModel::new(DiagonalMvnFamily::new(2, 2), rows)),
        "observation 1 of sequence 0 ([1.0, 2.0, 3.0]) is invalid: has 3 components, expected 2"
    );
    let durations = Sequences::new(vec![vec![0.3, 1.0, -0.5]]).unwrap();
    assert_eq!(
        msg(HmmModel::new(ExponentialFamily::new(2), durations)),
        "observation 2 of sequence 0 (-0.5) is invalid: an exponential observation must be non-negative"
    );
    let data = Sequences::new(vec![vec![0.3]]).unwrap();
    assert_eq!(
        msg(HmmModel::new(GaussianFamily::new(0), data)),
        "a hidden Markov model needs at least one hidden state"
    );
}

#[test]
fn parameter_vectors_of_the_wrong_length() {
    let model = seed_reference_model().unwrap();
    assert_eq!(
        msg(model.log_density(&[0.0; 5])),
        "the unconstrained parameter vector has length 5, expected 10"
    );
    assert_eq!(
        msg(model.point_logps(&[0.0; 11])),
        "the unconstrained parameter vector has length 11, expected 10"
    );
    assert_eq!(
        msg(model.log_density_and_gradient(&[0.0; 9])),
        "unconstrained point has length 9, expected 10"
    );
    assert_eq!(
        msg(model.simulate(&[1.0, 0.1], 1, 5, 0)),
        "the constrained parameter vector has length 2, expected 14"
    );
    let density = ModelDensity::new(&model);
    let mut grad = [0.0; 3];
    assert_eq!(
        density.logp_and_grad(&[0.0; 3], &mut grad),
        Err(LogDensityError::Fatal(
            "unconstrained point has length 3, expected 10".into()
        ))
    );
    // The ScalarFn view cannot return an error: NaN, documented.
    assert!(density.eval(&[0.0f64; 3]).is_nan());
    // Emission views given directly.
    assert_eq!(
        msg(Gaussian::new(&[0.0, 1.0], &[1.0])),
        "emission parameter `sds` has length 1, expected 2"
    );
    assert_eq!(
        msg(StudentT::new(&[0.0, 1.0], &[1.0, 1.0], &[3.0, 3.0, 3.0])),
        "emission parameter `nus (1 shared or one per state)` has length 3, expected 2"
    );
    assert_eq!(
        msg(DiagonalMvn::new(&[0.0; 5], &[1.0; 5], 2)),
        "emission parameter `means (K × D)` has length 5, expected 6"
    );
}

#[test]
fn invalid_parameters_given_directly() {
    assert_eq!(
        msg(Gaussian::new(&[0.0, 1.0], &[1.0, -1.0])),
        "emission parameter sds[1] = -1 is invalid: must be positive and finite"
    );
    assert_eq!(
        msg(Gaussian::new(&[f64::NAN], &[1.0])),
        "emission parameter means[0] = NaN is invalid: must be finite"
    );
    assert_eq!(
        msg(SharedSignalGaussian::new(1.0, 0.0, 3)),
        "emission parameter emission_noise[0] = 0 is invalid: must be positive and finite"
    );
    assert_eq!(
        msg(Poisson::new(&[1.0, -2.0])),
        "emission parameter rates[1] = -2 is invalid: must be non-negative and finite"
    );
    assert_eq!(
        msg(Ar1Gaussian::new(&[0.0], &[1.0], &[1.0])),
        "emission parameter phis[0] = 1 is invalid: must lie in (-1, 1) for a stationary process"
    );
    assert_eq!(
        msg(Exponential::new(&[0.0])),
        "emission parameter rates[0] = 0 is invalid: must be positive and finite"
    );
    let log_p = [0.5f64.ln(), 0.5f64.ln(), 0.5f64.ln(), 0.4f64.ln()];
    assert_eq!(
        msg(Categorical::new(&log_p, 2)),
        "emission parameter Σ exp(log_probs[1,·]) = 0.9 is invalid: the probabilities of a state's symbols must sum to 1"
    );
    assert_eq!(
        msg(Categorical::new(&[0.1, -0.1], 2)),
        "emission parameter log_probs[0,0] = 0.1 is invalid: a log-probability must be ≤ 0 and not NaN"
    );
}

#[test]
fn non_stochastic_transition_matrices_given_directly() {
    assert_eq!(
        msg(HmmParams::from_probabilities(
            &[0.5, 0.5],
            &[0.9, 0.2, 0.5, 0.5]
        )),
        "row 0 of the transition matrix sums to 1.1, not 1"
    );
    let model = seed_reference_model().unwrap();
    let mut truth = seed_true_constrained();
    truth[2 + 3 + 3] = 0.3; // p_transition[1,0]: row 1 now sums to 1.2
    let expected = "p_transition[1,0] = 0.3 is outside the support: simplex entries sum to 1.2000000000000002, not 1";
    assert_eq!(msg(model.simulate(&truth, 2, 5, 1)), expected);
    assert_eq!(msg(model.chain(&truth)), expected);
    truth[2 + 3 + 3] = 0.1;
    truth[1] = -0.15;
    assert_eq!(
        msg(model.simulate(&truth, 2, 5, 1)),
        "emission_noise = -0.15 is outside the support: must be positive"
    );
}

#[test]
fn simulation_requests_that_make_no_sense() {
    let chain = HmmParams::from_probabilities(&[0.5, 0.5], &[0.9, 0.1, 0.1, 0.9]).unwrap();
    let (means, sds) = ([0.0, 1.0], [1.0, 1.0]);
    let e = Gaussian::new(&means, &sds).unwrap();
    assert_eq!(
        msg(simulate_hmm(&chain, &e, 0, 10, 1)),
        "no sequences: a data set needs at least one sequence"
    );
    assert_eq!(
        msg(simulate_hmm(&chain, &e, 3, 0, 1)),
        "sequence 0 is empty: every sequence needs at least one observation"
    );
    let three = [0.0, 1.0, 2.0];
    let e3 = Gaussian::new(&three, &[1.0; 3]).unwrap();
    assert_eq!(
        msg(simulate_hmm(&chain, &e3, 1, 10, 1)),
        "emission states (the chain's number of states) has length 3, expected 2"
    );
    let huge = [1.0, 2e9];
    let p = Poisson::new(&huge).unwrap();
    assert_eq!(
        msg(simulate_hmm(&chain, &p, 1, 10, 1)),
        "emission parameter rates[1] = 2000000000 is invalid: is too large to simulate u32 counts (at most 1e9)"
    );
}

#[test]
fn errors_are_matchable() {
    let data = Sequences::new(vec![vec![0usize, 7]]).unwrap();
    let err = HmmModel::new(CategoricalFamily::new(2, 3), data).unwrap_err();
    assert!(matches!(
        err,
        ModelError::Hmm(HmmError::InvalidObservation {
            sequence: 0,
            position: 1,
            ..
        })
    ));
    let (means, sds) = ([0.0], [1.0]);
    let e = Gaussian::new(&means, &sds).unwrap();
    assert_eq!(e.n_states(), 1);
}
