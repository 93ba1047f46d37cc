//! After the first reverse-mode gradient of a function, further gradients allocate nothing:
//! counted with a global allocator wrapper (its own test binary, one test, so no other
//! thread allocates while counting).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use trellis_ad::{reverse, Scalar, ScalarFn, Var};

/// The gradient benchmarks' functions (one copy, in `benches/src`).
#[allow(dead_code)]
#[path = "../../benches/src/gradient_functions.rs"]
mod gradient_functions;
use gradient_functions::Rosenbrock;

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
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Rosenbrock plus the fused n-ary nodes and a custom operation.
struct Workload;
impl ScalarFn for Workload {
    fn eval<T: Scalar>(&self, x: &[T]) -> T {
        let acc = Rosenbrock.eval(x);
        let weights = [0.5; 4];
        let custom = T::custom(
            &x[..2],
            x[0].value() * x[1].value(),
            &[x[1].value(), x[0].value()],
        );
        acc + T::log_sum_exp(x)
            + T::dot(&x[..4], &x[4..8])
            + T::weighted_sum(&x[..4], &weights)
            + custom
    }
}

#[test]
fn reverse_gradients_allocate_nothing_once_warm() {
    let x: Vec<f64> = (0..100).map(|i| (i as f64 * 0.1).cos()).collect();
    let mut grad = vec![0.0; x.len()];
    reverse::value_and_gradient_into(&Workload, &x, &mut grad);
    let custom_inputs = [Var::constant(1.0)];
    Var::custom_op(&custom_inputs, |_, g| {
        g[0] = 0.0;
        0.0
    });

    let before = ALLOCATIONS.load(Ordering::SeqCst);
    for _ in 0..10 {
        reverse::value_and_gradient_into(&Workload, &x, &mut grad);
    }
    let after = ALLOCATIONS.load(Ordering::SeqCst);
    assert_eq!(after - before, 0, "allocations in 10 warm gradients");
    assert!(grad.iter().all(|g| g.is_finite()));
}
