//! The posterior summary table that ArviZ's `az.summary` prints.
//!
//! One [`SummaryRow`] per named scalar parameter with the mean, sd (ddof = 1), the HDI
//! bounds, the MCSE of the mean and of the sd, bulk and tail ESS and rank-normalised R-hat,
//! computed as `az.summary(round_to="none")` does (see [`crate::diagnostics`]), plus an
//! optional known true value for simulation studies.
//!
//! A [`Summary`] prints as an aligned text table and serialises (serde) as a JSON object
//! keyed by parameter name whose fields are named like ArviZ's columns: `mean`, `sd`,
//! `hdi_3%`, `hdi_97%`, `mcse_mean`, `mcse_sd`, `ess_bulk`, `ess_tail`, `r_hat` (and `true`
//! when a true value was set). The HDI labels follow the HDI probability exactly as ArviZ
//! forms them, e.g. 0.94 → `hdi_3%`/`hdi_97%`, 0.89 → `hdi_5.5%`/`hdi_94.5%`. NaN values
//! serialise as JSON `null`.

use std::collections::HashSet;
use std::fmt;

use ndarray::ArrayView2;
use serde::ser::{Serialize, SerializeMap, Serializer};
use thiserror::Error;

use crate::diagnostics::{summary_stats, DEFAULT_HDI_PROB};

/// Why a [`Summary`] could not be built or changed.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum SummaryError {
    /// The HDI probability must lie strictly between 0 and 1.
    #[error("HDI probability must be in (0, 1), got {0}")]
    InvalidHdiProb(f64),
    /// Two parameters share a name; the JSON form is keyed by name, so names must be unique.
    #[error("duplicate parameter name {0:?}")]
    DuplicateName(String),
    /// A true value was given for a parameter the summary does not contain.
    #[error("no parameter named {0:?} in the summary")]
    UnknownParameter(String),
}

/// The statistics of one parameter: one row of `az.summary`.
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryRow {
    /// Parameter name (the row label).
    pub name: String,
    /// Posterior mean of the pooled draws.
    pub mean: f64,
    /// Posterior standard deviation of the pooled draws (ddof = 1).
    pub sd: f64,
    /// Lower bound of the highest-density interval (`hdi_3%` at 94 %).
    pub hdi_lower: f64,
    /// Upper bound of the highest-density interval (`hdi_97%` at 94 %).
    pub hdi_upper: f64,
    /// Monte Carlo standard error of the mean.
    pub mcse_mean: f64,
    /// Monte Carlo standard error of the sd.
    pub mcse_sd: f64,
    /// Bulk effective sample size.
    pub ess_bulk: f64,
    /// Tail effective sample size.
    pub ess_tail: f64,
    /// Rank-normalised split R-hat (NaN for a single chain).
    pub r_hat: f64,
    /// Known true value of the parameter, if any (simulation studies, recovery tests).
    pub true_value: Option<f64>,
}

impl SummaryRow {
    /// Computes the row for draws shaped `(chains, draws)` with HDI probability `hdi_prob`.
    ///
    /// Never panics: an invalid `hdi_prob` gives NaN HDI bounds, and the diagnostics follow
    /// the edge-case rules of [`crate::diagnostics`] (NaN for NaN draws or fewer than four
    /// draws per chain, NaN R-hat for one chain).
    ///
    /// # Example
    /// ```
    /// use ndarray::Array2;
    /// use trellis_samplers::SummaryRow;
    ///
    /// let draws = Array2::from_shape_fn((2, 50), |(c, i)| ((c * 50 + i) as f64 * 0.618).fract());
    /// let row = SummaryRow::from_draws("theta", draws.view(), 0.94);
    /// assert!((row.mean - 0.5).abs() < 0.05);
    /// assert!(row.hdi_lower < row.hdi_upper);
    /// ```
    pub fn from_draws(name: impl Into<String>, draws: ArrayView2<'_, f64>, hdi_prob: f64) -> Self {
        let stats = summary_stats(draws, hdi_prob);
        SummaryRow {
            name: name.into(),
            mean: stats.mean,
            sd: stats.sd,
            hdi_lower: stats.hdi.0,
            hdi_upper: stats.hdi.1,
            mcse_mean: stats.mcse_mean,
            mcse_sd: stats.mcse_sd,
            ess_bulk: stats.ess_bulk,
            ess_tail: stats.ess_tail,
            r_hat: stats.r_hat,
            true_value: None,
        }
    }
}

