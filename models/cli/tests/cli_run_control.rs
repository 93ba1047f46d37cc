//! Run control of `trellis fit` and `simulate`: output folders that cannot mix runs
//! (`--overwrite` replaces a run as a whole), draws streamed to `chain_N.csv.partial` while a
//! chain runs, `--thin`, `--save-warmup`, `--init`, `--step-size`/`--metric`, progress lines
//! when standard error is not a terminal, and sizes too large to hold refused cleanly.
//!
//! Longer than 600 lines on purpose: one acceptance test per run-control item of the issue,
//! sharing the helpers at the top; rustfmt spreads their argument lists one per line.

use crate::cli_common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cli_common::{
    assert_contains, assert_error, assert_success, entries, json_numbers, read_json, stdout,
    trellis, words, Scratch,
};
use trellis_samplers::output::read::read_cmdstan_csv;
use trellis_samplers::Trace;

/// A quick run of the reference model on the built-in dataset.
fn quick<'a>(chains: &'a str, out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "fit", "--chains", chains, "--warmup", "40", "--draws", "30", "--seed", "4", "--quiet",
        "--out", out,
    ];
    args.extend(extra);
    args
}

/// The draw rows of a CmdStan CSV file (neither comments nor the column header).
fn rows(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("lp__"))
        .map(str::to_string)
        .collect()
}

/// Column `name` of a CmdStan CSV file's rows, as numbers.
fn column(path: &Path, name: &str) -> Vec<f64> {
    let text = std::fs::read_to_string(path).unwrap();
    let header = text.lines().find(|l| l.starts_with("lp__")).unwrap();
    let j = header
        .split(',')
        .position(|c| c == name)
        .unwrap_or_else(|| panic!("no column {name} in {header}"));
    rows(path)
        .iter()
        .map(|r| r.split(',').nth(j).unwrap().parse().unwrap())
        .collect()
}

fn bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn a_rerun_with_fewer_chains_replaces_the_whole_run_only_with_overwrite() {
    let dir = Scratch::new("overwrite");
    assert_success(&trellis(dir.path(), &quick("3", "fit", &[])), "3-chain fit");
    let before = entries(&dir.join("fit"));
    assert!(before.contains(&"chain_3.csv".to_string()), "{before:?}");
    let chain_3 = bytes(&dir.join("fit/chain_3.csv"));

    let out = trellis(dir.path(), &quick("1", "fit", &[]));
    assert_error(
        &out,
        "output folder 'fit' already holds a run (chain_1.csv, chain_2.csv, chain_3.csv and 7 \
         more); choose another --out, or add --overwrite to replace it",
    );
    assert_eq!(entries(&dir.join("fit")), before);
    assert_eq!(bytes(&dir.join("fit/chain_3.csv")), chain_3);

    let out = trellis(dir.path(), &quick("1", "fit", &["--overwrite"]));
    assert_success(&out, "1-chain fit with --overwrite");
    let text = stdout(&out);
    assert!(text.contains("note: writing into 'fit.new-"), "{text}");
    assert!(
        text.contains("'; it replaces 'fit' when the run finishes\n"),
        "{text}"
    );
    let after = entries(&dir.join("fit"));
    assert_eq!(
        after,
        [
            "chain_1.csv",
            "metric.json",
            "posterior.png",
            "posterior.svg",
            "report.html",
            "summary.json",
            "trace.png",
            "trace.svg"
        ]
    );
    assert_eq!(dir.entries(), ["fit"], "no sibling folder is left behind");
    let summary = read_json(&dir.join("fit/summary.json"));
    assert_eq!(summary["run"]["chains"], 1);
    // A one-chain run's chain 1 is chain 1 of the three-chain run: the same draws.
    let mut three = Vec::new();
    assert_success(&trellis(dir.path(), &quick("3", "three", &[])), "fit");
    three.extend(rows(&dir.join("three/chain_1.csv")));
    assert_eq!(rows(&dir.join("fit/chain_1.csv")), three);
}

