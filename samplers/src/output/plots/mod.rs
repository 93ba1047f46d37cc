//! Diagnostic plots of a run, written as SVG and PNG without Python: the trace plot and the
//! posterior plot of ArviZ (`az.plot_trace`, `az.plot_posterior(ref_val=…)`) and a state-band
//! plot for decoded hidden-state sequences.
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
//! - **Files appear atomically.** Each file is rendered into a temporary sibling and renamed
//!   into place, so a reader (or a crash mid-render) never sees a half-written image.

use std::ffi::OsString;
use std::fs;
use std::ops::Range;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ndarray::ArrayView2;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{register_font, FontDesc, FontStyle, RGBAColor};
use thiserror::Error;

use crate::diagnostics::hdi;

/// Font family used for all plot text; registered from the embedded DejaVu Sans.
const FONT: &str = "sans-serif";

/// Width in pixels of every figure (SVG user units equal PNG pixels).
const FIG_WIDTH: u32 = 1200;

/// Height of one trace-plot row: caption, panel and x-axis labels fit without overlap.
const TRACE_ROW_HEIGHT: u32 = 230;

/// Rows per trace-plot file; more parameters are split over several files so that a single
/// image stays a size an image viewer shows legibly.
pub const MAX_TRACE_ROWS: usize = 16;

/// Columns of the posterior-plot grid.
const POSTERIOR_COLUMNS: usize = 3;

/// Height of one posterior-plot panel.
const POSTERIOR_PANEL_HEIGHT: u32 = 320;

/// Height of one sequence panel in the state-band plot.
const BAND_PANEL_HEIGHT: u32 = 240;

/// At most this many sequences are drawn by [`state_band_plot`]; more would make the panels
/// too small to read, and the first few show what the decoder does.
pub const MAX_SEQUENCE_PANELS: usize = 6;

/// Points on the KDE evaluation grid.
pub const KDE_GRID_POINTS: usize = 200;

/// Above this many draws per chain the trace lines are reduced to a min/max envelope per
/// bucket: the picture is identical at image resolution, the SVG stays small.
const MAX_TRACE_POINTS: usize = 2000;

/// Categorical palette (matplotlib's `tab10`, the ArviZ default): distinct hues that stay
/// distinguishable for the common colour-vision deficiencies.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// Colour of the reference ("true") value line: dark red stands out against the blue
/// posterior curve and the black HDI bar.
const TRUE_COLOR: RGBColor = RGBColor(200, 0, 0);

/// Text colour slightly softer than pure black.
const TEXT_COLOR: RGBColor = RGBColor(30, 30, 30);

/// Opacity of the state bands: light enough that the black observation line stays legible.
const BAND_ALPHA: f64 = 0.35;

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

/// A Gaussian kernel density estimate evaluated on a regular grid.
#[derive(Debug, Clone, PartialEq)]
pub struct Kde {
    /// Grid points, increasing.
    pub x: Vec<f64>,
    /// Estimated density at each grid point.
    pub density: Vec<f64>,
    /// Kernel standard deviation used.
    pub bandwidth: f64,
}

/// Gaussian kernel density estimate of the finite `values` on `grid_points` points.
///
/// The bandwidth is Silverman's rule of thumb, `0.9 · min(sd, IQR/1.34) · n^(-1/5)` (plain
/// `sd` when the IQR is zero), which is robust to the heavy tails MCMC marginals often have.
/// The grid spans the range of the data, like ArviZ, so a bounded parameter (a probability,
/// a scale) does not get density outside its support. Constant data get a narrow spike
/// (bandwidth 0.1 % of the value's magnitude, or 0.001) on a grid widened around it.
///
/// Returns `None` when there is no finite value or the spread overflows.
///
/// # Example
/// ```
/// use trellis_samplers::plots::gaussian_kde;
///
/// let values: Vec<f64> = (0..1000).map(|i| ((i as f64 + 0.5) / 1000.0 - 0.5) * 2.0).collect();
/// let kde = gaussian_kde(&values, 200).unwrap();
/// assert_eq!(kde.x.len(), 200);
/// // A density integrates to about one (less the mass cut off at the range ends).
/// let step = kde.x[1] - kde.x[0];
/// let mass: f64 = kde.density.iter().sum::<f64>() * step;
/// assert!(mass > 0.9 && mass < 1.05, "{mass}");
/// ```
pub fn gaussian_kde(values: &[f64], grid_points: usize) -> Option<Kde> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let nf = n as f64;
    let mean = v.iter().sum::<f64>() / nf;
    let var = if n > 1 {
        v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (nf - 1.0)
    } else {
        0.0
    };
    let sd = var.sqrt();
    let quantile = |p: f64| {
        let h = p * (nf - 1.0);
        let lo = h.floor() as usize;
        let hi = (lo + 1).min(n - 1);
        v[lo] + (h - lo as f64) * (v[hi] - v[lo])
    };
    let iqr = quantile(0.75) - quantile(0.25);
    let spread = if iqr > 0.0 { sd.min(iqr / 1.34) } else { sd };
    let mut bw = 0.9 * spread * nf.powf(-0.2);
    let (lo, hi) = (v[0], v[n - 1]);
    let magnitude = lo.abs().max(hi.abs());
    if !mean.is_finite() || !bw.is_finite() || !(hi - lo).is_finite() {
        return None;
    }
    // Below ~1e-12 relative the kernel width is lost in rounding of the grid points.
    if bw <= magnitude * 1e-12 || bw == 0.0 {
        bw = if magnitude > 0.0 {
            magnitude * 1e-3
        } else {
            1e-3
        };
    }
    // Constant or nearly constant data: widen the grid so the spike has visible shoulders.
    let (glo, ghi) = if hi - lo < bw {
        (lo - 4.0 * bw, hi + 4.0 * bw)
    } else {
        (lo, hi)
    };
    let m = grid_points.max(2);
    let step = (ghi - glo) / (m - 1) as f64;
    let norm = 1.0 / (nf * bw * (2.0 * std::f64::consts::PI).sqrt());
    // The kernel is negligible (< 1e-14) beyond 8 bandwidths; with sorted data only the
    // draws within that window are summed, keeping long chains cheap.
    let reach = 8.0 * bw;
    let mut x = Vec::with_capacity(m);
    let mut density = Vec::with_capacity(m);
    for j in 0..m {
        let g = if j == m - 1 {
            ghi
        } else {
            glo + step * j as f64
        };
        let start = v.partition_point(|&d| d < g - reach);
        let end = v.partition_point(|&d| d <= g + reach);
        let s: f64 = v[start..end]
            .iter()
            .map(|&d| {
                let z = (g - d) / bw;
                (-0.5 * z * z).exp()
            })
            .sum();
        x.push(g);
        density.push(s * norm);
    }
    Some(Kde {
        x,
        density,
        bandwidth: bw,
    })
}

