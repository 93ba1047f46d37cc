//! `trellis simulate`: draw a dataset from a zoo model, with its hidden states and the
//! parameters, in files `trellis fit --data` reads back (and shows the true values of); with
//! `--fit DIR`, replicated datasets of a fit's data from its posterior (or prior) draws.

use std::fmt::Write as _;

use trellis_models::hmm::Sequences;
use trellis_models::prior_draws;
use trellis_models::relabel::constrained_draws;
use trellis_models::zoo::{Covariates, Family, HmmModel};
use trellis_models::BayesianModel;

use crate::covariates::{self, SequenceRows, COEFFICIENTS};
use crate::family::{check_params, default_params, params_file, params_from_json};
use crate::fitted::Fitted;
use crate::input::Input;
use crate::io::{io_reason, write_file};
use crate::masks::ChainMasks;
use crate::obs::{self, CliObs, CsvLayout};
use crate::output_dir::{Owned, RunDir, SIMULATE_FILES};
use crate::ppc::spread;
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
    if !(0.0..1.0).contains(&args.missing_rate) {
        return Err(format!(
            "--missing-rate must be at least 0 and below 1, got {}",
            args.missing_rate
        ));
    }
    // With covariates, the covariates file gives the sequences and their times.
    let table = args
        .covariates
        .as_deref()
        .map(covariates::read_unmatched)
        .transpose()?;
    if table.is_none() && (args.sequences == 0 || args.length == 0) {
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
    if table.is_none() && !values.is_some_and(|n| n <= MAX_SIMULATED_VALUES) {
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
    let mut defaults = default_params(kind, args.states, symbols, dim);
    if let Some(table) = &table {
        let object = defaults.as_object_mut().expect("an object");
        object.remove("p_transition");
        object.insert(
            COEFFICIENTS.into(),
            covariates::default_coefficients(args.states, 1 + table.names.len()),
        );
    }
    let (json, source) = match params {
        Some((json, source)) => (json.clone(), source.clone()),
        None => (defaults, "default parameters".to_string()),
    };
    if table.is_none() && json.get(COEFFICIENTS).is_some() {
        return Err(format!(
            "{source}: {COEFFICIENTS} belongs to a model with covariate-driven transitions: \
             simulating it needs --covariates FILE"
        ));
    }
    // A model needs data; placeholder observations stand in (one, or the covariates'
    // sequences), they are never used.
    let lengths: Vec<usize> = match &table {
        Some(table) => table.sequences.iter().map(|s| s.len).collect(),
        None => vec![1],
    };
    let placeholder = Sequences::new(
        lengths
            .iter()
            .map(|&n| vec![F::Obs::placeholder(dim); n])
            .collect::<Vec<_>>(),
    )
    .map_err(|e| e.to_string())?;
    let n_obs = placeholder.total_len();
    let mut model = HmmModel::new(family, placeholder).map_err(|e| e.to_string())?;
    if let Some(table) = &table {
        let covariates = Covariates::new(table.names.clone(), table.values.clone(), n_obs)
            .map_err(|e| format!("{}: {e}", table.source))?;
        model = model
            .with_covariates(covariates)
            .map_err(|e| format!("{}: {e}", table.source))?;
    }
    if let Some(masks) = ChainMasks::with_zeros_of(None, args.states, &json, &source)? {
        model = model
            .with_masks(masks.state_masks())
            .map_err(|e| format!("{source}: {e}"))?;
    }
    let values = params_from_json(model.layout(), &json, &source)?;
    covariates::check_coefficient_diagonal(model.layout(), &values, &source)?;
    check_params(model.layout(), &values, &source)?;
    let out = RunDir::prepare(&args.out, args.overwrite, &SIMULATE_FILES)?;
    let simulated = match &table {
        Some(_) => model.simulate_like_data(&values, args.missing_rate, args.seed),
        None => model.simulate_with_missing(
            &values,
            args.sequences,
            args.length,
            args.missing_rate,
            args.seed,
        ),
    }
    .map_err(|e| e.to_string())?;

    let observations: Vec<Vec<F::Obs>> = simulated.observations.iter().map(<[_]>::to_vec).collect();
    let states: Vec<Vec<usize>> = simulated.states.iter().map(<[_]>::to_vec).collect();
    let rows = table.as_ref().map(|t| t.sequences.as_slice());
    let data_layout = CsvLayout {
        missing: simulated.observations.missing(),
        rows,
        column: "value",
    };
    let states_layout = CsvLayout {
        missing: None,
        rows,
        column: "state",
    };
    let data_path = out.path().join("data.csv");
    let states_path = out.path().join("states.csv");
    let params_path = out.path().join("params.json");
    write_file(
        &data_path,
        obs::to_csv(&observations, &data_layout).as_bytes(),
    )?;
    write_file(
        &states_path,
        obs::to_csv(&states, &states_layout).as_bytes(),
    )?;
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
    let shape = match &table {
        Some(table) => format!(
            "{} ({}, covariates {} from {})",
            plural(simulated.observations.len(), "sequence"),
            plural(simulated.observations.total_len(), "observation"),
            table.names.join(", "),
            table.source
        ),
        None => format!(
            "{} × {}",
            plural(args.sequences, "sequence"),
            plural(args.length, "observation")
        ),
    };
    let n_missing = simulated
        .observations
        .missing()
        .map_or(0, |m| m.iter().filter(|&&m| m).count());
    let missing = if n_missing > 0 {
        format!(", {n_missing} missing (NA)")
    } else {
        String::new()
    };
    say!(
        "Simulated {shape} from {} (K = {}, {source}, seed {}{missing})",
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
    let with_covariates = table
        .as_ref()
        .map_or(String::new(), |t| format!(" --covariates {}", t.source));
    say!(
        "Fit it with: trellis fit --model {} --states {} --data {}{with_covariates}",
        kind.name(),
        args.states,
        data_path.display()
    );
    Ok(())
}

/// The folder of replicate `r` (1-based) in `simulate --fit`'s output: `replicate_R/` with
/// data.csv, states.csv and params.json, the layout of a plain `simulate`, so `trellis fit
/// --data OUT/replicate_R/data.csv` fits one and shows its true values.
pub fn replicate_dir(r: usize) -> String {
    format!("replicate_{r}")
}

/// Names `simulate --fit` writes: the replicate folders and their index.
pub const REPLICATE_FILES: Owned = Owned {
    command: "trellis simulate --fit",
    writes: |name| {
        name == REPLICATE_INDEX
            || name
                .strip_prefix("replicate_")
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            || name.starts_with('.') && name.contains(".tmp")
    },
};

/// The index of `simulate --fit`'s replicates: `replicate,source,chain,draw,seed` (source
/// `posterior` with the chain and draw, 1-based, of the draw it used; or `prior`).
pub const REPLICATE_INDEX: &str = "replicates.csv";

/// Runs `trellis simulate --fit DIR --draws N [--prior]`: N replicated datasets of the fit's
/// data (its sequence lengths and missing steps) from N posterior draws spread evenly over
/// all chains (as `trellis ppc` chooses them), or with `--prior` from N draws of the prior.
/// Replicate `r` uses the stream of seed `seed + r` (and, with `--prior`, the parameters from
/// the stream of `seed + r` jumped ahead), so each is bit-identical for a seed.
pub fn replicates<F: Family>(
    family: F,
    input: &Input,
    fitted: &Fitted,
    args: &SimulateArgs,
) -> Result<(), String>
where
    F::Obs: CliObs,
{
    if args.draws == 0 {
        return Err("--draws must be at least 1".into());
    }
    let (model, columns) = fitted.model(input, family)?;
    let kind = input.kind;
    // Each replicate's parameters, with where they came from (chain and draw, 1-based).
    let chosen: Vec<Chosen> = if args.prior {
        (1..=args.draws)
            .map(|r| {
                let values = prior_draws::draw_seeded(model.layout(), replicate_seed(args.seed, r))
                    .map_err(|e| format!("--prior: {e}"))?;
                Ok((values, None))
            })
            .collect::<Result<_, String>>()?
    } else {
        let per_chain = constrained_draws(&fitted.trace, &columns);
        let pooled: Vec<Chosen> = per_chain
            .into_iter()
            .zip(&fitted.trace.chains)
            .flat_map(|(draws, chain)| {
                draws
                    .into_iter()
                    .enumerate()
                    .map(move |(d, v)| (v, Some((chain.chain + 1, d + 1))))
            })
            .collect();
        spread(pooled.len(), args.draws)
            .into_iter()
            .map(|i| pooled[i].clone())
            .collect()
    };
    let out = RunDir::prepare(&args.out, args.overwrite, &REPLICATE_FILES)?;
    let data = model.data();
    // With covariates the replicates keep the data's sequence labels and times (the long
    // layout), so that `fit --covariates` matches them to the same covariates file.
    let rows = match (&input.covariates, &input.raw) {
        (Some(_), Some(raw)) => Some(SequenceRows::of(raw)),
        _ => None,
    };
    let mut index = String::from("replicate,source,chain,draw,seed\n");
    for (r, (values, origin)) in chosen.iter().enumerate() {
        let r = r + 1;
        let seed = replicate_seed(args.seed, r);
        let simulated = model
            .simulate_like_data(values, 0.0, seed)
            .map_err(|e| format!("replicate {r}: {e}"))?;
        let observations: Vec<Vec<F::Obs>> =
            simulated.observations.iter().map(<[_]>::to_vec).collect();
        let states: Vec<Vec<usize>> = simulated.states.iter().map(<[_]>::to_vec).collect();
        let dir = out.path().join(replicate_dir(r));
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create '{}': {}", dir.display(), io_reason(&e)))?;
        // The fit's data's missing steps are missing in every replicate.
        let data_layout = CsvLayout {
            missing: data.missing(),
            rows: rows.as_deref(),
            column: "value",
        };
        let states_layout = CsvLayout {
            missing: None,
            rows: rows.as_deref(),
            column: "state",
        };
        write_file(
            &dir.join("data.csv"),
            obs::to_csv(&observations, &data_layout).as_bytes(),
        )?;
        write_file(
            &dir.join("states.csv"),
            obs::to_csv(&states, &states_layout).as_bytes(),
        )?;
        let mut file = params_file(kind, &model, values);
        if let (ModelKind::Categorical, Some(symbols)) = (kind, fitted.model_args.symbols) {
            file["symbols"] = symbols.into();
        }
        let text = serde_json::to_string_pretty(&file).map_err(|e| e.to_string())?;
        write_file(&dir.join("params.json"), text.as_bytes())?;
        let _ = match origin {
            Some((chain, draw)) => writeln!(index, "{r},posterior,{chain},{draw},{seed}"),
            None => writeln!(index, "{r},prior,,,{seed}"),
        };
    }
    write_file(&out.path().join(REPLICATE_INDEX), index.as_bytes())?;
    out.commit()?;
    say!(
        "Simulated {} like {} ({}) from {} of {} (K = {}, seed {})",
        plural(chosen.len(), "replicated dataset"),
        input.describe(data),
        plural(data.total_len(), "observation"),
        if args.prior {
            "prior draws"
        } else {
            "posterior draws"
        },
        fitted.name(),
        input.states,
        args.seed
    );
    say!(
        "Wrote {}/replicate_1 … replicate_{} (data.csv, states.csv, params.json) and {}",
        args.out.display(),
        chosen.len(),
        args.out.join(REPLICATE_INDEX).display()
    );
    let with_covariates = input
        .covariates
        .as_ref()
        .map_or(String::new(), |t| format!(" --covariates {}", t.source));
    say!(
        "Fit one with: trellis fit --model {} --states {} --data {}{with_covariates}",
        kind.name(),
        input.states,
        args.out.join(replicate_dir(1)).join("data.csv").display()
    );
    Ok(())
}

/// A replicate's parameters (constrained, layout order) and the chain and draw (1-based)
/// they come from; `None` for a prior draw.
type Chosen = (Vec<f64>, Option<(usize, usize)>);

/// The seed of replicate `r`: distinct per replicate (each seeds a generator of its own).
fn replicate_seed(seed: u64, r: usize) -> u64 {
    seed.wrapping_add(r as u64)
}
