//! Run control: draws streamed to disk as they are made, thinning, a given step size and
//! metric without warm-up, and bad sizes refused with typed errors instead of panics.

use crate::common;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{config, DiagGaussian};
use trellis_samplers::output::read::read_cmdstan_csv;
use trellis_samplers::output::stream::CsvStream;
use trellis_samplers::output::{cmdstan_csv_with, write_atomic};
use trellis_samplers::{
    sample, sample_streaming, InitSettings, InvMetric, LogDensity, LogDensityError, MetricKind,
    Nuts, RunConfig, SampleError, StartTuning, Trace,
};

/// A fresh folder under the system temporary directory, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Self {
        let path =
            std::env::temp_dir().join(format!("trellis-run-control-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }

    fn entries(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn target() -> DiagGaussian {
    DiagGaussian {
        mu: vec![1.0, -2.0, 0.5],
        sd: vec![0.5, 2.0, 1.0],
    }
}

/// Every value and statistic of draw `i` of `draws`, as bits.
fn row_bits(draws: &trellis_samplers::Draws, i: usize) -> Vec<u64> {
    let s = draws.stats()[i];
    let mut bits = vec![
        s.lp.to_bits(),
        s.accept_stat.to_bits(),
        s.step_size.to_bits(),
        s.energy.to_bits(),
        u64::from(s.tree_depth),
        u64::from(s.n_grad),
        u64::from(s.divergent),
    ];
    bits.extend(draws.draw(i).iter().map(|v| v.to_bits()));
    bits
}

#[test]
fn streamed_files_are_the_finished_csv_and_no_partial_file_is_left() {
    let dir = Scratch::new("stream");
    let provenance = vec![("model".to_string(), "three_normals".to_string())];
    let stream = CsvStream::new(&dir.0, "chain", provenance.clone());
    let run = RunConfig {
        keep_warmup: true,
        thin: 2,
        first_chain: 2,
        ..config(2, 60, 45, 11)
    };
    let trace = sample_streaming(&target(), &Nuts::default(), &run, &stream).unwrap();
    assert_eq!(dir.entries(), ["chain_3.csv", "chain_4.csv"]);
    for chain in &trace.chains {
        let text = std::fs::read_to_string(stream.path(chain.chain)).unwrap();
        assert_eq!(text, cmdstan_csv_with(&trace, chain, &provenance));
        // ⌈60 / 2⌉ warm-up and ⌈45 / 2⌉ draws, and the header says how they were thinned.
        assert_eq!((chain.warmup.len(), chain.draws.len()), (30, 23));
        assert!(text.contains("\n#     thin = 2\n"), "{text}");
        assert!(text.contains("\n#     save_warmup = 1\n"), "{text}");
    }
    // The reader takes a thinned file's draw count from num_samples and thin.
    let paths: Vec<PathBuf> = trace.chains.iter().map(|c| stream.path(c.chain)).collect();
    let back = Trace::from_cmdstan_csv(&paths, false).unwrap();
    assert_eq!(
        back.chains[1].draws.values(),
        trace.chains[1].draws.values()
    );
}

#[test]
fn thinning_keeps_every_nth_iteration_of_the_unthinned_run_bit_for_bit() {
    let full_config = RunConfig {
        keep_warmup: true,
        ..config(2, 50, 40, 5)
    };
    let full = sample(&target(), &Nuts::default(), &full_config).unwrap();
    for thin in [3, 7, 40, 41] {
        let thinned = sample(
            &target(),
            &Nuts::default(),
            &RunConfig {
                thin,
                ..full_config.clone()
            },
        )
        .unwrap();
        for (f, t) in full.chains.iter().zip(&thinned.chains) {
            for (all, kept) in [(&f.warmup, &t.warmup), (&f.draws, &t.draws)] {
                assert_eq!(kept.len(), all.len().div_ceil(thin), "thin {thin}");
                for (j, i) in (0..all.len()).step_by(thin).enumerate() {
                    assert_eq!(row_bits(kept, j), row_bits(all, i), "thin {thin}, draw {i}");
                }
            }
            // Thinning changes what is kept, never the chain: the same adaptation.
            assert_eq!(t.tuning, f.tuning);
        }
        assert_eq!(thinned.draws_per_chain(), 40usize.div_ceil(thin));
        assert_eq!(thinned.to_array().shape(), [2, 40usize.div_ceil(thin), 3]);
    }
}

#[test]
fn gradient_counts_include_warm_up_and_thinned_iterations_whatever_is_kept() {
    // The unthinned run with its warm-up kept holds every iteration's count; the count of
    // a run that keeps less (no warm-up, thinning) must still be that sum: the same chain.
    let full_config = RunConfig {
        keep_warmup: true,
        ..config(2, 50, 40, 9)
    };
    let full = sample(&target(), &Nuts::default(), &full_config).unwrap();
    let per_iteration: Vec<u64> = full
        .chains
        .iter()
        .map(|c| {
            let stats = c.warmup.stats().iter().chain(c.draws.stats());
            stats.map(|s| u64::from(s.n_grad)).sum()
        })
        .collect();
    assert!(per_iteration.iter().all(|&g| g > 90), "{per_iteration:?}");
    for (keep_warmup, thin) in [(true, 1), (false, 1), (false, 3), (true, 7)] {
        let run = RunConfig {
            keep_warmup,
            thin,
            ..full_config.clone()
        };
        let trace = sample(&target(), &Nuts::default(), &run).unwrap();
        let counted: Vec<u64> = trace
            .chains
            .iter()
            .map(|c| c.gradient_evaluations)
            .collect();
        assert_eq!(
            counted, per_iteration,
            "keep_warmup {keep_warmup}, thin {thin}"
        );
        let summary = trace.run_summary().unwrap();
        let reported: Vec<u64> = summary
            .per_chain
            .iter()
            .map(|c| c.gradient_evaluations)
            .collect();
        assert_eq!(
            reported, per_iteration,
            "keep_warmup {keep_warmup}, thin {thin}"
        );
        // The files hold the count too, so a summary merged from them reports it.
        let dir = Scratch::new(&format!("gradients-{keep_warmup}-{thin}"));
        let paths = trace.write_cmdstan_csv(&dir.0, "chain").unwrap();
        let back = Trace::from_cmdstan_csv(&paths, false).unwrap();
        let read: Vec<u64> = back.chains.iter().map(|c| c.gradient_evaluations).collect();
        assert_eq!(
            read, per_iteration,
            "read back: keep_warmup {keep_warmup}, thin {thin}"
        );
    }
    // The footer line is written only where the rows do not add up to the count (the full
    // run's do); a file without it (CmdStan's) counts the iterations it holds: fewer than
    // were run, for a thinned chain.
    let dir = Scratch::new("gradients-stan");
    let thinned = sample(
        &target(),
        &Nuts::default(),
        &RunConfig {
            thin: 3,
            ..full_config.clone()
        },
    )
    .unwrap();
    for (trace, stem) in [(&full, "full"), (&thinned, "thinned")] {
        let path = &trace.write_cmdstan_csv(&dir.0, stem).unwrap()[0];
        let text = std::fs::read_to_string(path).unwrap();
        let stan: String = text
            .lines()
            .filter(|l| !l.starts_with("# gradient_evaluations = "))
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(stan != text, stem == "thinned", "{stem}: the footer line");
        write_atomic(path, stan.as_bytes()).unwrap();
        let back = Trace::from_cmdstan_csv(std::slice::from_ref(path), false).unwrap();
        let chain = &trace.chains[0];
        let held = chain.warmup.stats().iter().chain(chain.draws.stats());
        let held: u64 = held.map(|s| u64::from(s.n_grad)).sum();
        assert_eq!(back.chains[0].gradient_evaluations, held, "{stem}");
    }
    assert_eq!(thinned.chains[0].gradient_evaluations, per_iteration[0]);
}

/// A target whose log-density fails for good after `calls` evaluations.
struct FailsAfter {
    calls: AtomicUsize,
    limit: usize,
}

impl LogDensity for FailsAfter {
    fn dim(&self) -> usize {
        2
    }
    fn logp_and_grad(&self, x: &[f64], g: &mut [f64]) -> Result<f64, LogDensityError> {
        if self.calls.fetch_add(1, Ordering::Relaxed) >= self.limit {
            return Err(LogDensityError::Fatal("the model broke".into()));
        }
        g.iter_mut().zip(x).for_each(|(g, x)| *g = -x);
        Ok(-0.5 * x.iter().map(|v| v * v).sum::<f64>())
    }
}

#[test]
fn a_run_that_fails_leaves_a_readable_partial_file() {
    let dir = Scratch::new("partial");
    let stream = CsvStream::new(&dir.0, "chain", Vec::new());
    let density = FailsAfter {
        calls: AtomicUsize::new(0),
        limit: 4000,
    };
    let run = RunConfig {
        threads: 1,
        ..config(1, 50, 100_000, 3)
    };
    let err = sample_streaming(&density, &Nuts::default(), &run, &stream).unwrap_err();
    assert!(
        matches!(err, SampleError::Density { chain: 0, .. }),
        "{err}"
    );
    assert_eq!(dir.entries(), ["chain_1.csv.partial"]);
    let partial = read_cmdstan_csv(&stream.partial_path(0)).unwrap();
    // Whole rows only, every one a real draw; no timing footer, as the run never finished.
    let draws = &partial.chain.draws;
    assert!(
        !draws.is_empty() && draws.len() < 100_000,
        "{}",
        draws.len()
    );
    assert!(draws.values().iter().all(|v| v.is_finite()));
    let text = std::fs::read_to_string(stream.partial_path(0)).unwrap();
    assert!(text.ends_with('\n') && !text.contains("Elapsed Time"));
    assert!(partial.chain.tuning.step_size.is_some());
}

#[test]
fn a_given_step_size_and_metric_without_warm_up_are_used_as_they_are() {
    let adapted = sample(&target(), &Nuts::default(), &config(1, 400, 50, 8)).unwrap();
    let tuning = adapted.chains[0].tuning.clone();
    let (eps, metric) = (
        tuning.step_size.unwrap(),
        tuning.inv_metric.clone().unwrap(),
    );
    let start = StartTuning {
        step_size: Some(eps),
        inv_metric: Some(metric.clone()),
    };
    let nuts = Nuts::default().with_start(start.clone());
    let trace = sample(&target(), &nuts, &config(2, 0, 300, 9)).unwrap();
    for chain in &trace.chains {
        assert_eq!(chain.tuning.step_size, Some(eps));
        assert_eq!(chain.tuning.inv_metric.as_ref(), Some(&metric));
        assert!(chain.draws.stats().iter().all(|s| s.step_size == eps));
        let accept = chain
            .draws
            .stats()
            .iter()
            .map(|s| s.accept_stat)
            .sum::<f64>()
            / 300.0;
        assert!((0.6..=1.0).contains(&accept), "mean acceptance {accept}");
    }
    // The adapted metric is close to the target's variances (0.25, 4, 1).
    let InvMetric::Diag(d) = &metric else {
        panic!("diagonal metric expected")
    };
    for (v, want) in d.iter().zip([0.25, 4.0, 1.0]) {
        assert!((v / want - 1.0).abs() < 0.5, "{d:?}");
    }
    // A diagonal metric serves a dense one as that matrix.
    let dense = Nuts::default()
        .with_metric(MetricKind::Dense)
        .with_start(start);
    let trace = sample(&target(), &dense, &config(1, 0, 20, 9)).unwrap();
    let Some(InvMetric::Dense { dim: 3, values }) = &trace.chains[0].tuning.inv_metric else {
        panic!("dense metric expected")
    };
    assert_eq!([values[0], values[4], values[8]], [d[0], d[1], d[2]]);
    assert_eq!(values.iter().filter(|v| **v == 0.0).count(), 6);
}

/// A start from the inverse metric `metric` alone.
fn from_metric(metric: InvMetric) -> StartTuning {
    StartTuning {
        step_size: None,
        inv_metric: Some(metric),
    }
}

#[test]
fn a_given_metric_of_the_wrong_size_or_kind_is_refused() {
    let dense = |values: Vec<f64>| InvMetric::Dense { dim: 3, values };
    let cases = [
        (
            from_metric(InvMetric::Diag(vec![1.0, 1.0])),
            MetricKind::Diag,
            "the given inverse metric is 2-dimensional but the density has dimension 3",
        ),
        (
            from_metric(InvMetric::Diag(vec![1.0, -1.0, 1.0])),
            MetricKind::Diag,
            "non-positive element 1 (-1)",
        ),
        (
            from_metric(dense(vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0])),
            MetricKind::Diag,
            "the given inverse metric is dense but the sampler's metric is diagonal",
        ),
        (
            from_metric(dense(vec![1.0, 2.0, 0.0, 2.0, 1.0, 0.0, 0.0, 0.0, 1.0])),
            MetricKind::Dense,
            "not positive definite",
        ),
        (
            StartTuning {
                step_size: Some(0.0),
                inv_metric: None,
            },
            MetricKind::Diag,
            "setting `step_size` must be finite and positive (got 0)",
        ),
    ];
    for (start, kind, message) in cases {
        let nuts = Nuts::default().with_metric(kind).with_start(start);
        let err = sample(&target(), &nuts, &config(1, 0, 5, 1)).unwrap_err();
        assert!(matches!(err, SampleError::Config(_)), "{err}");
        assert!(err.to_string().contains(message), "{err}");
    }
}

/// A density whose output gains a value after `calls` outputs.
struct GrowingOutput {
    calls: AtomicUsize,
}

impl LogDensity for GrowingOutput {
    fn dim(&self) -> usize {
        1
    }
    fn logp_and_grad(&self, x: &[f64], g: &mut [f64]) -> Result<f64, LogDensityError> {
        g[0] = -x[0];
        Ok(-0.5 * x[0] * x[0])
    }
    fn write_output(&self, x: &[f64], out: &mut Vec<f64>) {
        out.clear();
        out.push(x[0]);
        if self.calls.fetch_add(1, Ordering::Relaxed) >= 30 {
            out.push(x[0]);
        }
    }
}

#[test]
fn bad_sizes_are_typed_errors_not_panics() {
    let density = GrowingOutput {
        calls: AtomicUsize::new(0),
    };
    let run = RunConfig {
        threads: 1,
        ..config(1, 10, 50, 1)
    };
    let err = sample(&density, &Nuts::default(), &run).unwrap_err();
    // Call 0 is the runner's probe, calls 1–10 the warm-up, 11–29 draws 0–18: draw 19 has
    // two values.
    assert!(
        matches!(
            err,
            SampleError::OutputLength {
                chain: 0,
                names: 1,
                written: 2,
                at: trellis_samplers::ChainStage::Draw(19),
            }
        ),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "chain 0, draw 19: the density wrote 2 output values where its output names are 1 \
         (LogDensity::write_output and output_names disagree)"
    );

    let huge = RunConfig {
        draws: usize::MAX,
        ..config(1, 0, 1, 1)
    };
    let err = sample(&target(), &Nuts::default(), &huge).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "invalid configuration: {} draws of 3 output values per chain cannot be held in \
             memory",
            usize::MAX
        )
    );
    let overflow = RunConfig {
        warmup: 10,
        draws: usize::MAX,
        ..config(1, 0, 1, 1)
    };
    let err = sample(&target(), &Nuts::default(), &overflow).unwrap_err();
    assert!(
        err.to_string().contains("overflow the iteration counter"),
        "{err}"
    );

    let jitter = RunConfig {
        init: InitSettings {
            jitter: 1e308,
            ..InitSettings::default()
        },
        ..config(1, 0, 1, 1)
    };
    let err = sample(&target(), &Nuts::default(), &jitter).unwrap_err();
    assert!(
        err.to_string().contains("setting `jitter` must be at most"),
        "{err}"
    );
}

