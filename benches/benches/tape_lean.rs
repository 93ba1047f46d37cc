//! The general tape against hand-written gradients (issue 12, part 4): value + gradient of
//! four functions, each by a hand-written `f64` gradient and by reverse mode (`Var`) in
//! several styles, in the same run, so the ratio tape / hand is the figure. The functions
//! and variants are described in `common/tape_lean_models.rs` (shared with the
//! instruction-count driver `src/bin/tape_cost.rs`); every variant is first checked
//! against the function's scalar tape code (value and gradient to 1e-9).
//!
//! Run: `cargo bench -p trellis-benches --bench tape_lean`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};

#[path = "common/tape_lean_models.rs"]
mod tape_lean_models;
use tape_lean_models::{cases, check_cases};

fn bench(c: &mut Criterion) {
    let mut cases = cases();
    check_cases(&mut cases);
    let mut group = c.benchmark_group("tape_lean");
    for case in &mut cases {
        let id = BenchmarkId::new(format!("{}/{}", case.function, case.variant), case.size);
        let mut grad = vec![0.0; case.x.len()];
        let (x, evaluate) = (&case.x, &mut case.evaluate);
        group.bench_function(id, |b| b.iter(|| evaluate(black_box(x), &mut grad)));
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
