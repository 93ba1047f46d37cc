//! `trellis simulate`: draw a dataset from a zoo model, with its hidden states and the
//! parameters, in files `trellis fit --data` reads back (and shows the true values of).

use trellis_models::hmm::Sequences;
use trellis_models::zoo::{Family, HmmModel};
use trellis_models::BayesianModel;

use crate::family::{check_params, default_params, params_file, params_from_json};
use crate::io::write_file;
use crate::obs::{self, CliObs};
use crate::output_dir::OutputDir;
use crate::text::plural;
use crate::{ModelKind, SimulateArgs};

pub fn run<F: Family>(
    family: F,
    params: Option<&(serde_json::Value, String)>,
    args: &SimulateArgs,
) -> Result<(), String>
where
    F::Obs: CliObs,
{
    let (kind, symbols, dim) = (args.model, args.symbols, args.dim);
    // TODO(issue 11): wired to the library's simulation with covariates and missing steps
    // once it is merged.
    if args.covariates.is_some() || args.missing_rate != 0.0 {
        return Err("--covariates and --missing-rate are not supported by this build yet".into());
    }
    if args.sequences == 0 || args.length == 0 {
        return Err("--sequences and --length must be at least 1".into());
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
    let out = OutputDir::prepare(&args.out)?;
    let simulated = model
        .simulate(&values, args.sequences, args.length, args.seed)
        .map_err(|e| e.to_string())?;

    let observations: Vec<Vec<F::Obs>> = simulated.observations.iter().map(<[_]>::to_vec).collect();
    let states: Vec<Vec<usize>> = simulated.states.iter().map(<[_]>::to_vec).collect();
    let data_path = args.out.join("data.csv");
    let states_path = args.out.join("states.csv");
    let params_path = args.out.join("params.json");
    write_file(&data_path, obs::to_csv(&observations).as_bytes())?;
    write_file(&states_path, obs::to_csv(&states).as_bytes())?;
    let mut file = params_file(kind, &model, &values);
    if kind == ModelKind::Categorical {
        file["symbols"] = symbols.into();
    }
    let text = serde_json::to_string_pretty(&file).map_err(|e| e.to_string())?;
    write_file(&params_path, text.as_bytes())?;
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
    out.keep();
    Ok(())
}