/// A posterior summary table: one [`SummaryRow`] per parameter, in the order given.
///
/// # Example
/// ```
/// use ndarray::Array2;
/// use trellis_samplers::Summary;
///
/// let mu = Array2::from_shape_fn((4, 100), |(c, i)| ((c * 100 + i) as f64 * 0.618).fract());
/// let sigma = mu.mapv(|x| 1.0 + x * x);
/// let summary = Summary::new([("mu", mu.view()), ("sigma", sigma.view())], 0.94)?
///     .with_true_values([("mu", 0.5)])?;
///
/// assert_eq!(summary.hdi_labels(), ("hdi_3%".to_string(), "hdi_97%".to_string()));
/// println!("{summary}"); // aligned table, like az.summary
/// let json = serde_json::to_value(&summary).unwrap();
/// assert!(json["mu"]["ess_bulk"].as_f64().unwrap() > 100.0);
/// assert_eq!(json["mu"]["true"], 0.5);
/// # Ok::<(), trellis_samplers::SummaryError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    hdi_prob: f64,
    rows: Vec<SummaryRow>,
}

impl Summary {
    /// Builds the table from `(name, draws)` pairs, each draws array shaped `(chains, draws)`,
    /// and the HDI probability (ArviZ's default is [`DEFAULT_HDI_PROB`] = 0.94).
    ///
    /// Errors if `hdi_prob` is not strictly between 0 and 1, or if a name repeats.
    pub fn new<'a, N, I>(params: I, hdi_prob: f64) -> Result<Self, SummaryError>
    where
        N: Into<String>,
        I: IntoIterator<Item = (N, ArrayView2<'a, f64>)>,
    {
        if !(hdi_prob > 0.0 && hdi_prob < 1.0) {
            return Err(SummaryError::InvalidHdiProb(hdi_prob));
        }
        let mut seen = HashSet::new();
        let mut rows = Vec::new();
        for (name, draws) in params {
            let name = name.into();
            if !seen.insert(name.clone()) {
                return Err(SummaryError::DuplicateName(name));
            }
            rows.push(SummaryRow::from_draws(name, draws, hdi_prob));
        }
        Ok(Summary { hdi_prob, rows })
    }

    /// Like [`Summary::new`] with ArviZ's default HDI probability, 0.94.
    pub fn with_default_hdi<'a, N, I>(params: I) -> Result<Self, SummaryError>
    where
        N: Into<String>,
        I: IntoIterator<Item = (N, ArrayView2<'a, f64>)>,
    {
        Self::new(params, DEFAULT_HDI_PROB)
    }

    /// Sets the true value of parameter `name` (shown in the `true` column).
    pub fn set_true_value(&mut self, name: &str, value: f64) -> Result<(), SummaryError> {
        match self.rows.iter_mut().find(|r| r.name == name) {
            Some(row) => {
                row.true_value = Some(value);
                Ok(())
            }
            None => Err(SummaryError::UnknownParameter(name.to_string())),
        }
    }

    /// Sets several true values at once (builder style); see [`Summary::set_true_value`].
    pub fn with_true_values<'n, I>(mut self, values: I) -> Result<Self, SummaryError>
    where
        I: IntoIterator<Item = (&'n str, f64)>,
    {
        for (name, value) in values {
            self.set_true_value(name, value)?;
        }
        Ok(self)
    }

    /// The HDI probability the table was built with.
    pub fn hdi_prob(&self) -> f64 {
        self.hdi_prob
    }

    /// All rows, in the order the parameters were given.
    pub fn rows(&self) -> &[SummaryRow] {
        &self.rows
    }

    /// The row of parameter `name`, if present.
    pub fn row(&self, name: &str) -> Option<&SummaryRow> {
        self.rows.iter().find(|r| r.name == name)
    }

    /// Column labels of the HDI bounds as ArviZ forms them: `hdi_{100·α/2:g}%` and
    /// `hdi_{100·(1−α/2):g}%` with `α = 1 − hdi_prob` (0.94 → `hdi_3%`, `hdi_97%`).
    pub fn hdi_labels(&self) -> (String, String) {
        let alpha = 1.0 - self.hdi_prob;
        (
            format!("hdi_{}%", format_g(100.0 * alpha / 2.0)),
            format!("hdi_{}%", format_g(100.0 * (1.0 - alpha / 2.0))),
        )
    }

    /// Pretty-printed JSON of the table (see the [module docs](self)).
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).expect("a map of numbers always serialises")
    }

    fn has_true_values(&self) -> bool {
        self.rows.iter().any(|r| r.true_value.is_some())
    }
}

/// One row serialised with the table's HDI labels.
struct RowFields<'a> {
    row: &'a SummaryRow,
    labels: &'a (String, String),
}

