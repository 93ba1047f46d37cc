//! Findings of the reliability sweep (issue 13): JSON files with repeated keys or a
//! byte-order mark, classic-Mac line ends, counts past `u32::MAX`. Each case ends with exactly
//! one line `error: <message>` and no panic.

use crate::cli_common;

use cli_common::{all_fail, assert_error, assert_success, trellis, Scratch};

/// The reference model's true parameters, on one line so the positions in messages are easy
/// to read off.
const PARAMS: &str = r#"{"emission_signal": 1.15, "emission_noise": 0.15, "p_initial_state": [0.9, 0.09, 0.01], "p_transition": [[0.9, 0.09, 0.01], [0.1, 0.8, 0.1], [0.2, 0.1, 0.7]]}"#;

#[test]
fn json_with_a_repeated_key_is_refused_and_a_bom_accepted() {
    let dir = Scratch::new("json-keys");
    dir.write("p.json", PARAMS);
    assert_success(
        &trellis(dir.path(), &["logp", "--params", "p.json"]),
        "logp with a good parameter file",
    );
    dir.write("bom.json", format!("\u{feff}{PARAMS}"));
    assert_success(
        &trellis(dir.path(), &["logp", "--params", "bom.json"]),
        "logp with a parameter file that starts with a byte-order mark",
    );
    // The last `emission_noise` used to win silently.
    let repeated = format!("{}, \"emission_noise\": 0.3}}", &PARAMS[..PARAMS.len() - 1]);
    dir.write("twice.json", &repeated);
    // serde_json points at the key's closing quote.
    let column = repeated.len() - ": 0.3}".len();
    let message = format!(
        "twice.json: invalid JSON: duplicate key \"emission_noise\" at line 1 column {column}"
    );
    let out = trellis(dir.path(), &["logp", "--params", "twice.json"]);
    assert_error(&out, &message);
}

#[test]
fn classic_mac_line_ends_give_the_right_line() {
    all_fail(
        "cr-only",
        &[("cr.csv", "1,2,3\r# a comment\r4,5,x\r")],
        &[(
            "fit --model poisson --data cr.csv --quiet",
            "cr.csv:3:3: 'x' is not a number",
        )],
    );
}

#[test]
fn poisson_counts_past_u32_max_name_the_limit() {
    all_fail(
        "big-count",
        &[
            ("big.csv", "3,0,5\n2,5e9,4\n"),
            ("max.csv", "3,0,4294967296\n"),
        ],
        &[
            (
                "fit --model poisson --data big.csv --quiet",
                "big.csv:2:2: Poisson counts can be at most 4294967295 (u32::MAX), found \
                 5000000000",
            ),
            // One past the limit is the first value refused.
            (
                "fit --model poisson --data max.csv --quiet",
                "max.csv:1:3: Poisson counts can be at most 4294967295 (u32::MAX), found \
                 4294967296",
            ),
        ],
    );
}
