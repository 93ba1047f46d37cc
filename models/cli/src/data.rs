//! Reading observation files: the two CSV layouts the command accepts.
//!
//! - **Wide**: one sequence per row, one observation per cell, no header. Rows may have
//!   different lengths (trailing empty cells are ignored, so spreadsheet exports of ragged
//!   rows work).
//! - **Long**: a header `sequence,time,<value>[,<value>…]`, then one row per observation.
//!   Sequences are identified by any label and ordered by first appearance; rows may come in
//!   any order and are sorted by `time` within a sequence. Several value columns make vector
//!   observations (the `diag-gaussian` model). The times of a sequence must be consecutive
//!   whole numbers (any start): a gap (0, 1, 3 or 0, 10, 20) is an error naming the sequence
//!   and the jump, not silently closed up — a missing observation is a row with `NA` values.
//!
//! `NA` in a value cell (either layout) is a missing observation, marginalised by the model;
//! `NaN`, `inf` and empty cells inside a row stay errors. Files that would be silently
//! misread as wide data are refused with a hint ([`crate::layout_traps`]): a long-layout file
//! without its header, a pandas export with its index column, a header row of column
//! numbers.
//!
//! Every value keeps the line and column it came from, so the model-specific checks done
//! later (counts, symbols) can still point at the cell.

use std::collections::HashMap;
use std::path::Path;

use thiserror::Error;

/// The text of a value cell that marks a missing observation.
pub const MISSING: &str = "NA";

/// One parsed cell: its value and where it was.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cell {
    /// The number, or NaN for a missing cell.
    pub value: f64,
    pub line: usize,
    pub column: usize,
    /// Whether the cell was [`MISSING`] (`NA`).
    pub missing: bool,
}

/// One sequence: its label and, per time step, the observation's cells.
#[derive(Debug, Clone, PartialEq)]
pub struct RawSequence {
    pub label: String,
    /// The time of the first step (0 in the wide layout); the others follow one by one.
    pub first_time: i64,
    /// The line of the first step's row.
    pub first_line: usize,
    pub steps: Vec<Vec<Cell>>,
}

/// A parsed data file, before any model-specific check.
#[derive(Debug, Clone, PartialEq)]
pub struct RawData {
    /// The file name as given, for messages.
    pub source: String,
    pub sequences: Vec<RawSequence>,
    /// Number of values per observation (1 for the wide layout).
    pub dim: usize,
    /// Whether the file is in the long layout (with its header line), rather than the wide one.
    pub long: bool,
    /// The header line of the long layout (0 for the wide layout).
    pub header_line: usize,
    /// The names of the value columns in the long layout's header (empty for the wide one).
    pub columns: Vec<String>,
}

/// What is wrong with a data file, and where.
#[derive(Debug, Error, PartialEq)]
pub enum DataError {
    #[error("cannot read data file '{path}': {reason}")]
    Unreadable { path: String, reason: String },
    #[error("{path}:{line}:{column}: unreadable CSV: {reason}")]
    Csv {
        path: String,
        line: usize,
        column: usize,
        reason: String,
    },
    #[error("{path}:{line}:{column}: '{text}' is not a number")]
    NotANumber {
        path: String,
        line: usize,
        column: usize,
        text: String,
    },
    #[error("{path}:{line}:{column}: {text} is not a finite number")]
    NonFinite {
        path: String,
        line: usize,
        column: usize,
        text: String,
    },
    #[error("{path}:{line}:{column}: empty cell inside a row")]
    EmptyCell {
        path: String,
        line: usize,
        column: usize,
    },
    #[error("{path}:{line}: {found} fields, but the header has {expected}: rows must match the header in the long layout")]
    Ragged {
        path: String,
        line: usize,
        found: usize,
        expected: usize,
    },
    #[error(
        "{path}:{line}: the long layout needs a header 'sequence,time,<value>…', found '{found}'"
    )]
    BadHeader {
        path: String,
        line: usize,
        found: String,
    },
    #[error("{path}:{line}:{column}: time '{text}' must be a whole number")]
    BadTime {
        path: String,
        line: usize,
        column: usize,
        text: String,
    },
    #[error("{path}:{line}: time {time} appears twice in sequence '{label}' (first on line {first_line})")]
    DuplicateTime {
        path: String,
        line: usize,
        time: i64,
        label: String,
        first_line: usize,
    },
    #[error("{path}:{line}: sequence '{label}' jumps from time {from} to time {to} (line {from_line}): times must be consecutive; write a row with NA values for each missing observation")]
    TimeGap {
        path: String,
        line: usize,
        label: String,
        from: i64,
        to: i64,
        from_line: usize,
    },
    #[error("{path}:{line}:{column}: time 'NA': a time cannot be missing (NA is for values)")]
    MissingTime {
        path: String,
        line: usize,
        column: usize,
    },
    #[error("{path}:{line}: the first cell is empty: this looks like a pandas export with its index column; write it with to_csv(index=False) or delete the first column")]
    IndexColumn { path: String, line: usize },
    #[error("{path}:{line}: the first row is {first}, {second}, …, {last}, which looks like a header of column numbers, but the wide layout has no header: delete the line (pandas: to_csv(header=False))")]
    NumericHeader {
        path: String,
        line: usize,
        first: usize,
        second: usize,
        last: usize,
    },
    #[error("{path}: this looks like the long layout without its header (column 1 repeats like a sequence label, column 2 counts up like a time): add the header line 'sequence,time,value' (wide data has one sequence per row)")]
    HeaderlessLong { path: String },
    #[error("{path}: no observations")]
    Empty { path: String },
    #[error("{path}:{line}: a header but no observations after it")]
    HeaderOnly { path: String, line: usize },
}

