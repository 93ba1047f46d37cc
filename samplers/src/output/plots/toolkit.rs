//! The drawing toolkit every figure shares, public so that crates with figures of their own
//! (the CLI's state-band plot of decoded HMM paths) draw them the same way: the embedded
//! font and text styles, the palette, axis ranges and tick labels that plotters can always
//! draw, legends, gap-aware line segments, and [`write_figure`], which renders a [`Figure`]
//! to SVG (required) and PNG (best effort) atomically, never panicking.

use std::ffi::OsString;
use std::fs;
use std::ops::Range;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{register_font, FontDesc, FontStyle, RGBAColor};

use super::raster::{downsample_box, Supersampled, SUPERSAMPLE};
use super::{PlotError, PlotOutput};

/// Font family used for all plot text; registered from the embedded DejaVu Sans.
const FONT: &str = "sans-serif";

/// Width in pixels of every figure (SVG user units equal PNG pixels).
pub const FIG_WIDTH: u32 = 1200;

/// Height of the figure title line.
pub const TITLE_HEIGHT: u32 = 40;

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

/// Text colour slightly softer than pure black.
const TEXT_COLOR: RGBColor = RGBColor(30, 30, 30);

/// Result of drawing with plotters; the error is a message since only its text is reported.
pub type DrawResult = Result<(), String>;

/// Turns any plotters error into its message.
pub fn msg(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// A figure that can be drawn on any plotters backend (SVG and bitmap share the code).
pub trait Figure {
    /// Size in pixels.
    fn size(&self) -> (u32, u32);
    /// Draws the whole figure on `root`.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult;
}

/// A figure of equal-height panels stacked under a centred title and a legend strip; a type
/// that implements this is a [`Figure`] (size, header and panel layout come for free).
pub trait StackedFigure {
    /// One panel's precomputed data.
    type Panel;
    /// The title line.
    fn title(&self) -> String;
    /// The legend strip's entries.
    fn legend(&self) -> Vec<(String, RGBAColor)>;
    /// The panels, top to bottom.
    fn panels(&self) -> &[Self::Panel];
    /// Height of one panel in pixels.
    fn panel_height(&self) -> u32;
    /// Draws one panel into its area.
    fn draw_panel<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        panel: &Self::Panel,
    ) -> DrawResult;
}

impl<F: StackedFigure> Figure for F {
    fn size(&self) -> (u32, u32) {
        let panels = self.panels().len() as u32;
        (
            FIG_WIDTH,
            header_height(&self.legend()) + self.panel_height() * panels,
        )
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let legend = self.legend();
        let body = draw_header(root, header_height(&legend), &self.title(), &legend)?;
        let areas = body.split_evenly((self.panels().len(), 1));
        for (panel, area) in self.panels().iter().zip(areas.iter()) {
            self.draw_panel(area, panel)?;
        }
        Ok(())
    }
}

/// Height of a figure's title line plus its legend strip.
pub fn header_height(legend: &[(String, RGBAColor)]) -> u32 {
    if legend.is_empty() {
        TITLE_HEIGHT + 6
    } else {
        TITLE_HEIGHT + legend_height(legend)
    }
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
pub fn with_suffix(stem: &Path, suffix: &str) -> PathBuf {
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

/// Writes `bytes` to `path` atomically through [`crate::output::write_atomic`], which
/// removes its temporary file whatever step fails (a full disk used to leave a 0-byte
/// `.svg.tmp` behind), so `path` is either absent, the old file, or complete.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), PlotError> {
    crate::output::write_atomic(path, bytes).map_err(|e| match e {
        crate::OutputError::Io { path, source } => PlotError::Io { path, source },
        other => PlotError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::other(other.to_string()),
        },
    })
}

