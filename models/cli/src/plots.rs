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

/// At most this many sequences are drawn by [`decode_plot`]; more would make the panels
/// too small to read, and the first few show what the decoder does.
pub const MAX_SEQUENCE_PANELS: usize = 6;

/// Opacity of the state bands: light enough that the black observation line stays legible.
const BAND_ALPHA: f64 = 0.35;

/// Height of the smoothed-probability panel under a sequence's band panel.
const SMOOTHED_PANEL_HEIGHT: u32 = 150;

/// One decoded sequence for [`decode_plot`].
#[derive(Debug, Clone, Copy)]
pub struct DecodedSequence<'a> {
    /// The observations (one value per step; non-finite leaves a gap).
    pub observations: &'a [f64],
    /// The decoded state of each step (the bands).
    pub states: &'a [usize],
    /// Smoothed probabilities `P(state k at t | data)`, `T × K` row-major, drawn in a
    /// panel under the bands.
    pub smoothed: Option<&'a [f64]>,
    /// The true hidden states, when known (simulated data): a strip at the top of the panel.
    pub truth: Option<&'a [usize]>,
}

/// The decode figure: for each of the first [`MAX_SEQUENCE_PANELS`] sequences a panel with
/// the observations as a black line with points against time, over background bands
/// coloured by the decoded state at each time step, plus a legend strip (`state 0`,
/// `state 1`, …) under the `title`; under each, the smoothed state probabilities (when
/// given), and along its top the true states (when known).
///
/// If a sequence's observations and states differ in length only the common prefix is drawn
/// (with a notice). `n_states` sets the legend; `0` means "infer from the largest state".
/// Non-finite observations leave gaps in the line. Figures are 1200 px wide, 240 px per
/// sequence plus 150 px when smoothed probabilities are drawn. Writes `<out_stem>.svg` and
/// `<out_stem>.png`. An empty `sequences` writes nothing and returns a notice; an empty
/// sequence gets a panel saying so.
///
/// # Errors
/// [`PlotError`] if the SVG cannot be written. PNG problems are notices.
pub fn decode_plot(
    out_stem: &Path,
    sequences: &[DecodedSequence<'_>],
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
        .flat_map(|s| s.states.iter().copied())
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
    let mut panels: Vec<BandPanel> = shown
        .iter()
        .enumerate()
        .map(|(i, sequence)| {
            let (obs, states) = (sequence.observations, sequence.states);
            if obs.len() != states.len() {
                out.notices.push(format!(
                    "state-band plot: sequence {i} has {} observations but {} states; \
                     drawing the first {}",
                    obs.len(),
                    states.len(),
                    obs.len().min(states.len())
                ));
            }
            let mut panel = BandPanel::new(i, obs, states);
            panel.add_extras(sequence, n_states, &mut out.notices);
            panel
        })
        .collect();
    // Every panel shows observations: the same decimals on all their axes.
    let shared = panels
        .iter()
        .map(|p| NumberFormat::for_axis(&p.y, OBSERVATION_TICKS))
        .reduce(NumberFormat::finest);
    for p in &mut panels {
        p.y_format = shared.unwrap_or(p.y_format);
    }
    let fig = BandFigure {
        panels: &panels,
        n_states,
        title,
        smoothed: panels.iter().any(|p| p.smoothed.is_some()),
    };
    write_figure(&fig, out_stem, &mut out)?;
    Ok(out)
}

/// Tick labels on the observation axis.
const OBSERVATION_TICKS: usize = 5;

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
    /// Tick labels of the observation axis, shared by all panels (one quantity).
    y_format: NumberFormat,
    /// Per state, the smoothed probability against time.
    smoothed: Option<Vec<Vec<(f64, f64)>>>,
    /// Runs of equal true states, as `runs`.
    truth: Option<Vec<(usize, usize, usize)>>,
}

/// Runs of equal states as `(first t, last t, state)`.
fn state_runs(states: &[usize]) -> Vec<(usize, usize, usize)> {
    let mut runs: Vec<(usize, usize, usize)> = Vec::new();
    for (t, &s) in states.iter().enumerate() {
        match runs.last_mut() {
            Some(run) if run.2 == s => run.1 = t,
            _ => runs.push((t, t, s)),
        }
    }
    runs
}

impl BandPanel {
    fn new(index: usize, obs: &[f64], states: &[usize]) -> BandPanel {
        let len = obs.len().min(states.len());
        let (obs, states) = (&obs[..len], &states[..len]);
        BandPanel {
            index,
            runs: state_runs(states),
            segments: finite_segments(obs, usize::MAX),
            len,
            y: padded(finite_range(obs.iter().copied()), 0.08),
            y_format: NumberFormat::for_values(&[]),
            smoothed: None,
            truth: None,
        }
    }

