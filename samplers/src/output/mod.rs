//! Output files: draws and statistics in CmdStan's CSV layout (one file per chain, readable by
//! ArviZ's `from_cmdstan`), and a JSON summary of the run. Every file is written to a
//! temporary file in the same directory and renamed into place, so a reader never sees a
//! partial file.

#[cfg(feature = "plots")]
pub mod plots;
pub(crate) mod progress;
pub mod read;
pub mod stream;

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::diagnostics::summary::{Summary, SummaryError};
use crate::error::OutputError;
use crate::runner::{ChainTrace, Draws, RunConfig, Trace};
use crate::sampler::{DrawStats, InvMetric, Tuning};

/// Writes `contents` to `path` atomically: a temporary file in the same directory, flushed to
/// disk, then renamed over `path`.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<(), OutputError> {
    let io = |source| OutputError::Io {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path.file_name().ok_or_else(|| {
        io(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "path has no file name",
        ))
    })?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp{}", std::process::id()));
    let tmp = dir.join(tmp_name);
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(contents)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(e));
    }
    Ok(())
}

/// CmdStan's column name for an output name: `x[0]` → `x.1`, `a[1,2]` → `a.2.3` (1-based,
/// dot-separated, as ArviZ parses them); other characters that would confuse a CSV reader or
/// ArviZ's name parsing become `_`.
pub fn cmdstan_name(name: &str) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_alphanumeric() || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    if let (Some(open), true) = (name.find('['), name.ends_with(']')) {
        let base = &name[..open];
        let idx: Option<Vec<usize>> = name[open + 1..name.len() - 1]
            .split(',')
            .map(|s| s.trim().parse::<usize>().ok())
            .collect();
        if let Some(idx) = idx {
            let mut out = clean(base);
            for i in idx {
                let _ = write!(out, ".{}", i + 1);
            }
            return out;
        }
    }
    clean(name)
}

/// Formats a value so that it reads back exactly (shortest round-trip form).
fn fmt_f64(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("nan");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "inf" } else { "-inf" });
    } else if v == 0.0 || (1e-4..1e15).contains(&v.abs()) {
        let _ = write!(out, "{v}");
    } else {
        let _ = write!(out, "{v:e}");
    }
}

fn push_rows(out: &mut String, draws: &Draws) {
    for (i, s) in draws.stats().iter().enumerate() {
        push_row(out, s, draws.draw(i));
    }
}

/// Appends one draw's CSV row: the sampler statistics, then the output values.
pub(crate) fn push_row(out: &mut String, s: &DrawStats, values: &[f64]) {
    fmt_f64(out, s.lp);
    out.push(',');
    fmt_f64(out, s.accept_stat);
    out.push(',');
    fmt_f64(out, s.step_size);
    let _ = write!(out, ",{},{},{},", s.tree_depth, s.n_grad, s.divergent as u8);
    fmt_f64(out, s.energy);
    for &v in values {
        out.push(',');
        fmt_f64(out, v);
    }
    out.push('\n');
}

/// Appends the adaptation block: CmdStan's step size and inverse metric lines.
pub(crate) fn push_tuning(out: &mut String, tuning: &Tuning) {
    out.push_str("# Adaptation terminated\n");
    if let Some(eps) = tuning.step_size {
        out.push_str("# Step size = ");
        fmt_f64(out, eps);
        out.push('\n');
    }
    let row = |out: &mut String, vals: &[f64]| {
        out.push_str("# ");
        for (i, &v) in vals.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            fmt_f64(out, v);
        }
        out.push('\n');
    };
    match &tuning.inv_metric {
        Some(InvMetric::Diag(d)) => {
            out.push_str("# Diagonal elements of inverse mass matrix:\n");
            row(out, d);
        }
        Some(InvMetric::Dense { dim, values }) => {
            out.push_str("# Elements of inverse mass matrix:\n");
            for r in values.chunks(*dim.max(&1)) {
                row(out, r);
            }
        }
        None => {}
    }
    for (k, v) in &tuning.extra {
        let _ = write!(out, "# {k} = ");
        fmt_f64(out, *v);
        out.push('\n');
    }
}

/// The CmdStan CSV text of one chain of `trace`.
pub fn cmdstan_csv(trace: &Trace, chain: &ChainTrace) -> String {
    cmdstan_csv_with(trace, chain, &[])
}

