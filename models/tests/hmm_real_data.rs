//! Real-data HMMs through `HmmModel` (issue 11): structural zeros, missing observations and
//! covariate-driven transitions against enumeration of all hidden paths (K = 3, T ≤ 7) —
//! value, gradient, filtering, smoothing, Viterbi — with the paths' probabilities written
//! here from the model's definition, independently of the forward recursion.

use trellis_ad::{forward, Scalar, ScalarFn};
/// ln √(2π).
const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_8;
use trellis_models::hmm::{self, Sequences};
use trellis_models::zoo::{Covariates, GaussianFamily, HmmModel, StateMasks};
use trellis_models::{BayesianModel, Params};

const K: usize = 3;

/// The data: ragged sequences (7, 5, 1) with missing steps (placeholders 1e6, never read),
/// one of them at the first step.
/// Masks from fixed-size rows (`true` = free).
fn state_masks(initial: [bool; K], transition: [[bool; K]; K]) -> StateMasks {
    StateMasks {
        initial: initial.to_vec(),
        transition: transition.iter().map(|row| row.to_vec()).collect(),
    }
}

fn data() -> Sequences<f64> {
    let seqs = vec![
        vec![0.1, 1e6, 2.2, 1.9, 4.1, 1e6, 3.8],
        vec![1e6, 0.3, 2.0, 2.4, 0.2],
        vec![3.9],
    ];
    let missing = vec![
        false, true, false, false, false, true, false, // sequence 0
        true, false, false, false, false, // sequence 1
        false, // sequence 2
    ];
    Sequences::new(seqs).unwrap().with_missing(missing).unwrap()
}

/// Two covariates per observation, flat order.
fn covariates() -> Covariates {
    let n = 13;
    let values: Vec<f64> = (0..n)
        .flat_map(|i| {
            let x = i as f64;
            [(0.7 * x).sin(), 0.3 * x - 1.5]
        })
        .collect();
    Covariates::new(vec!["x1".into(), "x2".into()], values, n).unwrap()
}

/// How the transitions of the enumerated model are given.
enum Chain<'a> {
    /// `p_transition` (`K × K`).
    Matrix,
    /// `transition_coef` (`K × K × C`) with the design vectors of every observation, and
    /// the free transitions (`K × K`) when some are structural zeros.
    Coefficients(&'a [f64], usize, Option<&'a [bool]>),
}

/// `ln p(y)` of one sequence by enumerating all `K^T` paths, with `ln p(z, y)` of each path:
/// Gaussian emissions `mu`, `sigma`, initial `pi`, transitions from `trans` (probabilities
/// or coefficients). Paths through a zero probability are skipped (they have weight 0).
fn paths<T: Scalar>(
    values: &[T],
    chain: &Chain<'_>,
    seq: &[f64],
    missing: &[bool],
    design_offset: usize,
) -> Vec<(Vec<usize>, T)> {
    let (mu, sigma, pi, trans) = (
        &values[0..K],
        &values[K..2 * K],
        &values[2 * K..3 * K],
        &values[3 * K..],
    );
    let n = seq.len();
    // ln Γₜ[i][j] for the step from t.
    let log_gamma = |t: usize, i: usize, j: usize| -> Option<T> {
        match chain {
            Chain::Matrix => {
                let p = trans[i * K + j];
                (p.value() != 0.0).then(|| p.ln())
            }
            Chain::Coefficients(design, c, free) => {
                let allowed = |j: usize| free.map_or(true, |f| f[i * K + j]);
                if !allowed(j) {
                    return None;
                }
                let z = &design[(design_offset + t) * c..(design_offset + t + 1) * c];
                let eta = |j: usize| {
                    if j == i {
                        T::constant(0.0)
                    } else {
                        let mut s = T::constant(0.0);
                        for (cc, &zc) in z.iter().enumerate() {
                            s += trans[(i * K + j) * c + cc] * zc;
                        }
                        s
                    }
                };
                // The softmax over the allowed destinations only.
                let etas: Vec<T> = (0..K).filter(|&j| allowed(j)).map(eta).collect();
                Some(eta(j) - T::log_sum_exp(&etas))
            }
        }
    };
    let emit = |t: usize, k: usize| -> T {
        if missing[t] {
            T::constant(0.0)
        } else {
            let zt = (-mu[k] + seq[t]) / sigma[k];
            -(zt * zt) * 0.5 - sigma[k].ln() - LN_SQRT_2PI
        }
    };
    let mut out = Vec::new();
    'paths: for code in 0..K.pow(n as u32) {
        let path: Vec<usize> = (0..n).map(|t| (code / K.pow(t as u32)) % K).collect();
        if pi[path[0]].value() == 0.0 {
            continue;
        }
        let mut w = pi[path[0]].ln() + emit(0, path[0]);
        for t in 1..n {
            match log_gamma(t - 1, path[t - 1], path[t]) {
                Some(lg) => w += lg + emit(t, path[t]),
                None => continue 'paths,
            }
        }
        out.push((path, w));
    }
    out
}

