//! Which covariates drive which transition (issue 11): the transition from t to t + 1 uses
//! zₜ, the from-time's covariates, in `simulate` and in `logp`; covariate rows are matched to
//! the data by sequence label and time, whatever their order in the file, and missing
//! steps do not shift them. A `simulate` → `fit` round trip cannot see a wrong convention
//! (both sides would share it), so these tests check it against the definition directly.

use crate::cli_common;

use cli_common::{json_numbers, stdout, Scratch};

/// One sequence, times 0 … 9, whose only non-zero covariate is at time 4; from state 0 the
/// move to state 1 has η = −40 + 80·x1, so it happens exactly when x1 = 1 (probability
/// 1 − e⁻⁴⁰) and never otherwise (e⁻⁴⁰ per step), and state 1 never leaves. With zₜ
/// driving t → t + 1 the chain is in state 0 up to time 4 and in state 1 from time 5.
#[test]
fn simulate_moves_on_the_step_after_the_covariate() {
    let dir = Scratch::new("cov-from-time");
    let mut covariates = String::from("sequence,time,x1\n");
    for t in 0..10 {
        covariates.push_str(&format!("a,{t},{}\n", u8::from(t == 4)));
    }
    dir.write("c.csv", covariates);
    dir.write(
        "p.json",
        r#"{"rate": [1, 50], "p_initial_state": [1, 0],
            "transition_coef": [[[0, 0], [-40, 80]], [[-40, 0], [0, 0]]]}"#,
    );
    dir.succeeds(
        "simulate --model poisson --states 2 --params p.json --covariates c.csv --seed 5 \
         --out sim",
    );
    let states = std::fs::read_to_string(dir.join("sim/states.csv")).unwrap();
    let expected: String = std::iter::once("sequence,time,state".to_string())
        .chain((0..10).map(|t| format!("a,{t},{}", u8::from(t >= 5))))
        .map(|l| l + "\n")
        .collect();
    assert_eq!(states, expected);
}

/// Rates of the 3-state Poisson model of [`logp_matches_path_enumeration`].
const RATES: [f64; 3] = [0.5, 3.0, 9.0];
const INITIAL: [f64; 3] = [0.5, 0.3, 0.2];

/// `transition_coef[i][j][c]` (c = intercept, x1, x2), diagonal 0.
fn coef(i: usize, j: usize, c: usize) -> f64 {
    if i == j {
        0.0
    } else {
        [
            -1.0 + 0.3 * i as f64 - 0.2 * j as f64,
            0.9 - 0.4 * j as f64,
            -0.7 + 0.5 * i as f64,
        ][c]
    }
}

/// Γ[i][j] for design vector z = (1, x1, x2): the multinomial logit with staying as the
/// reference category, written out from its definition.
fn gamma(x: [f64; 2], i: usize, j: usize) -> f64 {
    let eta = |j: usize| coef(i, j, 0) + coef(i, j, 1) * x[0] + coef(i, j, 2) * x[1];
    let norm: f64 = (0..3).map(|k| eta(k).exp()).sum();
    eta(j).exp() / norm
}

fn poisson_pmf(y: u32, rate: f64) -> f64 {
    let log_factorial: f64 = (1..=y).map(|k| f64::from(k).ln()).sum();
    (f64::from(y) * rate.ln() - rate - log_factorial).exp()
}

/// ln L of one sequence by summing over all 3ᵀ paths: observations (None = missing) and the
/// covariates of each step, the transition t → t + 1 using step t's.
fn enumerate(ys: &[Option<u32>], xs: &[[f64; 2]]) -> f64 {
    let n = ys.len();
    let mut total = 0.0;
    for code in 0..3usize.pow(n as u32) {
        let path: Vec<usize> = (0..n).map(|t| code / 3usize.pow(t as u32) % 3).collect();
        let mut p = INITIAL[path[0]];
        for t in 0..n {
            if let Some(y) = ys[t] {
                p *= poisson_pmf(y, RATES[path[t]]);
            }
            if t + 1 < n {
                p *= gamma(xs[t], path[t], path[t + 1]);
            }
        }
        total += p;
    }
    total.ln()
}

