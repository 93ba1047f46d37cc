//! `trellis` on bad input: every case ends with exactly one line `error: <message>` on stderr,
//! a non-zero exit code, no panic, and no output files left behind.

mod cli_common;

use cli_common::{assert_error, entries, trellis, Scratch};

/// Runs `trellis args…` in `dir` (expected to fail with `message`) and checks that the
/// output folder `out` (relative to `dir`) was not left behind.
fn fails(dir: &Scratch, args: &[&str], message: &str) {
    let out = trellis(dir.path(), args);
    assert_error(&out, message);
    if let Some(i) = args.iter().position(|a| *a == "--out") {
        let folder = dir.join(args[i + 1]);
        assert!(
            !folder.exists(),
            "`trellis {}` left {} behind, holding {:?}",
            args.join(" "),
            folder.display(),
            entries(&folder)
        );
    }
}

/// Short fit settings, for the cases that would otherwise sample.
const QUICK: [&str; 7] = ["--chains", "1", "--warmup", "5", "--draws", "5", "--quiet"];

fn fit_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["fit"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&QUICK);
    args.extend_from_slice(&["--out", "out"]);
    args
}

#[test]
fn missing_data_file() {
    let dir = Scratch::new("missing");
    fails(
        &dir,
        &fit_args(&["--data", "missing.csv"]),
        "cannot read data file 'missing.csv': No such file or directory",
    );
    fails(
        &dir,
        &["decode", "--data", "missing.csv", "--out", "out"],
        "cannot read data file 'missing.csv': No such file or directory",
    );
}

#[test]
fn unreadable_csv_names_line_and_column() {
    let dir = Scratch::new("utf8");
    dir.write("data.csv", b"0.5,1.5,2.5\n3.5,4.5,\xff6\n");
    fails(
        &dir,
        &fit_args(&["--data", "data.csv"]),
        "data.csv:2:3: unreadable CSV: invalid UTF-8 (the file must be UTF-8 or ASCII text)",
    );
}

#[test]
fn non_numeric_cell() {
    let dir = Scratch::new("nonnum");
    dir.write("data.csv", "0.5,1.5,2.5\n3.5,x7,4.5\n");
    fails(
        &dir,
        &fit_args(&["--data", "data.csv"]),
        "data.csv:2:2: 'x7' is not a number",
    );
    // A quoted cell spanning lines is still reported on one line.
    dir.write("quoted.csv", "0.5,\"1\n2\"\n");
    fails(
        &dir,
        &["logp", "--data", "quoted.csv"],
        "quoted.csv:1:2: '1\\n2' is not a number",
    );
    // Comment lines and Windows line ends count as lines.
    dir.write("crlf.csv", "# exported\r\n0.5,1.5\r\n# more\r\n2.5,x7\r\n");
    fails(
        &dir,
        &fit_args(&["--data", "crlf.csv"]),
        "crlf.csv:4:2: 'x7' is not a number",
    );
    // Long layout: the value column.
    dir.write("long.csv", "sequence,time,value\na,0,1.5\na,1,?\n");
    fails(
        &dir,
        &fit_args(&["--data", "long.csv"]),
        "long.csv:3:3: '?' is not a number",
    );
}

#[test]
fn nan_and_infinite_cells() {
    let dir = Scratch::new("nan");
    dir.write("nan.csv", "1,2,NaN\n");
    fails(
        &dir,
        &fit_args(&["--data", "nan.csv"]),
        "nan.csv:1:3: NaN is not a finite number",
    );
    dir.write("inf.csv", "1,2\n3,-inf\n");
    fails(
        &dir,
        &["decode", "--data", "inf.csv", "--out", "out"],
        "inf.csv:2:2: -inf is not a finite number",
    );
}

#[test]
fn empty_cell_inside_a_row() {
    let dir = Scratch::new("hole");
    dir.write("data.csv", "1,2,3\n4,,6\n");
    fails(
        &dir,
        &fit_args(&["--data", "data.csv"]),
        "data.csv:2:2: empty cell inside a row",
    );
}

