//! Bad input gives a typed error naming what is wrong and where — never a panic, never a
//! silent NaN.

use crate::hmm_common;

use hmm_common::*;
use trellis_models::hmm::{self, HmmError, HmmParams, Sequences};
use trellis_models::Emission;

/// The `(expected, found)` lengths of a `WrongLength` error.
fn lengths(err: &HmmError) -> Option<(usize, usize)> {
    match err {
        HmmError::WrongLength {
            expected, found, ..
        } => Some((*expected, *found)),
        _ => None,
    }
}

/// The `(sequence, position, state)` of an `InvalidLogDensity` error.
fn density_at(err: &HmmError) -> Option<(usize, usize, usize)> {
    match err {
        HmmError::InvalidLogDensity {
            sequence,
            position,
            state,
            ..
        } => Some((*sequence, *position, *state)),
        _ => None,
    }
}

#[test]
fn nan_and_infinite_observations_are_named() {
    let err = Sequences::new(vec![vec![0.0, 1.0], vec![2.0, 3.0, f64::NAN]]).unwrap_err();
    assert!(matches!(
        err,
        HmmError::NonFinite { sequence: 1, position: 2, value } if value.is_nan()
    ));
    let err = Sequences::new(vec![vec![f64::INFINITY]]).unwrap_err();
    assert_eq!(
        err,
        HmmError::NonFinite {
            sequence: 0,
            position: 0,
            value: f64::INFINITY
        }
    );
    assert_eq!(
        err.to_string(),
        "observation 0 of sequence 0 is inf, not a finite number"
    );
    let err = Sequences::new(vec![vec![[0.0, 1.0]], vec![[0.0, f64::NEG_INFINITY]]]).unwrap_err();
    assert!(matches!(
        err,
        HmmError::NonFinite {
            sequence: 1,
            position: 0,
            ..
        }
    ));
    let err = Sequences::<f64>::from_csv_str("1,2,3\n4,NaN\n").unwrap_err();
    assert!(matches!(
        err,
        HmmError::NonFinite {
            sequence: 1,
            position: 1,
            ..
        }
    ));
}

#[test]
fn empty_sequences_and_empty_batches() {
    let err = Sequences::new(vec![vec![1.0], vec![], vec![2.0]]).unwrap_err();
    assert_eq!(err, HmmError::EmptySequence { sequence: 1 });
    assert_eq!(
        Sequences::<f64>::new(Vec::<Vec<f64>>::new()).unwrap_err(),
        HmmError::NoSequences
    );
    assert_eq!(
        Sequences::from_flat(vec![1.0, 2.0], &[2, 0]).unwrap_err(),
        HmmError::EmptySequence { sequence: 1 }
    );
    assert!(matches!(
        Sequences::from_flat(vec![1.0, 2.0], &[1, 2]).unwrap_err(),
        HmmError::WrongLength {
            expected: 3,
            found: 2,
            ..
        }
    ));
    assert_eq!(
        Sequences::<f64>::from_csv_str("1,2\n\n3\n").unwrap_err(),
        HmmError::EmptySequence { sequence: 1 }
    );
    assert_eq!(
        Sequences::<f64>::from_csv_str("").unwrap_err(),
        HmmError::NoSequences
    );
    assert_eq!(
        Sequences::<f64>::from_csv_str("1,2\n3,x\n").unwrap_err(),
        HmmError::Parse {
            line: 2,
            field: 2,
            text: "x".into()
        }
    );
    // An empty slice given directly.
    let e = SharedSignal::new(1.0, 0.5, 3);
    let li = [0.0; 3];
    let lt = [0.0; 9];
    assert_eq!(
        hmm::log_likelihood(&li, &lt, &e, &[]).unwrap_err(),
        HmmError::EmptySequence { sequence: 0 }
    );
    assert_eq!(
        hmm::forward_log_likelihood::<f64>(&li, &lt, &[], 3).unwrap_err(),
        HmmError::EmptySequence { sequence: 0 }
    );
}