/// The log-likelihood of all sequences by enumeration.
fn brute_log_likelihood<T: Scalar>(values: &[T], chain: &Chain<'_>, data: &Sequences<f64>) -> T {
    let mut total = T::constant(0.0);
    for (s, seq) in data.iter().enumerate() {
        let missing = data.missing_of(s).unwrap();
        let ws: Vec<T> = paths(values, chain, seq, missing, data.offsets()[s])
            .into_iter()
            .map(|(_, w)| w)
            .collect();
        total += T::log_sum_exp(&ws);
    }
    total
}

/// The model's log-density with the likelihood by enumeration (priors and Jacobians from
/// the layout): its forward-mode gradient is the reference for the model's reverse mode.
struct BruteDensity<'a> {
    model: &'a HmmModel<GaussianFamily>,
    chain: Chain<'a>,
}

impl ScalarFn for BruteDensity<'_> {
    fn eval<T: Scalar>(&self, u: &[T]) -> T {
        let mut buffer = Vec::new();
        let params: Params<'_, T> = self
            .model
            .layout()
            .constrain_params(u, &mut buffer)
            .unwrap();
        let mut total = brute_log_likelihood(params.values(), &self.chain, self.model.data());
        for i in 0..self.model.layout().params().len() {
            total +=
                trellis_models::model::log_prior(self.model, &params, i) + params.log_jacobian(i);
        }
        total
    }
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * a.abs().max(b.abs()).max(1.0)
}

/// Value, gradient, filtering, smoothing and Viterbi of `model` at the unconstrained point
/// `u` against enumeration.
fn check_against_enumeration(model: &HmmModel<GaussianFamily>, chain: Chain<'_>, u: &[f64]) {
    let constrained = model.constrained(u).unwrap();
    let data = model.data();
    // Value of the likelihood alone, at the constrained values as given.
    let mut buffer = Vec::new();
    let params = model
        .layout()
        .params_from_constrained(&constrained, &mut buffer)
        .unwrap();
    let ll = model.log_likelihood(&params).unwrap();
    let brute = brute_log_likelihood(&constrained, &chain, data);
    assert!(
        close(ll, brute, 1e-12),
        "log-likelihood {ll} vs enumeration {brute}"
    );
    // Gradient of the whole log-density: reverse mode (fused) against forward mode through
    // enumeration.
    let (lp, grad) = model.log_density_and_gradient(u).unwrap();
    let reference = BruteDensity { model, chain };
    let (lp_ref, grad_ref) = forward::value_and_gradient(&reference, u);
    assert!(close(lp, lp_ref, 1e-12), "log-density {lp} vs {lp_ref}");
    let scale = grad_ref.iter().fold(1.0f64, |m, g| m.max(g.abs()));
    for (i, (g, r)) in grad.iter().zip(&grad_ref).enumerate() {
        assert!(
            (g - r).abs() <= 1e-9 * scale,
            "∂/∂{}: {g} vs enumeration {r}",
            model.layout().unconstrained_names()[i]
        );
    }
    // Filtering, smoothing and Viterbi of each sequence.
    for (s, seq) in data.iter().enumerate() {
        let missing = data.missing_of(s).unwrap();
        let all = paths(
            &constrained,
            &reference.chain,
            seq,
            missing,
            data.offsets()[s],
        );
        let total = f64::log_sum_exp(&all.iter().map(|p| p.1).collect::<Vec<_>>());
        let (post, path) = model
            .at_sequence(&constrained, s, |chain, emission, seq| {
                (
                    hmm::posterior(chain, emission, seq).unwrap(),
                    hmm::viterbi(chain, emission, seq).unwrap(),
                )
            })
            .unwrap();
        assert!(close(post.log_likelihood, total, 1e-12));
        for t in 0..seq.len() {
            // Row t of `table` against the posterior mass of `paths` at each state.
            let check_row = |what: &str,
                             table: &ndarray::Array2<f64>,
                             paths: &[(Vec<usize>, f64)],
                             total: f64| {
                for k in 0..K {
                    let (got, mass) = (table[[t, k]], state_mass(paths, total, t, k));
                    assert!(
                        (got - mass).abs() < 1e-12,
                        "{what}[{s}][{t},{k}] {got} vs {mass}"
                    );
                }
            };
            // Smoothed: the paths' posterior mass at state k.
            check_row("smoothed", &post.smoothed, &all, total);
            // Filtered: enumeration of the prefix y₁..yₜ.
            let prefix = paths(
                &constrained,
                &reference.chain,
                &seq[..=t],
                &missing[..=t],
                data.offsets()[s],
            );
            let prefix_total = f64::log_sum_exp(&prefix.iter().map(|p| p.1).collect::<Vec<_>>());
            check_row("filtered", &post.filtered, &prefix, prefix_total);
        }
        let best = all
            .iter()
            .max_by(|a, b| a.1.partial_cmp(&b.1).unwrap())
            .unwrap();
        assert_eq!(path.states, best.0, "Viterbi path of sequence {s}");
        assert!(close(path.log_probability, best.1, 1e-12));
    }
}

