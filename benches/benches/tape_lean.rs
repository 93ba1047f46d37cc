//! The general tape against hand-written gradients (issue 12, part 4): value + gradient of
//! four functions, each by reverse mode (`Var`) and by a hand-written `f64` gradient, in the
//! same run, so the ratio tape / hand is the figure.
//!
//! - `rosenbrock/1000`: extended Rosenbrock, n = 1000, written as scalar code.
//! - `hierarchical/100`: a non-centred hierarchical normal with 100 groups:
//!   `μ ~ N(0, 5)`, `τ ~ half-Cauchy(0, 5)` (sampled as `log τ`, with its Jacobian),
//!   `ηⱼ ~ N(0, 1)`, `yⱼ ~ N(μ + τ ηⱼ, σⱼ)`; 102 parameters.
//! - `logistic/1000x10`: the log-likelihood of a logistic regression, N = 1000 rows,
//!   D = 10 coefficients, each row's linear predictor by `weighted_sum` (one node).
//! - `hmm_naive/seed`: the seed HMM (70 sequences × 51 steps, K = 3, shared-signal Gaussian
//!   emissions) written naively in log space: one `log_sum_exp` per state and step, emission
//!   densities operation by operation. The hand-written side is the benches' scaled
//!   forward–backward yardstick (`trellis_benches::hand_written`).
//!
//! Each tape function also comes written array-style (`…/tape_slices`), with the one-node
//! slice operations `sum_of_squares`, `sum_log_logistic` and `weighted_sum`, and `v ± c`
//! (which records no node): Rosenbrock as `100·Σaᵢ² + Σ(xᵢ - 1)²`, the hierarchical model
//! with its two sums of squares as slices, the logistic regression with each row's weights
//! signed by its label and one `sum_log_logistic` over the 1000 linear predictors.
//!
//! Run: `cargo bench -p trellis-benches --bench tape_lean`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use trellis_ad::{reverse, scratch, Scalar, ScalarFn};
use trellis_benches::gradient_functions::{rosenbrock_hand, rosenbrock_point, Rosenbrock};
use trellis_benches::hand_written::HandWrittenHmm;
use trellis_models::hmm::{self, Sequences};

const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;

/// Extended Rosenbrock array-style: two sums of squares.
struct RosenbrockSlices;
impl ScalarFn for RosenbrockSlices {
    fn eval<T: Scalar>(&self, x: &[T]) -> T {
        scratch::with_vec(|a: &mut Vec<T>| {
            scratch::with_vec(|b: &mut Vec<T>| {
                for i in 0..x.len() - 1 {
                    a.push(x[i + 1] - x[i] * x[i]);
                    b.push(x[i] - 1.0);
                }
                T::sum_of_squares(a) * 100.0 + T::sum_of_squares(b)
            })
        })
    }
}

/// The non-centred hierarchical normal; parameters `(μ, log τ, η₁ … η_J)`.
struct Hierarchical {
    y: Vec<f64>,
    sigma: Vec<f64>,
}

impl Hierarchical {
    fn new(groups: usize) -> Self {
        let y = (0..groups)
            .map(|j| 3.0 + 4.0 * (j as f64 * 0.37).sin())
            .collect();
        let sigma = (0..groups)
            .map(|j| 1.0 + 0.5 * (j as f64 * 0.11).cos().abs())
            .collect();
        Self { y, sigma }
    }

    fn point(&self) -> Vec<f64> {
        let mut x = vec![1.2, 0.4];
        x.extend((0..self.y.len()).map(|j| 0.8 * (j as f64 * 0.53).cos()));
        x
    }

    fn hand(&self, x: &[f64], grad: &mut [f64]) -> f64 {
        let (mu, log_tau) = (x[0], x[1]);
        let tau = log_tau.exp();
        // Priors: μ ~ N(0, 5), τ ~ half-Cauchy(0, 5) with the Jacobian of log τ.
        let r = tau / 5.0;
        let mut lp = -0.5 * (mu / 5.0) * (mu / 5.0) - (r * r).ln_1p() + log_tau;
        let mut d_mu = -mu / 25.0;
        let mut d_log_tau = -2.0 * r * r / (1.0 + r * r) + 1.0;
        for (j, (&y, &s)) in self.y.iter().zip(&self.sigma).enumerate() {
            let eta = x[2 + j];
            let z = (y - mu - tau * eta) / s;
            lp += -0.5 * eta * eta - 0.5 * z * z;
            let dz = z / s; // ∂(-z²/2)/∂θ
            d_mu += dz;
            d_log_tau += dz * tau * eta;
            grad[2 + j] = -eta + dz * tau;
        }
        grad[0] = d_mu;
        grad[1] = d_log_tau;
        lp
    }
}

