//! Turning parsed cells into each family's observation type, with the checks that only the
//! family knows (counts, symbols, vector width), still pointing at file, line and column.

use trellis_models::hmm::Sequences;

use crate::covariates::SequenceRows;
use crate::data::{Cell, RawData, MISSING};

/// An observation type the command can read from cells and write back to CSV.
pub trait CliObs: Sized + Clone {
    /// Converts one time step's cells; `context` carries what the check needs.
    fn from_cells(cells: &[Cell], source: &str, context: &ObsContext) -> Result<Self, String>;
    /// The observation's CSV fields.
    fn fields(&self) -> Vec<String>;
    /// Values per observation (1 except for vectors).
    fn width(&self) -> usize {
        1
    }
    /// Whether observations are vectors, written in the long CSV layout (even of width 1).
    fn is_vector() -> bool {
        false
    }
    /// The built-in dataset's value `y` as this type, if the type is real-valued.
    fn from_builtin(_y: f64) -> Option<Self> {
        None
    }
    /// Some valid observation of width `dim`: a model needs data to exist, `simulate` has
    /// none yet.
    fn placeholder(dim: usize) -> Self;
    /// The value drawn in plots (the first component of a vector).
    fn plot_value(&self) -> f64;
}

/// What converting a cell may need to know about the model.
#[derive(Debug, Clone, Default)]
pub struct ObsContext {
    /// The model's name, for messages.
    pub model: String,
    /// Number of categories (categorical model).
    pub symbols: Option<usize>,
}

fn at(source: &str, cell: &Cell) -> String {
    format!("{source}:{}:{}", cell.line, cell.column)
}

fn one_value<'a>(
    cells: &'a [Cell],
    source: &str,
    context: &ObsContext,
) -> Result<&'a Cell, String> {
    match cells {
        [cell] => Ok(cell),
        _ => Err(format!(
            "{source}:{}: model '{}' takes one value per observation, found {}",
            cells.first().map_or(0, |c| c.line),
            context.model,
            cells.len()
        )),
    }
}

/// A non-negative whole number up to `u32::MAX` (the largest count or symbol the models
/// store), or `None`.
fn whole(value: f64) -> Option<u64> {
    (value >= 0.0 && value.fract() == 0.0 && value <= u32::MAX as f64).then_some(value as u64)
}

/// `cell` as a whole number up to `u32::MAX`, or a message naming the cell and the rule it
/// breaks; `what` is the plural noun ("Poisson counts", "categorical symbols").
fn whole_cell(cell: &Cell, source: &str, what: &str) -> Result<u64, String> {
    whole(cell.value).ok_or_else(|| {
        let rule = if cell.value >= 0.0 && cell.value.fract() == 0.0 {
            format!("can be at most {} (u32::MAX)", u32::MAX)
        } else {
            "must be non-negative integers".to_string()
        };
        format!("{}: {what} {rule}, found {}", at(source, cell), cell.value)
    })
}

impl CliObs for f64 {
    fn from_cells(cells: &[Cell], source: &str, context: &ObsContext) -> Result<Self, String> {
        Ok(one_value(cells, source, context)?.value)
    }
    fn fields(&self) -> Vec<String> {
        vec![format!("{self:?}")]
    }
    fn from_builtin(y: f64) -> Option<Self> {
        Some(y)
    }
    fn placeholder(_dim: usize) -> Self {
        1.0
    }
    fn plot_value(&self) -> f64 {
        *self
    }
}

/// Poisson counts.
impl CliObs for u32 {
    fn from_cells(cells: &[Cell], source: &str, context: &ObsContext) -> Result<Self, String> {
        let cell = one_value(cells, source, context)?;
        // `whole_cell` caps at u32::MAX, so the cast is exact.
        whole_cell(cell, source, "Poisson counts").map(|v| v as u32)
    }
    fn fields(&self) -> Vec<String> {
        vec![self.to_string()]
    }
    fn placeholder(_dim: usize) -> Self {
        0
    }
    fn plot_value(&self) -> f64 {
        *self as f64
    }
}

/// Categorical symbols.
impl CliObs for usize {
    fn from_cells(cells: &[Cell], source: &str, context: &ObsContext) -> Result<Self, String> {
        let cell = one_value(cells, source, context)?;
        let symbol = whole_cell(cell, source, "categorical symbols")? as usize;
        if let Some(m) = context.symbols {
            if symbol >= m {
                return Err(format!(
                    "{}: symbol {symbol} is out of range for {m} categories (0 to {})",
                    at(source, cell),
                    m - 1
                ));
            }
        }
        Ok(symbol)
    }
    fn fields(&self) -> Vec<String> {
        vec![self.to_string()]
    }
    fn placeholder(_dim: usize) -> Self {
        0
    }
    fn plot_value(&self) -> f64 {
        *self as f64
    }
}

