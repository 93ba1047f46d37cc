//! Working over the posterior from the command line: `fit --relabel` and `trellis relabel`
//! on the categorical fit whose chains switch labels (R-hat below 1.01 afterwards, the
//! columns moved bit for bit), `decode --fit` averaged over posterior draws against the same
//! average recomputed here with the library, its refusal on switched chains, and
//! `simulate --fit` replicates (per-state moments against their draws' parameters, the data's
//! missing steps, bit-identical per seed, `--prior` moments against the prior).

use crate::cli_common;

use std::path::{Path, PathBuf};

use cli_common::{
    assert_contains, fails, json_numbers, read_json, stdout, trellis, words, Scratch,
};
use trellis_models::hmm::{self, Sequences};
use trellis_models::pointwise::parameter_columns;
use trellis_models::relabel::constrained_draws;
use trellis_models::zoo::{HmmModel, PoissonFamily};
use trellis_models::BayesianModel;
use trellis_samplers::Trace;

/// The categorical set-up whose chains find different labelings (seed 1 switches chain 4;
/// the label-switching test of cli_model_checking.rs), with 1 000 draws instead of 300: after
/// relabeling, 300 draws leave R-hat at 1.02 from Monte Carlo noise alone (bulk ESS 240 for
/// p_emission[1,0]), 1 000 bring every R-hat below 1.01. Stan's windowed adaptation and one
/// jittered start per chain, as that test was set up with: which chains switch depends on
/// where they start and on the adaptation's path.
const SWITCHING_DATA: &str = "simulate --model categorical --states 2 --symbols 3 --sequences 10 \
                              --length 40 --seed 5 --out sim";
const SWITCHING_FIT: &str = "fit --model categorical --states 2 --data sim/data.csv --chains 4 \
                             --warmup 300 --draws 1000 --seed 1 --adapt stan --init-candidates 1 \
                             --quiet";

/// A Poisson fit of simulated data with missing steps, for decoding and replicates.
const POISSON_DATA: &str = "simulate --model poisson --states 2 --sequences 8 --length 30 \
                            --missing-rate 0.1 --seed 3 --out sim";
const POISSON_FIT: &str = "fit --model poisson --states 2 --data sim/data.csv --chains 2 \
                           --warmup 200 --draws 100 --seed 2 --quiet --out fit";

fn chain_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_str().unwrap();
            name.starts_with("chain_") && name.ends_with(".csv")
        })
        .collect();
    files.sort();
    files
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The largest R-hat of the parameters in summary.json (rows with a finite r_hat).
fn max_rhat(summary: &serde_json::Value) -> f64 {
    summary
        .as_object()
        .unwrap()
        .iter()
        .filter(|(name, _)| name.starts_with("p_"))
        .filter_map(|(_, row)| row.get("r_hat").and_then(serde_json::Value::as_f64))
        .fold(0.0, f64::max)
}

/// The draw rows of a chain file (comment and header lines dropped), as text fields, and
/// the column names.
fn draw_rows(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let text = read(path);
    let mut lines = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty());
    let header: Vec<String> = lines.next().unwrap().split(',').map(String::from).collect();
    let rows = lines
        .map(|l| l.split(',').map(String::from).collect())
        .collect();
    (header, rows)
}

