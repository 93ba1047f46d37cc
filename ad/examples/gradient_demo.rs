//! A log-density written once over `Scalar`, differentiated in forward and reverse mode and
//! checked against finite differences.
//!
//! `cargo run --release --example gradient_demo`

use trellis_ad::{check_gradient, forward, reverse, GradientCheck, Scalar, ScalarFn};

/// Log-density of a Student-t location/scale model for a few observations, with the scale
/// on the log axis: the kind of function a sampler needs the gradient of.
struct StudentT {
    data: Vec<f64>,
    nu: f64,
}

impl ScalarFn for StudentT {
    fn eval<T: Scalar>(&self, theta: &[T]) -> T {
        let (mu, log_sigma) = (theta[0], theta[1]);
        let sigma = log_sigma.exp();
        let nu = self.nu;
        let half_nu1 = (nu + 1.0) / 2.0;
        let norm = T::constant(half_nu1).ln_gamma()
            - T::constant(nu / 2.0).ln_gamma()
            - T::constant(nu * std::f64::consts::PI).ln() * 0.5;
        let mut lp = T::constant(0.0);
        for &y in &self.data {
            let z = (T::constant(y) - mu) / sigma;
            lp += norm - log_sigma - ((z * z) / nu).ln_1p() * half_nu1;
        }
        lp
    }
}

fn main() {
    let model = StudentT {
        data: vec![0.3, -1.2, 2.5, 0.9, 11.0],
        nu: 3.0,
    };
    let theta = [0.5, 0.2];

    let (lp, grad_reverse) = reverse::value_and_gradient(&model, &theta);
    let grad_forward = forward::gradient(&model, &theta);
    let report = check_gradient(&model, &theta, &GradientCheck::default())
        .expect("gradient agrees with finite differences");

    println!(
        "log-density at mu = {}, log_sigma = {}: {lp:.12}",
        theta[0], theta[1]
    );
    println!(
        "{:<10} {:>20} {:>20} {:>20}",
        "", "reverse", "forward", "finite diff."
    );
    for (i, name) in ["mu", "log_sigma"].iter().enumerate() {
        println!(
            "{name:<10} {:>20.12} {:>20.12} {:>20.12}",
            grad_reverse[i], grad_forward[i], report.numeric[i]
        );
    }
    let hessian = reverse::hessian(&model, &theta);
    println!("Hessian (forward over reverse):\n{hessian:.6}");
    println!(
        "check_gradient: worst component {} at {:.2e} of its tolerance",
        report.worst_index, report.worst_ratio
    );
}