/// Reads and parses `path`.
pub fn read(path: &Path) -> Result<RawData, DataError> {
    let display = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| DataError::Unreadable {
        path: display.clone(),
        reason: crate::io::io_reason(&e),
    })?;
    parse(&display, &bytes)
}

/// Parses CSV bytes; `source` names the file in messages.
pub fn parse(source: &str, bytes: &[u8]) -> Result<RawData, DataError> {
    // Comment lines are blanked here rather than by the reader, whose line and byte
    // positions then skip them; blank lines are ignored below.
    let bytes = &blank_comments(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(bytes.as_slice());
    // Line ends as the reader sees them: LF, CRLF (counted at its LF) and a lone CR
    // (classic Mac files), so that messages name the right line in all three.
    let newlines: Vec<usize> = bytes
        .iter()
        .enumerate()
        .filter_map(|(i, &b)| is_line_end(bytes, i, b).then_some(i))
        .collect();
    let line_at = |position: Option<&csv::Position>| {
        position.map_or(0, |p| {
            // After a CRLF the reader starts the next record at the LF: skip line ends.
            let mut start = p.byte() as usize;
            while matches!(bytes.get(start), Some(b'\r' | b'\n')) {
                start += 1;
            }
            1 + newlines.partition_point(|&i| i < start)
        })
    };
    let mut rows: Vec<(usize, Vec<String>)> = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let (column, reason) = csv_reason(&e);
            DataError::Csv {
                path: source.to_string(),
                line: line_at(e.position()),
                column,
                reason,
            }
        })?;
        let line = line_at(record.position());
        let fields: Vec<String> = record.iter().map(str::to_string).collect();
        if fields.iter().all(|f| f.is_empty()) {
            continue;
        }
        rows.push((line, fields));
    }
    let Some((_, first)) = rows.first() else {
        return Err(DataError::Empty {
            path: source.to_string(),
        });
    };
    let is_long = first[0].eq_ignore_ascii_case("sequence");
    crate::layout_traps::check(source, &rows, is_long)?;
    let data = if is_long {
        parse_long(source, &rows)?
    } else {
        parse_wide(source, &rows)?
    };
    if data.sequences.is_empty() {
        return Err(DataError::Empty {
            path: source.to_string(),
        });
    }
    Ok(data)
}

/// Whether byte `b` at `i` ends a line: an LF, or a CR not followed by an LF.
fn is_line_end(bytes: &[u8], i: usize, b: u8) -> bool {
    b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n'))
}

/// `bytes` with every comment line (starting with `#`, outside a quoted field) turned into
/// spaces, so that positions stay those of the file.
fn blank_comments(bytes: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    let (mut in_quotes, mut line_start, mut in_comment) = (false, true, false);
    for byte in out.iter_mut() {
        if in_comment {
            // A CR ends a comment too (CR-only files); in a CRLF the LF then ends nothing.
            if matches!(*byte, b'\n' | b'\r') {
                in_comment = false;
                line_start = true;
            } else {
                *byte = b' ';
            }
            continue;
        }
        if line_start && !in_quotes && *byte == b'#' {
            in_comment = true;
            *byte = b' ';
            continue;
        }
        match *byte {
            b'"' => in_quotes = !in_quotes,
            b'\n' | b'\r' if !in_quotes => {
                line_start = true;
                continue;
            }
            _ => {}
        }
        line_start = false;
    }
    out
}

