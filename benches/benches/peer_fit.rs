//! The reference fit end to end against the best Rust peer, side by side in one run:
//! `trellis fit --chains 2` (the release binary, a child process, as a user runs it) and
//! nuts-rs (the version `nuts_overhead` uses, its default nutpie-style adaptation) driven by
//! the hand-written scalar forward–backward gradient with the chain rule through the same
//! transforms (`trellis_benches::hand_written::HandWrittenPosterior`). Both run 2 chains of
//! 1000 warm-up + 1000 draws in parallel on the reference data; rounds alternate which goes
//! first, and each round uses a new seed for both.
//!
//! Before timing, the hand-written posterior is checked against Trellis's own model density
//! (value up to a constant, and gradient) at a few points, so both sample the same target.
//!
//! Reported per side (medians over rounds): wall time, gradient evaluations, lowest bulk ESS
//! over the 14 constrained parameters (our ArviZ-exact `ess_bulk` for both), ESS/s and ESS
//! per gradient; then the ratios trellis / peer.
//!
//! Run (the bench drives the release binary, so build it first):
//! ```sh
//! cargo build --release --bin trellis
//! cargo bench -p trellis-benches --bench peer_fit            # PEER_ROUNDS=5 by default
//! ```

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use ndarray::Array2;
use nuts_rs::rand::{RngExt as _, SeedableRng as _};
use nuts_rs::{Chain, CpuLogpFunc, CpuMath, HasDims};
use trellis_benches::hand_written::HandWrittenPosterior;
use trellis_models::hmm::{seed_dataset, Sequences};
use trellis_models::zoo::{HmmModel, SharedSignalFamily};
use trellis_models::ModelDensity;
use trellis_samplers::diagnostics::ess_bulk;
use trellis_samplers::output::read::read_cmdstan_csv;
use trellis_samplers::LogDensity;

#[path = "common/nuts_rs_error.rs"]
mod nuts_rs_error;
use nuts_rs_error::Recoverable;

const K: usize = 3;
const WARMUP: u64 = 1000;
const DRAWS: u64 = 1000;
const CHAINS: usize = 2;
const FIRST_SEED: u64 = 20261124;

type Posterior = HandWrittenPosterior<K>;

/// The hand-written posterior as nuts-rs wants it.
struct PeerTarget(Posterior);

impl HasDims for PeerTarget {
    fn dim_sizes(&self) -> std::collections::HashMap<String, u64> {
        [(
            "unconstrained_parameter".to_string(),
            Posterior::dim() as u64,
        )]
        .into_iter()
        .collect()
    }
}

impl CpuLogpFunc for PeerTarget {
    type LogpError = Recoverable;
    type FlowParameters = ();
    type ExpandedVector = Vec<f64>;

    fn dim(&self) -> usize {
        Posterior::dim()
    }
    fn logp(&mut self, x: &[f64], g: &mut [f64]) -> Result<f64, Recoverable> {
        let lp = self.0.logp_and_grad(x, g);
        if lp.is_finite() {
            Ok(lp)
        } else {
            Err(Recoverable("log-density is not finite"))
        }
    }
    fn expand_vector<R: nuts_rs::rand::Rng + ?Sized>(
        &mut self,
        _rng: &mut R,
        array: &[f64],
    ) -> Result<Vec<f64>, nuts_rs::CpuMathError> {
        Ok(array.to_vec())
    }
}

/// One side's result of one round.
#[derive(Debug, Clone, Copy)]
struct Outcome {
    wall_seconds: f64,
    gradients: f64,
    /// Of `gradients`, those spent in warm-up (both chains).
    warmup_gradients: f64,
    min_ess_bulk: f64,
}