#[test]
fn per_chain_initial_points_start_each_chain_exactly_there() {
    let points = vec![vec![0.25, -1.0, 2.0], vec![-3.0, 0.5, 0.0]];
    let run = RunConfig {
        init: InitSettings {
            jitter: 0.0,
            ..InitSettings::default()
        },
        chain_initial_points: Some(points.clone()),
        ..config(2, 0, 5, 2)
    };
    let trace = sample(&target(), &Nuts::default(), &run).unwrap();
    for (chain, point) in trace.chains.iter().zip(&points) {
        assert_eq!(&chain.initial_position, point);
    }
    let wrong = RunConfig {
        chain_initial_points: Some(vec![vec![0.0; 3]]),
        ..run.clone()
    };
    let err = sample(&target(), &Nuts::default(), &wrong).unwrap_err();
    assert!(
        err.to_string().contains("1 initial points for 2 chains"),
        "{err}"
    );
    let short = RunConfig {
        chain_initial_points: Some(vec![vec![0.0; 3], vec![0.0; 2]]),
        ..run
    };
    let err = sample(&target(), &Nuts::default(), &short).unwrap_err();
    assert!(
        err.to_string()
            .contains("initial point has 2 coordinates but the density has dimension 3"),
        "{err}"
    );
}

#[test]
fn an_unwritable_stream_folder_is_an_output_error() {
    let dir = Scratch::new("unwritable");
    let missing = dir.0.join("missing");
    let stream = CsvStream::new(&missing, "chain", Vec::new());
    let err =
        sample_streaming(&target(), &Nuts::default(), &config(1, 5, 5, 1), &stream).unwrap_err();
    assert!(matches!(err, SampleError::Output(_)), "{err}");
    assert!(err.to_string().contains("chain_1.csv.partial"), "{err}");
    // `write_atomic` leaves no temporary file when it cannot write either.
    assert!(write_atomic(&missing.join("a.json"), b"{}").is_err());
    assert!(dir.entries().is_empty());
}

