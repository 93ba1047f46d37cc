//! Runs one gradient benchmark of `benches/benches/ad_gradients.rs` a given number of times,
//! for instruction counts without criterion's own work:
//!
//! ```text
//! cargo build --release -p trellis-benches --bin gradient_cost
//! valgrind --tool=callgrind target/release/gradient_cost rosenbrock-reverse-1000 200
//! ```
//!
//! The difference between the counts of 200 and 100 runs, divided by 100, is the cost of one
//! gradient with set-up excluded. Benchmarks: `rosenbrock-{reverse,forward}-{10,100,1000}`,
//! `mixture-{reverse,forward}`.

use trellis_ad::{forward, reverse};
use trellis_benches::gradient_functions::{rosenbrock_point, Mixture, Rosenbrock};

/// One value-and-gradient evaluation into a gradient buffer.
type Gradient<'a> = &'a dyn Fn(&[f64], &mut [f64]) -> f64;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: gradient_cost <rosenbrock-{reverse,forward}-{10,100,1000} | \
                 mixture-{reverse,forward}> <runs>";
    let (Some(which), Some(runs)) = (args.get(1), args.get(2)) else {
        eprintln!("{usage}");
        std::process::exit(2);
    };
    let runs: usize = runs.parse().unwrap_or_else(|_| {
        eprintln!("{usage}");
        std::process::exit(2);
    });
    let parts: Vec<&str> = which.split('-').collect();
    let mixture = Mixture::new();
    let (f, x): (Gradient, Vec<f64>) = match parts.as_slice() {
        ["rosenbrock", mode, n] => {
            let n: usize = n.parse().expect("n");
            let x = rosenbrock_point(n);
            match *mode {
                "reverse" => (
                    &|x, g| reverse::value_and_gradient_into(&Rosenbrock, x, g),
                    x,
                ),
                "forward" => (
                    &|x, g| forward::value_and_gradient_into(&Rosenbrock, x, g),
                    x,
                ),
                _ => panic!("{usage}"),
            }
        }
        ["mixture", "reverse"] => (
            &|x, g| reverse::value_and_gradient_into(&mixture, x, g),
            vec![0.3, -0.4],
        ),
        ["mixture", "forward"] => (
            &|x, g| forward::value_and_gradient_into(&mixture, x, g),
            vec![0.3, -0.4],
        ),
        _ => panic!("{usage}"),
    };
    let mut grad = vec![0.0; x.len()];
    let mut total = 0.0;
    for _ in 0..runs {
        total += f(std::hint::black_box(&x), &mut grad);
    }
    println!("{total} {}", grad[0]);
}