    /// Adds the smoothed probabilities and true states of `extra`, when their shapes fit.
    fn add_extras(
        &mut self,
        extra: &DecodedSequence<'_>,
        n_states: usize,
        notices: &mut Vec<String>,
    ) {
        let (len, i) = (self.len, self.index);
        if let Some(p) = extra.smoothed {
            if n_states > 0 && p.len() >= len * n_states {
                self.smoothed = Some(
                    (0..n_states)
                        .map(|k| (0..len).map(|t| (t as f64, p[t * n_states + k])).collect())
                        .collect(),
                );
            } else {
                notices.push(format!(
                    "decode plot: sequence {i}: {} smoothed probabilities for {len} steps × \
                     {n_states} states; not drawn",
                    p.len()
                ));
            }
        }
        if let Some(truth) = extra.truth {
            if truth.len() >= len {
                self.truth = Some(state_runs(&truth[..len]));
            } else {
                notices.push(format!(
                    "decode plot: sequence {i}: {} true states for {len} steps; not drawn",
                    truth.len()
                ));
            }
        }
    }
}

/// The state-band figure.
struct BandFigure<'a> {
    panels: &'a [BandPanel],
    n_states: usize,
    title: &'a str,
    /// Whether any panel has smoothed probabilities (then every panel gets the room).
    smoothed: bool,
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
            + if self.smoothed {
                SMOOTHED_PANEL_HEIGHT
            } else {
                0
            }
    }

    fn draw_panel<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        panel: &BandPanel,
    ) -> DrawResult {
        if !self.smoothed {
            return draw_band_panel(area, panel);
        }
        let (bands, probabilities) = area.split_vertically(BAND_PANEL_HEIGHT);
        draw_band_panel(&bands, panel)?;
        if let Some(lines) = &panel.smoothed {
            draw_smoothed_panel(&probabilities, panel.len, lines)?;
        }
        Ok(())
    }
}

/// Draws one sequence: state bands behind the observation line.
fn draw_band_panel<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, p: &BandPanel) -> DrawResult {
    let caption = format!(
        "sequence {} ({} time step{}{})",
        p.index,
        p.len,
        if p.len == 1 { "" } else { "s" },
        if p.truth.is_some() {
            "; top strip: true states"
        } else {
            ""
        }
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
    let fy = p.y_format.formatter();
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
        .y_labels(OBSERVATION_TICKS)
        .x_label_formatter(&ft)
        .y_label_formatter(&fy)
        .x_desc("time")
        .label_style(text(TICK_FONT))
        .axis_desc_style(text(AXIS_FONT))
        .disable_mesh()
        .draw()
        .map_err(msg)?;
    y_axis_label(area, &chart, "observation")?;
    chart
        .draw_series(p.runs.iter().map(|&(a, b, s)| {
            Rectangle::new(
                [(a as f64 - 0.5, p.y.start), (b as f64 + 0.5, p.y.end)],
                color(s).mix(BAND_ALPHA).filled(),
            )
        }))
        .map_err(msg)?;
    if let Some(truth) = &p.truth {
        // The top 6 % of the panel, in the states' full colours.
        let low = p.y.end - 0.06 * (p.y.end - p.y.start);
        chart
            .draw_series(truth.iter().map(|&(a, b, s)| {
                Rectangle::new(
                    [(a as f64 - 0.5, low), (b as f64 + 0.5, p.y.end)],
                    color(s).filled(),
                )
            }))
            .map_err(msg)?;
    }
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

/// Draws the smoothed probability of each state against time, on the band panel's time axis.
fn draw_smoothed_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    len: usize,
    lines: &[Vec<(f64, f64)>],
) -> DrawResult {
    let t = -0.5..(len as f64 - 0.5);
    let ft = |v: &f64| {
        if (v - v.round()).abs() < 1e-9 {
            format!("{}", v.round() as i64)
        } else {
            String::new()
        }
    };
    let fy = tick_format(&(0.0..1.0), 3);
    let mut chart = ChartBuilder::on(area)
        .margin_top(30)
        .margin_left(8)
        .margin_right(24)
        .margin_bottom(8)
        .x_label_area_size(30)
        .y_label_area_size(70)
        .build_cartesian_2d(t, 0.0..1.0)
        .map_err(msg)?;
    chart
        .configure_mesh()
        .x_labels(12)
        .y_labels(3)
        .x_label_formatter(&ft)
        .y_label_formatter(&fy)
        .label_style(text(TICK_FONT))
        .bold_line_style(BLACK.mix(0.08))
        .light_line_style(TRANSPARENT)
        .draw()
        .map_err(msg)?;
    y_axis_label(area, &chart, "P(state | all data)")?;
    for (k, line) in lines.iter().enumerate() {
        chart
            .draw_series(LineSeries::new(
                line.iter().copied().filter(|(_, p)| p.is_finite()),
                color(k).stroke_width(2),
            ))
            .map_err(msg)?;
    }
    Ok(())
}