impl Serialize for RowFields<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let r = self.row;
        let len = 9 + usize::from(r.true_value.is_some());
        let mut map = serializer.serialize_map(Some(len))?;
        map.serialize_entry("mean", &r.mean)?;
        map.serialize_entry("sd", &r.sd)?;
        map.serialize_entry(self.labels.0.as_str(), &r.hdi_lower)?;
        map.serialize_entry(self.labels.1.as_str(), &r.hdi_upper)?;
        map.serialize_entry("mcse_mean", &r.mcse_mean)?;
        map.serialize_entry("mcse_sd", &r.mcse_sd)?;
        map.serialize_entry("ess_bulk", &r.ess_bulk)?;
        map.serialize_entry("ess_tail", &r.ess_tail)?;
        map.serialize_entry("r_hat", &r.r_hat)?;
        if let Some(t) = r.true_value {
            map.serialize_entry("true", &t)?;
        }
        map.end()
    }
}

impl Serialize for Summary {
    /// A map from parameter name to its fields, in row order.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let labels = self.hdi_labels();
        let mut map = serializer.serialize_map(Some(self.rows.len()))?;
        for row in &self.rows {
            map.serialize_entry(
                &row.name,
                &RowFields {
                    row,
                    labels: &labels,
                },
            )?;
        }
        map.end()
    }
}

impl fmt::Display for Summary {
    /// An aligned text table like `az.summary`: names left-aligned, numbers right-aligned.
    ///
    /// Means, sds, HDI bounds, MCSEs and true values use the formatter's precision (default
    /// 3 decimals, e.g. `format!("{summary:.5}")` for more); ESS is shown as a whole number
    /// and R-hat with 2 decimals, as ArviZ rounds them. NaN shows as `NaN`. An element whose
    /// draws are all equal (sd 0: a structural zero, a fixed entry) shows `-` for its MCSEs,
    /// ESS and R-hat, which say nothing about a constant.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prec = f.precision().unwrap_or(3);
        let (lo, hi) = self.hdi_labels();
        let with_true = self.has_true_values();
        let mut header: Vec<String> = [
            "mean",
            "sd",
            lo.as_str(),
            hi.as_str(),
            "mcse_mean",
            "mcse_sd",
            "ess_bulk",
            "ess_tail",
            "r_hat",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        if with_true {
            header.push("true".to_string());
        }
        let cells: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| {
                let mut c = vec![
                    fmt_num(r.mean, prec),
                    fmt_num(r.sd, prec),
                    fmt_num(r.hdi_lower, prec),
                    fmt_num(r.hdi_upper, prec),
                ];
                if r.sd == 0.0 && r.mean.is_finite() {
                    c.extend(std::iter::repeat("-".to_string()).take(5));
                } else {
                    c.extend([
                        fmt_num(r.mcse_mean, prec),
                        fmt_num(r.mcse_sd, prec),
                        fmt_num(r.ess_bulk, 0),
                        fmt_num(r.ess_tail, 0),
                        fmt_num(r.r_hat, 2),
                    ]);
                }
                if with_true {
                    c.push(
                        r.true_value
                            .map_or_else(|| "-".to_string(), |t| fmt_num(t, prec)),
                    );
                }
                c
            })
            .collect();