#[test]
fn parameter_vectors_of_the_wrong_length() {
    let e = SharedSignal::new(1.0, 0.5, 3);
    let data = Sequences::new(vec![vec![1.0, 2.0]]).unwrap();
    let err = hmm::batch_log_likelihood(&[0.0; 2], &[0.0; 9], &e, &data).unwrap_err();
    assert_eq!(lengths(&err), Some((3, 2)), "{err}");
    let err = hmm::batch_log_likelihood(&[0.0; 3], &[0.0; 8], &e, &data).unwrap_err();
    assert_eq!(lengths(&err), Some((9, 8)), "{err}");
    assert_eq!(
        err.to_string(),
        "log_trans (K × K, row-major) has length 8, expected 9"
    );
    let err = hmm::forward_log_likelihood(&[0.0; 3], &[0.0; 9], &[0.0; 7], 3).unwrap_err();
    assert!(matches!(err, HmmError::WrongLength { found: 7, .. }));
    assert_eq!(
        hmm::forward_log_likelihood::<f64>(&[], &[], &[0.0], 0).unwrap_err(),
        HmmError::NoStates
    );
    let mut out = [0.0; 2];
    let err = hmm::per_sequence_log_likelihood_into(&[0.0; 3], &[0.0; 9], &e, &data, &mut out)
        .unwrap_err();
    assert_eq!(lengths(&err), Some((1, 2)), "{err}");
    // Inference: the emission's number of states must match.
    let params = HmmParams::from_probabilities(&[0.5, 0.5], &[0.5, 0.5, 0.5, 0.5]).unwrap();
    let err = hmm::filter(&params, &e, &data[0]).unwrap_err();
    assert_eq!(lengths(&err), Some((2, 3)), "{err}");
    assert!(matches!(
        HmmParams::from_probabilities(&[0.5, 0.5], &[1.0; 3]).unwrap_err(),
        HmmError::WrongLength {
            expected: 4,
            found: 3,
            ..
        }
    ));
    assert_eq!(
        HmmParams::from_probabilities(&[], &[]).unwrap_err(),
        HmmError::NoStates
    );
}

#[test]
fn non_stochastic_parameters_given_directly() {
    let err = HmmParams::from_probabilities(&[0.5, 0.5], &[0.9, 0.2, 0.2, 0.8]).unwrap_err();
    assert!(matches!(err, HmmError::NotStochastic { row: 0, sum } if (sum - 1.1).abs() < 1e-12));
    let err = HmmParams::from_probabilities(&[0.5, 0.5], &[0.9, 0.1, 0.3, 0.8]).unwrap_err();
    assert!(matches!(err, HmmError::NotStochastic { row: 1, .. }));
    assert_eq!(
        err.to_string(),
        "row 1 of the transition matrix sums to 1.1, not 1"
    );
    let err = HmmParams::from_probabilities(&[0.6, 0.5], &[1.0, 0.0, 0.0, 1.0]).unwrap_err();
    assert!(matches!(err, HmmError::InitialNotNormalised { .. }));
    let err = HmmParams::from_probabilities(&[0.5, 0.5], &[1.2, -0.2, 0.0, 1.0]).unwrap_err();
    assert_eq!(
        err,
        HmmError::InvalidTransitionProbability {
            row: 0,
            column: 0,
            value: 1.2
        }
    );
    let err = HmmParams::from_probabilities(&[0.5, 0.5], &[1.0, 0.0, f64::NAN, 1.0]).unwrap_err();
    assert!(
        matches!(err, HmmError::InvalidTransitionProbability { row: 1, column: 0, value } if value.is_nan())
    );
    let err = HmmParams::from_probabilities(&[f64::NAN, 1.0], &[1.0, 0.0, 0.0, 1.0]).unwrap_err();
    assert!(matches!(
        err,
        HmmError::InvalidInitialProbability { state: 0, .. }
    ));
    // Within 1e-9 is accepted, zeros too.
    HmmParams::from_probabilities(&[1.0, 0.0], &[0.5 + 5e-10, 0.5, 0.0, 1.0]).unwrap();
    let err = HmmParams::from_log_probabilities(&[0.0, 0.0], &[0.0, f64::NEG_INFINITY, 0.0, 0.0])
        .unwrap_err();
    assert!(matches!(err, HmmError::InitialNotNormalised { sum } if sum == 2.0));
}

