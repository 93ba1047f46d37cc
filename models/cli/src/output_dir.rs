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