/// Trace plot, like `az.plot_trace`: one row per parameter, the left panel the KDE of each
/// chain (one colour per chain), the right panel each chain's draws against iteration.
///
/// `params` holds `(name, draws)` with draws shaped `(chains, draws)`. A legend strip at the
/// top maps colours to `chain 0`, `chain 1`, …, so that no legend covers data. Writes
/// `<out_stem>.svg` and `<out_stem>.png`; with more than [`MAX_TRACE_ROWS`] parameters the
/// rows are split over `<out_stem>_part1.*`, `<out_stem>_part2.*`, … so that every image
/// stays legible. Figures are 1200 px wide and 230 px per row, plus a title and legend.
///
/// Non-finite draws are left out (with a notice); a parameter without finite draws gets
/// empty panels saying so. An empty `params` writes nothing and returns a notice.
///
/// # Errors
/// [`PlotError`] if an SVG cannot be written (its path is in the message). PNG problems are
/// notices, not errors.
///
/// # Example
/// ```
/// use ndarray::Array2;
/// use trellis_samplers::plots::trace_plot;
///
/// let dir = std::env::temp_dir().join(format!("trellis-doc-trace-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// // 2 chains × 200 draws of two parameters.
/// let mu = Array2::from_shape_fn((2, 200), |(c, i)| ((i * 7 + c * 3) % 17) as f64 / 17.0);
/// let sigma = mu.mapv(|x| 1.0 + x * x);
/// let out = trace_plot(&dir.join("trace"), &[("mu", mu.view()), ("sigma", sigma.view())])?;
/// assert_eq!(out.files, vec![dir.join("trace.svg"), dir.join("trace.png")]);
/// let svg = std::fs::read_to_string(&out.files[0])?;
/// assert!(svg.contains("sigma") && svg.contains("chain 1"));
/// for notice in &out.notices {
///     eprintln!("note: {notice}");
/// }
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn trace_plot(
    out_stem: &Path,
    params: &[(&str, ArrayView2<'_, f64>)],
) -> Result<PlotOutput, PlotError> {
    let mut out = PlotOutput::default();
    if params.is_empty() {
        out.notices
            .push("trace plot: no parameters given, nothing written".to_string());
        return Ok(out);
    }
    let rows: Vec<TraceRow> = params
        .iter()
        .map(|(name, draws)| TraceRow::new(name, draws, &mut out.notices))
        .collect();
    let n_chains = params.iter().map(|(_, d)| d.nrows()).max().unwrap_or(0);
    let parts: Vec<&[TraceRow]> = rows.chunks(MAX_TRACE_ROWS).collect();
    let n_parts = parts.len();
    for (k, part) in parts.into_iter().enumerate() {
        let (stem, header) = if n_parts == 1 {
            (out_stem.to_path_buf(), None)
        } else {
            (
                with_suffix(out_stem, &format!("_part{}", k + 1)),
                Some(format!("part {} of {}", k + 1, n_parts)),
            )
        };
        let fig = TraceFigure {
            rows: part,
            n_chains,
            part: header,
        };
        write_figure(&fig, &stem, &mut out)?;
    }
    Ok(out)
}

/// Posterior plot, like `az.plot_posterior(ref_val=…)`: per parameter a panel with the KDE
/// of the pooled draws of all chains, the `hdi_prob` highest-density interval as a black
/// bar with its bounds printed, the mean printed at the top and, when a reference value is
/// given, a red vertical line labelled `true = …`.
///
/// `params` holds `(name, draws shaped (chains, draws), reference value)`. Panels are laid
/// out in a grid of three columns (1200 px wide, 320 px per grid row); the x range always
/// includes the reference value so that a badly missed truth is still visible. The HDI is
/// [`crate::diagnostics::hdi`] (ArviZ's shortest-window method) of the finite draws.
/// Writes `<out_stem>.svg` and `<out_stem>.png`.
///
/// An `hdi_prob` outside `(0, 1)` leaves the HDI out (with a notice); an empty `params`
/// writes nothing and returns a notice.
///
/// # Errors
/// [`PlotError`] if the SVG cannot be written. PNG problems are notices.
pub fn posterior_plot(
    out_stem: &Path,
    params: &[(&str, ArrayView2<'_, f64>, Option<f64>)],
    hdi_prob: f64,
) -> Result<PlotOutput, PlotError> {
    let mut out = PlotOutput::default();
    if params.is_empty() {
        out.notices
            .push("posterior plot: no parameters given, nothing written".to_string());
        return Ok(out);
    }
    let hdi_ok = hdi_prob > 0.0 && hdi_prob < 1.0;
    if !hdi_ok {
        out.notices.push(format!(
            "posterior plot: hdi_prob = {hdi_prob} is not in (0, 1); HDI not drawn"
        ));
    }
    let panels: Vec<PosteriorPanel> = params
        .iter()
        .map(|(name, draws, truth)| {
            PosteriorPanel::new(
                name,
                draws,
                *truth,
                hdi_ok.then_some(hdi_prob),
                &mut out.notices,
            )
        })
        .collect();
    let n_chains = params.iter().map(|(_, d, _)| d.nrows()).max().unwrap_or(0);
    let fig = PosteriorFigure {
        panels: &panels,
        hdi_prob,
        n_chains,
    };
    write_figure(&fig, out_stem, &mut out)?;
    Ok(out)
}

/// State-band plot for decoded sequences: for each of the first [`MAX_SEQUENCE_PANELS`]
/// sequences a panel with the observations as a black line with points against time, over
/// background bands coloured by the decoded state at each time step, plus a legend strip
/// (`state 0`, `state 1`, …) under the `title`.
///
/// `sequences` holds `(observations, states)`; if their lengths differ only the common
/// prefix is drawn (with a notice). `n_states` sets the legend; `0` means "infer from the
/// largest state". Non-finite observations leave gaps in the line. Figures are 1200 px wide
/// and 240 px per panel. Writes `<out_stem>.svg` and `<out_stem>.png`. An empty `sequences`
/// writes nothing and returns a notice; an empty sequence gets a panel saying so.
///
/// # Errors
/// [`PlotError`] if the SVG cannot be written. PNG problems are notices.
pub fn state_band_plot(
    out_stem: &Path,
    sequences: &[(&[f64], &[usize])],
    n_states: usize,
    title: &str,
) -> Result<PlotOutput, PlotError> {
    let mut out = PlotOutput::default();
    if sequences.is_empty() {
        out.notices
            .push("state-band plot: no sequences given, nothing written".to_string());
        return Ok(out);
    }
    if sequences.len() > MAX_SEQUENCE_PANELS {
        out.notices.push(format!(
            "state-band plot: showing the first {MAX_SEQUENCE_PANELS} of {} sequences",
            sequences.len()
        ));
    }
    let shown = &sequences[..sequences.len().min(MAX_SEQUENCE_PANELS)];
    let max_state = shown
        .iter()
        .flat_map(|(_, s)| s.iter().copied())
        .max()
        .map_or(0, |m| m.saturating_add(1));
    let n_states = if n_states == 0 {
        max_state.max(1)
    } else {
        if max_state > n_states {
            out.notices.push(format!(
                "state-band plot: states up to {} found but n_states = {n_states}",
                max_state - 1
            ));
        }
        n_states
    };
    let panels: Vec<BandPanel> = shown
        .iter()
        .enumerate()
        .map(|(i, (obs, states))| {
            if obs.len() != states.len() {
                out.notices.push(format!(
                    "state-band plot: sequence {i} has {} observations but {} states; \
                     drawing the first {}",
                    obs.len(),
                    states.len(),
                    obs.len().min(states.len())
                ));
            }
            BandPanel::new(i, obs, states)
        })
        .collect();
    let fig = BandFigure {
        panels: &panels,
        n_states,
        title,
    };
    write_figure(&fig, out_stem, &mut out)?;
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Rendering infrastructure
// ---------------------------------------------------------------------------------------

/// Result of drawing with plotters; the error is a message since only its text is reported.
type DrawResult = Result<(), String>;

/// Turns any plotters error into its message.
fn msg(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// A figure that can be drawn on any plotters backend (SVG and bitmap share the code).
trait Figure {
    /// Size in pixels.
    fn size(&self) -> (u32, u32);
    /// Draws the whole figure on `root`.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult;
}

/// Registers DejaVu Sans (regular and bold) as `"sans-serif"` once per process; `false` if
/// the font could not be loaded, which only a corrupt `dejavu` crate could cause.
fn font_ready() -> bool {
    static READY: OnceLock<bool> = OnceLock::new();
    *READY.get_or_init(|| {
        let regular = register_font(FONT, FontStyle::Normal, dejavu::sans::regular()).is_ok();
        let bold = register_font(FONT, FontStyle::Bold, dejavu::sans::bold()).is_ok();
        regular && bold
    })
}

/// `stem` with `suffix` appended to the file name (not `with_extension`, which would eat a
/// dotted stem such as `fit_0.5`).
fn with_suffix(stem: &Path, suffix: &str) -> PathBuf {
    let mut s: OsString = stem.as_os_str().to_os_string();
    s.push(suffix);
    PathBuf::from(s)
}

/// Text of a caught panic payload.
fn panic_text(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        format!("panic in plotters: {s}")
    } else if let Some(s) = payload.downcast_ref::<String>() {
        format!("panic in plotters: {s}")
    } else {
        "panic in plotters".to_string()
    }
}

/// Writes `bytes` to `path` via a `.tmp` sibling and a rename, so `path` is either absent,
/// the old file, or complete.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), PlotError> {
    let tmp = with_suffix(path, ".tmp");
    let io_err = |source| PlotError::Io {
        path: path.to_path_buf(),
        source,
    };
    fs::write(&tmp, bytes).map_err(io_err)?;
    fs::rename(&tmp, path).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        io_err(e)
    })
}

/// Renders `fig` to `<stem>.svg` (required) and `<stem>.png` (best effort), recording the
/// files and notices in `out`.
fn write_figure(fig: &impl Figure, stem: &Path, out: &mut PlotOutput) -> Result<(), PlotError> {
    let svg_path = with_suffix(stem, ".svg");
    if !font_ready() {
        // Without a registered font plotters cannot measure text, which the layout needs.
        return Err(PlotError::Render {
            path: svg_path,
            message: "the embedded DejaVu Sans font could not be loaded".to_string(),
        });
    }
    let mut svg = String::new();
    let rendered = catch_unwind(AssertUnwindSafe(|| {
        let root = SVGBackend::with_string(&mut svg, fig.size()).into_drawing_area();
        fig.draw(&root)?;
        root.present().map_err(msg)
    }));
    let render_err = match rendered {
        Ok(Ok(())) => None,
        Ok(Err(m)) => Some(m),
        Err(p) => Some(panic_text(p)),
    };
    if let Some(message) = render_err {
        return Err(PlotError::Render {
            path: svg_path,
            message,
        });
    }
    write_atomic(&svg_path, svg.as_bytes())?;
    out.files.push(svg_path);

    let png_path = with_suffix(stem, ".png");
    match write_png(fig, &png_path) {
        Ok(()) => out.files.push(png_path),
        Err(m) => out.notices.push(format!(
            "PNG {} not written ({m}); the SVG has the same plot",
            png_path.display()
        )),
    }
    Ok(())
}

/// Renders `fig` as a PNG into a temporary sibling and renames it to `path`.
fn write_png(fig: &impl Figure, path: &Path) -> DrawResult {
    // The encoder picks the image format from the extension, so the temporary file must
    // end in `.png` too.
    let tmp = with_suffix(path, ".tmp.png");
    let rendered = catch_unwind(AssertUnwindSafe(|| {
        let root = BitMapBackend::new(&tmp, fig.size()).into_drawing_area();
        fig.draw(&root)?;
        root.present().map_err(msg)
    }));
    let result = match rendered {
        Ok(Ok(())) => fs::rename(&tmp, path).map_err(msg),
        Ok(Err(m)) => Err(m),
        Err(p) => Err(panic_text(p)),
    };
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

// ---------------------------------------------------------------------------------------
// Shared drawing helpers
// ---------------------------------------------------------------------------------------

/// Text style in the embedded font.
fn text(size: f64) -> TextStyle<'static> {
    TextStyle::from((FONT, size)).color(&TEXT_COLOR)
}

/// Bold text style in the embedded font.
fn bold(size: f64) -> TextStyle<'static> {
    TextStyle::from((FONT, size, FontStyle::Bold)).color(&TEXT_COLOR)
}

/// Width of `s` in pixels at `size`, measured with the embedded font (estimated from the
/// character count if measuring fails).
fn text_width(s: &str, size: f64) -> i32 {
    FontDesc::from((FONT, size))
        .box_size(s)
        .map(|(w, _)| w as i32)
        .unwrap_or((s.chars().count() as f64 * size * 0.6) as i32)
}

/// Palette colour `i`, cycling.
fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// Finite min and max of `values`, or `None` if none is finite.
fn finite_range(values: impl IntoIterator<Item = f64>) -> Option<(f64, f64)> {
    values
        .into_iter()
        .filter(|x| x.is_finite())
        .fold(None, |acc, x| match acc {
            None => Some((x, x)),
            Some((lo, hi)) => Some((lo.min(x), hi.max(x))),
        })
}

/// An axis range around `[lo, hi]` with `frac` padding on each side that plotters can
/// always draw: `lo < hi`, both finite, and wide enough that tick values are distinct.
fn padded(range: Option<(f64, f64)>, frac: f64) -> Range<f64> {
    let Some((lo, hi)) = range else {
        return 0.0..1.0;
    };
    let magnitude = lo.abs().max(hi.abs());
    let span = hi - lo;
    // lo <= hi are finite, so `span` is >= 0 or +inf, never NaN: `<=` is the full test.
    let (lo, hi) = if span <= magnitude * 1e-9 {
        // Constant (or float-identical) values: centre them in a small window.
        let half = if magnitude > 0.0 {
            magnitude * 0.05
        } else {
            1.0
        };
        (lo - half, hi + half)
    } else {
        (lo - span * frac, hi + span * frac)
    };
    if lo.is_finite() && hi.is_finite() && lo < hi {
        lo..hi
    } else {
        // Only reachable with values near ±f64::MAX; a flat, wrong-scaled panel beats a panic.
        -1.0..1.0
    }
}

/// Decimals (or scientific notation) for tick labels of an axis spanning `range` with about
/// `ticks` ticks, so labels are short and distinct.
fn tick_format(range: &Range<f64>, ticks: usize) -> impl Fn(&f64) -> String {
    let step = (range.end - range.start) / ticks.max(1) as f64;
    let magnitude = range.start.abs().max(range.end.abs());
    let decimals = (-step.log10().floor()).max(0.0);
    let scientific = magnitude >= 1e6 || decimals > 6.0;
    let decimals = decimals as usize;
    move |v: &f64| {
        if scientific {
            format!("{v:.2e}")
        } else {
            // Avoid "-0.0".
            let s = format!("{v:.decimals$}");
            if s.starts_with('-') && s[1..].chars().all(|c| c == '0' || c == '.') {
                s[1..].to_string()
            } else {
                s
            }
        }
    }
}

/// `v` with enough decimals to resolve differences of size `scale` (about two significant
/// digits of `scale`), in scientific notation when that would be unwieldy.
fn fmt_num(v: f64, scale: f64) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    let s = if scale.is_finite() && scale > 0.0 {
        scale
    } else if v != 0.0 {
        v.abs()
    } else {
        1.0
    };
    let decimals = 1.0 - s.log10().floor();
    if v.abs() >= 1e6 || decimals > 6.0 {
        format!("{v:.3e}")
    } else {
        format!("{v:.*}", decimals.max(0.0) as usize)
    }
}

