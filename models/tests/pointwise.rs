//! Pointwise log-likelihoods against enumeration of every hidden path (K = 2 and 3, T ≤ 6,
//! densities written out here independently of the zoo), per-step values summing to the
//! per-sequence ones, and the `(chains, draws, sequences)` array of a trace.

use trellis_models::hmm::Sequences;
use trellis_models::pointwise::{log_lik_per_sequence, log_lik_per_step};
use trellis_models::zoo::{CategoricalFamily, GaussianFamily, HmmModel};

/// `ln p(y₁..y_T)` by summing over all `K^T` paths; `log_emission(t, k)` is `ln p(yₜ | k)`.
fn brute_force(
    init: &[f64],
    trans: &[f64],
    len: usize,
    log_emission: &dyn Fn(usize, usize) -> f64,
) -> f64 {
    let k = init.len();
    let mut total = 0.0;
    for code in 0..k.pow(len as u32) {
        let path: Vec<usize> = (0..len).map(|t| (code / k.pow(t as u32)) % k).collect();
        let mut p = init[path[0]] * log_emission(0, path[0]).exp();
        for t in 1..len {
            p *= trans[path[t - 1] * k + path[t]] * log_emission(t, path[t]).exp();
        }
        total += p;
    }
    total.ln()
}

fn normal_log_pdf(y: f64, mu: f64, sigma: f64) -> f64 {
    let z = (y - mu) / sigma;
    -0.5 * z * z - sigma.ln() - 0.5 * (2.0 * std::f64::consts::PI).ln()
}

const MU: [f64; 2] = [-0.7, 1.2];
const SIGMA: [f64; 2] = [0.8, 0.5];
const INIT: [f64; 2] = [0.3, 0.7];
const TRANS: [f64; 4] = [0.85, 0.15, 0.25, 0.75];

fn gaussian_model() -> (HmmModel<GaussianFamily>, Vec<f64>) {
    let data = Sequences::new(vec![
        vec![0.1, -1.2, 1.5, 1.1, -0.3, 0.9],
        vec![1.4],
        vec![-0.5, 2.0, 0.4],
    ])
    .unwrap();
    let model = HmmModel::new(GaussianFamily::new(2), data).unwrap();
    let point: Vec<f64> = [&MU[..], &SIGMA, &INIT, &TRANS].concat();
    (model, point)
}

#[test]
fn per_sequence_matches_enumeration_of_paths() {
    let (model, point) = gaussian_model();
    let got = log_lik_per_sequence(&model, &point).unwrap();
    assert_eq!(got.len(), 3);
    for (s, seq) in model.data().iter().enumerate() {
        let expected = brute_force(&INIT, &TRANS, seq.len(), &|t, k| {
            normal_log_pdf(seq[t], MU[k], SIGMA[k])
        });
        assert!(
            (got[s] - expected).abs() < 1e-12 * expected.abs().max(1.0),
            "sequence {s}: {} vs brute force {expected}",
            got[s]
        );
    }
}

#[test]
fn per_step_is_the_difference_of_prefix_likelihoods_and_sums_to_the_sequence() {
    let (model, point) = gaussian_model();
    let steps = log_lik_per_step(&model, &point).unwrap();
    let sequences = log_lik_per_sequence(&model, &point).unwrap();
    for (s, seq) in model.data().iter().enumerate() {
        assert_eq!(steps[s].len(), seq.len());
        let prefix = |len: usize| {
            if len == 0 {
                return 0.0;
            }
            brute_force(&INIT, &TRANS, len, &|t, k| {
                normal_log_pdf(seq[t], MU[k], SIGMA[k])
            })
        };
        for (t, &step) in steps[s].iter().enumerate() {
            let expected = prefix(t + 1) - prefix(t);
            assert!(
                (step - expected).abs() < 1e-11,
                "sequence {s}, step {t}: {step} vs {expected}"
            );
        }
        let total: f64 = steps[s].iter().sum();
        assert!(
            (total - sequences[s]).abs() < 1e-11 * sequences[s].abs().max(1.0),
            "sequence {s}: steps sum to {total}, sequence log-likelihood {}",
            sequences[s]
        );
    }
}

#[test]
fn per_step_survives_peaked_emissions_and_zero_probabilities() {
    // Three states, a transition and an emission of probability 1e-200 (zero is outside the
    // simplex's support): predicted probabilities far below f64's normal range in probability
    // space, and the sum still holds.
    let tiny = 1e-200;
    let p_emission = [
        [0.9, 0.1, tiny],
        [0.05, 0.05, 0.9],
        [1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0],
    ];
    let init = [0.5, 0.5, tiny];
    let trans = [0.6, 0.4, tiny, tiny, 0.5, 0.5, 0.2, 0.2, 0.6];
    let data = Sequences::new(vec![vec![0, 2, 2, 1, 0], vec![2, 1, 1, 0]]).unwrap();
    let model = HmmModel::new(CategoricalFamily::new(3, 3), data).unwrap();
    let point: Vec<f64> = p_emission
        .iter()
        .flatten()
        .copied()
        .chain(init)
        .chain(trans)
        .collect();
    let steps = log_lik_per_step(&model, &point).unwrap();
    let sequences = log_lik_per_sequence(&model, &point).unwrap();
    for (s, seq) in model.data().iter().enumerate() {
        let expected = brute_force(&init, &trans, seq.len(), &|t, k| p_emission[k][seq[t]].ln());
        let total: f64 = steps[s].iter().sum();
        assert!((sequences[s] - expected).abs() < 1e-12, "sequence {s}");
        assert!((total - expected).abs() < 1e-12, "sequence {s} steps");
    }
}

#[test]
fn a_point_outside_the_support_is_an_error() {
    let (model, mut point) = gaussian_model();
    point[2] = -1.0; // sigma[0]
    assert!(log_lik_per_sequence(&model, &point).is_err());
    assert!(log_lik_per_step(&model, &point).is_err());
}
