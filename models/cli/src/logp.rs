//! `trellis logp`: the log-likelihood and its gradient at given parameters, by reverse mode,
//! forward mode and finite differences — the reference example's `hmm_logp` / `grad` calls.

use serde_json::{json, Value};
use trellis_ad::{
    finite_difference_estimates, forward, reverse, FdEstimate, FdSteps, Scalar, ScalarFn,
};
use trellis_models::hmm;
use trellis_models::zoo::{Family, HmmModel};
use trellis_models::BayesianModel;

use crate::family::params_to_json;
use crate::input::Input;
use crate::obs::CliObs;
use crate::LogpArgs;

/// The HMM log-likelihood as a function of the constrained parameters exactly as given:
/// every entry is a free variable (probabilities enter through their logarithms, and no
/// simplex constraint ties them), which is what the reference differentiates.
struct AsGiven<'m, F: Family> {
    model: &'m HmmModel<F>,
}

impl<F: Family> ScalarFn for AsGiven<'_, F> {
    fn eval<T: Scalar>(&self, x: &[T]) -> T {
        trellis_ad::scratch::with_vec(|buffer: &mut Vec<T>| {
            match self.model.layout().params_from_constrained(x, buffer) {
                Ok(params) => self
                    .model
                    .log_likelihood(&params)
                    .unwrap_or(T::constant(f64::NAN)),
                Err(_) => T::constant(f64::NAN),
            }
        })
    }
}

/// Above this many parameters the forward-mode and finite-difference columns are skipped
/// unless asked for (`--forward`, `--fd`): each costs O(parameters) evaluations' worth of
/// work, where reverse mode costs a few.
pub const AFFORDABLE_PARAMS: usize = 200;

/// Which check columns to compute, and why the others are skipped.
struct Columns {
    forward: bool,
    fd: bool,
    skipped: Option<String>,
}

impl Columns {
    fn new(n_params: usize, args: &LogpArgs) -> Self {
        let affordable = n_params <= AFFORDABLE_PARAMS;
        let (forward, fd) = (affordable || args.forward, affordable || args.fd);
        let missing: Vec<&str> = [
            (!forward, "forward mode (--forward)"),
            (!fd, "finite differences (--fd)"),
        ]
        .into_iter()
        .filter_map(|(skip, name)| skip.then_some(name))
        .collect();
        let skipped = (!missing.is_empty()).then(|| {
            format!(
                "skipped {}: {n_params} parameters > {AFFORDABLE_PARAMS}, each costs O(parameters) evaluations",
                missing.join(" and ")
            )
        });
        Self {
            forward,
            fd,
            skipped,
        }
    }
}

