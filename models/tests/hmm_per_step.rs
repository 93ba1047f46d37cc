//! Per-step transition matrices through the one recursion and its fused adjoint: values and
//! every partial against enumeration of all hidden paths (K = 3, T ≤ 7, with zero
//! probabilities and marginalised steps present), the homogeneous case as a special case,
//! and forward mode, reverse mode and finite differences agreeing (proptest).

use proptest::prelude::*;
use trellis_ad::{check_gradient, reverse, GradientCheck, Scalar, ScalarFn};
use trellis_models::hmm::{
    adjoint, covariate_log_transitions, forward_log_likelihood,
    forward_log_likelihood_generic_with, forward_log_likelihood_log_space_with,
    forward_log_likelihood_with, Transitions,
};

/// Value and partials `[∂/∂li | ∂/∂lt (per step) | ∂/∂le]` by enumerating all `K^T` paths.
fn brute_force(li: &[f64], lt: &[f64], le: &[f64], k: usize) -> (f64, Vec<f64>) {
    let n = le.len() / k;
    let k2 = k * k;
    let mut weights = Vec::new();
    let mut paths = Vec::new();
    for code in 0..k.pow(n as u32) {
        let path: Vec<usize> = (0..n).map(|t| (code / k.pow(t as u32)) % k).collect();
        let mut w = li[path[0]] + le[path[0]];
        for t in 1..n {
            w += lt[(t - 1) * k2 + path[t - 1] * k + path[t]] + le[t * k + path[t]];
        }
        weights.push(w);
        paths.push(path);
    }
    let m = weights.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let total: f64 = weights.iter().map(|w| (w - m).exp()).sum();
    let value = m + total.ln();
    let mut grad = vec![0.0; k + lt.len() + le.len()];
    for (w, path) in weights.iter().zip(&paths) {
        let p = (w - value).exp();
        grad[path[0]] += p;
        for t in 1..n {
            grad[k + (t - 1) * k2 + path[t - 1] * k + path[t]] += p;
        }
        for t in 0..n {
            grad[k + lt.len() + t * k + path[t]] += p;
        }
    }
    (value, grad)
}

/// A deterministic pseudo-random number in `[0, 1)` (the test needs no RNG crate).
fn unit(seed: &mut u64) -> f64 {
    *seed = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (*seed >> 11) as f64 / (1u64 << 53) as f64
}

/// Normalised log-probability rows of `len` entries each, with `zero` entries set to 0.
fn log_rows(
    seed: &mut u64,
    rows: usize,
    len: usize,
    zero: impl Fn(usize, usize) -> bool,
) -> Vec<f64> {
    let mut out = Vec::new();
    for r in 0..rows {
        let raw: Vec<f64> = (0..len)
            .map(|j| if zero(r, j) { 0.0 } else { 0.05 + unit(seed) })
            .collect();
        let s: f64 = raw.iter().sum();
        out.extend(raw.iter().map(|x| (x / s).ln()));
    }
    out
}

/// `(li, per-step lt, le)` for `K = 3`, `T = n`: a zero initial probability, structural
/// zeros that differ between steps, and every third step missing (log-density 0 for every
/// state, i.e. marginalised).
fn case(n: usize, seed: u64) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let k = 3;
    let mut seed = seed;
    let li = log_rows(&mut seed, 1, k, |_, j| j == 2);
    // Row r of all steps' matrices is row r % K of step r / K; never a whole row zero.
    let lt = log_rows(&mut seed, (n - 1) * k, k, |r, j| {
        (r / k + r % k + j) % 4 == 0 && j != r % k
    });
    let mut le = Vec::new();
    for t in 0..n {
        for _ in 0..k {
            le.push(if t % 3 == 2 {
                0.0
            } else {
                -3.0 * unit(&mut seed) - 0.5
            });
        }
    }
    (li, lt, le)
}

/// `[li | lt | le]` → the log-likelihood with per-step transitions (`n_trans` entries of
/// `lt`); in reverse mode one fused node.
struct PerStep {
    k: usize,
    n_trans: usize,
}

impl ScalarFn for PerStep {
    fn eval<T: Scalar>(&self, x: &[T]) -> T {
        let (li, rest) = x.split_at(self.k);
        let (lt, le) = rest.split_at(self.n_trans);
        forward_log_likelihood_with(li, Transitions::PerStep(lt), le, self.k).unwrap()
    }
}

