//! Shared helpers for the `trellis` command-line tests: run the real binary in a scratch
//! folder, check error output exactly, read JSON output.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A scratch folder under the system temporary directory, removed on drop.
pub struct Scratch {
    path: PathBuf,
}

impl Scratch {
    /// A new, empty folder whose name contains `tag`, the process id and a counter.
    pub fn new(tag: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("trellis-cli-test-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create scratch folder");
        Self { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// A new folder (as [`Scratch::new`]) holding each `(name, contents)` of `files`.
    pub fn with_files(tag: &str, files: &[(&str, &str)]) -> Self {
        let dir = Self::new(tag);
        for (name, contents) in files {
            dir.write(name, contents);
        }
        dir
    }

    /// Writes `contents` to the file `name` in the folder, making its parent folders.
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create test input folder");
        }
        std::fs::write(&path, contents).expect("write test input");
        path
    }

    /// Runs `trellis` with the command `line` (see [`words`]) in the folder and asserts that
    /// it succeeded; returns its output.
    pub fn succeeds(&self, line: &str) -> Output {
        let out = trellis(&self.path, &words(line));
        assert_success(&out, &format!("`trellis {line}`"));
        out
    }

    /// The names in the folder, sorted.
    pub fn entries(&self) -> Vec<String> {
        entries(&self.path)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// The names in `dir`, sorted (empty if it does not exist).
pub fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|it| {
            it.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Runs `trellis args…` with `dir` as the working directory, so relative paths in messages
/// are the ones given.
pub fn trellis(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trellis"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run the trellis binary")
}

/// Short fit settings, for the cases that would otherwise sample: the word `QUICK` in a
/// command line given to [`fails`] stands for them.
pub const QUICK: &str = "--chains 1 --warmup 5 --draws 5 --quiet --out out";

/// A command line split on white space (no argument in these tests holds a space), with the
/// word `QUICK` replaced by the [`QUICK`] settings.
pub fn words(line: &str) -> Vec<&str> {
    line.split_whitespace()
        .flat_map(|w| match w {
            "QUICK" => QUICK.split_whitespace().collect(),
            _ => vec![w],
        })
        .collect()
}

/// Asserts that `text` contains `needle`, showing `text` if not.
pub fn assert_contains(text: &str, needle: &str) {
    assert!(text.contains(needle), "{needle:?} not in:\n{text}");
}

/// Runs `trellis` with the command `line` (see [`words`]) in `dir`, expecting it to fail with
/// exactly `error: {message}` (see [`assert_error`]), and checks that the output folder it
/// names with `--out` (relative to `dir`) was not left behind.
pub fn fails(dir: &Scratch, line: &str, message: &str) {
    let args = words(line);
    assert_error_of(
        &trellis(dir.path(), &args),
        message,
        &format!("`trellis {line}`"),
    );
    if let Some(i) = args.iter().position(|a| *a == "--out") {
        let folder = dir.join(args[i + 1]);
        assert!(
            !folder.exists(),
            "`trellis {line}` left {} behind, holding {:?}",
            folder.display(),
            entries(&folder)
        );
    }
}

/// [`fails`] for each `(command line, message)` of `cases`, in a scratch folder holding
/// `files` (as [`Scratch::with_files`]); returns the folder for further checks.
pub fn all_fail(tag: &str, files: &[(&str, &str)], cases: &[(&str, &str)]) -> Scratch {
    let dir = Scratch::with_files(tag, files);
    for (line, message) in cases {
        fails(&dir, line, message);
    }
    dir
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts the command succeeded, showing its output if not.
pub fn assert_success(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed ({:?})\nstdout:\n{}\nstderr:\n{}",
        out.status,
        stdout(out),
        stderr(out)
    );
}

/// Asserts the command failed cleanly: a non-zero exit code (not a signal), stderr exactly
/// `error: {message}` on one line, and no panic anywhere.
pub fn assert_error(out: &Output, message: &str) {
    assert_error_of(out, message, "the command");
}

/// [`assert_error`], naming the command as `what` in failure messages.
pub fn assert_error_of(out: &Output, message: &str, what: &str) {
    let (stdout, stderr) = (stdout(out), stderr(out));
    assert!(
        !stdout.contains("panicked") && !stderr.contains("panicked"),
        "{what} panicked\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert_eq!(
        out.status.code().map(|c| c != 0),
        Some(true),
        "{what}: expected a non-zero exit code, got {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    assert_eq!(
        stderr,
        format!("error: {message}\n"),
        "{what}\nstdout:\n{stdout}"
    );
}

/// Reads a JSON file.
pub fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Deterministic covariates for `sequences` × `length` observations (times from 5): two
/// smooth signals that differ between sequences, so that the slopes are identifiable.
pub fn covariates_csv(sequences: usize, length: usize) -> String {
    let mut out = String::from("sequence,time,x1,x2\n");
    for s in 0..sequences {
        for t in 0..length {
            let (s, t) = (s as f64, t as f64);
            let x1 = (0.21 * t + 1.3 * s).sin();
            let x2 = (0.05 * t * (1.0 + 0.3 * s)).cos();
            out.push_str(&format!("seq{s},{},{x1:.6},{x2:.6}\n", t + 5.0));
        }
    }
    out
}

/// A scratch folder holding `c.csv` (`covariates`), `truth.json` (`truth`) and, in `sim/`,
/// data simulated from them: `simulate {model} --params truth.json --covariates c.csv …`.
pub fn simulated_with_covariates(tag: &str, covariates: &str, truth: &str, model: &str) -> Scratch {
    let dir = Scratch::new(tag);
    dir.write("c.csv", covariates);
    dir.write("truth.json", truth);
    dir.succeeds(&format!(
        "simulate {model} --params truth.json --covariates c.csv --out sim"
    ));
    dir
}

/// A JSON array of numbers as `f64`s.
pub fn json_numbers(value: &serde_json::Value) -> Vec<f64> {
    let items = value
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {value}"));
    items
        .iter()
        .map(|v| v.as_f64().unwrap_or_else(|| panic!("not a number: {v}")))
        .collect()
}

/// `key` (`mean`, `sd`, `true`, …) of parameter `name`'s entry in a fit's `summary.json`.
pub fn summary_number(summary: &serde_json::Value, name: &str, key: &str) -> f64 {
    summary[name][key]
        .as_f64()
        .unwrap_or_else(|| panic!("summary.json: {name}.{key}"))
}

/// Every draw of the column named `column` (CmdStan style, `p_transition.1.3`) in a chain
/// file, as written.
pub fn chain_column(path: &Path, column: &str) -> Vec<String> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut lines = text.lines().filter(|l| !l.starts_with('#'));
    let header: Vec<&str> = lines.next().expect("a header line").split(',').collect();
    let index = header
        .iter()
        .position(|h| *h == column)
        .unwrap_or_else(|| panic!("{}: no column {column}", path.display()));
    lines
        .map(|l| l.split(',').nth(index).expect("a full row").to_string())
        .collect()
}

/// The reference values for the built-in dataset.
pub fn seed_truth() -> serde_json::Value {
    read_json(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/seed-hmm/truth.json"))
}

/// Physical memory as the CLI reads it, formatted as its messages are ("25.3 GB"); `None`
/// where `/proc/meminfo` is missing (the check is then skipped, and so is the test).
pub fn machine_memory() -> Option<String> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kib: f64 = text
        .lines()
        .find(|l| l.starts_with("MemTotal:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(format!("{:.1} GB", kib * 1024.0 / 1e9))
}
