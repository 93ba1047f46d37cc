//! AR(1) HMMs with missing observations through [`HmmModel`] (issue 11): the step after a
//! gap of `g` missing steps has the process's `g`-step conditional given the last observed
//! value, a sequence that starts with missing steps the stationary density at its first
//! observed value — never the placeholder stored at a missing step.
//!
//! The reference is enumeration of every hidden path (K = 3, T ≤ 6) with the gap
//! conditional written out in closed form (`ar1_common`), as a generic function of the
//! parameters as given: its value, and its exact gradient by automatic differentiation of the
//! enumeration, against the model's value and its reverse- and forward-mode gradients
//! (homogeneous, covariate-driven and masked covariate chains).
//! Filtering, smoothing, Viterbi and the pointwise log-likelihoods are checked against the
//! same enumeration, and property tests check reverse mode = forward mode = finite
//! differences of the whole log-density on random data with random gaps.

use crate::ar1_common;
use crate::zoo_common;
use zoo_common::AsGiven;

use ar1_common::{paths, Chain, Enumerated};
use proptest::prelude::*;
use trellis_ad::{check_gradient, forward, reverse, testing, GradientCheck, Scalar, ScalarFn};
use trellis_models::hmm::{self, Sequences};
use trellis_models::pointwise::{log_lik_per_sequence, log_lik_per_step};
use trellis_models::zoo::{Ar1Family, Covariates, HmmModel, StateMasks};
use trellis_models::{BayesianModel, ModelDensity};

const K: usize = 3;
/// What the data hold at a missing step: far from every level, so that reading it as a lag
/// would change every density after it.
const PLACEHOLDER: f64 = 40.0;

/// Sequences with single gaps, a leading gap, double gaps, a trailing gap and a single
/// observation (`None` = missing).
fn gappy() -> Vec<Vec<Option<f64>>> {
    vec![
        vec![Some(0.3), None, Some(1.8), Some(2.1), None, Some(-0.7)],
        vec![None, Some(1.2), None, None, Some(-1.1), Some(0.4)],
        vec![None, None, Some(0.9), Some(1.4)],
        vec![Some(2.4), None, None, None, Some(2.0)],
        vec![Some(-0.2), Some(0.1), None, None],
        vec![Some(-0.2)],
    ]
}

/// The data as the library takes them: the placeholder at missing steps, flagged.
fn sequences(data: &[Vec<Option<f64>>]) -> Sequences<f64> {
    let values = data.iter().map(|s| {
        s.iter()
            .map(|y| y.unwrap_or(PLACEHOLDER))
            .collect::<Vec<_>>()
    });
    let flags = data.iter().flatten().map(Option::is_none).collect();
    Sequences::new(values).unwrap().with_missing(flags).unwrap()
}

/// One covariate per observation, smooth in time and different per sequence.
fn covariate(data: &[Vec<Option<f64>>]) -> Vec<Vec<f64>> {
    data.iter()
        .enumerate()
        .map(|(s, seq)| {
            (0..seq.len())
                .map(|t| (0.7 * t as f64 + 1.3 * s as f64).sin())
                .collect()
        })
        .collect()
}

/// `mu, phi, sigma, p_initial_state`.
fn emission_and_initial() -> Vec<f64> {
    vec![
        -1.0, 0.5, 2.0, // mu (ordered)
        0.7, -0.4, 0.9, // phi
        0.6, 1.1, 0.4, // sigma
        0.5, 0.3, 0.2, // p_initial_state
    ]
}

fn matrix_point() -> Vec<f64> {
    let mut p = emission_and_initial();
    p.extend([0.8, 0.15, 0.05, 0.1, 0.7, 0.2, 0.25, 0.25, 0.5]);
    p
}

/// `transition_coef[i,j,c]`: 0 on the diagonal and at structural zeros.
fn coefficient_point(free: &[Vec<bool>]) -> Vec<f64> {
    let mut p = emission_and_initial();
    for (i, row) in free.iter().enumerate() {
        for (j, &is_free) in row.iter().enumerate() {
            for c in 0..2 {
                let v = ((i * 7 + j * 3 + c * 5) % 11) as f64 / 5.0 - 1.0;
                p.push(if i == j || !is_free { 0.0 } else { v });
            }
        }
    }
    p
}

