//! `trellis compare DIR1 DIR2 …`: PSIS-LOO (or WAIC) of each fit from the per-sequence
//! log-likelihood of its draws, and ArviZ's comparison table (rank, elpd, p, elpd_diff,
//! weight, se, dse, warning) with the Pareto k̂ warnings.
//!
//! The log-likelihood comes from the chain files' `log_lik.N` columns when they have them;
//! otherwise every draw is evaluated again under the model the header records (family, K,
//! data file), so fits made before `fit` wrote those columns can be compared too.

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use ndarray::{Array2, Array3};
use serde_json::{json, Value};
use trellis_models::pointwise::sequence_log_lik_array;
use trellis_models::zoo::Family;
use trellis_samplers::loo::{
    compare, loo, relative_efficiency, waic, Comparison, Loo, Waic, WeightMethod,
};

use crate::fitted::Fitted;
use crate::input::Input;
use crate::io::write_file;
use crate::obs::CliObs;

/// The information criterion of `trellis compare`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Criterion {
    /// Pareto-smoothed importance-sampling leave-one-out cross-validation (ArviZ's default).
    Loo,
    /// The widely applicable information criterion.
    Waic,
}

/// How `trellis compare` weighs the models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Method {
    /// Stacking of predictive distributions (ArviZ's default).
    Stacking,
    /// Pseudo-Bayesian model averaging, weights ∝ exp(elpd).
    PseudoBma,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Output folders of `trellis fit`, one per model, all fitted to the same data.
    #[arg(required = true)]
    fits: Vec<PathBuf>,
    /// Information criterion.
    #[arg(long, value_enum, default_value = "loo")]
    ic: Criterion,
    /// Model weights.
    #[arg(long, value_enum, default_value = "stacking")]
    method: Method,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    json: bool,
    /// Data file of the fits, when they were moved from where they ran (replaces the one in
    /// their headers).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Write each fit's pointwise log-likelihood into this folder as `log_lik_N.csv` (N: the
    /// fit's position on the command line; columns chain, draw, log_lik.1 … one per
    /// sequence), e.g. for ArviZ.
    #[arg(long)]
    save_log_lik: Option<PathBuf>,
}

/// The `(chains, draws, sequences)` per-sequence log-likelihood of a fit's draws under the
/// model its header records (for fits without `log_lik` columns).
pub fn recomputed_log_lik<F: Family>(
    family: F,
    input: &Input,
    fitted: &Fitted,
) -> Result<Array3<f64>, String>
where
    F::Obs: CliObs,
{
    let (model, _) = fitted.model(input, family)?;
    sequence_log_lik_array(&model, &fitted.trace).map_err(|e| format!("{}: {e}", fitted.name()))
}

/// The `log_lik[i]` columns of the trace, in sequence order, if it has them.
fn log_lik_columns(fitted: &Fitted) -> Option<Vec<usize>> {
    let columns: Vec<usize> = (0..)
        .map_while(|i| fitted.trace.index_of(&format!("log_lik[{i}]")))
        .collect();
    (!columns.is_empty()).then_some(columns)
}

/// The recorded `log_lik` columns as a `(chains, draws, sequences)` array.
fn recorded_log_lik(fitted: &Fitted, columns: &[usize]) -> Array3<f64> {
    let trace = &fitted.trace;
    let draws = trace.chains[0].draws.len();
    Array3::from_shape_fn((trace.num_chains(), draws, columns.len()), |(c, d, i)| {
        trace.chains[c].draws.draw(d)[columns[i]]
    })
}

/// `az.loo`'s default relative efficiency: from every posterior value (all output columns
/// but `log_lik`). `None` when an ESS is undefined (a constant column).
fn fit_relative_efficiency(fitted: &Fitted) -> Option<f64> {
    let trace = &fitted.trace;
    let parameters: Vec<Array2<f64>> = trace
        .names
        .iter()
        .enumerate()
        .filter(|(_, n)| !n.starts_with("log_lik["))
        .map(|(j, _)| trace.column_array(j))
        .collect();
    let views: Vec<_> = parameters.iter().map(|p| p.view()).collect();
    relative_efficiency(&views).ok()
}

/// One fit's estimate and the facts the report needs.
struct Evaluated {
    name: String,
    estimate: Estimate,
    /// `az.loo`'s r_eff, or `None` when it was undefined and 1 was used.
    r_eff: Option<f64>,
    recomputed: bool,
}