/// The posterior mass of the paths in state `k` at `t` (`total` = ln Σ of their weights).
fn state_mass(paths: &[(Vec<usize>, f64)], total: f64, t: usize, k: usize) -> f64 {
    paths
        .iter()
        .filter(|(p, _)| p[t] == k)
        .map(|(_, w)| (w - total).exp())
        .sum()
}

/// A point with every unconstrained coordinate away from 0.
fn point(dim: usize) -> Vec<f64> {
    (0..dim)
        .map(|i| 0.4 * ((1.7 * i as f64 + 0.3).sin()))
        .collect()
}

#[test]
fn covariates_missing_steps_and_an_initial_zero_match_enumeration() {
    let masks = state_masks([true, true, false], [[true; K]; K]);
    let model = HmmModel::new(GaussianFamily::new(K), data())
        .unwrap()
        .with_masks(masks)
        .unwrap()
        .with_covariates(covariates())
        .unwrap();
    // mu 3, sigma 3, p_initial_state 1 (one zero), transition_coef 6 × 3 (diagonal fixed).
    assert_eq!(model.layout().dim(), 3 + 3 + 1 + 18);
    let design = covariates().design();
    let u = point(model.layout().dim());
    check_against_enumeration(&model, Chain::Coefficients(&design, 3, None), &u);
    // The diagonal coefficients are reported as exact zeros.
    let constrained = model.constrained(&u).unwrap();
    let names = model.layout().element_names();
    for (name, v) in names.iter().zip(&constrained) {
        if name.starts_with("transition_coef[1,1,") {
            assert_eq!(*v, 0.0, "{name}");
        }
    }
    assert_eq!(
        constrained[8], 0.0,
        "p_initial_state[2] is a structural zero"
    );
}

/// Structural zeros of every `Γₜ` with covariates and missing steps: a row with its staying
/// entry masked (its first free entry is the reference), a row with one free entry (the
/// constant 1) and a row of two; in both orders of `with_masks` and `with_covariates`.
#[test]
fn masks_with_covariates_and_missing_steps_match_enumeration() {
    let masks = state_masks(
        [true, false, true],
        [
            [true, true, false],
            [false, false, true],
            [true, true, false],
        ],
    );
    let free: Vec<bool> = masks.transition.iter().flatten().copied().collect();
    let base = || HmmModel::new(GaussianFamily::new(K), data()).unwrap();
    let model = base()
        .with_masks(masks.clone())
        .unwrap()
        .with_covariates(covariates())
        .unwrap();
    let other_order = base()
        .with_covariates(covariates())
        .unwrap()
        .with_masks(masks)
        .unwrap();
    assert_eq!(
        model.layout().element_names(),
        other_order.layout().element_names()
    );
    // mu 3, sigma 3, p_initial_state 1, transition_coef: row 0 one free entry (0→1) × 3,
    // row 1 none (2 is its reference), row 2 one (2→1; 2→0 is the reference) × 3.
    assert_eq!(model.layout().dim(), 3 + 3 + 1 + 6);
    let design = covariates().design();
    let u = point(model.layout().dim());
    check_against_enumeration(&model, Chain::Coefficients(&design, 3, Some(&free)), &u);
    let (a, b) = (
        model.log_density_and_gradient(&u).unwrap(),
        other_order.log_density_and_gradient(&u).unwrap(),
    );
    assert_eq!(a, b);
    // Every masked coefficient and every reference coefficient is an exact 0.
    let constrained = model.constrained(&u).unwrap();
    let names = model.layout().element_names();
    for (name, v) in names.iter().zip(&constrained) {
        let fixed = ["[0,0,", "[0,2,", "[1,", "[2,0,", "[2,2,"];
        if name.starts_with("transition_coef") && fixed.iter().any(|f| name.contains(f)) {
            assert_eq!(*v, 0.0, "{name}");
        } else if name.starts_with("transition_coef") {
            assert_ne!(*v, 0.0, "{name} is free");
        }
    }
    // Each step's Γₜ has its masked entries at exactly 0 and the rest summing to 1.
    model
        .at_sequence(&constrained, 0, |chain, _, seq| {
            let sim = hmm::simulate_states(chain, seq.len(), &mut rand_free_rng());
            for w in sim.windows(2) {
                assert!(free[w[0] * K + w[1]], "a masked transition {w:?} was drawn");
            }
        })
        .unwrap();
}

