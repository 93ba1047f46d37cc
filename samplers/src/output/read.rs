//! Reading back the CmdStan CSV files [`Trace::write_cmdstan_csv`] writes: the comment header
//! (`key = value` settings), the column header, the draws (warm-up first when saved), the
//! adaptation block (step size, inverse metric) and the timing footer — into a [`Trace`] that
//! the same summary, warnings and plots can be built from as after a fit.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use thiserror::Error;

use super::{held_gradients, GRADIENTS_KEY};
use crate::runner::{ChainTrace, Draws, RunConfig, Trace};
use crate::sampler::{DrawStats, InvMetric, Tuning};

/// The sampler-statistic columns that precede the output values, in CmdStan's order.
const STAT_COLUMNS: [&str; 7] = [
    "lp__",
    "accept_stat__",
    "stepsize__",
    "treedepth__",
    "n_leapfrog__",
    "divergent__",
    "energy__",
];

/// Header settings that differ between chains of one run (or between the processes of one
/// run spread by chain id) and so are not compared when files are merged. The data file's
/// path (`trellis_data`) is among them: the jobs of one run may read copies of the data at
/// different paths, and the data's SHA-256 (`trellis_data_sha256`) is compared instead.
const PER_CHAIN_SETTINGS: [&str; 5] = [
    "id",
    "num_chains",
    "init_attempts",
    "command_line",
    "trellis_data",
];

/// Why CmdStan CSV files could not be read or merged.
#[derive(Debug, Error)]
pub enum ReadError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file is not a CmdStan CSV file this reader understands.
    #[error("{path}, line {line}: {reason}")]
    Format {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// The files do not come from one run (model, data or settings differ, or a chain
    /// appears twice).
    #[error("{0}")]
    Mismatch(String),
    /// No files were given.
    #[error("no CmdStan CSV files given")]
    Empty,
}

/// One chain's file, parsed.
#[derive(Debug, Clone)]
pub struct CsvChain {
    /// The file it was read from.
    pub path: PathBuf,
    /// Every `key = value` line of the comment header, in order, keys without indentation.
    pub settings: Vec<(String, String)>,
    /// Output value names as in the column header (CmdStan form, e.g. `mu.1`).
    pub columns: Vec<String>,
    /// The chain's draws, adaptation and timings.
    pub chain: ChainTrace,
}

