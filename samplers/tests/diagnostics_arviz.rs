//! Checks `trellis_samplers::diagnostics` and the summary table against ArviZ 0.23.4.
//!
//! The fixtures in `tests/fixtures/diagnostics/` hold draws (one CSV row per chain) and
//! `arviz_reference.json` with ArviZ's results on exactly those draws. Every quantity of every
//! case is compared; the worst relative difference per quantity is printed (run with
//! `--nocapture` to see it). Further tests check properties that follow from the published
//! formulas (Vehtari et al. 2021) and the edge cases documented in the module.

use std::collections::BTreeMap;

use ndarray::{array, Array2};
use serde_json::Value;
use trellis_samplers::diagnostics::{
    autocovariance, bfmi, ess_bulk, ess_mean, ess_quantile, ess_tail, hdi, mcse_mean, mcse_sd,
    mean, rhat, sd, DEFAULT_HDI_PROB,
};
use trellis_samplers::{Summary, SummaryError};

use crate::fixtures;
use fixtures::{arviz_reference, as_num, read_fixture};

/// Required agreement with ArviZ (relative); the observed worst case is far below it.
const REL_TOL: f64 = 1e-12;

/// The columns of a summary with true values, in ArviZ's names.
const SUMMARY_COLUMNS: [&str; 10] = [
    "mean",
    "sd",
    "hdi_3%",
    "hdi_97%",
    "mcse_mean",
    "mcse_sd",
    "ess_bulk",
    "ess_tail",
    "r_hat",
    "true",
];

/// Loads the reference JSON with every number turned into a string.
///
/// serde_json's default float parser (without the `float_roundtrip` feature, which this
/// workspace does not enable) may be off by one ulp; the HDI bounds must match exactly, so
/// numbers are kept as text and parsed with the correctly rounded `str::parse::<f64>`.
fn reference() -> Value {
    arviz_reference("diagnostics", |text| quote_numbers(&text))
}

/// Wraps every JSON number token (outside strings) in quotes.
fn quote_numbers(json: &str) -> String {
    let mut out = String::with_capacity(json.len() + json.len() / 4);
    let mut chars = json.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            if c == '\\' {
                if let Some(escaped) = chars.next() {
                    out.push(escaped);
                }
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if c == '-' || c.is_ascii_digit() {
            out.push('"');
            out.push(c);
            while let Some(&d) = chars.peek() {
                if d.is_ascii_digit() || matches!(d, '.' | 'e' | 'E' | '+' | '-') {
                    out.push(d);
                    chars.next();
                } else {
                    break;
                }
            }
            out.push('"');
        } else {
            out.push(c);
        }
    }
    out
}

/// Parses a fixture CSV: one chain per line, draws separated by commas.
fn load_draws(file: &str) -> Array2<f64> {
    let text = read_fixture("diagnostics", file);
    let rows: Vec<Vec<f64>> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            l.split(',')
                .map(|v| {
                    v.trim()
                        .parse::<f64>()
                        .expect("every CSV field is a number")
                })
                .collect()
        })
        .collect();
    let draws = rows[0].len();
    assert!(rows.iter().all(|r| r.len() == draws), "{file}: ragged rows");
    Array2::from_shape_vec((rows.len(), draws), rows.concat()).expect("rectangular")
}

fn rel_diff(got: f64, want: f64) -> f64 {
    if got == want {
        0.0
    } else {
        (got - want).abs() / want.abs().max(f64::MIN_POSITIVE)
    }
}

fn num(v: &Value, key: &str) -> f64 {
    as_num(&v[key])
}

/// Relative difference of every quantity in every case, for the printed report.
#[derive(Default)]
struct Diffs(BTreeMap<String, BTreeMap<String, f64>>);

impl Diffs {
    fn record(&mut self, quantity: &str, case: &str, got: f64, want: f64) -> f64 {
        let d = rel_diff(got, want);
        let per_case = self.0.entry(quantity.to_string()).or_default();
        let slot = per_case.entry(case.to_string()).or_insert(0.0);
        *slot = slot.max(d);
        d
    }

