//! The reference HMM log-likelihood (70 × 51, K = 3): after the first reverse-mode value and
//! gradient, the 2nd..10th allocate nothing (single thread, serial path), both with an
//! emission on the fused fast path and with one tape node per emission density. Counted with a
//! global allocator wrapper in its own test binary with one test, so no other thread
//! allocates while counting.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use trellis_ad::{reverse, Scalar, ScalarFn};
use trellis_models::hmm::{self, Sequences};
use trellis_models::{Emission, FusedEmission};

struct Counting;
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;

/// `ln N(y; (k + 1) · signal, noise)`: with `FUSED`, through the fused fast path
/// (`Emission::fused`); otherwise one tape node per density.
struct SharedSignal<T, const FUSED: bool> {
    signal: T,
    noise: T,
}

impl<T: Scalar, const FUSED: bool> SharedSignal<T, FUSED> {
    fn plain(&self, y: f64, k: usize) -> (f64, f64, f64) {
        let (s, sd) = (self.signal.value(), self.noise.value());
        let inv = 1.0 / sd;
        let z = (y - (k + 1) as f64 * s) * inv;
        (z, inv, -(z * z) * 0.5 - sd.ln() - HALF_LN_2PI)
    }
}

impl<T: Scalar, const FUSED: bool> Emission<T> for SharedSignal<T, FUSED> {
    type Obs = f64;
    fn n_states(&self) -> usize {
        3
    }
    fn log_densities(&self, seq: &[f64], t: usize, out: &mut [T]) {
        for (k, o) in out.iter_mut().enumerate() {
            let (z, inv, value) = self.plain(seq[t], k);
            let w = (k + 1) as f64;
            *o = T::custom(
                &[self.signal, self.noise],
                value,
                &[z * inv * w, (z * z - 1.0) * inv],
            );
        }
    }
    fn fused(&self) -> Option<&dyn FusedEmission<T, Obs = f64>> {
        if FUSED {
            Some(self)
        } else {
            None
        }
    }
}

impl<T: Scalar, const FUSED: bool> FusedEmission<T> for SharedSignal<T, FUSED> {
    fn parameters(&self, out: &mut Vec<T>) {
        out.extend([self.signal, self.noise]);
    }
    fn log_densities_with_jacobian(
        &self,
        seq: &[f64],
        t: usize,
        values: &mut [f64],
        jacobian: &mut [f64],
    ) {
        for k in 0..3 {
            let (z, inv, value) = self.plain(seq[t], k);
            values[k] = value;
            jacobian[2 * k] = z * inv * (k + 1) as f64;
            jacobian[2 * k + 1] = (z * z - 1.0) * inv;
        }
    }
}

struct Model<const FUSED: bool> {
    data: Sequences<f64>,
}

impl<const FUSED: bool> ScalarFn for Model<FUSED> {
    fn eval<T: Scalar>(&self, x: &[T]) -> T {
        let emission = SharedSignal::<T, FUSED> {
            signal: x[0],
            noise: x[1],
        };
        hmm::batch_log_likelihood(&x[2..5], &x[5..14], &emission, &self.data).unwrap()
    }
}

/// Allocations during the first, and during the 2nd..10th, value and gradient.
fn count<F: ScalarFn + Sync>(model: &F, x: &[f64]) -> (usize, usize, Vec<f64>) {
    let mut grad = vec![0.0; x.len()];
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    let v1 = reverse::value_and_gradient_into(model, x, &mut grad);
    let first = ALLOCATIONS.load(Ordering::SeqCst) - before;
    let mut values = vec![v1; 10];
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    for v in values.iter_mut().skip(1) {
        *v = reverse::value_and_gradient_into(model, x, &mut grad);
    }
    let later = ALLOCATIONS.load(Ordering::SeqCst) - before;
    (first, later, values)
}

#[test]
fn reverse_hmm_gradients_allocate_nothing_once_warm() {
    let seed = hmm::seed_dataset();
    let mut x = vec![seed.emission_signal, seed.emission_noise];
    x.extend(seed.p_initial_state.iter().map(|p| p.ln()));
    x.extend(seed.p_transition.iter().map(|p| p.ln()));
    let fused = Model::<true> {
        data: seed.sequences.clone(),
    };
    let nodes = Model::<false> {
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