/// Draws a centred legend strip of coloured swatches and labels, wrapping into lines.
/// Clears a figure, draws its centred title and legend strip in the top `header_height`
/// pixels, and returns the area below them for the panels.
fn draw_header<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    header_height: u32,
    title: &str,
    legend: &[(String, RGBAColor)],
) -> Result<DrawingArea<DB, Shift>, String> {
    root.fill(&WHITE).map_err(msg)?;
    let (header, body) = root.split_vertically(header_height);
    let (title_area, legend_area) = header.split_vertically(TITLE_HEIGHT);
    title_area
        .draw(&Text::new(
            title.to_string(),
            (FIG_WIDTH as i32 / 2, 10),
            bold(21.0).pos(Pos::new(HPos::Center, VPos::Top)),
        ))
        .map_err(msg)?;
    draw_legend(&legend_area, legend)?;
    Ok(body)
}

fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    items: &[(String, RGBAColor)],
) -> DrawResult {
    let width = area.dim_in_pixel().0 as i32;
    for (line_no, line) in legend_lines(items, width).into_iter().enumerate() {
        let line_width: i32 = line.iter().map(|&i| legend_item_width(&items[i].0)).sum();
        let mut x = ((width - line_width) / 2).max(0);
        let y = LEGEND_LINE_HEIGHT * line_no as i32 + LEGEND_LINE_HEIGHT / 2;
        for &i in &line {
            let (label, fill) = &items[i];
            // A fully transparent entry is plain text (e.g. "… 40 states in all").
            if fill.3 > 0.0 {
                area.draw(&Rectangle::new(
                    [(x, y - 8), (x + 18, y + 8)],
                    fill.filled(),
                ))
                .map_err(msg)?;
                area.draw(&Rectangle::new(
                    [(x, y - 8), (x + 18, y + 8)],
                    BLACK.mix(0.5).stroke_width(1),
                ))
                .map_err(msg)?;
            }
            area.draw(&Text::new(
                label.clone(),
                (x + 24, y),
                text(LEGEND_FONT).pos(Pos::new(HPos::Left, VPos::Center)),
            ))
            .map_err(msg)?;
            x += legend_item_width(label);
        }
    }
    Ok(())
}

