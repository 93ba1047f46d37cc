//! The fused reverse-mode node against the generic recursion (the source of truth), by
//! proptest: values bit-identical, gradients equal, over random K, T, zero probabilities,
//! free log-probabilities and badly scaled emissions.

use crate::hmm_common;

use hmm_common::*;
use proptest::prelude::*;
use trellis_ad::{forward, reverse, ScalarFn};

/// A log-probability or log-density: usually finite, sometimes -inf, sometimes so
/// negative that its exponential underflows.
fn log_entry(lo: f64, hi: f64) -> impl Strategy<Value = f64> {
    prop_oneof![
        16 => lo..hi,
        2 => Just(f64::NEG_INFINITY),
        1 => -1000.0..-700.0,
    ]
}

/// `(k, [li | lt | le])`.
fn hmm_input() -> impl Strategy<Value = (usize, Vec<f64>)> {
    (
        1usize..=5,
        1usize..=40,
        prop_oneof![Just(1.0), Just(30.0), Just(300.0), Just(3000.0)],
    )
        .prop_flat_map(|(k, n, scale)| {
            (
                Just(k),
                proptest::collection::vec(log_entry(-4.0, 1.0), k + k * k),
                proptest::collection::vec(log_entry(-5.0, 1.0), n * k),
            )
                .prop_map(move |(k, mut x, le)| {
                    x.extend(le.iter().map(|v| v * scale));
                    (k, x)
                })
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn fused_node_matches_generic_code((k, x) in hmm_input()) {
        let generic_value = Flat { k, core: Core::Generic }.eval(&x);
        let log_space_value = Flat { k, core: Core::LogSpace }.eval(&x);
        prop_assert!(!generic_value.is_nan());
        if generic_value.is_finite() {
            prop_assert!((generic_value - log_space_value).abs() <= 1e-11 * (1.0 + log_space_value.abs()),
                "{} vs log-space {}", generic_value, log_space_value);
        } else {
            prop_assert_eq!(log_space_value, f64::NEG_INFINITY);
        }
        let (v_fused, g_fused) = reverse::value_and_gradient(&Flat { k, core: Core::Dispatch }, &x);
        // Same operations in the same order: the node's value is the generic f64 value.
        prop_assert_eq!(v_fused.to_bits(), generic_value.to_bits());
        if !generic_value.is_finite() {
            return Ok(());
        }
        let (v_gen, g_gen) = reverse::value_and_gradient(&Flat { k, core: Core::Generic }, &x);
        let (v_fwd, g_fwd) = forward::value_and_gradient(&Flat { k, core: Core::Dispatch }, &x);
        let (_, g_log) = reverse::value_and_gradient(&Flat { k, core: Core::LogSpace }, &x);
        prop_assert_eq!(v_gen.to_bits(), generic_value.to_bits());
        prop_assert_eq!(v_fwd.to_bits(), generic_value.to_bits());
        for i in 0..x.len() {
            let r = g_gen[i];
            prop_assert!(g_fused[i].is_finite() && g_fwd[i].is_finite() && r.is_finite(),
                "partial {}: fused {} generic {} forward {}", i, g_fused[i], r, g_fwd[i]);
            let tol = 1e-9 * (1.0 + r.abs());
            prop_assert!((g_fused[i] - r).abs() <= tol, "partial {}: fused {} vs generic {}", i, g_fused[i], r);
            prop_assert!((g_fwd[i] - r).abs() <= tol, "partial {}: forward {} vs generic {}", i, g_fwd[i], r);
            prop_assert!((g_log[i] - r).abs() <= tol, "partial {}: log-space {} vs generic {}", i, g_log[i], r);
            if x[i] == f64::NEG_INFINITY {
                prop_assert_eq!(g_fused[i], 0.0);
            }
        }
    }

    #[test]
    fn gradient_matches_finite_differences(
        k in 1usize..=4,
        seed_values in proptest::collection::vec(-3.0f64..1.0, 4 + 16 + 10 * 4),
        n in 1usize..=10,
    ) {
        let mut x = seed_values[..k + k * k].to_vec();
        x.extend(&seed_values[20..20 + n * k]);
        trellis_ad::check_gradient(&Flat { k, core: Core::Dispatch }, &x, &trellis_ad::GradientCheck::default())
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
    }
}

/// `(signal, noise, log p_init (3), log p_trans (9))` and ragged data.
fn shared_signal_input() -> impl Strategy<Value = (Vec<f64>, Vec<Vec<f64>>)> {
    (
        0.2f64..3.0,
        0.05f64..2.0,
        proptest::collection::vec(log_entry(-4.0, 1.0), 12),
        proptest::collection::vec(proptest::collection::vec(-1.0f64..8.0, 1..30), 1..6),
    )
        .prop_map(|(signal, noise, logs, data)| {
            let mut x = vec![signal, noise];
            x.extend(logs);
            (x, data)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn fused_emission_matches_per_density_nodes_and_forward_mode((x, data) in shared_signal_input()) {
        let data = trellis_models::hmm::Sequences::new(data).unwrap();
        let value = RefModel { data: data.clone() }.eval(&x);
        if !value.is_finite() {
            return Ok(());
        }
        let (v_fused, g_fused) = reverse::value_and_gradient(&RefModel { data: data.clone() }, &x);
        let (v_nodes, g_nodes) = reverse::value_and_gradient(&RefModelNodes { data: data.clone() }, &x);
        let (v_fwd, g_fwd) = forward::value_and_gradient(&RefModel { data }, &x);
        // Reverse mode may run equal-length sequences through the SIMD lanes, whose vector
        // exp is within 1 ulp of libm's: equal to 1e-14 relative, not bit for bit.
        let lane_tol = 1e-14 * value.abs().max(1.0);
        prop_assert!((v_fused - value).abs() <= lane_tol, "fused {} vs {}", v_fused, value);
        prop_assert!((v_nodes - value).abs() <= lane_tol, "nodes {} vs {}", v_nodes, value);
        prop_assert_eq!(v_fwd.to_bits(), value.to_bits());
        for i in 0..x.len() {
            let r = g_fwd[i];
            let tol = 1e-8 * (1.0 + r.abs());
            prop_assert!(g_fused[i].is_finite() && g_nodes[i].is_finite());
            prop_assert!((g_fused[i] - r).abs() <= tol, "partial {}: fused {} vs forward {}", i, g_fused[i], r);
            prop_assert!((g_nodes[i] - r).abs() <= tol, "partial {}: nodes {} vs forward {}", i, g_nodes[i], r);
        }
    }
}

/// Where probability space cannot be trusted (densities of −10⁶ nats, an initial state at
/// −700), the fused node falls back to the plain log-space adjoint: still one node, the
/// generic value to the bit, and the generic gradient. The generic recursion on recorded
/// scalars, the fallback before, records `O(T·K²)` nodes (a K = 1000 fit ran out of memory).
#[test]
fn untrusted_probability_space_stays_one_node_with_the_generic_gradient() {
    use trellis_ad::Recording;
    // The first case is proptest's shrunk counter-example to a log-space backward pass
    // that subtracted the log-likelihood itself (12 transitions came out 12.000000016).
    let single = {
        let mut x = vec![-700.0, -1.1148665713316819];
        x.extend([
            -2.1e6,
            0.0,
            0.0,
            -2.1e6,
            -2.1e6,
            -9360.183650473891,
            0.0,
            0.0,
            0.0,
            0.0,
            0.0,
            -6756.9180998092215,
            0.0,
        ]);
        (1, x)
    };
    let three = {
        let k = 3;
        let mut x = vec![-700.0, -0.5, -1.5];
        x.extend((0..k * k).map(|i| if i % 4 == 0 { -0.1 } else { -800.0 - i as f64 }));
        x.extend((0..30 * k).map(|i| {
            let (t, j) = (i / k, i % k);
            -1.0e6 * ((t * 7 + j * 3) % 5) as f64 - 3.0 * j as f64
        }));
        (k, x)
    };
    for (k, x) in [single, three] {
        let generic_value = Flat {
            k,
            core: Core::Generic,
        }
        .eval(&x);
        assert!(generic_value.is_finite(), "{generic_value}");
        let (v_fused, g_fused) = reverse::value_and_gradient(
            &Flat {
                k,
                core: Core::Dispatch,
            },
            &x,
        );
        assert_eq!(v_fused.to_bits(), generic_value.to_bits());
        let (_, g_gen) = reverse::value_and_gradient(
            &Flat {
                k,
                core: Core::Generic,
            },
            &x,
        );
        for (i, (f, r)) in g_fused.iter().zip(&g_gen).enumerate() {
            assert!(
                (f - r).abs() <= 1e-12 * (1.0 + r.abs()),
                "K = {k}, partial {i}: fused {f} vs generic {r}"
            );
        }
        let rec = Recording::start();
        let vars: Vec<_> = x.iter().map(|&v| rec.input(v)).collect();
        let value = Flat {
            k,
            core: Core::Dispatch,
        }
        .eval(&vars);
        assert_eq!(value.value().to_bits(), generic_value.to_bits());
        assert_eq!(
            rec.len(),
            x.len() + 1,
            "K = {k}: inputs and the one fused node"
        );
    }
}
