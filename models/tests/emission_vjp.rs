//! The vector–Jacobian product of [`FusedEmission`] (`has_vjp`, `sequence_values`,
//! `sequence_vjp`): for the reference family's override and for the provided versions (a
//! per-state family that keeps them), at random parameters, data, missing steps and
//! cotangents, the values equal the Jacobian route's bit for bit and the product equals the
//! stored Jacobian contracted by hand — to 1e-13 of the sum of the terms' magnitudes — for
//! every K from 1 to 6 (the override's compile-time K ≤ 4 and its run-time loop beyond).

use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use trellis_models::hmm::MissingSteps;
use trellis_models::zoo::{Gaussian, SharedSignalGaussian};
use trellis_models::FusedEmission;

/// The Jacobian route: every step's values and dense Jacobian (`P` per density), zeros at
/// missing steps.
fn jacobian_route<E: FusedEmission<f64, Obs = f64>>(
    e: &E,
    seq: &[f64],
    missing: &[bool],
    p: usize,
) -> (Vec<f64>, Vec<f64>) {
    let k = e.n_states();
    let (mut values, mut jac) = (vec![0.0; seq.len() * k], vec![0.0; seq.len() * k * p]);
    e.observed_steps_with_jacobian(seq, missing, &mut values, &mut jac);
    (values, jac)
}

/// Checks `e`'s values and product against [`jacobian_route`].
fn check<E: FusedEmission<f64, Obs = f64>>(
    e: &E,
    seq: &[f64],
    missing: &[bool],
    d_le: &[f64],
) -> Result<(), TestCaseError> {
    let k = e.n_states();
    let mut theta = Vec::new();
    e.parameters(&mut theta);
    let p = theta.len();
    let (values, jac) = jacobian_route(e, seq, missing, p);
    let mut got = vec![f64::NAN; seq.len() * k];
    e.sequence_values(seq, Some(missing), &mut got);
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    prop_assert_eq!(bits(&got), bits(&values), "values");
    let mut d_theta = vec![f64::NAN; p];
    e.sequence_vjp(seq, Some(missing), d_le, &mut d_theta);
    for (q, &got) in d_theta.iter().enumerate() {
        let terms = d_le.iter().enumerate().map(|(i, g)| g * jac[i * p + q]);
        let (want, scale) = terms.fold((0.0, 0.0), |(s, a), x: f64| (s + x, a + x.abs()));
        prop_assert!(
            (got - want).abs() <= 1e-13 * scale.max(f64::MIN_POSITIVE),
            "∂/∂θ[{}]: {} against {} (terms' magnitude {})",
            q,
            got,
            want,
            scale
        );
    }
    // No flags at all when nothing is missing: the route without missing steps (the
    // reference family's vector loops where the CPU has them), the same values, the product
    // within the same tolerance.
    if missing.iter().all(|&gap| !gap) {
        let mut plain = vec![f64::NAN; seq.len() * k];
        e.sequence_values(seq, None, &mut plain);
        prop_assert_eq!(bits(&plain), bits(&values), "values without flags");
        let mut d_plain = vec![f64::NAN; p];
        e.sequence_vjp(seq, None, d_le, &mut d_plain);
        for (q, (&a, &b)) in d_plain.iter().zip(&d_theta).enumerate() {
            let scale: f64 = d_le
                .iter()
                .enumerate()
                .map(|(i, g)| (g * jac[i * p + q]).abs())
                .sum();
            prop_assert!(
                (a - b).abs() <= 2e-13 * scale.max(f64::MIN_POSITIVE),
                "∂/∂θ[{}] without flags: {} against {}",
                q,
                a,
                b
            );
        }
    }
    // Through a missing-steps view: its own flags, nothing passed.
    let view = MissingSteps::new(e, Some(missing));
    let mut through = vec![f64::NAN; seq.len() * k];
    view.sequence_values(seq, None, &mut through);
    prop_assert_eq!(bits(&through), bits(&values), "values through the view");
    let mut d_view = vec![f64::NAN; p];
    view.sequence_vjp(seq, None, d_le, &mut d_view);
    prop_assert_eq!(bits(&d_view), bits(&d_theta), "product through the view");
    Ok(())
}

/// A sequence of `len` observations, missing flags and cotangents from `seed`.
fn data(len: usize, k: usize, seed: u64) -> (Vec<f64>, Vec<bool>, Vec<f64>) {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let seq = (0..len).map(|_| rng.random_range(-2.0..6.0)).collect();
    let missing = (0..len).map(|_| rng.random_bool(0.2)).collect();
    let d_le = (0..len * k).map(|_| rng.random_range(-0.5..1.5)).collect();
    (seq, missing, d_le)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn the_reference_family_product_equals_its_contracted_jacobian(
        k in 1usize..=6,
        len in 1usize..40,
        signal in -3.0f64..3.0,
        noise in 0.05f64..4.0,
        seed in any::<u64>(),
    ) {
        let e = SharedSignalGaussian::new(signal, noise, k).unwrap();
        prop_assert!(e.has_vjp());
        let (seq, missing, d_le) = data(len, k, seed);
        check(&e, &seq, &missing, &d_le)?;
        // Nothing missing: the override's other loop.
        let none = vec![false; len];
        check(&e, &seq, &none, &d_le)?;
    }

    #[test]
    fn the_provided_product_equals_the_contracted_jacobian(
        k in 1usize..=6,
        len in 1usize..30,
        seed in any::<u64>(),
    ) {
        let means: Vec<f64> = (0..k).map(|j| j as f64 - 1.0).collect();
        let sds: Vec<f64> = (0..k).map(|j| 0.5 + 0.25 * j as f64).collect();
        let e = Gaussian::new(&means, &sds).unwrap();
        prop_assert!(!e.has_vjp());
        let (seq, missing, d_le) = data(len, k, seed);
        check(&e, &seq, &missing, &d_le)?;
    }
}
