//! `report.html`: one self-contained page a person opens after a fit — provenance, the summary
//! table, the warnings and every figure — written by `fit` and rebuilt by `trellis report DIR`
//! (after `ppc` or `decode`, whose figures it then includes).
//!
//! Why it is built from the run folder and not from `fit`'s memory: `trellis report` must
//! give the same page for a finished run, so both read the same files. The summary table is
//! recomputed from the chain files (the same `Trace::summary` `fit` prints, so the numbers are
//! the printed ones), the warnings and run figures come from `summary.json`, and the figures
//! are the SVG files themselves, inlined. Nothing is fetched from elsewhere: no script, font,
//! image or style sheet is referenced, so the file works offline and can be mailed as it is.
//! Every piece of text from the run (parameter names, paths, command lines, warnings) is
//! escaped; the inlined SVG is plotters' output, whose text plotters escapes itself.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use clap::Args;
use serde_json::Value;
use trellis_samplers::{Summary, Trace};

use crate::io::{read_json, write_file};
use crate::provenance;

/// File name of the report in a run folder.
pub const REPORT_FILE: &str = "report.html";

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Output folder of `trellis fit`; the report is written there as report.html.
    pub dir: PathBuf,
    /// Output folder of `trellis ppc` for this fit: its figure and p-values are included.
    #[arg(long)]
    pub ppc: Option<PathBuf>,
    /// Output folder of `trellis decode --fit` for this fit: its figure is included.
    #[arg(long)]
    pub decode: Option<PathBuf>,
}

/// Runs `trellis report`.
pub fn run(args: &ReportArgs) -> Result<(), String> {
    let extra: Vec<&Path> = [args.ppc.as_deref(), args.decode.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    for dir in &extra {
        if !dir.is_dir() {
            return Err(format!("'{}' is not a folder", dir.display()));
        }
    }
    let path = write(&args.dir, &args.dir, &extra)?;
    say!("Wrote {}", path.display());
    Ok(())
}

/// Writes the report of the finished run in `dir` at the end of `fit` (`shown`: the folder's
/// name once the run is in place, for the page); a failure is a printed notice (the draws and
/// summary are what matter), so it returns the file only if written.
pub fn after_fit(dir: &Path, shown: &Path) -> Option<PathBuf> {
    match write(dir, shown, &[]) {
        Ok(path) => Some(path),
        Err(e) => {
            say!("note: {REPORT_FILE} not written: {e}");
            None
        }
    }
}

/// Builds the report of the run in `dir` (named `shown` on the page; figures also from the
/// `extra` folders) and writes it atomically to `dir/report.html`.
fn write(dir: &Path, shown: &Path, extra: &[&Path]) -> Result<PathBuf, String> {
    let files = crate::fitted::chain_files(dir)?;
    let (trace, settings) =
        Trace::from_cmdstan_csv_with_settings(&files, false).map_err(|e| e.to_string())?;
    let mut lines = provenance::from_csv_settings(&settings);
    // How the run sampled (the CmdStan part of the header): enough to repeat it.
    const SAMPLING: [&str; 9] = [
        "seed",
        "num_chains",
        "num_warmup",
        "num_samples",
        "thin",
        "engine",
        "metric",
        "delta",
        "max_depth",
    ];
    for key in SAMPLING {
        if let Some((k, v)) = settings.iter().find(|(k, _)| k == key) {
            lines.push((k.clone(), v.clone()));
        }
    }
    let mut summary = trace.summary().map_err(|e| e.to_string())?;
    if let Some(truth) = provenance::true_values(&lines, trace.names.len()) {
        for (name, value) in trace.names.iter().zip(truth) {
            summary
                .set_true_value(name, value)
                .map_err(|e| e.to_string())?;
        }
    }
    let summary_json = dir.join("summary.json");
    let json = read_json(&summary_json, "fit summary").ok();
    let html = render(&Page {
        dir: shown,
        lines: &lines,
        trace: &trace,
        summary: &summary,
        json: json.as_ref(),
        figures: &figures(dir, shown, extra),
        ppc: ppc_table(dir, extra),
    });
    let path = dir.join(REPORT_FILE);
    write_file(&path, html.as_bytes())?;
    Ok(path)
}

/// What the page shows.
struct Page<'a> {
    dir: &'a Path,
    lines: &'a [(String, String)],
    trace: &'a Trace,
    summary: &'a Summary,
    /// `summary.json`, when readable: warnings and run facts.
    json: Option<&'a Value>,
    figures: &'a [Figure],
    ppc: Option<String>,
}

/// One inlined figure.
struct Figure {
    /// The SVG element, from `<svg` to its end.
    svg: String,
    /// Where it came from, shown under it.
    source: PathBuf,
}

