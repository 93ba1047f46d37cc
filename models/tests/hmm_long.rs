//! Long sequences and badly scaled inputs: the scaled recursion against a log-space
//! forward algorithm written here, and finite gradients.

use crate::hmm_common;

use hmm_common::*;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal};
use rand_xoshiro::Xoshiro256PlusPlus;
use trellis_ad::{forward, reverse, ScalarFn};
use trellis_models::hmm::{self, HmmParams, Sequences};
use trellis_models::FusedEmission;

/// The plain log-space forward algorithm, independent of the library.
fn log_space_reference(li: &[f64], lt: &[f64], le: &[f64], k: usize) -> f64 {
    let lse = |xs: &[f64]| {
        let m = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if m == f64::NEG_INFINITY {
            m
        } else {
            m + xs.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
        }
    };
    let n = le.len() / k;
    let mut la: Vec<f64> = (0..k).map(|j| li[j] + le[j]).collect();
    let mut tmp = vec![0.0; k];
    for t in 1..n {
        let next: Vec<f64> = (0..k)
            .map(|j| {
                for i in 0..k {
                    tmp[i] = la[i] + lt[i * k + j];
                }
                lse(&tmp) + le[t * k + j]
            })
            .collect();
        la = next;
    }
    lse(&la)
}

/// A path and observations simulated from the seed model's true parameters.
fn simulate(n: usize, seed: u64) -> (Vec<f64>, Vec<usize>) {
    let data = hmm::seed_dataset();
    let params = HmmParams::from_probabilities(&data.p_initial_state, &data.p_transition).unwrap();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let states = hmm::simulate_states(&params, n, &mut rng);
    let ys = states
        .iter()
        .map(|&z| {
            Normal::new((z + 1) as f64 * data.emission_signal, data.emission_noise)
                .unwrap()
                .sample(&mut rng)
        })
        .collect();
    (ys, states)
}

fn true_x() -> Vec<f64> {
    true_point(&truth())
}

fn emission_matrix(x: &[f64], ys: &[f64]) -> Vec<f64> {
    let e = SharedSignal::new(x[0], x[1], 3);
    let mut le = vec![0.0; ys.len() * 3];
    for t in 0..ys.len() {
        trellis_models::Emission::log_densities(&e, ys, t, &mut le[t * 3..t * 3 + 3]);
    }
    le
}

#[test]
fn hundred_thousand_steps_give_the_log_space_value() {
    let (ys, _) = simulate(100_000, 1);
    let x = true_x();
    let le = emission_matrix(&x, &ys);
    let reference = log_space_reference(&x[2..5], &x[5..14], &le, 3);
    let value: f64 = hmm::forward_log_likelihood(&x[2..5], &x[5..14], &le, 3).unwrap();
    assert!(value.is_finite());
    assert!(rel_err(value, reference) < 1e-11, "{value} vs {reference}");
    // Also at a point far from the truth, where every step is surprising.
    let mut far = x.clone();
    far[0] = 0.3;
    far[1] = 0.05;
    let le = emission_matrix(&far, &ys);
    let reference = log_space_reference(&far[2..5], &far[5..14], &le, 3);
    let value: f64 = hmm::forward_log_likelihood(&far[2..5], &far[5..14], &le, 3).unwrap();
    assert!(value.is_finite() && reference < -1e6);
    assert!(rel_err(value, reference) < 1e-11, "{value} vs {reference}");
}

#[test]
fn hundred_thousand_steps_give_finite_matching_gradients() {
    let (ys, _) = simulate(100_000, 2);
    let model = RefModel {
        data: Sequences::single(ys).unwrap(),
    };
    let x = true_x();
    let (v_rev, g_rev) = reverse::value_and_gradient(&model, &x);
    let (v_fwd, g_fwd) = forward::value_and_gradient(&model, &x);
    assert!(v_rev.is_finite());
    assert_eq!(v_rev.to_bits(), v_fwd.to_bits());
    for (a, b) in g_rev.iter().zip(&g_fwd) {
        assert!(a.is_finite());
        assert!((a - b).abs() <= 1e-8 * (1.0 + b.abs()), "{a} vs {b}");
    }
    // ∂/∂log p_initial sums to 1 (one sequence), the transition partials to T − 1.
    assert!((g_rev[2..5].iter().sum::<f64>() - 1.0).abs() < 1e-12);
    assert!((g_rev[5..14].iter().sum::<f64>() - 99_999.0).abs() < 1e-6);
}

#[test]
fn per_chunk_sums_of_independent_sequences_add_up() {
    // A batch of 100 sequences of 1 000 steps is the sum of its parts.
    let (ys, _) = simulate(100_000, 3);
    let data = Sequences::new(ys.chunks(1000).map(|c| c.to_vec())).unwrap();
    let x = true_x();
    let emission = SharedSignal::new(x[0], x[1], 3);
    let total: f64 = hmm::batch_log_likelihood(&x[2..5], &x[5..14], &emission, &data).unwrap();
    let mut sum = 0.0;
    for seq in &data {
        let le = emission_matrix(&x, seq);
        sum += log_space_reference(&x[2..5], &x[5..14], &le, 3);
    }
    assert!(rel_err(total, sum) < 1e-11);
}

