//! The zoo as the command sees it: names, parameters as JSON, default parameters.

use serde_json::{json, Map, Value};
use trellis_models::layout::{ParamLayout, Shape};
use trellis_models::zoo::{Family, HmmModel};
use trellis_models::BayesianModel;

use crate::ModelKind;

impl ModelKind {
    /// The name used on the command line and in output files.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::GaussianShared => "gaussian-shared",
            ModelKind::Gaussian => "gaussian",
            ModelKind::Poisson => "poisson",
            ModelKind::Categorical => "categorical",
            ModelKind::StudentT => "student-t",
            ModelKind::Ar1 => "ar1",
            ModelKind::DiagGaussian => "diag-gaussian",
            ModelKind::Exponential => "exponential",
        }
    }

    /// Whether the built-in dataset (real-valued scalar observations) suits this family.
    pub fn accepts_builtin_data(self) -> bool {
        matches!(
            self,
            ModelKind::GaussianShared | ModelKind::Gaussian | ModelKind::StudentT | ModelKind::Ar1
        )
    }
}

/// Reads a parameter file: a JSON object with one entry per parameter of `layout`, each a
/// number, an array (vector) or an array of arrays (matrix, one inner array per row).
/// Returns the constrained values in layout order. Other keys (`model`, `states`) are
/// ignored.
pub fn params_from_json(
    layout: &ParamLayout,
    json: &Value,
    source: &str,
) -> Result<Vec<f64>, String> {
    let Some(object) = json.as_object() else {
        return Err(format!("{source}: parameters must be a JSON object"));
    };
    let mut values = Vec::with_capacity(layout.constrained_len());
    for spec in layout.params() {
        let name = &spec.name;
        let entry = object.get(name).ok_or_else(|| {
            format!(
                "{source}: missing parameter '{name}' ({})",
                describe(spec.shape)
            )
        })?;
        let wrong = || {
            format!(
                "{source}: parameter '{name}' must be {}",
                describe(spec.shape)
            )
        };
        let number = |v: &Value| v.as_f64().ok_or_else(wrong);
        match spec.shape {
            Shape::Scalar => values.push(number(entry)?),
            Shape::Vector(n) => {
                let items = entry
                    .as_array()
                    .filter(|a| a.len() == n)
                    .ok_or_else(wrong)?;
                for item in items {
                    values.push(number(item)?);
                }
            }
            Shape::Matrix(r, c) => {
                let rows = entry
                    .as_array()
                    .filter(|a| a.len() == r)
                    .ok_or_else(wrong)?;
                for row in rows {
                    let row = row.as_array().filter(|a| a.len() == c).ok_or_else(wrong)?;
                    for item in row {
                        values.push(number(item)?);
                    }
                }
            }
            Shape::Array3(a, b, c) => {
                let planes = entry
                    .as_array()
                    .filter(|p| p.len() == a)
                    .ok_or_else(wrong)?;
                for plane in planes {
                    let rows = plane
                        .as_array()
                        .filter(|r| r.len() == b)
                        .ok_or_else(wrong)?;
                    for row in rows {
                        let row = row.as_array().filter(|r| r.len() == c).ok_or_else(wrong)?;
                        for item in row {
                            values.push(number(item)?);
                        }
                    }
                }
            }
        }
    }
    Ok(values)
}

/// Checks constrained values (layout order) against each parameter's support. A probability
/// vector that does not sum to 1 is named as a whole (`p_transition[1,:]`); any other value
/// outside its support is named by element.
pub fn check_params(layout: &ParamLayout, values: &[f64], source: &str) -> Result<(), String> {
    for spec in layout.params() {
        if !spec.transform.is_simplex() {
            continue;
        }
        let block = &values[spec.constrained_offset..spec.constrained_offset + spec.shape.len()];
        for (r, row) in block.chunks(spec.shape.last().max(1)).enumerate() {
            // Non-finite, zero or negative entries get the element-wise message below.
            if row.iter().any(|p| !(p.is_finite() && *p > 0.0)) {
                continue;
            }
            let sum: f64 = row.iter().sum();
            if (sum - 1.0).abs() > 1e-8 {
                let what = match spec.shape {
                    Shape::Matrix(..) => format!("{}[{r},:]", spec.name),
                    _ => spec.name.clone(),
                };
                return Err(format!(
                    "{source}: {what} sums to {}, not 1: probabilities must sum to 1",
                    short(sum)
                ));
            }
        }
    }
    layout
        .unconstrain(values)
        .map(|_| ())
        .map_err(|e| format!("{source}: {e}"))
}

