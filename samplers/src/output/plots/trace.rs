//! The trace figure (`az.plot_trace`): per parameter, each chain's KDE and its draws, either
//! one row per vector parameter with its elements overlaid (ArviZ's `compact=True`, the
//! default of `trellis fit`) or one row per scalar element.

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

/// How [`trace_plot_with`] arranges the parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TraceLayout {
    /// One row per vector parameter: the elements `name[…]` of a parameter share a row, one
    /// colour per element, every chain of an element drawn in its colour (ArviZ's
    /// `compact=True`). A K = 3 HMM's 14 scalars fit in 4 rows.
    #[default]
    Compact,
    /// One row per scalar element, one colour per chain (ArviZ's `compact=False`): what to
    /// look at when one element's chains disagree.
    PerElement,
}

/// Trace plot, like `az.plot_trace`: one row per parameter, the left panel the KDE of each
/// chain (one colour per chain), the right panel each chain's draws against iteration
/// ([`TraceLayout::PerElement`]; see [`trace_plot_with`] for the compact layout).
///
/// `params` holds `(name, draws)` with draws shaped `(chains, draws)`. A legend strip at the
/// top maps colours to `chain 1`, `chain 2`, … (numbered as the CSV files are), so that no
/// legend covers data. Writes `<out_stem>.svg` and `<out_stem>.png`; with more than
/// [`MAX_TRACE_ROWS`] rows they are split over `<out_stem>_part1.*`, `<out_stem>_part2.*`, …
/// so that every image stays legible. Figures are 1200 px wide and 230 px per row, plus a
/// title and legend.
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
/// assert!(svg.contains("sigma") && svg.contains("chain 2"));
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
    trace_plot_with(out_stem, params, TraceLayout::PerElement)
}

/// [`trace_plot`] with a choice of layout. In the [`TraceLayout::Compact`] layout the
/// consecutive elements of one parameter (`p[0]`, `p[1]`, … or `p[0,0]`, `p[0,1]`, …: the
/// name up to `[`) share a row; each row carries its own strip naming the elements' colours,
/// and the chains of an element are all drawn in its colour (compare chains in the
/// per-element layout, or by R-hat in the summary).
///
/// # Errors
/// As [`trace_plot`].
///
/// # Example
/// ```
/// use ndarray::Array2;
/// use trellis_samplers::plots::{trace_plot_with, TraceLayout};
///
/// let dir = std::env::temp_dir().join(format!("trellis-doc-compact-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let p0 = Array2::from_shape_fn((2, 100), |(c, i)| 0.3 + ((i + c) % 7) as f64 / 100.0);
/// let p1 = p0.mapv(|x| 1.0 - x);
/// let out = trace_plot_with(
///     &dir.join("trace"),
///     &[("p[0]", p0.view()), ("p[1]", p1.view())],
///     TraceLayout::Compact,
/// )?;
/// let svg = std::fs::read_to_string(&out.files[0])?;
/// // One row for `p`, its two elements named in the row's strip.
/// assert!(svg.contains(">\np\n<") && svg.contains("[1]"));
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn trace_plot_with(
    out_stem: &Path,
    params: &[(&str, ArrayView2<'_, f64>)],
    layout: TraceLayout,
) -> Result<PlotOutput, PlotError> {
    let mut out = PlotOutput::default();
    if params.is_empty() {
        out.notices
            .push("trace plot: no parameters given, nothing written".to_string());
        return Ok(out);
    }
    let n_chains = params.iter().map(|(_, d)| d.nrows()).max().unwrap_or(0);
    let rows: Vec<TracePanelRow> = match layout {
        TraceLayout::PerElement => params
            .iter()
            .map(|(name, draws)| {
                TracePanelRow::per_chain(TraceRow::new(name, draws, &mut out.notices))
            })
            .collect(),
        TraceLayout::Compact => group_by_parameter(params)
            .into_iter()
            .map(|(base, members)| {
                let elements = members
                    .iter()
                    .map(|&i| {
                        let (name, draws) = &params[i];
                        (
                            element_label(name, base),
                            TraceRow::new(name, draws, &mut out.notices),
                        )
                    })
                    .collect();
                TracePanelRow::compact(base, elements)
            })
            .collect(),
    };
    // Rows of the elements of one parameter (the per-element layout) print its values with
    // the same decimals.
    let keys: Vec<&str> = rows.iter().map(|r| parameter_base(&r.caption)).collect();
    let mut formats: Vec<NumberFormat> = rows.iter().map(|r| r.value_format).collect();
    share_formats(&keys, &mut formats);
    let rows: Vec<TracePanelRow> = rows
        .into_iter()
        .zip(formats)
        .map(|(row, value_format)| TracePanelRow {
            value_format,
            ..row
        })
        .collect();
    let legend = match layout {
        TraceLayout::PerElement => capped_legend_from(n_chains.max(1), "chain", 1),
        TraceLayout::Compact => Vec::new(),
    };
    let subtitle = match layout {
        TraceLayout::PerElement => "density per chain (left), draws per chain (right)",
        TraceLayout::Compact => {
            "density (left) and draws (right) of every chain, one colour per element"
        }
    };
    let parts: Vec<&[TracePanelRow]> = rows.chunks(MAX_TRACE_ROWS).collect();
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
            legend: legend.clone(),
            subtitle,
            part: header,
        };
        write_figure(&fig, &stem, &mut out)?;
    }
    Ok(out)
}

