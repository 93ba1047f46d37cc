//! Runs one case of the lean-tape comparison (`benches/benches/common/tape_lean_models.rs`)
//! a given number of times, for instruction counts without criterion's own work:
//!
//! ```text
//! cargo build --release -p trellis-benches --bin tape_cost
//! valgrind --tool=callgrind target/release/tape_cost rosenbrock/tape_map 200
//! ```
//!
//! The difference between the counts of 2N and N runs, divided by N, is the cost of one
//! evaluation with set-up excluded; `benches/scripts/tape_cost.sh` does this for every case
//! and prints each tape variant's ratio to its function's hand-written gradient. `list` as
//! the case prints the case names. Every case is first checked against its function's
//! scalar tape code (as the bench does).

// `size` is criterion's parameter, which this driver does not print.
#[allow(dead_code)]
#[path = "../../benches/common/tape_lean_models.rs"]
mod tape_lean_models;
use tape_lean_models::{cases, check_cases};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mut all = cases();
    let usage = || {
        let names: Vec<String> = cases().iter().map(|c| c.name()).collect();
        eprintln!(
            "usage: tape_cost <case | list> <runs>; cases: {}",
            names.join(" ")
        );
        std::process::exit(2);
    };
    let Some(which) = args.get(1) else { usage() };
    if which == "list" {
        for case in &all {
            println!("{}", case.name());
        }
        return;
    }
    let Some(runs) = args.get(2).and_then(|r| r.parse::<usize>().ok()) else {
        usage()
    };
    check_cases(&mut all);
    let Some(case) = all.iter_mut().find(|c| c.name() == *which) else {
        usage()
    };
    let mut grad = vec![0.0; case.x.len()];
    let mut total = 0.0;
    for _ in 0..runs {
        total += (case.evaluate)(std::hint::black_box(&case.x), &mut grad);
    }
    println!("{total} {}", grad[0]);
}