impl CsvChain {
    /// The value of header setting `key`, if present.
    pub fn setting(&self, key: &str) -> Option<&str> {
        self.settings
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// The output name that [`super::cmdstan_name`] turned into `column`: `x.1` → `x[0]`,
/// `a.2.3` → `a[1,2]`; names without numeric suffixes are kept.
pub fn output_name(column: &str) -> String {
    let mut parts = column.split('.');
    let base = parts.next().unwrap_or_default();
    let idx: Option<Vec<usize>> = parts
        .map(|p| p.parse::<usize>().ok().filter(|&i| i >= 1))
        .collect();
    match idx {
        Some(idx) if !idx.is_empty() => {
            let inner: Vec<String> = idx.iter().map(|i| (i - 1).to_string()).collect();
            format!("{base}[{}]", inner.join(","))
        }
        _ => column.to_string(),
    }
}

fn parse_number(text: &str) -> Option<f64> {
    match text.trim() {
        "nan" => Some(f64::NAN),
        "inf" => Some(f64::INFINITY),
        "-inf" => Some(f64::NEG_INFINITY),
        t => t.parse().ok(),
    }
}

/// Reads one CmdStan CSV file, line by line: the draws go straight into the chain's arrays,
/// so memory holds one line of text at a time, not the file (a large CSV takes about its
/// size in memory or less).
pub fn read_cmdstan_csv(path: &Path) -> Result<CsvChain, ReadError> {
    let file = std::fs::File::open(path).map_err(|source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_cmdstan_reader(path, std::io::BufReader::with_capacity(1 << 16, file))
}

/// Where the parser is in the file.
#[derive(PartialEq)]
enum Section {
    Header,
    Warmup,
    Adaptation,
    Draws,
}

/// Parses the text of one CmdStan CSV file (`path` is used in messages).
pub fn parse_cmdstan_csv(path: &Path, text: &str) -> Result<CsvChain, ReadError> {
    parse_cmdstan_reader(path, text.as_bytes())
}

/// Parses one CmdStan CSV file from `reader`, a line at a time (`path` is used in messages).
/// Lines end in `\n` or `\r\n`; a UTF-8 byte-order mark before the first line is skipped.
pub fn parse_cmdstan_reader<R: BufRead>(path: &Path, mut reader: R) -> Result<CsvChain, ReadError> {
    let fail = |line: usize, reason: String| ReadError::Format {
        path: path.to_path_buf(),
        line,
        reason,
    };
    let mut settings = Vec::new();
    let mut columns: Vec<String> = Vec::new();
    let mut section = Section::Header;
    let mut warmup = Draws::default();
    let mut draws = Draws::default();
    let mut tuning = Tuning::default();
    let mut metric_rows: Vec<Vec<f64>> = Vec::new();
    let mut dense = false;
    let (mut warmup_seconds, mut sampling_seconds) = (0.0, 0.0);
    let mut recorded_gradients: Option<u64> = None;
    let mut max_depth = u32::MAX;
    let mut values = Vec::new();
    let mut buffer = String::new();
    let mut line_no = 0;
    loop {
        buffer.clear();
        let read = reader
            .read_line(&mut buffer)
            .map_err(|source| ReadError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        if read == 0 {
            break;
        }
        line_no += 1;
        let raw = buffer.strip_suffix('\n').unwrap_or(&buffer);
        let raw = match line_no {
            1 => raw.strip_prefix('\u{feff}').unwrap_or(raw),
            _ => raw,
        };
        let line = raw.trim_end_matches('\r');
        if let Some(comment) = line.strip_prefix('#') {
            let body = comment.trim();
            match section {
                Section::Header => {
                    if let Some((k, v)) = body.split_once(" = ") {
                        settings.push((k.trim().to_string(), v.trim().to_string()));
                    }
                }
                Section::Warmup | Section::Draws if body == "Adaptation terminated" => {
                    section = Section::Adaptation;
                }
                Section::Adaptation => {
                    if let Some(v) = body.strip_prefix("Step size = ") {
                        tuning.step_size = parse_number(v);
                    } else if body.starts_with("Diagonal elements of inverse mass matrix") {
                        dense = false;
                    } else if body.starts_with("Elements of inverse mass matrix") {
                        dense = true;
                    } else if let Some((k, v)) = body.split_once(" = ") {
                        let v = parse_number(v).ok_or_else(|| {
                            fail(line_no, format!("adaptation value of {k} is not a number"))
                        })?;
                        tuning.extra.push((k.to_string(), v));
                    } else if !body.is_empty() {
                        let row: Option<Vec<f64>> = body.split(',').map(parse_number).collect();
                        metric_rows.push(row.ok_or_else(|| {
                            fail(line_no, "inverse metric row is not numbers".into())
                        })?);
                    }
                }
                _ => {
                    if let Some(t) = body.strip_prefix("Elapsed Time:") {
                        warmup_seconds = t
                            .trim()
                            .split(' ')
                            .next()
                            .and_then(parse_number)
                            .unwrap_or(0.0);
                    } else if body.ends_with("seconds (Sampling)") {
                        sampling_seconds =
                            body.split(' ').next().and_then(parse_number).unwrap_or(0.0);
                    } else if let Some((k, v)) = body.split_once(" = ") {
                        if k.trim() == GRADIENTS_KEY {
                            recorded_gradients = Some(v.trim().parse().map_err(|_| {
                                fail(line_no, format!("{k} is not a whole number: {v}"))
                            })?);
                        }
                    }
                }
            }
            continue;
        }
        if line.trim().is_empty() {
            continue;
        }
        if section == Section::Header {
            let header: Vec<&str> = line.split(',').collect();
            if header.len() < STAT_COLUMNS.len() || header[..STAT_COLUMNS.len()] != STAT_COLUMNS {
                return Err(fail(
                    line_no,
                    format!(
                        "expected the column header to start with {}",
                        STAT_COLUMNS.join(",")
                    ),
                ));
            }
            columns = header[STAT_COLUMNS.len()..]
                .iter()
                .map(|s| s.to_string())
                .collect();
            let width = columns.len();
            warmup = Draws::with_capacity(width, 0);
            draws = Draws::with_capacity(width, 0);
            max_depth = settings
                .iter()
                .find(|(k, _)| k == "max_depth")
                .and_then(|(_, v)| v.parse().ok())
                .unwrap_or(u32::MAX);
            let save_warmup = settings.iter().any(|(k, v)| k == "save_warmup" && v == "1");
            section = if save_warmup {
                Section::Warmup
            } else {
                Section::Draws
            };
            continue;
        }
        if section == Section::Adaptation {
            section = Section::Draws;
        }
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() != STAT_COLUMNS.len() + columns.len() {
            return Err(fail(
                line_no,
                format!(
                    "{} values where the header names {} columns",
                    fields.len(),
                    STAT_COLUMNS.len() + columns.len()
                ),
            ));
        }
        let number = |j: usize| {
            parse_number(fields[j]).ok_or_else(|| {
                fail(
                    line_no,
                    format!(
                        "{} is not a number: '{}'",
                        column_name(&columns, j),
                        fields[j]
                    ),
                )
            })
        };
        let integer = |j: usize| {
            fields[j].trim().parse::<u32>().map_err(|_| {
                fail(
                    line_no,
                    format!("{} is not a whole number: '{}'", STAT_COLUMNS[j], fields[j]),
                )
            })
        };
        let tree_depth = integer(3)?;
        let stats = DrawStats {
            lp: number(0)?,
            accept_stat: number(1)?,
            step_size: number(2)?,
            tree_depth,
            n_grad: integer(4)?,
            divergent: integer(5)? != 0,
            energy: number(6)?,
            max_depth_hit: tree_depth >= max_depth,
        };
        values.clear();
        for j in STAT_COLUMNS.len()..fields.len() {
            values.push(number(j)?);
        }
        match section {
            Section::Warmup => warmup.push(&values, stats),
            _ => draws.push(&values, stats),
        }
    }
    if columns.is_empty() && section == Section::Header {
        return Err(fail(line_no, "no column header".into()));
    }
    if !metric_rows.is_empty() {
        tuning.inv_metric = Some(if dense {
            InvMetric::Dense {
                dim: metric_rows.len(),
                values: metric_rows.concat(),
            }
        } else {
            InvMetric::Diag(metric_rows.concat())
        });
    }
    let id: usize = settings
        .iter()
        .find(|(k, _)| k == "id")
        .and_then(|(_, v)| v.parse().ok())
        .filter(|&id| id >= 1)
        .unwrap_or(1);
    let init_attempts = settings
        .iter()
        .find(|(k, _)| k == "init_attempts")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(1);
    let mut chain = ChainTrace {
        chain: id - 1,
        init_attempts,
        initial_position: Vec::new(),
        warmup,
        draws,
        tuning,
        warmup_seconds,
        sampling_seconds,
        gradient_evaluations: 0,
    };
    // Trellis records the count in the footer where the rows do not add up to it; without
    // that line (every CmdStan file) the rows are all there is.
    chain.gradient_evaluations = recorded_gradients.unwrap_or_else(|| held_gradients(&chain));
    Ok(CsvChain {
        path: path.to_path_buf(),
        settings,
        columns,
        chain,
    })
}

fn column_name(columns: &[String], j: usize) -> &str {
    match j.checked_sub(STAT_COLUMNS.len()) {
        Some(c) => &columns[c],
        None => STAT_COLUMNS[j],
    }
}

impl Trace {
    /// Reads the CmdStan CSV files of one run's chains (e.g. `chain_1.csv … chain_4.csv`,
    /// possibly written by different processes with [`RunConfig::first_chain`]) into one
    /// trace, chains in chain-number order.
    ///
    /// Refuses, with a one-line reason, files whose settings (model, data, sampler, seed,
    /// lengths…) or columns differ, files of different lengths, and a chain number that
    /// appears twice. `allow_short` accepts files with fewer draws than their header says (the
    /// `.partial` files of an unfinished run), cut to the shortest.
    pub fn from_cmdstan_csv(paths: &[PathBuf], allow_short: bool) -> Result<Trace, ReadError> {
        Self::from_cmdstan_csv_with_settings(paths, allow_short).map(|(trace, _)| trace)
    }

    /// [`Trace::from_cmdstan_csv`], also returning the header settings of the first chain
    /// (in chain-number order): the lines every file shares, plus that chain's own `id`,
    /// `command_line`, ….
    pub fn from_cmdstan_csv_with_settings(
        paths: &[PathBuf],
        allow_short: bool,
    ) -> Result<(Trace, Vec<(String, String)>), ReadError> {
        let mut files = paths
            .iter()
            .map(|p| read_cmdstan_csv(p))
            .collect::<Result<Vec<_>, _>>()?;
        files.sort_by_key(|f| f.chain.chain);
        let first = files.first().ok_or(ReadError::Empty)?;
        let compared = |f: &CsvChain| -> Vec<(String, String)> {
            f.settings
                .iter()
                .filter(|(k, _)| !PER_CHAIN_SETTINGS.contains(&k.as_str()))
                .cloned()
                .collect()
        };
        let reference = compared(first);
        for f in &files[1..] {
            let other = compared(f);
            if let Some(((k, a), (_, b))) = reference
                .iter()
                .zip(&other)
                .find(|((ka, a), (kb, b))| ka != kb || a != b)
            {
                return Err(ReadError::Mismatch(format!(
                    "{} and {} come from different runs: {k} = {a} in one, {b} in the other",
                    first.path.display(),
                    f.path.display()
                )));
            }
            if reference.len() != other.len() {
                return Err(ReadError::Mismatch(format!(
                    "{} and {} come from different runs: their headers differ in length",
                    first.path.display(),
                    f.path.display()
                )));
            }
            if f.columns != first.columns {
                return Err(ReadError::Mismatch(format!(
                    "{} and {} come from different runs: their columns differ",
                    first.path.display(),
                    f.path.display()
                )));
            }
        }
        for pair in files.windows(2) {
            if pair[0].chain.chain == pair[1].chain.chain {
                return Err(ReadError::Mismatch(format!(
                    "{} and {} are both chain {}",
                    pair[0].path.display(),
                    pair[1].path.display(),
                    pair[0].chain.chain + 1
                )));
            }
        }
        let number = |key: &str| -> Result<usize, ReadError> {
            first
                .setting(key)
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| {
                    ReadError::Mismatch(format!(
                        "{}: the header has no {key} line",
                        first.path.display()
                    ))
                })
        };
        // A thinned run keeps ⌈num_samples / thin⌉ of its iterations (CmdStan's rule).
        let declared = number("num_samples")?.div_ceil(number("thin").unwrap_or(1).max(1));
        let shortest = files.iter().map(|f| f.chain.draws.len()).min().unwrap_or(0);
        for f in &files {
            let n = f.chain.draws.len();
            if n != declared && !allow_short {
                return Err(ReadError::Mismatch(format!(
                    "{} has {n} draws where its header says {declared} (an unfinished run?)",
                    f.path.display()
                )));
            }
        }
        if shortest == 0 {
            return Err(ReadError::Mismatch(
                "no draws after warm-up in at least one file".into(),
            ));
        }
        let settings = first.settings.clone();
        let sampler_start = settings.iter().position(|(k, _)| k == "sampler");
        let sampler_end = settings.iter().position(|(k, _)| k == "num_chains");
        let sampler_settings = match (sampler_start, sampler_end) {
            (Some(s), Some(e)) if s < e => settings[s + 1..e].to_vec(),
            _ => Vec::new(),
        };
        let config = RunConfig {
            chains: files.len(),
            warmup: number("num_warmup")?,
            draws: shortest,
            seed: first
                .setting("seed")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
            progress: false,
            keep_warmup: first.setting("save_warmup") == Some("1"),
            first_chain: first.chain.chain,
            ..RunConfig::default()
        };
        let names: Vec<String> = first.columns.iter().map(|c| output_name(c)).collect();
        let dim = first
            .setting("trellis_dim")
            .and_then(|v| v.parse().ok())
            .unwrap_or(names.len());
        let sampler = first.setting("sampler").unwrap_or("unknown").to_string();
        let chains = files
            .into_iter()
            .map(|f| {
                let mut chain = f.chain;
                chain.draws.truncate(shortest);
                chain
            })
            .collect();
        let trace = Trace {
            sampler,
            sampler_settings,
            names,
            dim,
            config,
            chains,
        };
        Ok((trace, settings))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_names_invert_cmdstan_names() {
        for name in ["x[0]", "a[1,2]", "sigma", "p_transition[2,0]"] {
            assert_eq!(output_name(&super::super::cmdstan_name(name)), name);
        }
    }

    #[test]
    fn a_truncated_row_is_refused_with_its_line() {
        let text = "# id = 1\nlp__,accept_stat__,stepsize__,treedepth__,n_leapfrog__,\
                    divergent__,energy__,x.1\n-1,0.9,0.5,2,3,0,1.5,0.25\n-1,0.9\n";
        let err = parse_cmdstan_csv(Path::new("c.csv"), text).unwrap_err();
        assert_eq!(
            err.to_string(),
            "c.csv, line 4: 2 values where the header names 8 columns"
        );
    }
}