/// The element's index as shown in a compact row's strip (`[0,1]`; the whole name when it
/// has no index).
fn element_label(name: &str, base: &str) -> String {
    let rest = &name[base.len()..];
    if rest.is_empty() {
        name.to_string()
    } else {
        rest.to_string()
    }
}

/// Runs of consecutive parameters with the same base name, as `(base, indices)`.
fn group_by_parameter<'a>(params: &[(&'a str, ArrayView2<'_, f64>)]) -> Vec<(&'a str, Vec<usize>)> {
    let mut groups: Vec<(&str, Vec<usize>)> = Vec::new();
    for (i, (name, _)) in params.iter().enumerate() {
        let base = parameter_base(name);
        match groups.last_mut() {
            Some((b, members)) if *b == base => members.push(i),
            _ => groups.push((base, vec![i])),
        }
    }
    groups
}

/// Elements named in a compact row's strip at most; the palette repeats beyond ten anyway.
const MAX_ROW_LEGEND: usize = 12;

/// Height of a compact row's element strip.
const ROW_LEGEND_HEIGHT: u32 = 28;

/// One row of the figure: the series drawn in its two panels and the axes they share.
struct TracePanelRow {
    caption: String,
    /// `(colour index, element)` per series; a series is one element's chains.
    series: Vec<(Option<usize>, TraceRow)>,
    /// Element strip of a compact row (empty in the per-element layout).
    strip: Vec<(String, RGBAColor)>,
    values: Range<f64>,
    /// Labels of the value axis (x on the left, y on the right: one axis, one format).
    value_format: NumberFormat,
    density_top: f64,
    n_draws: usize,
    any_finite: bool,
}

/// Tick labels on the value axes.
const VALUE_TICKS: usize = 5;

impl TracePanelRow {
    /// A per-element row: one colour per chain.
    fn per_chain(row: TraceRow) -> Self {
        TracePanelRow {
            caption: row.name.clone(),
            value_format: NumberFormat::for_axis(&row.values, VALUE_TICKS),
            values: row.values.clone(),
            density_top: row.density_top,
            n_draws: row.n_draws,
            any_finite: row.any_finite,
            series: vec![(None, row)],
            strip: Vec::new(),
        }
    }

    /// A compact row: the elements of one parameter, one colour each.
    fn compact(base: &str, elements: Vec<(String, TraceRow)>) -> Self {
        let finite: Vec<&TraceRow> = elements
            .iter()
            .map(|(_, r)| r)
            .filter(|r| r.any_finite)
            .collect();
        let values = match (
            finite.iter().map(|r| r.values.start).reduce(f64::min),
            finite.iter().map(|r| r.values.end).reduce(f64::max),
        ) {
            (Some(lo), Some(hi)) => lo..hi,
            _ => padded(None, 0.0),
        };
        let density_top = finite.iter().map(|r| r.density_top).fold(1e-300, f64::max);
        let n_draws = elements.iter().map(|(_, r)| r.n_draws).max().unwrap_or(0);
        let mut strip: Vec<(String, RGBAColor)> = elements
            .iter()
            .take(MAX_ROW_LEGEND)
            .enumerate()
            .map(|(e, (label, _))| (label.clone(), color(e).mix(1.0)))
            .collect();
        if elements.len() > MAX_ROW_LEGEND {
            strip.push((
                format!("… {} elements in all", elements.len()),
                WHITE.mix(0.0),
            ));
        }
        // A scalar parameter's row needs no strip: its caption names it.
        if elements.len() == 1 && elements[0].0 == base {
            strip.clear();
        }
        TracePanelRow {
            caption: base.to_string(),
            value_format: NumberFormat::for_axis(&values, VALUE_TICKS),
            values,
            density_top: if finite.is_empty() { 1.0 } else { density_top },
            n_draws,
            any_finite: !finite.is_empty(),
            series: elements
                .into_iter()
                .enumerate()
                .map(|(e, (_, row))| (Some(e), row))
                .collect(),
            strip,
        }
    }
}

/// [`capped_legend`] numbering from `first` (chains are 1-based, as their files).
fn capped_legend_from(n: usize, what: &str, first: usize) -> Vec<(String, RGBAColor)> {
    let mut items = capped_legend(n, what, 1.0);
    for (i, item) in items.iter_mut().enumerate() {
        if item.1 .3 > 0.0 {
            item.0 = format!("{what} {}", i + first);
        }
    }
    items
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
    rows: &'a [TracePanelRow],
    /// Figure-wide legend (the chains' colours in the per-element layout).
    legend: Vec<(String, RGBAColor)>,
    subtitle: &'static str,
    /// "part k of n" when the parameters are split over several files.
    part: Option<String>,
}