/// What every chain's header says about its run. All of it is known before any chain starts,
/// so a file streamed while the chain runs ([`stream`]) gets the header the finished file has.
pub(crate) struct RunHeader<'a> {
    pub(crate) sampler: &'a str,
    pub(crate) sampler_settings: &'a [(String, String)],
    pub(crate) names: &'a [String],
    pub(crate) dim: usize,
    pub(crate) config: &'a RunConfig,
    pub(crate) provenance: &'a [(String, String)],
}

impl<'a> RunHeader<'a> {
    /// The header of `trace`'s chains, with `provenance` lines at the top.
    fn of(trace: &'a Trace, provenance: &'a [(String, String)]) -> Self {
        Self {
            sampler: &trace.sampler,
            sampler_settings: &trace.sampler_settings,
            names: &trace.names,
            dim: trace.dim,
            config: &trace.config,
            provenance,
        }
    }

    /// Appends the comment header and the column header of chain `chain` (0-based), which
    /// needed `init_attempts` points to start, saving warm-up draws if `save_warmup`.
    pub(crate) fn push(
        &self,
        out: &mut String,
        chain: usize,
        init_attempts: usize,
        save_warmup: bool,
    ) {
        let cfg = self.config;
        for (k, v) in self.provenance {
            let _ = writeln!(
                out,
                "# {} = {}",
                k.replace(char::is_whitespace, "_"),
                v.replace(['\n', '\r'], " ")
            );
        }
        let _ = writeln!(
            out,
            "# trellis_samplers_version = {}",
            env!("CARGO_PKG_VERSION")
        );
        let _ = writeln!(out, "# trellis_dim = {}", self.dim);
        out.push_str("# method = sample (Default)\n");
        out.push_str("#   sample\n");
        let _ = writeln!(out, "#     num_samples = {}", cfg.draws);
        let _ = writeln!(out, "#     num_warmup = {}", cfg.warmup);
        let _ = writeln!(out, "#     save_warmup = {}", save_warmup as u8);
        let _ = writeln!(out, "#     thin = {}", cfg.thin.max(1));
        out.push_str("#     adapt\n");
        let _ = writeln!(out, "#       engaged = {}", (cfg.warmup > 0) as u8);
        let _ = writeln!(out, "#     sampler = {}", self.sampler);
        for (k, v) in self.sampler_settings {
            let _ = writeln!(
                out,
                "#       {} = {}",
                k.replace(char::is_whitespace, "_"),
                v.replace(char::is_whitespace, "_")
            );
        }
        let _ = writeln!(out, "#     num_chains = {}", cfg.chains);
        let _ = writeln!(out, "# id = {}", chain + 1);
        out.push_str("# random\n");
        let _ = writeln!(out, "#   seed = {}", cfg.seed);
        let _ = writeln!(out, "# init_attempts = {init_attempts}");

        out.push_str("lp__,accept_stat__,stepsize__,treedepth__,n_leapfrog__,divergent__,energy__");
        for n in self.names {
            out.push(',');
            out.push_str(&cmdstan_name(n));
        }
        out.push('\n');
    }
}

/// The comment key of the footer line that records a chain's gradient evaluations where its
/// rows do not: warm-up draws are usually not written and thinning drops draws whose
/// trajectories cost gradients all the same.
pub(crate) const GRADIENTS_KEY: &str = "gradient_evaluations";

/// The chain's timing, and its gradient evaluations where the rows written do not add up to
/// them (`held`: the sum of the rows' `n_leapfrog__`).
pub(crate) struct Footer {
    warmup_seconds: f64,
    sampling_seconds: f64,
    gradient_evaluations: u64,
    held: u64,
}

impl Footer {
    /// The footer of `chain`, whose kept draws are the rows its file holds.
    pub(crate) fn of(chain: &ChainTrace) -> Self {
        Self {
            warmup_seconds: chain.warmup_seconds,
            sampling_seconds: chain.sampling_seconds,
            gradient_evaluations: chain.gradient_evaluations,
            held: held_gradients(chain),
        }
    }

    /// Appends CmdStan's timing footer and, only where the rows cannot tell it (so a file
    /// CmdStan wrote reads back and writes out byte for byte), the gradient evaluations as
    /// one more `key = value` comment: CmdStanPy skips trailing comments, ArviZ keeps it as
    /// an attribute.
    pub(crate) fn push(&self, out: &mut String) {
        let (w, s) = (self.warmup_seconds, self.sampling_seconds);
        out.push_str("# \n");
        let _ = writeln!(out, "#  Elapsed Time: {w:.6} seconds (Warm-up)");
        let _ = writeln!(out, "#                {s:.6} seconds (Sampling)");
        let _ = writeln!(out, "#                {:.6} seconds (Total)", w + s);
        out.push_str("# \n");
        if self.gradient_evaluations != self.held {
            let _ = writeln!(out, "# {GRADIENTS_KEY} = {}", self.gradient_evaluations);
        }
    }
}

