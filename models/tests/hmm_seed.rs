//! The seed reference (models/data/seed-hmm): log-likelihoods and gradients at the true
//! parameters, in forward and reverse mode, to 1e-8 relative; serial and parallel batches
//! bit-identical.

use crate::hmm_common;

use hmm_common::*;
use trellis_ad::{forward, reverse, ScalarFn};
use trellis_models::hmm::{self, HmmParams, Sequences};

fn data() -> Sequences<f64> {
    Sequences::new(seed_rows()).unwrap()
}

#[test]
fn seed_dataset_matches_the_files() {
    let seed = hmm::seed_dataset();
    assert_eq!(seed.sequences, data());
    assert_eq!(seed.sequences.len(), 70);
    assert!(seed.sequences.lengths().all(|l| l == 51));
    assert_eq!(seed.hidden_states.len(), 70);
    assert!(seed.hidden_states.flat().iter().all(|&z| z < 3));
    let truth = truth();
    assert_eq!(seed.n_states, 3);
    assert_eq!(seed.emission_signal, 1.15);
    assert_eq!(seed.emission_noise, 0.15);
    let x = true_point(&truth);
    for (p, lx) in seed
        .p_initial_state
        .iter()
        .chain(&seed.p_transition)
        .zip(&x[2..])
    {
        assert_eq!(p.ln(), *lx);
    }
}

#[test]
fn log_likelihood_at_truth_matches_reference() {
    let truth = truth();
    let reference = &truth["reference"];
    let x = true_point(&truth);
    let data = data();
    let total = RefModel { data: data.clone() }.eval(&x);
    let expected = reference["hmm_logp_total_at_true"].as_f64().unwrap();
    assert!(rel_err(total, expected) < 1e-8, "{total} vs {expected}");

    let emission = SharedSignal::new(x[0], x[1], 3);
    let seq0 = hmm::log_likelihood(&x[2..5], &x[5..], &emission, &data[0]).unwrap();
    let expected0 = reference["hmm_logp_seq0_at_true"].as_f64().unwrap();
    assert!(rel_err(seq0, expected0) < 1e-8, "{seq0} vs {expected0}");

    let per = hmm::per_sequence_log_likelihood(&x[2..5], &x[5..], &emission, &data).unwrap();
    let expected_per = reference["hmm_logp_per_sequence_at_true"]
        .as_array()
        .unwrap();
    assert_eq!(per.len(), 70);
    for (s, (v, e)) in per.iter().zip(expected_per).enumerate() {
        let e = e.as_f64().unwrap();
        assert!(rel_err(*v, e) < 1e-8, "sequence {s}: {v} vs {e}");
    }
    // The inference API agrees.
    let params = HmmParams::from_log_probabilities(&x[2..5], &x[5..]).unwrap();
    let per2 = hmm::sequence_log_likelihoods(&params, &emission, &data).unwrap();
    assert_eq!(per2.to_vec(), per);
}

/// Checks one gradient against the reference, every component to 1e-8 relative. That
/// includes ∂/∂log p_initial[2] ≈ 1.1e-9: it is a sum of posterior probabilities (products,
/// no cancellation), so both this library and the reference resolve it to ~1e-15 relative
/// (measured: 2e-15 reverse, 3e-15 forward); no absolute bound is needed.
fn check_gradient(name: &str, grad: &[f64], reference: &[f64]) {
    assert_eq!(grad.len(), 14);
    for (i, (g, r)) in grad.iter().zip(reference).enumerate() {
        assert!(
            rel_err(*g, *r) < 1e-8,
            "{name}[{i}]: {g} vs {r} (rel {})",
            rel_err(*g, *r)
        );
    }
}

#[test]
fn gradient_at_truth_matches_reference_in_both_modes() {
    let truth = truth();
    let x = true_point(&truth);
    let reference = reference_gradient(&truth);
    let expected = truth["reference"]["hmm_logp_total_at_true"]
        .as_f64()
        .unwrap();
    let model = RefModel { data: data() };

    let (v_rev, g_rev) = reverse::value_and_gradient(&model, &x);
    let (v_nodes, g_nodes) = reverse::value_and_gradient(&RefModelNodes { data: data() }, &x);
    let (v_fwd, g_fwd) = forward::value_and_gradient(&model, &x);
    assert!(rel_err(v_rev, expected) < 1e-8);
    assert!(rel_err(v_fwd, expected) < 1e-8);
    check_gradient("reverse (fused emission)", &g_rev, &reference);
    check_gradient("reverse (one node per density)", &g_nodes, &reference);
    check_gradient("forward", &g_fwd, &reference);
    // The fused node's value is the generic f64 value: bit for bit from the scalar kernel,
    // to rounding (1e-14 relative, `hmm_lanes.rs`) where SIMD lane groups ran (70 sequences
    // of equal length); forward mode runs the generic recursion, bit for bit.
    let value = model.eval(&x);
    assert!(rel_err(v_rev, value) <= 1e-14, "{v_rev} vs {value}");
    assert!(rel_err(v_nodes, value) <= 1e-14, "{v_nodes} vs {value}");
    assert_eq!(v_fwd.to_bits(), value.to_bits());
}

