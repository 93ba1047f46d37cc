//! For every zoo model, at random valid parameters and random small simulated datasets:
//! reverse mode (fused emission nodes + fused forward–backward) = forward mode (generic
//! code) = finite differences, for the emission alone and for the whole log-density.

use crate::zoo_common;

use proptest::prelude::*;
use trellis_ad::{check_gradient, testing, GradientCheck, Scalar, ScalarFn};
use trellis_models::hmm::Sequences;
use trellis_models::zoo::*;
use trellis_models::{BayesianModel, Emission, ModelDensity, Prior, Transform};
use zoo_common::{real_dummy, shape};

/// `Σ_(s,t,k) w(t, k) ℓ_s[t][k]` for the family's emission at the unconstrained point.
struct EmissionSum<'m, F: Family> {
    model: &'m HmmModel<F>,
}

impl<F: Family> ScalarFn for EmissionSum<'_, F> {
    fn eval<T: Scalar>(&self, u: &[T]) -> T {
        let (model, mut buffer) = (self.model, Vec::new());
        let params = model.layout().constrain_params(u, &mut buffer).unwrap();
        let emission = model.emission(&params);
        let k = emission.n_states();
        let mut out = vec![T::constant(0.0); k];
        let mut total = T::constant(0.0);
        for seq in self.model.data() {
            for t in 0..seq.len() {
                emission.log_densities(seq, t, &mut out);
                for (j, o) in out.iter().enumerate() {
                    total += *o * (0.3 + 0.1 * j as f64 + 0.05 * t as f64);
                }
            }
        }
        total
    }
}

/// Simulates a small data set from the family at the point `u_data`, then checks both
/// gradients at the point `u_eval`.
fn check_family<F: Family + Clone>(
    family: F,
    dummy: Sequences<F::Obs>,
    markov: MarkovPriors,
    u_data: &[f64],
    u_eval: &[f64],
    shape: (usize, usize, u64),
) -> Result<(), TestCaseError> {
    let template = HmmModel::with_markov_priors(family.clone(), dummy, markov.clone()).unwrap();
    let dim = template.layout().dim();
    let (n_seq, len, seed) = shape;
    let truth = template.constrained(&u_data[..dim]).unwrap();
    let sim = template.simulate(&truth, n_seq, len, seed).unwrap();
    let model = HmmModel::with_markov_priors(family, sim.observations, markov).unwrap();
    let u = &u_eval[..dim];
    // A smaller step than the default: with heavy tails (ν < 1) and small scales, the
    // log-density varies on scales ~0.05 in u, where the O(h⁴) stencil error at h = 1e-3 is
    // ~1e-6 relative; at h = 2e-4 it is 600 times smaller, rounding noise still ~1e-9.
    let opts = GradientCheck {
        step: 2e-4,
        ..GradientCheck::default()
    };
    let sum = EmissionSum { model: &model };
    let fused = check_gradient(&sum, u, &opts)
        .map_err(|e| TestCaseError::fail(format!("emission: {e}")))?;
    // Values too: the fused nodes (reverse mode) against the generic formula (f64).
    let generic = sum.eval(u);
    prop_assert!(
        (fused.value - generic).abs() <= 1e-12 * generic.abs().max(1.0),
        "fused {} vs generic {}",
        fused.value,
        generic
    );
    let report = check_gradient(&ModelDensity::new(&model), u, &opts)
        .map_err(|e| TestCaseError::fail(format!("model: {e}")))?;
    prop_assert!(report.value.is_finite());
    // The typed path agrees with the ScalarFn path.
    let (v, g) = model.log_density_and_gradient(u).unwrap();
    prop_assert_eq!(v, report.value);
    prop_assert_eq!(g, report.analytic);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn gaussian(ud in testing::bounded_vec(24, 1.5), ue in testing::bounded_vec(24, 1.5), s in shape()) {
        check_family(GaussianFamily::new(3), real_dummy(), MarkovPriors::uniform(3), &ud, &ue, s)?;
    }

    #[test]
    fn gaussian_stick_breaking_sticky_prior(ud in testing::bounded_vec(24, 1.5), ue in testing::bounded_vec(24, 1.5), s in shape()) {
        let markov = MarkovPriors {
            initial: Prior::Flat,
            transition: Prior::dirichlet_rows(&[vec![5.0, 1.0], vec![1.0, 5.0]]),
            transform: Transform::StickBreaking,
        };
        check_family(GaussianFamily::new(2), real_dummy(), markov, &ud, &ue, s)?;
    }

    #[test]
    fn shared_signal(ud in testing::bounded_vec(24, 1.5), ue in testing::bounded_vec(24, 1.5), s in shape()) {
        check_family(SharedSignalFamily::new(3), real_dummy(), MarkovPriors::uniform(3), &ud, &ue, s)?;
    }

    #[test]
    fn poisson(ud in testing::bounded_vec(24, 1.5), ue in testing::bounded_vec(24, 1.5), s in shape()) {
        let dummy = Sequences::new(vec![vec![1u32]]).unwrap();
        check_family(PoissonFamily::new(3), dummy, MarkovPriors::uniform(3), &ud, &ue, s)?;
    }

    #[test]
    fn categorical(ud in testing::bounded_vec(24, 1.5), ue in testing::bounded_vec(24, 1.5), s in shape()) {
        let dummy = Sequences::new(vec![vec![0usize]]).unwrap();
        check_family(CategoricalFamily::new(2, 4), dummy, MarkovPriors::uniform(2), &ud, &ue, s)?;
    }

    #[test]
    fn student_t_shared_nu(ud in testing::bounded_vec(24, 1.5), ue in testing::bounded_vec(24, 1.5), s in shape()) {
        check_family(StudentTFamily::new(2), real_dummy(), MarkovPriors::uniform(2), &ud, &ue, s)?;
    }

    #[test]
    fn student_t_per_state_nu(ud in testing::bounded_vec(24, 1.5), ue in testing::bounded_vec(24, 1.5), s in shape()) {
        let family = StudentTFamily { shared_nu: false, ..StudentTFamily::new(3) };
        check_family(family, real_dummy(), MarkovPriors::uniform(3), &ud, &ue, s)?;
    }

    #[test]
    fn ar1(ud in testing::bounded_vec(24, 1.5), ue in testing::bounded_vec(24, 1.5), s in shape()) {
        check_family(Ar1Family::new(2), real_dummy(), MarkovPriors::uniform(2), &ud, &ue, s)?;
    }

    #[test]
    fn diagonal_mvn(ud in testing::bounded_vec(24, 1.5), ue in testing::bounded_vec(24, 1.5), s in shape()) {
        let dummy = Sequences::new(vec![vec![vec![0.0; 3]]]).unwrap();
        check_family(DiagonalMvnFamily::new(2, 3), dummy, MarkovPriors::uniform(2), &ud, &ue, s)?;
    }

    #[test]
    fn exponential(ud in testing::bounded_vec(24, 1.5), ue in testing::bounded_vec(24, 1.5), s in shape()) {
        check_family(ExponentialFamily::new(3), real_dummy(), MarkovPriors::uniform(3), &ud, &ue, s)?;
    }
}

#[test]
fn single_state_models_work() {
    let data = Sequences::new(vec![vec![0.3, -0.2, 1.1]]).unwrap();
    let model = HmmModel::new(GaussianFamily::new(1), data).unwrap();
    assert_eq!(model.layout().dim(), 2);
    check_gradient(
        &ModelDensity::new(&model),
        &[0.2, -0.1],
        &GradientCheck::default(),
    )
    .unwrap();
}