fn assert_close(found: f64, expected: f64, tol: f64, what: &str) {
    assert!(
        (found - expected).abs() <= tol * expected.abs().max(1.0),
        "{what}: {found} vs {expected}"
    );
}

/// Value (generic route in `f64`, fused route under reverse mode) and both gradients of the
/// model's log-likelihood against the enumeration's.
fn check_against_enumeration(model: &HmmModel<Ar1Family>, reference: &Enumerated, point: &[f64]) {
    let library = AsGiven { model };
    let expected = reference.eval(point);
    let (value_rev, grad_rev) = reverse::value_and_gradient(&library, point);
    let (value_fwd, grad_fwd) = forward::value_and_gradient(&library, point);
    let (_, grad_ref) = reverse::value_and_gradient(reference, point);
    assert_close(library.eval(point), expected, 1e-12, "f64 value");
    assert_close(value_rev, expected, 1e-12, "reverse-mode value");
    assert_close(value_fwd, expected, 1e-12, "forward-mode value");
    let names = model.layout().element_names();
    for (i, name) in names.iter().enumerate() {
        assert_close(
            grad_rev[i],
            grad_ref[i],
            1e-9,
            &format!("reverse ∂/∂{name}"),
        );
        assert_close(
            grad_fwd[i],
            grad_ref[i],
            1e-9,
            &format!("forward ∂/∂{name}"),
        );
    }
    // The gradient sees the gap conditional: every phi entry matters.
    assert!(grad_ref[K..2 * K].iter().all(|g| g.abs() > 1e-3));
}

#[test]
fn log_likelihood_and_gradient_match_enumeration_with_gaps() {
    let data = gappy();
    let model = HmmModel::new(Ar1Family::new(K), sequences(&data)).unwrap();
    assert_eq!(model.layout().element_names()[K], "phi[0]");
    let reference = Enumerated {
        k: K,
        data: &data,
        chain: Chain::Matrix,
    };
    check_against_enumeration(&model, &reference, &matrix_point());
    // Reading the placeholder as a lag would be far off: the stored value is the marker.
    let missing = model.data().missing().unwrap();
    for (y, &m) in model.data().flat().iter().zip(missing) {
        assert_eq!(y.is_nan(), m);
    }
}

#[test]
fn covariate_chains_with_and_without_structural_zeros_match_enumeration() {
    let data = gappy();
    let x = covariate(&data);
    let covariates = || {
        let values = x.iter().flatten().copied().collect();
        Covariates::new(vec!["x".into()], values, x.iter().map(Vec::len).sum()).unwrap()
    };
    let all_free = vec![vec![true; K]; K];
    let model = HmmModel::new(Ar1Family::new(K), sequences(&data))
        .unwrap()
        .with_covariates(covariates())
        .unwrap();
    let reference = Enumerated {
        k: K,
        data: &data,
        chain: Chain::Covariate {
            x: &x,
            free: &all_free,
        },
    };
    check_against_enumeration(&model, &reference, &coefficient_point(&all_free));

    // Structural zeros: the masked route of the covariate model.
    let free = vec![
        vec![true, true, false],
        vec![true, true, true],
        vec![false, true, true],
    ];
    let masks = StateMasks {
        initial: vec![true; K],
        transition: free.clone(),
    };
    let masked = HmmModel::new(Ar1Family::new(K), sequences(&data))
        .unwrap()
        .with_covariates(covariates())
        .unwrap()
        .with_masks(masks)
        .unwrap();
    let reference = Enumerated {
        k: K,
        data: &data,
        chain: Chain::Covariate { x: &x, free: &free },
    };
    check_against_enumeration(&masked, &reference, &coefficient_point(&free));
}