/// `logp` on two sequences (labels `a`, times 0–4, and `b`, times 5–10 with a missing step
/// at time 7) whose covariates file lists `b` first and its rows shuffled: per sequence
/// and in total the log-likelihood is the path enumeration's with zₜ of the row labelled
/// (sequence, t) driving t → t + 1.
#[test]
fn logp_matches_path_enumeration() {
    let a: [(i64, Option<u32>, [f64; 2]); 5] = [
        (0, Some(0), [0.3, -1.0]),
        (1, Some(4), [-1.2, 0.5]),
        (2, Some(9), [2.0, 0.0]),
        (3, Some(1), [0.1, 1.5]),
        (4, Some(3), [-0.4, -0.6]),
    ];
    let b: [(i64, Option<u32>, [f64; 2]); 6] = [
        (5, Some(2), [1.1, 0.2]),
        (6, Some(8), [-2.0, 1.0]),
        (7, None, [0.7, -1.4]),
        (8, Some(0), [1.6, 0.9]),
        (9, Some(5), [-0.3, 0.4]),
        (10, Some(11), [0.5, -0.5]),
    ];
    let mut data = String::from("sequence,time,value\n");
    for (label, rows) in [("a", &a[..]), ("b", &b[..])] {
        for (t, y, _) in rows {
            let cell = y.map_or("NA".to_string(), |y| y.to_string());
            data.push_str(&format!("{label},{t},{cell}\n"));
        }
    }
    // b before a, each sequence's rows out of time order.
    let mut covariates = String::from("sequence,time,x1,x2\n");
    for (label, rows, order) in [
        ("b", &b[..], &[3, 0, 5, 1, 4, 2][..]),
        ("a", &a[..], &[2, 4, 0, 3, 1][..]),
    ] {
        for &r in order {
            let (t, _, x) = rows[r];
            covariates.push_str(&format!("{label},{t},{:?},{:?}\n", x[0], x[1]));
        }
    }
    let dir = Scratch::new("cov-enumeration");
    dir.write("d.csv", data);
    dir.write("c.csv", covariates);
    let coefficients: Vec<Vec<Vec<f64>>> = (0..3)
        .map(|i| {
            (0..3)
                .map(|j| (0..3).map(|c| coef(i, j, c)).collect())
                .collect()
        })
        .collect();
    dir.write(
        "p.json",
        serde_json::json!({
            "rate": RATES, "p_initial_state": INITIAL, "transition_coef": coefficients
        })
        .to_string(),
    );
    let out = dir.succeeds(
        "logp --json --model poisson --states 3 --data d.csv --covariates c.csv --params p.json",
    );
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let expected: Vec<f64> = [&a[..], &b[..]]
        .iter()
        .map(|rows| {
            let ys: Vec<Option<u32>> = rows.iter().map(|r| r.1).collect();
            let xs: Vec<[f64; 2]> = rows.iter().map(|r| r.2).collect();
            enumerate(&ys, &xs)
        })
        .collect();
    let found = json_numbers(&json["per_sequence"]);
    assert_eq!(found.len(), 2);
    for (s, (f, e)) in found.iter().zip(&expected).enumerate() {
        assert!((f - e).abs() <= 1e-10 * e.abs(), "sequence {s}: {f} vs {e}");
    }
    let total = json["logp"].as_f64().unwrap();
    let sum = expected[0] + expected[1];
    assert!((total - sum).abs() <= 1e-10 * sum.abs(), "{total} vs {sum}");
    // The to-time convention (zₜ₊₁ driving t → t + 1) gives another value: the test can tell.
    let shifted: f64 = [&a[..], &b[..]]
        .iter()
        .map(|rows| {
            let ys: Vec<Option<u32>> = rows.iter().map(|r| r.1).collect();
            let xs: Vec<[f64; 2]> = rows[1..].iter().map(|r| r.2).chain([rows[0].2]).collect();
            enumerate(&ys, &xs)
        })
        .sum();
    assert!((shifted - sum).abs() > 1e-3, "{shifted} vs {sum}");
}
