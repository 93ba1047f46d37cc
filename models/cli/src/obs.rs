//! Turning parsed cells into each family's observation type, with the checks that only the
//! family knows (counts, symbols, vector width), still pointing at file, line and column.

use trellis_models::hmm::Sequences;

use crate::data::{Cell, RawData};

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
/// marginalises it. Vector observations with only some coordinates `NA` keep NaN there
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
    // TODO(issue 11): `Sequences::with_missing` once the library's missing-data support is
    // merged; until then a file with NA cells is refused rather than misread.
    let first = missing.iter().position(|&m| m).unwrap_or(0);
    Err(format!(
        "{}: NA cells (missing observations, the first at observation {first}) are not supported by this build yet",
        raw.source
    ))
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

/// Writes sequences in the wide layout (scalar observations) or the long one (vectors).
pub fn to_csv<O: CliObs>(sequences: &[Vec<O>]) -> String {
    let width = sequences
        .iter()
        .flat_map(|s| s.first())
        .map(CliObs::width)
        .next()
        .unwrap_or(1);
    let mut out = String::new();
    if !O::is_vector() {
        for sequence in sequences {
            let row: Vec<String> = sequence.iter().flat_map(CliObs::fields).collect();
            out.push_str(&row.join(","));
            out.push('\n');
        }
    } else {
        out.push_str("sequence,time");
        for d in 0..width {
            out.push_str(&format!(",y{d}"));
        }
        out.push('\n');
        for (s, sequence) in sequences.iter().enumerate() {
            for (t, o) in sequence.iter().enumerate() {
                out.push_str(&format!("{s},{t},{}\n", o.fields().join(",")));
            }
        }
    }
    out
}