#[test]
fn relabel_brings_the_switched_categorical_fit_to_one_labeling() {
    let dir = Scratch::new("posterior-relabel");
    dir.succeeds(SWITCHING_DATA);
    // Without --relabel: switched, and decode --fit refuses with the warning.
    dir.succeeds(&format!("{SWITCHING_FIT} --out plain"));
    assert!(max_rhat(&read_json(&dir.join("plain/summary.json"))) > 1.1);
    let refusal = trellis(
        dir.path(),
        &words("decode --model categorical --states 2 --data sim/data.csv --fit plain --out d"),
    );
    assert!(!refusal.status.success());
    let message = cli_common::stderr(&refusal);
    assert!(
        message.starts_with("error: label switching: chain 4's states 1, 0 are chain 1's")
            && message.contains("trellis relabel plain"),
        "{message}"
    );
    assert!(!dir.join("d").exists());

    // With --relabel: one labeling, recorded in every header and summary.json.
    let out = dir.succeeds(&format!("{SWITCHING_FIT} --relabel --out relabeled"));
    let text = stdout(&out);
    assert!(!text.contains("label switching"), "{text}");
    let record =
        "to chain 1's labels: chain 1 [0, 1]; chain 2 [0, 1]; chain 3 [0, 1]; chain 4 [1, 0]";
    assert_contains(&text, &format!("Relabeled {record}"));
    let summary = read_json(&dir.join("relabeled/summary.json"));
    assert_eq!(summary["trellis_relabel"], record);
    let rhat = max_rhat(&summary);
    assert!(rhat < 1.01, "R-hat {rhat} after relabeling");
    for file in chain_files(&dir.join("relabeled")) {
        assert_contains(&read(&file), &format!("\n# trellis_relabel = {record}\n"));
    }
    // The same draws, chain 4's state columns swapped bit for bit; the others untouched.
    let (header, plain) = draw_rows(&dir.join("plain/chain_4.csv"));
    let (relabeled_header, relabeled) = draw_rows(&dir.join("relabeled/chain_4.csv"));
    assert_eq!(header, relabeled_header);
    let column = |name: &str| header.iter().position(|h| h == name).unwrap();
    let swapped = |name: &str| -> String {
        // State index 1 ↔ 2 (1-based) in the first index; p_transition on both.
        let mut parts: Vec<String> = name.split('.').map(String::from).collect();
        let both = parts[0] == "p_transition";
        for (i, part) in parts.iter_mut().enumerate().skip(1) {
            if i == 1 || both {
                *part = if part == "1" { "2".into() } else { "1".into() };
            }
        }
        parts.join(".")
    };
    for name in &header {
        let is_state = ["p_emission.", "p_initial_state.", "p_transition."]
            .iter()
            .any(|p| name.starts_with(p));
        let source = if is_state {
            swapped(name)
        } else {
            name.clone()
        };
        for (a, b) in relabeled.iter().zip(&plain) {
            assert_eq!(a[column(name)], b[column(&source)], "{name}");
        }
    }
    assert_eq!(
        draw_rows(&dir.join("plain/chain_1.csv")),
        draw_rows(&dir.join("relabeled/chain_1.csv"))
    );

    // `trellis relabel` on the plain fit gives the same files and summary numbers; twice
    // is refused; decode --fit then works.
    dir.succeeds("relabel plain");
    for (a, b) in chain_files(&dir.join("plain"))
        .iter()
        .zip(chain_files(&dir.join("relabeled")))
    {
        assert_eq!(draw_rows(a), draw_rows(&b));
        assert_contains(&read(a), &format!("\n# trellis_relabel = {record}\n"));
    }
    assert!(max_rhat(&read_json(&dir.join("plain/summary.json"))) < 1.01);
    fails(
        &dir,
        "relabel plain",
        &format!(
            "plain/chain_1.csv: the chains were relabeled already (trellis_relabel = {record})"
        ),
    );
    dir.succeeds("decode --model categorical --states 2 --data sim/data.csv --fit plain --out d");
}

#[test]
fn relabel_is_refused_where_it_cannot_apply() {
    let dir = Scratch::new("posterior-relabel-refused");
    dir.succeeds(POISSON_DATA);
    let cases = [
        (
            "fit --model poisson --states 2 --data sim/data.csv --relabel QUICK",
            "--relabel does not apply: the family orders 'rate' across states, so its labels \
             cannot switch: there is nothing to relabel",
        ),
        (
            "fit --relabel QUICK",
            "--relabel does not apply: no emission parameter is state-specific, so the model \
             itself names the states: there is nothing to relabel",
        ),
        (
            "fit --model categorical --states 2 --data sim/data.csv --relabel QUICK",
            "--relabel relabels chains to the first one: it needs --chains 2 or more",
        ),
    ];
    for (line, message) in cases {
        fails(&dir, line, message);
    }
}

/// The data file of the Poisson set-up as sequences (wide layout, `NA` missing).
fn read_counts(path: &Path) -> (Vec<Vec<u32>>, Vec<bool>) {
    let (mut seqs, mut missing) = (Vec::new(), Vec::new());
    for line in read(path).lines().filter(|l| !l.is_empty()) {
        let mut seq = Vec::new();
        for field in line.split(',') {
            missing.push(field == "NA");
            seq.push(field.parse().unwrap_or(0));
        }
        seqs.push(seq);
    }
    (seqs, missing)
}