enum Estimate {
    Loo(Loo),
    Waic(Waic),
}

/// Runs `trellis compare`; `log_lik_of` recomputes a fit's log-likelihood under its model
/// (the per-family dispatch lives in `main`).
pub fn run(
    args: &CompareArgs,
    log_lik_of: impl Fn(&Fitted) -> Result<Array3<f64>, String>,
) -> Result<(), String> {
    let mut evaluated = Vec::new();
    for (index, dir) in args.fits.iter().enumerate() {
        let fitted = Fitted::read(dir, args.data.as_deref())?;
        let (log_lik, recomputed) = match log_lik_columns(&fitted) {
            Some(columns) => (recorded_log_lik(&fitted, &columns), false),
            None => (log_lik_of(&fitted)?, true),
        };
        if let Some(folder) = &args.save_log_lik {
            save_log_lik(folder, index + 1, &log_lik)?;
        }
        let r_eff = fit_relative_efficiency(&fitted);
        let name = fitted.name();
        let estimate = match args.ic {
            Criterion::Loo => Estimate::Loo(
                loo(log_lik.view(), r_eff.unwrap_or(1.0)).map_err(|e| format!("{name}: {e}"))?,
            ),
            Criterion::Waic => {
                Estimate::Waic(waic(log_lik.view()).map_err(|e| format!("{name}: {e}"))?)
            }
        };
        evaluated.push(Evaluated {
            name,
            estimate,
            r_eff,
            recomputed,
        });
    }
    let method = match args.method {
        Method::Stacking => WeightMethod::Stacking,
        Method::PseudoBma => WeightMethod::PseudoBma,
    };
    let comparison = match args.ic {
        Criterion::Loo => {
            let models: Vec<(&str, &Loo)> = evaluated
                .iter()
                .filter_map(|e| match &e.estimate {
                    Estimate::Loo(l) => Some((e.name.as_str(), l)),
                    Estimate::Waic(_) => None,
                })
                .collect();
            compare(&models, method)
        }
        Criterion::Waic => {
            let models: Vec<(&str, &Waic)> = evaluated
                .iter()
                .filter_map(|e| match &e.estimate {
                    Estimate::Waic(w) => Some((e.name.as_str(), w)),
                    Estimate::Loo(_) => None,
                })
                .collect();
            compare(&models, method)
        }
    }
    .map_err(|e| format!("cannot compare the fits: {e}"))?;
    if args.json {
        say!("{}", report_json(args, &evaluated, &comparison));
    } else {
        say!("{}", report_text(args, &evaluated, &comparison));
    }
    Ok(())
}

/// Writes `log_lik_N.csv`: chain, draw (1-based), then one column per sequence.
fn save_log_lik(folder: &std::path::Path, n: usize, log_lik: &Array3<f64>) -> Result<(), String> {
    std::fs::create_dir_all(folder)
        .map_err(|e| format!("cannot create '{}': {e}", folder.display()))?;
    let (chains, draws, sequences) = log_lik.dim();
    let mut text = String::from("chain,draw");
    for i in 1..=sequences {
        let _ = write!(text, ",log_lik.{i}");
    }
    text.push('\n');
    for c in 0..chains {
        for d in 0..draws {
            let _ = write!(text, "{},{}", c + 1, d + 1);
            for i in 0..sequences {
                // `{:?}` prints the shortest text that parses back to the same f64.
                let _ = write!(text, ",{:?}", log_lik[[c, d, i]]);
            }
            text.push('\n');
        }
    }
    write_file(&folder.join(format!("log_lik_{n}.csv")), text.as_bytes())
}

impl Estimate {
    /// Pooled draws the estimate was computed from.
    fn n_samples(&self) -> usize {
        match self {
            Estimate::Loo(l) => l.n_samples,
            Estimate::Waic(w) => w.n_samples,
        }
    }

    /// Observations (sequences) it covers.
    fn observations(&self) -> usize {
        match self {
            Estimate::Loo(l) => l.pointwise.len(),
            Estimate::Waic(w) => w.pointwise.len(),
        }
    }
}

