//! The trace figure (`az.plot_trace`): per parameter, each chain's KDE and its draws.

use std::path::Path;

use ndarray::ArrayView2;
use std::ops::Range;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::RGBAColor;

use super::kde::{gaussian_kde, Kde, KDE_GRID_POINTS};
use super::toolkit::DrawResult;
use super::toolkit::*;
use super::{PlotError, PlotOutput};

/// Height of one trace-plot row: caption, panel and x-axis labels fit without overlap.
const TRACE_ROW_HEIGHT: u32 = 230;

/// Rows per trace-plot file; more parameters are split over several files so that a single
/// image stays a size an image viewer shows legibly.
pub const MAX_TRACE_ROWS: usize = 16;

/// Above this many draws per chain the trace lines are reduced to a min/max envelope per
/// bucket: the picture is identical at image resolution, the SVG stays small.
const MAX_TRACE_POINTS: usize = 2000;

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

impl StackedFigure for TraceFigure<'_> {
    type Panel = TraceRow;

    fn title(&self) -> String {
        match &self.part {
            Some(p) => {
                format!("Trace plot ({p}): density per chain (left), draws per chain (right)")
            }
            None => "Trace plot: density per chain (left), draws per chain (right)".to_string(),
        }
    }

    fn legend(&self) -> Vec<(String, RGBAColor)> {
        capped_legend(self.n_chains.max(1), "chain", 1.0)
    }

    fn panels(&self) -> &[TraceRow] {
        self.rows
    }

    fn panel_height(&self) -> u32 {
        TRACE_ROW_HEIGHT
    }

    fn draw_panel<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        row: &TraceRow,
    ) -> DrawResult {
        draw_trace_row(area, row)
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
