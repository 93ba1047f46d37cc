//! `trellis ppc DIR`: posterior predictive checks of a fit — replicated datasets from posterior
//! draws, the HMM statistics of `trellis_models::ppc` on observed against replicated data with
//! posterior predictive p-values, a figure like `az.plot_ppc` (observed density against the
//! replicates' densities, and each statistic's replicated distribution against its observed
//! value) and `ppc.json`.

use std::path::{Path, PathBuf};

use clap::Args;
use serde_json::json;
use trellis_models::ppc::{posterior_predictive, PredictiveCheck, ScalarObservation};
use trellis_models::relabel::constrained_draws;
use trellis_models::zoo::Family;
use trellis_samplers::plots::plotters::coord::Shift;
use trellis_samplers::plots::plotters::prelude::*;
use trellis_samplers::plots::plotters::style::RGBAColor;
use trellis_samplers::plots::toolkit::DrawResult;
use trellis_samplers::plots::toolkit::*;
use trellis_samplers::plots::{gaussian_kde, PlotOutput};

use crate::fitted::Fitted;
use crate::input::Input;
use crate::io::write_file;
use crate::obs::CliObs;
use crate::output_dir::OutputDir;

/// Replicated densities drawn in the figure (more only darken it).
const MAX_DENSITY_LINES: usize = 60;

#[derive(Debug, Args)]
pub struct PpcArgs {
    /// Output folder of `trellis fit`.
    pub fit: PathBuf,
    /// Number of replicated datasets, one per posterior draw (spread evenly over the draws of
    /// all chains).
    #[arg(long, default_value_t = 200)]
    draws: usize,
    /// Seed of the replicates.
    #[arg(long, default_value_t = 20261124)]
    seed: u64,
    /// Data file of the fit, when it was moved from where it ran (replaces the header's).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Output folder: ppc.json, ppc.svg, ppc.png.
    #[arg(long, default_value = "trellis-ppc")]
    out: PathBuf,
}

/// `n` indices spread evenly over `0..total` (all of them when `n ≥ total`).
pub(crate) fn spread(total: usize, n: usize) -> Vec<usize> {
    if n >= total {
        return (0..total).collect();
    }
    (0..n).map(|i| i * total / n).collect()
}

/// Runs `trellis ppc` with the fit's family.
pub fn run<F: Family>(
    family: F,
    input: &Input,
    fitted: &Fitted,
    args: &PpcArgs,
) -> Result<(), String>
where
    F::Obs: CliObs + ScalarObservation,
{
    if args.draws == 0 {
        return Err("--draws must be at least 1".into());
    }
    let (model, columns) = fitted.model(input, family)?;
    let pooled: Vec<Vec<f64>> = constrained_draws(&fitted.trace, &columns).concat();
    let chosen: Vec<Vec<f64>> = spread(pooled.len(), args.draws)
        .into_iter()
        .map(|i| pooled[i].clone())
        .collect();
    let out = OutputDir::prepare(&args.out)?;
    let check = posterior_predictive(&model, &chosen, args.seed)
        .map_err(|e| format!("{}: {e}", fitted.name()))?;
    say!(
        "Posterior predictive check of {}: {} replicated datasets of {} from {} posterior draws",
        fitted.name(),
        chosen.len(),
        input.describe(model.data()),
        pooled.len()
    );
    say!("{}", table(&check));
    let extreme = check.extreme(0.01);
    if extreme.is_empty() {
        say!("\nNo statistic is extreme (all p-values within [0.01, 0.99]).");
    } else {
        for s in &extreme {
            let side = if s.p_value < 0.5 { "above" } else { "below" };
            say!(
                "warning: {}: the observed value is {side} nearly every replicate's \
                 (p = {:.3}); the model does not reproduce this feature of the data",
                s.name,
                s.p_value
            );
        }
    }
    let json = json!({
        "fit": fitted.name(),
        "draws": chosen.len(),
        "seed": args.seed,
        "statistics": check.statistics.iter().map(|s| json!({
            "name": s.name,
            "observed_mean": mean(&s.observed),
            "replicated_mean": mean(&s.replicated),
            "p_value": s.p_value,
            "observed": s.observed,
            "replicated": s.replicated,
        })).collect::<Vec<_>>(),
    });
    let json_path = out.path().join("ppc.json");
    let text = serde_json::to_string_pretty(&json).map_err(|e| e.to_string())?;
    write_file(&json_path, text.as_bytes())?;
    let mut written = vec![json_path.display().to_string()];
    let mut plots = PlotOutput::default();
    let title = format!("Posterior predictive check: {}", fitted.name());
    match write_figure(
        &PpcFigure {
            check: &check,
            title: &title,
        },
        &out.path().join("ppc"),
        &mut plots,
    ) {
        Ok(()) => written.extend(plots.files.iter().map(|p| p.display().to_string())),
        Err(e) => say!("warning: figure not written: {e}"),
    }
    for notice in &plots.notices {
        say!("warning: {notice}");
    }
    say!("\nWrote {}", written.join(", "));
    out.keep();
    Ok(())
}

fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len().max(1) as f64
}

/// The statistics table: observed (mean over draws, for state statistics), replicated mean
/// and 94 % interval, p-value.
fn table(check: &PredictiveCheck) -> String {
    let mut lines = vec![format!(
        "\n{:<24} {:>10} {:>10} {:>10} {:>10} {:>8}",
        "statistic", "observed", "replicated", "rep 3%", "rep 97%", "p"
    )];
    for s in &check.statistics {
        let mut sorted = s.replicated.clone();
        sorted.sort_by(f64::total_cmp);
        let q = |p: f64| sorted[((sorted.len() - 1) as f64 * p).round() as usize];
        lines.push(format!(
            "{:<24} {:>10.3} {:>10.3} {:>10.3} {:>10.3} {:>8.3}",
            s.name,
            mean(&s.observed),
            mean(&s.replicated),
            q(0.03),
            q(0.97),
            s.p_value
        ));
    }
    lines.push(
        "p = Pr(replicated ≥ observed); near 0 or 1: the model misses that feature. State \
         statistics use the Viterbi path at each draw (observed: mean over draws)."
            .to_string(),
    );
    lines.join("\n")
}

/// Height of the density panel and of each row of statistic panels.
const DENSITY_HEIGHT: u32 = 420;
const STAT_HEIGHT: u32 = 250;
const STAT_COLUMNS: usize = 4;

/// The figure: the observed density (black) over the replicates' (translucent blue), then one
/// small panel per statistic with its replicated histogram and the observed value (red).
struct PpcFigure<'a> {
    check: &'a PredictiveCheck,
    title: &'a str,
}

impl PpcFigure<'_> {
    fn legend() -> Vec<(String, RGBAColor)> {
        vec![
            ("observed".to_string(), BLACK.to_rgba()),
            ("replicated".to_string(), color(0).mix(0.4)),
        ]
    }

    fn stat_rows(&self) -> usize {
        self.check.statistics.len().div_ceil(STAT_COLUMNS)
    }
}

impl Figure for PpcFigure<'_> {
    fn size(&self) -> (u32, u32) {
        (
            FIG_WIDTH,
            header_height(&Self::legend()) + DENSITY_HEIGHT + STAT_HEIGHT * self.stat_rows() as u32,
        )
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let legend = Self::legend();
        let body = draw_header(root, header_height(&legend), self.title, &legend)?;
        let (density, stats) = body.split_vertically(DENSITY_HEIGHT);
        draw_densities(&density, self.check)?;
        let areas = stats.split_evenly((self.stat_rows(), STAT_COLUMNS));
        for (s, area) in self.check.statistics.iter().zip(areas.iter()) {
            draw_statistic(area, &s.name, &s.replicated, mean(&s.observed), s.p_value)?;
        }
        Ok(())
    }
}