#[test]
fn a_failed_run_leaves_the_previous_run_intact() {
    let dir = Scratch::new("failed-overwrite");
    assert_success(&trellis(dir.path(), &quick("2", "fit", &[])), "fit");
    let before: Vec<(String, Vec<u8>)> = entries(&dir.join("fit"))
        .into_iter()
        .map(|n| {
            let b = bytes(&dir.join("fit").join(&n));
            (n, b)
        })
        .collect();
    dir.write("bad.csv", "1.0,abc\n");
    let out = trellis(
        dir.path(),
        &quick("1", "fit", &["--overwrite", "--data", "bad.csv"]),
    );
    assert_error(&out, "bad.csv:1:2: 'abc' is not a number");
    // This one fails inside the sampler (no finite starting point), after the new folder
    // was made.
    dir.write("huge.csv", "1e308,-1e308\n");
    let out = trellis(
        dir.path(),
        &quick(
            "1",
            "fit",
            &[
                "--overwrite",
                "--model",
                "gaussian",
                "--states",
                "2",
                "--data",
                "huge.csv",
            ],
        ),
    );
    assert_error(
        &out,
        "sampling failed: chain 0: no valid initial point after 20 attempt(s) (initial point \
         plus uniform(-1, 1) jitter); last attempt: the log-density is -inf",
    );
    for (name, contents) in &before {
        assert_eq!(&bytes(&dir.join("fit").join(name)), contents, "{name}");
    }
    assert_eq!(entries(&dir.join("fit")).len(), before.len());
    assert_eq!(
        dir.entries(),
        ["bad.csv", "fit", "huge.csv"],
        "no sibling folder is left"
    );
}

#[test]
fn a_folder_holding_other_files_is_never_replaced() {
    let dir = Scratch::new("foreign");
    std::fs::create_dir(dir.join("mine")).unwrap();
    std::fs::write(dir.join("mine/notes.txt"), "keep me").unwrap();
    std::fs::write(dir.join("mine/chain_1.csv"), "old").unwrap();
    for extra in [&[][..], &["--overwrite"][..]] {
        let out = trellis(dir.path(), &quick("1", "mine", extra));
        assert_error(
            &out,
            "output folder 'mine' holds files trellis fit does not write (notes.txt); choose \
             another --out (--overwrite replaces only an earlier run's own files)",
        );
    }
    assert_eq!(
        std::fs::read_to_string(dir.join("mine/notes.txt")).unwrap(),
        "keep me"
    );
    assert_eq!(entries(&dir.join("mine")), ["chain_1.csv", "notes.txt"]);
}

#[test]
fn simulate_owns_its_output_folder_too() {
    let dir = Scratch::new("simulate-owns");
    let simulate = |sequences: &str, extra: &[&str]| {
        let mut args = words("simulate --model poisson --states 2 --length 10 --out sim");
        args.extend(["--sequences", sequences]);
        args.extend(extra);
        trellis(dir.path(), &args)
    };
    assert_success(&simulate("5", &[]), "simulate");
    let data = bytes(&dir.join("sim/data.csv"));
    assert_eq!(String::from_utf8_lossy(&data).lines().count(), 5);
    let out = simulate("5", &["--seed", "9"]);
    assert_error(
        &out,
        "output folder 'sim' already holds a run (data.csv, params.json, states.csv); choose \
         another --out, or add --overwrite to replace it",
    );
    assert_eq!(bytes(&dir.join("sim/data.csv")), data);
    let out = simulate("3", &["--seed", "9", "--overwrite"]);
    assert_success(&out, "simulate --overwrite");
    assert!(stdout(&out).contains("Wrote sim/data.csv, sim/states.csv, sim/params.json"));
    let data = std::fs::read_to_string(dir.join("sim/data.csv")).unwrap();
    assert_eq!(data.lines().count(), 3);
    assert_eq!(
        entries(&dir.join("sim")),
        ["data.csv", "params.json", "states.csv"]
    );
    assert_eq!(dir.entries(), ["sim"]);
    // A fit folder is not a simulation's: simulate refuses it even with --overwrite.
    assert_success(&trellis(dir.path(), &quick("1", "fit", &[])), "fit");
    let out = trellis(
        dir.path(),
        &words("simulate --overwrite --out fit --sequences 2"),
    );
    assert_error(
        &out,
        "output folder 'fit' holds files trellis simulate does not write (chain_1.csv, \
         metric.json, posterior.png and 5 more); choose another --out (--overwrite replaces \
         only an earlier run's own files)",
    );
}

