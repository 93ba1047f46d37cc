//! The streaming CmdStan CSV reader: on the committed fixtures (chain files written by
//! `trellis fit`, diagonal and dense metric, warm-up saved) every number it reads is the one
//! an independent line-by-line parse finds, bit for bit; writing the trace back gives the
//! files byte for byte; and line endings, a byte-order mark or a tiny read buffer change
//! nothing.

use std::io::BufReader;
use std::path::{Path, PathBuf};

use trellis_samplers::output::cmdstan_csv_with;
use trellis_samplers::output::read::{parse_cmdstan_csv, parse_cmdstan_reader, read_cmdstan_csv};
use trellis_samplers::{InvMetric, Trace};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/cmdstan")
        .join(name)
}

const FIXTURES: [&str; 3] = [
    "poisson_diag_chain_1.csv",
    "poisson_dense_chain_1.csv",
    "poisson_dense_chain_2.csv",
];

/// What an independent reading of a chain file finds: every draw row's numbers (warm-up
/// then draws), the step size and the inverse-metric rows of the adaptation block.
struct Oracle {
    rows: Vec<Vec<f64>>,
    step_size: f64,
    metric_rows: Vec<Vec<f64>>,
}

fn oracle(text: &str) -> Oracle {
    let mut rows = Vec::new();
    let mut step_size = f64::NAN;
    let mut metric_rows = Vec::new();
    let mut in_metric = false;
    for line in text.lines().filter(|l| !l.starts_with("lp__")) {
        match line.strip_prefix("# ") {
            Some(comment) => {
                if let Some(v) = comment.strip_prefix("Step size = ") {
                    step_size = v.parse().unwrap();
                } else if comment.contains("inverse mass matrix:") {
                    in_metric = true;
                } else if in_metric {
                    match comment.split(", ").map(str::parse).collect() {
                        Ok(row) => metric_rows.push(row),
                        Err(_) => in_metric = false,
                    }
                }
            }
            None if line.starts_with('#') => in_metric = false,
            None => {
                in_metric = false;
                rows.push(line.split(',').map(|f| f.parse().unwrap()).collect());
            }
        }
    }
    Oracle {
        rows,
        step_size,
        metric_rows,
    }
}

#[test]
fn every_number_read_is_the_one_in_the_file() {
    for name in FIXTURES {
        let path = fixture(name);
        let text = std::fs::read_to_string(&path).unwrap();
        let expected = oracle(&text);
        let file = read_cmdstan_csv(&path).unwrap();
        let warmup: usize = file.setting("num_warmup").unwrap().parse().unwrap();
        let chain = file.chain;
        let read: Vec<Vec<f64>> = [&chain.warmup, &chain.draws]
            .into_iter()
            .flat_map(|draws| {
                draws.stats().iter().enumerate().map(|(i, s)| {
                    let mut row = vec![
                        s.lp,
                        s.accept_stat,
                        s.step_size,
                        f64::from(s.tree_depth),
                        f64::from(s.n_grad),
                        f64::from(u8::from(s.divergent)),
                        s.energy,
                    ];
                    row.extend_from_slice(draws.draw(i));
                    row
                })
            })
            .collect();
        assert_eq!(chain.warmup.len(), warmup, "{name}: saved warm-up");
        assert_eq!(read.len(), expected.rows.len(), "{name}: number of rows");
        for (r, (a, b)) in read.iter().zip(&expected.rows).enumerate() {
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(a), bits(b), "{name}: row {r}");
        }
        assert_eq!(
            chain.tuning.step_size.map(f64::to_bits),
            Some(expected.step_size.to_bits()),
            "{name}"
        );
        let metric = match chain.tuning.inv_metric.unwrap() {
            InvMetric::Diag(d) => vec![d],
            InvMetric::Dense { dim, values } => values.chunks(dim).map(<[f64]>::to_vec).collect(),
        };
        assert_eq!(metric, expected.metric_rows, "{name}: inverse metric");
        assert!(!expected.metric_rows.is_empty());
    }
}

#[test]
fn writing_the_read_trace_back_gives_the_files_byte_for_byte() {
    for files in [&FIXTURES[..1], &FIXTURES[1..]] {
        let paths: Vec<PathBuf> = files.iter().map(|f| fixture(f)).collect();
        let (trace, settings) = Trace::from_cmdstan_csv_with_settings(&paths, false).unwrap();
        // The lines `fit` put above the sampler's own are passed through as given.
        let provenance: Vec<(String, String)> = settings
            .iter()
            .take_while(|(k, _)| k != "trellis_samplers_version")
            .cloned()
            .collect();
        for (chain, path) in trace.chains.iter().zip(&paths) {
            let written = cmdstan_csv_with(&trace, chain, &provenance);
            assert_eq!(written, std::fs::read_to_string(path).unwrap(), "{path:?}");
        }
    }
}

#[test]
fn line_endings_a_bom_and_the_buffer_size_change_nothing() {
    let path = fixture(FIXTURES[1]);
    let text = std::fs::read_to_string(&path).unwrap();
    let reference = read_cmdstan_csv(&path).unwrap();
    let crlf = format!("\u{feff}{}", text.replace('\n', "\r\n"));
    let variants = [
        parse_cmdstan_csv(&path, &text).unwrap(),
        parse_cmdstan_csv(&path, &crlf).unwrap(),
        parse_cmdstan_reader(&path, BufReader::with_capacity(3, crlf.as_bytes())).unwrap(),
        parse_cmdstan_reader(&path, BufReader::with_capacity(5, text.as_bytes())).unwrap(),
    ];
    for (i, read) in variants.iter().enumerate() {
        assert_eq!(read.settings, reference.settings, "variant {i}");
        assert_eq!(read.columns, reference.columns, "variant {i}");
        assert_eq!(
            format!("{:?}", read.chain),
            format!("{:?}", reference.chain),
            "variant {i}"
        );
    }
}

#[test]
fn errors_name_the_line_wherever_it_falls_in_the_buffer() {
    let path = fixture(FIXTURES[0]);
    let text = std::fs::read_to_string(&path).unwrap();
    let header = text.lines().position(|l| l.starts_with("lp__")).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    // The tenth draw row loses its last value.
    let broken = header + 10;
    let cut = lines[broken].rsplit_once(',').unwrap().0.to_string();
    lines[broken] = &cut;
    let width = lines[header].split(',').count();
    let err = parse_cmdstan_reader(
        &path,
        BufReader::with_capacity(4, lines.join("\n").as_bytes()),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}, line {}: {} values where the header names {width} columns",
            path.display(),
            broken + 1,
            width - 1
        )
    );
}