#[test]
fn gradient_of_sequence_zero() {
    // Sequence 0 alone: reverse (fused) vs forward (generic) vs finite differences.
    let truth = truth();
    let x = true_point(&truth);
    let model = RefModel {
        data: Sequences::single(seed_rows()[0].clone()).unwrap(),
    };
    let (v, g_rev) = reverse::value_and_gradient(&model, &x);
    let g_fwd = forward::gradient(&model, &x);
    let expected = truth["reference"]["hmm_logp_seq0_at_true"]
        .as_f64()
        .unwrap();
    assert!(rel_err(v, expected) < 1e-8);
    for (a, b) in g_rev.iter().zip(&g_fwd) {
        assert!((a - b).abs() <= 1e-10 * (1.0 + b.abs()), "{a} vs {b}");
    }
    trellis_ad::check_gradient(&model, &x, &trellis_ad::GradientCheck::default()).unwrap();
}

fn in_pool<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}

#[test]
fn parallel_batches_are_bit_identical_to_serial() {
    let truth = truth();
    let x = true_point(&truth);
    // Ten copies of the seed data (700 sequences), so that the batch is far above the
    // parallel threshold, with ragged lengths.
    let rows = seed_rows();
    let mut seqs = Vec::new();
    for c in 0..10 {
        for (i, r) in rows.iter().enumerate() {
            seqs.push(r[..51 - (i + c) % 40].to_vec());
        }
    }
    let data = Sequences::new(seqs).unwrap();
    let model = RefModel { data: data.clone() };
    let nodes = RefModelNodes { data };
    let run = || {
        let v = model.eval(&x);
        let (vr, mut gr) = reverse::value_and_gradient(&model, &x);
        let (vn, gn) = reverse::value_and_gradient(&nodes, &x);
        let (vf, gf) = forward::value_and_gradient(&model, &x);
        gr.push(vn);
        gr.extend(gn);
        (v, vr, gr, vf, gf)
    };
    let serial = in_pool(1, run);
    let parallel = in_pool(2, run);
    let parallel4 = in_pool(4, run);
    let bits = |r: &(f64, f64, Vec<f64>, f64, Vec<f64>)| {
        let mut b = vec![r.0.to_bits(), r.1.to_bits(), r.3.to_bits()];
        b.extend(r.2.iter().map(|g| g.to_bits()));
        b.extend(r.4.iter().map(|g| g.to_bits()));
        b
    };
    assert_eq!(bits(&serial), bits(&parallel));
    assert_eq!(bits(&serial), bits(&parallel4));
    assert!(serial.0.is_finite());
}

#[test]
fn a_posteriori_the_viterbi_path_recovers_most_true_states() {
    let seed = hmm::seed_dataset();
    let params = HmmParams::from_probabilities(&seed.p_initial_state, &seed.p_transition).unwrap();
    let emission = SharedSignal::new(seed.emission_signal, seed.emission_noise, 3);
    let mut right = 0;
    for (seq, states) in seed.sequences.iter().zip(&seed.hidden_states) {
        let path = hmm::viterbi(&params, &emission, seq).unwrap();
        right += std::iter::zip(&path.states, states)
            .filter(|(a, b)| a == b)
            .count();
        let smoothed = hmm::smooth(&params, &emission, seq).unwrap();
        for row in smoothed.rows() {
            assert!((row.sum() - 1.0).abs() < 1e-12);
        }
    }
    // Well-separated states (signal 1.15, noise 0.15): nearly every state is recovered.
    assert!(right as f64 / 3570.0 > 0.99, "{right} of 3570");
}

#[test]
fn reverse_mode_records_one_node_per_sequence() {
    use trellis_ad::Recording;
    let truth = truth();
    let x = true_point(&truth);
    let count = |f: &dyn Fn(&[trellis_ad::Var]) -> trellis_ad::Var| {
        let rec = Recording::start();
        let inputs: Vec<_> = x.iter().map(|&v| rec.input(v)).collect();
        let _ = f(&inputs);
        rec.len()
    };
    let fused = RefModel { data: data() };
    let nodes = RefModelNodes { data: data() };
    // 14 inputs, 70 HMM nodes (inputs: log_init, log_trans, signal, noise), one sum.
    assert_eq!(count(&|v| fused.eval(v)), 14 + 70 + 1);
    // Without the fused emission: also one node per log-density, 3570 × 3.
    assert_eq!(count(&|v| nodes.eval(v)), 14 + 3570 * 3 + 70 + 1);
}
