//! First and second derivatives of every elementary operation, in every mode, against the
//! 40-digit reference table `reference/derivatives.csv` (written by
//! `reference/generate_derivatives.py` with mpmath; this test needs no Python).
//!
//! Modes: `Dual<f64>` and `Var` (first derivatives), `Dual<Dual<f64>>`, forward-mode
//! `forward::hessian` (`DualVec<Dual<f64>, 8>`) and reverse-mode `reverse::hessian`
//! (`Dual<Var>`) for second derivatives. The bar is 1e-13 relative error everywhere in the
//! table; `LOOSER` lists the only exceptions, each with its reason. Run with `--nocapture` to
//! see the table of worst relative errors per operation and order.

use std::collections::BTreeMap;

use trellis_ad::{forward, reverse, Dual, Scalar, ScalarFn};

const TABLE: &str = include_str!("reference/derivatives.csv");
const BAR: f64 = 1e-13;

/// (operation, order) pairs allowed a looser bound, with the reason.
const LOOSER: &[(&str, usize, f64, &str)] = &[];

fn unary<T: Scalar>(op: &str, x: T) -> T {
    match op {
        "exp" => x.exp(),
        "ln" => x.ln(),
        "sqrt" => x.sqrt(),
        "sin" => x.sin(),
        "cos" => x.cos(),
        "tan" => x.tan(),
        "tanh" => x.tanh(),
        "sinh" => x.sinh(),
        "cosh" => x.cosh(),
        "asin" => x.asin(),
        "acos" => x.acos(),
        "atan" => x.atan(),
        "asinh" => x.asinh(),
        "acosh" => x.acosh(),
        "atanh" => x.atanh(),
        "exp_m1" => x.exp_m1(),
        "ln_1p" => x.ln_1p(),
        "cbrt" => x.cbrt(),
        "recip" => x.recip(),
        "softplus" => x.softplus(),
        "logistic" => x.logistic(),
        "log_logistic" => x.log_logistic(),
        "ln_gamma" => x.ln_gamma(),
        "digamma" => x.digamma(),
        "polygamma1" => x.polygamma(1),
        "polygamma2" => x.polygamma(2),
        "erf" => x.erf(),
        "erfc" => x.erfc(),
        "norm_cdf" => x.norm_cdf(),
        "log_norm_cdf" => x.log_norm_cdf(),
        "powi_m1" => x.powi(-1),
        "powi_m3" => x.powi(-3),
        "powi_3" => x.powi(3),
        "exp2" => x.exp2(),
        "log2" => x.log2(),
        "log10" => x.log10(),
        other => panic!("unknown operation {other} in the reference table"),
    }
}

fn binary<T: Scalar>(op: &str, x: T, y: T) -> T {
    match op {
        "powf" => x.powf(y),
        "log_add_exp" => x.log_add_exp(y),
        "atan2" => x.atan2(y),
        "hypot" => x.hypot(y),
        other => panic!("unknown operation {other} in the reference table"),
    }
}

struct Op<'a>(&'a str);
impl ScalarFn for Op<'_> {
    fn eval<T: Scalar>(&self, x: &[T]) -> T {
        if x.len() == 1 {
            unary(self.0, x[0])
        } else {
            binary(self.0, x[0], x[1])
        }
    }
}

fn rel_err(got: f64, want: f64) -> f64 {
    if got == want {
        return 0.0;
    }
    if !got.is_finite() {
        return f64::INFINITY;
    }
    if want == 0.0 {
        got.abs()
    } else {
        ((got - want) / want).abs()
    }
}

struct Row<'a> {
    op: &'a str,
    x: Vec<f64>,
    /// f, then the gradient, then the Hessian (row-major upper triangle for two inputs).
    want: Vec<f64>,
}

fn rows() -> Vec<Row<'static>> {
    TABLE
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|line| {
            let cells: Vec<&str> = line.split(',').collect();
            let num = |s: &str| {
                s.parse::<f64>()
                    .unwrap_or_else(|_| panic!("bad number {s:?}"))
            };
            if cells[2].is_empty() {
                Row {
                    op: cells[0],
                    x: vec![num(cells[1])],
                    want: cells[3..6].iter().map(|c| num(c)).collect(),
                }
            } else {
                Row {
                    op: cells[0],
                    x: vec![num(cells[1]), num(cells[2])],
                    want: cells[3..9].iter().map(|c| num(c)).collect(),
                }
            }
        })
        .collect()
}

/// Every mode's derivatives at one row: (order, mode, computed, reference).
fn computed(row: &Row) -> Vec<(usize, &'static str, f64, f64)> {
    let f = Op(row.op);
    let x = &row.x;
    let n = x.len();
    let want_grad = &row.want[1..1 + n];
    // Hessian reference entries: [d2] for one input, [xx, xy, yy] for two.
    let want_hess = |i: usize, j: usize| row.want[1 + n + i + j];
    let mut out = Vec::new();
    let grad_rev = reverse::gradient(&f, x);
    let grad_fwd = forward::gradient(&f, x);
    let h_fwd = forward::hessian(&f, x);
    let h_rev = reverse::hessian(&f, x);
    for i in 0..n {
        out.push((1, "reverse", grad_rev[i], want_grad[i]));
        out.push((1, "forward", grad_fwd[i], want_grad[i]));
        for j in 0..n {
            out.push((2, "forward::hessian", h_fwd[[i, j]], want_hess(i, j)));
            out.push((2, "reverse::hessian", h_rev[[i, j]], want_hess(i, j)));
        }
    }
    if n == 1 {
        let d = unary(row.op, Dual::variable(x[0]));
        out.push((1, "Dual", d.tangent(), want_grad[0]));
        let nested = unary(
            row.op,
            Dual::new(Dual::new(x[0], [1.0]), [Dual::new(1.0, [0.0])]),
        );
        out.push((1, "Dual<Dual> inner", nested.re.eps[0], want_grad[0]));
        out.push((1, "Dual<Dual> outer", nested.eps[0].re, want_grad[0]));
        out.push((2, "Dual<Dual>", nested.eps[0].eps[0], want_hess(0, 0)));
    }
    out
}

#[test]
fn derivatives_match_the_high_precision_table() {
    // worst[(op, order)] = (error, x, mode, got, want)
    type Worst = (f64, Vec<f64>, &'static str, f64, f64);
    let mut worst: BTreeMap<(&str, usize), Worst> = BTreeMap::new();
    let mut points = 0;
    for row in rows() {
        points += 1;
        for (order, mode, got, want) in computed(&row) {
            let err = rel_err(got, want);
            let entry =
                worst
                    .entry((row.op, order))
                    .or_insert((0.0, row.x.clone(), mode, got, want));
            if err > entry.0 || err.is_nan() {
                *entry = (err, row.x.clone(), mode, got, want);
            }
        }
    }
    println!("worst relative error per operation and order over {points} points:");
    println!("| operation | order | worst relative error | at | mode |");
    println!("|---|---:|---:|---|---|");
    for ((op, order), (err, x, mode, _, _)) in &worst {
        println!("| {op} | {order} | {err:.1e} | {x:?} | {mode} |");
    }
    let mut failures = Vec::new();
    for ((op, order), (err, x, mode, got, want)) in &worst {
        let bound = LOOSER
            .iter()
            .find(|(o, k, _, _)| o == op && k == order)
            .map_or(BAR, |l| l.2);
        if err.is_nan() || *err > bound {
            failures.push(format!(
                "{op} order {order} at {x:?} ({mode}): {got:e} vs {want:e}, relative error {err:.1e} > {bound:e}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