#[test]
fn per_step_values_and_partials_match_enumeration() {
    let k = 3;
    for n in 1..=7 {
        let (li, lt, le) = case(n, 11 + n as u64);
        let (bf_value, bf_grad) = brute_force(&li, &lt, &le, k);
        let tol = |x: f64| 1e-12 * (1.0 + x.abs());
        let generic: f64 =
            forward_log_likelihood_generic_with(&li, Transitions::PerStep(&lt), &le, k).unwrap();
        let log_space: f64 =
            forward_log_likelihood_log_space_with(&li, Transitions::PerStep(&lt), &le, k).unwrap();
        assert!(
            (generic - bf_value).abs() <= tol(bf_value),
            "T = {n}: {generic} vs {bf_value}"
        );
        assert!(
            (log_space - bf_value).abs() <= tol(bf_value),
            "T = {n}: log space {log_space}"
        );
        let mut partials = vec![0.0; k + lt.len() + le.len()];
        let fused =
            adjoint::value_and_partials_with(&li, Transitions::PerStep(&lt), &le, k, &mut partials)
                .unwrap()
                .expect("probability space is trusted here");
        // The fused adjoint runs the generic recursion's f64 instance: the same bits.
        assert_eq!(fused.to_bits(), generic.to_bits(), "T = {n}");
        let mut x = li.clone();
        x.extend(&lt);
        x.extend(&le);
        let (v_rev, g_rev) = reverse::value_and_gradient(
            &PerStep {
                k,
                n_trans: lt.len(),
            },
            &x,
        );
        assert_eq!(v_rev.to_bits(), generic.to_bits());
        for i in 0..partials.len() {
            assert!(
                (partials[i] - bf_grad[i]).abs() <= 1e-12,
                "T = {n}, partial {i}: adjoint {} vs enumeration {}",
                partials[i],
                bf_grad[i]
            );
            assert_eq!(
                g_rev[i].to_bits(),
                partials[i].to_bits(),
                "T = {n}, partial {i}"
            );
            if x[i] == f64::NEG_INFINITY {
                assert_eq!(partials[i], 0.0, "a zero probability has partial 0");
            }
        }
    }
}

#[test]
fn repeated_matrix_is_the_homogeneous_model() {
    let k = 3;
    let mut seed = 5u64;
    let p = log_rows(&mut seed, k, k, |r, j| r == 0 && j == 2);
    let (li, _, le) = case(7, 3);
    let n = le.len() / k;
    let steps: Vec<f64> = (0..n - 1).flat_map(|_| p.iter().copied()).collect();
    let homogeneous: f64 = forward_log_likelihood(&li, &p, &le, k).unwrap();
    let per_step: f64 =
        forward_log_likelihood_with(&li, Transitions::PerStep(&steps), &le, k).unwrap();
    assert_eq!(homogeneous.to_bits(), per_step.to_bits());
    let mut d_hom = vec![0.0; k + k * k + le.len()];
    let mut d_step = vec![0.0; k + steps.len() + le.len()];
    adjoint::value_and_partials(&li, &p, &le, k, &mut d_hom).unwrap();
    adjoint::value_and_partials_with(&li, Transitions::PerStep(&steps), &le, k, &mut d_step)
        .unwrap()
        .unwrap();
    // Σₜ ξₜ is the homogeneous partial; the emission partials are the same.
    for ij in 0..k * k {
        let sum: f64 = (0..n - 1).map(|t| d_step[k + t * k * k + ij]).sum();
        assert!(
            (sum - d_hom[k + ij]).abs() <= 1e-12,
            "entry {ij}: {sum} vs {}",
            d_hom[k + ij]
        );
    }
    assert_eq!(&d_hom[..k], &d_step[..k]);
    assert_eq!(&d_hom[k + k * k..], &d_step[k + steps.len()..]);
}

#[test]
fn wrong_number_of_step_matrices_is_an_error() {
    let (li, lt, le) = case(4, 1);
    let short = &lt[..lt.len() - 9];
    let err = forward_log_likelihood_with(&li, Transitions::PerStep(short), &le, 3).unwrap_err();
    assert!(err.to_string().contains("per-step"), "{err}");
    let mut partials = vec![0.0; 3];
    assert!(adjoint::value_and_partials_with(
        &li,
        Transitions::PerStep(&lt),
        &le,
        3,
        &mut partials
    )
    .is_err());
}