impl ScalarFn for Hierarchical {
    fn eval<T: Scalar>(&self, x: &[T]) -> T {
        let (mu, log_tau) = (x[0], x[1]);
        let tau = log_tau.exp();
        let r = tau / 5.0;
        let mut lp = -(mu / 5.0) * (mu / 5.0) * 0.5 - (r * r).ln_1p() + log_tau;
        for (j, (&y, &s)) in self.y.iter().zip(&self.sigma).enumerate() {
            let eta = x[2 + j];
            let z = (mu + tau * eta - y) / s;
            lp += -(eta * eta) * 0.5 - z * z * 0.5;
        }
        lp
    }
}

/// The hierarchical model array-style: the standardised residuals in a slice, both sums of
/// squares as one node each.
struct HierarchicalSlices<'a>(&'a Hierarchical);
impl ScalarFn for HierarchicalSlices<'_> {
    fn eval<T: Scalar>(&self, x: &[T]) -> T {
        let (mu, log_tau) = (x[0], x[1]);
        let tau = log_tau.exp();
        let r = tau / 5.0;
        let prior = -(mu / 5.0) * (mu / 5.0) * 0.5 - (r * r).ln_1p() + log_tau;
        scratch::with_vec(|z: &mut Vec<T>| {
            for (j, (&y, &s)) in self.0.y.iter().zip(&self.0.sigma).enumerate() {
                z.push((tau * x[2 + j] + mu - y) / s);
            }
            prior - (T::sum_of_squares(&x[2..]) + T::sum_of_squares(z)) * 0.5
        })
    }
}

/// Logistic regression log-likelihood; parameters: the D coefficients.
struct Logistic {
    rows: Vec<Vec<f64>>,
    labels: Vec<bool>,
}

impl Logistic {
    fn new(n: usize, d: usize) -> Self {
        let rows: Vec<Vec<f64>> = (0..n)
            .map(|i| {
                (0..d)
                    .map(|k| ((i * 7 + k * 13) as f64 * 0.61).sin())
                    .collect()
            })
            .collect();
        let labels = (0..n).map(|i| (i as f64 * 0.77).sin() > -0.1).collect();
        Self { rows, labels }
    }

    fn point(&self) -> Vec<f64> {
        (0..self.rows[0].len())
            .map(|k| 0.3 * (k as f64 + 1.0).cos())
            .collect()
    }

    fn hand(&self, beta: &[f64], grad: &mut [f64]) -> f64 {
        grad.fill(0.0);
        let mut lp = 0.0;
        for (row, &label) in self.rows.iter().zip(&self.labels) {
            let eta: f64 = row.iter().zip(beta).map(|(x, b)| x * b).sum();
            // ln σ(±η) and its derivative 1 - σ(±η) (times ±1), stably.
            let signed = if label { eta } else { -eta };
            let (log_p, d) = if signed > 0.0 {
                let e = (-signed).exp();
                (-e.ln_1p(), e / (1.0 + e))
            } else {
                let e = signed.exp();
                (signed - e.ln_1p(), 1.0 / (1.0 + e))
            };
            lp += log_p;
            let d = if label { d } else { -d };
            for (g, x) in grad.iter_mut().zip(row) {
                *g += d * x;
            }
        }
        lp
    }
}

impl ScalarFn for Logistic {
    fn eval<T: Scalar>(&self, beta: &[T]) -> T {
        let mut lp = T::constant(0.0);
        for (row, &label) in self.rows.iter().zip(&self.labels) {
            let eta = T::weighted_sum(beta, row);
            lp += if label {
                eta.log_logistic()
            } else {
                (-eta).log_logistic()
            };
        }
        lp
    }
}

/// The logistic regression array-style: each row's weights signed by its label (ln σ(-η)
/// for a failure), one `sum_log_logistic` over the linear predictors.
struct LogisticSlices {
    signed_rows: Vec<Vec<f64>>,
}

