//! The model comparison table of `az.compare`: models ranked by elpd, differences to the best
//! model with the standard error of the pointwise differences, and model weights.

use std::collections::HashSet;

use nalgebra::{DMatrix, DVector};
use serde::Serialize;

use super::{total_se, ElpdEstimate, LooError};

/// How [`compare`] weighs the models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub enum WeightMethod {
    /// Stacking of predictive distributions (Yao, Vehtari, Simpson & Gelman 2018): the
    /// weights on the simplex that maximise `Σᵢ log Σₖ wₖ exp(elpd_ik)`. ArviZ's default.
    #[default]
    Stacking,
    /// Pseudo-BMA: `wₖ ∝ exp(elpdₖ)` (Akaike-type weights without bootstrap stabilisation).
    PseudoBma,
}

/// One model's row of the comparison table (the columns of `az.compare`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComparisonRow {
    /// The model's name.
    pub name: String,
    /// 0 for the model with the highest elpd, then 1, 2, …
    pub rank: usize,
    /// The model's elpd (`elpd_loo` or `elpd_waic`).
    pub elpd: f64,
    /// The model's effective number of parameters (`p_loo` or `p_waic`).
    pub effective_parameters: f64,
    /// `Σᵢ (best_i − this_i)`: how much lower this model's elpd is than the best one's
    /// (0 for the best model).
    pub elpd_diff: f64,
    /// The model's weight; the weights of all models sum to 1.
    pub weight: f64,
    /// Standard error of the model's elpd.
    pub se: f64,
    /// Standard error of `elpd_diff`, from the pointwise differences:
    /// `√(n · var(best_i − this_i))` (0 for the best model).
    pub dse: f64,
    /// Whether the model's elpd estimate carries a warning.
    pub warning: bool,
}

/// The comparison table, best model first (`az.compare`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// One row per model, ordered by decreasing elpd.
    pub rows: Vec<ComparisonRow>,
    /// The weighting method used.
    pub method: WeightMethod,
}

impl Comparison {
    /// The row of the model called `name`, if any.
    pub fn row(&self, name: &str) -> Option<&ComparisonRow> {
        self.rows.iter().find(|r| r.name == name)
    }
}

/// Compares models by their elpd estimates ([`super::Loo`] or [`super::Waic`], all of the
/// same kind and computed on the same observations), as `az.compare(models, ic, method)`.
///
/// Models are ranked by decreasing elpd (ties keep the input order); `elpd_diff` and `dse` are
/// computed from the pointwise differences to the best model, which is what makes `dse`
/// smaller than the models' own standard errors when they err on the same observations.
///
/// Stacking weights are the exact optimum of the stacking objective (an active-set Newton
/// method, converged to rounding error). ArviZ runs SciPy's SLSQP with its default tolerance,
/// whose weights are only within about 1e-3 of that optimum; ArviZ's third method,
/// "BB-pseudo-BMA", depends on NumPy's random stream and is not offered.
///
/// # Errors
/// [`LooError::NoModels`] for an empty list, [`LooError::DuplicateModelName`] when names
/// repeat and [`LooError::ShapeMismatch`] when the models have different numbers of
/// observations.
///
/// # Example
/// ```
/// use ndarray::Array3;
/// use trellis_samplers::loo::{compare, loo, WeightMethod};
///
/// // Ten observations near 0, fitted by N(mu, 1) (right) and N(mu, 5) (too wide).
/// let y: Vec<f64> = (0..10).map(|i| (i as f64 * 0.37).sin()).collect();
/// let fit = |scale: f64| {
///     Array3::from_shape_fn((2, 400, 10), |(c, s, i)| {
///         let mu = 0.6 * (((c * 400 + s) as f64 * 0.618_034).fract() - 0.5);
///         let z = (y[i] - mu) / scale;
///         -0.5 * z * z - scale.ln() - 0.5 * (2.0 * std::f64::consts::PI).ln()
///     })
/// };
/// let narrow = loo(fit(1.0).view(), 1.0)?;
/// let wide = loo(fit(5.0).view(), 1.0)?;
/// let table = compare(&[("wide", &wide), ("narrow", &narrow)], WeightMethod::Stacking)?;
/// assert_eq!(table.rows[0].name, "narrow");
/// assert!(table.rows[1].elpd_diff > 4.0 * table.rows[1].dse);
/// assert!(table.rows[0].weight > 0.99);
/// # Ok::<(), trellis_samplers::loo::LooError>(())
/// ```
pub fn compare<E: ElpdEstimate>(
    models: &[(&str, &E)],
    method: WeightMethod,
) -> Result<Comparison, LooError> {
    let (_, first) = models.first().ok_or(LooError::NoModels)?;
    let n_obs = first.pointwise().len();
    let mut seen = HashSet::new();
    for (index, (name, model)) in models.iter().enumerate() {
        if !seen.insert(*name) {
            return Err(LooError::DuplicateModelName(name.to_string()));
        }
        if model.pointwise().len() != n_obs {
            return Err(LooError::ShapeMismatch {
                what: "model",
                index,
                expected: vec![n_obs],
                found: vec![model.pointwise().len()],
            });
        }
    }
    // Stable sort by decreasing elpd, so that ties keep the order the caller gave.
    let mut order: Vec<usize> = (0..models.len()).collect();
    order.sort_by(|&a, &b| models[b].1.elpd().total_cmp(&models[a].1.elpd()));
    let ranked: Vec<&E> = order.iter().map(|&i| models[i].1).collect();

    let weights = match method {
        WeightMethod::Stacking => {
            let pointwise: Vec<&[f64]> = ranked.iter().map(|m| m.pointwise()).collect();
            stacking_weights(&pointwise)
        }
        WeightMethod::PseudoBma => pseudo_bma_weights(&ranked),
    };
    let best = ranked[0].pointwise();
    let rows = order
        .iter()
        .zip(&ranked)
        .zip(weights)
        .enumerate()
        .map(|(rank, ((&input, model), weight))| {
            let diff: Vec<f64> = best
                .iter()
                .zip(model.pointwise())
                .map(|(b, m)| b - m)
                .collect();
            ComparisonRow {
                name: models[input].0.to_string(),
                rank,
                elpd: model.elpd(),
                effective_parameters: model.effective_parameters(),
                elpd_diff: diff.iter().sum(),
                weight,
                se: model.se(),
                dse: total_se(&diff),
                warning: model.warning(),
            }
        })
        .collect();
    Ok(Comparison { rows, method })
}

