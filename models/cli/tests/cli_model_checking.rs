//! Model checking from the command line: `trellis compare` against real ArviZ on committed
//! fits (reference numbers and the script that made them in `tests/fixtures/compare`), LOO
//! preferring the true number of states (simulate K = 3, fit K = 2, 3, 4), `trellis ppc`
//! flagging a 2-state fit of 3-state data and writing its files, and clean errors.

use crate::cli_common;

use std::path::{Path, PathBuf};

use cli_common::{
    assert_contains, assert_error, assert_success, read_json, stdout, trellis, words, Scratch,
};
use serde_json::Value;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/compare")
}

fn close(label: &str, got: f64, expected: f64, rel: f64) {
    let scale = expected.abs().max(1.0);
    assert!(
        (got - expected).abs() <= rel * scale,
        "{label}: {got} vs ArviZ {expected} (tolerance {rel} relative)"
    );
}

fn number(v: &Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("no number '{key}' in {v}"))
}

/// `trellis compare … --json`, parsed.
fn compare_json(dir: &Path, args: &[&str]) -> Value {
    let mut all = vec!["compare"];
    all.extend_from_slice(args);
    all.push("--json");
    let out = trellis(dir, &all);
    assert_success(&out, "trellis compare");
    serde_json::from_str(&stdout(&out)).expect("compare --json prints JSON")
}

/// A `chain, draw, log_lik.1 …` file as rows of numbers.
fn read_log_lik(path: &Path) -> Vec<Vec<f64>> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(|x| x.parse().unwrap()).collect())
        .collect()
}

#[test]
fn compare_agrees_with_arviz_on_the_committed_fits() {
    let reference = read_json(&fixture().join("arviz_reference.json"));
    let saved = Scratch::new("compare-log-lik");
    let saved_dir = saved.path().to_str().unwrap();
    let table = compare_json(&fixture(), &["k2", "k3", "--save-log-lik", saved_dir]);

    // The log-likelihood arrays ArviZ was given are the ones compare computes today.
    for n in 1..=2 {
        let name = format!("log_lik_{n}.csv");
        let (got, expected) = (
            read_log_lik(&saved.join(&name)),
            read_log_lik(&fixture().join(&name)),
        );
        assert_eq!(got.len(), expected.len(), "{name}");
        for (g, e) in got.iter().flatten().zip(expected.iter().flatten()) {
            close(&name, *g, *e, 1e-10);
        }
    }

    let models = table["models"].as_array().unwrap();
    assert_eq!(models.len(), 2);
    for row in models {
        let name = row["name"].as_str().unwrap();
        let arviz = &reference["compare"]["loo"][name];
        let single = &reference["models"][name];
        for key in ["elpd", "p", "elpd_diff", "se", "dse"] {
            close(
                &format!("{name} {key}"),
                number(row, key),
                number(arviz, key),
                1e-6,
            );
        }
        assert_eq!(row["rank"], arviz["rank"], "{name} rank");
        assert_eq!(row["warning"], arviz["warning"], "{name} warning");
        // ArviZ's stacking weights come from SLSQP at its default tolerance (about 1e-3 from
        // the optimum, see trellis_samplers::loo::compare).
        assert!((number(row, "weight") - number(arviz, "weight")).abs() < 1e-3);
        let k_got = row["pareto_k"].as_array().unwrap();
        let k_ref = single["pareto_k"].as_array().unwrap();
        assert_eq!(k_got.len(), 12);
        for (i, (g, e)) in k_got.iter().zip(k_ref).enumerate() {
            close(
                &format!("{name} pareto_k[{i}]"),
                g.as_f64().unwrap(),
                e.as_f64().unwrap(),
                1e-6,
            );
        }
        for (i, (g, e)) in row["pointwise"]
            .as_array()
            .unwrap()
            .iter()
            .zip(single["loo_i"].as_array().unwrap())
            .enumerate()
        {
            close(
                &format!("{name} loo_i[{i}]"),
                g.as_f64().unwrap(),
                e.as_f64().unwrap(),
                1e-6,
            );
        }
    }

    let table = compare_json(
        &fixture(),
        &["k2", "k3", "--ic", "waic", "--method", "pseudo-bma"],
    );
    for row in table["models"].as_array().unwrap() {
        let name = row["name"].as_str().unwrap();
        let arviz = &reference["compare"]["waic"][name];
        for key in ["elpd", "p", "elpd_diff", "se", "dse", "weight"] {
            close(
                &format!("{name} waic {key}"),
                number(row, key),
                number(arviz, key),
                1e-6,
            );
        }
    }
}