fn csv_numbers(path: &Path) -> Vec<Vec<f64>> {
    read(path)
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(|x| x.parse().unwrap()).collect())
        .collect()
}

#[test]
fn decode_over_the_posterior_averages_the_draws() {
    let dir = Scratch::new("posterior-decode");
    dir.succeeds(POISSON_DATA);
    dir.succeeds(POISSON_FIT);
    let decode = "decode --model poisson --states 2 --data sim/data.csv --fit fit --draws 30";
    dir.succeeds(&format!("{decode} --out post"));

    // The same 30 draws (spread evenly over the pooled chains), decoded here.
    let (counts, missing) = read_counts(&dir.join("sim/data.csv"));
    let data = Sequences::new(counts)
        .unwrap()
        .with_missing(missing)
        .unwrap();
    let model = HmmModel::new(PoissonFamily::new(2), data).unwrap();
    let trace = Trace::from_cmdstan_csv(&chain_files(&dir.join("fit")), false).unwrap();
    let columns = parameter_columns(model.layout(), &trace).unwrap();
    let pooled = constrained_draws(&trace, &columns).concat();
    let chosen: Vec<&Vec<f64>> = (0..30).map(|i| &pooled[i * pooled.len() / 30]).collect();
    let n_seq = model.data().len();
    let mut smoothed: Vec<Vec<f64>> = Vec::new();
    let mut votes: Vec<Vec<[usize; 2]>> = Vec::new();
    for s in 0..n_seq {
        let len = model.data().get(s).unwrap().len();
        let mut sum = vec![0.0; len * 2];
        let mut count = vec![[0usize; 2]; len];
        for point in &chosen {
            let (p, path) = model
                .at_sequence(point, s, |chain, emission, seq| {
                    (
                        hmm::smooth(chain, emission, seq).unwrap(),
                        hmm::viterbi(chain, emission, seq).unwrap(),
                    )
                })
                .unwrap();
            for (a, b) in sum.iter_mut().zip(p.iter()) {
                *a += b;
            }
            for (t, &z) in path.states.iter().enumerate() {
                count[t][z] += 1;
            }
        }
        smoothed.push(sum.iter().map(|v| v / 30.0).collect());
        votes.push(count);
    }
    let written = csv_numbers(&dir.join("post/smoothed.csv"));
    let shares = csv_numbers(&dir.join("post/viterbi_share.csv"));
    let viterbi: Vec<Vec<usize>> = read(&dir.join("post/viterbi.csv"))
        .lines()
        .map(|l| l.split(',').map(|x| x.parse().unwrap()).collect())
        .collect();
    let mut row = 0;
    let mut uncertain = 0;
    for s in 0..n_seq {
        for (t, count) in votes[s].iter().enumerate() {
            let line = &written[row];
            let share = &shares[row];
            assert_eq!((line[0], line[1]), (s as f64, t as f64));
            for k in 0..2 {
                let expected = smoothed[s][t * 2 + k];
                assert!((line[2 + k] - expected).abs() < 1e-12, "s {s} t {t} k {k}");
            }
            let mode = usize::from(count[1] > count[0]);
            assert_eq!(viterbi[s][t], mode, "s {s} t {t}");
            assert_eq!(share[2], mode as f64);
            assert_eq!(share[3], count[mode] as f64 / 30.0);
            uncertain += usize::from(count[mode] < 30);
            row += 1;
        }
    }
    assert_eq!(row, written.len());
    // Not every step is decided unanimously (else this compares nothing but one path).
    assert!(uncertain > 0 || smoothed.iter().flatten().any(|p| *p > 0.01 && *p < 0.99));

    // --at-mean decodes once, at the posterior means: no share file.
    dir.succeeds(&format!("{decode} --at-mean --out mean"));
    assert!(!dir.join("mean/viterbi_share.csv").exists());
    assert!(dir.join("mean/smoothed.csv").exists());
}

/// Mean and population variance.
fn moments(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    (mean, x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n)
}