/// `wₖ ∝ exp(elpdₖ − elpd_best)` for models already ranked best first.
fn pseudo_bma_weights<E: ElpdEstimate>(ranked: &[&E]) -> Vec<f64> {
    let best = ranked[0].elpd();
    let z: Vec<f64> = ranked.iter().map(|m| (m.elpd() - best).exp()).collect();
    let total: f64 = z.iter().sum();
    z.iter().map(|v| v / total).collect()
}

/// Largest number of Newton steps, summed over all active sets; each step at least halves the
/// distance to the optimum once close, so this is never reached in practice.
const MAX_NEWTON_STEPS: usize = 500;

/// Below `λ² = this · (1 + |f|)` (and 0.01), Newton steps are taken without a line search.
const NEWTON_REGION_RELATIVE: f64 = 1e-8;

/// Stacking weights: `argmax_{w ∈ simplex} Σᵢ log Σₖ wₖ exp(lpd_ik)` for the pointwise
/// log predictive densities `pointwise[k][i]` of K models.
///
/// The objective is concave, so its KKT conditions characterise the optimum: with
/// `gₖ = Σᵢ eᵢₖ / (eᵢ · w)`, `gₖ = n` for every model with positive weight and `gₖ ≤ n` for the
/// others. An active-set method finds it exactly: Newton steps on the models in the support
/// under `Σ w = 1`, dropping a model whose weight reaches 0 and adding back the model that
/// violates its KKT condition most. At a restricted optimum the Newton direction of an added
/// model is positive (its directional derivative is `n − gₖ < 0`), so the method cannot cycle.
fn stacking_weights(pointwise: &[&[f64]]) -> Vec<f64> {
    let k = pointwise.len();
    if k == 1 {
        return vec![1.0];
    }
    let problem = Stacking::new(pointwise);
    let mut w = vec![1.0 / k as f64; k];
    let mut free = vec![true; k];
    let mut steps = 0;
    loop {
        while steps < MAX_NEWTON_STEPS {
            steps += 1;
            match problem.newton_step(&w, &free) {
                NewtonOutcome::Moved { weights, dropped } => {
                    w = weights;
                    if let Some(j) = dropped {
                        w[j] = 0.0;
                        free[j] = false;
                    }
                }
                NewtonOutcome::Converged => break,
            }
        }
        match problem.most_violating_fixed_model(&w, &free) {
            Some(j) if steps < MAX_NEWTON_STEPS => free[j] = true,
            _ => break,
        }
    }
    for v in &mut w {
        *v = v.max(0.0);
    }
    let total: f64 = w.iter().sum();
    w.iter().map(|v| v / total).collect()
}

