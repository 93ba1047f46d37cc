//! `trellis logp`, `trellis decode` and the help texts, on the built-in reference dataset.

use crate::cli_common;

use cli_common::{assert_success, seed_truth, stdout, trellis, words, Scratch};
use serde_json::Value;

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * b.abs()
}

fn numbers(v: &Value) -> Vec<f64> {
    match v {
        Value::Number(n) => vec![n.as_f64().unwrap()],
        Value::Array(items) => items.iter().flat_map(numbers).collect(),
        other => panic!("not a number or array: {other}"),
    }
}

#[test]
fn logp_reproduces_the_reference() {
    let dir = Scratch::new("logp");
    let out = trellis(dir.path(), &words("logp --json"));
    assert_success(&out, "trellis logp --json");
    let json: Value = serde_json::from_str(&stdout(&out)).expect("logp --json prints JSON");
    let truth = seed_truth();
    let reference = &truth["reference"];

    let logp = json["logp"].as_f64().unwrap();
    let expected = reference["hmm_logp_total_at_true"].as_f64().unwrap();
    assert_eq!(expected, -37.00348856574056);
    assert!(close(logp, expected, 1e-8), "logp {logp} vs {expected}");

    let per_sequence = numbers(&json["per_sequence"]);
    let expected_per_sequence = numbers(&reference["hmm_logp_per_sequence_at_true"]);
    assert_eq!(per_sequence.len(), 70);
    for (s, (a, b)) in per_sequence.iter().zip(&expected_per_sequence).enumerate() {
        assert!(
            (a - b).abs() <= 1e-8 * b.abs().max(1.0),
            "sequence {s}: {a} vs {b}"
        );
    }

    let grad = &json["grad"];
    let reference_grad = &reference["grad_at_true"];
    let d_signal = grad["emission_signal"].as_f64().unwrap();
    assert_eq!(
        reference_grad["emission_signal"].as_f64().unwrap(),
        -297.8649061148336
    );
    assert!(
        close(d_signal, -297.8649061148336, 1e-8),
        "d/d emission_signal {d_signal}"
    );
    let d_noise = grad["emission_noise"].as_f64().unwrap();
    let expected_noise = reference_grad["emission_noise"].as_f64().unwrap();
    assert!(close(d_noise, expected_noise, 1e-8), "{d_noise}");

    // The command differentiates with respect to the probabilities as given, the reference
    // with respect to their logarithms: d/dp = (d/dlog p) / p.
    for (name, log_name) in [
        ("p_initial_state", "logp_initial_state"),
        ("p_transition", "logp_transition"),
    ] {
        let d_p = numbers(&grad[name]);
        let d_log_p = numbers(&reference_grad[log_name]);
        let p = numbers(&truth[name]);
        assert_eq!(d_p.len(), p.len());
        for i in 0..p.len() {
            let expected = d_log_p[i] / p[i];
            assert!(
                close(d_p[i], expected, 1e-8),
                "{name} entry {i}: {} vs {expected}",
                d_p[i]
            );
        }
    }
    let d00 = numbers(&grad["p_transition"])[0];
    let expected00 = reference_grad["logp_transition"][0][0].as_f64().unwrap() / 0.9;
    assert!(close(d00, expected00, 1e-8), "{d00} vs {expected00}");

    // Forward mode agrees with reverse mode, finite differences roughly.
    let reverse = [
        numbers(&grad["emission_signal"]),
        numbers(&grad["p_transition"]),
    ]
    .concat();
    let forward = [
        numbers(&json["grad_forward"]["emission_signal"]),
        numbers(&json["grad_forward"]["p_transition"]),
    ]
    .concat();
    let numeric = [
        numbers(&json["grad_finite_difference"]["emission_signal"]),
        numbers(&json["grad_finite_difference"]["p_transition"]),
    ]
    .concat();
    for i in 0..reverse.len() {
        assert!(close(forward[i], reverse[i], 1e-10), "forward {i}");
        assert!(
            close(numeric[i], reverse[i], 1e-5),
            "finite differences {i}"
        );
    }

    // The table form says the same.
    let out = trellis(dir.path(), &words("logp"));
    assert_success(&out, "trellis logp");
    let text = stdout(&out);
    assert!(
        text.contains("log-likelihood: -37.003488565741\n"),
        "{text}"
    );
    assert!(text.contains("emission_signal"), "{text}");
    assert!(text.contains("-297.86490611"), "{text}");
}

