//! `trellis` on real-data inputs (issue 11): missing observations (`NA`), long-layout time
//! gaps, exports that are not wide data, structural zeros, masks and covariates.
//!
//! Bad input is table-driven: each case is one file and one command line, and must end with
//! exactly one line `error: <message>` on stderr, a non-zero exit code, no panic, and no
//! output folder left behind.

mod cli_common;

use cli_common::{assert_error, entries, trellis, Scratch};

/// One bad-input case: files to write (name, contents), the command line, the message.
struct Case {
    files: &'static [(&'static str, &'static str)],
    args: &'static [&'static str],
    message: &'static str,
}

/// Runs every case in its own scratch folder.
fn run_cases(tag: &str, cases: &[Case]) {
    for case in cases {
        let dir = Scratch::new(tag);
        for (name, contents) in case.files {
            dir.write(name, contents);
        }
        let out = trellis(dir.path(), case.args);
        assert_error(&out, case.message);
        if let Some(i) = case.args.iter().position(|a| *a == "--out") {
            let folder = dir.join(case.args[i + 1]);
            assert!(
                !folder.exists(),
                "`trellis {}` left {} behind, holding {:?}",
                case.args.join(" "),
                folder.display(),
                entries(&folder)
            );
        }
    }
}

#[test]
fn data_layout_traps_are_refused_with_a_hint() {
    let cases = [
        // `nan` is a data error, `NA` the missing marker.
        Case {
            files: &[("d.csv", "sequence,time,value\na,0,1.5\na,1,nan\n")],
            args: &["logp", "--data", "d.csv"],
            message: "d.csv:3:3: nan is not a finite number",
        },
        Case {
            files: &[("d.csv", "1.5,NaN,NA\n")],
            args: &["logp", "--data", "d.csv"],
            message: "d.csv:1:2: NaN is not a finite number",
        },
        // Gaps in the long layout's times: an error naming the sequence and the jump.
        Case {
            files: &[(
                "d.csv",
                "sequence,time,value\na,0,1.5\na,10,2.5\na,20,0.5\na,1000,1.0\n",
            )],
            args: &["logp", "--data", "d.csv"],
            message: "d.csv:3: sequence 'a' jumps from time 0 to time 10 (line 2): times must \
                      be consecutive; write a row with NA values for each missing observation",
        },
        Case {
            files: &[("d.csv", "sequence,time,value\nb,0,1\nb,1,2\nb,3,3\nb,4,4\n")],
            args: &["decode", "--data", "d.csv", "--out", "out"],
            message: "d.csv:4: sequence 'b' jumps from time 1 to time 3 (line 3): times must \
                      be consecutive; write a row with NA values for each missing observation",
        },
        // Rows out of order: the gap is found after sorting, and names both lines.
        Case {
            files: &[("d.csv", "sequence,time,value\nb,3,3\nb,0,1\nb,1,2\n")],
            args: &["logp", "--data", "d.csv"],
            message: "d.csv:2: sequence 'b' jumps from time 1 to time 3 (line 4): times must \
                      be consecutive; write a row with NA values for each missing observation",
        },
        // Classic-Mac (CR-only) line ends: the right line.
        Case {
            files: &[(
                "d.csv",
                "# cr only\rsequence,time,value\ra,0,1\ra,1,2\ra,3,3\r",
            )],
            args: &["logp", "--data", "d.csv"],
            message: "d.csv:5: sequence 'a' jumps from time 1 to time 3 (line 4): times must \
                      be consecutive; write a row with NA values for each missing observation",
        },
        Case {
            files: &[("d.csv", "sequence,time,value\ra,0,1\ra,NA,2\r")],
            args: &["logp", "--data", "d.csv"],
            message: "d.csv:3:2: time 'NA': a time cannot be missing (NA is for values)",
        },
        Case {
            files: &[("d.csv", "1,2\r3,x\r")],
            args: &["logp", "--data", "d.csv"],
            message: "d.csv:2:2: 'x' is not a number",
        },
        // A long-layout file that lost its header.
        Case {
            files: &[("d.csv", "0,0,1.5\n0,1,2.5\n0,2,0.3\n1,0,1.1\n1,1,0.9\n")],
            args: &["fit", "--data", "d.csv", "--out", "out"],
            message: "d.csv: this looks like the long layout without its header (column 1 \
                      repeats like a sequence label, column 2 counts up like a time): add the \
                      header line 'sequence,time,value' (wide data has one sequence per row)",
        },
        // pandas exports with their index column, long and wide.
        Case {
            files: &[("d.csv", ",sequence,time,value\n0,a,0,1.5\n1,a,1,2.5\n")],
            args: &["logp", "--data", "d.csv"],
            message: "d.csv:1: the first cell is empty: this looks like a pandas export with \
                      its index column; write it with to_csv(index=False) or delete the first \
                      column",
        },
        Case {
            files: &[("d.csv", ",0,1,2\n0,1.5,2.5,0.3\n1,0.2,0.4,0.6\n")],
            args: &["decode", "--data", "d.csv", "--out", "out"],
            message: "d.csv:1: the first cell is empty: this looks like a pandas export with \
                      its index column; write it with to_csv(index=False) or delete the first \
                      column",
        },
        // A header row of column numbers.
        Case {
            files: &[("d.csv", "0,1,2,3\n1.5,2.5,0.3,0.2\n0.1,0.2\n")],
            args: &["logp", "--data", "d.csv"],
            message: "d.csv:1: the first row is 0, 1, …, 3, which looks like a header of column \
                      numbers, but the wide layout has no header: delete the line (pandas: \
                      to_csv(header=False))",
        },
    ];
    run_cases("layout", &cases);
}

