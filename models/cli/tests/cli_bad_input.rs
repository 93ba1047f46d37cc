//! `trellis` on bad input: every case ends with exactly one line `error: <message>` on stderr,
//! a non-zero exit code, no panic, and no output files left behind. Each test is a table:
//! the files it writes, then `(command line, message)` cases (see `cli_common::fails`; the word
//! `QUICK` stands for short fit settings and `--out out`).

use crate::cli_common;

use cli_common::{all_fail, assert_error, entries, fails, trellis, Scratch};

#[test]
fn missing_data_file() {
    all_fail(
        "missing",
        &[],
        &[
            (
                "fit --data missing.csv QUICK",
                "cannot read data file 'missing.csv': No such file or directory",
            ),
            (
                "decode --data missing.csv --out out",
                "cannot read data file 'missing.csv': No such file or directory",
            ),
        ],
    );
}

#[test]
fn unreadable_csv_names_line_and_column() {
    let dir = Scratch::new("utf8");
    dir.write("data.csv", b"0.5,1.5,2.5\n3.5,4.5,\xff6\n");
    fails(
        &dir,
        "fit --data data.csv QUICK",
        "data.csv:2:3: unreadable CSV: invalid UTF-8 (the file must be UTF-8 or ASCII text)",
    );
}

#[test]
fn non_numeric_cell() {
    all_fail(
        "nonnum",
        &[
            ("data.csv", "0.5,1.5,2.5\n3.5,x7,4.5\n"),
            // A quoted cell spanning lines is still reported on one line.
            ("quoted.csv", "0.5,\"1\n2\"\n"),
            // Comment lines and Windows line ends count as lines.
            ("crlf.csv", "# exported\r\n0.5,1.5\r\n# more\r\n2.5,x7\r\n"),
            // Long layout: the value column.
            ("long.csv", "sequence,time,value\na,0,1.5\na,1,?\n"),
        ],
        &[
            (
                "fit --data data.csv QUICK",
                "data.csv:2:2: 'x7' is not a number",
            ),
            (
                "logp --data quoted.csv",
                "quoted.csv:1:2: '1\\n2' is not a number",
            ),
            (
                "fit --data crlf.csv QUICK",
                "crlf.csv:4:2: 'x7' is not a number",
            ),
            (
                "fit --data long.csv QUICK",
                "long.csv:3:3: '?' is not a number",
            ),
        ],
    );
}

#[test]
fn nan_and_infinite_cells() {
    all_fail(
        "nan",
        &[("nan.csv", "1,2,NaN\n"), ("inf.csv", "1,2\n3,-inf\n")],
        &[
            (
                "fit --data nan.csv QUICK",
                "nan.csv:1:3: NaN is not a finite number",
            ),
            (
                "decode --data inf.csv --out out",
                "inf.csv:2:2: -inf is not a finite number",
            ),
        ],
    );
}

#[test]
fn empty_cell_inside_a_row() {
    all_fail(
        "hole",
        &[("data.csv", "1,2,3\n4,,6\n")],
        &[(
            "fit --data data.csv QUICK",
            "data.csv:2:2: empty cell inside a row",
        )],
    );
}

/// Every HMM here takes sequences of different lengths (wide rows may be ragged), but in the
/// long layout every row must have the header's number of fields.
#[test]
fn ragged_rows_in_the_long_layout() {
    all_fail(
        "ragged",
        &[
            ("long.csv", "sequence,time,value\n0,0,1.5\n0,1\n"),
            (
                "vector.csv",
                "sequence,time,y0,y1\n0,0,1.5,2.5\n0,1,3.5,4.5,5.5\n",
            ),
        ],
        &[
            (
                "fit --data long.csv QUICK",
                "long.csv:3: 2 fields, but the header has 3: rows must match the header in the \
                 long layout",
            ),
            (
                "fit --model diag-gaussian --data vector.csv QUICK",
                "vector.csv:3: 5 fields, but the header has 4: rows must match the header in the \
                 long layout",
            ),
        ],
    );
}

/// Vector observations only come in the long layout: a wide file has one value per cell, so
/// a diagonal multivariate Gaussian cannot read it (it would silently be one-dimensional).
#[test]
fn vector_model_needs_the_long_layout() {
    all_fail(
        "vector",
        &[
            ("wide.csv", "1,2,3\n4,5\n"),
            (
                "long.csv",
                "# two values per observation\nsequence,time,u,v\n0,0,1,2\n",
            ),
        ],
        &[
            (
                "fit --model diag-gaussian --data wide.csv QUICK",
                "wide.csv: model 'diag-gaussian' takes vector observations, which need the long \
                 layout (header 'sequence,time,y0,y1,…', one observation per row); this file is \
                 in the wide layout (one value per cell)",
            ),
            // And a scalar model cannot read several value columns.
            (
                "fit --model gaussian --data long.csv QUICK",
                "long.csv:2: model 'gaussian' takes one value per observation, but the header \
                 has 2 value columns (vector observations need --model diag-gaussian)",
            ),
        ],
    );
}