/// Vector observations (diagonal multivariate Gaussian).
impl CliObs for Vec<f64> {
    fn from_cells(cells: &[Cell], _source: &str, _context: &ObsContext) -> Result<Self, String> {
        Ok(cells.iter().map(|c| c.value).collect())
    }
    fn fields(&self) -> Vec<String> {
        self.iter().map(|v| format!("{v:?}")).collect()
    }
    fn width(&self) -> usize {
        self.len()
    }
    fn is_vector() -> bool {
        true
    }
    fn placeholder(dim: usize) -> Self {
        vec![0.0; dim]
    }
    fn plot_value(&self) -> f64 {
        self.first().copied().unwrap_or(f64::NAN)
    }
}

/// Converts every observation of `raw`. A step whose cells are all `NA` is missing: it holds
/// the family's placeholder and is flagged in the sequences' missing mask, so the model
/// marginalises it (and an AR(1) model, which reads NaN there instead, conditions the step
/// after on the last observed value: `HmmModel` stores the family's missing marker). Vector observations with only some coordinates `NA` keep NaN there
/// (the diagonal Gaussian marginalises those coordinates alone).
pub fn sequences<O: CliObs + trellis_models::hmm::Observation>(
    raw: &RawData,
    context: &ObsContext,
) -> Result<Sequences<O>, String> {
    let mut out = Vec::with_capacity(raw.sequences.len());
    let mut missing = Vec::new();
    for sequence in &raw.sequences {
        let mut values = Vec::with_capacity(sequence.steps.len());
        for cells in &sequence.steps {
            let is_missing = !cells.is_empty() && cells.iter().all(|c| c.missing);
            missing.push(is_missing);
            values.push(if is_missing {
                O::placeholder(cells.len())
            } else {
                O::from_cells(cells, &raw.source, context)?
            });
        }
        out.push(values);
    }
    let sequences = Sequences::new(out).map_err(|e| format!("{}: {e}", raw.source))?;
    if !missing.contains(&true) {
        return Ok(sequences);
    }
    sequences
        .with_missing(missing)
        .map_err(|e| format!("{}: {e}", raw.source))
}

/// The largest symbol in a categorical file, plus one (at least 2).
pub fn inferred_symbols(raw: &RawData) -> usize {
    let max = raw
        .sequences
        .iter()
        .flat_map(|s| s.steps.iter().flatten())
        .filter_map(|c| whole(c.value))
        .max()
        .unwrap_or(0) as usize;
    (max + 1).max(2)
}

/// How [`to_csv`] lays out a file.
pub struct CsvLayout<'a> {
    /// Missing flags, one per observation in flat order (written `NA`).
    pub missing: Option<&'a [bool]>,
    /// Sequence labels and first times: the long layout with these (e.g. a covariates
    /// file's), in place of 0, 1, … from time 0.
    pub rows: Option<&'a [SequenceRows]>,
    /// The value column's name in the long layout of scalar observations.
    pub column: &'a str,
}

/// Writes sequences in the wide layout (scalar observations) or the long one (vectors, or
/// when `layout.rows` gives labels and times), `NA` at missing steps.
pub fn to_csv<O: CliObs>(sequences: &[Vec<O>], layout: &CsvLayout) -> String {
    let width = sequences
        .iter()
        .flatten()
        .map(CliObs::width)
        .next()
        .unwrap_or(1);
    let missing = |flat: usize| layout.missing.is_some_and(|m| m[flat]);
    let fields = |o: &O, flat: usize| {
        if missing(flat) {
            vec![MISSING.to_string(); width]
        } else {
            o.fields()
        }
    };
    let mut out = String::new();
    let mut flat = 0;
    if !O::is_vector() && layout.rows.is_none() {
        for sequence in sequences {
            let row: Vec<String> = sequence
                .iter()
                .flat_map(|o| {
                    flat += 1;
                    fields(o, flat - 1)
                })
                .collect();
            out.push_str(&row.join(","));
            out.push('\n');
        }
        return out;
    }
    out.push_str("sequence,time");
    if O::is_vector() {
        for d in 0..width {
            out.push_str(&format!(",y{d}"));
        }
    } else {
        out.push_str(&format!(",{}", layout.column));
    }
    out.push('\n');
    for (s, sequence) in sequences.iter().enumerate() {
        let (label, first_time) = match layout.rows.and_then(|r| r.get(s)) {
            Some(rows) if rows.label.contains([',', '"', '\n', '\r']) => (
                format!("\"{}\"", rows.label.replace('"', "\"\"")),
                rows.first_time,
            ),
            Some(rows) => (rows.label.clone(), rows.first_time),
            None => (s.to_string(), 0),
        };
        for (t, o) in sequence.iter().enumerate() {
            let time = first_time + t as i64;
            out.push_str(&format!("{label},{time},{}\n", fields(o, flat).join(",")));
            flat += 1;
        }
    }
    out
}