#[test]
fn very_negative_log_densities() {
    // Every log-density near -1e5: per-step shifting keeps the recursion exact.
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(4);
    let (k, n) = (4, 5000);
    let li: Vec<f64> = vec![0.25f64.ln(); k];
    let lt: Vec<f64> = (0..k * k)
        .map(|i| {
            if i % (k + 1) == 0 {
                0.7f64.ln()
            } else {
                0.1f64.ln()
            }
        })
        .collect();
    let le: Vec<f64> = (0..n * k)
        .map(|_| -1e5 + rng.random_range(-50.0..50.0))
        .collect();
    let value: f64 = hmm::forward_log_likelihood(&li, &lt, &le, k).unwrap();
    let reference = log_space_reference(&li, &lt, &le, k);
    assert!(rel_err(value, reference) < 1e-12, "{value} vs {reference}");
    let mut x = li.clone();
    x.extend(&lt);
    x.extend(&le);
    let g = reverse::gradient(
        &Flat {
            k,
            core: Core::Dispatch,
        },
        &x,
    );
    assert!(g.iter().all(|v| v.is_finite()));
}

/// The log-space reference log-likelihood of `(li, lt, le)` (K = 2) and the point
/// `[li | lt | le]`.
fn reference_and_point(li: &[f64], lt: &[f64], le: &[f64]) -> (f64, Vec<f64>) {
    (log_space_reference(li, lt, le, 2), [li, lt, le].concat())
}

#[test]
fn underflowing_probability_space_falls_back_to_log_space() {
    // State 0 only (π = (1, 0)); the move to state 1 has probability e^-800 (0 in f64
    // after exponentiation), and state 0 then has emission density e^-1000 relative to
    // state 1: the probability-space normaliser is 0, the true log-likelihood finite.
    let li = [0.0, f64::NEG_INFINITY];
    let lt = [0.0, -800.0, f64::NEG_INFINITY, 0.0];
    let le = [0.0, 0.0, -1000.0, 0.0, -1000.0, 0.0];
    let (reference, x) = reference_and_point(&li, &lt, &le);
    assert!((reference - (-800.0)).abs() < 1e-9);
    for core in [Core::Dispatch, Core::Generic] {
        let f = Flat { k: 2, core };
        let v = f.eval(&x);
        assert!(rel_err(v, reference) < 1e-14, "{core:?}: {v}");
        let (vr, gr) = reverse::value_and_gradient(&f, &x);
        let (vf, gf) = forward::value_and_gradient(&f, &x);
        assert_eq!(vr, v);
        assert_eq!(vf, v);
        for (a, b) in gr.iter().zip(&gf) {
            assert!(
                a.is_finite() && (a - b).abs() < 1e-12,
                "{core:?}: {a} vs {b}"
            );
        }
        // All the probability goes through the path 0 → 1 → 1.
        assert!((gr[3] - 1.0).abs() < 1e-12); // ∂/∂log P[0][1]
        assert_eq!(gr[0], 1.0);
    }
}

#[test]
fn mass_dropped_by_underflow_is_recovered_when_it_matters() {
    // State 1 starts e^-2050 less likely than state 0 (below f64's range relative to it),
    // but state 0 then becomes e^-3200 unlikely and cannot move to state 1: the true
    // log-likelihood is the one of the path through state 1.
    let li = [0.0, 0.0];
    let lt = [0.0, f64::NEG_INFINITY, 0.0, 0.0];
    let le = [0.0, -2050.0, -3200.0, 0.0];
    let (reference, x) = reference_and_point(&li, &lt, &le);
    assert!((reference - (-2050.0)).abs() < 1e-9);
    for core in [Core::Dispatch, Core::Generic] {
        let f = Flat { k: 2, core };
        let (v, g) = reverse::value_and_gradient(&f, &x);
        assert!(rel_err(v, reference) < 1e-14, "{core:?}: {v}");
        assert!(g.iter().all(|v| v.is_finite()));
        assert!((g[1] - 1.0).abs() < 1e-12); // all posterior mass starts in state 1
    }
}

/// `ℓ[t][k] = θ · base[t][k]` with the fused fast path (observations are time indices).
struct Scaled<T> {
    theta: T,
    base: Vec<f64>,
    k: usize,
}

impl<T: trellis_ad::Scalar> trellis_models::Emission<T> for Scaled<T> {
    type Obs = usize;
    fn n_states(&self) -> usize {
        self.k
    }
    fn log_densities(&self, seq: &[usize], t: usize, out: &mut [T]) {
        for (j, o) in out.iter_mut().enumerate() {
            *o = self.theta * self.base[seq[t] * self.k + j];
        }
    }
    fn fused(&self) -> Option<&dyn FusedEmission<T, Obs = usize>> {
        Some(self)
    }
}

