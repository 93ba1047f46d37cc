//! NUTS overhead per gradient evaluation on a cheap target (100-D standard normal), ours
//! against the `nuts-rs` crate in the same run.
//!
//! Both samplers warm up 1000 iterations with their default adaptation (diagonal metric,
//! target acceptance 0.8), then the timed part runs sampling transitions. One benchmark
//! "iteration" is one leapfrog step: each measurement runs whole transitions until the
//! requested number of leapfrog steps is reached and scales the time to that number, so the
//! figures criterion prints are nanoseconds per leapfrog step — gradient included. The
//! `gradient` benchmark is the bare gradient; the difference is the sampler's bookkeeping.
//!
//! After criterion, a plain table gives medians over repeated blocks of 20 000 leapfrog steps.
//!
//! Run: `cargo bench -p trellis-benches --bench nuts_overhead`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion};
use nuts_rs::rand::SeedableRng as _;
use nuts_rs::{Chain, CpuLogpFunc, CpuMath, HasDims};
use trellis_samplers::{
    chain_rng, Chain as _, ChainRng, ChainStart, LogDensity, LogDensityError, Nuts, NutsChain,
    Phase, Point, Sampler, Transition,
};

#[path = "common/nuts_rs_error.rs"]
mod nuts_rs_error;
use nuts_rs_error::Recoverable;

const DIM: usize = 100;
const WARMUP: usize = 1000;

/// log N(x | 0, I) and its gradient, the same loop for both samplers.
#[inline]
fn std_normal(x: &[f64], g: &mut [f64]) -> f64 {
    let mut lp = 0.0;
    for (gi, &xi) in g.iter_mut().zip(x) {
        *gi = -xi;
        lp -= 0.5 * xi * xi;
    }
    lp
}

struct Target;

impl LogDensity for Target {
    fn dim(&self) -> usize {
        DIM
    }
    #[inline]
    fn logp_and_grad(&self, x: &[f64], g: &mut [f64]) -> Result<f64, LogDensityError> {
        Ok(std_normal(x, g))
    }
}

#[derive(Debug)]
struct NutsRsTarget;

impl HasDims for NutsRsTarget {
    fn dim_sizes(&self) -> std::collections::HashMap<String, u64> {
        [("unconstrained_parameter".to_string(), DIM as u64)]
            .into_iter()
            .collect()
    }
}

impl CpuLogpFunc for NutsRsTarget {
    type LogpError = Recoverable;
    type FlowParameters = ();
    type ExpandedVector = Vec<f64>;

    fn dim(&self) -> usize {
        DIM
    }
    #[inline]
    fn logp(&mut self, x: &[f64], g: &mut [f64]) -> Result<f64, Recoverable> {
        Ok(std_normal(x, g))
    }
    fn expand_vector<R: nuts_rs::rand::Rng + ?Sized>(
        &mut self,
        _rng: &mut R,
        array: &[f64],
    ) -> Result<Vec<f64>, nuts_rs::CpuMathError> {
        Ok(array.to_vec())
    }
}

/// Our NUTS after warm-up, driven transition by transition through the `Chain` trait.
struct Ours {
    chain: NutsChain,
    point: Point,
    rng: ChainRng,
    iteration: usize,
}

impl Ours {
    fn new() -> Self {
        let mut rng = chain_rng(42, 0);
        let mut point = Point::zeros(DIM);
        point
            .position
            .iter_mut()
            .enumerate()
            .for_each(|(i, x)| *x = 0.5 - (i % 3) as f64 * 0.4);
        point.evaluate(&Target).expect("finite start");
        let mut chain = Nuts::default()
            .new_chain(ChainStart {
                density: &Target,
                point: &point,
                num_warmup: WARMUP,
                rng: &mut rng,
            })
            .expect("never fails");
        for iteration in 0..WARMUP {
            let phase = Phase::Warmup {
                iteration,
                total: WARMUP,
            };
            chain
                .step(Transition::new(&Target, &mut point, phase, &mut rng))
                .expect("never fails");
        }
        chain.end_warmup();
        Self {
            chain,
            point,
            rng,
            iteration: 0,
        }
    }

    /// One transition; returns its number of leapfrog steps.
    #[inline]
    fn transition(&mut self) -> u64 {
        let phase = Phase::Sampling {
            iteration: self.iteration,
        };
        let s = self
            .chain
            .step(Transition::new(
                &Target,
                &mut self.point,
                phase,
                &mut self.rng,
            ))
            .expect("never fails");
        self.iteration += 1;
        black_box(&self.point.position);
        s.n_grad as u64
    }
}

/// nuts-rs after warm-up.
struct Theirs<C> {
    chain: C,
}