/// `∂ ln L/∂ p_initial_state[i]` in probability space, finite at a zero entry, against the
/// enumeration: `L` is linear in the initial distribution, so
/// `(L(π + h·eᵢ)/L(π) − 1)/h` is the partial exactly (up to rounding), for any `h`.
#[test]
fn initial_probability_gradient_matches_enumeration_at_a_zero() {
    let masks = state_masks(
        [true, true, false],
        [[true, true, false], [false, true, true], [true; K]],
    );
    let model = HmmModel::new(GaussianFamily::new(K), data())
        .unwrap()
        .with_covariates(covariates())
        .unwrap()
        .with_masks(masks.clone())
        .unwrap();
    let design = covariates().design();
    let free: Vec<bool> = masks.transition.iter().flatten().copied().collect();
    let chain = Chain::Coefficients(&design, 3, Some(&free));
    let constrained = model.constrained(&point(model.layout().dim())).unwrap();
    assert_eq!(constrained[2 * K + 2], 0.0);
    let g = model.initial_probability_gradient(&constrained).unwrap();
    let h = 0.25;
    for (i, &gi) in g.iter().enumerate() {
        let mut bumped = constrained.clone();
        bumped[2 * K + i] += h;
        // ln L is a sum over sequences, each linear in π: the sum of each one's ratio.
        let mut expected = 0.0;
        for s in 0..model.data().len() {
            let one = |values: &[f64]| {
                let seq = &model.data()[s];
                let ws: Vec<f64> = paths(
                    values,
                    &chain,
                    seq,
                    model.data().missing_of(s).unwrap(),
                    model.data().offsets()[s],
                )
                .into_iter()
                .map(|(_, w)| w)
                .collect();
                f64::log_sum_exp(&ws)
            };
            expected += ((one(&bumped) - one(&constrained)).exp() - 1.0) / h;
        }
        assert!(close(gi, expected, 1e-10), "∂/∂π[{i}]: {gi} vs {expected}");
        assert!(gi.is_finite() && gi > 0.0);
    }
}

/// A fixed-seed generator for drawing paths.
fn rand_free_rng() -> rand_xoshiro::Xoshiro256PlusPlus {
    use rand::SeedableRng;
    rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(5)
}

#[test]
fn transition_zeros_and_missing_steps_match_enumeration() {
    let masks = state_masks(
        [true; K],
        [
            [true, true, false],
            [false, true, true],
            [true, false, true],
        ],
    );
    let model = HmmModel::new(GaussianFamily::new(K), data())
        .unwrap()
        .with_masks(masks)
        .unwrap();
    // mu 3, sigma 3, p_initial_state 2, p_transition 3 rows of 1.
    assert_eq!(model.layout().dim(), 3 + 3 + 2 + 3);
    check_against_enumeration(&model, Chain::Matrix, &point(model.layout().dim()));
    // A left-to-right chain: one row is the constant (0, 0, 1).
    let ltr = HmmModel::new(GaussianFamily::new(K), data())
        .unwrap()
        .with_masks(StateMasks::left_to_right(K))
        .unwrap();
    assert_eq!(ltr.layout().dim(), 3 + 3 + 2);
    check_against_enumeration(&ltr, Chain::Matrix, &point(ltr.layout().dim()));
    let c = ltr.constrained(&point(ltr.layout().dim())).unwrap();
    assert_eq!(&c[6..9], &[1.0, 0.0, 0.0]);
    assert_eq!(&c[15..18], &[0.0, 0.0, 1.0]);
}

mod gradients {
    //! Forward mode, reverse mode and finite differences agree for each new piece, at random
    //! points (the zoo proptests' style).

    use super::*;
    use proptest::prelude::*;
    use trellis_ad::{check_gradient, GradientCheck};
    use trellis_models::zoo::{DiagonalMvnFamily, MarkovPriors, PoissonFamily};
    use trellis_models::{ModelDensity, ParamLayout, Prior, Shape, Transform};

    fn check<M: BayesianModel>(model: &M, u: &[f64]) -> Result<(), TestCaseError> {
        let report = check_gradient(&ModelDensity::new(model), u, &GradientCheck::default())
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(report.value.is_finite());
        Ok(())
    }

    /// `Σ w·x` over a masked simplex's constrained values plus its prior and log-Jacobian.
    struct MaskedBlock {
        layout: ParamLayout,
    }