impl<T: trellis_ad::Scalar> FusedEmission<T> for Scaled<T> {
    /// Values `v` and their θ-derivatives `jac`: `∂/∂θ (θ b_j) = b_j`.
    fn log_densities_with_jacobian(&self, seq: &[usize], t: usize, v: &mut [f64], jac: &mut [f64]) {
        for j in 0..self.k {
            let b = self.base[seq[t] * self.k + j];
            v[j] = self.theta.value() * b;
            jac[j] = b;
        }
    }
    fn parameters(&self, out: &mut Vec<T>) {
        out.push(self.theta);
    }
}

struct ScaledModel {
    base: Vec<f64>,
    data: Sequences<usize>,
}

impl ScalarFn for ScaledModel {
    fn eval<T: trellis_ad::Scalar>(&self, x: &[T]) -> T {
        let e = Scaled {
            theta: x[6],
            base: self.base.clone(),
            k: 2,
        };
        hmm::batch_log_likelihood(&x[..2], &x[2..6], &e, &self.data).unwrap()
    }
}

#[test]
fn fused_emission_path_falls_back_when_probability_space_fails() {
    // The lost-mass case above through an emission with the fused fast path: the kernel
    // declines, the generic code recomputes that sequence from recorded densities.
    let model = ScaledModel {
        base: vec![0.0, -2050.0, -3200.0, 0.0, -1.0, -2.0],
        data: Sequences::new(vec![vec![0, 1], vec![2, 2, 0]]).unwrap(),
    };
    let x = [0.0, 0.0, 0.0, f64::NEG_INFINITY, 0.0, 0.0, 1.0];
    let (vr, gr) = reverse::value_and_gradient(&model, &x);
    let (vf, gf) = forward::value_and_gradient(&model, &x);
    assert!(vr.is_finite() && (vr - vf).abs() < 1e-12 * vf.abs());
    for (a, b) in gr.iter().zip(&gf) {
        assert!(
            a.is_finite() && (a - b).abs() < 1e-9 * (1.0 + b.abs()),
            "{a} vs {b}"
        );
    }
    // Sequence 0's value is the path through state 1.
    let first = Sequences::new(vec![vec![0usize, 1]]).unwrap();
    let v0 = ScaledModel {
        base: model.base.clone(),
        data: first,
    }
    .eval(&x);
    assert!((v0 - (-2050.0)).abs() < 1e-9);
}

struct ConstantModel(Sequences<f64>);
impl ScalarFn for ConstantModel {
    fn eval<T: trellis_ad::Scalar>(&self, x: &[T]) -> T {
        hmm::batch_log_likelihood(&x[..2], &x[2..6], &Constant::VALID, &self.0).unwrap()
    }
}

#[test]
fn fused_emission_without_parameters() {
    let model = ConstantModel(Sequences::new(vec![vec![0.1, 0.9, 0.4], vec![0.7]]).unwrap());
    let x = [
        0.3f64.ln(),
        0.7f64.ln(),
        0.9f64.ln(),
        0.1f64.ln(),
        0.2f64.ln(),
        0.8f64.ln(),
    ];
    let (vr, gr) = reverse::value_and_gradient(&model, &x);
    let (vf, gf) = forward::value_and_gradient(&model, &x);
    assert_eq!(vr.to_bits(), vf.to_bits());
    for (a, b) in gr.iter().zip(&gf) {
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    }
}

#[test]
fn overflowing_transition_weights_give_the_same_value_in_every_mode() {
    // Unnormalised log-probabilities whose exponentials overflow (P[0][1] = e^710 = inf),
    // with exact zeros beside them: a `0 × inf` must never reach the value. Every route
    // (plain values, the fused reverse-mode node, forward mode) gives the log-space value.
    let li = [0.0, f64::NEG_INFINITY];
    let lt = [f64::NEG_INFINITY, 710.0, 0.0, -1.0];
    let le = [-1.0, f64::NEG_INFINITY, -2.0, -0.5, -0.3, -4.0];
    let value: f64 = hmm::forward_log_likelihood(&li, &lt, &le, 2).unwrap();
    let reference: f64 = hmm::forward_log_likelihood_log_space(&li, &lt, &le, 2).unwrap();
    assert!(value.is_finite());
    assert_eq!(value.to_bits(), reference.to_bits());
    let model = Flat {
        k: 2,
        core: Core::Dispatch,
    };
    let x: Vec<f64> = li.iter().chain(&lt).chain(&le).copied().collect();
    let (vr, gr) = reverse::value_and_gradient(&model, &x);
    let (vf, gf) = forward::value_and_gradient(&model, &x);
    assert_eq!(vr.to_bits(), value.to_bits());
    assert_eq!(vf.to_bits(), value.to_bits());
    for (a, b) in gr.iter().zip(&gf) {
        assert!(
            a.is_finite() && (a - b).abs() <= 1e-12 * (1.0 + b.abs()),
            "{a} vs {b}"
        );
    }
}
