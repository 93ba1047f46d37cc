//! Draws pinned to the values the samplers produced before the settings/chain-state split
//! (commit 21cd7bc): the refactoring must keep every draw bit-identical for a given seed.
//!
//! The expected numbers, in `fixtures/pinned_draws.txt`, were printed by this same test run
//! with `PIN_RECORD=1` against that commit's code (`cargo test -p trellis-samplers --test
//! pinned_draws -- --nocapture`), before any sampler code changed; they are the `f64` bit
//! patterns, so the comparison is exact.

use trellis_samplers::{
    sample, LogDensity, LogDensityError, Mala, MetricKind, Nuts, RandomWalk, RunConfig, Sampler,
    StaticHmc,
};

/// A correlated, badly scaled 3-D Gaussian: precision `diag(1, 4, 0.25)` plus a coupling of
/// the first two coordinates, so adaptation has work to do.
struct Target;

impl LogDensity for Target {
    fn dim(&self) -> usize {
        3
    }
    fn logp_and_grad(&self, x: &[f64], g: &mut [f64]) -> Result<f64, LogDensityError> {
        let (a, b, c, r) = (1.0, 4.0, 0.25, 0.8);
        g[0] = -(a * x[0] + r * x[1]);
        g[1] = -(r * x[0] + b * x[1]);
        g[2] = -c * x[2];
        Ok(0.5 * (x[0] * g[0] + x[1] * g[1] + x[2] * g[2]))
    }
}

/// The first coordinate of every kept draw of chains 0 and 1, and the final step sizes, as
/// bit patterns.
fn fingerprint<S: Sampler>(sampler: &S) -> Vec<u64> {
    let config = RunConfig {
        chains: 2,
        warmup: 150,
        draws: 12,
        seed: 20261201,
        progress: false,
        keep_warmup: false,
        threads: 1,
        ..RunConfig::default()
    };
    let trace = sample(&Target, sampler, &config).expect("valid run");
    let mut out = Vec::new();
    for chain in &trace.chains {
        for i in 0..chain.draws.len() {
            out.extend(chain.draws.draw(i).iter().map(|v| v.to_bits()));
        }
        out.push(chain.tuning.step_size.expect("adapted").to_bits());
        out.push(chain.draws.stats().iter().map(|s| s.n_grad as u64).sum());
    }
    out
}

/// The pinned values of `label` from `fixtures/pinned_draws.txt`.
fn pinned(label: &str) -> Vec<u64> {
    let text = include_str!("fixtures/pinned_draws.txt");
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix(label)?.strip_prefix(": "))
        .unwrap_or_else(|| panic!("no pinned values for {label}"));
    line.split(' ').map(|v| v.parse().expect("a u64")).collect()
}

fn check(label: &str, got: Vec<u64>) {
    if std::env::var_os("PIN_RECORD").is_some() {
        let values: Vec<String> = got.iter().map(u64::to_string).collect();
        println!("{label}: {}", values.join(" "));
        return;
    }
    let want = pinned(label);
    assert_eq!(got.len(), want.len(), "{label}: number of pinned values");
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(
            g,
            w,
            "{label}: value {i} is {} (bits {g:#x}), pinned {} (bits {w:#x})",
            f64::from_bits(*g),
            f64::from_bits(*w)
        );
    }
}

#[test]
fn nuts_draws_are_pinned() {
    check("NUTS", fingerprint(&Nuts::default()));
    check(
        "NUTS_DENSE",
        fingerprint(&Nuts::default().with_metric(MetricKind::Dense)),
    );
}

#[test]
fn other_samplers_draws_are_pinned() {
    check("HMC", fingerprint(&StaticHmc::default()));
    check("MALA", fingerprint(&Mala::default()));
    check("RWM", fingerprint(&RandomWalk::default()));
}