/// The column (1-based) and reason of a CSV error. Only invalid UTF-8 can happen with the
/// reader's settings (flexible rows, no headers, in-memory input).
fn csv_reason(e: &csv::Error) -> (usize, String) {
    match e.kind() {
        csv::ErrorKind::Utf8 { err, .. } => (
            err.field() + 1,
            "invalid UTF-8 (the file must be UTF-8 or ASCII text)".to_string(),
        ),
        other => (1, format!("{other:?}")),
    }
}

/// Text from the file as shown in a one-line message: control characters escaped, and cut
/// after 40 characters.
pub(crate) fn shown(text: &str) -> String {
    const MAX: usize = 40;
    let escaped: String = text.escape_debug().collect();
    if escaped.chars().count() > MAX {
        let cut: String = escaped.chars().take(MAX).collect();
        format!("{cut}…")
    } else {
        escaped
    }
}

/// A value cell: a finite number, or [`MISSING`].
fn value_cell(source: &str, text: &str, line: usize, column: usize) -> Result<Cell, DataError> {
    if text == MISSING {
        return Ok(Cell {
            value: f64::NAN,
            line,
            column,
            missing: true,
        });
    }
    number(source, text, line, column)
}

/// A finite number.
pub(crate) fn number(
    source: &str,
    text: &str,
    line: usize,
    column: usize,
) -> Result<Cell, DataError> {
    let value: f64 = text.parse().map_err(|_| DataError::NotANumber {
        path: source.to_string(),
        line,
        column,
        text: shown(text),
    })?;
    if !value.is_finite() {
        return Err(DataError::NonFinite {
            path: source.to_string(),
            line,
            column,
            text: shown(text),
        });
    }
    Ok(Cell {
        value,
        line,
        column,
        missing: false,
    })
}

fn parse_wide(source: &str, rows: &[(usize, Vec<String>)]) -> Result<RawData, DataError> {
    let mut sequences = Vec::with_capacity(rows.len());
    for (index, (line, fields)) in rows.iter().enumerate() {
        // Trailing empty cells pad ragged rows in spreadsheet exports; empty cells before the
        // last value are a hole in the sequence.
        let used = fields
            .iter()
            .rposition(|f| !f.is_empty())
            .map_or(0, |p| p + 1);
        let mut steps = Vec::with_capacity(used);
        for (i, text) in fields[..used].iter().enumerate() {
            if text.is_empty() {
                return Err(DataError::EmptyCell {
                    path: source.to_string(),
                    line: *line,
                    column: i + 1,
                });
            }
            steps.push(vec![value_cell(source, text, *line, i + 1)?]);
        }
        sequences.push(RawSequence {
            label: index.to_string(),
            first_time: 0,
            first_line: *line,
            steps,
        });
    }
    Ok(RawData {
        source: source.to_string(),
        sequences,
        dim: 1,
        long: false,
        header_line: 0,
        columns: Vec::new(),
    })
}