/// The sum of the rows' gradient counts (`n_leapfrog__`).
pub(crate) fn held_gradients(chain: &ChainTrace) -> u64 {
    let rows = chain.warmup.stats().iter().chain(chain.draws.stats());
    rows.map(|s| u64::from(s.n_grad)).sum()
}

/// The CmdStan CSV text of one chain of `trace`, with `provenance` (name, value) lines at the
/// top of the header — e.g. CmdStan's `model`, and what produced the run. Names should be
/// ones CmdStan does not use, except `model`; whitespace in values becomes `_`.
pub fn cmdstan_csv_with(
    trace: &Trace,
    chain: &ChainTrace,
    provenance: &[(String, String)],
) -> String {
    let save_warmup = !chain.warmup.is_empty();
    let mut out = String::with_capacity(
        64 * (chain.draws.len() + chain.warmup.len()) * (trace.names.len() + 7),
    );
    RunHeader::of(trace, provenance).push(&mut out, chain.chain, chain.init_attempts, save_warmup);
    push_rows(&mut out, &chain.warmup);
    push_tuning(&mut out, &chain.tuning);
    push_rows(&mut out, &chain.draws);
    Footer::of(chain).push(&mut out);
    out
}

impl Trace {
    /// Writes one CmdStan CSV file per chain, `{dir}/{stem}_{k}.csv` with `k` = 1, 2, …
    /// (CmdStan's numbering), atomically. Returns the paths in chain order; read them with
    /// `arviz.from_cmdstan(paths)`.
    pub fn write_cmdstan_csv(&self, dir: &Path, stem: &str) -> Result<Vec<PathBuf>, OutputError> {
        self.write_cmdstan_csv_with(dir, stem, &[])
    }

