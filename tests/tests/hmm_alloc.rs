//! The reference HMM log-likelihood (70 × 51, K = 3): after the first reverse-mode value and
//! gradient, the 2nd..10th allocate nothing (single thread, serial path), both with an
//! emission on the fused fast path and with one tape node per emission density. Counted with a
//! global allocator wrapper in its own test binary with one test, so no other thread
//! allocates while counting.

use trellis_ad::{reverse, Scalar, ScalarFn};
use trellis_models::hmm::{self, Sequences};

mod counting_alloc;
use counting_alloc::allocations;

// The reference emission has one copy, shared with the `hmm` bench and the `hmm_*` tests.
#[path = "../../benches/src/shared_signal.rs"]
mod shared_signal;
use shared_signal::SharedSignal;

struct Model<const MODE: u8> {
    data: Sequences<f64>,
}

impl<const MODE: u8> ScalarFn for Model<MODE> {
    fn eval<T: Scalar>(&self, x: &[T]) -> T {
        let emission = SharedSignal::<T, MODE>::with_mode(x[0], x[1], 3);
        hmm::batch_log_likelihood(&x[2..5], &x[5..14], &emission, &self.data).unwrap()
    }
}

/// Allocations during the first, and during the 2nd..10th, value and gradient.
fn count<F: ScalarFn + Sync>(model: &F, x: &[f64]) -> (usize, usize, Vec<f64>) {
    let mut grad = vec![0.0; x.len()];
    let before = allocations();
    let v1 = reverse::value_and_gradient_into(model, x, &mut grad);
    let first = allocations() - before;
    let mut values = vec![v1; 10];
    let before = allocations();
    for v in values.iter_mut().skip(1) {
        *v = reverse::value_and_gradient_into(model, x, &mut grad);
    }
    let later = allocations() - before;
    (first, later, values)
}

#[test]
fn reverse_hmm_gradients_allocate_nothing_once_warm() {
    let seed = hmm::seed_dataset();
    let mut x = vec![seed.emission_signal, seed.emission_noise];
    x.extend(seed.p_initial_state.iter().map(|p| p.ln()));
    x.extend(seed.p_transition.iter().map(|p| p.ln()));
    let fused = Model::<{ shared_signal::FUSED }> {
        data: seed.sequences.clone(),
    };
    let nodes = Model::<{ shared_signal::NODES }> {
        data: seed.sequences.clone(),
    };
    // One thread: the serial path.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let results = pool.install(|| [count(&fused, &x), count(&nodes, &x)]);
    for (name, (first, later, values)) in ["fused emission", "one node per density"]
        .into_iter()
        .zip(results)
    {
        assert!(first > 0, "{name}: the first evaluation warms the buffers");
        assert_eq!(
            later, 0,
            "{name}: evaluations 2..10 allocated {later} times"
        );
        assert!(values.iter().all(|v| v.to_bits() == values[0].to_bits()));
        assert!((values[0] - (-37.00348856574056)).abs() < 1e-9);
    }
}