/// nuts-rs with the hand-written gradient: 2 chains on 2 threads; start points uniform(−1, 1)
/// per coordinate, as `trellis fit`'s jitter.
fn run_peer(data: &Sequences<f64>, seed: u64) -> Outcome {
    let start = Instant::now();
    let chains: Vec<(Vec<Vec<f64>>, u64, u64)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..CHAINS)
            .map(|chain| {
                let data = data.clone();
                scope.spawn(move || {
                    let settings = nuts_rs::DiagNutsSettings {
                        num_tune: WARMUP,
                        num_draws: DRAWS,
                        seed,
                        ..Default::default()
                    };
                    // A stream per (seed, chain), distinct across rounds: `seed ^ (chain + 1)`
                    // gave consecutive seeds the same pair of streams, swapped.
                    let stream = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ chain as u64;
                    let mut rng = nuts_rs::rand::rngs::StdRng::seed_from_u64(stream);
                    let target = PeerTarget(Posterior::new(data));
                    let mut sampler = nuts_rs::Settings::new_chain(
                        &settings,
                        chain as u64,
                        CpuMath::new(target),
                        &mut rng,
                    )
                    .expect("valid settings");
                    let init: Vec<f64> = (0..Posterior::dim())
                        .map(|_| rng.random_range(-1.0..1.0))
                        .collect();
                    sampler.set_position(&init).expect("finite start");
                    let (mut gradients, mut warmup_gradients) = (0, 0);
                    let mut draws = Vec::with_capacity(DRAWS as usize);
                    for i in 0..WARMUP + DRAWS {
                        let (position, progress) = sampler.draw().expect("draw");
                        gradients += progress.num_gradients;
                        if i >= WARMUP {
                            draws.push(Posterior::constrain(&position));
                        } else {
                            warmup_gradients += progress.num_gradients;
                        }
                    }
                    (draws, gradients, warmup_gradients)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("chain"))
            .collect()
    });
    let wall_seconds = start.elapsed().as_secs_f64();
    let gradients = chains.iter().map(|c| c.1).sum::<u64>() as f64;
    let warmup_gradients = chains.iter().map(|c| c.2).sum::<u64>() as f64;
    let n_params = chains[0].0[0].len();
    let min_ess_bulk = (0..n_params)
        .map(|p| {
            let draws = Array2::from_shape_fn((CHAINS, DRAWS as usize), |(c, i)| chains[c].0[i][p]);
            ess_bulk(draws.view())
        })
        .filter(|e| e.is_finite())
        .fold(f64::INFINITY, f64::min);
    Outcome {
        wall_seconds,
        gradients,
        warmup_gradients,
        min_ess_bulk,
    }
}

/// `trellis fit --chains 2` as a user runs it; the wall time includes process start-up.
fn run_trellis(binary: &Path, out: &Path, seed: u64) -> Outcome {
    let _ = std::fs::remove_dir_all(out);
    let start = Instant::now();
    let status = Command::new(binary)
        .args(["fit", "--chains", "2", "--quiet", "--seed"])
        .arg(seed.to_string())
        .arg("--out")
        .arg(out)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("run trellis");
    let wall_seconds = start.elapsed().as_secs_f64();
    assert!(status.success(), "trellis fit failed: {status}");
    let text = std::fs::read_to_string(out.join("summary.json")).expect("summary.json");
    let json: serde_json::Value = serde_json::from_str(&text).expect("summary.json parses");
    let gradients = json["gradient_evaluations"].as_f64().expect("gradients");
    // The chain files hold the draws only (no --save-warmup): the rest is warm-up.
    let sampling_gradients: f64 = (1..=CHAINS)
        .map(|c| leapfrog_steps(&out.join(format!("chain_{c}.csv"))))
        .sum();
    let min_ess_bulk = json
        .as_object()
        .expect("object")
        .values()
        .filter_map(|row| row.get("ess_bulk").and_then(|e| e.as_f64()))
        .fold(f64::INFINITY, f64::min);
    Outcome {
        wall_seconds,
        gradients,
        warmup_gradients: gradients - sampling_gradients,
        min_ess_bulk,
    }
}

/// The gradients of the draws a chain file holds (its rows' `n_leapfrog__`), read back with
/// the samplers' own CmdStan reader.
fn leapfrog_steps(path: &Path) -> f64 {
    let file = read_cmdstan_csv(path).expect("chain file");
    file.chain
        .draws
        .stats()
        .iter()
        .map(|s| f64::from(s.n_grad))
        .sum()
}

