//! Text forms of the estimates, laid out as ArviZ prints them (`print(az.loo(...))`,
//! `print(az.waic(...))`, `print(az.compare(...))`), so that output reads the same to
//! someone used to ArviZ.

use std::fmt;

use super::{Comparison, Loo, Waic, WeightMethod};

/// ArviZ's note under an estimate whose `warning` is set.
const WARNING_NOTE: &str =
    "There has been a warning during the calculation. Please check the results.";

/// The header block ArviZ prints for both criteria (`BASE_FMT`).
fn write_estimate(
    f: &mut fmt::Formatter<'_>,
    kind: &str,
    (n_samples, n_points): (usize, usize),
    (elpd, se, p): (f64, f64, f64),
    warning: bool,
) -> fmt::Result {
    let label = format!("elpd_{kind}");
    let width = label.len();
    writeln!(
        f,
        "Computed from {n_samples} posterior samples and {n_points} observations \
         log-likelihood matrix."
    )?;
    writeln!(f)?;
    writeln!(f, "{:width$} Estimate       SE", "")?;
    writeln!(f, "{label} {elpd:8.2}  {se:7.2}")?;
    write!(f, "{:width$} {p:8.2}        -", format!("p_{kind}"))?;
    if warning {
        write!(f, "\n\n{WARNING_NOTE}")?;
    }
    Ok(())
}

impl fmt::Display for Loo {
    /// ArviZ's summary of `az.loo`: the estimates, then the Pareto k̂ table.
    ///
    /// ```
    /// use ndarray::Array3;
    /// use trellis_samplers::loo::loo;
    ///
    /// let log_lik = Array3::from_shape_fn((2, 100, 3), |(c, s, i)| {
    ///     -1.0 - 0.1 * (((c * 100 + s) as f64 * 0.618).fract() - 0.5) * (i + 1) as f64
    /// });
    /// let text = loo(log_lik.view(), 1.0)?.to_string();
    /// assert!(text.starts_with("Computed from 200 posterior samples and 3 observations"));
    /// assert!(text.contains("(good)        3  100.0%"), "{text}");
    /// # Ok::<(), trellis_samplers::loo::LooError>(())
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_estimate(
            f,
            "loo",
            (self.n_samples, self.pointwise.len()),
            (self.elpd, self.se, self.p_loo),
            self.warning,
        )?;
        let counts = self.pareto_k_counts();
        let counts = [counts.good, counts.bad, counts.very_bad];
        let total = self.pareto_k.len().max(1) as f64;
        let pct = counts.map(|c| c as f64 / total * 100.0);
        let largest = counts.iter().max().copied().unwrap_or(0);
        let w = largest.to_string().len().max(4);
        let good_k = self.good_k;
        writeln!(f, "\n------\n")?;
        writeln!(f, "Pareto k diagnostic values:")?;
        writeln!(f, "                         {:>w$} {:>6}", "Count", "Pct.")?;
        writeln!(
            f,
            "(-Inf, {good_k:.2}]   (good)     {:w$} {:6.1}%",
            counts[0], pct[0]
        )?;
        writeln!(
            f,
            "   ({good_k:.2}, 1]   (bad)      {:w$} {:6.1}%",
            counts[1], pct[1]
        )?;
        write!(
            f,
            "   (1, Inf)   (very bad) {:w$} {:6.1}%",
            counts[2], pct[2]
        )
    }
}

impl fmt::Display for Waic {
    /// ArviZ's summary of `az.waic`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_estimate(
            f,
            "waic",
            (self.n_samples, self.pointwise.len()),
            (self.elpd, self.se, self.p_waic),
            self.warning,
        )
    }
}

impl fmt::Display for Comparison {
    /// The `az.compare` table: one row per model, best first, numbers with the formatter's
    /// precision (default 2 decimals; weights always with 3).
    ///
    /// ```
    /// use ndarray::Array3;
    /// use trellis_samplers::loo::{compare, waic, WeightMethod};
    ///
    /// let a = waic(Array3::from_elem((1, 4, 2), -1.0).view())?;
    /// let b = waic(Array3::from_elem((1, 4, 2), -2.0).view())?;
    /// let table = compare(&[("a", &a), ("b", &b)], WeightMethod::PseudoBma)?;
    /// let text = table.to_string();
    /// assert!(text.lines().next().unwrap().contains("elpd_diff"));
    /// assert!(text.lines().nth(2).unwrap().starts_with("b "));
    /// # Ok::<(), trellis_samplers::loo::LooError>(())
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prec = f.precision().unwrap_or(2);
        let header = [
            "rank",
            "elpd",
            "p",
            "elpd_diff",
            "weight",
            "se",
            "dse",
            "warning",
        ];
        let cells: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| {
                vec![
                    r.rank.to_string(),
                    format!("{:.prec$}", r.elpd),
                    format!("{:.prec$}", r.effective_parameters),
                    format!("{:.prec$}", r.elpd_diff),
                    format!("{:.3}", r.weight),
                    format!("{:.prec$}", r.se),
                    format!("{:.prec$}", r.dse),
                    r.warning.to_string(),
                ]
            })
            .collect();
        let name_width = self.rows.iter().map(|r| r.name.len()).max().unwrap_or(0);
        let widths: Vec<usize> = header
            .iter()
            .enumerate()
            .map(|(j, h)| cells.iter().map(|c| c[j].len()).fold(h.len(), usize::max))
            .collect();
        write!(f, "{:name_width$}", "")?;
        for (h, w) in header.iter().zip(&widths) {
            write!(f, "  {h:>w$}")?;
        }
        for (row, cells) in self.rows.iter().zip(&cells) {
            write!(f, "\n{:name_width$}", row.name)?;
            for (c, w) in cells.iter().zip(&widths) {
                write!(f, "  {c:>w$}")?;
            }
        }
        let method = match self.method {
            WeightMethod::Stacking => "stacking",
            WeightMethod::PseudoBma => "pseudo-BMA",
        };
        write!(
            f,
            "\n(weights by {method}; elpd on the log scale, higher is better)"
        )
    }
}