/// The figures of the run, in reading order: trace (all parts), posterior, then the posterior
/// predictive check and the decoded states from `dir` or an `extra` folder (files of `dir`
/// are captioned as in `shown`).
fn figures(dir: &Path, shown: &Path, extra: &[&Path]) -> Vec<Figure> {
    let mut paths: Vec<PathBuf> = Vec::new();
    if dir.join("trace.svg").is_file() {
        paths.push(dir.join("trace.svg"));
    } else {
        // `trace_part1.svg`, `trace_part2.svg`, … in part order (not name order: 10 < 2).
        let mut parts: Vec<(usize, PathBuf)> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let n = name.strip_prefix("trace_part")?.strip_suffix(".svg")?;
                Some((n.parse().ok()?, e.path()))
            })
            .collect();
        parts.sort();
        paths.extend(parts.into_iter().map(|(_, p)| p));
    }
    paths.push(dir.join("posterior.svg"));
    for name in ["ppc.svg", "states.svg"] {
        if let Some(found) = std::iter::once(dir)
            .chain(extra.iter().copied())
            .map(|d| d.join(name))
            .find(|p| p.is_file())
        {
            paths.push(found);
        }
    }
    paths
        .into_iter()
        .filter_map(|source| {
            let text = std::fs::read_to_string(&source).ok()?;
            // The `<svg …>…</svg>` element, without any XML prolog before it.
            let start = text.find("<svg")?;
            let end = text.rfind("</svg>")? + "</svg>".len();
            let source = match source.strip_prefix(dir) {
                Ok(name) => shown.join(name),
                Err(_) => source,
            };
            (start < end).then(|| Figure {
                svg: text[start..end].to_string(),
                source,
            })
        })
        .collect()
}

/// The statistics table of a `ppc.json` next to the run (or in an `extra` folder), as HTML.
fn ppc_table(dir: &Path, extra: &[&Path]) -> Option<String> {
    let path = std::iter::once(dir)
        .chain(extra.iter().copied())
        .map(|d| d.join("ppc.json"))
        .find(|p| p.is_file())?;
    let json = read_json(&path, "ppc result").ok()?;
    let mut html = String::from(
        "<table><thead><tr><th>statistic</th><th>observed</th><th>replicated mean</th>\
         <th>p</th></tr></thead><tbody>",
    );
    for s in json.get("statistics")?.as_array()? {
        let number = |key: &str| s.get(key).and_then(Value::as_f64).unwrap_or(f64::NAN);
        let p = number("p_value");
        let flag = if !(0.01..=0.99).contains(&p) {
            " class=\"flag\""
        } else {
            ""
        };
        let _ = write!(
            html,
            "<tr{flag}><td>{}</td><td>{:.3}</td><td>{:.3}</td><td>{p:.3}</td></tr>",
            escape(s.get("name").and_then(Value::as_str).unwrap_or("?")),
            number("observed_mean"),
            number("replicated_mean"),
        );
    }
    html.push_str("</tbody></table>");
    Some(html)
}