#[test]
fn pointwise_log_likelihoods_match_enumeration() {
    let data = gappy();
    let model = HmmModel::new(Ar1Family::new(K), sequences(&data)).unwrap();
    let point = matrix_point();
    let reference = Enumerated {
        k: K,
        data: &data,
        chain: Chain::Matrix,
    };
    let per_sequence = log_lik_per_sequence(&model, &point).unwrap();
    let per_step = log_lik_per_step(&model, &point).unwrap();
    for (s, seq) in data.iter().enumerate() {
        let expected = reference.sequence(&point, s);
        assert_close(per_sequence[s], expected, 1e-12, &format!("sequence {s}"));
        let total: f64 = per_step[s].iter().sum();
        assert_close(total, expected, 1e-12, &format!("steps of sequence {s}"));
        for (t, y) in seq.iter().enumerate() {
            if y.is_none() {
                assert!(
                    per_step[s][t].abs() < 1e-14,
                    "missing step {t}: nothing to predict"
                );
            }
        }
    }
}

#[test]
fn filtering_smoothing_and_viterbi_match_enumeration() {
    let data = gappy();
    let model = HmmModel::new(Ar1Family::new(K), sequences(&data)).unwrap();
    let point = matrix_point();
    for (s, seq) in data.iter().enumerate() {
        let all = paths(&point, K, Chain::Matrix, seq, s);
        let total = f64::log_sum_exp(&all.iter().map(|(_, lp)| *lp).collect::<Vec<_>>());
        let (best, best_lp) = all
            .iter()
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(z, lp)| (z.clone(), *lp))
            .unwrap();
        let (path, smoothed, filtered) = model
            .at_sequence(&point, s, |chain, emission, obs| {
                (
                    hmm::viterbi(chain, emission, obs).unwrap(),
                    hmm::smooth(chain, emission, obs).unwrap(),
                    hmm::filter(chain, emission, obs).unwrap(),
                )
            })
            .unwrap();
        assert_eq!(path.states, best, "sequence {s}");
        assert_close(path.log_probability, best_lp, 1e-12, "Viterbi log p");
        let n = seq.len();
        for t in 0..n {
            for k in 0..K {
                // Smoothed: all paths through state k at t; filtered: the prefix up to t
                // (enumerated on the truncated sequence, whose gaps are the same).
                let through = |all: &[(Vec<usize>, f64)], norm: f64| {
                    all.iter()
                        .filter(|(z, _)| z[t] == k)
                        .map(|(_, lp)| (lp - norm).exp())
                        .sum::<f64>()
                };
                let want = through(&all, total);
                assert!(
                    (smoothed[[t, k]] - want).abs() < 1e-12,
                    "smoothed {s},{t},{k}"
                );
                let prefix = paths(&point, K, Chain::Matrix, &seq[..=t], s);
                let norm = f64::log_sum_exp(&prefix.iter().map(|(_, lp)| *lp).collect::<Vec<_>>());
                let want = through(&prefix, norm);
                assert!(
                    (filtered[[t, k]] - want).abs() < 1e-12,
                    "filtered {s},{t},{k}"
                );
            }
        }
    }
}

#[test]
fn simulated_data_with_missing_steps_is_read_through_the_gaps() {
    let template = HmmModel::new(Ar1Family::new(K), sequences(&gappy())).unwrap();
    let point = matrix_point();
    let sim = template
        .simulate_with_missing(&point, 5, 6, 0.4, 17)
        .unwrap();
    let flags = sim
        .observations
        .missing()
        .expect("some steps missing at rate 0.4");
    // The drawn values stay in the simulation (the process ran through the gaps) …
    assert!(sim.observations.flat().iter().all(|y| y.is_finite()));
    let mut flat = flags.iter();
    let data: Vec<Vec<Option<f64>>> = sim
        .observations
        .iter()
        .map(|seq| {
            seq.iter()
                .map(|&y| (!*flat.next().unwrap()).then_some(y))
                .collect()
        })
        .collect();
    // … and a model of them conditions on the observed values only.
    let model = HmmModel::new(Ar1Family::new(K), sim.observations).unwrap();
    let reference = Enumerated {
        k: K,
        data: &data,
        chain: Chain::Matrix,
    };
    assert_close(
        AsGiven { model: &model }.eval(&point),
        reference.eval(&point),
        1e-12,
        "log-likelihood of the simulated data",
    );
}

