//! Provenance and refusals: every CSV header and `summary.json` say what produced the run
//! (family, K, priors, the data file with its SHA-256 and size, version, command line);
//! `decode --fit` and `summary` refuse a fit of another model, K or data with one line
//! naming it; sizes that cannot fit in memory are refused before anything is allocated; a
//! −inf log-likelihood names the observation responsible.

use crate::cli_common;
use crate::plot_files;

use std::path::Path;
use std::process::Command;

use cli_common::{
    assert_error, assert_success, machine_memory, read_json, stdout, trellis, words, Scratch,
};
use serde_json::Value;

/// Counts valid for both the Poisson and the exponential family: 4 sequences, 34
/// observations (wide layout, ragged).
const COUNTS: &str = "1,2,3,9,8,7,1,2,3,9,8\n2,2,1,1,7,8,9,9\n3,1,2,8,9,7,2\n1,1,9,8,9,2,3,1\n";
const OBSERVATIONS: usize = 34;

/// A very short fit: provenance does not depend on how well it mixed.
const SHORT: [&str; 7] = [
    "--chains", "1", "--warmup", "30", "--draws", "20", "--quiet",
];

fn fit(dir: &Scratch, model: &str, states: &str, data: &str, out: &str) {
    let mut args = vec![
        "fit", "--model", model, "--states", states, "--data", data, "--out", out,
    ];
    args.extend(SHORT);
    assert_success(&trellis(dir.path(), &args), "fit");
}