    /// [`Trace::write_cmdstan_csv`] with `provenance` lines in every header (see
    /// [`cmdstan_csv_with`]).
    pub fn write_cmdstan_csv_with(
        &self,
        dir: &Path,
        stem: &str,
        provenance: &[(String, String)],
    ) -> Result<Vec<PathBuf>, OutputError> {
        std::fs::create_dir_all(dir).map_err(|source| OutputError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let mut paths = Vec::with_capacity(self.chains.len());
        for chain in &self.chains {
            let path = dir.join(format!("{stem}_{}.csv", chain.chain + 1));
            write_atomic(&path, cmdstan_csv_with(self, chain, provenance).as_bytes())?;
            paths.push(path);
        }
        Ok(paths)
    }

    /// The posterior summary table (mean, sd, HDI, MCSE, ESS, R-hat) of every output value,
    /// from the draws after warm-up.
    pub fn summary(&self) -> Result<Summary, SummaryError> {
        let arrays: Vec<_> = (0..self.names.len())
            .map(|j| self.column_array(j))
            .collect();
        Summary::with_default_hdi(
            self.names
                .iter()
                .cloned()
                .zip(arrays.iter().map(|a| a.view())),
        )
    }

    /// Output value `j` as an array shaped `(chains, draws)` — the input of
    /// [`crate::diagnostics`].
    pub fn column_array(&self, j: usize) -> ndarray::Array2<f64> {
        let cols = self.column(j);
        let draws = cols.first().map_or(0, |c| c.len());
        ndarray::Array2::from_shape_vec((cols.len(), draws), cols.concat())
            .expect("chains have equal lengths")
    }

    /// The run summary serialised by [`Trace::write_json_summary`].
    pub fn run_summary(&self) -> Result<RunSummary, SummaryError> {
        let chains = self
            .chains
            .iter()
            .map(|c| {
                let st = c.draws.stats();
                let n = st.len().max(1) as f64;
                ChainSummary {
                    chain: c.chain,
                    init_attempts: c.init_attempts,
                    step_size: c.tuning.step_size,
                    inv_metric: c.tuning.inv_metric.clone(),
                    divergences: st.iter().filter(|s| s.divergent).count(),
                    max_depth_hits: st.iter().filter(|s| s.max_depth_hit).count(),
                    mean_accept_stat: st.iter().map(|s| s.accept_stat).sum::<f64>() / n,
                    mean_tree_depth: st.iter().map(|s| s.tree_depth as f64).sum::<f64>() / n,
                    gradient_evaluations: c.gradient_evaluations,
                    warmup_seconds: c.warmup_seconds,
                    sampling_seconds: c.sampling_seconds,
                }
            })
            .collect();
        let energy = ndarray::Array2::from_shape_vec(
            (self.chains.len(), self.draws_per_chain()),
            self.stat(|s| s.energy).concat(),
        )
        .expect("chains have equal lengths");
        Ok(RunSummary {
            sampler: self.sampler.clone(),
            sampler_settings: self.sampler_settings.iter().cloned().collect(),
            chains: self.config.chains,
            warmup: self.config.warmup,
            draws: self.draws_per_chain(),
            seed: self.config.seed,
            dim: self.dim,
            divergences: self.divergences(),
            max_depth_hits: self.max_depth_hits(),
            bfmi: crate::diagnostics::bfmi(energy.view()),
            warnings: self.warnings(),
            per_chain: chains,
            parameters: self.summary()?,
        })
    }

    /// Writes the JSON run summary (sampler, settings, per-chain adaptation and
    /// divergences, warnings and the posterior [`Summary`] table) to `path`, atomically.
    pub fn write_json_summary(&self, path: &Path) -> Result<(), OutputError> {
        let summary = self.run_summary()?;
        let json = serde_json::to_string_pretty(&summary)?;
        write_atomic(path, json.as_bytes())
    }
}

/// Per-chain part of the JSON summary.
#[derive(Debug, Clone, Serialize)]
pub struct ChainSummary {
    /// Chain index (0-based).
    pub chain: usize,
    /// Initial points tried.
    pub init_attempts: usize,
    /// Adapted step size.
    pub step_size: Option<f64>,
    /// Adapted inverse metric.
    pub inv_metric: Option<InvMetric>,
    /// Divergent draws after warm-up.
    pub divergences: usize,
    /// Draws after warm-up at the maximum tree depth.
    pub max_depth_hits: usize,
    /// Mean acceptance statistic after warm-up.
    pub mean_accept_stat: f64,
    /// Mean tree depth after warm-up.
    pub mean_tree_depth: f64,
    /// Gradient evaluations of every iteration, warm-up included, whether its draw was
    /// kept or not ([`ChainTrace::gradient_evaluations`](crate::ChainTrace::gradient_evaluations)).
    pub gradient_evaluations: u64,
    /// Warm-up wall time, seconds.
    pub warmup_seconds: f64,
    /// Sampling wall time, seconds.
    pub sampling_seconds: f64,
}

/// The JSON summary of a run.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    /// Sampler name.
    pub sampler: String,
    /// Sampler settings.
    pub sampler_settings: std::collections::BTreeMap<String, String>,
    /// Number of chains.
    pub chains: usize,
    /// Warm-up iterations per chain.
    pub warmup: usize,
    /// Draws per chain.
    pub draws: usize,
    /// The run's seed.
    pub seed: u64,
    /// Dimension of the sampled space.
    pub dim: usize,
    /// Divergent draws after warm-up, all chains.
    pub divergences: usize,
    /// Draws at the maximum tree depth after warm-up, all chains.
    pub max_depth_hits: usize,
    /// E-BFMI per chain (energy diagnostic).
    pub bfmi: Vec<f64>,
    /// Warnings (divergences, depth hits).
    pub warnings: Vec<String>,
    /// Per-chain details.
    pub per_chain: Vec<ChainSummary>,
    /// Posterior summary table, keyed by parameter name.
    pub parameters: Summary,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_cmdstan_conventions() {
        assert_eq!(cmdstan_name("x[0]"), "x.1");
        assert_eq!(cmdstan_name("a[1,2]"), "a.2.3");
        assert_eq!(cmdstan_name("sigma"), "sigma");
        assert_eq!(cmdstan_name("log sigma.raw"), "log_sigma_raw");
        assert_eq!(cmdstan_name("w[i]"), "w_i_");
    }

    #[test]
    fn numbers_round_trip() {
        for v in [
            0.0,
            1.5,
            -2.25e-9,
            1e300,
            0.1,
            123456.789,
            f64::MIN_POSITIVE,
        ] {
            let mut s = String::new();
            fmt_f64(&mut s, v);
            assert_eq!(s.parse::<f64>().unwrap(), v, "{s}");
        }
        let mut s = String::new();
        fmt_f64(&mut s, f64::NEG_INFINITY);
        assert_eq!(s, "-inf");
    }

    #[test]
    fn atomic_write_replaces_the_file_and_leaves_no_temporary() {
        let dir = std::env::temp_dir().join(format!("trellis-output-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.txt");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "two");
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