/// Every HMM here takes sequences of different lengths (wide rows may be ragged), but in the
/// long layout every row must have the header's number of fields.
#[test]
fn ragged_rows_in_the_long_layout() {
    let dir = Scratch::new("ragged");
    dir.write("long.csv", "sequence,time,value\n0,0,1.5\n0,1\n");
    fails(
        &dir,
        &fit_args(&["--data", "long.csv"]),
        "long.csv:3: 2 fields, but the header has 3: rows must match the header in the long layout",
    );
    dir.write(
        "vector.csv",
        "sequence,time,y0,y1\n0,0,1.5,2.5\n0,1,3.5,4.5,5.5\n",
    );
    fails(
        &dir,
        &fit_args(&["--model", "diag-gaussian", "--data", "vector.csv"]),
        "vector.csv:3: 5 fields, but the header has 4: rows must match the header in the long layout",
    );
}

/// Vector observations only come in the long layout: a wide file has one value per cell, so
/// a diagonal multivariate Gaussian cannot read it (it would silently be one-dimensional).
#[test]
fn vector_model_needs_the_long_layout() {
    let dir = Scratch::new("vector");
    dir.write("wide.csv", "1,2,3\n4,5\n");
    fails(
        &dir,
        &fit_args(&["--model", "diag-gaussian", "--data", "wide.csv"]),
        "wide.csv: model 'diag-gaussian' takes vector observations, which need the long layout \
         (header 'sequence,time,y0,y1,…', one observation per row); this file is in the wide \
         layout (one value per cell)",
    );
    // And a scalar model cannot read several value columns.
    dir.write(
        "long.csv",
        "# two values per observation\nsequence,time,u,v\n0,0,1,2\n",
    );
    fails(
        &dir,
        &fit_args(&["--model", "gaussian", "--data", "long.csv"]),
        "long.csv:2: model 'gaussian' takes one value per observation, but the header has 2 \
         value columns (vector observations need --model diag-gaussian)",
    );
}

#[test]
fn poisson_counts_must_be_non_negative_integers() {
    let dir = Scratch::new("poisson");
    dir.write("negative.csv", "3,0,5\n2,-1,4\n");
    fails(
        &dir,
        &fit_args(&["--model", "poisson", "--data", "negative.csv"]),
        "negative.csv:2:2: Poisson counts must be non-negative integers, found -1",
    );
    dir.write("fraction.csv", "3,0,5\n2,1,4.5\n");
    fails(
        &dir,
        &fit_args(&["--model", "poisson", "--data", "fraction.csv"]),
        "fraction.csv:2:3: Poisson counts must be non-negative integers, found 4.5",
    );
}

#[test]
fn categorical_symbols_must_be_in_range() {
    let dir = Scratch::new("categorical");
    dir.write("symbols.csv", "0,1,2\n2,5,1\n");
    fails(
        &dir,
        &fit_args(&[
            "--model",
            "categorical",
            "--symbols",
            "3",
            "--data",
            "symbols.csv",
        ]),
        "symbols.csv:2:2: symbol 5 is out of range for 3 categories (0 to 2)",
    );
    dir.write("negative.csv", "0,1,-1\n");
    fails(
        &dir,
        &fit_args(&["--model", "categorical", "--data", "negative.csv"]),
        "negative.csv:1:3: categorical symbols must be non-negative integers, found -1",
    );
    // The number of categories can also come from the parameter file.
    dir.write(
        "params.json",
        r#"{"p_emission": [[0.5, 0.5], [0.5, 0.5]], "p_initial_state": [0.5, 0.5],
            "p_transition": [[0.9, 0.1], [0.1, 0.9]]}"#,
    );
    fails(
        &dir,
        &[
            "logp",
            "--model",
            "categorical",
            "--states",
            "2",
            "--data",
            "symbols.csv",
            "--params",
            "params.json",
        ],
        "symbols.csv:1:3: symbol 2 is out of range for 2 categories (0 to 1)",
    );
}