    /// One line per quantity: the worst case, then the difference in every case.
    fn print(&self) {
        println!("relative difference against ArviZ 0.23.4 (worst first, then per case):");
        for (quantity, per_case) in &self.0 {
            let (worst_case, worst) =
                per_case.iter().fold(
                    ("-", 0.0),
                    |acc, (c, &d)| if d > acc.1 { (c.as_str(), d) } else { acc },
                );
            let cells: Vec<String> = per_case
                .iter()
                .map(|(c, d)| format!("{c}={d:.1e}"))
                .collect();
            println!(
                "  {quantity:<18} worst {worst:.2e} ({worst_case})  [{}]",
                cells.join(", ")
            );
        }
    }
}

#[test]
fn every_fixture_matches_arviz() {
    let reference = reference();
    assert_eq!(reference["arviz_version"], "0.23.4");
    let cases = reference["cases"].as_object().expect("cases is an object");
    assert!(cases.len() >= 7, "expected the seven documented cases");

    let mut diffs = Diffs::default();
    let mut failures = Vec::new();
    let mut per_case = Vec::new();

    for (case, want) in cases {
        let draws = load_draws(want["file"].as_str().expect("file name"));
        let view = draws.view();
        assert_eq!(draws.nrows() as f64, num(want, "chains"), "{case}: chains");
        assert_eq!(
            draws.ncols() as f64,
            num(want, "draws_per_chain"),
            "{case}: draws"
        );

        let (lo, hi) = hdi(view, 0.94);
        let want_hdi = want["hdi_94"].as_array().expect("hdi_94 is a pair");
        let summary = Summary::new([("x", view)], 0.94).expect("valid summary");
        let row = summary.row("x").expect("row x");
        let json = serde_json::to_value(&summary).expect("summary serialises");
        let srow = &want["summary_row"];

        let checks: Vec<(&str, f64, f64)> = vec![
            ("r_hat", rhat(view), num(want, "r_hat")),
            ("ess_bulk", ess_bulk(view), num(want, "ess_bulk")),
            ("ess_tail", ess_tail(view), num(want, "ess_tail")),
            ("ess_mean", ess_mean(view), num(want, "ess_mean")),
            ("mcse_mean", mcse_mean(view), num(want, "mcse_mean")),
            ("mcse_sd", mcse_sd(view), num(want, "mcse_sd")),
            ("mean", mean(view), num(want, "mean")),
            ("sd", sd(view), num(want, "sd")),
            ("summary.mean", row.mean, num(srow, "mean")),
            ("summary.sd", row.sd, num(srow, "sd")),
            ("summary.mcse_mean", row.mcse_mean, num(srow, "mcse_mean")),
            ("summary.mcse_sd", row.mcse_sd, num(srow, "mcse_sd")),
            ("summary.ess_bulk", row.ess_bulk, num(srow, "ess_bulk")),
            ("summary.ess_tail", row.ess_tail, num(srow, "ess_tail")),
            ("summary.r_hat", row.r_hat, num(srow, "r_hat")),
            // The JSON form must carry the same numbers under ArviZ's column names.
            ("json.r_hat", num(&json["x"], "r_hat"), num(srow, "r_hat")),
            (
                "json.ess_bulk",
                num(&json["x"], "ess_bulk"),
                num(srow, "ess_bulk"),
            ),
        ];
        let mut case_worst = 0.0_f64;
        for (quantity, got, expected) in checks {
            let d = diffs.record(quantity, case, got, expected);
            case_worst = case_worst.max(d);
            if d > REL_TOL || d.is_nan() {
                failures.push(format!(
                    "{case}: {quantity} = {got:e}, ArviZ {expected:e} (rel {d:e})"
                ));
            }
        }
        per_case.push(format!("{case:<24} worst rel diff {case_worst:.2e}"));

        // HDI bounds are draws, so they must agree exactly, in every form.
        let exact = [
            ("hdi_94 lower", lo, as_num(&want_hdi[0])),
            ("hdi_94 upper", hi, as_num(&want_hdi[1])),
            ("summary hdi_3%", row.hdi_lower, num(srow, "hdi_3%")),
            ("summary hdi_97%", row.hdi_upper, num(srow, "hdi_97%")),
            (
                "json hdi_3%",
                num(&json["x"], "hdi_3%"),
                num(srow, "hdi_3%"),
            ),
            (
                "json hdi_97%",
                num(&json["x"], "hdi_97%"),
                num(srow, "hdi_97%"),
            ),
        ];
        for (quantity, got, expected) in exact {
            diffs.record(quantity, case, got, expected);
            if got != expected {
                failures.push(format!(
                    "{case}: {quantity} = {got:e}, ArviZ {expected:e} (not exact)"
                ));
            }
        }
    }

    diffs.print();
    println!("per case:");
    for line in &per_case {
        println!("  {line}");
    }
    assert!(
        failures.is_empty(),
        "disagreements with ArviZ:\n{}",
        failures.join("\n")
    );
}

