//! `trellis simulate` → `trellis fit --data` recovers the true parameters, for every family of
//! the zoo, with short chains.
//!
//! Each test simulates a dataset (its true parameters land in `params.json` beside
//! `data.csv`), fits it, and reads `summary.json`: every parameter must carry the true value
//! (so `fit` found `params.json`), and every posterior mean must lie within 4 posterior sd
//! of it. The sd is the posterior's, so the tolerance shrinks as the data pin a parameter
//! down; 4 sd leaves room for the Monte Carlo error of 300 draws per chain.

use crate::cli_common;

use std::collections::BTreeMap;

use cli_common::{assert_success, read_json, stdout, trellis, words, Scratch};
use serde_json::Value;

/// One parameter element of a fit summary.
#[derive(Debug, Clone, Copy)]
struct Row {
    mean: f64,
    sd: f64,
    truth: f64,
}

/// Simulates with `model` and `states` (plus `simulate_args`), fits with `chains` chains of
/// 300 + 300 iterations, checks that every summary row has a true value, and returns the
/// rows by element name.
fn simulate_and_fit(
    dir: &Scratch,
    model: &str,
    states: usize,
    sequences: usize,
    length: usize,
    chains: usize,
) -> BTreeMap<String, Row> {
    let out = trellis(
        dir.path(),
        &words(&format!(
            "simulate --model {model} --states {states} --sequences {sequences} --length \
             {length} --seed 11 --out sim"
        )),
    );
    assert_success(&out, "simulate");
    assert!(dir.join("sim/params.json").is_file());
    assert!(dir.join("sim/states.csv").is_file());

    let out = trellis(
        dir.path(),
        &words(&format!(
            "fit --model {model} --states {states} --data sim/data.csv --chains {chains} \
             --warmup 300 --draws 300 --quiet --out fit"
        )),
    );
    assert_success(&out, "fit");
    let text = stdout(&out);
    assert!(
        text.starts_with(&format!(
            "Fitting {model} (K = {states}) to {sequences} sequences ({} observations) from \
             sim/data.csv\n",
            sequences * length
        )),
        "{text}"
    );

    let summary = read_json(&dir.join("fit/summary.json"));
    let rows: BTreeMap<String, Row> = summary
        .as_object()
        .expect("summary.json holds an object")
        .iter()
        .filter(|(_, v)| v.get("mean").is_some())
        .map(|(name, v)| {
            let number = |key: &str| v.get(key).and_then(Value::as_f64);
            let truth = number("true").unwrap_or_else(|| {
                panic!("{name} has no true value: fit did not read sim/params.json\n{text}")
            });
            let row = Row {
                mean: number("mean").unwrap(),
                sd: number("sd").unwrap(),
                truth,
            };
            (name.clone(), row)
        })
        .collect();

    // One row per element of the true parameters.
    let params = read_json(&dir.join("sim/params.json"));
    let elements: usize = params
        .as_object()
        .unwrap()
        .iter()
        .filter(|(key, _)| !matches!(key.as_str(), "model" | "states" | "symbols"))
        .map(|(_, v)| count_numbers(v))
        .sum();
    assert_eq!(rows.len(), elements, "{rows:?}");
    assert!(
        rows.values().all(|r| r.sd > 0.0 && r.sd.is_finite()),
        "{rows:?}"
    );
    rows
}

fn count_numbers(v: &Value) -> usize {
    match v {
        Value::Array(items) => items.iter().map(count_numbers).sum(),
        _ => 1,
    }
}

/// How many posterior sd the mean may be from the truth.
const Z: f64 = 4.0;

fn assert_recovered(model: &str, rows: &BTreeMap<String, Row>) {
    let misses: Vec<String> = rows
        .iter()
        .filter(|(_, r)| (r.mean - r.truth).abs() > Z * r.sd)
        .map(|(name, r)| {
            format!(
                "{name}: mean {:.4} sd {:.4}, true {:.4} ({:.1} sd away)",
                r.mean,
                r.sd,
                r.truth,
                (r.mean - r.truth).abs() / r.sd
            )
        })
        .collect();
    assert!(
        misses.is_empty(),
        "{model}: posterior means more than {Z} sd from the truth:\n{}",
        misses.join("\n")
    );
}

fn round_trip(tag: &str, model: &str, states: usize, sequences: usize, length: usize) {
    let dir = Scratch::new(tag);
    let rows = simulate_and_fit(&dir, model, states, sequences, length, 2);
    assert_recovered(model, &rows);
}

