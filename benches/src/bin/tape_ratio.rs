//! Wall-time ratios of the lean-tape comparison (issue 12, part 4): every tape variant of
//! `benches/benches/common/tape_lean_models.rs` against its function's hand-written gradient,
//! timed in one process in alternating short rounds:
//!
//! ```text
//! cargo build --release -p trellis-benches --bin tape_ratio
//! target/release/tape_ratio 101 2
//! ```
//!
//! Arguments: rounds (default 101) and milliseconds per side and round (default 2; each side
//! runs as many evaluations as fill that time, counted once at warm-up). Each round times
//! the tape variant and the hand-written gradient one after the other, the side going first
//! alternating, and keeps their ratio; the median of the paired ratios is what is reported,
//! with its quartiles. On a machine whose speed drifts over seconds (CPU steal), pairs
//! milliseconds apart see the same machine, where criterion's benchmarks, run one after
//! another, do not (`hmm_ratio` does the same for the fused HMM kernel).

// `size` is criterion's parameter, which this driver does not print.
#[allow(dead_code)]
#[path = "../../benches/common/tape_lean_models.rs"]
mod tape_lean_models;
use std::time::Instant;

use tape_lean_models::{cases, check_cases, Case};
use trellis_benches::paired::{paired_rounds, PairedTiming};

/// Seconds per evaluation of `case` over `runs` evaluations.
fn seconds_per_run(case: &mut Case, grad: &mut [f64], runs: usize) -> f64 {
    let start = Instant::now();
    for _ in 0..runs {
        let value = (case.evaluate)(std::hint::black_box(&case.x), grad);
        std::hint::black_box(value);
    }
    start.elapsed().as_secs_f64() / runs as f64
}

/// Evaluations that take about `millis` milliseconds (at least one).
fn runs_filling(case: &mut Case, grad: &mut [f64], millis: f64) -> usize {
    // Warm the case up (scratch buffers, caches), then size the rounds from a second pass.
    seconds_per_run(case, grad, 3);
    let per_run = seconds_per_run(case, grad, 10);
    ((millis * 1e-3 / per_run).round() as usize).max(1)
}

fn main() {
    let args: Vec<f64> = std::env::args()
        .skip(1)
        .map(|a| {
            a.parse()
                .expect("usage: tape_ratio [rounds] [milliseconds per side and round]")
        })
        .collect();
    let rounds = (args.first().copied().unwrap_or(101.0) as usize).max(1);
    let millis = args.get(1).copied().unwrap_or(2.0).max(0.01);
    let mut all = cases();
    check_cases(&mut all);
    let functions: Vec<&'static str> = {
        let mut f: Vec<_> = all.iter().map(|c| c.function).collect();
        f.dedup();
        f
    };
    println!("{rounds} rounds, about {millis} ms per side and round; tape / hand-written");
    for function in functions {
        let (mut hands, mut tapes): (Vec<&mut Case>, Vec<&mut Case>) = all
            .iter_mut()
            .filter(|c| c.function == function)
            .partition(|c| c.variant == "hand");
        let hand = &mut *hands.pop().expect("every function has a hand-written case");
        // One gradient buffer for both sides, as before (the layout stays fixed).
        let grad = std::cell::RefCell::new(vec![0.0; hand.x.len()]);
        let hand_runs = runs_filling(hand, &mut grad.borrow_mut(), millis);
        for tape in tapes.iter_mut() {
            let tape_runs = runs_filling(tape, &mut grad.borrow_mut(), millis);
            let name = tape.name();
            let PairedTiming {
                ours,
                theirs,
                ratio,
                quartiles,
            } = paired_rounds(
                rounds,
                || seconds_per_run(tape, &mut grad.borrow_mut(), tape_runs),
                || seconds_per_run(hand, &mut grad.borrow_mut(), hand_runs),
            );
            println!(
                "{:<24} {:>10.2} µs against {:>9.2} µs: {ratio:6.2}× (quartiles {:.2}–{:.2})",
                name,
                ours * 1e6,
                theirs * 1e6,
                quartiles.0,
                quartiles.1
            );
        }
    }
}