        let name_width = self
            .rows
            .iter()
            .map(|r| r.name.chars().count())
            .max()
            .unwrap_or(0);
        let widths: Vec<usize> = header
            .iter()
            .enumerate()
            .map(|(j, h)| {
                cells
                    .iter()
                    .map(|c| c[j].chars().count())
                    .fold(h.len(), usize::max)
            })
            .collect();

        write!(f, "{:name_width$}", "")?;
        for (h, w) in header.iter().zip(&widths) {
            write!(f, "  {h:>w$}")?;
        }
        for (row, c) in self.rows.iter().zip(&cells) {
            writeln!(f)?;
            write!(f, "{:<name_width$}", row.name)?;
            for (v, w) in c.iter().zip(&widths) {
                write!(f, "  {v:>w$}")?;
            }
        }
        Ok(())
    }
}

fn fmt_num(x: f64, prec: usize) -> String {
    if x.is_nan() {
        "NaN".to_string()
    } else {
        format!("{x:.prec$}")
    }
}

/// Python's `format(x, "g")`: 6 significant digits, trailing zeros removed, scientific
/// notation outside `1e-4 ≤ |x| < 1e6`. Used for the HDI column labels so they match ArviZ's
/// (`100 · 0.06 / 2` is 3.0000000000000027 in floating point and must print as `3`).
fn format_g(x: f64) -> String {
    if !x.is_finite() {
        return format!("{x}");
    }
    if x == 0.0 {
        return "0".to_string();
    }
    // Round to 6 significant digits first; the exponent after rounding picks the notation.
    let sci = format!("{x:.5e}");
    let (mantissa, exp) = sci.split_once('e').expect("`{:e}` always has an exponent");
    let exp: i32 = exp.parse().expect("exponent is an integer");
    if !(-4..6).contains(&exp) {
        let m = strip_zeros(mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{m}e{sign}{:02}", exp.abs());
    }
    let decimals = (5 - exp).max(0) as usize;
    strip_zeros(&format!("{x:.decimals$}"))
}

fn strip_zeros(s: &str) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::{format_g, Summary};

    #[test]
    fn a_constant_element_shows_no_diagnostics() {
        let varying = ndarray::Array2::from_shape_fn((2, 50), |(c, i)| ((i * 7 + c) % 11) as f64);
        let fixed = ndarray::Array2::<f64>::zeros((2, 50));
        let summary =
            Summary::with_default_hdi([("p[0,1]", varying.view()), ("p[1,0]", fixed.view())])
                .unwrap();
        let text = summary.to_string();
        let row = |name: &str| {
            text.lines()
                .find(|l| l.starts_with(name))
                .unwrap()
                .to_string()
        };
        let fixed_row = row("p[1,0]");
        let fixed_cells: Vec<&str> = fixed_row.split_whitespace().skip(1).collect();
        assert_eq!(fixed_cells[..4], ["0.000"; 4]);
        assert_eq!(fixed_cells[4..], ["-"; 5]);
        assert!(!row("p[0,1]").contains(" -"), "{text}");
    }

    #[test]
    fn format_g_matches_python() {
        assert_eq!(format_g(100.0 * (1.0 - 0.94) / 2.0), "3");
        assert_eq!(format_g(100.0 * (1.0 - (1.0 - 0.94) / 2.0)), "97");
        assert_eq!(format_g(100.0 * (1.0 - 0.89) / 2.0), "5.5");
        assert_eq!(format_g(100.0 * (1.0 - 0.95) / 2.0), "2.5");
        assert_eq!(format_g(97.5), "97.5");
        assert_eq!(format_g(0.00001), "1e-05");
        assert_eq!(format_g(1234567.0), "1.23457e+06");
    }
}
