//! Samples a small model with NUTS and writes CmdStan CSV files and the JSON summary.
//!
//! `cargo run -p trellis-samplers --example write_outputs -- OUT_DIR`, then in Python:
//! `arviz.from_cmdstan(sorted(glob("OUT_DIR/output_*.csv")))`.

use std::path::PathBuf;

use trellis_samplers::{sample, LogDensity, LogDensityError, Nuts, RunConfig};

/// `mu ~ N(1, 1)`, `tau[0..3] ~ N(mu, 0.5²)` independently.
struct Hierarchy;

impl LogDensity for Hierarchy {
    fn dim(&self) -> usize {
        4
    }
    fn logp_and_grad(&self, x: &[f64], g: &mut [f64]) -> Result<f64, LogDensityError> {
        let mu = x[0];
        let mut lp = -0.5 * (mu - 1.0) * (mu - 1.0);
        g[0] = -(mu - 1.0);
        for i in 1..4 {
            let z = (x[i] - mu) / 0.5;
            lp -= 0.5 * z * z;
            g[i] = -z / 0.5;
            g[0] += z / 0.5;
        }
        Ok(lp)
    }
    fn output_names(&self) -> Vec<String> {
        vec![
            "mu".into(),
            "tau[0]".into(),
            "tau[1]".into(),
            "tau[2]".into(),
        ]
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "trellis-out".into()),
    );
    let config = RunConfig {
        seed: 1,
        ..RunConfig::default()
    };
    let trace = sample(&Hierarchy, &Nuts::default(), &config)?;
    let paths = trace.write_cmdstan_csv(&dir, "output")?;
    trace.write_json_summary(&dir.join("summary.json"))?;
    println!("{}", trace.summary()?);
    for p in paths {
        println!("wrote {}", p.display());
    }
    Ok(())
}