/// Two wide sequences (labels 0 and 1, times 0–2 and 0–1) and covariates that match them.
const WIDE: (&str, &str) = ("d.csv", "0.5,1.5,2.5\n1.0,2.0\n");
const COVARIATES: &str =
    "sequence,time,x1,x2\n0,0,0.1,1\n0,1,0.2,1\n0,2,0.3,0\n1,0,-1,0\n1,1,-2,1\n";

#[test]
fn covariate_files_must_match_the_data() {
    let cases = [
        Case {
            files: &[
                WIDE,
                (
                    "c.csv",
                    "sequence,time,x1\n0,0,1\n0,1,1\n0,2,1\n1,0,1\n1,1,1\n1,2,1\n",
                ),
            ],
            args: &[
                "logp",
                "--model",
                "gaussian",
                "--data",
                "d.csv",
                "--covariates",
                "c.csv",
            ],
            message: "c.csv:5: sequence '1' has times 0 to 2 here but times 0 to 1 in the data \
                      (d.csv): the covariates need the same sequence/time rows as the data",
        },
        Case {
            files: &[WIDE, ("c.csv", "sequence,time,x1\n0,0,1\n0,1,1\n0,2,1\n")],
            args: &[
                "decode",
                "--model",
                "gaussian",
                "--data",
                "d.csv",
                "--covariates",
                "c.csv",
                "--out",
                "out",
            ],
            message: "c.csv: no rows for sequence '1' of the data (d.csv, 2 observations, times \
                      0 to 1): the covariates need the same sequence/time rows as the data",
        },
        Case {
            files: &[
                WIDE,
                (
                    "c.csv",
                    "sequence,time,x1\n0,0,1\n0,1,1\n0,2,1\n1,0,1\n1,1,1\n7,0,1\n",
                ),
            ],
            args: &[
                "fit",
                "--model",
                "gaussian",
                "--data",
                "d.csv",
                "--covariates",
                "c.csv",
                "--out",
                "out",
            ],
            message: "c.csv:7: sequence '7' is not in the data (d.csv): the covariates need the \
                      same sequence/time rows as the data",
        },
        Case {
            files: &[
                WIDE,
                (
                    "c.csv",
                    "sequence,time,x1,x2\n0,0,0.1,1\n0,1,NA,1\n0,2,0.3,0\n1,0,-1,0\n1,1,-2,1\n",
                ),
            ],
            args: &[
                "logp",
                "--model",
                "gaussian",
                "--data",
                "d.csv",
                "--covariates",
                "c.csv",
            ],
            message: "c.csv:3:3: covariate 'x1' is missing (NA): covariates may not be missing",
        },
        Case {
            files: &[WIDE, ("c.csv", "0.1,0.2,0.3\n-1,-2\n")],
            args: &[
                "logp",
                "--model",
                "gaussian",
                "--data",
                "d.csv",
                "--covariates",
                "c.csv",
            ],
            message: "c.csv: a covariates file needs the long layout: a header \
                      'sequence,time,x1[,x2…]' naming the covariates, then one row per observation",
        },
        Case {
            files: &[WIDE, ("c.csv", "sequence,time,x1,x1\n0,0,1,1\n")],
            args: &[
                "logp",
                "--model",
                "gaussian",
                "--data",
                "d.csv",
                "--covariates",
                "c.csv",
            ],
            message: "c.csv:1: covariate 'x1' is named twice in the header",
        },
        // The built-in dataset's sequences are 0 … 69, 51 steps each.
        Case {
            files: &[("c.csv", "sequence,time,x1\n0,0,1\n")],
            args: &["logp", "--covariates", "c.csv"],
            message: "c.csv:2: sequence '0' has times 0 to 0 here but times 0 to 50 in the data \
                      (the built-in dataset): the covariates need the same sequence/time rows as \
                      the data",
        },
        Case {
            files: &[WIDE, ("c.csv", COVARIATES)],
            args: &[
                "fit",
                "--model",
                "gaussian",
                "--data",
                "d.csv",
                "--covariates",
                "c.csv",
                "--structure",
                "left-to-right",
                "--out",
                "out",
            ],
            message: "--covariates cannot be combined with --transition-mask or --structure: \
                      covariate-driven transitions have no p_transition to mask",
        },
    ];
    run_cases("covariates", &cases);
}