/// Random sequences of two states with random gaps (possibly leading, trailing, or the
/// whole sequence).
fn gappy_data() -> impl Strategy<Value = Vec<Vec<Option<f64>>>> {
    let step = (-3.0f64..3.0, 0u8..10).prop_map(|(y, r)| (r >= 3).then_some(y));
    proptest::collection::vec(proptest::collection::vec(step, 1..8), 1..4)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Reverse mode (fused nodes) = forward mode (generic code) = finite differences of the
    /// whole log-density, homogeneous chain.
    #[test]
    fn gradients_agree_with_gaps(u in testing::bounded_vec(10, 1.5), data in gappy_data()) {
        let model = HmmModel::new(Ar1Family::new(2), sequences(&data)).unwrap();
        let check = GradientCheck { check_forward: true, ..GradientCheck::default() };
        let dim = model.layout().dim();
        if let Err(e) = check_gradient(&ModelDensity::new(&model), &u[..dim], &check) {
            return Err(TestCaseError::fail(e.to_string()));
        }
    }

    /// The same with covariate-driven transitions (the covariate model's own reverse-mode
    /// node and generic recursion).
    #[test]
    fn gradients_agree_with_gaps_and_covariates(
        u in testing::bounded_vec(16, 1.5),
        data in gappy_data(),
    ) {
        let x = covariate(&data);
        let n = x.iter().map(Vec::len).sum();
        let covariates =
            Covariates::new(vec!["x".into()], x.into_iter().flatten().collect(), n).unwrap();
        let model = HmmModel::new(Ar1Family::new(2), sequences(&data))
            .unwrap()
            .with_covariates(covariates)
            .unwrap();
        let check = GradientCheck { check_forward: true, ..GradientCheck::default() };
        let dim = model.layout().dim();
        if let Err(e) = check_gradient(&ModelDensity::new(&model), &u[..dim], &check) {
            return Err(TestCaseError::fail(e.to_string()));
        }
    }
}

/// `ppc` replicates keep the data's missing steps holding the family's marker, so a replicate
/// is decoded as the data are: its statistics are those of the replicate (the one-sequence
/// simulation of the draw's sub-seed) with NaN at the data's missing steps, decoded with the
/// gap conditional. The states differ little in level and much in persistence, so decoding
/// after a gap depends on what the step conditions on.
#[test]
fn ppc_replicates_are_decoded_through_the_gaps() {
    use rand::{RngCore, SeedableRng};
    use trellis_models::ppc::{posterior_predictive, statistics_observed};

    let point = [0.0, 0.1, 0.9, -0.9, 0.5, 0.5, 0.5, 0.5, 0.9, 0.1, 0.1, 0.9];
    let template = HmmModel::new(Ar1Family::new(2), Sequences::single(vec![0.0]).unwrap()).unwrap();
    let data = template
        .simulate_with_missing(&point, 1, 200, 0.3, 21)
        .unwrap();
    let model = HmmModel::new(Ar1Family::new(2), data.observations).unwrap();
    let seed = 77;
    let check = posterior_predictive(&model, &[point.to_vec()], seed).unwrap();
    // Replicate 0's first sub-seed (see `posterior_predictive`).
    let sub_seed = rand_xoshiro::SplitMix64::seed_from_u64(seed).next_u64();
    let mut replicate = model
        .simulate(&point, 1, 200, sub_seed)
        .unwrap()
        .observations[0]
        .to_vec();
    let missing = model.data().missing().unwrap();
    for (y, &m) in replicate.iter_mut().zip(missing) {
        if m {
            *y = f64::NAN;
        }
    }
    let states = model
        .at_sequence(&point, 0, |chain, view, _| {
            hmm::viterbi(chain, view, &replicate)
        })
        .unwrap()
        .unwrap()
        .states;
    let expected = statistics_observed(&[replicate], &[states], Some(missing));
    for (statistic, want) in check.statistics.iter().zip(expected) {
        assert_eq!(statistic.replicated[0], want, "{}", statistic.name);
    }
}