#[test]
fn simulate_from_the_fit_replicates_its_data_from_posterior_and_prior_draws() {
    let dir = Scratch::new("posterior-simulate");
    dir.succeeds(POISSON_DATA);
    dir.succeeds(POISSON_FIT);
    dir.succeeds("simulate --fit fit --draws 40 --seed 9 --out rep");
    let (observed, observed_missing) = read_counts(&dir.join("sim/data.csv"));
    let index = read(&dir.join("rep/replicates.csv"));
    assert_eq!(index.lines().count(), 41);
    assert!(index.starts_with("replicate,source,chain,draw,seed\n1,posterior,1,1,10\n"));
    // Per state: replicate r's counts where it was in state k against rate[k] of its draw.
    // Standardised by the Poisson sd of the state's mean, summed over replicates: N(0, 40).
    let mut z_mean = [0.0; 2];
    let mut z_var = [0.0; 2];
    for r in 1..=40 {
        let rep = dir.join(&format!("rep/replicate_{r}"));
        let (counts, missing) = read_counts(&rep.join("data.csv"));
        // The fit's data's lengths and missing steps.
        assert_eq!(missing, observed_missing);
        assert_eq!(
            counts.iter().map(Vec::len).collect::<Vec<_>>(),
            observed.iter().map(Vec::len).collect::<Vec<_>>()
        );
        let (states, _) = read_counts(&rep.join("states.csv"));
        let rate: Vec<f64> = json_numbers(&read_json(&rep.join("params.json"))["rate"]);
        for k in 0..2 {
            let values: Vec<f64> = counts
                .iter()
                .flatten()
                .zip(states.iter().flatten())
                .zip(&missing)
                .filter(|((_, &z), &m)| z as usize == k && !m)
                .map(|((&y, _), _)| f64::from(y))
                .collect();
            let n = values.len() as f64;
            if n < 5.0 {
                continue;
            }
            let (mean, var) = moments(&values);
            let lambda = rate[k];
            z_mean[k] += (mean - lambda) / (lambda / n).sqrt();
            // Var of a sample variance of Poisson counts: (λ + 2λ²)/n to first order.
            z_var[k] += (var - lambda) / ((lambda + 2.0 * lambda * lambda) / n).sqrt();
        }
    }
    for k in 0..2 {
        for (what, z) in [("mean", z_mean[k]), ("variance", z_var[k])] {
            let z = z / 40f64.sqrt();
            assert!(z.abs() < 4.0, "state {k} {what}: z = {z}");
        }
    }

    // Bit-identical for a seed; another seed, other data.
    dir.succeeds("simulate --fit fit --draws 40 --seed 9 --out again");
    dir.succeeds("simulate --fit fit --draws 40 --seed 10 --out other");
    let file = |run: &str| read(&dir.join(&format!("{run}/replicate_7/data.csv")));
    assert_eq!(file("rep"), file("again"));
    assert_ne!(file("rep"), file("other"));

    // --prior: Σ rate ~ Gamma(4, 0.1) (the sum is unchanged by the ordering): mean 40,
    // variance 400; p_initial_state[0] ~ Beta(1, 1): mean 1/2, variance 1/12.
    dir.succeeds("simulate --fit fit --prior --draws 400 --seed 4 --out prior");
    let (mut sums, mut initial) = (Vec::new(), Vec::new());
    for r in 1..=400 {
        let params = read_json(&dir.join(&format!("prior/replicate_{r}/params.json")));
        let rate: Vec<f64> = json_numbers(&params["rate"]);
        assert!(rate[0] < rate[1], "ordered rates");
        sums.push(rate.iter().sum::<f64>());
        initial.push(params["p_initial_state"][0].as_f64().unwrap());
    }
    let (mean, var) = moments(&sums);
    // sd of the mean 1; of the variance about 400·√(3.5/400) = 37.
    assert!((mean - 40.0).abs() < 4.0, "prior Σ rate mean {mean}");
    assert!((var - 400.0).abs() < 150.0, "prior Σ rate variance {var}");
    let (mean, var) = moments(&initial);
    assert!(
        (mean - 0.5).abs() < 0.06,
        "prior p_initial_state[0] mean {mean}"
    );
    assert!(
        (var - 1.0 / 12.0).abs() < 0.025,
        "prior p_initial_state[0] variance {var}"
    );
    assert!(read(&dir.join("prior/replicates.csv")).contains("\n1,prior,,,5\n"));
}
