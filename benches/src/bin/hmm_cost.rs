//! Runs one HMM value + gradient of the `hmm` bench a given number of times, for instruction
//! counts without criterion's own work (issues 10 and 11: the homogeneous case's cost, the
//! per-step covariate transitions' and missing steps' cost relative to it):
//!
//! ```text
//! cargo build --release -p trellis-benches --bin hmm_cost
//! RAYON_NUM_THREADS=1 valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!     target/release/hmm_cost homogeneous 40
//! ```
//!
//! `(count(2N) − count(N)) / N` is the cost of one value + gradient with set-up excluded.
//! Cases (all on the seed data, 70 × 51, K = 3, reverse mode):
//! - `homogeneous` / `complete`: the reference log-likelihood ([`ReferenceModel`]);
//! - `missing`: the same with 10 % of the steps missing;
//! - `zoo-homogeneous`, `covariates`: the zoo shared-signal model's likelihood with one
//!   transition matrix, and with covariate-driven transitions (C = 3);
//! - `hand`: the yardstick, the hand-written scalar forward–backward with K = 3 fixed
//!   ([`HandWrittenHmm`]), on the `homogeneous` case's data and point (issue 12).
//!
//! `TRELLIS_HMM_LANES=0` in the environment keeps the library on its scalar kernel (no SIMD
//! lane groups), for a before/after in one build.
//!
//! The last line printed is a checksum of the last value and gradient (their bits, hashed),
//! so runs of two builds show whether they are bit-identical.

use trellis_ad::{reverse, ScalarFn};
use trellis_benches::hand_written::HandWrittenHmm;
use trellis_benches::reference_model::{
    reference_point, with_ten_percent_missing, zoo_reference, ReferenceModel,
};
use trellis_benches::shared_signal::FUSED;

const USAGE: &str =
    "usage: hmm_cost <homogeneous|complete|missing|zoo-homogeneous|covariates|hand> <runs>";

fn run<F: ScalarFn + Sync>(f: &F, x: &[f64], runs: usize) {
    run_with(x, runs, |x, grad| {
        reverse::value_and_gradient_into(f, x, grad)
    });
}

/// Runs `value_and_gradient(x, grad)` `runs` times and prints the last result's checksum.
fn run_with(x: &[f64], runs: usize, mut value_and_gradient: impl FnMut(&[f64], &mut [f64]) -> f64) {
    let mut grad = vec![0.0; x.len()];
    let mut value = 0.0;
    for _ in 0..runs {
        value = value_and_gradient(std::hint::black_box(x), &mut grad);
    }
    // FNV-1a over the bits of the value and the gradient.
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    for v in std::iter::once(value).chain(grad.iter().copied()) {
        hash = (hash ^ v.to_bits()).wrapping_mul(0x0100_0000_01b3);
    }
    println!("value {value:.17e} grad[0] {:.17e}", grad[0]);
    println!("checksum {hash:016x}");
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(case), Some(runs)) = (args.get(1), args.get(2).and_then(|r| r.parse().ok())) else {
        eprintln!("{USAGE}");
        std::process::exit(2);
    };
    let (data, x) = reference_point();
    match case.as_str() {
        "homogeneous" | "complete" => run(&ReferenceModel::<FUSED> { data, k: 3 }, &x, runs),
        "missing" => {
            let data = with_ten_percent_missing(data);
            run(&ReferenceModel::<FUSED> { data, k: 3 }, &x, runs)
        }
        "hand" => {
            let mut hand = HandWrittenHmm::<3>::new(data, 3);
            run_with(&x, runs, |x, grad| hand.value_and_gradient(x, grad));
        }
        "zoo-homogeneous" | "covariates" => {
            let (f, u) = zoo_reference(case == "covariates");
            run(&f, &u, runs)
        }
        _ => {
            eprintln!("{USAGE}");
            std::process::exit(2);
        }
    }
}