#[test]
fn more_init_candidates_start_each_chain_at_the_best_of_its_jittered_points() {
    let density = target();
    let run = |candidates| RunConfig {
        init: InitSettings {
            jitter: 2.0,
            candidates,
            ..InitSettings::default()
        },
        ..config(4, 0, 1, 3)
    };
    let lp = |x: &[f64]| density.logp_and_grad(x, &mut vec![0.0; x.len()]).unwrap();
    let one = sample(&density, &Nuts::default(), &run(1)).unwrap();
    let many = sample(&density, &Nuts::default(), &run(16)).unwrap();
    for (a, b) in one.chains.iter().zip(&many.chains) {
        // The first of the 16 candidates is the single candidate's point.
        assert!(lp(&b.initial_position) >= lp(&a.initial_position));
        assert_ne!(a.initial_position, b.initial_position);
        assert_eq!((a.init_attempts, b.init_attempts), (1, 16));
    }
    let mean = |t: &Trace| {
        let lps = t.chains.iter().map(|c| lp(&c.initial_position));
        lps.sum::<f64>() / t.chains.len() as f64
    };
    assert!(mean(&many) > mean(&one) + 1.0);
    let err = sample(&density, &Nuts::default(), &run(0)).unwrap_err();
    assert!(err.to_string().contains("candidates"), "{err}");
}