/// The stacking objective `f(w) = −Σᵢ log(eᵢ · w)` (minimised) for fixed predictive densities.
struct Stacking {
    /// `e[i][k] = exp(lpd_ik − maxₖ lpd_ik)`: scaling each observation by its largest density
    /// adds a constant to `f`, so the optimum is the same, and nothing underflows.
    e: Vec<Vec<f64>>,
    /// Tolerance on gradients, whose entries are of size n: `1e-12 · n`.
    tolerance: f64,
}

/// What one Newton step did.
enum NewtonOutcome {
    /// The weights moved; `dropped` is a model whose weight the step drove to 0.
    Moved {
        weights: Vec<f64>,
        dropped: Option<usize>,
    },
    /// The Newton decrement is negligible (or no decrease is representable).
    Converged,
}

impl Stacking {
    fn new(pointwise: &[&[f64]]) -> Self {
        let n = pointwise[0].len();
        let e = (0..n)
            .map(|i| {
                let max = pointwise
                    .iter()
                    .map(|p| p[i])
                    .fold(f64::NEG_INFINITY, f64::max);
                pointwise.iter().map(|p| (p[i] - max).exp()).collect()
            })
            .collect();
        Stacking {
            e,
            tolerance: 1e-12 * n as f64,
        }
    }

    fn mixture(row: &[f64], w: &[f64]) -> f64 {
        row.iter().zip(w).map(|(a, b)| a * b).sum()
    }

    fn objective(&self, w: &[f64]) -> f64 {
        -self
            .e
            .iter()
            .map(|row| Self::mixture(row, w).ln())
            .sum::<f64>()
    }

    /// Gradient and Hessian of `f` with respect to the weights of the models `idx`.
    fn gradient_hessian(&self, w: &[f64], idx: &[usize]) -> (DVector<f64>, DMatrix<f64>) {
        let m = idx.len();
        let mut grad = DVector::<f64>::zeros(m);
        let mut hess = DMatrix::<f64>::zeros(m, m);
        for row in &self.e {
            let d = Self::mixture(row, w);
            for (a, &ja) in idx.iter().enumerate() {
                grad[a] -= row[ja] / d;
                for (b, &jb) in idx.iter().enumerate() {
                    hess[(a, b)] += row[ja] * row[jb] / (d * d);
                }
            }
        }
        (grad, hess)
    }

    /// One damped Newton step on the free models under `Σ w = 1`, kept inside `w ≥ 0`.
    fn newton_step(&self, w: &[f64], free: &[bool]) -> NewtonOutcome {
        let idx: Vec<usize> = (0..w.len()).filter(|&j| free[j]).collect();
        let (mut grad, hess) = self.gradient_hessian(w, &idx);
        // Centring the gradient leaves the constrained step unchanged (the constant goes
        // into the multiplier) but makes the right-hand side, and so the step and the
        // decrement, accurate near the optimum, where every gₖ is close to −n.
        let centre = grad.mean();
        grad.add_scalar_mut(-centre);
        let Some(step) = constrained_newton_step(&hess, &grad) else {
            return NewtonOutcome::Converged;
        };
        // Newton decrement λ² ≈ 2 (f − f*): below 1e-24 · n the weights are exact to ~1e-12.
        let decrement = -grad.dot(&step);
        if decrement <= self.tolerance * 1e-12 {
            return NewtonOutcome::Converged;
        }
        // Longest step that keeps every free weight non-negative, and the model that blocks it.
        let (t_max, blocking) = idx
            .iter()
            .zip(step.iter())
            .filter(|(_, &d)| d < 0.0)
            .map(|(&j, &d)| (-w[j] / d, Some(j)))
            .fold(
                (f64::INFINITY, None),
                |best, c| if c.0 < best.0 { c } else { best },
            );
        let trial = |t: f64| -> Vec<f64> {
            let mut v = w.to_vec();
            for (&j, &d) in idx.iter().zip(step.iter()) {
                v[j] += t * d;
            }
            v
        };
        let mut t = t_max.min(1.0);
        let mut candidate = trial(t);
        // Far from the optimum, backtrack until the Armijo condition holds. Close to it
        // (λ² small, where −Σ log is self-concordant and the full step converges
        // quadratically) the decrease falls below the rounding of f, so the test would fail
        // spuriously; there the full step is taken.
        let f0 = self.objective(w);
        let newton_region = (NEWTON_REGION_RELATIVE * (1.0 + f0.abs())).min(0.01);
        if decrement > newton_region {
            let mut halvings = 0;
            while self.objective(&candidate) > f0 - 1e-4 * t * decrement {
                if halvings == 60 {
                    return NewtonOutcome::Converged; // no decrease is representable
                }
                t /= 2.0;
                candidate = trial(t);
                halvings += 1;
            }
        }
        NewtonOutcome::Moved {
            weights: candidate,
            dropped: if t == t_max { blocking } else { None },
        }
    }