    impl ScalarFn for MaskedBlock {
        fn eval<T: Scalar>(&self, u: &[T]) -> T {
            let mut buffer = Vec::new();
            let params = self.layout.constrain_params(u, &mut buffer).unwrap();
            let mut total = self.layout.log_prior(&params, 0) + params.log_jacobian(0);
            for (i, &x) in params.values().iter().enumerate() {
                total += x * (0.5 + 0.25 * i as f64);
            }
            total
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        #[test]
        fn masked_simplex_transforms(
            u in proptest::collection::vec(-2.0f64..2.0, 4),
            stick in any::<bool>(),
        ) {
            let transform = if stick { Transform::StickBreaking } else { Transform::Simplex };
            let free = vec![true, false, true, true, true, true, false, true, false, false, true, false];
            let mut layout = ParamLayout::new();
            let alpha = vec![2.0, 1.5, 0.7, 3.0];
            layout.declare_masked("p", Shape::Matrix(3, 4), transform, Prior::Dirichlet { alpha }, free).unwrap();
            prop_assert_eq!(layout.dim(), 4);
            let f = MaskedBlock { layout };
            check_gradient(&f, &u, &GradientCheck::default())
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            // Round trip through the constrained values.
            let mut c = Vec::new();
            f.layout.constrain(&u, &mut c).unwrap();
            let back = f.layout.unconstrain(&c).unwrap();
            for (a, b) in back.iter().zip(&u) {
                prop_assert!((a - b).abs() < 1e-9, "{} vs {}", a, b);
            }
        }

        #[test]
        fn masked_chain_model(u in proptest::collection::vec(-1.5f64..1.5, 8)) {
            let markov = MarkovPriors {
                initial: Prior::Dirichlet { alpha: vec![2.0, 1.0, 1.0] },
                transition: Prior::dirichlet_rows(&[vec![5.0, 1.0, 1.0], vec![1.0, 5.0, 1.0], vec![1.0, 1.0, 5.0]]),
                transform: Transform::Simplex,
            };
            let model = HmmModel::with_markov_priors(GaussianFamily::new(K), data(), markov)
                .unwrap()
                .with_masks(StateMasks::left_to_right(K))
                .unwrap();
            check(&model, &u)?;
        }

        #[test]
        fn missing_steps_and_coordinates(u in proptest::collection::vec(-1.5f64..1.5, 11)) {
            // Diagonal Gaussian (fused, sparse Jacobian): a missing coordinate, an all-NaN
            // step and a flagged missing step.
            let nan = f64::NAN;
            let seqs = vec![
                vec![vec![0.1, 1.0], vec![nan, 0.7], vec![2.0, 2.5], vec![nan, nan], vec![1.0, nan]],
                vec![vec![9.0, 9.0], vec![0.5, 0.2]],
            ];
            let missing = vec![false, false, false, false, false, true, false];
            let data = Sequences::new(seqs).unwrap().with_missing(missing).unwrap();
            let model = HmmModel::new(DiagonalMvnFamily::new(2, 2), data).unwrap();
            check(&model, &u)?;
        }

        #[test]
        fn per_element_priors(u in proptest::collection::vec(-1.5f64..1.5, 14)) {
            let mut family = GaussianFamily::new(K);
            family.mu_prior = Prior::normal_each(&[-1.0, 0.0, 3.0], &[0.5, 1.0, 2.0]);
            family.sigma_prior = Prior::PerElement(vec![
                Prior::HalfNormal { sigma: 1.0 },
                Prior::Gamma { shape: 2.0, rate: 1.0 },
                Prior::LogNormal { mu: 0.0, sigma: 0.5 },
            ]);
            let model = HmmModel::new(family, data()).unwrap();
            check(&model, &u[..model.layout().dim()])?;
            // Per-element priors on covariate coefficients (fixed diagonal skipped).
            let coef_prior = Prior::PerElement(
                (0..K * K * 3).map(|i| Prior::Normal { mu: 0.1 * i as f64, sigma: 1.0 + 0.05 * i as f64 }).collect(),
            );
            let model = HmmModel::new(GaussianFamily::new(K), data())
                .unwrap()
                .with_covariates(covariates())
                .unwrap()
                .with_coefficient_prior(coef_prior)
                .unwrap();
            let v: Vec<f64> = (0..model.layout().dim()).map(|i| u[i % u.len()]).collect();
            check(&model, &v)?;
        }

        #[test]
        fn covariate_model(u in proptest::collection::vec(-1.0f64..1.0, 1 + 1 + 6)) {
            let counts = vec![vec![0, 3, 1, 7, 2, 0, 5], vec![4, 4, 0, 1, 9, 2]];
            let n = 13;
            let cov = Covariates::new(
                vec!["x".into()],
                (0..n).map(|i| (0.9 * i as f64).cos()).collect(),
                n,
            )
            .unwrap();
            let data = Sequences::new(counts).unwrap()
                .with_missing((0..n).map(|i| i == 4 || i == 10).collect())
                .unwrap();
            let model = HmmModel::new(PoissonFamily::new(2), data)
                .unwrap()
                .with_covariates(cov)
                .unwrap();
            prop_assert_eq!(model.layout().dim(), 2 + 1 + 4);
            check(&model, &u[..7])?;
        }

        #[test]
        fn masked_covariate_model(u in proptest::collection::vec(-1.0f64..1.0, 3 + 3 + 1 + 6)) {
            // Structural zeros of every Γₜ with covariates and missing steps: row 1 constant,
            // row 2 with its staying entry masked.
            let masks = state_masks([true, false, true], [[true, true, false], [false, false, true], [true, true, false]]);
            let model = HmmModel::new(GaussianFamily::new(K), data())
                .unwrap()
                .with_covariates(covariates())
                .unwrap()
                .with_masks(masks)
                .unwrap();
            check(&model, &u)?;
        }
    }
}

/// The per-element prior is the sum of each element's own prior, and an override of the
/// extra prior term adds to the declared priors instead of replacing them.
#[test]
fn per_element_priors_and_extra_terms_add_up() {
    use trellis_models::{model, ModelError, Prior};
    let mut family = GaussianFamily::new(K);
    family.mu_prior = Prior::normal_each(&[-1.0, 0.0, 3.0], &[0.5, 1.0, 2.0]);
    let model = HmmModel::new(family, data()).unwrap();
    let x = [
        -0.8, 0.4, 2.0, 1.0, 1.0, 1.0, 0.2, 0.3, 0.5, 0.4, 0.3, 0.3, 0.2, 0.5, 0.3, 0.1, 0.1, 0.8,
    ];
    let mut buffer = Vec::new();
    let params = model
        .layout()
        .params_from_constrained(&x, &mut buffer)
        .unwrap();
    let normal = |x: f64, m: f64, s: f64| -0.5 * ((x - m) / s).powi(2) - s.ln() - LN_SQRT_2PI;
    let expected = normal(-0.8, -1.0, 0.5) + normal(0.4, 0.0, 1.0) + normal(2.0, 3.0, 2.0);
    assert!((model::log_prior(&model, &params, 0) - expected).abs() < 1e-12);
    /// A user model adding a term for `mu` only: the chain's Dirichlet priors stay.
    struct Extra(HmmModel<GaussianFamily>);
    impl BayesianModel for Extra {
        fn layout(&self) -> &trellis_models::ParamLayout {
            self.0.layout()
        }
        fn extra_log_prior<T: Scalar>(&self, p: &Params<'_, T>, index: usize) -> T {
            match index {
                0 => p.value(0)[0] * 0.5,
                _ => T::constant(0.0),
            }
        }
        fn log_likelihood<T: Scalar>(&self, p: &Params<'_, T>) -> Result<T, ModelError> {
            self.0.log_likelihood(p)
        }
    }
    let extra = Extra(model.clone());
    for i in 0..4 {
        let shift = if i == 0 { -0.8 * 0.5 } else { 0.0 };
        let (a, b) = (
            model::log_prior(&extra, &params, i),
            model::log_prior(&model, &params, i),
        );
        assert!((a - b - shift).abs() < 1e-12, "parameter {i}: {a} vs {b}");
    }
    // The chain's Dirichlet(1) priors are not zero at K = 3 (ln Γ(3) = ln 2 per row): they
    // were added, not dropped.
    assert!((model::log_prior(&extra, &params, 3) - 3.0 * 2f64.ln()).abs() < 1e-12);
}

mod probability_space {
    //! `probability_gradient` against finite differences of enumeration, at exact zeros.

