//! Values and gradients against an independent implementation (issue 11's acceptance):
//! dynamax's `hmm_filter` with `jax.grad` in float64, each value also recomputed there by a
//! plain log-space recursion. The numbers are committed in `fixtures/dynamax/*.json`, made by
//! `fixtures/dynamax/make_fixtures.py` (no Python at test time).
//!
//! Three models: a 3-state Gaussian HMM with covariate-driven transitions (two covariates),
//! ragged sequences and missing steps; a 4-state left-to-right Poisson HMM with exact zeros;
//! the reference model on the seed dataset with 25 % missing and one sequence missing all but
//! its first value. Every number agrees to 1e-9 relative.
//!
//! Two routes: the hmm level (emission log-densities written here, a missing step a zero row,
//! `covariate_log_transitions` → `Transitions::PerStep` → `forward_log_likelihood_with`;
//! the zero entries' partials, which logarithms cannot give, are left out there), and the
//! model level (`HmmModel` with `Sequences::with_missing`, `with_covariates`, `with_masks`,
//! every partial, the zero entries' from `hmm::batch_probability_gradient`). Gradients are
//! with respect to the parameters as the fixture gives them (probabilities free). The
//! command's `logp` is checked against the same fixtures in
//! `models/cli/tests/cli_real_data.rs`.

use crate::zoo_common;
use std::path::Path;
use zoo_common::AsGiven;

use serde_json::Value;
use trellis_ad::{reverse, Scalar, ScalarFn};
use trellis_models::hmm::{covariate_log_transitions, forward_log_likelihood_with, Transitions};

/// Relative tolerance of every comparison.
const RELATIVE: f64 = 1e-9;

fn fixture(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/dynamax")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every number in `value` (nested arrays flattened row-major).
fn flat(value: &Value) -> Vec<f64> {
    match value {
        Value::Array(items) => items.iter().flat_map(flat).collect(),
        other => vec![other.as_f64().expect("a number")],
    }
}

/// The observations (`None` = missing) of each sequence.
fn observations(fixture: &Value) -> Vec<Vec<Option<f64>>> {
    fixture["sequences"]
        .as_array()
        .expect("sequences")
        .iter()
        .map(|s| {
            s.as_array()
                .expect("a sequence")
                .iter()
                .map(Value::as_f64)
                .collect()
        })
        .collect()
}

/// Where each named parameter sits in the flat parameter vector.
struct Blocks {
    names: Vec<String>,
    offsets: Vec<usize>,
    values: Vec<f64>,
}

impl Blocks {
    fn new(fixture: &Value, names: &[&str]) -> Self {
        let mut values = Vec::new();
        let mut offsets = Vec::new();
        for name in names {
            offsets.push(values.len());
            values.extend(flat(&fixture["params"][name]));
        }
        offsets.push(values.len());
        Self {
            names: names.iter().map(|n| n.to_string()).collect(),
            offsets,
            values,
        }
    }

    fn get<'x, T>(&self, x: &'x [T], name: &str) -> &'x [T] {
        let i = self.names.iter().position(|n| n == name).expect(name);
        &x[self.offsets[i]..self.offsets[i + 1]]
    }

    /// The fixture's gradient in the same flat order.
    fn reference_gradient(&self, fixture: &Value) -> Vec<f64> {
        self.names
            .iter()
            .flat_map(|n| flat(&fixture["grad"][n.as_str()]))
            .collect()
    }
}

/// `ln p` with exact zeros as the constant −∞ (cut from the derivative graph).
fn log_probabilities<T: Scalar>(p: &[T]) -> Vec<T> {
    p.iter()
        .map(|&v| {
            if v.value() == 0.0 {
                T::constant(f64::NEG_INFINITY)
            } else {
                v.ln()
            }
        })
        .collect()
}

fn normal_log_density<T: Scalar>(y: f64, mean: T, sd: T) -> T {
    let z = (mean - y) / sd;
    z * z * -0.5 - sd.ln() - 0.5 * (2.0 * std::f64::consts::PI).ln()
}

