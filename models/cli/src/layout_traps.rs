//! Data files that the wide layout would read without complaint but wrongly: refused with a
//! hint before parsing.
//!
//! The wide layout has no header, so any all-numeric file parses as wide data. Three common
//! exports are not wide data, and reading them as such would fit nonsense (their sequence
//! labels and times become observations):
//!
//! - a long-layout file whose header line was lost: every row has the same length (≥ 3),
//!   columns 1 and 2 are whole numbers, column 1 repeats (a sequence label: at least one
//!   label on two or more rows) and, within each label, column 2 counts up by one from the
//!   label's first row (a time);
//! - a pandas export with its index column (`DataFrame.to_csv()` with the default
//!   `index=True`): the first cell of the first row is empty (the index has no name);
//! - a header row of column numbers (`DataFrame(matrix).to_csv(index=False)`): the first
//!   row is exactly `0, 1, …, n − 1` or `1, 2, …, n` with `n ≥ 3`, no later row is longer,
//!   and either a later row holds a value that is not a whole number (real-valued data under
//!   integer column names) or `n ≥ 8` (a count or symbol sequence that counts up one by one
//!   for eight steps is not plausible data).
//!
//! Each test is strict enough that real data almost never passes it by chance (short
//! sequences of counts or symbols such as `0,1,2` are data, not headers); a wide file that
//! really starts with such a sequence can be given in the long layout instead.

use std::collections::HashMap;

use crate::data::DataError;

/// Refuses `rows` (line number and fields, blank lines left out) when they look like one of
/// the exports above. `is_long` says whether the first row is a long-layout header.
pub fn check(source: &str, rows: &[(usize, Vec<String>)], is_long: bool) -> Result<(), DataError> {
    let Some((first_line, first)) = rows.first() else {
        return Ok(());
    };
    if first.len() > 1 && first[0].is_empty() {
        return Err(DataError::IndexColumn {
            path: source.to_string(),
            line: *first_line,
        });
    }
    if is_long {
        return Ok(());
    }
    if let Some(n) = column_numbers(first) {
        let real_valued = rows[1..].iter().flat_map(|(_, f)| f).any(|text| {
            text.parse::<f64>()
                .is_ok_and(|v| v.is_finite() && v.fract() != 0.0)
        });
        let fits_under = rows.iter().all(|(_, f)| f.len() <= first.len());
        if rows.len() > 1 && fits_under && (real_valued || first.len() >= 8) {
            return Err(DataError::NumericHeader {
                path: source.to_string(),
                line: *first_line,
                first: n,
                second: n + 1,
                last: n + first.len() - 1,
            });
        }
    }
    if looks_like_headerless_long(rows) {
        return Err(DataError::HeaderlessLong {
            path: source.to_string(),
        });
    }
    Ok(())
}

/// `Some(start)` when `fields` are exactly `start, start + 1, …` with `start` 0 or 1 and at
/// least three of them, written as integers.
fn column_numbers(fields: &[String]) -> Option<usize> {
    if fields.len() < 3 {
        return None;
    }
    let start: usize = fields[0].parse().ok()?;
    if start > 1 {
        return None;
    }
    let consecutive = fields
        .iter()
        .enumerate()
        .all(|(i, f)| f.parse::<usize>().ok() == Some(start + i));
    consecutive.then_some(start)
}

/// A whole number written as such (`3`, `3.0`), or `None`.
fn whole(text: &str) -> Option<i64> {
    let value: f64 = text.parse().ok()?;
    (value.is_finite() && value.fract() == 0.0 && value.abs() < 9.0e15).then_some(value as i64)
}

/// Whether `rows` look like the long layout without its header (see the module docs).
fn looks_like_headerless_long(rows: &[(usize, Vec<String>)]) -> bool {
    let width = rows[0].1.len();
    if rows.len() < 3 || width < 3 || rows.iter().any(|(_, f)| f.len() != width) {
        return false;
    }
    // Per label: the last time seen.
    let mut last_time: HashMap<i64, i64> = HashMap::new();
    let mut repeated = false;
    for (_, fields) in rows {
        let (Some(label), Some(time)) = (whole(&fields[0]), whole(&fields[1])) else {
            return false;
        };
        match last_time.get_mut(&label) {
            Some(last) if time == *last + 1 => {
                *last = time;
                repeated = true;
            }
            Some(_) => return false,
            None => {
                last_time.insert(label, time);
            }
        }
    }
    repeated
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(text: &str) -> Vec<(usize, Vec<String>)> {
        text.lines()
            .enumerate()
            .map(|(i, l)| (i + 1, l.split(',').map(str::to_string).collect()))
            .collect()
    }

    #[test]
    fn refuses_the_three_exports() {
        let refused = [
            "0,0,1.5\n0,1,2.5\n1,0,0.3\n1,1,0.2\n",
            "1,1,1.5\n1,2,2.5\n1,3,0.3\n",
            ",0,1,2\n0,1.5,2.5,0.1\n",
            ",sequence,time,value\n0,a,0,1.5\n",
            "0,1,2,3\n1.5,2.5,0.1,0.4\n",
            "1,2,3\n1.5,2.5\n",
            "0,1,2,3,4,5,6,7\n4,5,6\n",
        ];
        for text in refused {
            let rows = rows(text);
            let is_long = rows[0].1[0] == "sequence";
            assert!(check("d.csv", &rows, is_long).is_err(), "{text:?}");
        }
    }

    #[test]
    fn accepts_wide_data() {
        let accepted = [
            // Ragged rows, real values.
            "0.5,1.5,2.5\n3.5,4.5\n",
            // Counts whose first two columns do not count up within a label.
            "2,0,5\n2,3,7\n3,0,1\n",
            // Column 1 never repeats.
            "0,0,5\n1,1,7\n2,0,1\n",
            // Only two rows.
            "0,0,1\n0,1,2\n",
            // A first row counting up but a longer row after it: data, not a header.
            "0,1,2\n4,5,6,7\n",
            // Starting at 2.
            "2,3,4\n1,1,1\n",
            // Short counting-up sequences of counts or symbols.
            "0,1,2\n3,1,0\n",
            "1,2,3\n4,,6\n",
        ];
        for text in accepted {
            assert_eq!(check("d.csv", &rows(text), false), Ok(()), "{text:?}");
        }
    }
}