/// Legend text size.
const LEGEND_FONT: f64 = 16.0;
/// Height of one legend line.
const LEGEND_LINE_HEIGHT: i32 = 28;

/// Horizontal space of one legend item: swatch, gap, label, gap to the next item.
fn legend_item_width(label: &str) -> i32 {
    24 + text_width(label, LEGEND_FONT) + 28
}

/// Packs legend items into lines no wider than `width`.
fn legend_lines(items: &[(String, RGBAColor)], width: i32) -> Vec<Vec<usize>> {
    let mut lines: Vec<Vec<usize>> = vec![Vec::new()];
    let mut used = 0;
    for (i, (label, _)) in items.iter().enumerate() {
        let w = legend_item_width(label);
        let current = lines.last_mut().expect("lines is never empty");
        if !current.is_empty() && used + w > width - 40 {
            lines.push(vec![i]);
            used = w;
        } else {
            current.push(i);
            used += w;
        }
    }
    lines
}

/// Legend entries shown at most; the palette repeats after ten colours anyway, and an
/// absurd count (say `usize::MAX` states) must not allocate a legend without end.
const MAX_LEGEND_ITEMS: usize = 20;

/// Legend entries `"{what} 0"`, `"{what} 1"`, … in palette colours at opacity `alpha`, with
/// a final `"… n in all"` entry when there are more than [`MAX_LEGEND_ITEMS`].
fn capped_legend(n: usize, what: &str, alpha: f64) -> Vec<(String, RGBAColor)> {
    let mut items: Vec<(String, RGBAColor)> = (0..n.min(MAX_LEGEND_ITEMS))
        .map(|i| (format!("{what} {i}"), color(i).mix(alpha)))
        .collect();
    if n > MAX_LEGEND_ITEMS {
        items.push((format!("… {n} {what}s in all"), WHITE.mix(0.0)));
    }
    items
}