pub fn run<F: Family>(family: F, input: &Input, args: &LogpArgs) -> Result<(), String>
where
    F::Obs: CliObs,
{
    let model = input.model(family)?;
    let values = input.given_params(&model, "--params")?;
    let f = AsGiven { model: &model };
    let (total, mut grad_reverse) = reverse::value_and_gradient(&f, &values);
    if !total.is_finite() {
        return Err(format!(
            "the log-likelihood is {total} at these parameters: {}",
            first_impossible(&model, &values, input)
        ));
    }
    let zeros = zero_entry_gradient(&model, &values, &mut grad_reverse)?;
    let columns = Columns::new(values.len(), args);
    // Forward mode goes through the logarithms, which cannot see a zero entry's partial:
    // n/a there (the reverse column has it from probability space).
    let grad_forward = columns.forward.then(|| {
        let mut g = forward::gradient(&f, &values);
        for &i in &zeros {
            g[i] = f64::NAN;
        }
        g
    });
    // Richardson-extrapolated central differences with a step chosen per coordinate (and
    // shrunk to the scale of a small probability), each with an error estimate; a coordinate
    // whose every step leaves the support has no estimate (NaN in the column, `null` in JSON,
    // "n/a" in the table) and is counted as such in the summary line.
    let estimates = columns
        .fd
        .then(|| finite_difference_estimates(&f, &values, &FdSteps::default()));
    let grad_numeric: Option<Vec<f64>> = estimates
        .as_ref()
        .map(|e| e.iter().map(|e| e.value.unwrap_or(f64::NAN)).collect());
    let per_sequence = per_sequence(&model, &values)?;

    let layout = model.layout();
    if args.json {
        let column = |g: &Option<Vec<f64>>| match g {
            Some(g) => Value::Object(params_to_json(layout, g)),
            None => Value::Null,
        };
        let output = json!({
            "logp": total,
            "per_sequence": per_sequence,
            "grad": Value::Object(params_to_json(layout, &grad_reverse)),
            "grad_forward": column(&grad_forward),
            "grad_finite_difference": column(&grad_numeric),
            "skipped": columns.skipped,
        });
        say!(
            "{}",
            serde_json::to_string_pretty(&output).map_err(|e| e.to_string())?
        );
        return Ok(());
    }
    say!(
        "{} (K = {}) on {}",
        input.kind.name(),
        input.states,
        input.describe(model.data())
    );
    say!("log-likelihood: {total:.12}");
    let shown = per_sequence.len().min(5);
    for (i, lp) in per_sequence.iter().take(shown).enumerate() {
        say!("  sequence {i}: {lp:.12}");
    }
    if per_sequence.len() > shown {
        say!(
            "  … {} more (all of them with --json)",
            per_sequence.len() - shown
        );
    }
    say!("\nGradient with respect to each parameter entry as given:");
    say!(
        "{:<22} {:>12} {:>20} {:>20} {:>20}",
        "parameter",
        "value",
        "reverse mode",
        "forward mode",
        "finite differences"
    );
    let cell = |g: &Option<Vec<f64>>, i: usize| match g {
        Some(g) if g[i].is_nan() => format!("{:>20}", "n/a"),
        Some(g) => format!("{:>20.10}", g[i]),
        None => format!("{:>20}", "—"),
    };
    let reverse_column = Some(grad_reverse.clone());
    for (i, name) in layout.element_names().iter().enumerate() {
        say!(
            "{name:<22} {:>12.6} {} {} {}",
            values[i],
            cell(&reverse_column, i),
            cell(&grad_forward, i),
            cell(&grad_numeric, i)
        );
    }
    if let Some(estimates) = &estimates {
        say!("\n{}", finite_difference_verdict(&grad_reverse, estimates));
    }
    if let Some(skipped) = &columns.skipped {
        say!("\n{skipped}");
    }
    Ok(())
}

/// Why the log-likelihood is not finite: the first sequence no hidden path explains and,
/// from its forward filter (with the sequence's own chain and missing steps), the first of
/// its observations responsible.
fn first_impossible<F: Family>(model: &HmmModel<F>, values: &[f64], input: &Input) -> String {
    for s in 0..model.data().len() {
        let filtered = model.at_sequence(values, s, |chain, emission, seq| {
            hmm::filter(chain, emission, seq).map(|_| ())
        });
        match filtered {
            // The per-sequence routines number the sequence 0.
            Ok(Err(e)) => return input.hmm_error(&e.in_sequence(s)),
            Ok(Ok(())) => {}
            Err(e) => return e.to_string(),
        }
    }
    "no sequence is responsible (the priors' support?)".to_string()
}

/// Log-likelihood of each sequence at `values` (constrained, as given), with the sequence's
/// own chain (covariates) and missing steps.
fn per_sequence<F: Family>(model: &HmmModel<F>, values: &[f64]) -> Result<Vec<f64>, String> {
    (0..model.data().len())
        .map(|s| {
            model
                .at_sequence(values, s, |chain, emission, seq| {
                    hmm::posterior(chain, emission, seq).map(|p| p.log_likelihood)
                })
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())
        })
        .collect()
}

