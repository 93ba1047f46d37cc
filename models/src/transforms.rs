//! Constraining transforms: maps from unconstrained real vectors to a parameter's support,
//! with the log-absolute-determinant of their Jacobian (so a density on the constrained space
//! becomes one on ℝⁿ that a sampler can explore).
//!
//! Elementwise transforms act on every element; [`Transform::Ordered`],
//! [`Transform::PositiveOrdered`], [`Transform::Simplex`] and [`Transform::StickBreaking`]
//! act on each vector along the last axis (each row of a matrix), as in PyMC.
//!
//! ```
//! use trellis_models::Transform;
//! // PyMC's simplex transform at the origin gives the uniform distribution, and
//! // log|J| = log K + Σ log pₖ = −2 log 3 for K = 3.
//! let mut p = vec![0.0; 3];
//! let mut log_p = vec![0.0; 3];
//! let log_jac = Transform::Simplex.constrain(&[0.0, 0.0], 3, &mut p, &mut log_p);
//! assert!(p.iter().all(|&x| (x - 1.0 / 3.0).abs() < 1e-15));
//! assert!((log_jac + 2.0 * 3f64.ln()).abs() < 1e-14);
//! let back = Transform::Simplex.unconstrain(&p, 3).unwrap();
//! assert!(back.iter().all(|x| x.abs() < 1e-15));
//! ```

use trellis_ad::Scalar;

/// A bijection from ℝᵐ onto a parameter's support.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Transform {
    /// No constraint: `x = u`, `log|J| = 0`.
    Identity,
    /// Positive: `x = exp(u)`, `log|J| = u` (PyMC's `log__`).
    Log,
    /// `x > lower`: `x = lower + exp(u)`, `log|J| = u`.
    LowerBound(f64),
    /// `x < upper`: `x = upper − exp(u)`, `log|J| = u`.
    UpperBound(f64),
    /// `lower < x < upper`: `x = lower + (upper − lower)·logistic(u)`,
    /// `log|J| = ln(upper − lower) + ln σ(u) + ln σ(−u)` (logit; PyMC's `interval__`).
    Interval {
        /// Lower bound.
        lower: f64,
        /// Upper bound (> lower).
        upper: f64,
    },
    /// Strictly increasing vector: `x₁ = u₁`, `xₖ = xₖ₋₁ + exp(uₖ)`, `log|J| = Σₖ₍ₖ≥₂₎ uₖ`
    /// (Stan's and PyMC's `ordered`).
    Ordered,
    /// A matrix whose column `c` increases strictly down the rows, all other entries free:
    /// `x[0,c] = u[0,c]`, `x[r,c] = x[r−1,c] + exp(u[r,c])`, `log|J| = Σ_(r≥1) u[r,c]`.
    /// Breaks label switching for vector-valued state parameters (one row per state) by
    /// ordering the states along one coordinate only.
    OrderedColumn(usize),
    /// Strictly increasing positive vector: `x₁ = exp(u₁)`, `xₖ = xₖ₋₁ + exp(uₖ)`,
    /// `log|J| = Σₖ uₖ` (Stan's `positive_ordered`).
    PositiveOrdered,
    /// PyMC's simplex transform (the default for simplexes): for `u ∈ ℝ^(K−1)`,
    /// `z = (u₁, …, u_(K−1), −Σu)`, `p = softmax(z)`, `log|J| = ln K + Σₖ ln pₖ`.
    /// Zeros map to the uniform vector. Not stick-breaking.
    Simplex,
    /// Stan's stick-breaking simplex transform: `zₖ = logistic(uₖ − ln(K − k))` (1-based
    /// `k`), `pₖ = zₖ·(1 − Σ_(j<k) pⱼ)`, `p_K` the remainder;
    /// `log|J| = Σₖ ln zₖ + ln(1 − zₖ) + ln(1 − Σ_(j<k) pⱼ)`. Zeros map to the uniform vector.
    StickBreaking,
}

impl Transform {
    /// Whether the transform acts on whole vectors along the last axis (rather than
    /// element by element).
    pub fn is_vector(&self) -> bool {
        matches!(
            self,
            Self::Ordered
                | Self::PositiveOrdered
                | Self::OrderedColumn(_)
                | Self::Simplex
                | Self::StickBreaking
        )
    }

    /// Whether the constrained values lie on the simplex.
    pub fn is_simplex(&self) -> bool {
        matches!(self, Self::Simplex | Self::StickBreaking)
    }

    /// Unconstrained length of one vector of constrained length `k` (`k − 1` for simplexes).
    pub fn unconstrained_len(&self, k: usize) -> usize {
        if self.is_simplex() {
            k.saturating_sub(1)
        } else {
            k
        }
    }

    /// Whether [`Transform::constrain`] writes exact logarithms of the values.
    pub fn provides_logs(&self) -> bool {
        matches!(
            self,
            Self::Log | Self::PositiveOrdered | Self::Simplex | Self::StickBreaking
        ) || matches!(self, Self::Interval { lower, .. } if *lower == 0.0)
    }

