//! Covariate fits through the command line (issue 11): structural zeros together with
//! covariate-driven transitions, covariate fits rebuilt from their folder (`decode --fit`,
//! `ppc`, `compare`, the covariates file identified by its SHA-256), `logp`'s
//! probability-space gradient at a zero of `p_initial_state` with covariates. (The
//! `simulate` → `fit` round trip at the issue's size is in cli_real_data.rs; which time's
//! covariates drive which transition, in cli_covariate_alignment.rs.)

use crate::cli_common;

use cli_common::{
    chain_column, covariates_csv, read_json, simulated_with_covariates, stderr, stdout,
    summary_number, trellis, words, Scratch,
};

/// `(mean, sd)` of `name` in a fit's `summary.json`.
fn posterior(summary: &serde_json::Value, name: &str) -> (f64, f64) {
    (
        summary_number(summary, name, "mean"),
        summary_number(summary, name, "sd"),
    )
}

/// A left-to-right chain whose moves depend on two covariates: the impossible moves have
/// intercept −30 (probability ~1e-13 per step: none in the simulated data), the possible
/// ones intercept −3 and slopes ±0.8.
const LTR_TRUTH: &str = r#"{"rate": [1.0, 5.0, 12.0], "p_initial_state": [1, 0, 0],
    "transition_coef": [
        [[0, 0, 0], [-3, 0.8, -0.8], [-30, 0, 0]],
        [[-30, 0, 0], [0, 0, 0], [-3, -0.8, 0.8]],
        [[-30, 0, 0], [-30, 0, 0], [0, 0, 0]]]}"#;

/// The true coefficient `[i, j, c]` of [`LTR_TRUTH`].
fn ltr_truth(i: usize, j: usize, c: usize) -> f64 {
    let json: serde_json::Value = serde_json::from_str(LTR_TRUTH).unwrap();
    json["transition_coef"][i][j][c].as_f64().unwrap()
}

/// `fit --structure left-to-right --covariates`: the masked transitions' coefficients are
/// exact zeros in every draw, the free ones recover the truth; the fit folder then rebuilds
/// the model (`decode --fit`, `ppc`, `compare`), and a changed covariates file is refused.
#[test]
fn left_to_right_covariate_fit_is_rebuilt_from_its_folder() {
    let dir = simulated_with_covariates(
        "ltr-covariates",
        &covariates_csv(12, 80),
        LTR_TRUTH,
        "--model poisson --states 3 --seed 4",
    );
    // The true coefficients of the impossible moves are not zeros: keep them out of the
    // fit's truth column.
    std::fs::remove_file(dir.join("sim/params.json")).unwrap();
    let fit = "fit --model poisson --states 3 --data sim/data.csv --covariates c.csv \
               --structure left-to-right --chains 2 --warmup 200 --draws 200 --seed 2 \
               --quiet --out fit";
    dir.succeeds(fit);
    let summary = read_json(&dir.join("fit/summary.json"));
    for i in 0..3 {
        for j in 0..3 {
            for c in 0..3 {
                let name = format!("transition_coef[{i},{j},{c}]");
                let (mean, sd) = posterior(&summary, &name);
                if j != i + 1 {
                    assert_eq!((mean, sd), (0.0, 0.0), "{name} is fixed at 0");
                    continue;
                }
                let truth = ltr_truth(i, j, c);
                assert!(
                    (mean - truth).abs() <= 4.0 * sd,
                    "{name}: posterior {mean} ± {sd}, true {truth}"
                );
            }
        }
    }
    // transition_coef[1,0,0] (CmdStan name transition_coef.2.1.1) in every draw.
    let draws = chain_column(&dir.join("fit/chain_1.csv"), "transition_coef.2.1.1");
    assert!(draws.iter().all(|d| d == "0"));
    // Rebuilt from the folder.
    dir.succeeds(
        "decode --fit fit --model poisson --states 3 --data sim/data.csv --covariates c.csv \
         --structure left-to-right --out decoded",
    );
    assert!(dir.join("decoded").is_dir());
    // (`ppc` on a covariate fit with missing steps: cli_ppc_real_data.rs.)
    // The covariates file changed since the fit: one line, no output.
    dir.write(
        "c.csv",
        covariates_csv(12, 80).replace("seq0,5,", "seq0,5,9"),
    );
    let refused = trellis(
        dir.path(),
        &words(
            "decode --fit fit --model poisson --states 3 --data sim/data.csv --covariates \
             c.csv --structure left-to-right --out decoded2",
        ),
    );
    assert!(!refused.status.success());
    let message = stderr(&refused);
    assert!(
        message.starts_with("error: fit/summary.json is a fit of other covariates: SHA-256")
            && message.lines().count() == 1
            && !dir.join("decoded2").exists(),
        "{message}"
    );
}

/// `logp` with covariates and a zero in `p_initial_state`: the zero entry's gradient is the
/// probability-space partial (finite, positive), not `n/a`.
#[test]
fn logp_with_covariates_has_a_gradient_at_an_initial_zero() {
    let dir = Scratch::new("logp-cov-zero");
    dir.write("c.csv", covariates_csv(3, 6));
    dir.write(
        "p.json",
        r#"{"mu": [0, 2], "sigma": [1, 1], "p_initial_state": [1, 0],
        "transition_coef": [[[0, 0, 0], [-2, 1, 0]], [[-2, 0, 1], [0, 0, 0]]]}"#,
    );
    let mut data = String::from("sequence,time,value\n");
    for s in 0..3 {
        for t in 0..6 {
            data.push_str(&format!("seq{s},{},{}\n", t + 5, (s + t) % 3));
        }
    }
    dir.write("d.csv", data);
    let args = "logp --model gaussian --states 2 --data d.csv --covariates c.csv --params p.json";
    // (The finite-difference column has no estimate at the zero: a step leaves the support.)
    dir.succeeds(args);
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&dir.succeeds(&format!("{args} --json")))).unwrap();
    let g = json["grad"]["p_initial_state"][1].as_f64().unwrap();
    assert!(g.is_finite() && g > 0.0, "{g}");
}
