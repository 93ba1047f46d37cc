//! `trellis simulate`: draw a dataset from a zoo model, with its hidden states and the
//! parameters, in files `trellis fit --data` reads back (and shows the true values of).

use trellis_models::hmm::Sequences;
use trellis_models::zoo::{Family, HmmModel};
use trellis_models::BayesianModel;

use crate::family::{check_params, default_params, params_file, params_from_json};
use crate::io::write_file;
use crate::obs::{self, CliObs};
use crate::output_dir::{RunDir, SIMULATE_FILES};
use crate::text::plural;
use crate::{ModelKind, SimulateArgs};

/// The most values one `simulate` draws (2³² — 32 GiB of observations as f64): more is
/// refused before anything is allocated, where it would exhaust memory or overflow.
const MAX_SIMULATED_VALUES: usize = 1 << 32;

pub fn run<F: Family>(
    family: F,
    params: Option<&(serde_json::Value, String)>,
    args: &SimulateArgs,
) -> Result<(), String>
where
    F::Obs: CliObs,
{
    let (kind, symbols, dim) = (args.model, args.symbols, args.dim);
    if args.sequences == 0 || args.length == 0 {
        return Err("--sequences and --length must be at least 1".into());
    }
    // Only the vector family has more than one value per observation.
    let width = if kind == ModelKind::DiagGaussian {
        dim
    } else {
        1
    };
    let values = args
        .sequences
        .checked_mul(args.length)
        .and_then(|n| n.checked_mul(width.max(1)));
    if !values.is_some_and(|n| n <= MAX_SIMULATED_VALUES) {
        return Err(format!(
            "--sequences {} × --length {}{} is more than {MAX_SIMULATED_VALUES} simulated \
             values; simulate less at a time",
            args.sequences,
            args.length,
            if width > 1 {
                format!(" × {width} values per observation")
            } else {
                String::new()
            }
        ));
    }
    // A model needs data; one placeholder observation stands in, it is never used.
    let placeholder =
        Sequences::new(vec![vec![F::Obs::placeholder(dim)]]).map_err(|e| e.to_string())?;
    let model = HmmModel::new(family, placeholder).map_err(|e| e.to_string())?;
    let defaults = default_params(kind, args.states, symbols, dim);
    let (json, source) = match params {
        Some((json, source)) => (json.clone(), source.clone()),
        None => (defaults, "default parameters".to_string()),
    };
    let values = params_from_json(model.layout(), &json, &source)?;
    check_params(model.layout(), &values, &source)?;
    let out = RunDir::prepare(&args.out, args.overwrite, &SIMULATE_FILES)?;
    let simulated = model
        .simulate(&values, args.sequences, args.length, args.seed)
        .map_err(|e| e.to_string())?;

    let observations: Vec<Vec<F::Obs>> = simulated.observations.iter().map(<[_]>::to_vec).collect();
    let states: Vec<Vec<usize>> = simulated.states.iter().map(<[_]>::to_vec).collect();
    let data_path = out.path().join("data.csv");
    let states_path = out.path().join("states.csv");
    let params_path = out.path().join("params.json");
    write_file(&data_path, obs::to_csv(&observations).as_bytes())?;
    write_file(&states_path, obs::to_csv(&states).as_bytes())?;
    let mut file = params_file(kind, &model, &values);
    if kind == ModelKind::Categorical {
        file["symbols"] = symbols.into();
    }
    let text = serde_json::to_string_pretty(&file).map_err(|e| e.to_string())?;
    write_file(&params_path, text.as_bytes())?;
    out.commit()?;
    // Paths as they are now that the folder is in place.
    let data_path = args.out.join("data.csv");
    let states_path = args.out.join("states.csv");
    let params_path = args.out.join("params.json");
    say!(
        "Simulated {} × {} from {} (K = {}, {source}, seed {})",
        plural(args.sequences, "sequence"),
        plural(args.length, "observation"),
        kind.name(),
        args.states,
        args.seed
    );
    say!(
        "Wrote {}, {}, {}",
        data_path.display(),
        states_path.display(),
        params_path.display()
    );
    say!(
        "Fit it with: trellis fit --model {} --states {} --data {}",
        kind.name(),
        args.states,
        data_path.display()
    );
    Ok(())
}