#[test]
fn summary_json_has_arviz_field_names() {
    let draws = load_draws("iid_normal.csv");
    let summary = Summary::new([("mu", draws.view())], DEFAULT_HDI_PROB)
        .unwrap()
        .with_true_values([("mu", 0.0)])
        .unwrap();
    let json = serde_json::to_value(&summary).unwrap();
    let fields: Vec<&String> = json["mu"].as_object().unwrap().keys().collect();
    let mut expected = SUMMARY_COLUMNS.to_vec();
    expected.sort_unstable();
    let mut fields: Vec<&str> = fields.iter().map(|s| s.as_str()).collect();
    fields.sort_unstable();
    assert_eq!(fields, expected);
    assert_eq!(json["mu"]["true"], 0.0);

    // Without true values there is no `true` field.
    let plain = serde_json::to_value(Summary::new([("mu", draws.view())], 0.94).unwrap()).unwrap();
    assert!(plain["mu"].get("true").is_none());
}

#[test]
fn hdi_labels_follow_the_probability() {
    let draws = load_draws("short_2x7.csv");
    let labels = |p: f64| Summary::new([("a", draws.view())], p).unwrap().hdi_labels();
    assert_eq!(labels(0.94), ("hdi_3%".into(), "hdi_97%".into()));
    assert_eq!(labels(0.9), ("hdi_5%".into(), "hdi_95%".into()));
    assert_eq!(labels(0.89), ("hdi_5.5%".into(), "hdi_94.5%".into()));
    assert_eq!(labels(0.95), ("hdi_2.5%".into(), "hdi_97.5%".into()));
    let json = serde_json::to_value(Summary::new([("a", draws.view())], 0.9).unwrap()).unwrap();
    assert!(json["a"].get("hdi_5%").is_some() && json["a"].get("hdi_95%").is_some());
}

#[test]
fn summary_rejects_bad_input_without_panicking() {
    let draws = load_draws("short_2x7.csv");
    for p in [0.0, 1.0, -0.5, 1.5, f64::NAN] {
        assert!(matches!(
            Summary::new([("a", draws.view())], p),
            Err(SummaryError::InvalidHdiProb(_))
        ));
    }
    assert_eq!(
        Summary::new([("a", draws.view()), ("a", draws.view())], 0.94),
        Err(SummaryError::DuplicateName("a".into()))
    );
    let mut s = Summary::new([("a", draws.view())], 0.94).unwrap();
    assert_eq!(
        s.set_true_value("b", 1.0),
        Err(SummaryError::UnknownParameter("b".into()))
    );
}