/// One `#[test]` per family (a function cannot declare tests): `name: (scratch tag, model,
/// states, sequences, length)`, two chains each.
macro_rules! round_trips {
    ($($(#[$doc:meta])* $name:ident: ($tag:expr, $model:expr, $k:expr, $n:expr, $t:expr),)*) => {
        $(
            $(#[$doc])*
            #[test]
            fn $name() {
                round_trip($tag, $model, $k, $n, $t);
            }
        )*
    };
}

round_trips! {
    gaussian_shared: ("rt-shared", "gaussian-shared", 2, 20, 60),
    /// Three states here (two elsewhere): Poisson evaluations are cheap.
    poisson: ("rt-poisson", "poisson", 3, 20, 60),
    /// Student-t evaluations cost several times a Gaussian's: half the data keeps the test
    /// short. ν is the least well identified parameter; its posterior sd says so.
    student_t: ("rt-student", "student-t", 2, 20, 40),
    ar1: ("rt-ar1", "ar1", 2, 20, 60),
    /// States are ordered along the first coordinate only (the default parameters keep the
    /// second coordinate's means one sd apart, see `default_params`).
    diag_gaussian: ("rt-diag", "diag-gaussian", 2, 20, 60),
    exponential: ("rt-exponential", "exponential", 2, 20, 60),
}

#[test]
fn gaussian() {
    let dir = Scratch::new("rt-gaussian");
    let rows = simulate_and_fit(&dir, "gaussian", 2, 20, 60, 2);
    assert_recovered("gaussian", &rows);

    // Decoding with the posterior means finds the simulated hidden states.
    let out = trellis(
        dir.path(),
        &words("decode --model gaussian --states 2 --data sim/data.csv --fit fit --out decoded"),
    );
    assert_success(&out, "decode --fit");
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();
    let (decoded, simulated) = (read("decoded/viterbi.csv"), read("sim/states.csv"));
    assert_eq!(decoded.lines().count(), 20);
    let pairs: Vec<(&str, &str)> = decoded
        .lines()
        .zip(simulated.lines())
        .flat_map(|(a, b)| a.split(',').zip(b.split(',')))
        .collect();
    assert_eq!(pairs.len(), 20 * 60);
    let agree = pairs.iter().filter(|(a, b)| a == b).count();
    assert!(
        agree * 10 > pairs.len() * 9,
        "{agree} of {} states",
        pairs.len()
    );
}

/// The categorical family has no ordering constraint (its states are distinguished only by
/// their emission probabilities), so the posterior has one mode per labelling of the states
/// and each chain settles in one of them. One chain is fitted, and its summary is compared
/// with the truth under the permutation of the states that matches it best: fitted state `i`
/// is true state `perm[i]`.
#[test]
fn categorical() {
    let dir = Scratch::new("rt-categorical");
    let rows = simulate_and_fit(&dir, "categorical", 2, 20, 60, 1);
    let truth = |name: &str| rows[name].truth;
    let relabelled = |perm: &[usize]| -> BTreeMap<String, Row> {
        rows.iter()
            .map(|(name, row)| {
                let (base, index) = name.split_once('[').unwrap();
                let index: Vec<usize> = index
                    .trim_end_matches(']')
                    .split(',')
                    .map(|i| i.parse().unwrap())
                    .collect();
                // States index p_initial_state, the rows of p_emission, and both axes of
                // p_transition; symbols (p_emission's columns) keep their labels.
                let true_name = match (base, index.as_slice()) {
                    ("p_initial_state", [i]) => format!("{base}[{}]", perm[*i]),
                    ("p_emission", [i, m]) => format!("{base}[{},{m}]", perm[*i]),
                    ("p_transition", [i, j]) => format!("{base}[{},{}]", perm[*i], perm[*j]),
                    _ => panic!("unexpected parameter {name}"),
                };
                let row = Row {
                    truth: truth(&true_name),
                    ..*row
                };
                (name.clone(), row)
            })
            .collect()
    };
    let distance = |rows: &BTreeMap<String, Row>| -> f64 {
        rows.values()
            .map(|r| ((r.mean - r.truth) / r.sd).powi(2))
            .sum()
    };
    let best = [[0, 1], [1, 0]]
        .iter()
        .map(|perm| relabelled(perm))
        .min_by(|a, b| distance(a).total_cmp(&distance(b)))
        .unwrap();
    assert_recovered("categorical", &best);
}
