//! After the first reverse-mode gradient of a function, further gradients allocate nothing:
//! counted with a global allocator wrapper (its own test binary, one test, so no other
//! thread allocates while counting).

use trellis_ad::{reverse, ElementwiseFn, MapArg, Scalar, ScalarFn, Var};

/// The gradient benchmarks' functions (one copy, in `benches/src`).
#[allow(dead_code)]
#[path = "../../benches/src/gradient_functions.rs"]
mod gradient_functions;
use gradient_functions::Rosenbrock;

mod counting_alloc;
use counting_alloc::allocations;

/// `(a - c)² · d` of an element `a`, a broadcast `c` and data `d` (default partials).
struct Term;
impl ElementwiseFn<3> for Term {
    fn eval<T: Scalar>(&self, [a, c, d]: [T; 3]) -> T {
        (a - c) * (a - c) * d
    }
}

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
            + T::log_sum_exp_of_sums(&x[..4], &x[4..8])
            + T::sum_map(
                &Term,
                [
                    MapArg::Each(&x[..4]),
                    MapArg::All(x[9]),
                    MapArg::Data(&weights),
                ],
            )
            + T::sum_log_logistic_of_linear(&[0.5, -1.0, 0.25, 2.0, 1.0, 0.0], &x[10..12])
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

    let before = allocations();
    for _ in 0..10 {
        reverse::value_and_gradient_into(&Workload, &x, &mut grad);
    }
    let after = allocations();
    assert_eq!(after - before, 0, "allocations in 10 warm gradients");
    assert!(grad.iter().all(|g| g.is_finite()));
}