impl LogisticSlices {
    fn new(model: &Logistic) -> Self {
        let signed_rows = model
            .rows
            .iter()
            .zip(&model.labels)
            .map(|(row, &label)| {
                let sign = if label { 1.0 } else { -1.0 };
                row.iter().map(|x| sign * x).collect()
            })
            .collect();
        Self { signed_rows }
    }
}

impl ScalarFn for LogisticSlices {
    fn eval<T: Scalar>(&self, beta: &[T]) -> T {
        scratch::with_vec(|etas: &mut Vec<T>| {
            etas.extend(
                self.signed_rows
                    .iter()
                    .map(|row| T::weighted_sum(beta, row)),
            );
            T::sum_log_logistic(etas)
        })
    }
}

/// The seed HMM's log-likelihood in log space, naively; parameters `(signal, noise,
/// log p_init (K), log p_trans (K × K))` (unnormalised, as the yardstick takes them).
struct NaiveHmm {
    data: Sequences<f64>,
    k: usize,
}

impl ScalarFn for NaiveHmm {
    fn eval<T: Scalar>(&self, x: &[T]) -> T {
        let k = self.k;
        let (signal, noise) = (x[0], x[1]);
        let log_init = &x[2..2 + k];
        let log_trans = &x[2 + k..2 + k + k * k];
        let log_noise = noise.ln();
        let emission = |y: f64, state: usize| {
            let z = (signal * (state as f64 + 1.0) - y) / noise;
            -(z * z) * 0.5 - log_noise - HALF_LN_2PI
        };
        let mut total = T::constant(0.0);
        let mut alpha = vec![T::constant(0.0); k];
        let mut next = vec![T::constant(0.0); k];
        let mut terms = vec![T::constant(0.0); k];
        for seq in self.data.iter() {
            for (s, a) in alpha.iter_mut().enumerate() {
                *a = log_init[s] + emission(seq[0], s);
            }
            for &y in &seq[1..] {
                for (j, n) in next.iter_mut().enumerate() {
                    for (i, t) in terms.iter_mut().enumerate() {
                        *t = alpha[i] + log_trans[i * k + j];
                    }
                    *n = T::log_sum_exp(&terms) + emission(y, j);
                }
                std::mem::swap(&mut alpha, &mut next);
            }
            total += T::log_sum_exp(&alpha);
        }
        total
    }
}

/// The seed HMM's point, its hand-written yardstick and the naive tape model.
fn seed_hmm() -> (Vec<f64>, HandWrittenHmm<0>, NaiveHmm) {
    let seed = hmm::seed_dataset();
    let mut x = vec![seed.emission_signal, seed.emission_noise];
    x.extend(seed.p_initial_state.iter().map(|p| p.ln()));
    x.extend(seed.p_transition.iter().map(|p| p.ln()));
    let k = seed.p_initial_state.len();
    let hand = HandWrittenHmm::<0>::new(seed.sequences.clone(), k);
    let naive = NaiveHmm {
        data: seed.sequences,
        k,
    };
    (x, hand, naive)
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("tape_lean");

    let x = rosenbrock_point(1000);
    let mut grad = vec![0.0; x.len()];
    group.bench_with_input(BenchmarkId::new("rosenbrock/hand", 1000), &(), |b, _| {
        b.iter(|| rosenbrock_hand(black_box(&x), &mut grad))
    });
    group.bench_with_input(BenchmarkId::new("rosenbrock/tape", 1000), &(), |b, _| {
        b.iter(|| reverse::value_and_gradient_into(&Rosenbrock, black_box(&x), &mut grad))
    });
    group.bench_with_input(
        BenchmarkId::new("rosenbrock/tape_slices", 1000),
        &(),
        |b, _| {
            b.iter(|| reverse::value_and_gradient_into(&RosenbrockSlices, black_box(&x), &mut grad))
        },
    );

    let model = Hierarchical::new(100);
    let x = model.point();
    let mut grad = vec![0.0; x.len()];
    group.bench_with_input(BenchmarkId::new("hierarchical/hand", 100), &(), |b, _| {
        b.iter(|| model.hand(black_box(&x), &mut grad))
    });
    group.bench_with_input(BenchmarkId::new("hierarchical/tape", 100), &(), |b, _| {
        b.iter(|| reverse::value_and_gradient_into(&model, black_box(&x), &mut grad))
    });
    let slices = HierarchicalSlices(&model);
    group.bench_with_input(
        BenchmarkId::new("hierarchical/tape_slices", 100),
        &(),
        |b, _| b.iter(|| reverse::value_and_gradient_into(&slices, black_box(&x), &mut grad)),
    );

    let model = Logistic::new(1000, 10);
    let x = model.point();
    let mut grad = vec![0.0; x.len()];
    group.bench_with_input(BenchmarkId::new("logistic/hand", "1000x10"), &(), |b, _| {
        b.iter(|| model.hand(black_box(&x), &mut grad))
    });
    group.bench_with_input(BenchmarkId::new("logistic/tape", "1000x10"), &(), |b, _| {
        b.iter(|| reverse::value_and_gradient_into(&model, black_box(&x), &mut grad))
    });
    let slices = LogisticSlices::new(&model);
    group.bench_with_input(
        BenchmarkId::new("logistic/tape_slices", "1000x10"),
        &(),
        |b, _| b.iter(|| reverse::value_and_gradient_into(&slices, black_box(&x), &mut grad)),
    );

    let (x, mut hand, naive) = seed_hmm();
    let mut grad = vec![0.0; x.len()];
    group.bench_with_input(BenchmarkId::new("hmm_naive/hand", "seed"), &(), |b, _| {
        b.iter(|| hand.value_and_gradient(black_box(&x), &mut grad))
    });
    group.bench_with_input(BenchmarkId::new("hmm_naive/tape", "seed"), &(), |b, _| {
        b.iter(|| reverse::value_and_gradient_into(&naive, black_box(&x), &mut grad))
    });
    group.finish();
}

