//! Real clients read `trellis fit`'s output: ArviZ's `from_cmdstan` (draws and `az.summary`
//! against `summary.json`) and CmdStanPy's `from_csv` (draws), by `tests/python/read_fit.py`.
//!
//! Runs with the Python named by `TRELLIS_PYTHON` (`.ci/run` points it at a virtual
//! environment with pinned ArviZ and CmdStanPy). Without it, or when that Python cannot
//! import both packages (pip could not reach the registry), the test prints a notice and
//! passes: a missing client is not a Trellis bug.

use crate::cli_common;

use std::path::Path;
use std::process::Command;

use cli_common::{assert_success, trellis, Scratch};

/// The Python to use, if one with ArviZ and CmdStanPy is available.
fn python() -> Option<String> {
    let Some(python) = std::env::var_os("TRELLIS_PYTHON") else {
        eprintln!("notice: TRELLIS_PYTHON is not set; ArviZ/CmdStanPy client test skipped");
        return None;
    };
    let python = python.to_string_lossy().into_owned();
    let probe = Command::new(&python)
        .args(["-c", "import arviz, cmdstanpy"])
        .output();
    match probe {
        Ok(out) if out.status.success() => Some(python),
        Ok(out) => {
            eprintln!(
                "notice: {python} cannot import arviz and cmdstanpy ({}); client test skipped",
                String::from_utf8_lossy(&out.stderr)
                    .lines()
                    .last()
                    .unwrap_or("")
            );
            None
        }
        Err(e) => {
            eprintln!("notice: cannot run {python} ({e}); client test skipped");
            None
        }
    }
}

#[test]
fn arviz_and_cmdstanpy_read_a_fit() {
    let Some(python) = python() else { return };
    let dir = Scratch::new("python-clients");
    let out = trellis(
        dir.path(),
        &[
            "fit", "--chains", "2", "--warmup", "100", "--draws", "100", "--seed", "3", "--quiet",
            "--out", "out",
        ],
    );
    assert_success(&out, "trellis fit for the client test");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/read_fit.py");
    let run = Command::new(&python)
        .arg(&script)
        .arg(dir.join("out"))
        .output()
        .expect("run the client script");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr),
    );
    eprintln!("{stdout}");
    assert!(
        run.status.success(),
        "the Python clients disagree with trellis\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stdout.contains("draws identical"), "{stdout}");
}