#[test]
fn a_killed_fit_leaves_readable_partial_files() {
    let dir = Scratch::new("killed");
    let mut child = Command::new(env!("CARGO_BIN_EXE_trellis"))
        .args([
            "fit", "--chains", "2", "--warmup", "30", "--draws", "10000000", "--quiet", "--out",
            "live",
        ])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start trellis");
    let partials = [
        dir.join("live/chain_1.csv.partial"),
        dir.join("live/chain_2.csv.partial"),
    ];
    let started = Instant::now();
    let has_draws = |p: &Path| {
        std::fs::read_to_string(p)
            .is_ok_and(|t| t.contains("# Adaptation terminated") && rows(p).len() >= 5)
    };
    while !partials.iter().all(|p| has_draws(p)) {
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "no draws streamed within 5 minutes"
        );
        assert!(child.try_wait().unwrap().is_none(), "the fit ended early");
        std::thread::sleep(Duration::from_millis(100));
    }
    child.kill().unwrap();
    child.wait().unwrap();

    assert_eq!(
        entries(&dir.join("live")),
        ["chain_1.csv.partial", "chain_2.csv.partial"]
    );
    let paths: Vec<_> = partials.to_vec();
    for path in &paths {
        let chain = read_cmdstan_csv(path).unwrap();
        assert!(chain.chain.draws.len() >= 5);
        assert_eq!(chain.setting("num_samples"), Some("10000000"));
        assert!(chain.chain.draws.values().iter().all(|v| v.is_finite()));
    }
    // Unfinished chains are refused unless asked for, then cut to the shortest.
    let err = Trace::from_cmdstan_csv(&paths, false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("an unfinished run?"), "{err}");
    let trace = Trace::from_cmdstan_csv(&paths, true).unwrap();
    let shortest = paths
        .iter()
        .map(|p| read_cmdstan_csv(p).unwrap().chain.draws.len())
        .min()
        .unwrap();
    assert_eq!(trace.draws_per_chain(), shortest);

    let out = trellis(dir.path(), &words("summary --partial live --out s"));
    assert_success(&out, "summary --partial");
    assert_contains(
        &stdout(&out),
        "(unfinished chains included, cut to the shortest)",
    );
    // The killed run's folder is not an empty one: a new fit there needs --overwrite.
    let out = trellis(dir.path(), &quick("1", "live", &["--overwrite"]));
    assert_success(&out, "fit over a killed run");
    assert_eq!(entries(&dir.join("live"))[0], "chain_1.csv");
    assert!(!entries(&dir.join("live"))
        .iter()
        .any(|n| n.ends_with(".partial")));
}