#[test]
fn other_invalid_observations_name_the_cell() {
    let dir = Scratch::new("exponential");
    dir.write("data.csv", "0.5,1.5\n2.5,-0.25,1\n");
    fails(
        &dir,
        &fit_args(&["--model", "exponential", "--data", "data.csv"]),
        "data.csv:2:2: -0.25 is not a valid observation for model 'exponential': an \
         exponential observation must be non-negative",
    );
}

#[test]
fn fewer_than_two_states() {
    let dir = Scratch::new("states");
    let message = "--states must be at least 2, got 1";
    fails(&dir, &fit_args(&["--states", "1"]), message);
    fails(&dir, &["logp", "--states", "1"], message);
    fails(&dir, &["decode", "--states", "1", "--out", "out"], message);
    fails(
        &dir,
        &["simulate", "--states", "1", "--out", "out"],
        message,
    );
    fails(
        &dir,
        &["fit", "--states", "0", "--out", "out"],
        "--states must be at least 2, got 0",
    );
}

#[test]
fn fewer_than_two_symbols() {
    let dir = Scratch::new("symbols");
    dir.write("symbols.csv", "0,0,0\n");
    let message = "--symbols must be at least 2, got 1";
    fails(
        &dir,
        &fit_args(&[
            "--model",
            "categorical",
            "--symbols",
            "1",
            "--data",
            "symbols.csv",
        ]),
        message,
    );
    fails(
        &dir,
        &[
            "simulate",
            "--model",
            "categorical",
            "--symbols",
            "1",
            "--out",
            "out",
        ],
        message,
    );
}

#[test]
fn zero_draws_and_other_sampler_settings() {
    let dir = Scratch::new("settings");
    let run = |extra: &[&str], message: &str| {
        let mut args = vec!["fit", "--out", "out"];
        args.extend_from_slice(extra);
        fails(&dir, &args, message);
    };
    run(&["--draws", "0"], "--draws must be at least 1");
    run(&["--chains", "0"], "--chains must be at least 1");
    run(&["--threads", "0"], "--threads must be at least 1");
    run(
        &["--target-accept", "1"],
        "--target-accept must lie strictly between 0 and 1, got 1",
    );
    run(
        &["--max-depth", "0"],
        "--max-depth must be between 1 and 30, got 0",
    );
    fails(
        &dir,
        &["simulate", "--length", "0", "--out", "out"],
        "--sequences and --length must be at least 1",
    );
    fails(
        &dir,
        &[
            "simulate",
            "--model",
            "diag-gaussian",
            "--dim",
            "0",
            "--out",
            "out",
        ],
        "--dim must be at least 1",
    );
}

#[test]
fn output_folder_that_cannot_be_written() {
    let dir = Scratch::new("unwritable");
    dir.write("afile", "not a folder");
    let message = "cannot write to output folder 'afile/out': Not a directory";
    fails(
        &dir,
        &["fit", "--draws", "5", "--warmup", "5", "--out", "afile/out"],
        message,
    );
    fails(&dir, &["simulate", "--out", "afile/out"], message);
    fails(&dir, &["decode", "--out", "afile/out"], message);
    let out = trellis(dir.path(), &["simulate", "--out", "afile"]);
    assert_error(&out, "cannot write to output folder 'afile': File exists");
    // /proc refuses new folders.
    let out = trellis(dir.path(), &["simulate", "--out", "/proc/trellis-cli-test"]);
    assert_error(
        &out,
        "cannot write to output folder '/proc/trellis-cli-test': No such file or directory",
    );
    assert_eq!(dir.entries(), vec!["afile"]);
}