/// Renders `fig` to `<stem>.svg` (required) and `<stem>.png` (best effort), recording the
/// files and notices in `out`.
pub fn write_figure(fig: &impl Figure, stem: &Path, out: &mut PlotOutput) -> Result<(), PlotError> {
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

/// Renders `fig` as a PNG into a temporary sibling and renames it to `path`: drawn at
/// [`SUPERSAMPLE`] times the size and box-averaged down, so that lines and curves have
/// antialiased edges (see [`super::raster`]).
fn write_png(fig: &impl Figure, path: &Path) -> DrawResult {
    // The encoder picks the image format from the extension, so the temporary file must
    // end in `.png` too.
    let tmp = with_suffix(path, ".tmp.png");
    let rendered = catch_unwind(AssertUnwindSafe(|| {
        let small = render_rgb(fig)?;
        let mut png = BitMapBackend::new(&tmp, fig.size());
        png.blit_bitmap((0, 0), fig.size(), &small).map_err(msg)?;
        png.present().map_err(msg)
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

/// The pixels of `fig` as the PNG shows them (RGB, row-major, 3 bytes a pixel, at
/// [`Figure::size`]): drawn [`SUPERSAMPLE`] times larger, then box-averaged.
///
/// # Errors
/// plotters' message if drawing fails (a panic inside plotters is not caught here).
pub fn render_rgb(fig: &impl Figure) -> Result<Vec<u8>, String> {
    render_rgb_at(fig, SUPERSAMPLE)
}

/// [`render_rgb`] with `factor` times supersampling (1: plotters' own rasterisation, as PNGs
/// were drawn before), to compare edge quality in tests.
///
/// # Errors
/// As [`render_rgb`]; also if `factor` is 0 or the enlarged image would not fit in memory.
pub fn render_rgb_at(fig: &impl Figure, factor: u32) -> Result<Vec<u8>, String> {
    if !font_ready() {
        return Err("the embedded DejaVu Sans font could not be loaded".to_string());
    }
    let (w, h) = fig.size();
    let too_big = || format!("a {w} × {h} figure at {factor}× is too large to draw");
    let (bw, bh) = (
        w.checked_mul(factor)
            .filter(|&v| v > 0)
            .ok_or_else(too_big)?,
        h.checked_mul(factor)
            .filter(|&v| v > 0)
            .ok_or_else(too_big)?,
    );
    let bytes = (bw as usize)
        .checked_mul(bh as usize)
        .and_then(|n| n.checked_mul(3))
        .ok_or_else(too_big)?;
    let mut big = vec![0u8; bytes];
    {
        let inner = BitMapBackend::with_buffer(&mut big, (bw, bh));
        let root = Supersampled::new(inner, factor).into_drawing_area();
        fig.draw(&root)?;
        root.present().map_err(msg)?;
    }
    downsample_box(&big, w as usize, h as usize, factor as usize)
        .ok_or_else(|| "supersampled image has an unexpected size".to_string())
}

// ---------------------------------------------------------------------------------------
// Shared drawing helpers
// ---------------------------------------------------------------------------------------

/// Text style in the embedded font.
pub fn text(size: f64) -> TextStyle<'static> {
    TextStyle::from((FONT, size)).color(&TEXT_COLOR)
}

/// Bold text style in the embedded font.
pub fn bold(size: f64) -> TextStyle<'static> {
    TextStyle::from((FONT, size, FontStyle::Bold)).color(&TEXT_COLOR)
}

/// Width of `s` in pixels at `size`, measured with the embedded font (estimated from the
/// character count if measuring fails).
pub fn text_width(s: &str, size: f64) -> i32 {
    FontDesc::from((FONT, size))
        .box_size(s)
        .map(|(w, _)| w as i32)
        .unwrap_or((s.chars().count() as f64 * size * 0.6) as i32)
}

/// Palette colour `i`, cycling.
pub fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// Finite min and max of `values`, or `None` if none is finite.
pub fn finite_range(values: impl IntoIterator<Item = f64>) -> Option<(f64, f64)> {
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
pub fn padded(range: Option<(f64, f64)>, frac: f64) -> Range<f64> {
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

/// Most decimals a number is printed with before scientific notation takes over.
const MAX_DECIMALS: usize = 6;

/// Magnitude from which numbers are printed in scientific notation.
const SCIENTIFIC_FROM: f64 = 1e6;

/// How the numbers of one axis, or of one group of value labels, are printed: the same
/// number of decimals for all of them (optionally as a mantissa times a common power of ten),
/// so that "0.00, 0.25, 0.50" never becomes "0, 0.25, 0.5" and neighbouring labels line up.
///
/// The decimals come from the values themselves (for an axis: the ticks plotters draws, so
/// from the tick step), never from each label on its own.
///
/// # Example
/// ```
/// use trellis_samplers::plots::toolkit::NumberFormat;
///
/// let f = NumberFormat::for_values(&[0.0, 0.25, 0.5]);
/// assert_eq!(f.format(0.0), "0.00");
/// assert_eq!(f.format(0.5), "0.50");
/// assert_eq!(NumberFormat::for_values(&[1000.0, 1500.0]).format(1000.0), "1000");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NumberFormat {
    /// Digits after the decimal point (of the mantissa, in scientific notation).
    decimals: usize,
    /// The common power of ten of scientific notation; `None` for plain decimals.
    exponent: Option<i32>,
}

/// The fewest decimals (at most [`MAX_DECIMALS`]) that print every one of `values` exactly,
/// up to the float noise of tick arithmetic (`0.30000000000000004` has one decimal): an error
/// below 10⁻¹² of the largest magnitude.
fn fewest_decimals(values: &[f64]) -> Option<usize> {
    let tolerance = values.iter().fold(0.0f64, |m, v| m.max(v.abs())) * 1e-12;
    (0..=MAX_DECIMALS).find(|&d| {
        let scale = 10f64.powi(d as i32);
        values
            .iter()
            .all(|&v| (v - (v * scale).round() / scale).abs() <= tolerance)
    })
}

impl NumberFormat {
    /// The format with the fewest decimals that prints every finite value of `values`
    /// exactly; scientific notation with a common exponent for magnitudes from 10⁶ or when
    /// more than six decimals would be needed.
    pub fn for_values(values: &[f64]) -> NumberFormat {
        let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        let magnitude = finite.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        if magnitude < SCIENTIFIC_FROM {
            if let Some(decimals) = fewest_decimals(&finite) {
                return NumberFormat {
                    decimals,
                    exponent: None,
                };
            }
        }
        if magnitude == 0.0 {
            return NumberFormat {
                decimals: 0,
                exponent: None,
            };
        }
        let exponent = magnitude.log10().floor() as i32;
        let mantissas: Vec<f64> = finite.iter().map(|v| v / 10f64.powi(exponent)).collect();
        NumberFormat {
            // Values that need more than six digits of mantissa are shown to three.
            decimals: fewest_decimals(&mantissas).unwrap_or(3),
            exponent: Some(exponent),
        }
    }

    /// The format of the tick labels plotters draws on an axis over `range` configured with
    /// `ticks` labels (`x_labels(ticks)` / `y_labels(ticks)`): decided by the tick step.
    pub fn for_axis(range: &Range<f64>, ticks: usize) -> NumberFormat {
        let points = axis_ticks(range, ticks);
        if points.len() >= 2 {
            NumberFormat::for_values(&points)
        } else {
            // One tick or none: the step the axis would have had.
            NumberFormat::for_values(&[
                range.start,
                (range.end - range.start) / ticks.max(1) as f64,
            ])
        }
    }

    /// The format of values labelled on an axis over `range` with `ticks` tick labels (a
    /// mean, an interval's bounds): resolving a tenth of the tick step, so one decimal more
    /// than the ticks when the step is below 10 (ticks 0.2, 0.4 → "0.31"; ticks 1000, 1500 →
    /// "1234").
    pub fn for_labels(range: &Range<f64>, ticks: usize) -> NumberFormat {
        let mut points = axis_ticks(range, ticks);
        let step = match points.as_slice() {
            [a, b, ..] => b - a,
            _ => (range.end - range.start) / ticks.max(1) as f64,
        };
        let first = points.first().copied().unwrap_or(range.start);
        points.push(first + step / 10.0);
        NumberFormat::for_values(&points)
    }

    /// Of `self` and `other`, the one that resolves smaller differences: what panels showing
    /// the same quantity share so that their labels have the same decimals.
    pub fn finest(self, other: NumberFormat) -> NumberFormat {
        let resolution = |f: &NumberFormat| f.exponent.unwrap_or(0) - f.decimals as i32;
        if resolution(&other) < resolution(&self) {
            other
        } else {
            self
        }
    }

    /// `v` in this format ("-0.00" is printed "0.00").
    pub fn format(&self, v: f64) -> String {
        if !v.is_finite() {
            return format!("{v}");
        }
        let decimals = self.decimals;
        let s = match self.exponent {
            None => format!("{v:.decimals$}"),
            Some(e) => format!("{:.decimals$}e{e}", v / 10f64.powi(e)),
        };
        // A negative value that rounds to zero prints without its sign.
        let mantissa = s.split('e').next().unwrap_or(&s);
        let zero = mantissa.chars().all(|c| matches!(c, '-' | '0' | '.'));
        match s.strip_prefix('-') {
            Some(rest) if zero => rest.to_string(),
            _ => s,
        }
    }

    /// This format as a label formatter for plotters' `x_label_formatter` /
    /// `y_label_formatter`.
    pub fn formatter(self) -> impl Fn(&f64) -> String {
        move |v: &f64| self.format(*v)
    }
}

/// The tick values plotters draws on an axis over `range` with `ticks` labels: the same
/// computation as the mesh's (`key_points` of the range with at most `ticks` points).
pub fn axis_ticks(range: &Range<f64>, ticks: usize) -> Vec<f64> {
    RangedCoordf64::from(range.clone()).key_points(ticks)
}

/// Label formatter for an axis over `range` drawn with `ticks` tick labels: pass the same
/// `ticks` to `x_labels` / `y_labels`, so that the decimals fit the ticks actually drawn
/// ([`NumberFormat::for_axis`]).
pub fn tick_format(range: &Range<f64>, ticks: usize) -> impl Fn(&f64) -> String {
    NumberFormat::for_axis(range, ticks).formatter()
}

/// Makes the panels that show the same quantity (equal `keys`) share the finest of their
/// formats, so that a figure's labels of one quantity have the same decimals in every panel.
pub fn share_formats<K: PartialEq>(keys: &[K], formats: &mut [NumberFormat]) {
    let n = formats.len().min(keys.len());
    let shared: Vec<NumberFormat> = (0..n)
        .map(|i| {
            (0..n)
                .filter(|&j| keys[j] == keys[i])
                .fold(formats[i], |f, j| f.finest(formats[j]))
        })
        .collect();
    formats[..n].copy_from_slice(&shared);
}

/// The name of a parameter element up to its index (`p_transition[0,1]` → `p_transition`):
/// elements of one parameter are one quantity, sharing formats across panels.
pub fn parameter_base(name: &str) -> &str {
    name.split_once('[').map_or(name, |(base, _)| base)
}

/// Clears a figure, draws its centred title and legend strip in the top `header_height`
/// pixels, and returns the area below them for the panels.
pub fn draw_header<DB: DrawingBackend>(
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

/// Draws a centred strip of coloured swatches and labels into `area`, wrapping into lines
/// (a fully transparent entry is plain text).
pub fn draw_legend<DB: DrawingBackend>(
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
pub fn capped_legend(n: usize, what: &str, alpha: f64) -> Vec<(String, RGBAColor)> {
    let mut items: Vec<(String, RGBAColor)> = (0..n.min(MAX_LEGEND_ITEMS))
        .map(|i| (format!("{what} {i}"), color(i).mix(alpha)))
        .collect();
    if n > MAX_LEGEND_ITEMS {
        items.push((format!("… {n} {what}s in all"), WHITE.mix(0.0)));
    }
    items
}

/// Height of a legend strip for `items` at figure width.
pub fn legend_height(items: &[(String, RGBAColor)]) -> u32 {
    (legend_lines(items, FIG_WIDTH as i32).len() as i32 * LEGEND_LINE_HEIGHT) as u32 + 6
}

/// Writes a centred message into an otherwise empty panel (degenerate input).
pub fn draw_empty_panel<DB: DrawingBackend>(
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

/// Writes an axis description for the y axis of `chart` horizontally, just above the top of
/// its tick labels. plotters draws a rotated `y_desc` glyph by glyph, and in the PNG the
/// rounding of each glyph's position breaks a word apart ("ob ser vati on"); horizontal text
/// is laid out as one run and reads cleanly in both formats.
pub fn y_axis_label<DB: DrawingBackend, X: Ranged, Y: Ranged>(
    area: &DrawingArea<DB, Shift>,
    chart: &ChartContext<'_, DB, Cartesian2d<X, Y>>,
    label: &str,
) -> DrawResult {
    let (_, area_y) = area.get_base_pixel();
    let (_, plot_y) = chart.plotting_area().get_base_pixel();
    area.draw(&Text::new(
        label.to_string(),
        (6, plot_y - area_y - 9),
        text(AXIS_FONT - 1.0).pos(Pos::new(HPos::Left, VPos::Bottom)),
    ))
    .map_err(msg)
}

/// Panel caption size (parameter names).
pub const CAPTION_FONT: f64 = 19.0;
/// Tick label size.
pub const TICK_FONT: f64 = 14.0;
/// Axis description size.
pub const AXIS_FONT: f64 = 15.0;

/// Splits `values` into runs of finite points `(x(i), values[i])` so that NaN and ±inf
/// leave gaps instead of reaching plotters as garbage coordinates; long series are reduced
/// to the min and max of each bucket of `values.len() / (max_points / 2)` draws.
pub fn finite_segments(values: &[f64], max_points: usize) -> Vec<Vec<(f64, f64)>> {
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