#[test]
fn nan_or_infinite_log_probabilities_and_log_densities() {
    let le = [0.0; 6];
    let err = hmm::forward_log_likelihood(&[0.0, f64::NAN], &[0.0; 4], &le, 2).unwrap_err();
    assert!(matches!(
        err,
        HmmError::InvalidLogProbability {
            what: "log_init",
            index: 1,
            ..
        }
    ));
    let err = hmm::forward_log_likelihood(&[0.0; 2], &[0.0, 0.0, f64::INFINITY, 0.0], &le, 2)
        .unwrap_err();
    assert!(matches!(
        err,
        HmmError::InvalidLogProbability {
            what: "log_trans",
            index: 2,
            ..
        }
    ));
    let mut bad = le;
    bad[5] = f64::NAN;
    let err = hmm::forward_log_likelihood(&[0.0; 2], &[0.0; 4], &bad, 2).unwrap_err();
    assert_eq!(density_at(&err), Some((0, 2, 1)), "{err}");
    // Through an emission, in a batch: a NaN parameter names the first bad entry.
    let data = Sequences::new(vec![vec![1.0], vec![1.0, 2.0]]).unwrap();
    let e = SharedSignal::new(f64::NAN, 0.5, 3);
    let err = hmm::batch_log_likelihood(&[0.0; 3], &[0.0; 9], &e, &data).unwrap_err();
    assert_eq!(density_at(&err), Some((0, 0, 0)), "{err}");
    // Reverse mode reports it the same way.
    use trellis_ad::Recording;
    let rec = Recording::start();
    let s = rec.input(1.0);
    let n = rec.input(-0.5); // a negative sd: ln gives NaN
    let e = SharedSignal::new(s, n, 3);
    let li = [trellis_ad::Var::constant(0.0); 3];
    let lt = [trellis_ad::Var::constant(0.0); 9];
    let err = hmm::batch_log_likelihood(&li, &lt, &e, &data).unwrap_err();
    assert!(matches!(
        err,
        HmmError::InvalidLogDensity {
            sequence: 0,
            position: 0,
            ..
        }
    ));
    // An observation given directly (not through `Sequences`) that is NaN.
    let e = SharedSignal::new(1.0, 0.5, 3);
    let err = hmm::log_likelihood(&[0.0; 3], &[0.0; 9], &e, &[0.0, f64::NAN]).unwrap_err();
    assert!(matches!(
        err,
        HmmError::InvalidLogDensity { position: 1, .. }
    ));
    // Inference too.
    let params = HmmParams::from_probabilities(
        &[1.0, 0.0, 0.0],
        &[1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
    )
    .unwrap();
    let err = hmm::viterbi(&params, &e, &[0.0, f64::NAN]).unwrap_err();
    assert!(matches!(
        err,
        HmmError::InvalidLogDensity { position: 1, .. }
    ));
}

/// Emission with a density of zero for every state at observation value 99.
struct Impossible;
impl Emission<f64> for Impossible {
    type Obs = f64;
    fn n_states(&self) -> usize {
        2
    }
    fn log_densities(&self, seq: &[f64], t: usize, out: &mut [f64]) {
        let v = if seq[t] == 99.0 {
            f64::NEG_INFINITY
        } else {
            0.0
        };
        out.fill(v);
        if seq[t] == 1.0 {
            out[0] = f64::NEG_INFINITY;
        }
    }
}

#[test]
fn impossible_sequences() {
    // The log-likelihood is -inf (not an error, not NaN); inference reports the position.
    let params = HmmParams::from_probabilities(&[1.0, 0.0], &[1.0, 0.0, 0.0, 1.0]).unwrap();
    let data = Sequences::new(vec![vec![0.0, 0.0, 99.0, 0.0], vec![0.0, 1.0]]).unwrap();
    let lls = hmm::sequence_log_likelihoods(&params, &Impossible, &data).unwrap();
    assert_eq!(lls.to_vec(), vec![f64::NEG_INFINITY, f64::NEG_INFINITY]);
    assert_eq!(
        hmm::filter(&params, &Impossible, &data[0]).unwrap_err(),
        HmmError::ZeroProbability {
            sequence: 0,
            position: 2
        }
    );
    assert_eq!(
        hmm::smooth(&params, &Impossible, &data[1]).unwrap_err(),
        HmmError::ZeroProbability {
            sequence: 0,
            position: 1
        }
    );
    assert!(matches!(
        hmm::viterbi(&params, &Impossible, &data[1]).unwrap_err(),
        HmmError::ZeroProbability { position: 1, .. }
    ));
    let mut rng = <rand_xoshiro::Xoshiro256PlusPlus as rand::SeedableRng>::seed_from_u64(1);
    assert!(hmm::sample_path(&params, &Impossible, &data[1], &mut rng).is_err());
}

#[test]
fn errors_relabel_their_sequence() {
    let err = HmmError::InvalidLogDensity {
        sequence: 0,
        position: 3,
        state: 1,
        value: f64::NAN,
    }
    .in_sequence(7);
    assert_eq!(density_at(&err), Some((7, 3, 1)), "{err}");
    assert_eq!(HmmError::NoStates.in_sequence(3), HmmError::NoStates);
}

#[test]
fn a_fused_emission_with_nan_values_is_a_typed_error() {
    let data = Sequences::new(vec![vec![1.0, 2.0]]).unwrap();
    let li = [trellis_ad::Var::constant(0.0); 2];
    let lt = [trellis_ad::Var::constant(0.0); 4];
    let err = hmm::batch_log_likelihood(&li, &lt, &Constant::NAN_ABOVE_1_5, &data).unwrap_err();
    assert_eq!(density_at(&err), Some((0, 1, 0)), "{err}");
    // Values (f64) do not use the fast path.
    let v: f64 =
        hmm::batch_log_likelihood(&[0.0; 2], &[0.0; 4], &Constant::NAN_ABOVE_1_5, &data).unwrap();
    assert!(v.is_finite());
}