#[test]
fn empty_and_header_only_files() {
    let dir = Scratch::new("empty");
    dir.write("empty.csv", "");
    fails(
        &dir,
        &fit_args(&["--data", "empty.csv"]),
        "empty.csv: no observations",
    );
    dir.write("blank.csv", "\n# only a comment\n\n");
    fails(
        &dir,
        &fit_args(&["--data", "blank.csv"]),
        "blank.csv: no observations",
    );
    dir.write("header.csv", "sequence,time,value\n");
    fails(
        &dir,
        &fit_args(&["--data", "header.csv"]),
        "header.csv:1: a header but no observations after it",
    );
    dir.write("badheader.csv", "sequence,value\n0,1\n");
    fails(
        &dir,
        &fit_args(&["--data", "badheader.csv"]),
        "badheader.csv:1: the long layout needs a header 'sequence,time,<value>…', found \
         'sequence,value'",
    );
}

#[test]
fn long_layout_times() {
    let dir = Scratch::new("times");
    dir.write("dup.csv", "sequence,time,value\na,0,1\na,1,2\na,0,3\n");
    fails(
        &dir,
        &fit_args(&["--data", "dup.csv"]),
        "dup.csv:4: time 0 appears twice in sequence 'a' (first on line 2)",
    );
    dir.write("frac.csv", "sequence,time,value\na,0,1\na,0.5,2\n");
    fails(
        &dir,
        &fit_args(&["--data", "frac.csv"]),
        "frac.csv:3:2: time '0.5' must be a whole number",
    );
}

const REFERENCE_PARAMS: &str = r#"{
  "emission_signal": 1.15,
  "emission_noise": 0.15,
  "p_initial_state": [0.9, 0.09, 0.01],
  "p_transition": [[0.9, 0.09, 0.01], [0.1, 0.8, 0.1], [0.2, 0.1, 0.7]]
}"#;

/// Replaces `from` by `to` in the reference parameters.
fn edited(from: &str, to: &str) -> String {
    assert!(REFERENCE_PARAMS.contains(from), "{from}");
    REFERENCE_PARAMS.replace(from, to)
}

#[test]
fn parameter_files() {
    let dir = Scratch::new("params");
    dir.write("good.json", REFERENCE_PARAMS);
    // The file as given works.
    let out = trellis(dir.path(), &["logp", "--params", "good.json", "--json"]);
    cli_common::assert_success(&out, "logp with a good parameter file");

    let cases = [
        (
            edited("\"emission_noise\": 0.15,", ""),
            "p.json: missing parameter 'emission_noise' (a number)",
        ),
        (
            edited(
                "[0.9, 0.09, 0.01],\n  \"p_transition",
                "[0.9, 0.1],\n  \"p_transition",
            ),
            "p.json: parameter 'p_initial_state' must be an array of 3 numbers",
        ),
        (
            edited("[0.1, 0.8, 0.1]", "[0.1, 0.8]"),
            "p.json: parameter 'p_transition' must be an array of 3 rows of 3 numbers",
        ),
        (
            edited("1.15", "\"1.15\""),
            "p.json: parameter 'emission_signal' must be a number",
        ),
        (
            edited("[0.1, 0.8, 0.1]", "[0.1, 0.8, 0.2]"),
            "p.json: p_transition[1,:] sums to 1.1, not 1: probabilities must sum to 1",
        ),
        (
            edited(
                "[0.9, 0.09, 0.01],\n  \"p_transition",
                "[0.9, 0.09, 0.02],\n  \"p_transition",
            ),
            "p.json: p_initial_state sums to 1.01, not 1: probabilities must sum to 1",
        ),
        (
            edited("[0.2, 0.1, 0.7]", "[0.3, 0.0, 0.7]"),
            "p.json: p_transition[2,1] = 0 is outside the support: simplex entries must be \
             positive (0 is at infinity on the unconstrained space)",
        ),
        (
            edited("0.15", "-0.15"),
            "p.json: emission_noise = -0.15 is outside the support: must be positive",
        ),
        (
            "[1, 2]".to_string(),
            "p.json: parameters must be a JSON object",
        ),
        (
            "{\"emission_signal\": ".to_string(),
            "p.json: invalid JSON: EOF while parsing a value at line 1 column 20",
        ),
    ];
    for (text, message) in &cases {
        dir.write("p.json", text);
        fails(&dir, &["logp", "--params", "p.json"], message);
        fails(
            &dir,
            &["decode", "--params", "p.json", "--out", "out"],
            message,
        );
        fails(
            &dir,
            &["simulate", "--params", "p.json", "--out", "out"],
            message,
        );
    }
    fails(
        &dir,
        &["logp", "--params", "nothing.json"],
        "cannot read parameter file 'nothing.json': No such file or directory",
    );
    // Without --params, only the reference model has built-in parameters.
    dir.write("counts.csv", "1,2,3\n");
    fails(
        &dir,
        &["logp", "--model", "poisson", "--data", "counts.csv"],
        "--params is required: true parameters are built in only for the reference model \
         (gaussian-shared, 3 states, built-in dataset)",
    );
    fails(
        &dir,
        &["decode", "--states", "2", "--out", "out"],
        "--params (or --fit) is required: true parameters are built in only for the \
         reference model (gaussian-shared, 3 states, built-in dataset)",
    );
    fails(
        &dir,
        &["logp", "--model", "poisson"],
        "model 'poisson' needs --data: the built-in dataset has real-valued observations",
    );
}

