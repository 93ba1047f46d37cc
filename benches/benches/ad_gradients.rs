//! Gradients of extended Rosenbrock (n = 10, 100, 1000) and of a 2-D log-sum-exp-heavy
//! mixture log-density: forward mode, reverse mode and a hand-written gradient.
//!
//! `cargo bench -p trellis-benches --bench ad_gradients`

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion};
use trellis_ad::{forward, reverse};
use trellis_benches::gradient_functions::{rosenbrock_hand, rosenbrock_point, Mixture, Rosenbrock};

fn rosenbrock(c: &mut Criterion) {
    let mut group = c.benchmark_group("rosenbrock_gradient");
    for n in [10usize, 100, 1000] {
        let x = rosenbrock_point(n);
        let mut grad = vec![0.0; n];
        group.bench_with_input(BenchmarkId::new("hand_written", n), &n, |b, _| {
            b.iter(|| rosenbrock_hand(black_box(&x), &mut grad))
        });
        group.bench_with_input(BenchmarkId::new("reverse", n), &n, |b, _| {
            b.iter(|| reverse::value_and_gradient_into(&Rosenbrock, black_box(&x), &mut grad))
        });
        group.bench_with_input(BenchmarkId::new("forward", n), &n, |b, _| {
            b.iter(|| forward::value_and_gradient_into(&Rosenbrock, black_box(&x), &mut grad))
        });
    }
    group.finish();
}

fn mixture(c: &mut Criterion) {
    let mut group = c.benchmark_group("mixture_2d_gradient");
    let m = Mixture::new();
    let p = [0.3, -0.4];
    let mut grad = [0.0; 2];
    let mut terms = Vec::new();
    group.bench_function("hand_written", |b| {
        b.iter(|| m.hand(black_box(&p), &mut grad, &mut terms))
    });
    group.bench_function("reverse", |b| {
        b.iter(|| reverse::value_and_gradient_into(&m, black_box(&p), &mut grad))
    });
    group.bench_function("forward", |b| {
        b.iter(|| forward::value_and_gradient_into(&m, black_box(&p), &mut grad))
    });
    group.finish();
}

criterion_group!(benches, rosenbrock, mixture);
criterion_main!(benches);