/// The gradient entries of `p_initial_state` and `p_transition` that are exact zeros, which
/// the log-probability route cannot give (`∂ ln L/∂ ln p = 0` there, and `1/p` is infinite):
/// computed in probability space instead (`hmm::batch_probability_gradient`, finite at
/// zeros), written into `grad`. Only the homogeneous chain has a `p_transition`; with
/// covariates the zero entries of `p_initial_state` get theirs from
/// `HmmModel::initial_probability_gradient` (per-step chains).
/// Returns the indices of the zero entries.
fn zero_entry_gradient<F: Family>(
    model: &HmmModel<F>,
    values: &[f64],
    grad: &mut [f64],
) -> Result<Vec<usize>, String> {
    let layout = model.layout();
    let Some(initial) = layout.params().iter().find(|p| p.name == "p_initial_state") else {
        return Ok(Vec::new());
    };
    let Some(transition) = layout.params().iter().find(|p| p.name == "p_transition") else {
        // Covariate transitions: the initial entries only (the coefficients have no zeros
        // of a probability).
        let offset = initial.constrained_offset;
        let range = offset..offset + initial.shape.len();
        let zeros: Vec<usize> = range.filter(|&i| values[i] == 0.0).collect();
        if !zeros.is_empty() {
            let g = model
                .initial_probability_gradient(values)
                .map_err(|e| e.to_string())?;
            for &i in &zeros {
                grad[i] = g[i - offset];
            }
        }
        return Ok(zeros);
    };
    let range = |spec: &trellis_models::layout::ParamSpec| {
        spec.constrained_offset..spec.constrained_offset + spec.shape.len()
    };
    let (ri, rt) = (range(initial), range(transition));
    let zeros: Vec<usize> = ri
        .clone()
        .chain(rt.clone())
        .filter(|&i| values[i] == 0.0)
        .collect();
    if zeros.is_empty() {
        return Ok(zeros);
    }
    let mut buffer = Vec::new();
    let params = layout
        .params_from_constrained(values, &mut buffer)
        .map_err(|e| e.to_string())?;
    let emission = model.emission(&params);
    let g = hmm::batch_probability_gradient(
        &values[ri.clone()],
        &values[rt.clone()],
        &emission,
        model.data(),
    )
    .map_err(|e| e.to_string())?;
    for (range, partials) in [(ri, &g.initial), (rt, &g.transition)] {
        for (i, &partial) in range.zip(partials) {
            if values[i] == 0.0 {
                grad[i] = partial;
            }
        }
    }
    Ok(zeros)
}

/// One line comparing reverse mode with the finite-difference estimates: the largest
/// relative difference over the coordinates that have an estimate, whether any difference
/// exceeds what the estimates' own error explains, and how many coordinates have none.
fn finite_difference_verdict(grad: &[f64], estimates: &[FdEstimate]) -> String {
    let mut worst = 0.0f64;
    let mut unexplained = 0;
    let mut missing = 0;
    for (&a, e) in grad.iter().zip(estimates) {
        let Some(n) = e.value else {
            missing += 1;
            continue;
        };
        worst = worst.max((a - n).abs() / a.abs().max(n.abs()).max(1.0));
        // The checker's own bound: four estimated errors plus rounding of the AD value.
        if (a - n).abs() > 4.0 * e.error + 1e-12 * a.abs().max(1.0) {
            unexplained += 1;
        }
    }
    let mut line =
        format!("Largest relative difference, reverse mode vs finite differences: {worst:.1e}");
    if unexplained == 0 {
        line.push_str(" (within the finite differences' estimated error)");
    } else {
        line.push_str(&format!(
            " ({unexplained} larger than the finite differences' estimated error)"
        ));
    }
    if missing > 0 {
        line.push_str(&format!(
            "; {missing} with no finite-difference estimate (every step left the support)"
        ));
    }
    line
}