    /// PyMC's name for the transformed variable: `name_{suffix}__`; `None` for the identity.
    pub fn pymc_suffix(&self) -> Option<&'static str> {
        match self {
            Self::Identity => None,
            Self::Log => Some("log"),
            Self::LowerBound(_) => Some("lowerbound"),
            Self::UpperBound(_) => Some("upperbound"),
            Self::Interval { .. } => Some("interval"),
            Self::Ordered => Some("ordered"),
            Self::OrderedColumn(_) => Some("ordered_column"),
            Self::PositiveOrdered => Some("positive_ordered"),
            Self::Simplex => Some("simplex"),
            Self::StickBreaking => Some("stickbreaking"),
        }
    }

    /// Checks the transform's own constants; returns why they are invalid.
    pub(crate) fn check(&self) -> Result<(), String> {
        match *self {
            Self::LowerBound(b) | Self::UpperBound(b) if !b.is_finite() => {
                Err(format!("bound must be finite, got {b}"))
            }
            Self::Interval { lower, upper } if !(lower.is_finite() && upper.is_finite()) => Err(
                format!("interval bounds must be finite, got ({lower}, {upper})"),
            ),
            Self::Interval { lower, upper } if upper <= lower => Err(format!(
                "interval upper bound ({upper}) must exceed the lower bound ({lower})"
            )),
            _ => Ok(()),
        }
    }

    /// Maps the unconstrained values `u` of one block to constrained values.
    ///
    /// `k` is the length of the last axis (for vector transforms `u` holds
    /// `values.len() / k` vectors of [`Transform::unconstrained_len`]`(k)` entries; for
    /// elementwise ones `k` is ignored). Writes the values into `values`, their exact
    /// logarithms into `logs` where [`Transform::provides_logs`] (otherwise `logs` is left
    /// as it is), and returns `log|J|`. Lengths are the caller's responsibility (they come
    /// from a [`ParamLayout`](crate::ParamLayout)).
    pub fn constrain<T: Scalar>(&self, u: &[T], k: usize, values: &mut [T], logs: &mut [T]) -> T {
        let zero = T::constant(0.0);
        match *self {
            Self::Identity => {
                values.copy_from_slice(u);
                zero
            }
            Self::Log => {
                for ((x, l), &ui) in values.iter_mut().zip(logs.iter_mut()).zip(u) {
                    *x = ui.exp();
                    *l = ui;
                }
                T::sum_of(u)
            }
            Self::LowerBound(b) => {
                for (x, &ui) in values.iter_mut().zip(u) {
                    *x = ui.exp() + b;
                }
                T::sum_of(u)
            }
            Self::UpperBound(b) => {
                for (x, &ui) in values.iter_mut().zip(u) {
                    *x = -ui.exp() + b;
                }
                T::sum_of(u)
            }
            Self::Interval { lower, upper } => {
                let width = upper - lower;
                let mut lj = zero;
                for ((x, l), &ui) in values.iter_mut().zip(logs.iter_mut()).zip(u) {
                    let ll = ui.log_logistic();
                    *x = ui.logistic() * width + lower;
                    if lower == 0.0 {
                        *l = ll + width.ln();
                    }
                    lj += ll + (-ui).log_logistic();
                }
                lj + width.ln() * u.len() as f64
            }
            Self::Ordered | Self::PositiveOrdered => {
                let positive = *self == Self::PositiveOrdered;
                let mut lj = zero;
                for ((xs, ls), us) in values
                    .chunks_mut(k)
                    .zip(logs.chunks_mut(k))
                    .zip(u.chunks(k))
                {
                    if positive {
                        xs[0] = us[0].exp();
                        ls[0] = us[0];
                        lj += T::sum_of(us);
                    } else {
                        xs[0] = us[0];
                        lj += T::sum_of(&us[1..]);
                    }
                    for i in 1..k {
                        xs[i] = xs[i - 1] + us[i].exp();
                        if positive {
                            // ln(x_(i−1) + e^(u_i)) in log space: exact, one operation.
                            ls[i] = ls[i - 1].log_add_exp(us[i]);
                        }
                    }
                }
                lj
            }
            Self::OrderedColumn(c) => {
                values.copy_from_slice(u);
                let rows = values.len() / k;
                let mut lj = zero;
                for r in 1..rows {
                    let (i, prev) = (r * k + c, (r - 1) * k + c);
                    values[i] = values[prev] + u[i].exp();
                    lj += u[i];
                }
                lj
            }
            Self::Simplex => {
                let m = k - 1;
                let mut lj = zero;
                for (r, (ps, ls)) in values.chunks_mut(k).zip(logs.chunks_mut(k)).enumerate() {
                    let us = &u[r * m..(r + 1) * m];
                    // ls holds z first, then log-softmax(z) = z − lse(z): log p exactly.
                    ls[..m].copy_from_slice(&us[..m]);
                    ls[m] = -T::sum_of(&us[..m]);
                    let lse = T::log_sum_exp(ls);
                    for (p, l) in ps.iter_mut().zip(ls.iter_mut()) {
                        *l -= lse;
                        *p = l.exp();
                    }
                    // ln K + Σ ln pₖ = ln K + Σ zₖ − K·lse = ln K − K·lse, since Σ z = 0.
                    lj += -lse * k as f64 + (k as f64).ln();
                }
                lj
            }
            Self::StickBreaking => {
                let m = k - 1;
                let mut lj = zero;
                for (r, (ps, ls)) in values.chunks_mut(k).zip(logs.chunks_mut(k)).enumerate() {
                    let us = &u[r * m..(r + 1) * m];
                    let mut log_rest = zero;
                    for i in 0..m {
                        let a = us[i] - ((k - 1 - i) as f64).ln();
                        let (log_z, log_1mz) = (a.log_logistic(), (-a).log_logistic());
                        ls[i] = log_rest + log_z;
                        lj += log_rest + log_z + log_1mz;
                        log_rest += log_1mz;
                    }
                    ls[m] = log_rest;
                    for (p, l) in ps.iter_mut().zip(ls.iter()) {
                        *p = l.exp();
                    }
                }
                lj
            }
        }
    }

    /// Maps constrained values `x` of one block back to the unconstrained space (the
    /// inverse of [`Transform::constrain`]), `k` being the length of the last axis.
    ///
    /// On failure returns the index of the offending element within the block and why it is
    /// outside the support. Simplex vectors must have positive entries summing to 1 within
    /// `1e-8`; they are renormalised before mapping.
    pub fn unconstrain(&self, x: &[f64], k: usize) -> Result<Vec<f64>, (usize, String)> {
        if let Some(i) = x.iter().position(|v| !v.is_finite()) {
            return Err((i, "not finite".into()));
        }
        let elementwise = |f: &dyn Fn(f64) -> Option<f64>, what: &str| {
            x.iter()
                .enumerate()
                .map(|(i, &v)| f(v).ok_or_else(|| (i, what.to_string())))
                .collect::<Result<Vec<f64>, _>>()
        };
        match *self {
            Self::Identity => Ok(x.to_vec()),
            Self::Log => elementwise(&|v| (v > 0.0).then(|| v.ln()), "must be positive"),
            Self::LowerBound(b) => elementwise(
                &|v| (v > b).then(|| (v - b).ln()),
                &format!("must exceed the lower bound {b}"),
            ),
            Self::UpperBound(b) => elementwise(
                &|v| (v < b).then(|| (b - v).ln()),
                &format!("must be below the upper bound {b}"),
            ),
            Self::Interval { lower, upper } => elementwise(
                &|v| (v > lower && v < upper).then(|| ((v - lower) / (upper - v)).ln()),
                &format!("must lie strictly inside ({lower}, {upper})"),
            ),
            Self::Ordered | Self::PositiveOrdered => {
                let mut u = Vec::with_capacity(x.len());
                for (r, row) in x.chunks(k).enumerate() {
                    if *self == Self::PositiveOrdered {
                        if row[0] <= 0.0 {
                            return Err((r * k, "must be positive".into()));
                        }
                        u.push(row[0].ln());
                    } else {
                        u.push(row[0]);
                    }
                    for i in 1..k {
                        let gap = row[i] - row[i - 1];
                        if gap <= 0.0 {
                            return Err((
                                r * k + i,
                                format!("must exceed the previous element {}", row[i - 1]),
                            ));
                        }
                        u.push(gap.ln());
                    }
                }
                Ok(u)
            }
            Self::OrderedColumn(c) => {
                let mut u = x.to_vec();
                for r in 1..x.len() / k {
                    let (i, prev) = (r * k + c, (r - 1) * k + c);
                    let gap = x[i] - x[prev];
                    if gap <= 0.0 {
                        return Err((i, format!("must exceed the entry above it, {}", x[prev])));
                    }
                    u[i] = gap.ln();
                }
                Ok(u)
            }
            Self::Simplex | Self::StickBreaking => {
                let mut u = Vec::with_capacity(x.len() / k.max(1) * k.saturating_sub(1));
                for (r, row) in x.chunks(k).enumerate() {
                    if let Some(i) = row.iter().position(|&p| p <= 0.0) {
                        return Err((
                            r * k + i,
                            "simplex entries must be positive (0 is at infinity on the unconstrained space)".into(),
                        ));
                    }
                    let sum: f64 = row.iter().sum();
                    if (sum - 1.0).abs() > 1e-8 {
                        return Err((r * k, format!("simplex entries sum to {sum}, not 1")));
                    }
                    if *self == Self::Simplex {
                        let logs: Vec<f64> = row.iter().map(|p| (p / sum).ln()).collect();
                        let mean = logs.iter().sum::<f64>() / k as f64;
                        u.extend(logs[..k - 1].iter().map(|l| l - mean));
                    } else {
                        let mut rest = 1.0;
                        for (i, &p) in row[..k - 1].iter().enumerate() {
                            let z = (p / sum / rest).min(1.0);
                            u.push((z / (1.0 - z)).ln() + ((k - 1 - i) as f64).ln());
                            rest -= p / sum;
                        }
                    }
                }
                Ok(u)
            }
        }
    }
}