fn draw_densities<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    check: &PredictiveCheck,
) -> DrawResult {
    let caption = "density of the observations";
    let Some(observed) = gaussian_kde(&check.observed_values, 200) else {
        return draw_empty_panel(area, caption, "no finite observations");
    };
    let step = (check.replicated_values.len() / MAX_DENSITY_LINES).max(1);
    let replicated: Vec<_> = check
        .replicated_values
        .iter()
        .step_by(step)
        .filter_map(|v| gaussian_kde(v, 200))
        .collect();
    let x = padded(
        finite_range(
            observed
                .x
                .iter()
                .chain(replicated.iter().flat_map(|k| k.x.iter()))
                .copied(),
        ),
        0.0,
    );
    let y = padded(
        finite_range(
            observed
                .density
                .iter()
                .chain(replicated.iter().flat_map(|k| k.density.iter()))
                .copied()
                .chain([0.0]),
        ),
        0.05,
    );
    let (fx, fy) = (tick_format(&x, 8), tick_format(&y, 5));
    let mut chart = ChartBuilder::on(area)
        .caption(caption, bold(CAPTION_FONT))
        .margin(8)
        .margin_right(24)
        .x_label_area_size(46)
        .y_label_area_size(70)
        .build_cartesian_2d(x, y)
        .map_err(msg)?;
    chart
        .configure_mesh()
        .x_labels(8)
        .y_labels(5)
        .x_label_formatter(&fx)
        .y_label_formatter(&fy)
        .x_desc("observation")
        .label_style(text(TICK_FONT))
        .axis_desc_style(text(AXIS_FONT))
        .disable_mesh()
        .draw()
        .map_err(msg)?;
    y_axis_label(area, &chart, "density")?;
    for kde in &replicated {
        chart
            .draw_series(LineSeries::new(
                kde.x.iter().copied().zip(kde.density.iter().copied()),
                color(0).mix(0.25).stroke_width(1),
            ))
            .map_err(msg)?;
    }
    chart
        .draw_series(LineSeries::new(
            observed
                .x
                .iter()
                .copied()
                .zip(observed.density.iter().copied()),
            BLACK.stroke_width(3),
        ))
        .map_err(msg)?;
    Ok(())
}

/// One statistic: a 20-bin histogram of the replicated values and the observed value.
fn draw_statistic<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    name: &str,
    replicated: &[f64],
    observed: f64,
    p_value: f64,
) -> DrawResult {
    let caption = format!("{name} (p = {p_value:.2})");
    let Some((lo, hi)) = finite_range(replicated.iter().copied().chain([observed])) else {
        return draw_empty_panel(area, &caption, "no finite values");
    };
    let bins = 20;
    let width = if hi > lo {
        (hi - lo) / bins as f64
    } else {
        1.0
    };
    let mut counts = vec![0usize; bins];
    for &v in replicated.iter().filter(|v| v.is_finite()) {
        let b = (((v - lo) / width) as usize).min(bins - 1);
        counts[b] += 1;
    }
    let x = padded(Some((lo, lo + width * bins as f64)), 0.05);
    let top = counts.iter().copied().max().unwrap_or(1).max(1) as f64 * 1.1;
    let fx = tick_format(&x, 4);
    let mut chart = ChartBuilder::on(area)
        .caption(&caption, text(AXIS_FONT))
        .margin(6)
        .margin_right(16)
        .x_label_area_size(30)
        .y_label_area_size(10)
        .build_cartesian_2d(x, 0.0..top)
        .map_err(msg)?;
    chart
        .configure_mesh()
        .x_labels(4)
        .y_labels(0)
        .x_label_formatter(&fx)
        .label_style(text(TICK_FONT))
        .disable_mesh()
        .draw()
        .map_err(msg)?;
    chart
        .draw_series(counts.iter().enumerate().map(|(b, &c)| {
            let a = lo + b as f64 * width;
            Rectangle::new(
                [(a, 0.0), (a + width, c as f64)],
                color(0).mix(0.5).filled(),
            )
        }))
        .map_err(msg)?;
    chart
        .draw_series(LineSeries::new(
            [(observed, 0.0), (observed, top)],
            RGBColor(214, 39, 40).stroke_width(3),
        ))
        .map_err(msg)?;
    Ok(())
}

/// For `main`'s dispatch: the fit named by `args`, read with its data override.
pub fn read_fit(args: &PpcArgs) -> Result<Fitted, String> {
    Fitted::read(&args.fit, args.data.as_deref().map(Path::new))
}