/// Height of a legend strip for `items` at figure width.
fn legend_height(items: &[(String, RGBAColor)]) -> u32 {
    (legend_lines(items, FIG_WIDTH as i32).len() as i32 * LEGEND_LINE_HEIGHT) as u32 + 6
}

/// Writes a centred message into an otherwise empty panel (degenerate input).
fn draw_empty_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    caption: &str,
    message: &str,
) -> DrawResult {
    let (w, h) = area.dim_in_pixel();
    area.draw(&Text::new(
        caption.to_string(),
        (w as i32 / 2, 12),
        bold(CAPTION_FONT).pos(Pos::new(HPos::Center, VPos::Top)),
    ))
    .map_err(msg)?;
    area.draw(&Rectangle::new(
        [(60, 44), (w as i32 - 20, h as i32 - 40)],
        BLACK.mix(0.3).stroke_width(1),
    ))
    .map_err(msg)?;
    area.draw(&Text::new(
        message.to_string(),
        (w as i32 / 2, h as i32 / 2),
        text(15.0).pos(Pos::new(HPos::Center, VPos::Center)),
    ))
    .map_err(msg)
}

/// Panel caption size (parameter names).
const CAPTION_FONT: f64 = 19.0;
/// Tick label size.
const TICK_FONT: f64 = 14.0;
/// Axis description size.
const AXIS_FONT: f64 = 15.0;

/// Splits `values` into runs of finite points `(x(i), values[i])` so that NaN and ±inf
/// leave gaps instead of reaching plotters as garbage coordinates; long series are reduced
/// to the min and max of each bucket (see [`MAX_TRACE_POINTS`]).
fn finite_segments(values: &[f64], max_points: usize) -> Vec<Vec<(f64, f64)>> {
    let bucket = values.len().div_ceil(max_points.max(2) / 2).max(1);
    let mut segments = Vec::new();
    let mut current: Vec<(f64, f64)> = Vec::new();
    let mut flush = |current: &mut Vec<(f64, f64)>| {
        if !current.is_empty() {
            segments.push(std::mem::take(current));
        }
    };
    if bucket == 1 {
        for (i, &v) in values.iter().enumerate() {
            if v.is_finite() {
                current.push((i as f64, v));
            } else {
                flush(&mut current);
            }
        }
    } else {
        for (b, chunk) in values.chunks(bucket).enumerate() {
            if chunk.iter().any(|v| !v.is_finite()) {
                flush(&mut current);
                continue;
            }
            let base = b * bucket;
            let (mut imin, mut imax) = (0, 0);
            for (i, &v) in chunk.iter().enumerate() {
                if v < chunk[imin] {
                    imin = i;
                }
                if v > chunk[imax] {
                    imax = i;
                }
            }
            // Keep time order so the envelope is drawn as the zig-zag the chain made.
            let (a, c) = if imin <= imax {
                (imin, imax)
            } else {
                (imax, imin)
            };
            current.push(((base + a) as f64, chunk[a]));
            if c != a {
                current.push(((base + c) as f64, chunk[c]));
            }
        }
    }
    flush(&mut current);
    segments
}

// ---------------------------------------------------------------------------------------
// Trace plot
// ---------------------------------------------------------------------------------------

/// One parameter's precomputed trace-plot data (computed once, drawn twice: SVG and PNG).
struct TraceRow {
    name: String,
    /// Per-chain KDE (`None` for a chain without finite draws).
    kdes: Vec<Option<Kde>>,
    /// Per-chain runs of finite draws for the right panel.
    lines: Vec<Vec<Vec<(f64, f64)>>>,
    /// Value axis shared by both panels.
    values: Range<f64>,
    /// Top of the density axis.
    density_top: f64,
    /// Iterations per chain.
    n_draws: usize,
    /// Whether any draw is finite.
    any_finite: bool,
}

impl TraceRow {
    fn new(name: &str, draws: &ArrayView2<'_, f64>, notices: &mut Vec<String>) -> TraceRow {
        let n_bad = draws.iter().filter(|x| !x.is_finite()).count();
        if n_bad > 0 {
            notices.push(format!(
                "trace plot: {name}: {n_bad} of {} draws are not finite and are not drawn",
                draws.len()
            ));
        }
        let mut kdes = Vec::with_capacity(draws.nrows());
        let mut lines = Vec::with_capacity(draws.nrows());
        for chain in draws.rows() {
            let chain: Vec<f64> = chain.iter().copied().collect();
            kdes.push(gaussian_kde(&chain, KDE_GRID_POINTS));
            lines.push(finite_segments(&chain, MAX_TRACE_POINTS));
        }
        let value_range = finite_range(draws.iter().copied());
        // Include the KDE grids: a constant chain's spike is wider than the data range.
        let kde_range = finite_range(kdes.iter().flatten().flat_map(|k| {
            [
                k.x.first().copied().unwrap_or(f64::NAN),
                k.x.last().copied().unwrap_or(f64::NAN),
            ]
        }));
        let values = padded(
            match (value_range, kde_range) {
                (Some(a), Some(b)) => Some((a.0.min(b.0), a.1.max(b.1))),
                (a, b) => a.or(b),
            },
            0.04,
        );
        let dens_max = finite_range(kdes.iter().flatten().flat_map(|k| k.density.clone()))
            .map_or(1.0, |(_, hi)| hi);
        let density_top = if dens_max > 0.0 && dens_max.is_finite() {
            dens_max * 1.1
        } else {
            1.0
        };
        TraceRow {
            name: name.to_string(),
            kdes,
            lines,
            values,
            density_top,
            n_draws: draws.ncols(),
            any_finite: value_range.is_some(),
        }
    }
}

/// The trace figure (one file's worth of rows).
struct TraceFigure<'a> {
    rows: &'a [TraceRow],
    n_chains: usize,
    /// "part k of n" when the parameters are split over several files.
    part: Option<String>,
}

impl TraceFigure<'_> {
    fn legend_items(&self) -> Vec<(String, RGBAColor)> {
        capped_legend(self.n_chains.max(1), "chain", 1.0)
    }

    fn header_height(&self) -> u32 {
        TITLE_HEIGHT + legend_height(&self.legend_items())
    }
}

