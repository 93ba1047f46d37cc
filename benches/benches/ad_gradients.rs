//! Gradients of extended Rosenbrock (n = 10, 100, 1000) and of a 2-D log-sum-exp-heavy
//! mixture log-density: forward mode, reverse mode and a hand-written gradient.
//!
//! `cargo bench -p trellis-benches --bench ad_gradients`

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion};
use trellis_ad::{forward, reverse, Scalar, ScalarFn};

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

fn rosenbrock_hand(x: &[f64], grad: &mut [f64]) -> f64 {
    grad.fill(0.0);
    let mut acc = 0.0;
    for i in 0..x.len() - 1 {
        let a = x[i + 1] - x[i] * x[i];
        let b = 1.0 - x[i];
        acc += 100.0 * a * a + b * b;
        grad[i] += -400.0 * a * x[i] - 2.0 * b;
        grad[i + 1] += 200.0 * a;
    }
    acc
}

/// log Σₖ wₖ N((x, y); μₖ, I) over 64 components.
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

    fn hand(&self, p: &[f64], grad: &mut [f64], terms: &mut Vec<f64>) -> f64 {
        terms.clear();
        for (&(cx, cy), &lw) in self.centres.iter().zip(&self.log_weights) {
            let (dx, dy) = (p[0] - cx, p[1] - cy);
            terms.push(lw - 0.5 * (dx * dx + dy * dy));
        }
        let lse = f64::log_sum_exp(terms);
        let (mut gx, mut gy) = (0.0, 0.0);
        for (&(cx, cy), &t) in self.centres.iter().zip(terms.iter()) {
            let w = (t - lse).exp();
            gx -= w * (p[0] - cx);
            gy -= w * (p[1] - cy);
        }
        grad[0] = gx;
        grad[1] = gy;
        lse - std::f64::consts::LN_2 - std::f64::consts::PI.ln()
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

fn rosenbrock(c: &mut Criterion) {
    let mut group = c.benchmark_group("rosenbrock_gradient");
    for n in [10usize, 100, 1000] {
        let x: Vec<f64> = (0..n).map(|i| 0.5 + 0.3 * (i as f64).sin()).collect();
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