#[test]
fn thin_keeps_every_nth_draw_and_warm_up_is_written_only_when_asked() {
    let dir = Scratch::new("thin");
    assert_success(&trellis(dir.path(), &quick("1", "plain", &[])), "fit");
    let plain = dir.join("plain/chain_1.csv");
    let header = std::fs::read_to_string(&plain).unwrap();
    assert!(header.contains("\n#     save_warmup = 0\n"), "{header}");
    assert_eq!(
        rows(&plain).len(),
        30,
        "draws only: warm-up is not saved by default"
    );

    let runs = [("all", "1"), ("thin4", "4")];
    for (out, thin) in runs {
        let args = quick("1", out, &["--save-warmup", "--thin", thin]);
        assert_success(&trellis(dir.path(), &args), "fit --save-warmup");
    }
    let all = rows(&dir.join("all/chain_1.csv"));
    assert_eq!(all.len(), 70, "40 warm-up and 30 draws");
    assert_eq!(
        all[40..],
        rows(&plain)[..],
        "saving warm-up changes no draw"
    );
    let thinned = rows(&dir.join("thin4/chain_1.csv"));
    // Every 4th warm-up iteration (10 of 40) and every 4th draw (8 of 30), bit for bit.
    let want: Vec<String> = all[..40]
        .iter()
        .step_by(4)
        .chain(all[40..].iter().step_by(4))
        .cloned()
        .collect();
    assert_eq!(thinned, want);
    let header = std::fs::read_to_string(dir.join("thin4/chain_1.csv")).unwrap();
    assert!(header.contains("\n#     thin = 4\n"), "{header}");
    let summary = read_json(&dir.join("thin4/summary.json"));
    assert_eq!(summary["run"]["draws"], 8);
    // `summary` reads the thinned files back to the same report.
    let out = trellis(dir.path(), &words("summary thin4 --out s"));
    assert_success(&out, "summary of a thinned run");
    assert_eq!(read_json(&dir.join("s/summary.json"))["run"]["draws"], 8);

    let out = trellis(dir.path(), &quick("1", "zero", &["--thin", "0"]));
    assert_error(&out, "--thin must be at least 1");
    for n in ["0", "1000001"] {
        let out = trellis(dir.path(), &quick("1", "zero", &["--init-candidates", n]));
        let message = format!("--init-candidates must be between 1 and 1000000, got {n}");
        assert_error(&out, &message);
    }
}

#[test]
fn init_starts_chains_at_the_given_values() {
    let dir = Scratch::new("init");
    dir.succeeds("simulate --model poisson --states 2 --sequences 8 --length 20 --out sim");
    let params = read_json(&dir.join("sim/params.json"));
    let mut other = params.clone();
    other["rate"] = serde_json::json!([0.5, 7.0]);
    dir.write(
        "per_chain.json",
        serde_json::to_string(&serde_json::json!([params, other])).unwrap(),
    );
    // MALA with a step of 1e-12 and no warm-up barely moves: the first draw is the start.
    let fit = |init: &str, out: &str, chains: &str, chain_id: &str| {
        let line = format!(
            "fit --model poisson --states 2 --data sim/data.csv --sampler mala --warmup 0 \
             --draws 1 --step-size 1e-12 --chains {chains} --chain-id {chain_id} --quiet \
             --init {init} --out {out}"
        );
        trellis(dir.path(), &words(&line))
    };
    let close = |got: f64, want: f64| (got - want).abs() < 1e-9 * want.abs().max(1.0);
    assert_success(&fit("sim/params.json", "shared", "2", "1"), "fit --init");
    assert_success(&fit("per_chain.json", "each", "2", "1"), "fit --init list");
    assert_success(
        &fit("per_chain.json", "second", "1", "2"),
        "fit --init list, chain 2",
    );
    let rates = |dir_name: &str, chain: usize| -> [f64; 2] {
        let path = dir.join(dir_name).join(format!("chain_{chain}.csv"));
        [column(&path, "rate.1")[0], column(&path, "rate.2")[0]]
    };
    let given = |json: &serde_json::Value| -> [f64; 2] {
        [
            json["rate"][0].as_f64().unwrap(),
            json["rate"][1].as_f64().unwrap(),
        ]
    };
    for (run, chain, want) in [
        ("shared", 1, given(&params)),
        ("shared", 2, given(&params)),
        ("each", 1, given(&params)),
        ("each", 2, given(&other)),
        ("second", 2, given(&other)),
    ] {
        let got = rates(run, chain);
        assert!(
            close(got[0], want[0]) && close(got[1], want[1]),
            "{run} chain {chain}: {got:?}, given {want:?}"
        );
    }
    // `--init 0`: the zero point of the unconstrained space, where both states are equally
    // likely to start.
    assert_success(&fit("0", "zero", "1", "1"), "fit --init 0");
    let p = column(&dir.join("zero/chain_1.csv"), "p_initial_state.1")[0];
    assert!(close(p, 0.5), "p_initial_state[0] at the zero point: {p}");

    // Bad values: one line naming the file and the parameter.
    let mut wrong = params.clone();
    wrong["rate"] = serde_json::json!([1.0, 2.0, 3.0]);
    dir.write("wrong.json", serde_json::to_string(&wrong).unwrap());
    let mut outside = params.clone();
    outside["rate"] = serde_json::json!([-1.0, 2.0]);
    dir.write("outside.json", serde_json::to_string(&outside).unwrap());
    for (file, message) in [
        (
            "wrong.json",
            "wrong.json: parameter 'rate' must be an array of 2 numbers".to_string(),
        ),
        (
            "outside.json",
            "outside.json: rate[0] = -1 is outside the support: ".to_string(),
        ),
        (
            "per_chain.json",
            "per_chain.json: 2 initial values (chains 1 to 2), but the run has chains 1 to 3: \
             give one object per chain, or a single object for all"
                .to_string(),
        ),
        (
            "missing.json",
            "cannot read --init file 'missing.json': No such file or directory".to_string(),
        ),
        (
            "-1",
            "--init -1: a radius must be finite and non-negative".to_string(),
        ),
    ] {
        let out = fit(file, "bad", "3", "1");
        let text = cli_common::stderr(&out);
        assert!(
            text.starts_with(&format!("error: {message}")) && text.lines().count() == 1,
            "{file}: {text}"
        );
        assert!(!dir.join("bad").exists());
    }
}

