//! The state-band figure of decoded hidden-state paths, drawn with the plotting toolkit of
//! `trellis_samplers::plots` (it is HMM-specific, so it lives here rather than in the
//! samplers crate).

use std::ops::Range;
use std::path::Path;

use trellis_samplers::plots::plotters::coord::Shift;
use trellis_samplers::plots::plotters::prelude::*;
use trellis_samplers::plots::plotters::style::RGBAColor;
use trellis_samplers::plots::toolkit::DrawResult;
use trellis_samplers::plots::toolkit::*;
use trellis_samplers::plots::{PlotError, PlotOutput};

/// Height of one sequence panel in the state-band plot.
const BAND_PANEL_HEIGHT: u32 = 240;

/// At most this many sequences are drawn by [`state_band_plot`]; more would make the panels
/// too small to read, and the first few show what the decoder does.
pub const MAX_SEQUENCE_PANELS: usize = 6;

/// Opacity of the state bands: light enough that the black observation line stays legible.
const BAND_ALPHA: f64 = 0.35;

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

impl StackedFigure for BandFigure<'_> {
    type Panel = BandPanel;

    fn title(&self) -> String {
        self.title.to_string()
    }

    fn legend(&self) -> Vec<(String, RGBAColor)> {
        capped_legend(self.n_states, "state", BAND_ALPHA)
    }

    fn panels(&self) -> &[BandPanel] {
        self.panels
    }

    fn panel_height(&self) -> u32 {
        BAND_PANEL_HEIGHT
    }

    fn draw_panel<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        panel: &BandPanel,
    ) -> DrawResult {
        draw_band_panel(area, panel)
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