/// Emission log-density rows of one sequence (`T × K`), zero rows at missing steps.
fn emission_rows<T: Scalar>(
    seq: &[Option<f64>],
    k: usize,
    log_density: impl Fn(f64, usize) -> T,
) -> Vec<T> {
    seq.iter()
        .flat_map(|y| (0..k).map(move |s| (y, s)))
        .map(|(y, s)| match y {
            Some(y) => log_density(*y, s),
            None => T::constant(0.0),
        })
        .collect()
}

fn assert_close(found: f64, expected: f64, what: &str) {
    let scale = expected.abs().max(1e-2);
    assert!(
        (found - expected).abs() <= RELATIVE * scale,
        "{what}: {found} vs dynamax {expected} (relative {:.2e})",
        (found - expected).abs() / scale
    );
}

/// Compares the value, each sequence's value and the gradient entries that `compare` keeps.
fn check_against_fixture<F: ScalarFn>(
    f: &F,
    fixture: &Value,
    blocks: &Blocks,
    per_sequence: impl Fn(usize) -> f64,
    compare: impl Fn(usize) -> bool,
) {
    let (value, grad) = reverse::value_and_gradient(f, &blocks.values);
    assert_close(
        value,
        fixture["log_likelihood"].as_f64().unwrap(),
        "log-likelihood",
    );
    for (s, expected) in flat(&fixture["per_sequence"]).into_iter().enumerate() {
        assert_close(per_sequence(s), expected, &format!("sequence {s}"));
    }
    let reference = blocks.reference_gradient(fixture);
    assert_eq!(grad.len(), reference.len());
    let mut compared = 0;
    for (i, (&g, &r)) in grad.iter().zip(&reference).enumerate() {
        if compare(i) {
            assert_close(g, r, &format!("gradient entry {i}"));
            compared += 1;
        }
    }
    assert!(compared > 0);
}

/// The 3-state Gaussian model with covariate-driven transitions.
struct GaussianCovariates {
    k: usize,
    sequences: Vec<Vec<Option<f64>>>,
    /// Design rows `(1, x1, x2)` of each sequence, row-major.
    designs: Vec<Vec<f64>>,
    blocks: Blocks,
}

impl GaussianCovariates {
    const C: usize = 3;

    fn sequence<T: Scalar>(&self, x: &[T], s: usize) -> T {
        let (mu, sigma) = (self.blocks.get(x, "mu"), self.blocks.get(x, "sigma"));
        let li = log_probabilities(self.blocks.get(x, "p_initial_state"));
        let coef = self.blocks.get(x, "transition_coef");
        let seq = &self.sequences[s];
        let le = emission_rows(seq, self.k, |y, j| normal_log_density(y, mu[j], sigma[j]));
        let mut lt = vec![T::constant(0.0); (seq.len() - 1) * self.k * self.k];
        covariate_log_transitions(coef, self.k, Self::C, &self.designs[s], &mut lt)
            .expect("covariate transitions");
        forward_log_likelihood_with(&li, Transitions::PerStep(&lt), &le, self.k)
            .expect("log-likelihood")
    }
}

impl ScalarFn for GaussianCovariates {
    fn eval<T: Scalar>(&self, x: &[T]) -> T {
        (0..self.sequences.len()).map(|s| self.sequence(x, s)).sum()
    }
}

#[test]
fn gaussian_with_covariates_ragged_and_missing() {
    let fixture = fixture("gaussian_covariates.json");
    let sequences = observations(&fixture);
    let designs: Vec<Vec<f64>> = fixture["covariates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|rows| {
            rows.as_array()
                .unwrap()
                .iter()
                .flat_map(|row| std::iter::once(1.0).chain(flat(row)))
                .collect()
        })
        .collect();
    let lengths: Vec<usize> = sequences.iter().map(Vec::len).collect();
    assert!(lengths.windows(2).any(|w| w[0] != w[1]), "ragged");
    assert!(lengths.contains(&1), "a one-step sequence (no transition)");
    assert!(
        sequences.iter().any(|s| s[0].is_none()),
        "a missing first step"
    );
    let model = GaussianCovariates {
        k: 3,
        sequences,
        designs,
        blocks: Blocks::new(
            &fixture,
            &["mu", "sigma", "p_initial_state", "transition_coef"],
        ),
    };
    let values = model.blocks.values.clone();
    check_against_fixture(
        &model,
        &fixture,
        &model.blocks,
        |s| model.sequence(&values, s),
        |_| true,
    );
}

