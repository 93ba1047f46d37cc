//! A user-written transition model: transition probabilities that vary periodically in time
//! (a daily cycle, say), written with generic code and handed to the one forward recursion
//! as per-step matrices. Reverse mode gives the exact gradient with respect to the
//! transition model's own parameters (one fused tape node for the recursion; the tape
//! carries `∂ ln Γₜ / ∂θ`).
//!
//! Run with `cargo run -p trellis-models --example periodic_transitions`.

use trellis_ad::{check_gradient, reverse, GradientCheck, Scalar, ScalarFn};
use trellis_models::hmm::{forward_log_likelihood_with, Transitions};

/// Two states; the log-odds of leaving state i at time t is
/// `a[i] + b[i] · cos(2πt / period) + c[i] · sin(2πt / period)`.
struct Periodic {
    period: f64,
    /// Emission log-densities, `T × 2`.
    log_emission: Vec<f64>,
}

impl Periodic {
    /// `ln Γₜ` for `t = 0 … T − 2` from `theta = (a₀, b₀, c₀, a₁, b₁, c₁)`.
    fn log_transitions<T: Scalar>(&self, theta: &[T]) -> Vec<T> {
        let steps = self.log_emission.len() / 2 - 1;
        let mut out = Vec::with_capacity(steps * 4);
        for t in 0..steps {
            let angle = 2.0 * std::f64::consts::PI * t as f64 / self.period;
            for i in 0..2 {
                let w = &theta[3 * i..3 * i + 3];
                let leave = w[0] + w[1] * angle.cos() + w[2] * angle.sin();
                // ln(1 / (1 + e^η)) and ln(e^η / (1 + e^η)), stably.
                let norm = T::log_sum_exp(&[T::constant(0.0), leave]);
                let (stay, go) = (-norm, leave - norm);
                if i == 0 {
                    out.extend([stay, go]);
                } else {
                    out.extend([go, stay]);
                }
            }
        }
        out
    }
}

impl ScalarFn for Periodic {
    fn eval<T: Scalar>(&self, theta: &[T]) -> T {
        let log_init = [T::constant(0.5f64.ln()); 2];
        let log_trans = self.log_transitions(theta);
        let log_emission: Vec<T> = self.log_emission.iter().map(|&x| T::constant(x)).collect();
        forward_log_likelihood_with(
            &log_init,
            Transitions::PerStep(&log_trans),
            &log_emission,
            2,
        )
        .expect("shapes are consistent by construction")
    }
}

fn main() {
    // Synthetic emission log-densities for 48 steps (two days of hourly data).
    let log_emission: Vec<f64> = (0..48)
        .flat_map(|t| {
            let day = ((t as f64) * std::f64::consts::PI / 12.0).sin() > 0.0;
            if day {
                [-0.2, -2.0]
            } else {
                [-2.0, -0.3]
            }
        })
        .collect();
    let model = Periodic {
        period: 24.0,
        log_emission,
    };
    let theta = [-2.0, 0.5, -1.0, -2.0, -0.3, 1.0];
    let (ll, grad) = reverse::value_and_gradient(&model, &theta);
    println!("log-likelihood {ll:.6}");
    println!("gradient {grad:?}");
    // Reverse mode, forward mode and finite differences agree.
    check_gradient(&model, &theta, &GradientCheck::default()).expect("gradients agree");
    println!("gradient check passed");
}
