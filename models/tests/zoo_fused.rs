//! Every zoo family's fused emission Jacobian ([`FusedEmission`], sparse for per-state
//! families): at random valid parameters and random small simulated data sets, the model's
//! HMM log-likelihood through the fused path equals the generic path (every density one tape
//! node, the emission wrapped so that it offers no fast path) — values to 1e-14 relative,
//! gradients to 1e-12 — and equals finite differences and forward mode (`check_gradient`).
//! The sparse form's dense rendering (`log_densities_with_jacobian`) is checked against it.

use crate::zoo_common;

use proptest::prelude::*;
use trellis_ad::{check_gradient, reverse, testing, GradientCheck};
use trellis_models::hmm::Sequences;
use trellis_models::zoo::*;
use trellis_models::{BayesianModel, Emission, FusedEmission};
use zoo_common::{real_dummy, shape};

// The two likelihood paths have one copy, shared with the `hmm` bench.
use crate::family_likelihood;
use family_likelihood::{simulated_model, FamilyLikelihood};

/// Simulates a data set from the family at `u_data`, then compares the paths at `u_eval`.
fn check_family<F: Family + Clone>(
    family: F,
    dummy: Sequences<F::Obs>,
    u_data: &[f64],
    u_eval: &[f64],
    shape: (usize, usize, u64),
) -> Result<(), TestCaseError>
where
    for<'a> F::Emission<'a, f64>: FusedEmission<f64>,
{
    let (model, _) = simulated_model(family, dummy, |dim| u_data[..dim].to_vec(), shape);
    let u = &u_eval[..model.layout().dim()];
    let [fused, generic] = FamilyLikelihood::both(&model);
    let (v_fused, g_fused) = reverse::value_and_gradient(&fused, u);
    let (v_generic, g_generic) = reverse::value_and_gradient(&generic, u);
    prop_assert!(
        (v_fused - v_generic).abs() <= 1e-14 * v_generic.abs().max(1.0),
        "value: fused {v_fused} vs generic {v_generic}"
    );
    let close = g_fused
        .iter()
        .zip(&g_generic)
        .all(|(a, b)| (a - b).abs() <= 1e-12 * b.abs().max(1.0));
    prop_assert!(
        close,
        "gradient: fused {g_fused:?} vs generic {g_generic:?}"
    );
    let opts = GradientCheck {
        step: 2e-4,
        ..GradientCheck::default()
    };
    check_gradient(&fused, u, &opts).map_err(|e| TestCaseError::fail(format!("fused: {e}")))?;
    check_dense_form(&model, u)
}

/// The dense Jacobian that the sparse form renders equals the sparse pairs scattered, and
/// the values equal the plain densities, at every step of the data.
fn check_dense_form<F: Family>(model: &HmmModel<F>, u: &[f64]) -> Result<(), TestCaseError>
where
    for<'a> F::Emission<'a, f64>: FusedEmission<f64>,
{
    let mut buffer = Vec::new();
    let params = model.layout().constrain_params(u, &mut buffer).unwrap();
    let emission = model.emission(&params);
    let k = emission.n_states();
    let mut theta = Vec::new();
    emission.parameters(&mut theta);
    let np = theta.len();
    let width = emission.jacobian_width().unwrap_or(np);
    for seq in model.data() {
        for t in 0..seq.len() {
            let (mut values, mut dense) = (vec![0.0; k], vec![0.0; k * np]);
            emission.log_densities_with_jacobian(seq, t, &mut values, &mut dense);
            let (mut sparse_values, mut idx, mut part) =
                (vec![0.0; k], vec![0usize; k * width], vec![0.0; k * width]);
            emission.log_densities_with_sparse_jacobian(
                seq,
                t,
                &mut sparse_values,
                &mut idx,
                &mut part,
            );
            let mut scattered = vec![0.0; k * np];
            for (i, (&p, &d)) in idx.iter().zip(&part).enumerate() {
                prop_assert!(p < np, "index {p} ≥ P = {np}");
                scattered[(i / width) * np + p] += d;
            }
            prop_assert_eq!(&values, &sparse_values);
            prop_assert_eq!(&dense, &scattered);
            let mut plain = vec![0.0; k];
            emission.log_densities(seq, t, &mut plain);
            // The plain f64 densities use the generic formula: equal up to rounding.
            for (v, p) in values.iter().zip(&plain) {
                prop_assert!(
                    (v - p).abs() <= 1e-14 * p.abs().max(1.0),
                    "{v} vs plain {p}"
                );
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn gaussian(ud in testing::bounded_vec(24, 1.5), ue in testing::bounded_vec(24, 1.5), s in shape()) {
        check_family(GaussianFamily::new(3), real_dummy(), &ud, &ue, s)?;
    }

    #[test]
    fn shared_signal(ud in testing::bounded_vec(24, 1.5), ue in testing::bounded_vec(24, 1.5), s in shape()) {
        check_family(SharedSignalFamily::new(3), real_dummy(), &ud, &ue, s)?;
    }

    #[test]
    fn poisson(ud in testing::bounded_vec(24, 1.5), ue in testing::bounded_vec(24, 1.5), s in shape()) {
        let dummy = Sequences::new(vec![vec![1u32]]).unwrap();
        check_family(PoissonFamily::new(3), dummy, &ud, &ue, s)?;
    }

    #[test]
    fn categorical(ud in testing::bounded_vec(24, 1.5), ue in testing::bounded_vec(24, 1.5), s in shape()) {
        let dummy = Sequences::new(vec![vec![0usize]]).unwrap();
        check_family(CategoricalFamily::new(2, 4), dummy, &ud, &ue, s)?;
    }

    #[test]
    fn student_t_shared_nu(ud in testing::bounded_vec(24, 1.5), ue in testing::bounded_vec(24, 1.5), s in shape()) {
        check_family(StudentTFamily::new(2), real_dummy(), &ud, &ue, s)?;
    }

    #[test]
    fn student_t_per_state_nu(ud in testing::bounded_vec(24, 1.5), ue in testing::bounded_vec(24, 1.5), s in shape()) {
        let family = StudentTFamily { shared_nu: false, ..StudentTFamily::new(3) };
        check_family(family, real_dummy(), &ud, &ue, s)?;
    }

    #[test]
    fn ar1(ud in testing::bounded_vec(24, 1.5), ue in testing::bounded_vec(24, 1.5), s in shape()) {
        check_family(Ar1Family::new(2), real_dummy(), &ud, &ue, s)?;
    }

    #[test]
    fn diagonal_mvn(ud in testing::bounded_vec(24, 1.5), ue in testing::bounded_vec(24, 1.5), s in shape()) {
        let dummy = Sequences::new(vec![vec![vec![0.0; 3]]]).unwrap();
        check_family(DiagonalMvnFamily::new(2, 3), dummy, &ud, &ue, s)?;
    }

    #[test]
    fn exponential(ud in testing::bounded_vec(24, 1.5), ue in testing::bounded_vec(24, 1.5), s in shape()) {
        check_family(ExponentialFamily::new(3), real_dummy(), &ud, &ue, s)?;
    }
}
