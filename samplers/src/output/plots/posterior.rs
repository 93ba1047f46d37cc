//! The posterior figure (`az.plot_posterior(ref_val=…)`): per parameter the pooled KDE, the
//! HDI bar, the mean and the reference value.

use std::path::Path;

use ndarray::ArrayView2;
use std::ops::Range;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::RGBAColor;

use super::kde::{gaussian_kde, Kde, KDE_GRID_POINTS};
use super::toolkit::DrawResult;
use super::toolkit::*;
use super::{PlotError, PlotOutput};
use crate::diagnostics::hdi;

/// Columns of the posterior-plot grid.
const POSTERIOR_COLUMNS: usize = 3;

/// Height of one posterior-plot panel.
const POSTERIOR_PANEL_HEIGHT: u32 = 320;

/// Colour of the reference ("true") value line: dark red stands out against the blue
/// posterior curve and the black HDI bar.
const TRUE_COLOR: RGBColor = RGBColor(200, 0, 0);

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
    let mut panels: Vec<PosteriorPanel> = params
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
    share_panel_formats(&mut panels);
    let n_chains = params.iter().map(|(_, d, _)| d.nrows()).max().unwrap_or(0);
    let fig = PosteriorFigure {
        panels: &panels,
        hdi_prob,
        n_chains,
    };
    write_figure(&fig, out_stem, &mut out)?;
    Ok(out)
}

/// Tick labels on a panel's value axis.
const X_TICKS: usize = 5;

/// The elements of one parameter (`p[0]`, `p[1]`, …) are one quantity: their panels share the
/// finest tick and label formats, so that neighbouring panels print the same decimals.
fn share_panel_formats(panels: &mut [PosteriorPanel]) {
    let keys: Vec<String> = panels
        .iter()
        .map(|p| parameter_base(&p.name).to_string())
        .collect();
    let mut ticks: Vec<NumberFormat> = panels.iter().map(|p| p.ticks).collect();
    let mut labels: Vec<NumberFormat> = panels.iter().map(|p| p.labels).collect();
    share_formats(&keys, &mut ticks);
    share_formats(&keys, &mut labels);
    for ((p, t), l) in panels.iter_mut().zip(ticks).zip(labels) {
        p.ticks = t;
        p.labels = l;
    }
}

/// One parameter's precomputed posterior-plot data.
struct PosteriorPanel {
    name: String,
    kde: Option<Kde>,
    hdi: Option<(f64, f64)>,
    mean: Option<f64>,
    truth: Option<f64>,
    x: Range<f64>,
    /// Tick labels of the value axis.
    ticks: NumberFormat,
    /// Printed values (mean, HDI bounds, reference value): a tenth of the tick step.
    labels: NumberFormat,
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
        PosteriorPanel {
            name: name.to_string(),
            kde,
            hdi,
            mean,
            truth,
            ticks: NumberFormat::for_axis(&x, X_TICKS),
            labels: NumberFormat::for_labels(&x, X_TICKS),
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
        header_height(&self.legend_items())
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
    let fx = p.ticks.formatter();
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
        .x_labels(X_TICKS)
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
            format!("mean = {}", p.labels.format(mean)),
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
        let lo_s = p.labels.format(lo);
        let hi_s = p.labels.format(hi);
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
        let s = format!("true = {}", p.labels.format(t));
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