/// `(k, [li | lt per step | le], number of lt entries)`, all finite.
fn per_step_input() -> impl Strategy<Value = (usize, Vec<f64>, usize)> {
    (1usize..=4, 1usize..=8).prop_flat_map(|(k, n)| {
        let n_trans = (n - 1) * k * k;
        (
            Just(k),
            proptest::collection::vec(-3.0..0.5f64, k + n_trans + n * k),
            Just(n_trans),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn per_step_gradients_agree((k, x, n_trans) in per_step_input()) {
        let f = PerStep { k, n_trans };
        let report = check_gradient(&f, &x, &GradientCheck::default());
        prop_assert!(report.is_ok(), "{:?}", report.err());
    }
}

/// The log-likelihood as a function of `transition_coef` (`K × K × C`), for fixed design
/// vectors, initial probabilities and emission log-densities.
struct Covariates {
    k: usize,
    c: usize,
    design: Vec<f64>,
    li: Vec<f64>,
    le: Vec<f64>,
}

impl ScalarFn for Covariates {
    fn eval<T: Scalar>(&self, coef: &[T]) -> T {
        let n = self.design.len() / self.c;
        let mut lt = vec![T::constant(0.0); (n - 1) * self.k * self.k];
        covariate_log_transitions(coef, self.k, self.c, &self.design, &mut lt).unwrap();
        let li: Vec<T> = self.li.iter().map(|&x| T::constant(x)).collect();
        let le: Vec<T> = self.le.iter().map(|&x| T::constant(x)).collect();
        forward_log_likelihood_with(&li, Transitions::PerStep(&lt), &le, self.k).unwrap()
    }
}

/// A covariate model with `K` states, `C` design entries (intercept first) and `T = n`.
fn covariate_case(k: usize, c: usize, n: usize, seed: u64) -> (Covariates, Vec<f64>) {
    let mut seed = seed;
    let mut design = Vec::new();
    for _ in 0..n {
        // The intercept first, then the covariates.
        design.extend(std::iter::once(1.0).chain((1..c).map(|_| 2.0 * unit(&mut seed) - 1.0)));
    }
    let li = log_rows(&mut seed, 1, k, |_, _| false);
    let le: Vec<f64> = (0..n * k)
        .map(|i| {
            if (i / k) % 4 == 3 {
                0.0
            } else {
                -3.0 * unit(&mut seed)
            }
        })
        .collect();
    let coef: Vec<f64> = (0..k * k * c)
        .map(|_| 2.0 * unit(&mut seed) - 1.0)
        .collect();
    (
        Covariates {
            k,
            c,
            design,
            li,
            le,
        },
        coef,
    )
}

#[test]
fn covariate_model_matches_enumeration() {
    let (k, c) = (3, 3);
    for n in 1..=6 {
        let (model, coef) = covariate_case(k, c, n, 100 + n as u64);
        // ln Γₜ written out independently: softmax of (η with ηᵢᵢ = 0).
        let mut lt = Vec::new();
        for t in 0..n.saturating_sub(1) {
            let z = &model.design[t * c..(t + 1) * c];
            for i in 0..k {
                let eta: Vec<f64> = (0..k)
                    .map(|j| {
                        if i == j {
                            0.0
                        } else {
                            (0..c).map(|q| coef[(i * k + j) * c + q] * z[q]).sum()
                        }
                    })
                    .collect();
                let norm: f64 = eta.iter().map(|e| e.exp()).sum::<f64>().ln();
                lt.extend(eta.iter().map(|e| e - norm));
            }
        }
        let (bf_value, bf_grad) = brute_force(&model.li, &lt, &model.le, k);
        let value = model.eval(&coef[..]);
        assert!(
            (value - bf_value).abs() <= 1e-12 * (1.0 + bf_value.abs()),
            "T = {n}: {value} vs {bf_value}"
        );
        // ∂/∂coef[i][j][q] = Σₜ zₜ[q] (ξₜ[i][j] − Γₜ[i][j] Σⱼ' ξₜ[i][j']) for j ≠ i, 0 on the diagonal.
        let (_, grad) = reverse::value_and_gradient(&model, &coef);
        for i in 0..k {
            for j in 0..k {
                for q in 0..c {
                    let mut expected = 0.0;
                    if i != j {
                        for t in 0..n.saturating_sub(1) {
                            let xi = |j2: usize| bf_grad[k + t * k * k + i * k + j2];
                            let row_total: f64 = (0..k).map(xi).sum();
                            let gamma = lt[t * k * k + i * k + j].exp();
                            expected += model.design[t * c + q] * (xi(j) - gamma * row_total);
                        }
                    }
                    let got = grad[(i * k + j) * c + q];
                    assert!(
                        (got - expected).abs() <= 1e-12,
                        "T = {n}, coef[{i},{j},{q}]: {got} vs {expected}"
                    );
                    if i == j {
                        assert_eq!(got, 0.0, "the diagonal is fixed at 0");
                    }
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(100))]

    #[test]
    fn covariate_gradients_agree(k in 1usize..=4, c in 1usize..=3, n in 1usize..=10, seed in 0u64..1000) {
        let (model, coef) = covariate_case(k, c, n, seed);
        let report = check_gradient(&model, &coef, &GradientCheck::default());
        prop_assert!(report.is_ok(), "{:?}", report.err());
    }
}