    use super::*;
    use trellis_models::hmm::{batch_probability_gradient, probability_gradient};
    use trellis_models::zoo::Gaussian;

    /// `ln L` by enumeration with the chain's probabilities as free variables.
    fn enumerate(pi: &[f64], p: &[f64], le: &[f64]) -> f64 {
        let n = le.len() / K;
        let mut total = 0.0;
        for code in 0..K.pow(n as u32) {
            let path: Vec<usize> = (0..n).map(|t| (code / K.pow(t as u32)) % K).collect();
            let mut w = pi[path[0]] * le[path[0]].exp();
            for t in 1..n {
                w *= p[path[t - 1] * K + path[t]] * le[t * K + path[t]].exp();
            }
            total += w;
        }
        total.ln()
    }

    #[test]
    fn partials_are_finite_and_right_at_zero_entries() {
        let pi = [0.7, 0.3, 0.0];
        let p = [0.6, 0.4, 0.0, 0.0, 0.5, 0.5, 0.2, 0.0, 0.8];
        let le: Vec<f64> = (0..6 * K)
            .map(|i| -0.3 * ((i * 7) % 5) as f64 - 0.1)
            .collect();
        let g = probability_gradient(&pi, &p, &le, K).unwrap();
        assert!((g.log_likelihood - enumerate(&pi, &p, &le)).abs() < 1e-12);
        // Central differences (one-sided at the zeros: the function is a polynomial in each
        // probability, so a forward difference with a small step is accurate too).
        let h = 1e-6;
        let fd = |f: &dyn Fn(&[f64]) -> f64, x: &[f64], i: usize| {
            let (mut up, mut down) = (x.to_vec(), x.to_vec());
            up[i] += h;
            down[i] = (down[i] - h).max(0.0);
            (f(&up) - f(&down)) / (up[i] - down[i])
        };
        let close = |analytic: f64, fd: f64| (analytic - fd).abs() < 1e-5 * fd.abs().max(1.0);
        for i in 0..K {
            let fd = fd(&|x| enumerate(x, &p, &le), &pi, i);
            assert!(close(g.initial[i], fd), "π[{i}]: {} vs {fd}", g.initial[i]);
        }
        for i in 0..K * K {
            let fd = fd(&|x| enumerate(&pi, x, &le), &p, i);
            let analytic = g.transition[i];
            assert!(
                analytic.is_finite() && close(analytic, fd),
                "Γ[{i}]: {analytic} vs {fd}"
            );
        }
    }

