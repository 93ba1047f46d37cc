//! `trellis logp`'s finite-difference column at small probabilities: an estimate (never NaN)
//! that agrees with reverse mode, and a summary line that says so — the two cases issue 9
//! found wrong (a probability below the old fixed 1e-4 step; categorical probabilities of
//! 3e-4).

use crate::cli_common;

use cli_common::{assert_success, stdout, trellis, Scratch};
use serde_json::{json, Value};

/// Every leaf number of a JSON value, in order; `null` (no estimate) as NaN.
fn numbers(v: &Value) -> Vec<f64> {
    match v {
        Value::Number(n) => vec![n.as_f64().unwrap()],
        Value::Null => vec![f64::NAN],
        Value::Array(items) => items.iter().flat_map(numbers).collect(),
        other => panic!("not a number or array: {other}"),
    }
}

/// Runs `logp` as text and as JSON; checks every finite-difference entry is an estimate
/// within `rel` of reverse mode, and that the text summary finds no unexplained difference.
fn check_logp(dir: &Scratch, args: &[&str], names: &[&str], rel: f64) {
    let text = trellis(dir.path(), args);
    assert_success(&text, "trellis logp");
    let text = stdout(&text);
    assert!(
        text.contains("(within the finite differences' estimated error)"),
        "summary line:\n{text}"
    );
    assert!(!text.contains("NaN") && !text.contains("n/a"), "{text}");

    let mut json_args = args.to_vec();
    json_args.push("--json");
    let out = trellis(dir.path(), &json_args);
    assert_success(&out, "trellis logp --json");
    let json: Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    for name in names {
        let ad = numbers(&json["grad"][name]);
        let fd = numbers(&json["grad_finite_difference"][name]);
        assert_eq!(ad.len(), fd.len());
        for (i, (a, n)) in ad.iter().zip(&fd).enumerate() {
            assert!(n.is_finite(), "{name}[{i}]: no finite-difference estimate");
            assert!(
                (a - n).abs() <= rel * a.abs().max(1.0),
                "{name}[{i}]: reverse {a}, finite differences {n}"
            );
        }
    }
}

#[test]
fn a_probability_below_the_old_step_gets_an_estimate() {
    let dir = Scratch::new("logp-fd-small-p");
    // The reference model with p_initial_state[2] = 5e-5, half the old fixed step.
    let params = json!({
        "emission_signal": 1.15,
        "emission_noise": 0.15,
        "p_initial_state": [0.89995, 0.1, 0.00005],
        "p_transition": [[0.9, 0.09, 0.01], [0.1, 0.8, 0.1], [0.2, 0.1, 0.7]],
    });
    dir.write("params.json", params.to_string());
    check_logp(
        &dir,
        &["logp", "--params", "params.json"],
        &["p_initial_state", "p_transition", "emission_signal"],
        1e-7,
    );
}

#[test]
fn categorical_probabilities_of_3e_4_agree_with_reverse_mode() {
    let dir = Scratch::new("logp-fd-categorical");
    const SYMBOLS: usize = 100;
    // Two states; every symbol but the first has probability 3e-4 in state 0 and 5e-4 in
    // state 1, so the finite differences work at the scale of those probabilities.
    let row = |small: f64| {
        let mut r = vec![small; SYMBOLS];
        r[0] = 1.0 - small * (SYMBOLS - 1) as f64;
        r
    };
    let params = json!({
        "p_emission": [row(3e-4), row(5e-4)],
        "p_initial_state": [0.6, 0.4],
        "p_transition": [[0.9, 0.1], [0.2, 0.8]],
    });
    dir.write("params.json", params.to_string());
    // Six sequences of 20 symbols, mostly 0 with rarer symbols mixed in.
    let data: String = (0..6)
        .map(|s| {
            (0..20)
                .map(|t| {
                    let v = if (s + t) % 5 == 0 {
                        (s * 7 + t * 3) % SYMBOLS
                    } else {
                        0
                    };
                    v.to_string()
                })
                .collect::<Vec<_>>()
                .join(",")
                + "\n"
        })
        .collect();
    dir.write("data.csv", data);
    check_logp(
        &dir,
        &[
            "logp",
            "--model",
            "categorical",
            "--states",
            "2",
            "--symbols",
            "100",
            "--data",
            "data.csv",
            "--params",
            "params.json",
            // 206 parameters: above the size where the column is computed unasked.
            "--fd",
        ],
        &["p_emission", "p_initial_state", "p_transition"],
        1e-6,
    );
}