/// `fit` of one chain, five draws and no warm-up into `out`, with `extra` options.
fn five_draws_without_warm_up<'a>(extra: &[&'a str], out: &'a str) -> Vec<&'a str> {
    let mut args = vec![
        "fit", "--chains", "1", "--warmup", "0", "--draws", "5", "--quiet", "--out", out,
    ];
    args.extend(extra);
    args
}

#[test]
fn an_adaptation_is_reused_without_warm_up() {
    let dir = Scratch::new("metric");
    dir.succeeds("fit --chains 1 --warmup 300 --draws 20 --seed 6 --quiet --out adapted");
    let metric = read_json(&dir.join("adapted/metric.json"));
    let eps = metric["stepsize"].as_f64().unwrap();
    assert_eq!(metric["metric"], "diag_e");
    assert_eq!(metric["inv_metric"].as_array().unwrap().len(), 10);
    assert_eq!(metric["chains"][0]["stepsize"], metric["stepsize"]);
    let csv = std::fs::read_to_string(dir.join("adapted/chain_1.csv")).unwrap();
    assert!(csv.contains(&format!("\n# Step size = {eps}\n")), "{csv}");

    // Without warm-up the chains must start where the adapted metric and step size fit: a
    // random start far in the tails (log-density ~ -5e4) diverges at every step with a
    // metric adapted to the posterior, as it would in CmdStan. The data's true values are
    // such a start.
    let truth = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/seed-hmm/truth.json");
    let truth = truth.to_str().expect("a UTF-8 path");
    for (source, out) in [
        ("adapted/metric.json", "again"),
        ("adapted/chain_1.csv", "from_csv"),
    ] {
        let args = [
            "fit", "--chains", "2", "--warmup", "0", "--draws", "150", "--seed", "7", "--quiet",
            "--metric", source, "--init", truth, "--out", out,
        ];
        assert_success(&trellis(dir.path(), &args), "fit --metric");
        for chain in 1..=2 {
            let path = dir.join(out).join(format!("chain_{chain}.csv"));
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(text.contains(&format!("\n# Step size = {eps}\n")), "{text}");
            let steps = column(&path, "stepsize__");
            assert!(steps.iter().all(|s| *s == eps), "{source}: {steps:?}");
            let accept = column(&path, "accept_stat__");
            let mean = accept.iter().sum::<f64>() / accept.len() as f64;
            assert!(
                (0.5..=1.0).contains(&mean),
                "{source}: mean acceptance {mean}"
            );
            // The metric is the adapted one, element for element.
            let back = read_cmdstan_csv(&path).unwrap();
            let Some(trellis_samplers::InvMetric::Diag(d)) = back.chain.tuning.inv_metric else {
                panic!("no diagonal metric in {}", path.display())
            };
            let want: Vec<f64> = json_numbers(&metric["inv_metric"]);
            assert_eq!(d, want);
        }
    }
    // --step-size wins over the file's.
    let given = ["--metric", "adapted/metric.json", "--step-size", "0.125"];
    let args = five_draws_without_warm_up(&given, "given");
    assert_success(&trellis(dir.path(), &args), "fit --step-size");
    assert!(column(&dir.join("given/chain_1.csv"), "stepsize__")
        .iter()
        .all(|s| *s == 0.125));

    dir.write("small.json", r#"{"inv_metric": [1.0, 2.0]}"#);
    let identity: Vec<Vec<f64>> = (0..10)
        .map(|i| (0..10).map(|j| f64::from(u8::from(i == j))).collect())
        .collect();
    dir.write(
        "dense.json",
        serde_json::json!({ "inv_metric": identity }).to_string(),
    );
    for (file, message) in [
        (
            "small.json",
            "--metric small.json: the inverse metric is 2-dimensional but the model has 10 \
             unconstrained parameters",
        ),
        (
            "dense.json",
            "--metric dense.json holds a dense inverse metric: add --dense",
        ),
    ] {
        let args = [
            "fit", "--warmup", "0", "--quiet", "--metric", file, "--out", "bad",
        ];
        assert_error(&trellis(dir.path(), &args), message);
    }
    // With --dense it serves.
    let dense = ["--dense", "--metric", "dense.json", "--step-size", "0.01"];
    let args = five_draws_without_warm_up(&dense, "dense");
    assert_success(&trellis(dir.path(), &args), "fit --dense --metric");
    let args = words("fit --quiet --step-size -1 --out bad");
    assert_error(
        &trellis(dir.path(), &args),
        "--step-size must be finite and positive, got -1",
    );
    assert!(!dir.join("bad").exists());
}

#[test]
fn progress_off_a_terminal_is_one_plain_line_per_chain_every_tenth() {
    let dir = Scratch::new("progress");
    let args = words("fit --chains 3 --threads 1 --warmup 20 --draws 30 --out fit");
    let out = trellis(dir.path(), &args);
    assert_success(&out, "fit with progress");
    let text = cli_common::stderr(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[..2], ["chain 2: queued", "chain 3: queued"], "{text}");
    for chain in 1..=3 {
        let own: Vec<&str> = lines
            .iter()
            .copied()
            .filter(|l| l.starts_with(&format!("chain {chain}: ")) && l.contains('%'))
            .collect();
        assert_eq!(own.len(), 10, "{text}");
        for (i, line) in own.iter().enumerate() {
            let percent = format!("chain {chain}: {:>3}% ", (i + 1) * 10);
            assert!(line.starts_with(&percent), "{line}");
        }
        assert!(
            own[0].contains("(5 of 50 iterations, warm-up"),
            "{}",
            own[0]
        );
        assert!(
            own[5].contains("(30 of 50 iterations, sampling"),
            "{}",
            own[5]
        );
        assert!(own[9].ends_with(", done"), "{}", own[9]);
        assert!(
            !own[0].contains(" left") || own[0].contains("about"),
            "{}",
            own[0]
        );
    }
    assert!(!text.contains("chain 0"), "{text}");
    assert!(
        !text.contains('\u{1b}'),
        "no terminal control characters: {text:?}"
    );

    // Divergences after warm-up are labelled so; a huge fixed step diverges every time.
    let args = words("fit --chains 1 --warmup 0 --draws 10 --step-size 1000 --out diverging");
    let out = trellis(dir.path(), &args);
    assert_success(&out, "diverging fit");
    let text = cli_common::stderr(&out);
    assert!(
        text.contains(", 10 divergent after warm-up, done"),
        "{text}"
    );
    assert!(!text.contains("in warm-up"), "{text}");
}

#[test]
fn sizes_too_large_to_hold_are_refused_before_any_work() {
    let dir = Scratch::new("huge");
    let simulate = |sizes: &[&str], message: &str| {
        let mut args = vec!["simulate", "--out", "sim"];
        args.extend(sizes);
        let message =
            format!("{message} is more than 4294967296 simulated values; simulate less at a time");
        assert_error(&trellis(dir.path(), &args), &message);
    };
    let max = "18446744073709551615";
    simulate(
        &["--sequences", max],
        &format!("--sequences {max} × --length 51"),
    );
    simulate(
        &["--length", max, "--sequences", "2"],
        &format!("--sequences 2 × --length {max}"),
    );
    simulate(
        &[
            "--model",
            "diag-gaussian",
            "--dim",
            "3",
            "--length",
            "2000000000",
            "--sequences",
            "1",
        ],
        "--sequences 1 × --length 2000000000 × 3 values per observation",
    );
    let args = [
        "fit", "--warmup", "0", "--draws", max, "--quiet", "--out", "fit",
    ];
    // The command's memory check refuses it before the sampler is set up (the sampler's own
    // refusal is tested in samplers/tests/run_control.rs); its estimate depends on the
    // machine's memory, so only the sizes are checked here.
    let out = trellis(dir.path(), &args);
    assert!(!out.status.success());
    let said = cli_common::stderr(&out);
    assert!(
        said.contains(&format!(
            "too large for this machine: K = 3 states (14 parameters), 4 chains × {max} draws \
             kept (1.5e21 values)"
        )),
        "{said}"
    );
    assert!(dir.entries().is_empty(), "{:?}", dir.entries());
}

#[test]
fn chains_starting_from_the_data_take_the_best_of_32_jittered_points_by_default() {
    let dir = Scratch::new("init-candidates");
    dir.succeeds("simulate --model poisson --states 2 --sequences 8 --length 20 --out sim");
    dir.succeeds(
        "simulate --model categorical --states 2 --symbols 3 --sequences 8 --length 20 \
         --out cat",
    );
    let attempts = |extra: &str, data: &str, out: &str| -> Vec<String> {
        let model = if data == "cat" {
            "categorical --symbols 3"
        } else {
            "poisson"
        };
        dir.succeeds(&format!(
            "fit --model {model} --states 2 --data {data}/data.csv --chains 2 --warmup 20 \
             --draws 10 --quiet --out {out} {extra}"
        ));
        (1..=2)
            .map(|c| {
                let text = std::fs::read_to_string(dir.join(&format!("{out}/chain_{c}.csv")));
                let text = text.unwrap();
                let line = text.lines().find(|l| l.starts_with("# init_attempts = "));
                line.unwrap().to_string()
            })
            .collect()
    };
    // Poisson starts from the data's quantiles: 32 candidates (none needs a retry).
    assert_eq!(attempts("", "sim", "a"), ["# init_attempts = 32"; 2]);
    // Categorical has no start from the data, and --init R is CmdStan's: one point.
    assert_eq!(attempts("", "cat", "b"), ["# init_attempts = 1"; 2]);
    assert_eq!(attempts("--init 1", "sim", "c"), ["# init_attempts = 1"; 2]);
    assert_eq!(
        attempts("--init-candidates 5", "cat", "d"),
        ["# init_attempts = 5"; 2]
    );
}
