//! Reverse-mode gradient of extended Rosenbrock (n = 1000) timed outside criterion, for a
//! quiet single number and for profiling (`perf record`):
//! `cargo bench -p trellis-benches --bench rosenbrock_standalone`.

use trellis_ad::reverse;
use trellis_benches::gradient_functions::{rosenbrock_point, Rosenbrock};

fn main() {
    let n = 1000;
    let x = rosenbrock_point(n);
    let mut g = vec![0.0; n];
    let t = std::time::Instant::now();
    let mut s = 0.0;
    for _ in 0..20000 {
        s += reverse::value_and_gradient_into(&Rosenbrock, &x, &mut g);
    }
    println!("{s} {:?} per grad", t.elapsed() / 20000);
}