/// A number with at most 12 decimals and no trailing zeros: 1.45, not 1.4500000000000002.
fn short(x: f64) -> String {
    let text = format!("{x:.12}");
    let text = text.trim_end_matches('0');
    text.strip_suffix('.').unwrap_or(text).to_string()
}

fn describe(shape: Shape) -> String {
    match shape {
        Shape::Scalar => "a number".to_string(),
        Shape::Vector(n) => format!("an array of {n} numbers"),
        Shape::Matrix(r, c) => format!("an array of {r} rows of {c} numbers"),
        Shape::Array3(a, b, c) => {
            format!("an array of {a} arrays of {b} rows of {c} numbers")
        }
    }
}

/// The inverse of [`params_from_json`]: `values` (constrained, layout order) as a JSON object.
pub fn params_to_json(layout: &ParamLayout, values: &[f64]) -> Map<String, Value> {
    let mut object = Map::new();
    for spec in layout.params() {
        let block = &values[spec.constrained_offset..spec.constrained_offset + spec.shape.len()];
        let value = match spec.shape {
            Shape::Scalar => json!(block[0]),
            Shape::Vector(_) => json!(block),
            Shape::Matrix(_, c) => json!(block.chunks(c).collect::<Vec<_>>()),
            Shape::Array3(_, b, c) => json!(block
                .chunks(b * c)
                .map(|plane| plane.chunks(c).collect::<Vec<_>>())
                .collect::<Vec<_>>()),
        };
        object.insert(spec.name.clone(), value);
    }
    object
}

/// A parameter file for `values`, with the model's name and size so `fit` can recognise it.
pub fn params_file<F: Family>(kind: ModelKind, model: &HmmModel<F>, values: &[f64]) -> Value {
    let mut object = serde_json::Map::new();
    object.insert("model".into(), Value::from(kind.name()));
    object.insert("states".into(), Value::from(model.family().n_states()));
    object.extend(params_to_json(model.layout(), values));
    Value::Object(object)
}

/// Default parameters for `trellis simulate`, as JSON in the family's names: well-separated
/// states, a sticky chain (0.9 on the diagonal), uniform initial distribution.
pub fn default_params(kind: ModelKind, k: usize, symbols: usize, dim: usize) -> Value {
    let kf = k as f64;
    let spread: Vec<f64> = (0..k).map(|i| 2.0 * i as f64 - (kf - 1.0)).collect();
    let mut object = match kind {
        ModelKind::GaussianShared => json!({"emission_signal": 1.15, "emission_noise": 0.15}),
        ModelKind::Gaussian => json!({"mu": spread, "sigma": vec![0.5; k]}),
        ModelKind::Poisson => {
            json!({"rate": (0..k).map(|i| 2.0 + 6.0 * i as f64).collect::<Vec<_>>()})
        }
        ModelKind::Categorical => {
            let rows: Vec<Vec<f64>> = (0..k)
                .map(|i| {
                    let rest = 0.3 / (symbols as f64 - 1.0);
                    (0..symbols)
                        .map(|j| if j == i % symbols { 0.7 } else { rest })
                        .collect()
                })
                .collect();
            json!({"p_emission": rows})
        }
        ModelKind::StudentT => json!({"mu": spread, "sigma": vec![0.5; k], "nu": 4.0}),
        ModelKind::Ar1 => json!({"mu": spread, "phi": vec![0.5; k], "sigma": vec![0.5; k]}),
        ModelKind::DiagGaussian => {
            // States are ordered along the first coordinate only. The others are kept one sd
            // apart: a larger separation in an unordered coordinate makes a second, wrong
            // posterior mode (its means swapped between states) deep enough to trap chains.
            let mu: Vec<Vec<f64>> = spread
                .iter()
                .map(|&m| {
                    (0..dim)
                        .map(|d| if d == 0 { m } else { 0.25 * m + 0.5 * d as f64 })
                        .collect()
                })
                .collect();
            json!({"mu": mu, "sigma": vec![vec![0.5; dim]; k]})
        }
        ModelKind::Exponential => {
            json!({"rate": (0..k).map(|i| 0.5 * 4f64.powi(i as i32)).collect::<Vec<_>>()})
        }
    };
    let stay = if k > 1 { 0.9 } else { 1.0 };
    let leave = if k > 1 { 0.1 / (kf - 1.0) } else { 0.0 };
    let transition: Vec<Vec<f64>> = (0..k)
        .map(|i| (0..k).map(|j| if i == j { stay } else { leave }).collect())
        .collect();
    let map = object.as_object_mut().expect("object literal");
    map.insert("p_initial_state".into(), json!(vec![1.0 / kf; k]));
    map.insert("p_transition".into(), json!(transition));
    object
}