/// Height of the figure title line.
const TITLE_HEIGHT: u32 = 40;

impl Figure for TraceFigure<'_> {
    fn size(&self) -> (u32, u32) {
        (
            FIG_WIDTH,
            self.header_height() + TRACE_ROW_HEIGHT * self.rows.len() as u32,
        )
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let title = match &self.part {
            Some(p) => {
                format!("Trace plot ({p}): density per chain (left), draws per chain (right)")
            }
            None => "Trace plot: density per chain (left), draws per chain (right)".to_string(),
        };
        let body = draw_header(root, self.header_height(), &title, &self.legend_items())?;
        let areas = body.split_evenly((self.rows.len(), 1));
        for (row, area) in self.rows.iter().zip(areas.iter()) {
            draw_trace_row(area, row)?;
        }
        Ok(())
    }
}

/// Draws one parameter: KDE per chain on the left, draws against iteration on the right.
fn draw_trace_row<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, row: &TraceRow) -> DrawResult {
    let (left, right) = area.split_horizontally(FIG_WIDTH * 2 / 5);
    if !row.any_finite {
        let why = if row.n_draws == 0 {
            "no draws"
        } else {
            "no finite draws"
        };
        draw_empty_panel(&left, &row.name, why)?;
        return draw_empty_panel(&right, &row.name, why);
    }

    // Left: density of each chain.
    let dens = 0.0..row.density_top;
    let fx = tick_format(&row.values, 5);
    let fy = tick_format(&dens, 4);
    let mut chart = ChartBuilder::on(&left)
        .caption(&row.name, bold(CAPTION_FONT))
        .margin_top(4)
        .margin_left(8)
        .margin_right(24)
        .margin_bottom(4)
        .x_label_area_size(46)
        .y_label_area_size(70)
        .build_cartesian_2d(row.values.clone(), dens)
        .map_err(msg)?;
    chart
        .configure_mesh()
        .x_labels(5)
        .y_labels(4)
        .x_label_formatter(&fx)
        .y_label_formatter(&fy)
        .x_desc("value")
        .y_desc("density")
        .label_style(text(TICK_FONT))
        .axis_desc_style(text(AXIS_FONT))
        .bold_line_style(BLACK.mix(0.08))
        .light_line_style(TRANSPARENT)
        .draw()
        .map_err(msg)?;
    for (c, kde) in row.kdes.iter().enumerate() {
        if let Some(kde) = kde {
            chart
                .draw_series(LineSeries::new(
                    kde.x.iter().copied().zip(kde.density.iter().copied()),
                    color(c).stroke_width(2),
                ))
                .map_err(msg)?;
        }
    }

    // Right: the chains' draws.
    let iters = padded(Some((0.0, row.n_draws.saturating_sub(1) as f64)), 0.0);
    let fi = tick_format(&iters, 8);
    let fv = tick_format(&row.values, 4);
    let mut chart = ChartBuilder::on(&right)
        .caption(&row.name, bold(CAPTION_FONT))
        .margin_top(4)
        .margin_left(8)
        .margin_right(24)
        .margin_bottom(4)
        .x_label_area_size(46)
        .y_label_area_size(70)
        .build_cartesian_2d(iters, row.values.clone())
        .map_err(msg)?;
    chart
        .configure_mesh()
        .x_labels(8)
        .y_labels(5)
        .x_label_formatter(&fi)
        .y_label_formatter(&fv)
        .x_desc("iteration")
        .y_desc("value")
        .label_style(text(TICK_FONT))
        .axis_desc_style(text(AXIS_FONT))
        .bold_line_style(BLACK.mix(0.08))
        .light_line_style(TRANSPARENT)
        .draw()
        .map_err(msg)?;
    // Translucent lines so that overlapping chains all stay visible.
    for (c, segments) in row.lines.iter().enumerate() {
        for seg in segments {
            if seg.len() == 1 {
                chart
                    .draw_series(std::iter::once(Circle::new(
                        seg[0],
                        2,
                        color(c).mix(0.8).filled(),
                    )))
                    .map_err(msg)?;
            } else {
                chart
                    .draw_series(LineSeries::new(
                        seg.iter().copied(),
                        color(c).mix(0.6).stroke_width(1),
                    ))
                    .map_err(msg)?;
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Posterior plot
// ---------------------------------------------------------------------------------------

/// One parameter's precomputed posterior-plot data.
struct PosteriorPanel {
    name: String,
    kde: Option<Kde>,
    hdi: Option<(f64, f64)>,
    mean: Option<f64>,
    truth: Option<f64>,
    /// Resolution for printed numbers (standard deviation of the draws).
    scale: f64,
    x: Range<f64>,
    y_top: f64,
    n_draws: usize,
}

/// Fraction of the panel height above the density peak kept free for the printed mean and
/// "true = …" label, so that text never lies on the curve.
const POSTERIOR_HEADROOM: f64 = 1.5;

/// Part of the density range kept below zero (relative to the top) for the HDI bar and its
/// labels: about 36 px of a 320 px panel.
const POSTERIOR_FOOTROOM: f64 = 0.17;

impl PosteriorPanel {
    fn new(
        name: &str,
        draws: &ArrayView2<'_, f64>,
        truth: Option<f64>,
        hdi_prob: Option<f64>,
        notices: &mut Vec<String>,
    ) -> PosteriorPanel {
        let finite: Vec<f64> = draws.iter().copied().filter(|x| x.is_finite()).collect();
        let n_bad = draws.len() - finite.len();
        if n_bad > 0 {
            notices.push(format!(
                "posterior plot: {name}: {n_bad} of {} draws are not finite and are left out",
                draws.len()
            ));
        }
        let truth = truth.filter(|t| {
            let ok = t.is_finite();
            if !ok {
                notices.push(format!(
                    "posterior plot: {name}: reference value {t} is not finite; not drawn"
                ));
            }
            ok
        });
        let kde = gaussian_kde(&finite, KDE_GRID_POINTS);
        let n = finite.len() as f64;
        let mean = (!finite.is_empty()).then(|| finite.iter().sum::<f64>() / n);
        let sd = mean.map_or(f64::NAN, |m| {
            (finite.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n).sqrt()
        });
        let hdi = hdi_prob.and_then(|p| {
            let view = ArrayView2::from_shape((1, finite.len()), &finite).ok()?;
            let (lo, hi) = hdi(view, p);
            (lo.is_finite() && hi.is_finite()).then_some((lo, hi))
        });
        let x_range = finite_range(
            kde.iter()
                .flat_map(|k| [k.x[0], k.x[k.x.len() - 1]])
                .chain(truth)
                .chain(hdi.iter().flat_map(|&(a, b)| [a, b])),
        );
        let x = padded(x_range, 0.05);
        let peak = kde
            .as_ref()
            .and_then(|k| finite_range(k.density.iter().copied()))
            .map_or(0.0, |(_, hi)| hi);
        let y_top = if peak > 0.0 && peak.is_finite() {
            peak * POSTERIOR_HEADROOM
        } else {
            1.0
        };
        // Resolution of printed numbers: the spread of the draws, or for constant draws a
        // fraction of their magnitude.
        let spread = finite_range(finite.iter().copied()).map_or(0.0, |(lo, hi)| (hi - lo) / 4.0);
        let scale = if sd > 0.0 && sd.is_finite() {
            sd
        } else if spread > 0.0 && spread.is_finite() {
            spread
        } else {
            match mean {
                Some(m) if m != 0.0 => m.abs() * 0.01,
                _ => 1.0,
            }
        };
        PosteriorPanel {
            name: name.to_string(),
            kde,
            hdi,
            mean,
            truth,
            scale,
            x,
            y_top,
            n_draws: draws.len(),
        }
    }
}

/// The posterior figure.
struct PosteriorFigure<'a> {
    panels: &'a [PosteriorPanel],
    hdi_prob: f64,
    n_chains: usize,
}

impl PosteriorFigure<'_> {
    fn grid(&self) -> (usize, usize) {
        let cols = self.panels.len().clamp(1, POSTERIOR_COLUMNS);
        (self.panels.len().div_ceil(cols), cols)
    }

    fn legend_items(&self) -> Vec<(String, RGBAColor)> {
        let mut items = vec![(
            format!(
                "posterior density (pooled draws of {} chains)",
                self.n_chains
            ),
            color(0).mix(0.35),
        )];
        if self.hdi_prob > 0.0 && self.hdi_prob < 1.0 {
            items.push((format!("{} HDI", percent(self.hdi_prob)), BLACK.to_rgba()));
        }
        if self.panels.iter().any(|p| p.truth.is_some()) {
            items.push(("true value".to_string(), TRUE_COLOR.to_rgba()));
        }
        items
    }

    fn header_height(&self) -> u32 {
        TITLE_HEIGHT + legend_height(&self.legend_items())
    }
}

/// `0.94` → `"94%"`, `0.895` → `"89.5%"`.
fn percent(p: f64) -> String {
    let s = format!("{:.1}", p * 100.0);
    format!("{}%", s.trim_end_matches(".0"))
}

impl Figure for PosteriorFigure<'_> {
    fn size(&self) -> (u32, u32) {
        let (rows, _) = self.grid();
        (
            FIG_WIDTH,
            self.header_height() + POSTERIOR_PANEL_HEIGHT * rows as u32,
        )
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let body = draw_header(
            root,
            self.header_height(),
            "Posterior distributions",
            &self.legend_items(),
        )?;
        let (rows, cols) = self.grid();
        let areas = body.split_evenly((rows, cols));
        for (panel, area) in self.panels.iter().zip(areas.iter()) {
            draw_posterior_panel(area, panel, self.hdi_prob)?;
        }
        Ok(())
    }
}

/// Draws one posterior panel.
fn draw_posterior_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    p: &PosteriorPanel,
    hdi_prob: f64,
) -> DrawResult {
    let Some(kde) = &p.kde else {
        let why = if p.n_draws == 0 {
            "no draws"
        } else {
            "no finite draws"
        };
        return draw_empty_panel(area, &p.name, why);
    };
    let fx = tick_format(&p.x, 5);
    let mut chart = ChartBuilder::on(area)
        .caption(&p.name, bold(CAPTION_FONT))
        .margin_top(4)
        .margin_left(14)
        .margin_right(22)
        .margin_bottom(6)
        .x_label_area_size(46)
        .y_label_area_size(0)
        .build_cartesian_2d(p.x.clone(), -p.y_top * POSTERIOR_FOOTROOM..p.y_top)
        .map_err(msg)?;
    // Like ArviZ, no density axis: only the shape matters, and the freed width goes to the
    // curve. The x axis is the parameter's value.
    chart
        .configure_mesh()
        .x_labels(5)
        .x_label_formatter(&fx)
        .x_desc("value")
        .disable_y_axis()
        .disable_y_mesh()
        .label_style(text(TICK_FONT))
        .axis_desc_style(text(AXIS_FONT))
        .bold_line_style(BLACK.mix(0.08))
        .light_line_style(TRANSPARENT)
        .draw()
        .map_err(msg)?;
    let curve: Vec<(f64, f64)> = kde
        .x
        .iter()
        .copied()
        .zip(kde.density.iter().copied())
        .collect();
    chart
        .draw_series(AreaSeries::new(
            curve.iter().copied(),
            0.0,
            color(0).mix(0.25),
        ))
        .map_err(msg)?;
    chart
        .draw_series(LineSeries::new(
            curve.iter().copied(),
            color(0).stroke_width(2),
        ))
        .map_err(msg)?;

    // Everything below is placed in pixels so that labels can be kept apart and inside.
    let plot = chart.plotting_area().strip_coord_spec();
    let pw = plot.dim_in_pixel().0 as i32;
    let base = chart.plotting_area().get_base_pixel();
    let to_px = |x: f64, y: f64| {
        let (px, py) = chart.backend_coord(&(x, y));
        (px - base.0, py - base.1)
    };
    let label_size = 15.0;
    // Keep a label of width `w` centred at `cx` fully inside the panel.
    let clamp_center = |cx: i32, w: i32| cx.clamp(w / 2 + 3, (pw - w / 2 - 3).max(w / 2 + 3));

    // Mean: top line, centred.
    if let Some(mean) = p.mean {
        plot.draw(&Text::new(
            format!("mean = {}", fmt_num(mean, p.scale)),
            (pw / 2, 6),
            text(17.0).pos(Pos::new(HPos::Center, VPos::Top)),
        ))
        .map_err(msg)?;
    }

    // HDI: a thick bar in the strip kept free below the curve's baseline, bounds printed
    // under its ends, so that no label lies on the curve.
    if let Some((lo, hi)) = p.hdi {
        let (x0, zero_y) = to_px(lo, 0.0);
        let (x1, _) = to_px(hi, 0.0);
        let bar_y = zero_y + 7;
        plot.draw(&Rectangle::new(
            [(x0, bar_y - 3), (x1.max(x0 + 1), bar_y + 3)],
            BLACK.filled(),
        ))
        .map_err(msg)?;
        let lo_s = fmt_num(lo, p.scale);
        let hi_s = fmt_num(hi, p.scale);
        let hdi_s = format!("{} HDI", percent(hdi_prob));
        let (wl, wh, wm) = (
            text_width(&lo_s, label_size),
            text_width(&hi_s, label_size),
            text_width(&hdi_s, label_size),
        );
        let label_y = bar_y + 6;
        let style = text(label_size).pos(Pos::new(HPos::Center, VPos::Top));
        let cl = clamp_center(x0, wl);
        let ch = clamp_center(x1, wh);
        // Room between the two bound labels for the "94% HDI" caption?
        if ch - cl - (wl + wh) / 2 >= wm + 16 {
            plot.draw(&Text::new(lo_s, (cl, label_y), style.clone()))
                .map_err(msg)?;
            plot.draw(&Text::new(hi_s, (ch, label_y), style.clone()))
                .map_err(msg)?;
            plot.draw(&Text::new(hdi_s, ((cl + ch) / 2, label_y), style))
                .map_err(msg)?;
        } else {
            // Too narrow: one combined label, centred under the bar.
            let s = format!("{hdi_s} [{lo_s}, {hi_s}]");
            let w = text_width(&s, label_size);
            plot.draw(&Text::new(
                s,
                (clamp_center((x0 + x1) / 2, w), label_y),
                style,
            ))
            .map_err(msg)?;
        }
    }

    // Reference value: vertical line up to the second text line, labelled at its top.
    if let Some(t) = p.truth {
        let (tx, _) = to_px(t, 0.0);
        let label_y = 30;
        chart
            .draw_series(DashedLineSeries::new(
                [(t, 0.0), (t, p.y_top * 0.80)],
                8,
                5,
                TRUE_COLOR.stroke_width(2),
            ))
            .map_err(msg)?;
        let s = format!("true = {}", fmt_num(t, p.scale));
        let w = text_width(&s, 16.0);
        plot.draw(&Text::new(
            s,
            (clamp_center(tx, w), label_y),
            text(16.0)
                .color(&TRUE_COLOR)
                .pos(Pos::new(HPos::Center, VPos::Top)),
        ))
        .map_err(msg)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// State-band plot
// ---------------------------------------------------------------------------------------

/// One sequence's precomputed data.
struct BandPanel {
    index: usize,
    /// Runs of equal states as `(first t, last t, state)`; one rectangle per run keeps the
    /// SVG small and avoids hairline seams between equal neighbours.
    runs: Vec<(usize, usize, usize)>,
    /// Runs of finite observations.
    segments: Vec<Vec<(f64, f64)>>,
    len: usize,
    y: Range<f64>,
}

impl BandPanel {
    fn new(index: usize, obs: &[f64], states: &[usize]) -> BandPanel {
        let len = obs.len().min(states.len());
        let (obs, states) = (&obs[..len], &states[..len]);
        let mut runs: Vec<(usize, usize, usize)> = Vec::new();
        for (t, &s) in states.iter().enumerate() {
            match runs.last_mut() {
                Some(run) if run.2 == s => run.1 = t,
                _ => runs.push((t, t, s)),
            }
        }
        BandPanel {
            index,
            runs,
            segments: finite_segments(obs, usize::MAX),
            len,
            y: padded(finite_range(obs.iter().copied()), 0.08),
        }
    }
}

/// The state-band figure.
struct BandFigure<'a> {
    panels: &'a [BandPanel],
    n_states: usize,
    title: &'a str,
}

impl BandFigure<'_> {
    fn legend_items(&self) -> Vec<(String, RGBAColor)> {
        capped_legend(self.n_states, "state", BAND_ALPHA)
    }

    fn header_height(&self) -> u32 {
        TITLE_HEIGHT + legend_height(&self.legend_items())
    }
}