/// The hand-written gradients are the yardstick only if they are right: each against the
/// tape's, once, before timing.
fn check_hand_gradients() {
    let close = |a: &[f64], b: &[f64], what: &str| {
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!(
                (x - y).abs() <= 1e-9 * (1.0 + y.abs()),
                "{what}: component {i}: hand {x} vs tape {y}"
            );
        }
    };
    let x = rosenbrock_point(1000);
    let mut g = vec![0.0; x.len()];
    let v = rosenbrock_hand(&x, &mut g);
    let (tv, tg) = reverse::value_and_gradient(&Rosenbrock, &x);
    close(&[v], &[tv], "rosenbrock value");
    close(&g, &tg, "rosenbrock");
    let (sv, sg) = reverse::value_and_gradient(&RosenbrockSlices, &x);
    close(&[sv], &[tv], "rosenbrock slices value");
    close(&sg, &tg, "rosenbrock slices");

    let model = Hierarchical::new(100);
    let x = model.point();
    let mut g = vec![0.0; x.len()];
    let v = model.hand(&x, &mut g);
    let (tv, tg) = reverse::value_and_gradient(&model, &x);
    close(&[v], &[tv], "hierarchical value");
    close(&g, &tg, "hierarchical");
    let (sv, sg) = reverse::value_and_gradient(&HierarchicalSlices(&model), &x);
    close(&[sv], &[tv], "hierarchical slices value");
    close(&sg, &tg, "hierarchical slices");

    let model = Logistic::new(1000, 10);
    let x = model.point();
    let mut g = vec![0.0; x.len()];
    let v = model.hand(&x, &mut g);
    let (tv, tg) = reverse::value_and_gradient(&model, &x);
    close(&[v], &[tv], "logistic value");
    close(&g, &tg, "logistic");
    let (sv, sg) = reverse::value_and_gradient(&LogisticSlices::new(&model), &x);
    close(&[sv], &[tv], "logistic slices value");
    close(&sg, &tg, "logistic slices");

    let (x, mut hand, naive) = seed_hmm();
    let mut g = vec![0.0; x.len()];
    let v = hand.value_and_gradient(&x, &mut g);
    let (tv, tg) = reverse::value_and_gradient(&naive, &x);
    close(&[v], &[tv], "hmm value");
    close(&g, &tg, "hmm");
}

fn checked(c: &mut Criterion) {
    check_hand_gradients();
    bench(c);
}

criterion_group!(benches, checked);
criterion_main!(benches);