#[test]
fn poisson_counts_must_be_non_negative_integers() {
    all_fail(
        "poisson",
        &[
            ("negative.csv", "3,0,5\n2,-1,4\n"),
            ("fraction.csv", "3,0,5\n2,1,4.5\n"),
        ],
        &[
            (
                "fit --model poisson --data negative.csv QUICK",
                "negative.csv:2:2: Poisson counts must be non-negative integers, found -1",
            ),
            (
                "fit --model poisson --data fraction.csv QUICK",
                "fraction.csv:2:3: Poisson counts must be non-negative integers, found 4.5",
            ),
        ],
    );
}

#[test]
fn categorical_symbols_must_be_in_range() {
    all_fail(
        "categorical",
        &[
            ("symbols.csv", "0,1,2\n2,5,1\n"),
            ("negative.csv", "0,1,-1\n"),
            (
                "params.json",
                r#"{"p_emission": [[0.5, 0.5], [0.5, 0.5]], "p_initial_state": [0.5, 0.5],
                    "p_transition": [[0.9, 0.1], [0.1, 0.9]]}"#,
            ),
        ],
        &[
            (
                "fit --model categorical --symbols 3 --data symbols.csv QUICK",
                "symbols.csv:2:2: symbol 5 is out of range for 3 categories (0 to 2)",
            ),
            (
                "fit --model categorical --data negative.csv QUICK",
                "negative.csv:1:3: categorical symbols must be non-negative integers, found -1",
            ),
            // The number of categories can also come from the parameter file.
            (
                "logp --model categorical --states 2 --data symbols.csv --params params.json",
                "symbols.csv:1:3: symbol 2 is out of range for 2 categories (0 to 1)",
            ),
        ],
    );
}

#[test]
fn other_invalid_observations_name_the_cell() {
    all_fail(
        "exponential",
        &[("data.csv", "0.5,1.5\n2.5,-0.25,1\n")],
        &[(
            "fit --model exponential --data data.csv QUICK",
            "data.csv:2:2: -0.25 is not a valid observation for model 'exponential': an \
             exponential observation must be non-negative",
        )],
    );
}

#[test]
fn fewer_than_two_states() {
    let message = "--states must be at least 2, got 1";
    all_fail(
        "states",
        &[],
        &[
            ("fit --states 1 QUICK", message),
            ("logp --states 1", message),
            ("decode --states 1 --out out", message),
            ("simulate --states 1 --out out", message),
            (
                "fit --states 0 --out out",
                "--states must be at least 2, got 0",
            ),
        ],
    );
}

#[test]
fn fewer_than_two_symbols() {
    let message = "--symbols must be at least 2, got 1";
    all_fail(
        "symbols",
        &[("symbols.csv", "0,0,0\n")],
        &[
            (
                "fit --model categorical --symbols 1 --data symbols.csv QUICK",
                message,
            ),
            (
                "simulate --model categorical --symbols 1 --out out",
                message,
            ),
        ],
    );
}

#[test]
fn zero_draws_and_other_sampler_settings() {
    all_fail(
        "settings",
        &[],
        &[
            ("fit --out out --draws 0", "--draws must be at least 1"),
            ("fit --out out --chains 0", "--chains must be at least 1"),
            ("fit --out out --threads 0", "--threads must be at least 1"),
            (
                "fit --out out --target-accept 1",
                "--target-accept must lie strictly between 0 and 1, got 1",
            ),
            (
                "fit --out out --max-depth 0",
                "--max-depth must be between 1 and 30, got 0",
            ),
            (
                "simulate --length 0 --out out",
                "--sequences and --length must be at least 1",
            ),
            (
                "simulate --model diag-gaussian --dim 0 --out out",
                "--dim must be at least 1",
            ),
        ],
    );
}