fn parse_long(source: &str, rows: &[(usize, Vec<String>)]) -> Result<RawData, DataError> {
    let (header_line, header) = &rows[0];
    if rows.len() == 1 {
        return Err(DataError::HeaderOnly {
            path: source.to_string(),
            line: *header_line,
        });
    }
    if header.len() < 3 || !header[1].eq_ignore_ascii_case("time") {
        return Err(DataError::BadHeader {
            path: source.to_string(),
            line: *header_line,
            found: shown(&header.join(",")),
        });
    }
    let dim = header.len() - 2;
    let mut order: Vec<String> = Vec::new();
    // Per sequence: (time, line, cells).
    let mut by_label: HashMap<String, Vec<(i64, usize, Vec<Cell>)>> = HashMap::new();
    for (line, fields) in &rows[1..] {
        if fields.len() != header.len() {
            return Err(DataError::Ragged {
                path: source.to_string(),
                line: *line,
                found: fields.len(),
                expected: header.len(),
            });
        }
        let label = fields[0].clone();
        if fields[1] == MISSING {
            return Err(DataError::MissingTime {
                path: source.to_string(),
                line: *line,
                column: 2,
            });
        }
        let time_cell = number(source, &fields[1], *line, 2)?;
        if time_cell.value.fract() != 0.0 || time_cell.value.abs() > 9.0e15 {
            return Err(DataError::BadTime {
                path: source.to_string(),
                line: *line,
                column: 2,
                text: shown(&fields[1]),
            });
        }
        let mut cells = Vec::with_capacity(dim);
        for (i, text) in fields[2..].iter().enumerate() {
            cells.push(value_cell(source, text, *line, i + 3)?);
        }
        let entry = by_label.entry(label.clone()).or_insert_with(|| {
            order.push(label);
            Vec::new()
        });
        entry.push((time_cell.value as i64, *line, cells));
    }
    let mut sequences = Vec::with_capacity(order.len());
    for label in order {
        let mut steps = by_label.remove(&label).unwrap_or_default();
        // Stable: equal times keep file order, so the duplicate check names the later line.
        steps.sort_by_key(|(time, _, _)| *time);
        for pair in steps.windows(2) {
            if pair[0].0 == pair[1].0 {
                return Err(DataError::DuplicateTime {
                    path: source.to_string(),
                    line: pair[1].1,
                    time: pair[1].0,
                    label: shown(&label),
                    first_line: pair[0].1,
                });
            }
            if pair[1].0 != pair[0].0 + 1 {
                return Err(DataError::TimeGap {
                    path: source.to_string(),
                    line: pair[1].1,
                    label: shown(&label),
                    from: pair[0].0,
                    to: pair[1].0,
                    from_line: pair[0].1,
                });
            }
        }
        let (first_time, first_line) = steps.first().map_or((0, 0), |(t, l, _)| (*t, *l));
        sequences.push(RawSequence {
            label,
            first_time,
            first_line,
            steps: steps.into_iter().map(|(_, _, cells)| cells).collect(),
        });
    }
    Ok(RawData {
        source: source.to_string(),
        sequences,
        dim,
        long: true,
        header_line: *header_line,
        columns: header[2..].to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(data: &RawData) -> Vec<Vec<f64>> {
        data.sequences
            .iter()
            .map(|s| s.steps.iter().map(|c| c[0].value).collect())
            .collect()
    }

    #[test]
    fn wide_rows_may_be_ragged() {
        let data = parse("d.csv", b"1,2,3\n4.5,5\n\n6,,,\n").unwrap();
        assert_eq!(
            values(&data),
            vec![vec![1.0, 2.0, 3.0], vec![4.5, 5.0], vec![6.0]]
        );
        assert_eq!(data.sequences[1].steps[1][0].line, 2);
        assert_eq!(data.sequences[1].steps[1][0].column, 2);
    }

    #[test]
    fn long_layout_groups_and_sorts() {
        let text = b"sequence,time,value\nb,1,20\na,0,1\nb,0,10\na,1,2\n";
        let data = parse("d.csv", text).unwrap();
        assert_eq!(data.sequences[0].label, "b");
        assert_eq!(values(&data), vec![vec![10.0, 20.0], vec![1.0, 2.0]]);
    }

    #[test]
    fn long_layout_vector_observations() {
        let text = b"sequence,time,u,v\n0,0,1,2\n0,1,3,4\n";
        let data = parse("d.csv", text).unwrap();
        assert_eq!(data.dim, 2);
        assert_eq!(data.sequences[0].steps[1][1].value, 4.0);
    }

    #[test]
    fn errors_name_the_cell() {
        let cases: [(&[u8], &str); 13] = [
            (b"1,2\n3,abc\n", "d.csv:2:2: 'abc' is not a number"),
            (b"1,NaN\n", "d.csv:1:2: NaN is not a finite number"),
            (b"1,\"2\n3\"\n", "d.csv:1:2: '2\\n3' is not a number"),
            (b"1,,3\n", "d.csv:1:2: empty cell inside a row"),
            (
                b"sequence,time,value\n0,0,1\n0,1\n",
                "d.csv:3: 2 fields, but the header has 3: rows must match the header in the long \
                 layout",
            ),
            (
                b"sequence,time,value\n0,0,1\n0,0,2\n",
                "d.csv:3: time 0 appears twice in sequence '0' (first on line 2)",
            ),
            (
                b"# comment\nsequence,time,value\n",
                "d.csv:2: a header but no observations after it",
            ),
            (b"\n\n", "d.csv: no observations"),
            (
                b"1,2\n\xff,3\n",
                "d.csv:2:1: unreadable CSV: invalid UTF-8 (the file must be UTF-8 or ASCII text)",
            ),
            // Comment lines and CRLF line ends count as lines.
            (b"# c\n\n1,2\n# d\n3,x\n", "d.csv:5:2: 'x' is not a number"),
            (
                b"1,2\r\n# d\r\n\"3\n\",4\r\n5,x\r\n",
                "d.csv:5:2: 'x' is not a number",
            ),
            // Classic-Mac files: a lone CR ends a line, comments included.
            (b"1,2\r# d\r\r3,x\r", "d.csv:4:2: 'x' is not a number"),
            (
                b"sequence,time,value\r0,0,1\r0,0,2\r",
                "d.csv:3: time 0 appears twice in sequence '0' (first on line 2)",
            ),
        ];
        for (text, message) in cases {
            let err = parse("d.csv", text).unwrap_err();
            assert_eq!(
                err.to_string(),
                message,
                "{:?}",
                String::from_utf8_lossy(text)
            );
        }
    }
}