/// A model with one transition matrix: `family` gives the emission log-density of `y` in
/// state `j` from the emission parameters.
struct Homogeneous<E> {
    k: usize,
    sequences: Vec<Vec<Option<f64>>>,
    blocks: Blocks,
    log_density: E,
}

/// An emission log-density `(x, y, state) ↦ ln p(y | state)` for any scalar type.
trait LogDensity {
    fn at<T: Scalar>(&self, blocks: &Blocks, x: &[T], y: f64, state: usize) -> T;
}

impl<E: LogDensity> Homogeneous<E> {
    fn sequence<T: Scalar>(&self, x: &[T], s: usize) -> T {
        let li = log_probabilities(self.blocks.get(x, "p_initial_state"));
        let lt = log_probabilities(self.blocks.get(x, "p_transition"));
        let le = emission_rows(&self.sequences[s], self.k, |y, j| {
            self.log_density.at(&self.blocks, x, y, j)
        });
        forward_log_likelihood_with(&li, Transitions::Homogeneous(&lt), &le, self.k)
            .expect("log-likelihood")
    }
}

impl<E: LogDensity> ScalarFn for Homogeneous<E> {
    fn eval<T: Scalar>(&self, x: &[T]) -> T {
        (0..self.sequences.len()).map(|s| self.sequence(x, s)).sum()
    }
}

struct PoissonRates;

impl LogDensity for PoissonRates {
    fn at<T: Scalar>(&self, blocks: &Blocks, x: &[T], y: f64, state: usize) -> T {
        let rate = blocks.get(x, "rate")[state];
        rate.ln() * y - rate - <f64 as Scalar>::ln_gamma(y + 1.0)
    }
}

struct SharedSignal;

impl LogDensity for SharedSignal {
    fn at<T: Scalar>(&self, blocks: &Blocks, x: &[T], y: f64, state: usize) -> T {
        let signal = blocks.get(x, "emission_signal")[0];
        let noise = blocks.get(x, "emission_noise")[0];
        normal_log_density(y, signal * (state + 1) as f64, noise)
    }
}

#[test]
fn poisson_left_to_right_with_exact_zeros() {
    let fixture = fixture("poisson_left_to_right.json");
    let model = Homogeneous {
        k: 4,
        sequences: observations(&fixture),
        blocks: Blocks::new(&fixture, &["rate", "p_initial_state", "p_transition"]),
        log_density: PoissonRates,
    };
    let values = model.blocks.values.clone();
    assert!(values.contains(&0.0), "structural zeros");
    // Through logarithms the zero entries are constants: only the others have a gradient
    // here (the probability-space gradient at zeros is checked at the model level).
    check_against_fixture(
        &model,
        &fixture,
        &model.blocks,
        |s| model.sequence(&values, s),
        |i| values[i] != 0.0,
    );
}

#[test]
fn reference_model_with_missing_observations() {
    let fixture = fixture("shared_signal_missing.json");
    let sequences = observations(&fixture);
    let missing = sequences.iter().flatten().filter(|y| y.is_none()).count();
    let total: usize = sequences.iter().map(Vec::len).sum();
    assert!(
        (0.2..0.3).contains(&(missing as f64 / total as f64)),
        "about 25 % missing"
    );
    assert!(sequences[4][0].is_some() && sequences[4][1..].iter().all(Option::is_none));
    let model = Homogeneous {
        k: 3,
        sequences,
        blocks: Blocks::new(
            &fixture,
            &[
                "emission_signal",
                "emission_noise",
                "p_initial_state",
                "p_transition",
            ],
        ),
        log_density: SharedSignal,
    };
    let values = model.blocks.values.clone();
    check_against_fixture(
        &model,
        &fixture,
        &model.blocks,
        |s| model.sequence(&values, s),
        |_| true,
    );
}

// ---------------------------------------------------------------------------------------------
// The same fixtures through `HmmModel`: missing steps as `Sequences::with_missing`, covariates
// as `HmmModel::with_covariates`, structural zeros masked (`HmmModel::with_masks`) with the
// zero entries' partials from `hmm::batch_probability_gradient`.
// ---------------------------------------------------------------------------------------------

