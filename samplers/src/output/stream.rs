//! Draws streamed to disk as they are made: each chain's CmdStan CSV grows in
//! `{stem}_{N}.csv.partial` while the chain runs and is renamed to `{stem}_{N}.csv` when the
//! chain finishes, so a killed or crashed run leaves readable draws behind, and its
//! unfinished files say so by their name (and by the missing timing footer).
//!
//! Rows reach the file whole: they are collected in memory and written together every
//! [`FLUSH_BYTES`] or [`FLUSH_INTERVAL`], whichever comes first, so an interrupted file ends
//! with a complete row.

use std::fs::File;
use std::io::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::{push_row, push_tuning, Footer, RunHeader};
use crate::error::OutputError;
use crate::sampler::{DrawStats, Tuning};

/// Buffered rows are written once they reach this many bytes…
const FLUSH_BYTES: usize = 64 * 1024;
/// …or when this long has passed since the last write, so a slow run's file keeps up.
const FLUSH_INTERVAL: Duration = Duration::from_millis(200);

/// Where [`crate::sample_streaming`] writes each chain's CmdStan CSV while it runs.
///
/// ```no_run
/// use trellis_samplers::{output::stream::CsvStream, sample_streaming, Nuts, RunConfig, StdNormal};
///
/// let stream = CsvStream::new("fit", "chain", Vec::new());
/// let trace = sample_streaming(&StdNormal(2), &Nuts::default(), &RunConfig::default(), &stream)?;
/// // fit/chain_1.csv … fit/chain_4.csv now hold the draws of `trace`.
/// # Ok::<(), trellis_samplers::SampleError>(())
/// ```
#[derive(Debug, Clone)]
pub struct CsvStream {
    dir: PathBuf,
    stem: String,
    provenance: Vec<(String, String)>,
}

impl CsvStream {
    /// Files `{dir}/{stem}_{N}.csv` (N = chain number, 1-based), with `provenance` lines at
    /// the top of every header (see [`super::cmdstan_csv_with`]). The folder must exist.
    pub fn new(dir: impl Into<PathBuf>, stem: &str, provenance: Vec<(String, String)>) -> Self {
        Self {
            dir: dir.into(),
            stem: stem.to_string(),
            provenance,
        }
    }

    /// The finished file of chain `chain` (0-based).
    pub fn path(&self, chain: usize) -> PathBuf {
        self.dir.join(format!("{}_{}.csv", self.stem, chain + 1))
    }

    /// The file chain `chain` (0-based) grows while it runs.
    pub fn partial_path(&self, chain: usize) -> PathBuf {
        self.dir
            .join(format!("{}_{}.csv.partial", self.stem, chain + 1))
    }

    pub(crate) fn provenance(&self) -> &[(String, String)] {
        &self.provenance
    }
}

/// One chain's file being written.
pub(crate) struct ChainFile {
    file: File,
    partial: PathBuf,
    done: PathBuf,
    /// Whole rows not yet written.
    pending: String,
    last_write: Instant,
}

impl ChainFile {
    /// Creates chain `chain`'s `.partial` file and writes its header.
    pub(crate) fn create(
        stream: &CsvStream,
        header: &RunHeader<'_>,
        chain: usize,
        init_attempts: usize,
        save_warmup: bool,
    ) -> Result<Self, OutputError> {
        let partial = stream.partial_path(chain);
        let file = File::create(&partial).map_err(|source| OutputError::Io {
            path: partial.clone(),
            source,
        })?;
        let mut this = Self {
            file,
            partial,
            done: stream.path(chain),
            pending: String::with_capacity(FLUSH_BYTES + 4096),
            last_write: Instant::now(),
        };
        header.push(&mut this.pending, chain, init_attempts, save_warmup);
        this.write_pending()?;
        Ok(this)
    }

    fn io(&self) -> impl FnOnce(std::io::Error) -> OutputError + '_ {
        |source| OutputError::Io {
            path: self.partial.clone(),
            source,
        }
    }

    fn write_pending(&mut self) -> Result<(), OutputError> {
        let result = self.file.write_all(self.pending.as_bytes());
        result.map_err(self.io())?;
        self.pending.clear();
        self.last_write = Instant::now();
        Ok(())
    }

    /// Appends one draw's row (written out soon, whole).
    pub(crate) fn row(&mut self, stats: &DrawStats, values: &[f64]) -> Result<(), OutputError> {
        push_row(&mut self.pending, stats, values);
        if self.pending.len() >= FLUSH_BYTES || self.last_write.elapsed() >= FLUSH_INTERVAL {
            self.write_pending()?;
        }
        Ok(())
    }

    /// Appends the adaptation block (step size, inverse metric) after warm-up.
    pub(crate) fn tuning(&mut self, tuning: &Tuning) -> Result<(), OutputError> {
        push_tuning(&mut self.pending, tuning);
        self.write_pending()
    }

    /// Writes `footer`, flushes the file to disk and renames it to its finished name;
    /// returns that name.
    pub(crate) fn finish(mut self, footer: &Footer) -> Result<PathBuf, OutputError> {
        footer.push(&mut self.pending);
        self.write_pending()?;
        let synced = self.file.sync_all();
        synced.map_err(self.io())?;
        std::fs::rename(&self.partial, &self.done).map_err(self.io())?;
        Ok(self.done.clone())
    }
}

impl Drop for ChainFile {
    /// A chain that stops early (its run failed) still writes the rows it made, so its
    /// `.partial` file holds every draw up to the failure.
    fn drop(&mut self) {
        if !self.pending.is_empty() {
            let _ = self.file.write_all(self.pending.as_bytes());
        }
    }
}
