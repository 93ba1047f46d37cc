//! The output folder of a command, removed again if the command fails.

use std::collections::HashSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::io::io_reason;

/// An output folder being filled. Unless [`OutputDir::keep`] is called, dropping it (on an
/// error, or a panic) removes the files the command added and the folders it created, so a
/// failed command leaves nothing behind. Files that were there before are left alone.
pub struct OutputDir {
    path: PathBuf,
    /// Folders this command created, outermost first.
    created: Vec<PathBuf>,
    /// Names present in the folder before the command.
    before: HashSet<OsString>,
    keep: bool,
}

impl OutputDir {
    /// Creates the folder (and missing parents) and makes sure files can be written there,
    /// before any work.
    pub fn prepare(dir: &Path) -> Result<Self, String> {
        let fail = |e: std::io::Error| {
            format!(
                "cannot write to output folder '{}': {}",
                dir.display(),
                io_reason(&e)
            )
        };
        let mut created = Vec::new();
        let mut missing = Some(dir);
        while let Some(d) = missing {
            if d.as_os_str().is_empty() || d.symlink_metadata().is_ok() {
                break;
            }
            created.push(d.to_path_buf());
            missing = d.parent();
        }
        created.reverse();
        let mut out = Self {
            path: dir.to_path_buf(),
            created,
            before: HashSet::new(),
            keep: false,
        };
        std::fs::create_dir_all(dir).map_err(fail)?;
        out.before = std::fs::read_dir(dir)
            .map_err(fail)?
            .filter_map(|entry| entry.ok().map(|e| e.file_name()))
            .collect();
        let probe = dir.join(format!(".trellis-write-test{}", std::process::id()));
        std::fs::write(&probe, b"").map_err(fail)?;
        std::fs::remove_file(&probe).map_err(fail)?;
        Ok(out)
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The command succeeded: keep what it wrote.
    pub fn keep(mut self) {
        self.keep = true;
    }
}

impl Drop for OutputDir {
    fn drop(&mut self) {
        if self.keep {
            return;
        }
        if let Ok(entries) = std::fs::read_dir(&self.path) {
            for entry in entries.flatten() {
                if !self.before.contains(&entry.file_name()) {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
        for dir in self.created.iter().rev() {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

/// Which files a command that owns its output folder writes there, to tell its own earlier
/// runs (which `--overwrite` may replace) from anything else (which it never deletes).
pub struct Owned {
    /// The command, for messages (`trellis fit`).
    pub command: &'static str,
    /// Whether a file name is one the command writes.
    pub writes: fn(&str) -> bool,
}

/// Names `fit` writes: chain files (finished or partial), summary, metric, plots and report.
pub const FIT_FILES: Owned = Owned {
    command: "trellis fit",
    writes: |name| {
        let chain = name
            .strip_suffix(".csv.partial")
            .or_else(|| name.strip_suffix(".csv"))
            .and_then(|stem| stem.strip_prefix("chain_"))
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        let plot = (name.starts_with("trace") || name.starts_with("posterior"))
            && (name.ends_with(".svg") || name.ends_with(".png"));
        chain
            || plot
            || matches!(
                name,
                "summary.json" | "metric.json" | crate::report::REPORT_FILE
            )
            || is_temporary(name)
    },
};

/// Names `simulate` writes.
pub const SIMULATE_FILES: Owned = Owned {
    command: "trellis simulate",
    writes: |name| matches!(name, "data.csv" | "states.csv" | "params.json") || is_temporary(name),
};

/// A temporary file an interrupted atomic write left (`.summary.json.tmp1234`).
fn is_temporary(name: &str) -> bool {
    name.starts_with('.') && name.contains(".tmp")
}

/// The output folder of a command that owns it (`fit`, `simulate`): the folder must be new or
/// empty, or hold only an earlier run of the same command and `--overwrite` be given. An
/// earlier run is replaced as a whole: the new one is written into a fresh sibling folder,
/// which takes the old one's place only when the command succeeds, so no stale file of the
/// old run survives (`chain_3.csv` after a rerun with two chains) and a failed run leaves
/// the old one intact.
pub struct RunDir {
    /// The folder the user named.
    target: PathBuf,
    /// Where the command writes: `target`, or the sibling that replaces it.
    work: OutputDir,
    replacing: bool,
}

impl RunDir {
    /// Checks `dir` and prepares the folder to write into (see [`RunDir`]).
    pub fn prepare(dir: &Path, overwrite: bool, owned: &Owned) -> Result<Self, String> {
        let mut entries: Vec<String> = match std::fs::read_dir(dir) {
            Ok(it) => it
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect(),
            // Missing (or not a folder): `OutputDir::prepare` creates it or says why not.
            Err(_) => Vec::new(),
        };
        if entries.is_empty() {
            return Ok(Self {
                target: dir.to_path_buf(),
                work: OutputDir::prepare(dir)?,
                replacing: false,
            });
        }
        entries.sort();
        let foreign: Vec<&str> = entries
            .iter()
            .map(String::as_str)
            .filter(|n| !(owned.writes)(n) || dir.join(n).is_dir())
            .collect();
        let shown = |names: &[&str]| -> String {
            const SHOWN: usize = 3;
            let mut text = names[..names.len().min(SHOWN)].join(", ");
            if names.len() > SHOWN {
                text.push_str(&format!(" and {} more", names.len() - SHOWN));
            }
            text
        };
        if !foreign.is_empty() {
            return Err(format!(
                "output folder '{}' holds files {} does not write ({}); choose another --out \
                 (--overwrite replaces only an earlier run's own files)",
                dir.display(),
                owned.command,
                shown(&foreign)
            ));
        }
        if !overwrite {
            let names: Vec<&str> = entries.iter().map(String::as_str).collect();
            return Err(format!(
                "output folder '{}' already holds a run ({}); choose another --out, or add \
                 --overwrite to replace it",
                dir.display(),
                shown(&names)
            ));
        }
        let work = Self::sibling(dir, "new")?;
        Ok(Self {
            target: dir.to_path_buf(),
            work: OutputDir::prepare(&work)?,
            replacing: true,
        })
    }

    /// A sibling of `dir` named `{name}.{tag}-{pid}`.
    fn sibling(dir: &Path, tag: &str) -> Result<PathBuf, String> {
        let name = dir
            .file_name()
            .ok_or_else(|| format!("output folder '{}' has no name to replace", dir.display()))?;
        let mut sibling = name.to_os_string();
        sibling.push(format!(".{tag}-{}", std::process::id()));
        Ok(dir.with_file_name(sibling))
    }

    /// Where to write the run's files.
    pub fn path(&self) -> &Path {
        self.work.path()
    }

    /// Where the run's files are once [`RunDir::commit`] succeeds (the folder named by the
    /// user), for messages.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Whether an earlier run is being replaced (the new one is written beside it).
    pub fn replacing(&self) -> bool {
        self.replacing
    }

    /// The command succeeded: keep its files, in place of the earlier run if there was one.
    pub fn commit(self) -> Result<(), String> {
        if !self.replacing {
            self.work.keep();
            return Ok(());
        }
        let (target, work) = (self.target.clone(), self.work.path().to_path_buf());
        let fail = |what: &str, e: std::io::Error| {
            format!(
                "cannot replace output folder '{}' ({what}): {}; the new run is in '{}'",
                target.display(),
                io_reason(&e),
                work.display()
            )
        };
        let old = Self::sibling(&target, "old")?;
        if let Err(e) = std::fs::rename(&target, &old) {
            self.work.keep();
            return Err(fail("moving it aside", e));
        }
        if let Err(e) = std::fs::rename(&work, &target) {
            let _ = std::fs::rename(&old, &target);
            self.work.keep();
            return Err(fail("moving the new run in", e));
        }
        self.work.keep();
        // Only the earlier run's own files are in it (checked by `prepare`).
        let _ = std::fs::remove_dir_all(&old);
        Ok(())
    }
}
