//! Runs one gradient benchmark of `benches/benches/ad_gradients.rs` a given number of times,
//! for instruction counts without criterion's own work:
//!
//! ```text
//! cargo build --release -p trellis-ad --example gradient_cost
//! valgrind --tool=callgrind target/release/examples/gradient_cost rosenbrock-reverse-1000 200
//! ```
//!
//! The difference between the counts of 200 and 100 runs, divided by 100, is the cost of one
//! gradient with set-up excluded. Benchmarks: `rosenbrock-{reverse,forward}-{10,100,1000}`,
//! `mixture-{reverse,forward}`.

use trellis_ad::{forward, reverse, Scalar, ScalarFn};

/// Extended Rosenbrock, written as in the gradient bench.
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

/// log Σₖ wₖ N((x, y); μₖ, I) over 64 components, as in the gradient bench.
struct Mixture {
    centres: Vec<(f64, f64)>,
    log_weights: Vec<f64>,
}

impl Mixture {
    fn new() -> Self {
        let k = 64;
        let centres = (0..k)
            .map(|i| {
                let a = i as f64 * 0.7;
                (
                    a.cos() * (1.0 + i as f64 * 0.05),
                    a.sin() * (1.0 + i as f64 * 0.05),
                )
            })
            .collect();
        let raw: Vec<f64> = (0..k).map(|i| ((i * 7919) % 13) as f64 * 0.1).collect();
        let norm = f64::log_sum_exp(&raw);
        Self {
            centres,
            log_weights: raw.iter().map(|r| r - norm).collect(),
        }
    }
}

impl ScalarFn for Mixture {
    fn eval<T: Scalar>(&self, p: &[T]) -> T {
        trellis_ad::scratch::with_vec(|terms: &mut Vec<T>| {
            for (&(cx, cy), &lw) in self.centres.iter().zip(&self.log_weights) {
                let (dx, dy) = (p[0] - cx, p[1] - cy);
                terms.push((dx * dx + dy * dy) * -0.5 + lw);
            }
            T::log_sum_exp(terms) - std::f64::consts::LN_2 - std::f64::consts::PI.ln()
        })
    }
}

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
            let x = (0..n).map(|i| 0.5 + 0.3 * (i as f64).sin()).collect();
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