/// Parses a CSV of numbers, skipping `header` lines.
fn read_csv(path: &std::path::Path, header: usize) -> Vec<Vec<f64>> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .skip(header)
        .map(|line| line.split(',').map(|c| c.parse().unwrap()).collect())
        .collect()
}

#[test]
fn decode_writes_paths_and_probabilities() {
    let dir = Scratch::new("decode");
    let out = trellis(dir.path(), &words("decode --out decoded"));
    assert_success(&out, "trellis decode");
    let text = stdout(&out);
    assert!(
        text.starts_with(
            "Decoded 70 sequences (3570 observations) from the built-in reference dataset with \
             gaussian-shared (K = 3) at the true parameters of the built-in dataset\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("Viterbi paths match the true hidden states at "),
        "{text}"
    );

    let viterbi = read_csv(&dir.join("decoded/viterbi.csv"), 0);
    assert_eq!(viterbi.len(), 70);
    for row in &viterbi {
        assert_eq!(row.len(), 51);
        assert!(
            row.iter().all(|&s| s == 0.0 || s == 1.0 || s == 2.0),
            "{row:?}"
        );
    }

    let header = std::fs::read_to_string(dir.join("decoded/smoothed.csv")).unwrap();
    assert_eq!(
        header.lines().next(),
        Some("sequence,time,p_state_0,p_state_1,p_state_2")
    );
    let smoothed = read_csv(&dir.join("decoded/smoothed.csv"), 1);
    assert_eq!(smoothed.len(), 70 * 51);
    for (i, row) in smoothed.iter().enumerate() {
        assert_eq!(row.len(), 5);
        assert_eq!(row[0], (i / 51) as f64, "sequence column, row {i}");
        assert_eq!(row[1], (i % 51) as f64, "time column, row {i}");
        let probabilities = &row[2..];
        assert!(
            probabilities.iter().all(|p| (0.0..=1.0).contains(p)),
            "{row:?}"
        );
        let sum: f64 = probabilities.iter().sum();
        assert!((sum - 1.0).abs() < 1e-9, "row {i} sums to {sum}");
    }
    // The most probable smoothed state mostly agrees with the Viterbi path.
    let agree = smoothed
        .iter()
        .enumerate()
        .filter(|(i, row)| {
            let best = (0..3)
                .max_by(|&a, &b| row[2 + a].total_cmp(&row[2 + b]))
                .unwrap();
            viterbi[i / 51][i % 51] == best as f64
        })
        .count();
    assert!(
        agree * 100 > smoothed.len() * 95,
        "{agree} of {}",
        smoothed.len()
    );

    let mut files = cli_common::entries(&dir.join("decoded"));
    files.retain(|f| f.ends_with(".csv"));
    assert_eq!(files, vec!["smoothed.csv", "viterbi.csv"]);
}

const FIT_OPTIONS: [&str; 14] = [
    "--model",
    "--states",
    "--data",
    "--chains",
    "--warmup",
    "--draws",
    "--seed",
    "--sampler",
    "--target-accept",
    "--max-depth",
    "--dense",
    "--threads",
    "--quiet",
    "--out",
];

#[test]
fn help_mentions_every_option() {
    let dir = Scratch::new("help");
    for args in [&["--help"][..], &["fit", "--help"][..]] {
        let out = trellis(dir.path(), args);
        assert_success(&out, &format!("trellis {}", args.join(" ")));
        let text = stdout(&out);
        for option in FIT_OPTIONS {
            assert!(
                text.contains(option),
                "`trellis {}` does not mention {option}:\n{text}",
                args.join(" ")
            );
        }
    }
    let out = trellis(dir.path(), &words("--help"));
    let text = stdout(&out);
    for command in ["fit", "simulate", "logp", "decode"] {
        assert!(
            text.contains(&format!("  {command} ")),
            "{command}:\n{text}"
        );
    }
    let out = trellis(dir.path(), &words("fit --help"));
    let text = stdout(&out);
    for model in [
        "gaussian-shared",
        "gaussian",
        "poisson",
        "categorical",
        "student-t",
        "ar1",
        "diag-gaussian",
        "exponential",
    ] {
        assert!(text.contains(&format!("- {model}:")), "{model}:\n{text}");
    }
    for command in ["simulate", "logp", "decode"] {
        let out = trellis(dir.path(), &[command, "--help"]);
        assert_success(&out, &format!("trellis {command} --help"));
    }
}