impl TraceFigure<'_> {
    /// Whether rows carry an element strip (the compact layout).
    fn has_strips(&self) -> bool {
        self.rows.iter().any(|r| !r.strip.is_empty())
    }
}

impl StackedFigure for TraceFigure<'_> {
    type Panel = TracePanelRow;

    fn title(&self) -> String {
        match &self.part {
            Some(p) => format!("Trace plot ({p}): {}", self.subtitle),
            None => format!("Trace plot: {}", self.subtitle),
        }
    }

    fn legend(&self) -> Vec<(String, RGBAColor)> {
        self.legend.clone()
    }

    fn panels(&self) -> &[TracePanelRow] {
        self.rows
    }

    fn panel_height(&self) -> u32 {
        TRACE_ROW_HEIGHT
            + if self.has_strips() {
                ROW_LEGEND_HEIGHT
            } else {
                0
            }
    }

    fn draw_panel<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        row: &TracePanelRow,
    ) -> DrawResult {
        if self.has_strips() {
            let (strip, panels) = area.split_vertically(ROW_LEGEND_HEIGHT);
            draw_legend(&strip, &row.strip)?;
            draw_trace_row(&panels, row)
        } else {
            draw_trace_row(area, row)
        }
    }
}

/// Draws one row: the KDE of every series on the left, draws against iteration on the
/// right. A series without a colour index is coloured by chain, otherwise all its chains
/// take the series' colour.
fn draw_trace_row<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    row: &TracePanelRow,
) -> DrawResult {
    let (left, right) = area.split_horizontally(FIG_WIDTH * 2 / 5);
    if !row.any_finite {
        let why = if row.n_draws == 0 {
            "no draws"
        } else {
            "no finite draws"
        };
        draw_empty_panel(&left, &row.caption, why)?;
        return draw_empty_panel(&right, &row.caption, why);
    }
    let series_colour = |series: Option<usize>, chain: usize| color(series.unwrap_or(chain));
    // Both panels show the values on one axis: the same ticks with the same decimals.
    let value_format = row.value_format.formatter();

    // Left: density of each chain.
    let dens = 0.0..row.density_top;
    let fy = tick_format(&dens, 4);
    let mut chart = ChartBuilder::on(&left)
        .caption(&row.caption, bold(CAPTION_FONT))
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
        .x_labels(VALUE_TICKS)
        .y_labels(4)
        .x_label_formatter(&value_format)
        .y_label_formatter(&fy)
        .x_desc("value")
        .label_style(text(TICK_FONT))
        .axis_desc_style(text(AXIS_FONT))
        .bold_line_style(BLACK.mix(0.08))
        .light_line_style(TRANSPARENT)
        .draw()
        .map_err(msg)?;
    y_axis_label(&left, &chart, "density")?;
    for (series, element) in &row.series {
        for (c, kde) in element.kdes.iter().enumerate() {
            if let Some(kde) = kde {
                chart
                    .draw_series(LineSeries::new(
                        kde.x.iter().copied().zip(kde.density.iter().copied()),
                        series_colour(*series, c).stroke_width(2),
                    ))
                    .map_err(msg)?;
            }
        }
    }

    // Right: the chains' draws.
    let iters = padded(Some((0.0, row.n_draws.saturating_sub(1) as f64)), 0.0);
    let fi = tick_format(&iters, 8);
    let mut chart = ChartBuilder::on(&right)
        .caption(&row.caption, bold(CAPTION_FONT))
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
        .y_labels(VALUE_TICKS)
        .x_label_formatter(&fi)
        .y_label_formatter(&value_format)
        .x_desc("iteration")
        .label_style(text(TICK_FONT))
        .axis_desc_style(text(AXIS_FONT))
        .bold_line_style(BLACK.mix(0.08))
        .light_line_style(TRANSPARENT)
        .draw()
        .map_err(msg)?;
    y_axis_label(&right, &chart, "value")?;
    // Translucent lines so that overlapping chains all stay visible.
    for (series, element) in &row.series {
        for (c, segments) in element.lines.iter().enumerate() {
            let colour = series_colour(*series, c);
            for seg in segments {
                if seg.len() == 1 {
                    chart
                        .draw_series(std::iter::once(Circle::new(
                            seg[0],
                            2,
                            colour.mix(0.8).filled(),
                        )))
                        .map_err(msg)?;
                } else {
                    chart
                        .draw_series(LineSeries::new(
                            seg.iter().copied(),
                            colour.mix(0.6).stroke_width(1),
                        ))
                        .map_err(msg)?;
                }
            }
        }
    }
    Ok(())
}