#[test]
fn zero_likelihood_and_unusable_fit_folder() {
    let dir = Scratch::new("zero");
    dir.write("huge.csv", "1e308,-1e308\n");
    dir.write(
        "p.json",
        r#"{"mu": [-1, 1], "sigma": [0.5, 0.5], "p_initial_state": [0.5, 0.5],
            "p_transition": [[0.9, 0.1], [0.1, 0.9]]}"#,
    );
    fails(
        &dir,
        &[
            "logp", "--model", "gaussian", "--states", "2", "--data", "huge.csv", "--params",
            "p.json",
        ],
        "the log-likelihood is -inf at these parameters (an observation has zero probability \
         under them)",
    );
    std::fs::create_dir(dir.join("fitted")).unwrap();
    dir.write("fitted/summary.json", r#"{"mu[0]": {"mean": 1.0}}"#);
    fails(
        &dir,
        &["decode", "--fit", "fitted", "--out", "out"],
        "fitted/summary.json: no posterior mean for 'emission_signal': was it written by \
         `trellis fit` with the same --model and --states?",
    );
    fails(
        &dir,
        &["decode", "--fit", "nowhere", "--out", "out"],
        "cannot read fit summary 'nowhere/summary.json': No such file or directory",
    );
}

/// A failure after the output folder was made (here: no starting point with a finite
/// log-density) removes what the command created and leaves files that were there alone.
#[test]
fn failed_fit_leaves_no_files() {
    let dir = Scratch::new("cleanup");
    dir.write("huge.csv", "1e308,-1e308\n");
    let message = "sampling failed: chain 0: no valid initial point after 20 attempt(s) \
                   (initial point plus uniform(-1, 1) jitter); last attempt: the log-density \
                   is -inf";
    let args = ["--model", "gaussian", "--states", "2", "--data", "huge.csv"];
    let mut new_folder = fit_args(&args);
    let n = new_folder.len();
    new_folder[n - 1] = "new/nested";
    fails(&dir, &new_folder, message);
    assert!(
        !dir.join("new").exists(),
        "created parent folder left behind"
    );

    std::fs::create_dir(dir.join("existing")).unwrap();
    dir.write("existing/keep.txt", "mine");
    let mut existing = fit_args(&args);
    existing[n - 1] = "existing";
    let out = trellis(dir.path(), &existing);
    // `fit` owns its output folder: one holding other files is refused before any work.
    assert_error(
        &out,
        "output folder 'existing' holds files trellis fit does not write (keep.txt); choose \
         another --out (--overwrite replaces only an earlier run's own files)",
    );
    assert_eq!(entries(&dir.join("existing")), vec!["keep.txt"]);
}