    /// The fixed (zero-weight) model whose KKT condition `gₖ ≤ n` is violated most, if any.
    fn most_violating_fixed_model(&self, w: &[f64], free: &[bool]) -> Option<usize> {
        let n = self.e.len() as f64;
        let mut worst = None;
        let mut worst_excess = self.tolerance;
        for j in (0..w.len()).filter(|&j| !free[j]) {
            let g: f64 = self
                .e
                .iter()
                .map(|row| row[j] / Self::mixture(row, w))
                .sum();
            if g - n > worst_excess {
                worst_excess = g - n;
                worst = Some(j);
            }
        }
        worst
    }
}

/// Newton step `d` for minimising with Hessian `hess` and gradient `grad` subject to
/// `Σ d = 0`: the solution of `[H 1; 1ᵀ 0] [d; ν] = [−g; 0]`.
///
/// A tiny ridge keeps `H` invertible when two models predict identically (then any split of
/// their weight is optimal). Returns `None` if the system is still singular.
fn constrained_newton_step(hess: &DMatrix<f64>, grad: &DVector<f64>) -> Option<DVector<f64>> {
    let m = grad.len();
    let ridge = 1e-14 * hess.trace().max(f64::MIN_POSITIVE) / m as f64;
    let mut kkt = DMatrix::<f64>::zeros(m + 1, m + 1);
    let mut rhs = DVector::<f64>::zeros(m + 1);
    for a in 0..m {
        for b in 0..m {
            kkt[(a, b)] = hess[(a, b)];
        }
        kkt[(a, a)] += ridge;
        kkt[(a, m)] = 1.0;
        kkt[(m, a)] = 1.0;
        rhs[a] = -grad[a];
    }
    let solution = kkt.lu().solve(&rhs)?;
    Some(solution.rows(0, m).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// KKT conditions of the stacking optimum (see [`stacking_weights`]).
    fn assert_kkt(pointwise: &[&[f64]], w: &[f64]) {
        let n = pointwise[0].len();
        let d: Vec<f64> = (0..n)
            .map(|i| pointwise.iter().zip(w).map(|(p, wk)| wk * p[i].exp()).sum())
            .collect();
        for (k, p) in pointwise.iter().enumerate() {
            let g: f64 = (0..n).map(|i| p[i].exp() / d[i]).sum();
            if w[k] > 0.0 {
                assert!((g - n as f64).abs() < 1e-10, "model {k}: g = {g}, n = {n}");
            } else {
                assert!(g <= n as f64 + 1e-10, "model {k}: g = {g} > n = {n}");
            }
        }
    }

    #[test]
    fn stacking_mixes_complementary_models() {
        // Model a predicts the first half well, model b the second half: equal weights.
        let a = [-1.0, -1.0, -3.0, -3.0];
        let b = [-3.0, -3.0, -1.0, -1.0];
        let w = stacking_weights(&[&a, &b]);
        assert!((w[0] - 0.5).abs() < 1e-12 && (w[1] - 0.5).abs() < 1e-12);
        assert_kkt(&[&a, &b], &w);
    }

    #[test]
    fn stacking_drops_a_dominated_model() {
        let a = [-1.0, -1.2, -0.8, -1.1, -2.0];
        let b = [-1.5, -1.6, -1.4, -1.5, -2.5]; // worse everywhere
        let c = [-2.0, -2.5, -3.0, -0.5, -0.6];
        let w = stacking_weights(&[&a, &b, &c]);
        assert_eq!(w[1], 0.0);
        assert!(w[0] > 0.0 && w[2] > 0.0);
        assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-15);
        assert_kkt(&[&a, &b, &c], &w);
    }

    #[test]
    fn stacking_handles_identical_models() {
        let a = [-1.0, -2.0, -1.5];
        let w = stacking_weights(&[&a, &a]);
        assert!((w[0] + w[1] - 1.0).abs() < 1e-15);
        assert_kkt(&[&a, &a], &w);
    }

    proptest! {
        #[test]
        fn stacking_weights_are_the_optimum(
            lpd in prop::collection::vec(prop::collection::vec(-8.0f64..0.0, 15), 2..6)
        ) {
            let refs: Vec<&[f64]> = lpd.iter().map(Vec::as_slice).collect();
            let w = stacking_weights(&refs);
            prop_assert!(w.iter().all(|&v| v >= 0.0));
            prop_assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-14);
            assert_kkt(&refs, &w);
        }
    }
}
