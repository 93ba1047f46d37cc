//! Recoverable against non-recoverable density errors (nuts-rs's `LogpError::is_recoverable`):
//! a recoverable error or a non-finite value only rejects the point (a divergence inside a
//! Hamiltonian trajectory) and the chain goes on; an error that is not recoverable stops the
//! run with that error, naming the chain and the iteration.

use trellis_samplers::{
    sample, ChainStage, LogDensity, LogDensityError, Mala, Nuts, RandomWalk, RunConfig,
    SampleError, Sampler, StaticHmc,
};

use crate::custom_sampler;

/// A standard normal in 2-D whose density fails where `x[0] > edge`, with the failure chosen.
struct FailsBeyond {
    edge: f64,
    failure: Failure,
}

#[derive(Clone, Copy)]
enum Failure {
    /// A recoverable error (outside the support).
    Recoverable,
    /// A log-density of NaN.
    NotFinite,
    /// An error no other point would avoid.
    Fatal,
}

const FATAL_MESSAGE: &str = "model bug: index 7 out of range";

impl LogDensity for FailsBeyond {
    fn dim(&self) -> usize {
        2
    }
    fn logp_and_grad(&self, x: &[f64], g: &mut [f64]) -> Result<f64, LogDensityError> {
        if x[0] > self.edge {
            return match self.failure {
                Failure::Recoverable => Err(LogDensityError::OutOfSupport("x[0] > edge".into())),
                Failure::NotFinite => Ok(f64::NAN),
                Failure::Fatal => Err(LogDensityError::Fatal(FATAL_MESSAGE.into())),
            };
        }
        g[0] = -x[0];
        g[1] = -x[1];
        Ok(-0.5 * (x[0] * x[0] + x[1] * x[1]))
    }
    fn initial_point(&self) -> Vec<f64> {
        vec![-1.0, 0.0]
    }
}

fn config(seed: u64) -> RunConfig {
    RunConfig {
        chains: 2,
        warmup: 300,
        draws: 300,
        seed,
        progress: false,
        init: trellis_samplers::InitSettings {
            jitter: 0.2,
            ..Default::default()
        },
        ..RunConfig::default()
    }
}

#[test]
fn is_recoverable_sorts_the_variants() {
    assert!(LogDensityError::OutOfSupport("a".into()).is_recoverable());
    assert!(LogDensityError::Failed("b".into()).is_recoverable());
    assert!(!LogDensityError::Fatal("c".into()).is_recoverable());
}

/// Every sampler finishes where the density fails recoverably beyond x₀ = 0.5 (or is NaN
/// there): no draw lies beyond, and the Hamiltonian samplers report divergences.
fn recoverable_failures_reject<S: Sampler>(name: &str, sampler: &S, hamiltonian: bool) {
    for failure in [Failure::Recoverable, Failure::NotFinite] {
        let density = FailsBeyond { edge: 0.5, failure };
        let trace = sample(&density, sampler, &config(3))
            .unwrap_or_else(|e| panic!("{name}: a recoverable failure stopped the run: {e}"));
        let x0 = trace.column(0).concat();
        assert_eq!(x0.len(), 600, "{name}");
        assert!(
            x0.iter().all(|&v| v <= 0.5),
            "{name}: a draw beyond the edge"
        );
        // The edge is 0.5 sd from the mode: many proposals cross it.
        let rejected_somewhere = x0.windows(2).filter(|w| w[0] == w[1]).count();
        if hamiltonian {
            let warmup_divergent: usize = trace
                .chains
                .iter()
                .map(|c| c.warmup.stats().iter().filter(|s| s.divergent).count())
                .sum();
            assert!(
                trace.divergences() + warmup_divergent > 0,
                "{name}: crossing the edge must count as a divergence"
            );
        } else {
            assert!(rejected_somewhere > 0, "{name}: no rejection");
        }
    }
}

#[test]
fn recoverable_errors_and_non_finite_values_only_reject() {
    recoverable_failures_reject("NUTS", &Nuts::default(), true);
    recoverable_failures_reject("static HMC", &StaticHmc::default(), true);
    recoverable_failures_reject("MALA", &Mala::default(), true);
    recoverable_failures_reject("RWM", &RandomWalk::default(), false);
    recoverable_failures_reject("Barker", &custom_sampler::Barker, false);
}

/// A fatal error beyond x₀ = 1.5, a region every chain reaches: the run stops with it.
fn fatal_error_stops_the_run<S: Sampler>(name: &str, sampler: &S) {
    let density = FailsBeyond {
        edge: 1.5,
        failure: Failure::Fatal,
    };
    let err = sample(&density, sampler, &config(5)).expect_err(name);
    let SampleError::Density { chain, at, source } = &err else {
        panic!("{name}: expected a density error, got {err}");
    };
    assert_eq!(
        source,
        &LogDensityError::Fatal(FATAL_MESSAGE.into()),
        "{name}"
    );
    assert!(*chain < 2, "{name}");
    // The start (x₀ ≈ −1) is valid: the error comes from a transition.
    let iteration = match at {
        ChainStage::Warmup(i) | ChainStage::Draw(i) => *i,
        ChainStage::Initialisation => panic!("{name}: failed at initialisation"),
    };
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!("chain {chain}, {at}: "))
            && msg.contains(&iteration.to_string())
            && msg.contains(FATAL_MESSAGE),
        "{name}: {msg}"
    );
}

#[test]
fn non_recoverable_errors_stop_the_run_with_the_error() {
    fatal_error_stops_the_run("NUTS", &Nuts::default());
    fatal_error_stops_the_run("static HMC", &StaticHmc::default());
    fatal_error_stops_the_run("MALA", &Mala::default());
    fatal_error_stops_the_run("RWM", &RandomWalk::default());
    fatal_error_stops_the_run("Barker", &custom_sampler::Barker);
}

#[test]
fn a_fatal_error_at_the_initial_point_stops_at_once() {
    // Everywhere fatal: the first initialisation attempt stops the run (no 20 retries).
    let density = FailsBeyond {
        edge: f64::NEG_INFINITY,
        failure: Failure::Fatal,
    };
    let err = sample(&density, &Nuts::default(), &config(1)).expect_err("fatal");
    assert!(
        matches!(
            &err,
            SampleError::Density { chain: 0, at: ChainStage::Initialisation, source }
                if !source.is_recoverable()
        ),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        format!("chain 0, initialisation: log-density evaluation failed and cannot recover: {FATAL_MESSAGE}")
    );
}
