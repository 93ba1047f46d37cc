//! `trellis ppc DIR` on the real-data features of issue 11: a Gaussian fit with
//! covariate-driven transitions to data with about 10 % of its observations missing, rebuilt
//! from its folder. Before each sequence was decoded and simulated with its own chain, `ppc`
//! stopped at `HmmModel::chain` on such a fit.

use crate::cli_common;

use cli_common::{assert_success, read_json, simulated_with_covariates, stdout, trellis, words};

/// Covariates of `sequences` × `length` observations: one smooth signal per sequence.
fn covariates_csv(sequences: usize, length: usize) -> String {
    let mut out = String::from("sequence,time,x1\n");
    for s in 0..sequences {
        for t in 0..length {
            let x1 = (0.15 * t as f64 + 1.1 * s as f64).sin();
            out.push_str(&format!("seq{s},{t},{x1:.6}\n"));
        }
    }
    out
}

/// Two well-separated Gaussian states whose moves are driven by `x1` (slope ±2.5).
const TRUTH: &str = r#"{"mu": [-2.0, 2.0], "sigma": [0.7, 0.7], "p_initial_state": [0.5, 0.5],
    "transition_coef": [[[0, 0], [-2.0, 2.5]], [[-2.0, -2.5], [0, 0]]]}"#;

#[test]
fn ppc_of_a_covariate_fit_with_missing_data() {
    let simulate = "--model gaussian --states 2 --missing-rate 0.1 --seed 8";
    let dir = simulated_with_covariates("ppc-cov", &covariates_csv(6, 60), TRUTH, simulate);
    dir.succeeds(
        "fit --model gaussian --states 2 --data sim/data.csv --covariates c.csv --chains 2 \
         --warmup 150 --draws 150 --seed 3 --quiet --out fit",
    );
    let out = trellis(dir.path(), &words("ppc fit --draws 100 --seed 5 --out ppc"));
    assert_success(&out, "ppc of a covariate fit with missing data");
    let check = read_json(&dir.join("ppc/ppc.json"));
    let statistics = check["statistics"].as_array().unwrap();
    assert_eq!(statistics.len(), 7);
    for s in statistics {
        let p = s["p_value"].as_f64().unwrap();
        let name = s["name"].as_str().unwrap();
        assert_eq!(s["replicated"].as_array().unwrap().len(), 100, "{name}");
        // The true model's family and covariates: no statistic is extreme.
        assert!(
            (0.01..=0.99).contains(&p),
            "{name}: p = {p}\n{}",
            stdout(&out)
        );
    }
    assert!(dir.join("ppc/ppc.svg").is_file());
    // Same seed, same replicates: bit-identical JSON.
    let again = trellis(
        dir.path(),
        &words("ppc fit --draws 100 --seed 5 --out ppc2"),
    );
    assert_success(&again, "ppc again");
    assert_eq!(
        std::fs::read_to_string(dir.join("ppc/ppc.json")).unwrap(),
        std::fs::read_to_string(dir.join("ppc2/ppc.json")).unwrap()
    );

    // Replicated data of the covariate fit keep the data's sequences, times and missing
    // steps, so the same covariates file fits them.
    dir.succeeds("simulate --fit fit --draws 2 --seed 6 --out rep");
    let cells = |path: &str| -> Vec<(String, bool)> {
        let text = std::fs::read_to_string(dir.join(path)).unwrap();
        text.lines()
            .map(|l| {
                let (key, value) = l.rsplit_once(',').unwrap();
                (key.to_string(), value == "NA")
            })
            .collect()
    };
    assert_eq!(cells("rep/replicate_2/data.csv"), cells("sim/data.csv"));
    dir.succeeds(
        "fit --model gaussian --states 2 --data rep/replicate_2/data.csv --covariates c.csv \
         --chains 1 --warmup 20 --draws 10 --quiet --out refit",
    );
}