impl Theirs<()> {
    fn new() -> Theirs<impl Chain<CpuMath<NutsRsTarget>>> {
        let settings = nuts_rs::DiagNutsSettings {
            num_tune: WARMUP as u64,
            num_draws: u64::MAX / 2,
            ..Default::default()
        };
        let mut rng = nuts_rs::rand::rngs::StdRng::seed_from_u64(42);
        let mut chain =
            nuts_rs::Settings::new_chain(&settings, 0, CpuMath::new(NutsRsTarget), &mut rng)
                .expect("valid settings");
        let init: Vec<f64> = (0..DIM).map(|i| 0.5 - (i % 3) as f64 * 0.4).collect();
        chain.set_position(&init).expect("finite start");
        for _ in 0..WARMUP {
            chain.draw().expect("draw");
        }
        Theirs { chain }
    }
}

impl<C: Chain<CpuMath<NutsRsTarget>>> Theirs<C> {
    #[inline]
    fn transition(&mut self) -> u64 {
        let (position, progress) = self.chain.draw().expect("draw");
        black_box(position);
        progress.num_gradients
    }
}

/// Runs whole transitions until at least `steps` leapfrog steps; returns (time, steps done).
fn run_steps(mut transition: impl FnMut() -> u64, steps: u64) -> (Duration, u64) {
    let start = Instant::now();
    let mut done = 0;
    while done < steps {
        done += transition();
    }
    (start.elapsed(), done)
}

fn per_step(elapsed: Duration, done: u64, iters: u64) -> Duration {
    elapsed.mul_f64(iters as f64 / done as f64)
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("nuts_overhead_100d_normal");

    let x: Vec<f64> = (0..DIM).map(|i| (i as f64 * 0.1).sin()).collect();
    let mut g = vec![0.0; DIM];
    group.bench_function("gradient", |b| {
        b.iter(|| black_box(Target.logp_and_grad(black_box(&x), &mut g).unwrap()))
    });

    let mut ours = Ours::new();
    group.bench_function("trellis_per_leapfrog", |b| {
        b.iter_custom(|iters| {
            let (t, done) = run_steps(|| ours.transition(), iters);
            per_step(t, done, iters)
        })
    });

    let mut theirs = Theirs::new();
    group.bench_function("nuts_rs_per_leapfrog", |b| {
        b.iter_custom(|iters| {
            let (t, done) = run_steps(|| theirs.transition(), iters);
            per_step(t, done, iters)
        })
    });
    group.finish();
}

/// Medians over `reps` blocks of `steps` leapfrog steps, interleaving the two samplers so
/// that machine noise hits both alike.
fn median_table() {
    const STEPS: u64 = 20_000;
    const REPS: usize = 31;
    let mut ours = Ours::new();
    let mut theirs = Theirs::new();
    let x: Vec<f64> = (0..DIM).map(|i| (i as f64 * 0.1).sin()).collect();
    let mut g = vec![0.0; DIM];
    let (mut a, mut b, mut grad) = (Vec::new(), Vec::new(), Vec::new());
    let (mut ours_steps, mut ours_draws, mut theirs_steps, mut theirs_draws) = (0, 0, 0, 0);
    for _ in 0..REPS {
        let (t, done) = run_steps(
            || {
                ours_draws += 1;
                ours.transition()
            },
            STEPS,
        );
        ours_steps += done;
        a.push(t.as_nanos() as f64 / done as f64);
        let (t, done) = run_steps(
            || {
                theirs_draws += 1;
                theirs.transition()
            },
            STEPS,
        );
        theirs_steps += done;
        b.push(t.as_nanos() as f64 / done as f64);
        let start = Instant::now();
        for _ in 0..STEPS {
            black_box(Target.logp_and_grad(black_box(&x), &mut g).unwrap());
        }
        grad.push(start.elapsed().as_nanos() as f64 / STEPS as f64);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(|p, q| p.total_cmp(q));
        v[v.len() / 2]
    };
    let (ma, mb, mg) = (median(&mut a), median(&mut b), median(&mut grad));
    println!();
    println!(
        "NUTS on a {DIM}-D standard normal, medians over {REPS} blocks of {STEPS} leapfrog steps:"
    );
    println!("  gradient alone                 {mg:8.1} ns");
    println!(
        "  trellis  per leapfrog step     {ma:8.1} ns   (overhead {:6.1} ns; {:.2} steps/draw)",
        ma - mg,
        ours_steps as f64 / ours_draws as f64
    );
    println!(
        "  nuts-rs  per leapfrog step     {mb:8.1} ns   (overhead {:6.1} ns; {:.2} steps/draw)",
        mb - mg,
        theirs_steps as f64 / theirs_draws as f64
    );
    println!("  ratio trellis / nuts-rs        {:8.3}", ma / mb);
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    median_table();
}