/// The hand-written posterior equals Trellis's model density up to a constant, with the same
/// gradient, at a few unconstrained points.
fn check_same_target(data: &Sequences<f64>) {
    let model = HmmModel::new(SharedSignalFamily::new(K), data.clone()).expect("model");
    let density = ModelDensity::new(model);
    assert_eq!(density.dim(), Posterior::dim(), "same parameter count");
    let mut hand = Posterior::new(data.clone());
    let mut offset = None;
    for point in 0..4 {
        // Near the posterior (signal 1.15, noise 0.15) and off it, simplex coordinates spread.
        let mut u: Vec<f64> = (0..Posterior::dim())
            .map(|i| 0.3 * ((i * 7 + point * 3) as f64).sin())
            .collect();
        u[0] += 1.15;
        u[1] = 0.15f64.ln() + 0.1 * point as f64;
        let (mut g_ours, mut g_hand) = (vec![0.0; u.len()], vec![0.0; u.len()]);
        let ours = density.logp_and_grad(&u, &mut g_ours).expect("finite");
        let theirs = hand.logp_and_grad(&u, &mut g_hand);
        let diff = ours - theirs;
        let first = *offset.get_or_insert(diff);
        assert!(
            (diff - first).abs() <= 1e-9 * ours.abs().max(1.0),
            "log-densities differ by more than a constant at point {point}: {diff} vs {first}"
        );
        for (i, (a, b)) in g_ours.iter().zip(&g_hand).enumerate() {
            assert!(
                (a - b).abs() <= 1e-9 * a.abs().max(1.0),
                "gradient {i} differs at point {point}: trellis {a}, hand-written {b}"
            );
        }
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

fn trellis_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("TRELLIS_BIN") {
        return PathBuf::from(path);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release/trellis")
}

fn main() {
    // `cargo bench` passes `--bench`; this harness takes no filters.
    let binary = trellis_binary();
    if !binary.exists() {
        eprintln!(
            "peer_fit: {} not found; build it first with `cargo build --release --bin trellis` \
             (or set TRELLIS_BIN)",
            binary.display()
        );
        std::process::exit(2);
    }
    let rounds: usize = std::env::var("PEER_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5);
    let data = seed_dataset().sequences;
    check_same_target(&data);
    println!("hand-written posterior = trellis model density (up to a constant), gradients equal");

    let out = std::env::temp_dir().join(format!("trellis-peer-fit-{}", std::process::id()));
    let (mut ours, mut peer) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let seed = FIRST_SEED + round as u64;
        let (a, b) = if round % 2 == 0 {
            let a = run_trellis(&binary, &out, seed);
            (a, run_peer(&data, seed))
        } else {
            let b = run_peer(&data, seed);
            (run_trellis(&binary, &out, seed), b)
        };
        println!(
            "round {round} (seed {seed}): trellis {:.2} s, {} gradients ({} in warm-up), \
             min bulk ESS {:.0}; nuts-rs + hand {:.2} s, {} gradients ({} in warm-up), \
             min bulk ESS {:.0}",
            a.wall_seconds,
            a.gradients,
            a.warmup_gradients,
            a.min_ess_bulk,
            b.wall_seconds,
            b.gradients,
            b.warmup_gradients,
            b.min_ess_bulk
        );
        ours.push(a);
        peer.push(b);
    }
    let _ = std::fs::remove_dir_all(&out);

    let stats = |v: &[Outcome]| {
        (
            median(v.iter().map(|o| o.wall_seconds).collect()),
            median(v.iter().map(|o| o.gradients).collect()),
            median(v.iter().map(|o| o.warmup_gradients).collect()),
            median(v.iter().map(|o| o.min_ess_bulk).collect()),
            median(v.iter().map(|o| o.min_ess_bulk / o.wall_seconds).collect()),
            median(v.iter().map(|o| o.min_ess_bulk / o.gradients).collect()),
        )
    };
    let (ow, og, owg, oe, oes, oeg) = stats(&ours);
    let (pw, pg, pwg, pe, pes, peg) = stats(&peer);
    println!();
    println!(
        "Reference fit, {CHAINS} chains × ({WARMUP} + {DRAWS}), medians over {rounds} rounds:"
    );
    println!(
        "| | wall | gradients | of them in warm-up | min bulk ESS | ESS/s | ESS per gradient |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    println!(
        "| trellis fit --chains 2 | {ow:.2} s | {og:.0} | {owg:.0} | {oe:.0} | {oes:.0} | {oeg:.4} |"
    );
    println!(
        "| nuts-rs + hand-written | {pw:.2} s | {pg:.0} | {pwg:.0} | {pe:.0} | {pes:.0} | {peg:.4} |"
    );
    println!(
        "| trellis / peer | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
        ow / pw,
        og / pg,
        owg / pwg,
        oe / pe,
        oes / pes,
        oeg / peg
    );
    // The rounds' own ratios: each pair ran back to back, so they see the same machine.
    let paired =
        |f: fn(&Outcome) -> f64| median(ours.iter().zip(&peer).map(|(a, b)| f(a) / f(b)).collect());
    println!(
        "Median of the rounds' paired ratios: wall {:.2}, ESS/s {:.2}",
        paired(|o| o.wall_seconds),
        paired(|o| o.min_ess_bulk / o.wall_seconds)
    );
}
