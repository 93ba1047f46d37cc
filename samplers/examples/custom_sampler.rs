//! A new sampler in a page of code: the Barker proposal (Livingstone & Zanella 2022), a
//! gradient-informed random walk that is robust to badly tuned scales.
//!
//! Implementing [`Sampler`] (the settings: a name and `new_chain`) and [`Chain`] (one chain's
//! state: one `step`, optionally `end_warmup`/`tuning`) is all it takes: validation,
//! initialisation with jitter, parallel seeded chains, warm-up/sampling phases, statistics,
//! progress bars, CmdStan CSV and the JSON summary come from the runner.
//!
//! Run it with `cargo run -p trellis-samplers --example custom_sampler`.

use rand::Rng;
use rand_distr::StandardNormal;
use trellis_samplers::{
    sample, Chain, ChainStart, DrawStats, LogDensity, LogDensityError, NewChain, Phase, Point,
    RunConfig, Sampler, StepResult, Trace, Transition, Tuning,
};

/// Barker proposal: move each coordinate by `±σ z`, the sign chosen with probability
/// `1 / (1 + exp(−σ z ∂ᵢ log p))`, then Metropolis–Hastings. During warm-up, `log σ` follows
/// a Robbins–Monro recursion toward acceptance rate 0.4 (optimal for Barker).
#[derive(Debug, Clone)]
pub struct Barker;

/// One chain's state: the proposal scale σ and a buffer for the proposed point.
pub struct BarkerChain {
    scale: f64,
    proposal: Point,
}

/// `log(1 + exp(t))` without overflow.
fn log1p_exp(t: f64) -> f64 {
    if t > 0.0 {
        t + (-t).exp().ln_1p()
    } else {
        t.exp().ln_1p()
    }
}

impl Sampler for Barker {
    type Chain = BarkerChain;

    fn name(&self) -> &str {
        "barker"
    }

    fn new_chain<D: LogDensity + ?Sized>(&self, start: ChainStart<'_, D>) -> NewChain<Self> {
        let scale = 2.4 / (start.point.position.len() as f64).sqrt();
        Ok(BarkerChain {
            scale,
            proposal: start.point.clone(),
        })
    }
}

impl Chain for BarkerChain {
    fn step<D: LogDensity + ?Sized>(&mut self, t: Transition<'_, D>) -> StepResult {
        let (density, point, phase, rng) = t.into_parts();
        let (x, y) = (&*point, &mut self.proposal);
        for i in 0..x.position.len() {
            let z = self.scale * rng.sample::<f64, _>(StandardNormal);
            let p_plus = 1.0 / (1.0 + (-z * x.gradient[i]).exp());
            let b = if rng.random::<f64>() < p_plus {
                1.0
            } else {
                -1.0
            };
            y.position[i] = x.position[i] + b * z;
        }
        // A proposal where the density fails or is not finite is rejected; `?` passes on an
        // error that is not recoverable, which stops the run.
        let mut log_ratio = f64::NEG_INFINITY;
        if y.evaluate_proposal(density)? {
            log_ratio = y.logp - x.logp;
            for i in 0..x.position.len() {
                let d = y.position[i] - x.position[i];
                log_ratio += log1p_exp(-d * x.gradient[i]) - log1p_exp(d * y.gradient[i]);
            }
        }
        let accept = log_ratio.exp().min(1.0);
        if rng.random::<f64>() < accept {
            std::mem::swap(point, y);
        }
        if let Phase::Warmup { iteration, .. } = phase {
            self.scale *= ((accept - 0.4) / (iteration as f64 + 10.0).powf(0.6)).exp();
        }
        let (lp, step_size) = (point.logp, self.scale);
        Ok(DrawStats {
            lp,
            accept_stat: accept,
            step_size,
            n_grad: 1,
            energy: -lp,
            ..DrawStats::default()
        })
    }

    fn tuning(&self) -> Tuning {
        Tuning {
            step_size: Some(self.scale),
            ..Tuning::default()
        }
    }
}

/// Independent normals with standard deviations 0.5, 1, 2, 4.
pub struct Scales;

impl LogDensity for Scales {
    fn dim(&self) -> usize {
        4
    }
    fn logp_and_grad(&self, x: &[f64], g: &mut [f64]) -> Result<f64, LogDensityError> {
        let mut lp = 0.0;
        for i in 0..4 {
            let s = 0.5 * 2f64.powi(i as i32);
            g[i] = -x[i] / (s * s);
            lp -= 0.5 * x[i] * x[i] / (s * s);
        }
        Ok(lp)
    }
}

/// Samples [`Scales`] with [`Barker`].
pub fn run(config: &RunConfig) -> Trace {
    sample(&Scales, &Barker, config).expect("valid configuration")
}

fn main() {
    let config = RunConfig {
        warmup: 2000,
        draws: 20_000,
        seed: 2024,
        ..RunConfig::default()
    };
    let trace = run(&config);
    println!("{}", trace.summary().expect("unique names"));
    for c in &trace.chains {
        let acc = c.draws.stats().iter().map(|s| s.accept_stat).sum::<f64>() / c.draws.len() as f64;
        println!(
            "chain {}: scale {:.3}, mean acceptance {acc:.3}",
            c.chain,
            c.tuning.step_size.unwrap()
        );
    }
}
