//! The boundary-corrected KDE of the figures against analytic densities, on deterministic
//! quantile "draws" (so no Monte Carlo noise beyond the kernel's own bias).

use trellis_samplers::plots::gaussian_kde;

/// `n` evenly spread quantiles of the distribution with inverse CDF `quantile`.
fn quantile_draws(n: usize, quantile: impl Fn(f64) -> f64) -> Vec<f64> {
    (0..n)
        .map(|i| quantile((i as f64 + 0.5) / n as f64))
        .collect()
}

/// `∫ density` over the grid by the trapezoidal rule.
fn mass(x: &[f64], density: &[f64]) -> f64 {
    x.windows(2)
        .zip(density.windows(2))
        .map(|(x, d)| (x[1] - x[0]) * (d[0] + d[1]) / 2.0)
        .sum()
}

#[test]
fn exponential_density_is_not_halved_at_its_bound() {
    // Exp(1): f(0) = 1. Without reflection the estimate at 0 is about 0.5.
    let draws = quantile_draws(4000, |p| -(1.0 - p).ln());
    let kde = gaussian_kde(&draws, 200).unwrap();
    assert!(
        (kde.density[0] - 1.0).abs() < 0.12,
        "f(0) ≈ {}",
        kde.density[0]
    );
    // No false mode inside the bound: the estimate falls from the bound onwards.
    let peak = kde
        .density
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .unwrap()
        .0;
    assert!(kde.x[peak] < 0.1, "mode at {}", kde.x[peak]);
    // In the bulk the estimate follows e^{−x} (the kernel's bias is second order).
    for (x, d) in kde.x.iter().zip(&kde.density) {
        if (0.5..3.0).contains(x) {
            assert!((d - (-x).exp()).abs() < 0.05, "f({x}) ≈ {d}");
        }
    }
    assert!((mass(&kde.x, &kde.density) - 1.0).abs() < 0.01);
}

#[test]
fn uniform_density_is_flat_up_to_both_bounds() {
    let draws = quantile_draws(2000, |p| 2.0 + 3.0 * p); // Uniform(2, 5): f = 1/3
    let kde = gaussian_kde(&draws, 200).unwrap();
    for d in [kde.density[0], kde.density[100], kde.density[199]] {
        assert!((d - 1.0 / 3.0).abs() < 0.03, "{d}");
    }
    assert!((mass(&kde.x, &kde.density) - 1.0).abs() < 0.01);
}

#[test]
fn constant_draws_still_give_a_spike_around_the_value() {
    let kde = gaussian_kde(&[0.25; 50], 101).unwrap();
    let peak = kde.density[50];
    assert!((kde.x[50] - 0.25).abs() < 1e-12 && peak > 100.0, "{peak}");
    assert!((mass(&kde.x, &kde.density) - 1.0).abs() < 0.01);
}

/// The estimate equals the reflected kernel sum written out directly — every draw, mirrored at
/// both ends, one exponential per draw and grid point — to 1e-12 of the largest density, for
/// skewed draws and a grid both finer and coarser than the bandwidth.
#[test]
fn estimate_is_the_direct_reflected_kernel_sum() {
    let draws = quantile_draws(1500, |p| (-(1.0 - p).ln()).powf(1.5));
    for grid in [40, 200, 1000] {
        let kde = gaussian_kde(&draws, grid).unwrap();
        let (lo, hi, bw) = (draws[0], draws[draws.len() - 1], kde.bandwidth);
        let norm = 1.0 / (draws.len() as f64 * bw * (2.0 * std::f64::consts::PI).sqrt());
        let kernel = |g: f64, d: f64| (-0.5 * ((g - d) / bw).powi(2)).exp();
        let peak = kde.density.iter().cloned().fold(0.0, f64::max);
        for (&g, &got) in kde.x.iter().zip(&kde.density) {
            let want: f64 = draws
                .iter()
                .map(|&d| kernel(g, d) + kernel(g, 2.0 * lo - d) + kernel(g, 2.0 * hi - d))
                .sum::<f64>()
                * norm;
            assert!(
                (got - want).abs() <= 1e-12 * peak,
                "grid {grid}, x = {g}: {got} against {want}"
            );
        }
    }
}