    #[test]
    fn batch_version_sums_sequences_and_skips_missing_steps() {
        let (means, sds) = ([0.0, 2.0, 4.0], [1.0, 0.8, 1.2]);
        let emission = Gaussian::new(&means, &sds).unwrap();
        let data = data();
        let pi = [0.5, 0.5, 0.0];
        let p = [0.6, 0.4, 0.0, 0.0, 0.5, 0.5, 0.2, 0.0, 0.8];
        let g = batch_probability_gradient(&pi, &p, &emission, &data).unwrap();
        let mut expected = (0.0, vec![0.0; K], vec![0.0; K * K]);
        for (s, seq) in data.iter().enumerate() {
            let missing = data.missing_of(s).unwrap();
            let mut le = vec![0.0; seq.len() * K];
            for (t, row) in le.chunks_mut(K).enumerate() {
                if !missing[t] {
                    for (k, l) in row.iter_mut().enumerate() {
                        let z = (seq[t] - means[k]) / sds[k];
                        *l = -0.5 * z * z - sds[k].ln() - LN_SQRT_2PI;
                    }
                }
            }
            let one = probability_gradient(&pi, &p, &le, K).unwrap();
            expected.0 += enumerate(&pi, &p, &le);
            for (e, o) in expected.1.iter_mut().zip(&one.initial) {
                *e += o;
            }
            for (e, o) in expected.2.iter_mut().zip(&one.transition) {
                *e += o;
            }
        }
        assert!((g.log_likelihood - expected.0).abs() < 1e-12);
        for (a, b) in g
            .initial
            .iter()
            .chain(&g.transition)
            .zip(expected.1.iter().chain(&expected.2))
        {
            assert!((a - b).abs() < 1e-12);
        }
    }
}

mod round_trip {
    //! Simulate 3 states, 2 covariates, 10 % missing; the log-likelihood at the true
    //! parameters beats nearby points (each free coefficient ±1).

    use super::*;