#[test]
fn output_folder_that_cannot_be_written() {
    let message = "cannot write to output folder 'afile/out': Not a directory";
    let dir = all_fail(
        "unwritable",
        &[("afile", "not a folder")],
        &[
            ("fit --draws 5 --warmup 5 --out afile/out", message),
            ("simulate --out afile/out", message),
            ("decode --out afile/out", message),
        ],
    );
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
    all_fail(
        "empty",
        &[
            ("empty.csv", ""),
            ("blank.csv", "\n# only a comment\n\n"),
            ("header.csv", "sequence,time,value\n"),
            ("badheader.csv", "sequence,value\n0,1\n"),
        ],
        &[
            ("fit --data empty.csv QUICK", "empty.csv: no observations"),
            ("fit --data blank.csv QUICK", "blank.csv: no observations"),
            (
                "fit --data header.csv QUICK",
                "header.csv:1: a header but no observations after it",
            ),
            (
                "fit --data badheader.csv QUICK",
                "badheader.csv:1: the long layout needs a header 'sequence,time,<value>…', found \
                 'sequence,value'",
            ),
        ],
    );
}

#[test]
fn long_layout_times() {
    all_fail(
        "times",
        &[
            ("dup.csv", "sequence,time,value\na,0,1\na,1,2\na,0,3\n"),
            ("frac.csv", "sequence,time,value\na,0,1\na,0.5,2\n"),
        ],
        &[
            (
                "fit --data dup.csv QUICK",
                "dup.csv:4: time 0 appears twice in sequence 'a' (first on line 2)",
            ),
            (
                "fit --data frac.csv QUICK",
                "frac.csv:3:2: time '0.5' must be a whole number",
            ),
        ],
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
            // An exact 0 is a structural zero (issue 11); a negative entry is not.
            edited("[0.2, 0.1, 0.7]", "[0.3, -0.1, 0.8]"),
            "p.json: p_transition[2,1] = -0.1 is outside the support: simplex entries must be \
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
        for line in [
            "logp --params p.json",
            "decode --params p.json --out out",
            "simulate --params p.json --out out",
        ] {
            fails(&dir, line, message);
        }
    }
    dir.write("counts.csv", "1,2,3\n");
    for (line, message) in [
        (
            "logp --params nothing.json",
            "cannot read parameter file 'nothing.json': No such file or directory",
        ),
        // Without --params, only the reference model has built-in parameters.
        (
            "logp --model poisson --data counts.csv",
            "--params is required: true parameters are built in only for the reference model \
             (gaussian-shared, 3 states, built-in dataset)",
        ),
        (
            "decode --states 2 --out out",
            "--params (or --fit) is required: true parameters are built in only for the \
             reference model (gaussian-shared, 3 states, built-in dataset)",
        ),
        (
            "logp --model poisson",
            "model 'poisson' needs --data: the built-in dataset has real-valued observations",
        ),
    ] {
        fails(&dir, line, message);
    }
}

#[test]
fn zero_likelihood_and_unusable_fit_folder() {
    all_fail(
        "zero",
        &[
            ("huge.csv", "1e308,-1e308\n"),
            (
                "p.json",
                r#"{"mu": [-1, 1], "sigma": [0.5, 0.5], "p_initial_state": [0.5, 0.5],
                    "p_transition": [[0.9, 0.1], [0.1, 0.9]]}"#,
            ),
            ("fitted/summary.json", r#"{"mu[0]": {"mean": 1.0}}"#),
        ],
        &[
            (
                "logp --model gaussian --states 2 --data huge.csv --params p.json",
                "the log-likelihood is -inf at these parameters: sequence 0 has probability \
                 zero under the model (no hidden path explains observations 0..=0); observation \
                 0 of sequence 0 is 1e308 at huge.csv:1:1",
            ),
            (
                "decode --fit fitted --out out",
                "fitted/summary.json: no posterior mean for 'emission_signal': was it written \
                 by `trellis fit` with the same --model and --states?",
            ),
            (
                "decode --fit nowhere --out out",
                "cannot read fit summary 'nowhere/summary.json': No such file or directory",
            ),
        ],
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
    let model = "fit --model gaussian --states 2 --data huge.csv --chains 1 --warmup 5 --draws 5 \
                 --quiet --out";
    fails(&dir, &format!("{model} new/nested"), message);
    assert!(
        !dir.join("new").exists(),
        "created parent folder left behind"
    );

    dir.write("existing/keep.txt", "mine");
    let existing = format!("{model} existing");
    let out = trellis(dir.path(), &cli_common::words(&existing));
    // `fit` owns its output folder: one holding other files is refused before any work.
    assert_error(
        &out,
        "output folder 'existing' holds files trellis fit does not write (keep.txt); choose \
         another --out (--overwrite replaces only an earlier run's own files)",
    );
    assert_eq!(entries(&dir.join("existing")), vec!["keep.txt"]);
}