/// SHA-256 of `path` by the system's `sha256sum` when there is one (an implementation
/// independent of ours), else by the `sha2` crate.
fn independent_sha256(path: &Path) -> String {
    if let Ok(out) = Command::new("sha256sum").arg(path).output() {
        if out.status.success() {
            let text = String::from_utf8(out.stdout).unwrap();
            return text.split_whitespace().next().unwrap().to_string();
        }
    }
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(std::fs::read(path).unwrap());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The `key = value` lines at the top of a chain file, before the sampler's own settings.
fn header_provenance(path: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map_while(|l| l.strip_prefix("# "))
        .take_while(|l| !l.starts_with("trellis_samplers_version"))
        .map(|l| {
            let (k, v) = l.split_once(" = ").unwrap();
            (k.to_string(), v.to_string())
        })
        .collect()
}

#[test]
fn headers_and_summary_record_what_produced_the_run() {
    let dir = Scratch::new("provenance");
    let data = dir.write("counts.csv", COUNTS);
    fit(&dir, "poisson", "2", "counts.csv", "fit");
    let lines = header_provenance(&dir.join("fit").join("chain_1.csv"));
    let value = |key: &str| -> &str {
        &lines
            .iter()
            .find(|(k, _)| k == key)
            .unwrap_or_else(|| panic!("no {key} in {lines:?}"))
            .1
    };
    assert_eq!(
        lines[0],
        ("model".to_string(), "trellis_poisson_2".to_string()),
        "CmdStan's model line comes first"
    );
    assert_eq!(value("trellis_family"), "poisson");
    assert_eq!(value("trellis_states"), "2");
    assert_eq!(value("trellis_data"), "counts.csv");
    assert_eq!(value("trellis_data_sha256"), independent_sha256(&data));
    let counted = COUNTS.split([',', '\n']).filter(|c| !c.is_empty()).count();
    assert_eq!(counted, OBSERVATIONS);
    assert_eq!(value("trellis_observations"), OBSERVATIONS.to_string());
    assert_eq!(value("trellis_sequences"), "4");
    // The family's priors as the model declares them (PoissonFamily: Gamma(2, 0.1) rates,
    // Dirichlet(1) rows of the chain).
    assert_eq!(
        value("trellis_param_rate"),
        "Vector(2), PositiveOrdered, prior Gamma { shape: 2.0, rate: 0.1 }"
    );
    assert_eq!(
        value("trellis_param_p_transition"),
        "Matrix(2, 2), Simplex, prior Dirichlet { alpha: [1.0, 1.0] }"
    );
    assert_eq!(value("trellis_version"), env!("CARGO_PKG_VERSION"));
    let command = value("command_line");
    assert!(command.ends_with(
        " fit --model poisson --states 2 --data counts.csv --out fit --chains 1 --warmup 30 \
         --draws 20 --quiet"
    ));

    // summary.json holds the same lines.
    let json = read_json(&dir.join("fit").join("summary.json"));
    let recorded = json["provenance"].as_object().expect("a provenance object");
    assert_eq!(recorded.len(), lines.len());
    for (k, v) in &lines {
        assert_eq!(recorded[k], Value::String(v.clone()), "{k}");
    }

    // `summary` records the fit's provenance and its own command line.
    let out = trellis(dir.path(), &words("summary fit --out merged"));
    assert_success(&out, "summary");
    let merged = read_json(&dir.join("merged").join("summary.json"));
    let merged = merged["provenance"].as_object().unwrap();
    for (k, v) in &lines {
        assert_eq!(merged[k], Value::String(v.clone()), "{k}");
    }
    assert!(merged["summary_command_line"]
        .as_str()
        .unwrap()
        .ends_with(" summary fit --out merged"));
}

/// A scratch folder with `counts.csv` and `other.csv`: the same counts with one changed
/// (same size, other data).
fn two_data_files(tag: &str) -> Scratch {
    let dir = Scratch::new(tag);
    dir.write("counts.csv", COUNTS);
    dir.write("other.csv", COUNTS.replacen('9', "4", 1));
    dir
}

#[test]
fn decode_refuses_a_fit_of_another_model_k_or_data() {
    let dir = two_data_files("decode-mismatch");
    fit(&dir, "poisson", "2", "counts.csv", "fit");
    let decode = |model: &str, states: &str, data: &str| {
        trellis(
            dir.path(),
            &[
                "decode", "--model", model, "--states", states, "--data", data, "--fit", "fit",
                "--out", "decoded",
            ],
        )
    };
    assert_error(
        &decode("exponential", "2", "counts.csv"),
        "fit/summary.json is a fit of model 'poisson', not 'exponential' (--model)",
    );
    assert_error(
        &decode("poisson", "3", "counts.csv"),
        "fit/summary.json is a fit of K = 2 states, not 3 (--states)",
    );
    let sha = |name: &str| independent_sha256(&dir.join(name));
    assert_error(
        &decode("poisson", "2", "other.csv"),
        &format!(
            "fit/summary.json is a fit of other data: SHA-256 {} of 'counts.csv', not {} of \
             'other.csv' (--data)",
            sha("counts.csv"),
            sha("other.csv")
        ),
    );
    assert!(
        !dir.join("decoded").exists(),
        "a refused decode writes nothing"
    );

    // The same data under another name is the same data.
    std::fs::copy(dir.join("counts.csv"), dir.join("copy.csv")).unwrap();
    let out = decode("poisson", "2", "copy.csv");
    assert_success(&out, "decode of the fitted data");
    // Decoded over the posterior draws by default (issue 14; --at-mean for the means).
    assert!(stdout(&out).contains("posterior draws in fit"));
    let viterbi = std::fs::read_to_string(dir.join("decoded").join("viterbi.csv")).unwrap();
    assert_eq!(viterbi.lines().count(), 4, "one path per sequence");
}

#[test]
fn summary_refuses_chains_of_another_model_k_or_data() {
    let dir = two_data_files("summary-mismatch");
    fit(&dir, "poisson", "2", "counts.csv", "poisson");
    fit(&dir, "exponential", "2", "counts.csv", "exponential");
    fit(&dir, "poisson", "3", "counts.csv", "three");
    fit(&dir, "poisson", "2", "other.csv", "other");
    let summary = |other: &str| {
        trellis(
            dir.path(),
            &["summary", "poisson/chain_1.csv", other, "--out", "merged"],
        )
    };
    let mixed = "poisson/chain_1.csv and {other} come from different runs";
    let named = |other: &str, what: &str| format!("{}: {what}", mixed.replace("{other}", other));
    assert_error(
        &summary("exponential/chain_1.csv"),
        &named(
            "exponential/chain_1.csv",
            "model = trellis_poisson_2 in one, trellis_exponential_2 in the other",
        ),
    );
    assert_error(
        &summary("three/chain_1.csv"),
        &named(
            "three/chain_1.csv",
            "model = trellis_poisson_2 in one, trellis_poisson_3 in the other",
        ),
    );
    assert_error(
        &summary("other/chain_1.csv"),
        &named(
            "other/chain_1.csv",
            &format!(
                "trellis_data_sha256 = {} in one, {} in the other",
                independent_sha256(&dir.join("counts.csv")),
                independent_sha256(&dir.join("other.csv"))
            ),
        ),
    );
    assert!(
        !dir.join("merged").exists(),
        "a refused summary writes nothing"
    );
}

#[test]
fn sizes_that_cannot_fit_in_memory_are_refused_before_allocating() {
    let Some(memory) = machine_memory() else {
        eprintln!("no /proc/meminfo: the memory check is not made here");
        return;
    };
    let dir = Scratch::new("too-large");
    let refused = |args: &[&str], message: &str| {
        assert_error(
            &trellis(dir.path(), args),
            &format!("too large for this machine: {message}, and it has {memory}"),
        );
    };
    // K = 100000: 1e10 transition probabilities. The floor of the estimate: 16 vectors of
    // (K + K² + 2) parameters and 3 values per observation and state, 8 bytes each.
    let k = 100_000f64;
    let bytes = 8.0 * (16.0 * (k + k * k + 2.0) + 3.0 * 3570.0 * k);
    let need = format!("{:.1} GB", bytes / 1e9);
    assert_eq!(need, "1288.6 GB");
    let states = format!("K = 100000 states (1.0e10 parameters) need at least {need} of memory");
    refused(&["fit", "--states", "100000", "--out", "x"], &states);
    refused(&["logp", "--states", "100000"], &states);
    // 64 chains of 1e8 draws (+ 1000 warm-up) of 14 values and 7 statistics.
    let draws = 64.0 * 100_001_000.0 * 21.0;
    let bytes = 64.0 * 8.0 * (16.0 * 14.0 + 3.0 * 3570.0 * 3.0) + 8.0 * draws;
    refused(
        &[
            "fit",
            "--draws",
            "100000000",
            "--chains",
            "64",
            "--out",
            "x",
        ],
        &format!(
            "K = 3 states (14 parameters), 64 chains × 100001000 draws kept ({draws:.1e} \
             values) need at least {:.1} GB of memory",
            bytes / 1e9
        ),
    );
    refused(
        &["fit", "--draws", "18446744073709551615", "--out", "x"],
        "K = 3 states (14 parameters), 4 chains × 18446744073709551615 draws kept (1.5e21 \
         values) need at least 1.2e13 GB of memory",
    );
    // A symbol of 4e9 makes 4e9 + 1 categories: 2 × (4e9 + 1) emission probabilities.
    dir.write("symbols.csv", "0,1,4000000000\n1,0\n");
    let args = words("fit --model categorical --states 2 --data symbols.csv --out x");
    refused(
        &args,
        "K = 2 states, 4000000001 symbols (1.2e10 parameters) need at least 1536.0 GB of memory",
    );
    assert!(!dir.join("x").exists(), "nothing was written");
}

#[test]
fn a_minus_infinite_log_likelihood_names_the_observation_responsible() {
    let dir = Scratch::new("minus-inf");
    // (1e200 − μ)² overflows: the Gaussian log-density of the observation is −inf in every
    // state, so no hidden path explains sequence 1 from its observation 1 on.
    dir.write("data.csv", "0.1,0.2,0.3\n0.5,1e200,0.1,0.2\n0.3,0.1\n");
    let half = [0.5, 0.5];
    let params = serde_json::json!({
        "mu": [0, 1], "sigma": [1, 1], "p_initial_state": half, "p_transition": [half, half],
    });
    dir.write("params.json", params.to_string());
    let common = words("--model gaussian --states 2 --data data.csv --params params.json");
    let reason = "sequence 1 has probability zero under the model (no hidden path explains \
                  observations 0..=1); observation 1 of sequence 1 is 1e200 at data.csv:2:2";
    let mut logp = vec!["logp"];
    logp.extend(&common);
    assert_error(
        &trellis(dir.path(), &logp),
        &format!("the log-likelihood is -inf at these parameters: {reason}"),
    );
    let mut decode = vec!["decode", "--out", "decoded"];
    decode.extend(&common);
    assert_error(&trellis(dir.path(), &decode), reason);
}

/// The summary table of a `fit` or `summary` run's output: from its header line to the
/// first blank line after it.
fn table(text: &str) -> Vec<String> {
    text.lines()
        .skip_while(|l| !l.contains(" mean ") || !l.contains("r_hat"))
        .take_while(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// Checks that `svg` is well-formed XML as far as its tags go: every element opened is
/// closed in order, and the root is `<svg>`.
fn assert_well_formed_svg(svg: &str, name: &str) {
    let mut open: Vec<&str> = Vec::new();
    let mut rest = svg;
    let mut root = None;
    while let Some(start) = rest.find('<') {
        let end = start
            + rest[start..]
                .find('>')
                .unwrap_or_else(|| panic!("{name}: unclosed <"));
        let tag = &rest[start + 1..end];
        rest = &rest[end + 1..];
        if tag.starts_with('?') || tag.starts_with('!') {
            continue;
        }
        let tag_name = |t: &str| t.split_whitespace().next().unwrap_or_default().to_string();
        if let Some(closing) = tag.strip_prefix('/') {
            assert_eq!(
                open.pop(),
                Some(closing.trim()),
                "{name}: </{closing}> closes another element"
            );
        } else {
            let element = tag.split_whitespace().next().unwrap_or_default();
            root.get_or_insert_with(|| tag_name(tag));
            if !tag.ends_with('/') {
                open.push(element);
            }
        }
    }
    assert!(open.is_empty(), "{name}: elements left open: {open:?}");
    assert_eq!(root.as_deref(), Some("svg"), "{name}");
}

#[test]
fn summary_shows_the_true_values_wall_time_and_plots_as_fit_does() {
    let dir = Scratch::new("summary-truth");
    let sim = trellis(
        dir.path(),
        &words("simulate --model poisson --states 2 --sequences 5 --length 30 --out sim"),
    );
    assert_success(&sim, "simulate");
    let args = words("fit --model poisson --states 2 --data sim/data.csv --out fit --chains 2 --warmup 30 --draws 20 --quiet");
    let fitted = trellis(dir.path(), &args);
    assert_success(&fitted, "fit");
    let out = trellis(dir.path(), &words("summary fit --plots --out merged"));
    assert_success(&out, "summary --plots");

    // The same table, `true` column included, and the values are simulate's.
    let fit_table = table(&stdout(&fitted));
    assert!(fit_table[0].ends_with("true"), "{fit_table:?}");
    assert_eq!(table(&stdout(&out)), fit_table);
    let truth = read_json(&dir.join("sim").join("params.json"));
    let merged = read_json(&dir.join("merged").join("summary.json"));
    let rates = truth["rate"].as_array().unwrap();
    for (i, rate) in rates.iter().enumerate() {
        let row = &merged[format!("rate[{i}]")];
        assert_eq!(row["true"].as_f64(), rate.as_f64(), "rate[{i}]");
        assert!(rate.as_f64().is_some());
    }

    // Wall time: the slowest chain's, from the files' timing footers.
    let total = |chain: usize| -> f64 {
        let text = std::fs::read_to_string(dir.join(&format!("fit/chain_{chain}.csv"))).unwrap();
        let line = text
            .lines()
            .find(|l| l.ends_with("seconds (Total)"))
            .unwrap();
        line.trim_start_matches('#')
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    let wall = total(1).max(total(2));
    assert!(
        stdout(&out).contains(&format!("\nSampling took {wall:.2} s wall: ")),
        "{}",
        stdout(&out)
    );

    // The plots: the files `fit` drew, the SVGs byte for byte (same draws, same truth
    // markers), well-formed, each PNG the size of its SVG.
    let images = |folder: &str| -> Vec<String> {
        cli_common::entries(&dir.join(folder))
            .into_iter()
            .filter(|n| n.ends_with(".svg") || n.ends_with(".png"))
            .collect()
    };
    let written = images("merged");
    assert_eq!(written, images("fit"));
    assert!(
        written.contains(&"posterior.svg".to_string()),
        "{written:?}"
    );
    for name in written.iter().filter(|n| n.ends_with(".svg")) {
        let svg = std::fs::read_to_string(dir.join("merged").join(name)).unwrap();
        assert_eq!(
            svg,
            std::fs::read_to_string(dir.join("fit").join(name)).unwrap(),
            "{name}"
        );
        assert_well_formed_svg(&svg, name);
        let png = dir.join("merged").join(name.replace(".svg", ".png"));
        assert_eq!(
            plot_files::png_size(&png),
            plot_files::svg_size(&svg),
            "{name}"
        );
    }
    assert!(plot_files::leftovers(&dir.join("merged")).is_empty());
}