#[test]
fn mask_files_are_checked() {
    const PARAMS: &str = r#"{"mu": [0, 2], "sigma": [1, 1], "p_initial_state": [0.5, 0.5],
        "p_transition": [[0.9, 0.1], [0.2, 0.8]]}"#;
    let cases = [
        Case {
            files: &[WIDE, ("m.json", "[[1, 1], [0, 0]]")],
            args: &[
                "fit",
                "--model",
                "gaussian",
                "--states",
                "2",
                "--data",
                "d.csv",
                "--transition-mask",
                "m.json",
                "--out",
                "out",
            ],
            message: "m.json: row 1 of the transition mask has no free entry (1): every state \
                      needs somewhere to go",
        },
        Case {
            files: &[WIDE, ("m.json", "[0, 0]")],
            args: &[
                "fit",
                "--model",
                "gaussian",
                "--states",
                "2",
                "--data",
                "d.csv",
                "--initial-mask",
                "m.json",
                "--out",
                "out",
            ],
            message:
                "m.json: the initial mask has no free entry (1): the chain could start nowhere",
        },
        Case {
            files: &[WIDE, ("m.json", "[[1, 1, 0], [0, 1, 1]]")],
            args: &[
                "fit",
                "--model",
                "gaussian",
                "--states",
                "2",
                "--data",
                "d.csv",
                "--transition-mask",
                "m.json",
                "--out",
                "out",
            ],
            message:
                "m.json: the transition mask must be an array of 2 rows of 2 entries, each 0 or 1",
        },
        Case {
            files: &[WIDE, ("m.json", "[[1, 0.5], [0, 1]]")],
            args: &[
                "fit",
                "--model",
                "gaussian",
                "--states",
                "2",
                "--data",
                "d.csv",
                "--transition-mask",
                "m.json",
                "--out",
                "out",
            ],
            message:
                "m.json: the transition mask must be an array of 2 rows of 2 entries, each 0 or 1",
        },
        Case {
            files: &[WIDE, ("p.json", PARAMS)],
            args: &[
                "logp",
                "--model",
                "gaussian",
                "--states",
                "2",
                "--data",
                "d.csv",
                "--params",
                "p.json",
                "--structure",
                "left-to-right",
            ],
            message:
                "p.json: p_initial_state[1] is 0.5, but --structure left-to-right fixes it at 0",
        },
        Case {
            files: &[WIDE, ("p.json", PARAMS), ("m.json", "[[1, 1], [0, 1]]")],
            args: &[
                "decode",
                "--model",
                "gaussian",
                "--states",
                "2",
                "--data",
                "d.csv",
                "--params",
                "p.json",
                "--transition-mask",
                "m.json",
                "--out",
                "out",
            ],
            message: "p.json: p_transition[1,0] is 0.2, but m.json fixes it at 0",
        },
    ];
    run_cases("masks", &cases);
}