#[test]
fn the_text_table_ranks_the_models_and_names_pareto_warnings() {
    let out = trellis(&fixture(), &["compare", "k2", "k3"]);
    assert_success(&out, "trellis compare");
    let text = stdout(&out);
    let rows: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("k2 ") || l.starts_with("k3 "))
        .collect();
    assert!(
        rows[0].starts_with("k3 ") && rows[1].starts_with("k2 "),
        "{text}"
    );
    assert!(text.contains("warning: k2: Pareto k̂ above"), "{text}");
    assert!(text.contains("log-likelihood recomputed"), "{text}");
}

/// Simulates a 3-state Gaussian HMM and fits it with `k` states (CI-sized: 2 chains,
/// 150 + 150 iterations, tree depth ≤ 5).
fn fit(dir: &Path, k: usize) {
    let states = k.to_string();
    let name = format!("k{k}");
    let out = trellis(
        dir,
        &[
            "fit",
            "--model",
            "gaussian",
            "--states",
            &states,
            "--data",
            "sim/data.csv",
            "--chains",
            "2",
            "--warmup",
            "150",
            "--draws",
            "150",
            "--max-depth",
            "5",
            "--seed",
            "1",
            "--quiet",
            "--out",
            &name,
        ],
    );
    assert_success(&out, &format!("fit K = {k}"));
}