    #[test]
    fn log_likelihood_peaks_near_the_truth() {
        let (n_seq, len) = (40, 200);
        let n = n_seq * len;
        let values: Vec<f64> = (0..n)
            .flat_map(|i| {
                let t = (i % len) as f64;
                [(0.2 * t).sin(), ((i * 7919) % 101) as f64 / 50.0 - 1.0]
            })
            .collect();
        let cov = Covariates::new(vec!["a".into(), "b".into()], values, n).unwrap();
        let placeholder = Sequences::new(vec![vec![0.0; len]; n_seq]).unwrap();
        let template = HmmModel::new(GaussianFamily::new(K), placeholder)
            .unwrap()
            .with_covariates(cov.clone())
            .unwrap();
        // mu, sigma, p_initial_state, then transition_coef[i,j,c].
        let mut truth = vec![-2.0, 0.0, 2.5, 0.6, 0.5, 0.7, 0.3, 0.3, 0.4];
        for i in 0..K {
            for j in 0..K {
                for c in 0..3 {
                    truth.push(if i == j {
                        0.0
                    } else {
                        [-2.0, 1.5, -1.0][c] * if (i + j) % 2 == 0 { 1.0 } else { -0.7 }
                    });
                }
            }
        }
        let sim = template
            .simulate_with_missing(&truth, n_seq, len, 0.1, 11)
            .unwrap();
        let rate = sim.observations.n_missing() as f64 / n as f64;
        assert!((0.07..0.13).contains(&rate), "missing rate {rate}");
        let model = HmmModel::new(GaussianFamily::new(K), sim.observations)
            .unwrap()
            .with_covariates(cov)
            .unwrap();
        let ll = |x: &[f64]| {
            let mut buffer = Vec::new();
            let params = model
                .layout()
                .params_from_constrained(x, &mut buffer)
                .unwrap();
            model.log_likelihood(&params).unwrap()
        };
        let at_truth = ll(&truth);
        for i in 9..truth.len() {
            if truth[i] == 0.0 {
                continue;
            }
            for delta in [-1.0, 1.0] {
                let mut x = truth.clone();
                x[i] += delta;
                let nearby = ll(&x);
                assert!(
                    at_truth > nearby,
                    "{}: {at_truth} at the truth, {nearby} at {delta:+}",
                    model.layout().element_names()[i]
                );
            }
        }
        // Masked diagonal: changing it does not change the likelihood.
        let mut x = truth.clone();
        x[9] = 3.0;
        assert_eq!(ll(&x), at_truth);
    }
}

/// Bad structure gives one clear typed error each.
#[test]
fn bad_masks_and_covariates_are_named() {
    let model = || HmmModel::new(GaussianFamily::new(K), data()).unwrap();
    let mut masks = StateMasks::left_to_right(K);
    masks.transition[2] = vec![false; K];
    let err = model().with_masks(masks).unwrap_err().to_string();
    assert!(
        err.contains("p_transition") && err.contains("row 2"),
        "{err}"
    );
    let mut masks = StateMasks::all_free(K);
    masks.initial = vec![false; K];
    let err = model().with_masks(masks).unwrap_err().to_string();
    assert!(err.contains("p_initial_state"), "{err}");
    // Covariates with a row per observation of another data set.
    let short = Covariates::new(vec!["x".into()], vec![0.0; 12], 12).unwrap();
    let err = model().with_covariates(short).unwrap_err().to_string();
    assert!(err.contains("13 observations"), "{err}");
    let err = Covariates::new(vec!["x".into(), "x".into()], vec![0.0; 26], 13).unwrap_err();
    assert!(err.to_string().contains("named twice"), "{err}");
    let mut values = vec![0.0; 13];
    values[5] = f64::INFINITY;
    let err = Covariates::new(vec!["x".into()], values, 13)
        .unwrap_err()
        .to_string();
    assert!(err.contains("observation 5"), "{err}");
    // A mask with a row that has no free entry is refused with covariates too.
    let mut masks = StateMasks::left_to_right(K);
    masks.transition[1] = vec![false; K];
    let err = model()
        .with_covariates(covariates())
        .unwrap()
        .with_masks(masks)
        .unwrap_err()
        .to_string();
    assert!(err.contains("row 1"), "{err}");
    // A covariate model has no single transition matrix.
    let cov_model = model().with_covariates(covariates()).unwrap();
    let point = cov_model
        .constrained(&vec![0.0; cov_model.layout().dim()])
        .unwrap();
    assert!(cov_model.chain(&point).is_err());
    // A masked entry given a non-zero value is outside the support.
    let ltr = model().with_masks(StateMasks::left_to_right(K)).unwrap();
    let mut x = ltr.constrained(&vec![0.0; ltr.layout().dim()]).unwrap();
    x[8] = 0.1;
    x[6] = 0.9;
    let err = ltr.layout().unconstrain(&x).unwrap_err().to_string();
    assert!(
        err.contains("p_initial_state[2]") && err.contains("structural zero"),
        "{err}"
    );
    // A missing-flag vector of the wrong length.
    let err = Sequences::new(vec![vec![1.0, 2.0]])
        .unwrap()
        .with_missing(vec![true])
        .unwrap_err();
    assert!(err.to_string().contains("missing flags"), "{err}");
    // Placeholders at missing steps are not checked against the family's support.
    let counts = Sequences::new(vec![vec![1u32, 2, 3]]).unwrap();
    let dummy = Sequences::new(vec![vec![vec![0.0, 0.0], vec![1.0], vec![0.5, 0.5]]])
        .unwrap()
        .with_missing(vec![false, true, false])
        .unwrap();
    assert!(HmmModel::new(trellis_models::zoo::DiagonalMvnFamily::new(2, 2), dummy).is_ok());
    assert!(HmmModel::new(trellis_models::zoo::PoissonFamily::new(2), counts).is_ok());
}
