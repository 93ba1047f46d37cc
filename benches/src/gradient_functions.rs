//! The functions of the gradient benchmarks (`ad_gradients`, `rosenbrock_standalone`,
//! `tape_lean` and the `gradient_cost` example), each with its hand-written gradient.

use trellis_ad::{scratch, Scalar, ScalarFn};

/// Extended Rosenbrock, `Σ 100 (xᵢ₊₁ - xᵢ²)² + (1 - xᵢ)²`, written as scalar user code.
pub struct Rosenbrock;

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

/// Extended Rosenbrock's value, with its gradient written to `grad`, by hand.
pub fn rosenbrock_hand(x: &[f64], grad: &mut [f64]) -> f64 {
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

/// The benchmarks' Rosenbrock point of dimension `n`.
pub fn rosenbrock_point(n: usize) -> Vec<f64> {
    (0..n).map(|i| 0.5 + 0.3 * (i as f64).sin()).collect()
}

/// `log Σₖ wₖ N((x, y); μₖ, I)` over 64 components: a log-sum-exp-heavy 2-D density.
pub struct Mixture {
    centres: Vec<(f64, f64)>,
    log_weights: Vec<f64>,
}

impl Default for Mixture {
    fn default() -> Self {
        Self::new()
    }
}

impl Mixture {
    /// The benchmarks' 64 components on a spiral.
    pub fn new() -> Self {
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

    /// The value at `p`, with its gradient written to `grad`, by hand (`terms` is scratch).
    pub fn hand(&self, p: &[f64], grad: &mut [f64], terms: &mut Vec<f64>) -> f64 {
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
        scratch::with_vec(|terms: &mut Vec<T>| {
            for (&(cx, cy), &lw) in self.centres.iter().zip(&self.log_weights) {
                let (dx, dy) = (p[0] - cx, p[1] - cy);
                terms.push((dx * dx + dy * dy) * -0.5 + lw);
            }
            T::log_sum_exp(terms) - std::f64::consts::LN_2 - std::f64::consts::PI.ln()
        })
    }
}