use trellis_models::hmm::{batch_probability_gradient, Sequences};
use trellis_models::zoo::{
    Covariates, Family, GaussianFamily, HmmModel, PoissonFamily, SharedSignalFamily, StateMasks,
};
use trellis_models::BayesianModel;

/// The fixture's data with missing steps flagged (placeholder 0 there).
fn fixture_sequences(fixture: &Value) -> Sequences<f64> {
    let sequences = observations(fixture);
    let missing: Vec<bool> = sequences.iter().flatten().map(Option::is_none).collect();
    let values: Vec<Vec<f64>> = sequences
        .iter()
        .map(|s| s.iter().map(|y| y.unwrap_or(0.0)).collect())
        .collect();
    Sequences::new(values)
        .and_then(|s| s.with_missing(missing))
        .expect("fixture data")
}

/// Compares the model's value and gradient (the zero entries' from probability space) with
/// the fixture's, parameter by parameter in the layout's order.
fn check_model<F: Family>(model: &HmmModel<F>, fixture: &Value) {
    let names: Vec<&str> = model
        .layout()
        .params()
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    let blocks = Blocks::new(fixture, &names);
    let (value, mut grad) = reverse::value_and_gradient(&AsGiven { model }, &blocks.values);
    assert_close(
        value,
        fixture["log_likelihood"].as_f64().unwrap(),
        "log-likelihood",
    );
    let spec = |name: &str| {
        model
            .layout()
            .params()
            .iter()
            .find(|p| p.name == name)
            .cloned()
    };
    if let (Some(pi), Some(tr)) = (spec("p_initial_state"), spec("p_transition")) {
        let ri = pi.constrained_offset..pi.constrained_offset + pi.shape.len();
        let rt = tr.constrained_offset..tr.constrained_offset + tr.shape.len();
        let mut buffer = Vec::new();
        let params = model
            .layout()
            .params_from_constrained(&blocks.values, &mut buffer)
            .unwrap();
        let emission = model.emission(&params);
        let g = batch_probability_gradient(
            &blocks.values[ri.clone()],
            &blocks.values[rt.clone()],
            &emission,
            model.data(),
        )
        .unwrap();
        assert_close(g.log_likelihood, value, "probability-space log-likelihood");
        for (range, partials) in [(ri, &g.initial), (rt, &g.transition)] {
            for (i, &p) in range.zip(partials) {
                if blocks.values[i] == 0.0 {
                    grad[i] = p;
                }
            }
        }
    }
    for (i, (&g, &r)) in grad
        .iter()
        .zip(&blocks.reference_gradient(fixture))
        .enumerate()
    {
        assert_close(g, r, &format!("model-level gradient entry {i}"));
    }
}

#[test]
fn model_level_gaussian_with_covariates_ragged_and_missing() {
    let fixture = fixture("gaussian_covariates.json");
    let data = fixture_sequences(&fixture);
    let n_obs = data.total_len();
    let values: Vec<f64> = flat(&fixture["covariates"]);
    let names = vec!["x1".to_string(), "x2".to_string()];
    let model = HmmModel::new(GaussianFamily::new(3), data)
        .and_then(|m| m.with_covariates(Covariates::new(names, values, n_obs)?))
        .unwrap();
    check_model(&model, &fixture);
}

#[test]
fn model_level_poisson_left_to_right() {
    let fixture = fixture("poisson_left_to_right.json");
    let counts: Vec<Vec<u32>> = observations(&fixture)
        .iter()
        .map(|s| s.iter().map(|y| y.unwrap() as u32).collect())
        .collect();
    let model = HmmModel::new(PoissonFamily::new(4), Sequences::new(counts).unwrap())
        .and_then(|m| m.with_masks(StateMasks::left_to_right(4)))
        .unwrap();
    check_model(&model, &fixture);
}

#[test]
fn model_level_reference_model_with_missing() {
    let fixture = fixture("shared_signal_missing.json");
    let model = HmmModel::new(SharedSignalFamily::new(3), fixture_sequences(&fixture)).unwrap();
    check_model(&model, &fixture);
}