/// `text` safe inside HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Inline style sheet: readable type, tables that scroll sideways instead of overflowing,
/// figures scaled to the page width (the SVGs carry a viewBox).
const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:1240px;margin:1.5em auto;\
padding:0 1em;color:#1e1e1e;line-height:1.4}h1{font-size:1.6em;margin-bottom:0.2em}\
h2{font-size:1.25em;border-bottom:1px solid #ccc;padding-bottom:0.2em;margin-top:1.6em}\
.sub{color:#555;margin-top:0}table{border-collapse:collapse;font-size:0.9em}\
.scroll{overflow-x:auto}td,th{padding:0.15em 0.7em;border-bottom:1px solid #e4e4e4}\
th{text-align:right;background:#f4f4f4}td{text-align:right;font-variant-numeric:tabular-nums}\
td:first-child,th:first-child{text-align:left;font-family:ui-monospace,monospace}\
table.prov td{text-align:left;font-family:ui-monospace,monospace;word-break:break-all}\
tr.flag td{background:#fde8e8}ul.warn li{color:#a40000}p.ok{color:#176117}\
figure{margin:1em 0}figure svg{width:100%;height:auto;border:1px solid #ddd}\
figcaption{color:#666;font-size:0.85em}details{margin:0.6em 0}";

/// The whole page.
fn render(page: &Page<'_>) -> String {
    let setting = |key: &str| {
        page.lines
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    let mut html = String::new();
    let title = format!(
        "Trellis fit: {}",
        setting("model").unwrap_or("unknown model")
    );
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\
         <title>{}</title><style>{STYLE}</style></head><body>\n<h1>{}</h1>\n",
        escape(&title),
        escape(&title)
    );
    let chains: Vec<String> = page
        .trace
        .chains
        .iter()
        .map(|c| (c.chain + 1).to_string())
        .collect();
    let _ = writeln!(
        html,
        "<p class=\"sub\">{} (K = {}) on {}; {} draws per chain, chains {}; folder {}</p>",
        escape(setting("trellis_family").unwrap_or("?")),
        escape(setting("trellis_states").unwrap_or("?")),
        escape(setting("trellis_data").unwrap_or("?")),
        page.trace.draws_per_chain(),
        escape(&chains.join(", ")),
        escape(&page.dir.display().to_string())
    );
    render_warnings(&mut html, page.json);
    html.push_str("<h2>Summary</h2>\n");
    render_summary(&mut html, page.summary);
    if let Some(ppc) = &page.ppc {
        let _ = writeln!(
            html,
            "<h2>Posterior predictive check</h2>\n<p>p = Pr(replicated ≥ observed); rows \
             outside [0.01, 0.99] are marked: the model misses that feature.</p>\n\
             <div class=\"scroll\">{ppc}</div>"
        );
    }
    html.push_str("<h2>Figures</h2>\n");
    if page.figures.is_empty() {
        html.push_str("<p>No figures in the run folder.</p>\n");
    }
    for figure in page.figures {
        let _ = writeln!(
            html,
            "<figure>{}<figcaption>{}</figcaption></figure>",
            figure.svg,
            escape(&figure.source.display().to_string())
        );
    }
    html.push_str("<h2>Provenance</h2>\n<div class=\"scroll\"><table class=\"prov\"><tbody>");
    for (key, value) in page.lines {
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td></tr>",
            escape(key),
            escape(value)
        );
    }
    html.push_str("</tbody></table></div>\n</body></html>\n");
    html
}

/// The run's facts and warnings from `summary.json`.
fn render_warnings(html: &mut String, json: Option<&Value>) {
    html.push_str("<h2>Diagnostics</h2>\n");
    let Some(json) = json else {
        html.push_str("<p>summary.json is missing or unreadable: warnings unknown.</p>\n");
        return;
    };
    let number = |key: &str| json.get(key).and_then(Value::as_f64);
    let mut facts = Vec::new();
    if let Some(s) = number("sampling_seconds") {
        facts.push(format!("sampling took {s:.2} s"));
    }
    if let Some(g) = number("gradient_evaluations") {
        facts.push(format!("{g:.0} gradient evaluations"));
    }
    if let Some(d) = number("divergences") {
        facts.push(format!("{d:.0} divergences"));
    }
    if let Some(d) = number("max_tree_depth_hits") {
        facts.push(format!("{d:.0} maximum tree depth hits"));
    }
    if !facts.is_empty() {
        let _ = writeln!(html, "<p>{}.</p>", escape(&facts.join(", ")));
    }
    let warnings: Vec<&str> = json
        .get("warnings")
        .and_then(Value::as_array)
        .map(|w| w.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if warnings.is_empty() {
        html.push_str("<p class=\"ok\">No warnings.</p>\n");
    } else {
        html.push_str("<ul class=\"warn\">");
        for w in warnings {
            let _ = write!(html, "<li>warning: {}</li>", escape(w));
        }
        html.push_str("</ul>\n");
    }
}

/// Whether a column is a pointwise log-likelihood entry (`log_lik[…]`, `log_lik.…`): kept out
/// of the figures and folded away in the report, being for `trellis compare` (70 of them
/// would bury the parameters).
pub(crate) fn is_log_lik(name: &str) -> bool {
    name.starts_with("log_lik[") || name.starts_with("log_lik.")
}

/// The summary as HTML tables with exactly the cells of the printed table (its `Display`,
/// split into columns), parameters first and pointwise log-likelihood rows folded away.
fn render_summary(html: &mut String, summary: &Summary) {
    let text = summary.to_string();
    let mut rows = text.lines();
    let header: Vec<&str> = rows.next().unwrap_or("").split_whitespace().collect();
    let cells: Vec<(String, Vec<&str>)> = rows
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // The name is whatever precedes the number columns (a name never has spaces,
            // but a stray one must not shift the numbers).
            let split = fields.len().checked_sub(header.len()).filter(|&n| n > 0)?;
            Some((fields[..split].join(" "), fields[split..].to_vec()))
        })
        .collect();
    let table = |html: &mut String, rows: &[&(String, Vec<&str>)]| {
        html.push_str("<div class=\"scroll\"><table><thead><tr><th></th>");
        for h in &header {
            let _ = write!(html, "<th>{}</th>", escape(h));
        }
        html.push_str("</tr></thead><tbody>");
        for (name, values) in rows {
            let _ = write!(html, "<tr><td>{}</td>", escape(name));
            for v in values {
                let _ = write!(html, "<td>{}</td>", escape(v));
            }
            html.push_str("</tr>");
        }
        html.push_str("</tbody></table></div>\n");
    };
    let (log_lik, params): (Vec<_>, Vec<_>) = cells.iter().partition(|(n, _)| is_log_lik(n));
    table(html, &params);
    if !log_lik.is_empty() {
        let _ = write!(
            html,
            "<details><summary>pointwise log-likelihood: {} entries (for <code>trellis \
             compare</code>)</summary>",
            log_lik.len()
        );
        table(html, &log_lik);
        html.push_str("</details>\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_neutralises_markup() {
        let cases = [
            (
                "<script>alert(1)</script>",
                "&lt;script&gt;alert(1)&lt;/script&gt;",
            ),
            ("a & b", "a &amp; b"),
            ("\"q\" 'r'", "&quot;q&quot; &#39;r&#39;"),
            ("plain", "plain"),
        ];
        for (input, expected) in cases {
            assert_eq!(escape(input), expected, "escape({input:?})");
        }
    }
}