#[test]
fn summary_display_is_an_aligned_table() {
    let a = load_draws("iid_normal.csv");
    let b = load_draws("ar1_rho0.9.csv");
    let summary = Summary::new([("alpha", a.view()), ("beta_long_name", b.view())], 0.94)
        .unwrap()
        .with_true_values([("alpha", 0.0)])
        .unwrap();
    let text = summary.to_string();
    println!("{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3);
    for col in SUMMARY_COLUMNS {
        assert!(lines[0].contains(col), "header lacks {col}: {}", lines[0]);
    }
    // Aligned: every line has the same width and the rows start with their names.
    assert!(lines
        .iter()
        .all(|l| l.chars().count() == lines[0].chars().count()));
    assert!(lines[1].starts_with("alpha "));
    assert!(lines[2].starts_with("beta_long_name"));
    assert!(
        lines[2].trim_end().ends_with('-'),
        "missing true value shows as '-'"
    );
    // The formatter's precision applies to the continuous columns.
    assert!(format!("{summary:.5}").contains(&format!("{:.5}", summary.rows()[0].mean)));
    println!("{}", summary.to_json_pretty());
}

// ----- Hand-constructed cases from the published formulas --------------------------------------

/// A small deterministic generator (SplitMix64 → Box–Muller) so the tests need no RNG crate.
struct Gaussian(u64);

impl Gaussian {
    fn uniform(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        ((z >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

fn iid_draws(chains: usize, n: usize, seed: u64) -> Array2<f64> {
    let mut g = Gaussian(seed);
    Array2::from_shape_simple_fn((chains, n), || g.normal())
}

#[test]
fn rhat_of_identical_iid_chains_is_one() {
    // Every chain the same iid sequence: chain means agree exactly, so B = 0 for the unsplit
    // chains and R-hat is ≈ sqrt((n − 1)/n) ≈ 1, give or take the split halves' difference.
    let one = iid_draws(1, 2000, 7);
    let draws = Array2::from_shape_fn((4, 2000), |(_, i)| one[[0, i]]);
    let r = rhat(draws.view());
    assert!((r - 1.0).abs() < 0.01, "R-hat {r}");
    // Independent iid chains likewise.
    let r = rhat(iid_draws(4, 2000, 11).view());
    assert!((r - 1.0).abs() < 0.01, "R-hat {r}");
}

#[test]
fn rhat_detects_shifted_chains() {
    let mut draws = iid_draws(4, 500, 3);
    draws.row_mut(0).mapv_inplace(|x| x + 3.0);
    let r = rhat(draws.view());
    assert!(r > 1.3, "R-hat {r}");
}

#[test]
fn rhat_detects_different_scales_through_the_folded_draws() {
    // Same centre, one chain 5× wider: the bulk R-hat barely notices, the tail R-hat does.
    let mut draws = iid_draws(4, 1000, 5);
    draws.row_mut(0).mapv_inplace(|x| 5.0 * x);
    assert!(rhat(draws.view()) > 1.05, "R-hat {}", rhat(draws.view()));
}

#[test]
fn ess_of_iid_draws_is_close_to_the_number_of_draws() {
    let draws = iid_draws(4, 1000, 13);
    let total = 4000.0;
    for (name, e) in [
        ("bulk", ess_bulk(draws.view())),
        ("tail", ess_tail(draws.view())),
        ("mean", ess_mean(draws.view())),
    ] {
        assert!(e > 0.75 * total && e < 1.3 * total, "{name} ESS {e}");
    }
}

#[test]
fn ess_of_an_antithetic_chain_exceeds_the_number_of_draws() {
    // AR(1) with ρ = −0.6: τ = (1 + ρ)/(1 − ρ) = 0.25, so ESS ≈ 4 × the number of draws.
    let mut g = Gaussian(17);
    let mut draws = Array2::zeros((4, 2000));
    for c in 0..4 {
        let mut x = g.normal();
        for i in 0..2000 {
            x = -0.6 * x + (1.0f64 - 0.36).sqrt() * g.normal();
            draws[[c, i]] = x;
        }
    }
    let e = ess_mean(draws.view());
    assert!(e > 8000.0, "antithetic ESS {e} should exceed 8000 draws");
    assert!(ess_bulk(draws.view()) > 8000.0);
}

#[test]
fn ess_of_a_random_walk_is_tiny() {
    let mut g = Gaussian(19);
    let mut draws = Array2::zeros((4, 1000));
    for c in 0..4 {
        let mut x = 0.0;
        for i in 0..1000 {
            x += g.normal();
            draws[[c, i]] = x;
        }
    }
    assert!(ess_bulk(draws.view()) < 100.0);
    assert!(rhat(draws.view()) > 1.1);
}

#[test]
fn mcse_mean_of_iid_draws_is_sd_over_sqrt_n() {
    let draws = iid_draws(4, 1000, 23);
    let m = mcse_mean(draws.view());
    let naive = sd(draws.view()) / (4000.0f64).sqrt();
    assert!(
        (m / naive - 1.0).abs() < 0.15,
        "mcse {m} vs sd/sqrt(n) {naive}"
    );
    // For normal draws Var(s) ≈ σ²/(2n): MCSE(sd) ≈ σ / sqrt(2n).
    let msd = mcse_sd(draws.view());
    let normal_theory = sd(draws.view()) / (2.0f64 * 4000.0).sqrt();
    assert!(
        (msd / normal_theory - 1.0).abs() < 0.2,
        "mcse_sd {msd} vs {normal_theory}"
    );
}

#[test]
fn ess_quantile_at_the_median_is_sensible_and_rejects_bad_probs() {
    let draws = iid_draws(2, 500, 29);
    let e = ess_quantile(draws.view(), 0.5);
    assert!(e > 600.0 && e < 1400.0, "median ESS {e}");
    assert!(ess_quantile(draws.view(), 1.5).is_nan());
    assert!(ess_quantile(draws.view(), f64::NAN).is_nan());
}

#[test]
fn hdi_is_the_narrowest_interval() {
    // Sorted 0..100: every window of 90 has width 90, the first one wins (np.argmin).
    let draws = Array2::from_shape_fn((2, 50), |(c, i)| (c * 50 + i) as f64);
    assert_eq!(hdi(draws.view(), 0.9), (0.0, 90.0));
    // A skewed sample: the HDI hugs the dense end.
    let skewed = Array2::from_shape_fn((1, 100), |(_, i)| ((i as f64) / 10.0).powi(3));
    let (lo, hi) = hdi(skewed.view(), 0.5);
    assert_eq!(lo, 0.0);
    assert_eq!(hi, skewed[[0, 50]]);
    // Invalid probabilities and empty input give NaN, never a panic.
    for p in [0.0, 1.0, 2.0, f64::NAN] {
        let (a, b) = hdi(draws.view(), p);
        assert!(a.is_nan() && b.is_nan());
    }
    let empty = Array2::<f64>::zeros((0, 0));
    assert!(hdi(empty.view(), 0.94).0.is_nan());
}

#[test]
fn constant_draws_follow_arviz() {
    let draws = Array2::from_elem((4, 100), 2.5);
    let v = draws.view();
    // R-hat: 0/0 → NaN. ESS: ArviZ returns the number of split draws for constant input.
    assert!(rhat(v).is_nan());
    assert_eq!(ess_bulk(v), 400.0);
    assert_eq!(ess_tail(v), 400.0);
    assert_eq!(ess_mean(v), 400.0);
    assert_eq!(mcse_mean(v), 0.0);
    assert!(mcse_sd(v).is_nan());
    assert_eq!(mean(v), 2.5);
    assert_eq!(sd(v), 0.0);
    assert_eq!(hdi(v, 0.94), (2.5, 2.5));
    // Odd draws per chain: the split drops the middle draw, so 4 × 2 × 49.
    let odd = Array2::from_elem((4, 99), 1.0);
    assert_eq!(ess_bulk(odd.view()), 392.0);
    let row = Summary::new([("c", v)], 0.94).unwrap().rows()[0].clone();
    assert!(row.r_hat.is_nan() && row.mcse_sd.is_nan());
    assert_eq!(row.ess_bulk, 400.0);
    // NaN serialises as JSON null.
    let json = serde_json::to_value(Summary::new([("c", v)], 0.94).unwrap()).unwrap();
    assert!(json["c"]["r_hat"].is_null());
}

#[test]
fn chains_constant_at_different_levels_give_infinite_rhat() {
    let draws = Array2::from_shape_fn((2, 10), |(c, _)| c as f64);
    assert_eq!(rhat(draws.view()), f64::INFINITY);
}

#[test]
fn single_chain_has_nan_rhat_but_finite_ess() {
    let draws = iid_draws(1, 400, 31);
    let v = draws.view();
    assert!(rhat(v).is_nan());
    for e in [
        ess_bulk(v),
        ess_tail(v),
        ess_mean(v),
        mcse_mean(v),
        mcse_sd(v),
    ] {
        assert!(e.is_finite() && e > 0.0);
    }
    let row = Summary::new([("x", v)], 0.94).unwrap().rows()[0].clone();
    assert!(row.r_hat.is_nan() && row.ess_bulk.is_finite());
}

/// R̂, the ESS and the MCSE of `draws`: the diagnostics that need enough draws per chain.
fn chain_diagnostics(draws: ndarray::ArrayView2<'_, f64>) -> [f64; 6] {
    [
        rhat(draws),
        ess_bulk(draws),
        ess_tail(draws),
        ess_mean(draws),
        mcse_mean(draws),
        mcse_sd(draws),
    ]
}

#[test]
fn too_few_draws_give_nan_diagnostics() {
    let draws = array![[0.1, 0.5, -0.2], [0.3, -0.7, 0.9]];
    let v = draws.view();
    for d in chain_diagnostics(v) {
        assert!(d.is_nan());
    }
    // Mean, sd and HDI are still defined.
    assert!(mean(v).is_finite() && sd(v).is_finite());
    assert!(hdi(v, 0.94).0.is_finite());
    // Degenerate shapes never panic.
    let empty = Array2::<f64>::zeros((0, 10));
    assert!(rhat(empty.view()).is_nan() && ess_bulk(empty.view()).is_nan());
    assert!(mean(empty.view()).is_nan() && sd(empty.view()).is_nan());
    let no_draws = Array2::<f64>::zeros((3, 0));
    assert!(ess_tail(no_draws.view()).is_nan());
    let s = Summary::new([("e", no_draws.view())], 0.94).unwrap();
    assert!(s.rows()[0].mean.is_nan() && s.rows()[0].hdi_lower.is_nan());
    let _ = s.to_string();
}

#[test]
fn nan_draws_give_nan_not_panics() {
    let mut draws = iid_draws(4, 100, 37);
    draws[[2, 17]] = f64::NAN;
    let v = draws.view();
    for d in chain_diagnostics(v).into_iter().chain([mean(v), sd(v)]) {
        assert!(d.is_nan());
    }
    let (lo, hi) = hdi(v, 0.94);
    assert!(lo.is_nan() && hi.is_nan());
    let s = Summary::new([("n", v)], 0.94).unwrap();
    assert!(s.rows()[0].ess_bulk.is_nan());
    assert!(s.to_string().contains("NaN"));
    // Infinite draws do not panic either.
    draws[[2, 17]] = f64::INFINITY;
    let _ = (
        rhat(draws.view()),
        ess_mean(draws.view()),
        mcse_sd(draws.view()),
    );
}

#[test]
fn bfmi_matches_its_definition() {
    let energy = array![[1.0, 3.0, 2.0, 5.0, 4.0], [2.0, 2.0, 2.0, 2.0, 2.0]];
    let b = bfmi(energy.view());
    // Chain 0: squared differences 4, 1, 9, 1 → mean 3.75; var(ddof=1) of 1..5 = 2.5.
    assert!((b[0] - 1.5).abs() < 1e-15, "{}", b[0]);
    assert!(b[1].is_nan(), "constant energy: 0/0");
    // Slowly drifting energy (random walk) has low E-BFMI, iid energy about 2.
    let mut g = Gaussian(41);
    let mut walk = Array2::zeros((1, 2000));
    let mut e = 0.0;
    for i in 0..2000 {
        e += 0.1 * g.normal();
        walk[[0, i]] = e;
    }
    assert!(bfmi(walk.view())[0] < 0.3);
    let iid = iid_draws(1, 4000, 43);
    assert!((bfmi(iid.view())[0] - 2.0).abs() < 0.15);
    assert!(bfmi(array![[1.0]].view())[0].is_nan());
}

#[test]
fn fft_autocovariance_equals_the_direct_sum() {
    let draws = load_draws("ar1_rho0.9.csv");
    let x: Vec<f64> = draws.row(0).to_vec();
    let n = x.len();
    let m = x.iter().sum::<f64>() / n as f64;
    let fast = autocovariance(&x);
    assert_eq!(fast.len(), n);
    for t in 0..n {
        let direct = (0..n - t).map(|i| (x[i] - m) * (x[i + t] - m)).sum::<f64>() / n as f64;
        assert!((fast[t] - direct).abs() < 1e-12 * fast[0], "lag {t}");
    }
    assert!(autocovariance(&[]).is_empty());
    assert_eq!(autocovariance(&[4.0]), vec![0.0]);
}
