//! Runs spread over processes: `fit --chain-id` gives the chains of one big run, `trellis
//! summary` merges them into the report `fit` gives, and mixed or out-of-range input is
//! refused with one clear line.

use crate::cli_common;

use std::process::Command;

use cli_common::{assert_error, assert_success, read_json, trellis, words, Scratch};
use serde_json::Value;

/// A short run of the reference model on the built-in dataset.
const SHORT: [&str; 6] = ["--warmup", "150", "--draws", "100", "--quiet", "--seed"];

/// The draw rows of a CmdStan CSV file: every line that is neither a comment nor the
/// column header.
fn draw_rows(path: &std::path::Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("lp__"))
        .map(str::to_string)
        .collect()
}

/// `summary.json` without what differs between runs of identical draws: wall times, the
/// true values only `fit` on the built-in dataset knows, and the command lines.
fn comparable(mut json: Value) -> Value {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(map) => {
                for key in [
                    "sampling_seconds",
                    "warmup_seconds",
                    "true",
                    "command_line",
                    "summary_command_line",
                ] {
                    map.remove(key);
                }
                map.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut json);
    json
}

#[test]
fn one_chain_processes_reproduce_a_four_chain_run_and_summary_merges_them() {
    let dir = Scratch::new("chain-id");
    let mut single: Vec<&str> = vec!["fit", "--chains", "4", "--out", "all"];
    single.extend(SHORT);
    single.push("5");
    assert_success(&trellis(dir.path(), &single), "4-chain fit");

    // The CI-sized form of the GNU parallel recipe: four processes at once.
    let children: Vec<_> = (1..=4)
        .map(|id| {
            let id = id.to_string();
            let out = format!("job{id}");
            Command::new(env!("CARGO_BIN_EXE_trellis"))
                .args(["fit", "--chains", "1", "--chain-id", &id, "--out", &out])
                .args(SHORT)
                .arg("5")
                .current_dir(dir.path())
                .output()
                .expect("start trellis")
        })
        .collect();
    for child in &children {
        assert_success(child, "one-chain fit");
    }
    for id in 1..=4 {
        let name = format!("chain_{id}.csv");
        let alone = dir.join(&format!("job{id}")).join(&name);
        assert_eq!(
            cli_common::entries(&dir.join(&format!("job{id}")))
                .iter()
                .filter(|n| n.starts_with("chain_"))
                .collect::<Vec<_>>(),
            [&name],
            "process {id} writes only its own chain file"
        );
        let rows = draw_rows(&alone);
        assert_eq!(
            rows.len(),
            100,
            "draws of chain {id} (warm-up is not saved by default)"
        );
        assert_eq!(
            rows,
            draw_rows(&dir.join("all").join(&name)),
            "chain {id} alone differs from chain {id} of the 4-chain run"
        );
        let header = std::fs::read_to_string(&alone).unwrap();
        assert!(header.contains(&format!("\n# id = {id}\n")), "{header}");
        assert!(
            header.starts_with("# model = trellis_gaussian_shared_3\n"),
            "{header}"
        );
    }

    let merged = trellis(
        dir.path(),
        &words("summary job1 job2 job3 job4 --out merged"),
    );
    assert_success(&merged, "summary");
    let merged_json = read_json(&dir.join("merged").join("summary.json"));
    let single_json = read_json(&dir.join("all").join("summary.json"));
    assert_eq!(comparable(merged_json), comparable(single_json));

    // The same table as `fit` printed, line for line.
    let fit_out = cli_common::stdout(&trellis(dir.path(), &words("summary all --out again")));
    let table = |text: &str| -> Vec<String> {
        text.lines()
            .skip_while(|l| !l.trim_start().starts_with("mean") && !l.contains(" mean "))
            .take_while(|l| !l.starts_with("Wrote"))
            .map(str::to_string)
            .collect()
    };
    let merged_table = table(&cli_common::stdout(&merged));
    assert!(merged_table.len() > 5, "{}", cli_common::stdout(&merged));
    assert_eq!(merged_table, table(&fit_out));
}

#[test]
fn summary_refuses_chains_of_different_runs() {
    let dir = Scratch::new("summary-mix");
    for (seed, id, out) in [("1", "1", "a"), ("2", "2", "b")] {
        let mut args = vec!["fit", "--chains", "1", "--chain-id", id, "--out", out];
        args.extend(SHORT);
        args.push(seed);
        assert_success(&trellis(dir.path(), &args), "fit");
    }
    let out = trellis(dir.path(), &words("summary a b --out merged"));
    assert_error(
        &out,
        "a/chain_1.csv and b/chain_2.csv come from different runs: seed = 1 in one, 2 in the other",
    );
    assert!(
        !dir.join("merged").exists(),
        "a refused summary writes nothing"
    );

    let out = trellis(dir.path(), &words("summary a a/chain_1.csv --out merged"));
    assert_error(&out, "a/chain_1.csv and a/chain_1.csv are both chain 1");
}

#[test]
fn chain_ids_out_of_range_are_refused_before_any_work() {
    let dir = Scratch::new("chain-id-range");
    for (id, chains, message) in [
        (
            "0",
            "1",
            "--chain-id 0 with --chains 1 numbers chains up to 0; chain numbers run from 1 to \
             100000",
        ),
        (
            "99999",
            "4",
            "--chain-id 99999 with --chains 4 numbers chains up to 100002; chain numbers run \
             from 1 to 100000",
        ),
    ] {
        let out = trellis(
            dir.path(),
            &["fit", "--chain-id", id, "--chains", chains, "--out", "fit"],
        );
        assert_error(&out, message);
        assert!(dir.entries().is_empty(), "{:?}", dir.entries());
    }
}
