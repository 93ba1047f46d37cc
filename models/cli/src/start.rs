//! Where `fit`'s chains start: `--init` (constrained parameter values, or CmdStan's `0` and
//! radius forms) and `--step-size`/`--metric` (an earlier run's adaptation, to sample again
//! without warm-up); plus the `metric.json` that `fit` writes for `--metric` to read.

use std::path::Path;

use serde_json::{json, Value};
use trellis_models::layout::ParamLayout;
use trellis_samplers::{InvMetric, StartTuning, Trace};

use crate::family::{check_params, params_from_json};
use crate::io::read_json;

/// How `--init` places the chains.
pub enum Init {
    /// Uniform(−R, R) on every unconstrained coordinate (R = 0: the zero point).
    Radius(f64),
    /// One unconstrained starting point per chain of the run, in chain order.
    Points(Vec<Vec<f64>>),
}

/// Reads `--init` for the run's chains `first … first + chains − 1` (1-based): a number is
/// CmdStan's radius, anything else a JSON file of constrained values — one object for every
/// chain, or an array whose entry N−1 is chain N's.
pub fn read_init(
    layout: &ParamLayout,
    arg: &str,
    first: usize,
    chains: usize,
) -> Result<Init, String> {
    if let Ok(radius) = arg.trim().parse::<f64>() {
        if !(radius.is_finite() && radius >= 0.0) {
            return Err(format!(
                "--init {arg}: a radius must be finite and non-negative"
            ));
        }
        return Ok(Init::Radius(radius));
    }
    let path = Path::new(arg);
    let json = read_json(path, "--init file")?;
    let point = |entry: &Value, source: &str| -> Result<Vec<f64>, String> {
        let values = params_from_json(layout, entry, source)?;
        check_params(layout, &values, source)?;
        layout
            .unconstrain(&values)
            .map_err(|e| format!("{source}: {e}"))
    };
    let last = first + chains - 1;
    let points = match &json {
        Value::Array(entries) => {
            if entries.len() < last {
                return Err(format!(
                    "{}: {} initial values (chains 1 to {}), but the run has chains {first} to \
                     {last}: give one object per chain, or a single object for all",
                    path.display(),
                    entries.len(),
                    entries.len()
                ));
            }
            (first..=last)
                .map(|n| point(&entries[n - 1], &format!("{} (chain {n})", path.display())))
                .collect::<Result<Vec<_>, _>>()?
        }
        _ => vec![point(&json, &path.display().to_string())?; chains],
    };
    Ok(Init::Points(points))
}

/// The step size and metric to start from: `--metric` (a `metric.json`, CmdStan's metric
/// file, or a CmdStan CSV's adaptation block) and `--step-size`, which wins over the file's.
/// `dim` is the model's number of unconstrained parameters; `dense` is `--dense`.
pub fn read_start(
    metric: Option<&Path>,
    step_size: Option<f64>,
    dim: usize,
    dense: bool,
) -> Result<StartTuning, String> {
    if let Some(eps) = step_size {
        if !(eps.is_finite() && eps > 0.0) {
            return Err(format!(
                "--step-size must be finite and positive, got {eps}"
            ));
        }
    }
    let Some(path) = metric else {
        return Ok(StartTuning {
            step_size,
            inv_metric: None,
        });
    };
    let shown = path.display();
    let (file_step, inv_metric) = if path.extension().is_some_and(|e| e == "csv") {
        let chain = trellis_samplers::output::read::read_cmdstan_csv(path)
            .map_err(|e| format!("--metric {e}"))?;
        let metric = chain.chain.tuning.inv_metric.ok_or_else(|| {
            format!("--metric {shown}: the file has no adaptation block (inverse metric)")
        })?;
        (chain.chain.tuning.step_size, metric)
    } else {
        let json = read_json(path, "metric file")?;
        let metric = metric_from_json(json.get("inv_metric")).ok_or_else(|| {
            format!(
                "--metric {shown}: expected \"inv_metric\": an array of numbers (diagonal) \
                     or of equally long rows (dense)"
            )
        })?;
        let step = match json.get("stepsize") {
            None => None,
            Some(v) => Some(
                v.as_f64()
                    .ok_or_else(|| format!("--metric {shown}: \"stepsize\" must be a number"))?,
            ),
        };
        (step, metric)
    };
    let (given, is_dense) = match &inv_metric {
        InvMetric::Diag(d) => (d.len(), false),
        InvMetric::Dense { dim, .. } => (*dim, true),
    };
    if given != dim {
        return Err(format!(
            "--metric {shown}: the inverse metric is {given}-dimensional but the model has {dim} \
             unconstrained parameters"
        ));
    }
    if is_dense && !dense {
        return Err(format!(
            "--metric {shown} holds a dense inverse metric: add --dense"
        ));
    }
    Ok(StartTuning {
        step_size: step_size.or(file_step),
        inv_metric: Some(inv_metric),
    })
}

/// CmdStan's `inv_metric`: a vector (diagonal) or a square matrix as rows (dense).
fn metric_from_json(value: Option<&Value>) -> Option<InvMetric> {
    let items = value?.as_array()?;
    if items.iter().all(Value::is_number) {
        let d: Option<Vec<f64>> = items.iter().map(Value::as_f64).collect();
        return d.filter(|d| !d.is_empty()).map(InvMetric::Diag);
    }
    let n = items.len();
    let mut values = Vec::with_capacity(n * n);
    for row in items {
        let row = row.as_array().filter(|r| r.len() == n)?;
        for v in row {
            values.push(v.as_f64()?);
        }
    }
    Some(InvMetric::Dense { dim: n, values })
}

fn metric_to_json(metric: &InvMetric) -> Value {
    match metric {
        InvMetric::Diag(d) => json!(d),
        InvMetric::Dense { dim, values } => {
            json!(values.chunks((*dim).max(1)).collect::<Vec<_>>())
        }
    }
}

/// `metric.json`: the first chain's adapted step size and inverse metric in CmdStan's
/// metric-file form (`stepsize`, `inv_metric`, which CmdStan's `metric_file` reads too), and
/// every chain's under `chains`. `None` for a sampler without a metric.
pub fn metric_file(trace: &Trace, metric_name: &str) -> Option<Value> {
    let first = trace.chains.first()?;
    let inv_metric = first.tuning.inv_metric.as_ref()?;
    let chains: Vec<Value> = trace
        .chains
        .iter()
        .map(|c| {
            json!({
                "id": c.chain + 1,
                "stepsize": c.tuning.step_size,
                "inv_metric": c.tuning.inv_metric.as_ref().map(metric_to_json),
            })
        })
        .collect();
    Some(json!({
        "metric": metric_name,
        "stepsize": first.tuning.step_size,
        "inv_metric": metric_to_json(inv_metric),
        "chains": chains,
    }))
}
