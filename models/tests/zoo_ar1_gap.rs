//! AR(1) emissions after missing values (a NaN in the sequence): the density of `y_t` is the
//! process's `g`-step conditional given the last observed value, or the stationary density
//! when nothing before `t` is observed. The expected densities here iterate the recursion
//! (variance `σ² Σ_{i<g} φ^{2i}`), independently of the closed form the family uses; the
//! gradients (reverse mode's fused partials, forward mode's generic code) are checked against
//! finite differences.

use proptest::prelude::*;
use trellis_ad::{check_gradient, GradientCheck, Scalar, ScalarFn};
use trellis_models::{zoo::Ar1Gaussian, Emission};

fn normal_ln_pdf(y: f64, mean: f64, sd: f64) -> f64 {
    let z = (y - mean) / sd;
    -0.5 * z * z - sd.ln() - 0.5 * (2.0 * std::f64::consts::PI).ln()
}

/// `ℓ[t][k]` of a `K`-state AR(1) emission on `seq`.
fn densities(means: &[f64], phis: &[f64], sds: &[f64], seq: &[f64], t: usize) -> Vec<f64> {
    let e = Ar1Gaussian::new(means, phis, sds).unwrap();
    let mut out = vec![0.0; means.len()];
    e.log_densities(seq, t, &mut out);
    out
}

#[test]
fn density_after_a_gap_is_the_g_step_conditional() {
    let (means, phis, sds) = ([0.3, -1.0, 2.0], [0.6, -0.8, 0.05], [1.2, 0.5, 2.0]);
    let (first, y) = (1.7, -0.4);
    for g in 1..=6 {
        let mut seq = vec![f64::NAN; g + 1];
        seq[0] = first;
        seq[g] = y;
        let got = densities(&means, &phis, &sds, &seq, g);
        for k in 0..3 {
            let (m, p, s) = (means[k], phis[k], sds[k]);
            let var: f64 = (0..g).map(|i| p.powi(2 * i as i32)).sum::<f64>() * s * s;
            let want = normal_ln_pdf(y, m + p.powi(g as i32) * (first - m), var.sqrt());
            assert!(
                (got[k] - want).abs() <= 1e-13 * want.abs().max(1.0),
                "state {k}, gap {g}: {} against {want}",
                got[k]
            );
        }
    }
}

#[test]
fn density_with_nothing_observed_before_is_stationary() {
    let (means, phis, sds) = ([0.3, -1.0], [0.6, -0.8], [1.2, 0.5]);
    let seq = [f64::NAN, f64::NAN, 0.9];
    let got = densities(&means, &phis, &sds, &seq, 2);
    for k in 0..2 {
        let sd0 = sds[k] / (1.0 - phis[k] * phis[k]).sqrt();
        let want = normal_ln_pdf(0.9, means[k], sd0);
        assert!((got[k] - want).abs() <= 1e-13 * want.abs().max(1.0));
    }
}

/// `Σ_t Σ_k w(t, k) ℓ[t][k]` over the observed steps of a sequence with gaps, as a function
/// of `(μ, atanh φ, ln σ)` for two states.
struct GapSum {
    seq: Vec<f64>,
}

impl ScalarFn for GapSum {
    fn eval<T: Scalar>(&self, u: &[T]) -> T {
        let means = [u[0], u[1]];
        let phis = [u[2].tanh(), u[3].tanh()];
        let sds = [u[4].exp(), u[5].exp()];
        let e = Ar1Gaussian::new(&means, &phis, &sds).unwrap();
        let mut out = [T::constant(0.0); 2];
        let mut total = T::constant(0.0);
        for t in (0..self.seq.len()).filter(|&t| !self.seq[t].is_nan()) {
            e.log_densities(&self.seq, t, &mut out);
            total += out[0] * (0.4 + 0.1 * t as f64) + out[1] * (0.7 - 0.05 * t as f64);
        }
        total
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn gap_gradients_agree_in_every_mode(
        u in proptest::collection::vec(-1.2f64..1.2, 6),
        ys in proptest::collection::vec(-3.0f64..3.0, 8),
        gaps in proptest::collection::vec(any::<bool>(), 8),
    ) {
        // Missing values wherever `gaps` says, the last step always observed.
        let seq: Vec<f64> = ys
            .iter()
            .zip(&gaps)
            .enumerate()
            .map(|(t, (&y, &gap))| if gap && t + 1 < ys.len() { f64::NAN } else { y })
            .collect();
        let check = GradientCheck { check_forward: true, ..GradientCheck::default() };
        if let Err(e) = check_gradient(&GapSum { seq }, &u, &check) {
            return Err(TestCaseError::fail(e.to_string()));
        }
    }
}