impl Figure for BandFigure<'_> {
    fn size(&self) -> (u32, u32) {
        (
            FIG_WIDTH,
            self.header_height() + BAND_PANEL_HEIGHT * self.panels.len() as u32,
        )
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let body = draw_header(root, self.header_height(), self.title, &self.legend_items())?;
        let areas = body.split_evenly((self.panels.len(), 1));
        for (panel, area) in self.panels.iter().zip(areas.iter()) {
            draw_band_panel(area, panel)?;
        }
        Ok(())
    }
}

/// Draws one sequence: state bands behind the observation line.
fn draw_band_panel<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, p: &BandPanel) -> DrawResult {
    let caption = format!(
        "sequence {} ({} time step{})",
        p.index,
        p.len,
        if p.len == 1 { "" } else { "s" }
    );
    if p.len == 0 {
        return draw_empty_panel(area, &caption, "empty sequence");
    }
    let t = -0.5..(p.len as f64 - 0.5);
    // Time steps are integers: label only the integer ticks plotters picks (a short
    // sequence would otherwise get "0.5", "1.5", …).
    let ft = |v: &f64| {
        if (v - v.round()).abs() < 1e-9 {
            format!("{}", v.round() as i64)
        } else {
            String::new()
        }
    };
    let fy = tick_format(&p.y, 4);
    let mut chart = ChartBuilder::on(area)
        .caption(&caption, bold(CAPTION_FONT))
        .margin_top(4)
        .margin_left(8)
        .margin_right(24)
        .margin_bottom(4)
        .x_label_area_size(46)
        .y_label_area_size(70)
        .build_cartesian_2d(t, p.y.clone())
        .map_err(msg)?;
    chart
        .configure_mesh()
        .x_labels(12)
        .y_labels(5)
        .x_label_formatter(&ft)
        .y_label_formatter(&fy)
        .x_desc("time")
        .y_desc("observation")
        .label_style(text(TICK_FONT))
        .axis_desc_style(text(AXIS_FONT))
        .disable_mesh()
        .draw()
        .map_err(msg)?;
    chart
        .draw_series(p.runs.iter().map(|&(a, b, s)| {
            Rectangle::new(
                [(a as f64 - 0.5, p.y.start), (b as f64 + 0.5, p.y.end)],
                color(s).mix(BAND_ALPHA).filled(),
            )
        }))
        .map_err(msg)?;
    for seg in &p.segments {
        chart
            .draw_series(LineSeries::new(seg.iter().copied(), BLACK.stroke_width(2)))
            .map_err(msg)?;
        chart
            .draw_series(seg.iter().map(|&pt| Circle::new(pt, 3, BLACK.filled())))
            .map_err(msg)?;
    }
    Ok(())
}
