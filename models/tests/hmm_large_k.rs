//! The reverse-mode batch total accumulated over sequences (`hmm::batch_log_likelihood` when
//! the per-sequence shared partials `N · (K + K² + P)` exceed `hmm::ACCUMULATE_MIN`): forced
//! at moderate sizes through `batch_log_likelihood_with_threshold`, its value and gradient
//! agree with the per-sequence nodes to 1e-12 relative (only the order of the sums differs),
//! for a family with the fused emission and with one node per density (the fast path
//! hidden), with and without missing steps; serially and on pools of 1 and 2 threads the
//! results are bit-identical.

use crate::zoo_common;

use trellis_ad::{reverse, Scalar, ScalarFn};
use trellis_models::hmm::{self, Sequences};
use trellis_models::zoo::{Family, GaussianFamily, HmmModel, PoissonFamily};
use trellis_models::BayesianModel;
use zoo_common::real_dummy;

// The emission wrapper that hides the fast path and the simulated models: one copy, shared
// with the `hmm` bench.
use crate::family_likelihood;
use family_likelihood::{simulated_model, PerDensityNodes};

/// The model's HMM log-likelihood at an unconstrained point with the accumulation threshold
/// `threshold` (0: always accumulate, `usize::MAX`: never), through the fused emission or
/// (`nodes`) one node per density.
struct Total<'m, F: Family> {
    model: &'m HmmModel<F>,
    nodes: bool,
    threshold: usize,
}

impl<F: Family> ScalarFn for Total<'_, F> {
    fn eval<T: Scalar>(&self, u: &[T]) -> T {
        let layout = self.model.layout();
        let mut buffer = Vec::new();
        let params = layout.constrain_params(u, &mut buffer).unwrap();
        let log_of = |name: &str| params.log_of(layout.handle(name).unwrap()).unwrap();
        let (li, lt) = (log_of("p_initial_state"), log_of("p_transition"));
        let emission = self.model.emission(&params);
        let data = self.model.data();
        let t = self.threshold;
        if self.nodes {
            hmm::batch_log_likelihood_with_threshold(li, lt, &PerDensityNodes(&emission), data, t)
        } else {
            hmm::batch_log_likelihood_with_threshold(li, lt, &emission, data, t)
        }
        .unwrap()
    }
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1.0)
}

/// Value and gradient in a rayon pool of `threads` threads.
fn in_pool<F: Family + Sync>(f: &Total<'_, F>, u: &[f64], threads: usize) -> (f64, Vec<f64>)
where
    F::Obs: Sync,
{
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(|| reverse::value_and_gradient(f, u))
}

/// Compares the accumulated route with the per-sequence one (both emission routes), and the
/// accumulated route serially and in pools of 1 and 2 threads.
fn check<F: Family + Sync>(model: &HmmModel<F>, u: &[f64])
where
    F::Obs: Sync,
{
    for nodes in [false, true] {
        let per_sequence = Total {
            model,
            nodes,
            threshold: usize::MAX,
        };
        let summed = Total {
            model,
            nodes,
            threshold: 0,
        };
        let (v0, g0) = reverse::value_and_gradient(&per_sequence, u);
        let (v1, g1) = reverse::value_and_gradient(&summed, u);
        assert!(v0.is_finite() && g0.iter().all(|g| g.is_finite()));
        assert!(rel(v1, v0) < 1e-12, "nodes {nodes}: value {v1} vs {v0}");
        for (i, (a, b)) in g1.iter().zip(&g0).enumerate() {
            assert!(rel(*a, *b) < 1e-12, "nodes {nodes}: ∂/∂u[{i}] {a} vs {b}");
        }
        // The f64 value is the per-sequence route's (the threshold only matters in reverse
        // mode).
        assert_eq!(summed.eval(u), per_sequence.eval(u));
        for threads in [1, 2] {
            let (v, g) = in_pool(&summed, u, threads);
            assert_eq!(
                v.to_bits(),
                v1.to_bits(),
                "nodes {nodes}, {threads} threads"
            );
            assert!(
                g.iter().zip(&g1).all(|(a, b)| a.to_bits() == b.to_bits()),
                "nodes {nodes}, {threads} threads: gradient differs"
            );
        }
    }
}

/// A point of `dim` entries with some structure (not the prior's centre).
fn point(dim: usize) -> Vec<f64> {
    (0..dim)
        .map(|i| 0.3 * ((i * 7 % 11) as f64 - 5.0) / 5.0)
        .collect()
}

#[test]
fn gaussian_accumulated_matches_per_sequence() {
    // K = 6 (no SIMD lanes), 40 sequences: big enough for the parallel split (pool of 2).
    let (model, u) = simulated_model(GaussianFamily::new(6), real_dummy(), point, (40, 60, 3));
    check(&model, &u);
}

#[test]
fn poisson_accumulated_matches_per_sequence_small_k() {
    // K = 3 (SIMD lanes on the per-sequence route), ragged lengths via a second data set.
    let family = PoissonFamily::new(3);
    let (model, u) = simulated_model(
        family.clone(),
        Sequences::new(vec![vec![1u32, 2, 3]]).unwrap(),
        point,
        (25, 40, 5),
    );
    let mut rows: Vec<Vec<u32>> = model.data().iter().map(|s| s.to_vec()).collect();
    for (s, row) in rows.iter_mut().enumerate() {
        row.truncate(10 + s);
    }
    let ragged = HmmModel::new(family, Sequences::new(rows).unwrap()).unwrap();
    check(&ragged, &u);
}

#[test]
fn accumulated_with_missing_steps() {
    let (model, u) = simulated_model(GaussianFamily::new(5), real_dummy(), point, (30, 50, 9));
    let data = model.data();
    let missing: Vec<bool> = (0..data.total_len()).map(|i| i % 7 == 3).collect();
    let data = data.clone().with_missing(missing).unwrap();
    let masked = HmmModel::new(GaussianFamily::new(5), data).unwrap();
    check(&masked, &u);
}
