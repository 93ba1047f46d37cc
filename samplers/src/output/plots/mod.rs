//! Diagnostic plots of a run, written as SVG and PNG without Python: the trace plot and the
//! posterior plot of ArviZ (`az.plot_trace`, `az.plot_posterior(ref_val=…)`), one file per
//! figure ([`trace`], [`posterior`]), drawn with the shared [`toolkit`] — public, with
//! [`plotters`] re-exported, so other crates draw figures of their own the same way.
//!
//! Every function writes `<out_stem>.svg` and `<out_stem>.png` and returns a [`PlotOutput`]
//! listing the files written plus human-readable notices (a skipped PNG, truncated input, …).
//!
//! Design choices, and why:
//! - **Text never depends on system fonts.** A minimal container has none, and plotters'
//!   `ab_glyph` text backend only knows fonts registered in-process, so DejaVu Sans from the
//!   `dejavu` crate is registered once under the family `"sans-serif"` and used everywhere.
//!   The SVG names the same family, so any viewer renders it with its own sans-serif font.
//! - **A plot never fails a fit.** Odd input (no draws, NaN, constant draws, one chain)
//!   yields a degenerate but valid panel; ranges are padded so plotters never sees
//!   `min == max`; rendering runs under `catch_unwind` as a last line of defence against
//!   panics inside plotters; anything going wrong with the PNG only adds a notice, the SVG is
//!   still written. Only failing to write the SVG (e.g. a missing or read-only folder) is an
//!   [`PlotError`], and its message names the file.
//! - **PNGs are antialiased.** plotters fills wide lines and polygons without antialiasing, so
//!   the PNG is drawn at twice the size and box-averaged down ([`raster`]); the SVG is exact.
//! - **Files appear atomically.** Each file is rendered into a temporary sibling and renamed
//!   into place, so a reader (or a crash mid-render) never sees a half-written image.

pub mod kde;
pub mod posterior;
pub mod raster;
pub mod toolkit;
pub mod trace;

use std::path::PathBuf;

use thiserror::Error;

/// The plotting library the toolkit draws with, re-exported so a figure written elsewhere
/// uses the same version.
pub use plotters;

pub use kde::{gaussian_kde, Kde, KDE_GRID_POINTS};
pub use posterior::posterior_plot;
pub use trace::{trace_plot, trace_plot_with, TraceLayout, MAX_TRACE_ROWS};

/// What a plotting function produced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlotOutput {
    /// Files written, SVG before PNG, in figure order.
    pub files: Vec<PathBuf>,
    /// One-line, human-readable remarks: a PNG that could not be written, sequences not
    /// shown, draws that were not finite. Nothing here is fatal; print them as warnings.
    pub notices: Vec<String>,
}

/// Why a plot could not be written.
///
/// Only the SVG is required; PNG problems are reported as [`PlotOutput::notices`] instead.
#[derive(Debug, Error)]
pub enum PlotError {
    /// Writing or renaming a file failed (missing or read-only folder, full disk, …).
    #[error("cannot write plot file {}: {source}", path.display())]
    Io {
        /// The file that could not be written.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// plotters failed to render the figure (should not happen; reported rather than
    /// panicking so that a plot never aborts a fit).
    #[error("cannot render plot {}: {message}", path.display())]
    Render {
        /// The file that was being rendered.
        path: PathBuf,
        /// plotters' error or panic message.
        message: String,
    },
}