/// ArviZ's warning under a LOO estimate with a large k̂.
fn pareto_warning(good_k: f64) -> String {
    format!(
        "Estimated shape parameter of Pareto distribution is greater than {good_k:.2} for one or \
         more samples. You should consider using a more robust model, this is because \
         importance sampling is less likely to work well if the marginal posterior and LOO \
         posterior are very different. This is more likely to happen with a non-robust model \
         and highly influential observations."
    )
}

/// ArviZ's warning under a WAIC estimate with a large log-likelihood variance.
const WAIC_WARNING: &str = "For one or more samples the posterior variance of the log predictive \
     densities exceeds 0.4. This could be indication of WAIC starting to fail. See \
     http://arxiv.org/abs/1507.04544 for details";

fn report_text(args: &CompareArgs, evaluated: &[Evaluated], comparison: &Comparison) -> String {
    let ic = match args.ic {
        Criterion::Loo => "PSIS-LOO",
        Criterion::Waic => "WAIC",
    };
    let weights = match args.method {
        Method::Stacking => "stacking",
        Method::PseudoBma => "pseudo-BMA",
    };
    let first = &evaluated[0].estimate;
    let mut text = format!(
        "Model comparison by {ic} ({weights} weights) of {} draws × {} sequences per fit (one \
         observation = one sequence):\n\n{comparison}\n",
        first.n_samples(),
        first.observations()
    );
    for e in evaluated {
        if e.recomputed {
            let _ = writeln!(
                text,
                "{}: log-likelihood recomputed from the draws (the chain files have no log_lik \
                 columns)",
                e.name
            );
        }
        if args.ic == Criterion::Loo && e.r_eff.is_none() {
            let _ = writeln!(
                text,
                "{}: relative efficiency undefined (a constant column); r_eff = 1 used",
                e.name
            );
        }
        match &e.estimate {
            Estimate::Loo(l) => {
                let flagged = l.flagged_observations();
                if flagged.is_empty() {
                    continue;
                }
                let listed: Vec<String> = flagged
                    .iter()
                    .take(10)
                    .map(|&i| format!("sequence {} (k̂ = {:.2})", i + 1, l.pareto_k[i]))
                    .collect();
                let more = flagged.len().saturating_sub(10);
                let _ = writeln!(
                    text,
                    "warning: {}: Pareto k̂ above {:.2} for {} of {} sequences: {}{}. {}",
                    e.name,
                    l.good_k,
                    flagged.len(),
                    l.pareto_k.len(),
                    listed.join(", "),
                    if more > 0 {
                        format!(" and {more} more")
                    } else {
                        String::new()
                    },
                    pareto_warning(l.good_k)
                );
            }
            Estimate::Waic(w) if w.warning => {
                let _ = writeln!(text, "warning: {}: {WAIC_WARNING}", e.name);
            }
            Estimate::Waic(_) => {}
        }
    }
    text.trim_end().to_string()
}

fn report_json(args: &CompareArgs, evaluated: &[Evaluated], comparison: &Comparison) -> Value {
    let models: Vec<Value> = comparison
        .rows
        .iter()
        .map(|row| {
            let e = evaluated
                .iter()
                .find(|e| e.name == row.name)
                .expect("every row is one of the fits");
            let mut entry = json!({
                "name": row.name,
                "rank": row.rank,
                "elpd": row.elpd,
                "p": row.effective_parameters,
                "elpd_diff": row.elpd_diff,
                "weight": row.weight,
                "se": row.se,
                "dse": row.dse,
                "warning": row.warning,
                "log_lik_recomputed": e.recomputed,
            });
            let map = entry.as_object_mut().expect("object literal");
            match &e.estimate {
                Estimate::Loo(l) => {
                    map.insert("pareto_k".into(), json!(l.pareto_k));
                    map.insert("good_k".into(), json!(l.good_k));
                    map.insert("r_eff".into(), json!(l.r_eff));
                    map.insert("pointwise".into(), json!(l.pointwise));
                }
                Estimate::Waic(w) => {
                    map.insert("pointwise".into(), json!(w.pointwise));
                }
            }
            entry
        })
        .collect();
    json!({
        "ic": match args.ic { Criterion::Loo => "loo", Criterion::Waic => "waic" },
        "method": match args.method { Method::Stacking => "stacking", Method::PseudoBma => "pseudo-bma" },
        "models": models,
    })
}
