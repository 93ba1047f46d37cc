//! Reverse-mode gradient of extended Rosenbrock (n = 1000) timed outside criterion, for a
//! quiet single number and for profiling (`perf record`):
//! `cargo bench -p trellis-benches --bench rosenbrock_standalone`.

use trellis_ad::{reverse, Scalar, ScalarFn};
struct Rosenbrock;
impl ScalarFn for Rosenbrock {
    fn eval<T: Scalar>(&self, x: &[T]) -> T {
        let mut acc = T::constant(0.0);
        for i in 0..x.len() - 1 {
            let a = x[i + 1] - x[i] * x[i];
            let b = -x[i] + 1.0;
            acc += a * a * 100.0 + b * b;
        }
        acc
    }
}
fn main() {
    let n = 1000;
    let x: Vec<f64> = (0..n).map(|i| 0.5 + 0.3 * (i as f64).sin()).collect();
    let mut g = vec![0.0; n];
    let t = std::time::Instant::now();
    let mut s = 0.0;
    for _ in 0..20000 {
        s += reverse::value_and_gradient_into(&Rosenbrock, &x, &mut g);
    }
    println!("{s} {:?} per grad", t.elapsed() / 20000);
}