#[test]
fn loo_prefers_the_true_number_of_states_and_ppc_flags_too_few() {
    let dir = Scratch::new("model-checking");
    let out = trellis(
        dir.path(),
        &words(
            "simulate --model gaussian --states 3 --sequences 20 --length 40 --seed 3 --out sim",
        ),
    );
    assert_success(&out, "simulate");
    for k in [2, 3, 4] {
        fit(dir.path(), k);
    }
    let table = compare_json(dir.path(), &["k2", "k3", "k4"]);
    let rows = table["models"].as_array().unwrap();
    let row = |name: &str| rows.iter().find(|r| r["name"] == name).unwrap();
    let (k2, k3, k4) = (row("k2"), row("k3"), row("k4"));
    let best = rows[0]["name"].as_str().unwrap();
    // K = 3 first, or K = 3 and 4 within 2 se of each other; K = 2 clearly worse either way.
    let k3_k4_gap = (number(k3, "elpd") - number(k4, "elpd")).abs();
    assert!(
        best == "k3" || (best == "k4" && k3_k4_gap < 2.0 * number(k3, "dse").max(number(k3, "se"))),
        "{table}"
    );
    assert!(
        number(k2, "elpd_diff") > 4.0 * number(k2, "dse"),
        "K = 2 not clearly worse: {table}"
    );

    // The 2-state fit misses the 3-state data's autocorrelation; the 3-state fit does not.
    let out = trellis(dir.path(), &words("ppc k2 --draws 200 --out ppc2"));
    assert_success(&out, "ppc k2");
    assert_contains(&stdout(&out), "warning: lag-1 autocorrelation");
    let check = read_json(&dir.join("ppc2/ppc.json"));
    let p_values: Vec<f64> = check["statistics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| number(s, "p_value"))
        .collect();
    assert_eq!(p_values.len(), 7);
    assert!(p_values.iter().any(|&p| p < 0.01), "{p_values:?}");
    let svg = std::fs::read_to_string(dir.join("ppc2/ppc.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("density of the observations"));
    assert!(dir.join("ppc2/ppc.png").is_file());

    let out = trellis(dir.path(), &words("ppc k3 --out ppc3"));
    assert_success(&out, "ppc k3");
    let check = read_json(&dir.join("ppc3/ppc.json"));
    for s in check["statistics"].as_array().unwrap() {
        let p = number(s, "p_value");
        assert!((0.01..=0.99).contains(&p), "{}: p = {p}", s["name"]);
    }
}

#[test]
fn bad_inputs_get_one_line_errors() {
    let dir = Scratch::new("model-checking-errors");
    std::fs::create_dir_all(dir.join("empty")).unwrap();
    assert_error(
        &trellis(dir.path(), &words("compare empty")),
        &format!(
            "no chain_N.csv files in '{}' (is it a `trellis fit` output folder?)",
            "empty"
        ),
    );
    let fixture = fixture();
    let k2 = fixture.join("k2");
    let k2 = k2.to_str().unwrap();
    assert_error(
        &trellis(dir.path(), &["ppc", k2, "--draws", "0"]),
        "--draws must be at least 1",
    );
    // The fit's data moved and is not found: the message says how to give it.
    let moved = dir.join("moved");
    std::fs::create_dir_all(&moved).unwrap();
    for chain in ["chain_1.csv", "chain_2.csv"] {
        std::fs::copy(fixture.join("k2").join(chain), moved.join(chain)).unwrap();
    }
    assert_error(
        &trellis(dir.path(), &words("compare moved")),
        "moved: the fit's data file 'data.csv' is not found (here, in the fit folder or beside \
         it); give it with --data",
    );
    let data = fixture.join("data.csv");
    let out = trellis(
        dir.path(),
        &["compare", "moved", "--data", data.to_str().unwrap()],
    );
    assert_success(&out, "compare with --data");
}

#[test]
fn fit_names_label_switching_instead_of_asking_for_more_draws() {
    // Two categorical states (no ordering) on 10 × 40 symbols: chains settle on different
    // labelings (with seed 1, chains 2 and 3 switch; checked by the assertion).
    let dir = Scratch::new("label-switching");
    let out = trellis(dir.path(), &words(
        "simulate --model categorical --states 2 --symbols 3 --sequences 10 --length 40 --seed \
         5 --out sim",
    ));
    assert_success(&out, "simulate");
    let out = trellis(dir.path(), &words(
        "fit --model categorical --states 2 --data sim/data.csv --chains 4 --warmup 300 --draws \
         300 --seed 1 --quiet --out fit",
    ));
    assert_success(&out, "fit");
    let text = stdout(&out);
    assert!(
        text.contains("warning: label switching: chain ")
            && text.contains("are chain 1's states 0, 1"),
        "{text}"
    );
    assert!(!text.contains("more --draws would help"), "{text}");
    let summary = read_json(&dir.join("fit/summary.json"));
    assert!(summary["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|w| w.as_str().unwrap().starts_with("label switching")));
}

#[test]
fn fit_records_log_lik_columns_that_compare_reads() {
    let dir = Scratch::new("log-lik-columns");
    let data = fixture().join("data.csv");
    let data = data.to_str().unwrap();
    let fit = |name: &str, log_lik: &str| {
        let out = trellis(
            dir.path(),
            &[
                "fit",
                "--model",
                "gaussian",
                "--states",
                "2",
                "--data",
                data,
                "--chains",
                "2",
                "--warmup",
                "100",
                "--draws",
                "100",
                "--seed",
                "3",
                "--quiet",
                "--log-lik",
                log_lik,
                "--out",
                name,
            ],
        );
        assert_success(&out, &format!("fit --log-lik {log_lik}"));
    };
    fit("plain", "none");
    fit("recorded", "sequence");
    fit("steps", "step");
    let header = |name: &str| {
        let text = std::fs::read_to_string(dir.join(name).join("chain_1.csv")).unwrap();
        text.lines()
            .find(|l| l.starts_with("lp__"))
            .unwrap()
            .to_string()
    };
    assert!(!header("plain").contains("log_lik"));
    assert!(
        header("recorded").ends_with(",log_lik.12"),
        "{}",
        header("recorded")
    );
    assert!(
        header("steps").ends_with(",log_lik.360"),
        "{}",
        header("steps")
    );
    // The same seed gives the same draws, so recorded and recomputed log-likelihoods agree.
    let table = compare_json(dir.path(), &["plain", "recorded"]);
    let rows = table["models"].as_array().unwrap();
    let row = |name: &str| rows.iter().find(|r| r["name"] == name).unwrap();
    assert_eq!(row("recorded")["log_lik_recomputed"], false);
    assert_eq!(row("plain")["log_lik_recomputed"], true);
    close(
        "elpd",
        number(row("recorded"), "elpd"),
        number(row("plain"), "elpd"),
        1e-12,
    );
}
