//! Declarative priors attached to the parameters of a [`ParamLayout`](crate::ParamLayout).
//!
//! A [`Prior`] has constant hyperparameters and applies element by element (independent and
//! identically distributed), except [`Prior::Dirichlet`], which applies to each vector along
//! the last axis (each row of a transition matrix, with one concentration vector per row if
//! wanted), and [`Prior::PerElement`], which gives each element its own prior (Stan's
//! `mu[1] ~ normal(0, 1); mu[2] ~ normal(3, 1)`), e.g. [`Prior::normal_each`]. Priors whose
//! hyperparameters are other parameters (hierarchical models) are written in
//! [`BayesianModel::extra_log_prior`](crate::BayesianModel::extra_log_prior) with the
//! functions of [`distributions`](crate::distributions) instead; that term is added to the
//! declared priors, never substituted for them.
//!
//! ```
//! use trellis_models::{ParamLayout, Prior, Shape, Transform};
//! let prior = Prior::normal_each(&[0.0, 3.0], &[1.0, 1.0]);
//! let mut layout = ParamLayout::new();
//! layout.declare("mu", Shape::Vector(2), Transform::Ordered, prior)?;
//! let mut buffer = Vec::new();
//! let params = layout.params_from_constrained(&[0.0, 3.0], &mut buffer)?;
//! // Both elements at their prior means: 2 × ln N(0; 0, 1).
//! let expected = -2.0 * 0.5 * (2.0 * std::f64::consts::PI).ln();
//! assert!((layout.log_prior(&params, 0) - expected).abs() < 1e-12);
//! // One prior per element: a vector of the wrong length is refused.
//! let err = ParamLayout::new()
//!     .add_with_prior("x", Shape::Vector(3), Transform::Identity, Prior::normal_each(&[0.0], &[1.0]))
//!     .unwrap_err();
//! assert!(err.to_string().contains("3 elements"));
//! # Ok::<(), trellis_models::LayoutError>(())
//! ```

use trellis_ad::Scalar;

use crate::distributions as d;
use crate::transforms::Transform;

/// A prior distribution with constant hyperparameters (PyMC's parameterisations).
#[derive(Debug, Clone, PartialEq)]
pub enum Prior {
    /// Improper flat prior: log-density 0 everywhere on the transform's support.
    Flat,
    /// `Normal(mu, sigma)`.
    Normal {
        /// Mean.
        mu: f64,
        /// Standard deviation (> 0).
        sigma: f64,
    },
    /// `HalfNormal(sigma)` on `[0, ∞)`.
    HalfNormal {
        /// Scale (> 0).
        sigma: f64,
    },
    /// `LogNormal(mu, sigma)`: `ln x ~ Normal(mu, sigma)`.
    LogNormal {
        /// Mean of `ln x`.
        mu: f64,
        /// Standard deviation of `ln x` (> 0).
        sigma: f64,
    },
    /// `Exponential(rate)`.
    Exponential {
        /// Rate `λ` (> 0); the mean is `1/λ`.
        rate: f64,
    },
    /// `Gamma(shape, rate)`; the mean is `shape / rate`.
    Gamma {
        /// Shape `α` (> 0).
        shape: f64,
        /// Rate `β` (> 0).
        rate: f64,
    },
    /// `Beta(alpha, beta)` on `[0, 1]`.
    Beta {
        /// First concentration (> 0).
        alpha: f64,
        /// Second concentration (> 0).
        beta: f64,
    },
    /// `Uniform(lower, upper)`.
    Uniform {
        /// Lower bound.
        lower: f64,
        /// Upper bound (> lower).
        upper: f64,
    },
    /// `StudentT(nu, mu, sigma)`.
    StudentT {
        /// Degrees of freedom (> 0).
        nu: f64,
        /// Location.
        mu: f64,
        /// Scale (> 0).
        sigma: f64,
    },
    /// `Cauchy(loc, scale)`.
    Cauchy {
        /// Location.
        loc: f64,
        /// Scale (> 0).
        scale: f64,
    },
    /// `HalfCauchy(scale)` on `[0, ∞)`.
    HalfCauchy {
        /// Scale (> 0).
        scale: f64,
    },
    /// `Dirichlet(alpha)` on each vector along the last axis. `alpha` has either `K` entries
    /// (shared by every row) or `rows · K` entries, row-major (one concentration vector per
    /// row, e.g. a sticky transition matrix); see [`Prior::dirichlet_rows`].
    Dirichlet {
        /// Concentrations (> 0).
        alpha: Vec<f64>,
    },
    /// One element-wise prior per element of the parameter (row-major), each with its own
    /// hyperparameters: vector-valued hyperparameters for every element-wise prior. The
    /// entries may not be Dirichlet or `PerElement` themselves; the parameter's default
    /// transform is that of the first entry (the entries should share a support).
    PerElement(Vec<Prior>),
}

impl Prior {
    /// `Dirichlet(1, …, 1)`: uniform on the simplex of dimension `k`.
    pub fn uniform_simplex(k: usize) -> Self {
        Self::Dirichlet {
            alpha: vec![1.0; k],
        }
    }

    /// `Normal(mu[i], sigma[i])` on element `i` ([`Prior::PerElement`]).
    ///
    /// # Panics
    /// If `mu` and `sigma` differ in length (a caller's bug, not input).
    pub fn normal_each(mu: &[f64], sigma: &[f64]) -> Self {
        assert_eq!(
            mu.len(),
            sigma.len(),
            "Prior::normal_each: mu and sigma differ in length"
        );
        Self::PerElement(
            mu.iter()
                .zip(sigma)
                .map(|(&mu, &sigma)| Self::Normal { mu, sigma })
                .collect(),
        )
    }

    /// `HalfNormal(sigma[i])` on element `i` ([`Prior::PerElement`]).
    pub fn half_normal_each(sigma: &[f64]) -> Self {
        Self::PerElement(
            sigma
                .iter()
                .map(|&sigma| Self::HalfNormal { sigma })
                .collect(),
        )
    }

    /// `Gamma(shape[i], rate[i])` on element `i` ([`Prior::PerElement`]).
    ///
    /// # Panics
    /// If `shape` and `rate` differ in length.
    pub fn gamma_each(shape: &[f64], rate: &[f64]) -> Self {
        assert_eq!(
            shape.len(),
            rate.len(),
            "Prior::gamma_each: shape and rate differ in length"
        );
        Self::PerElement(
            shape
                .iter()
                .zip(rate)
                .map(|(&shape, &rate)| Self::Gamma { shape, rate })
                .collect(),
        )
    }

    /// A Dirichlet prior with one concentration vector per row of a matrix parameter.
    ///
    /// ```
    /// use trellis_models::Prior;
    /// // A "sticky" 2-state transition matrix: mass on the diagonal.
    /// let prior = Prior::dirichlet_rows(&[vec![10.0, 1.0], vec![1.0, 10.0]]);
    /// assert_eq!(prior, Prior::Dirichlet { alpha: vec![10.0, 1.0, 1.0, 10.0] });
    /// ```
    pub fn dirichlet_rows(rows: &[Vec<f64>]) -> Self {
        Self::Dirichlet {
            alpha: rows.iter().flatten().copied().collect(),
        }
    }

    /// The transform PyMC would pick for this prior: log for positive distributions,
    /// interval (logit) for Beta and Uniform, simplex for Dirichlet, identity otherwise.
    pub fn default_transform(&self) -> Transform {
        match self {
            Self::Flat | Self::Normal { .. } | Self::StudentT { .. } | Self::Cauchy { .. } => {
                Transform::Identity
            }
            Self::HalfNormal { .. }
            | Self::LogNormal { .. }
            | Self::Exponential { .. }
            | Self::Gamma { .. }
            | Self::HalfCauchy { .. } => Transform::Log,
            Self::Beta { .. } => Transform::Interval {
                lower: 0.0,
                upper: 1.0,
            },
            Self::Uniform { lower, upper } => Transform::Interval {
                lower: *lower,
                upper: *upper,
            },
            Self::Dirichlet { .. } => Transform::Simplex,
            Self::PerElement(priors) => priors
                .first()
                .map_or(Transform::Identity, Prior::default_transform),
        }
    }

    /// Checks the hyperparameters, and for a Dirichlet its length against a parameter whose
    /// last axis has `last` entries and that has `rows` vectors along it. Returns why not.
    pub(crate) fn check(&self, rows: usize, last: usize) -> Result<(), String> {
        let pos = |name: &str, v: f64| {
            if v > 0.0 && v.is_finite() {
                Ok(())
            } else {
                Err(format!("{name} must be positive and finite, got {v}"))
            }
        };
        let fin = |name: &str, v: f64| {
            if v.is_finite() {
                Ok(())
            } else {
                Err(format!("{name} must be finite, got {v}"))
            }
        };
        match self {
            Self::Flat => Ok(()),
            Self::Normal { mu, sigma } | Self::LogNormal { mu, sigma } => {
                fin("mu", *mu)?;
                pos("sigma", *sigma)
            }
            Self::HalfNormal { sigma } => pos("sigma", *sigma),
            Self::Exponential { rate } => pos("rate", *rate),
            Self::Gamma { shape, rate } => {
                pos("shape", *shape)?;
                pos("rate", *rate)
            }
            Self::Beta { alpha, beta } => {
                pos("alpha", *alpha)?;
                pos("beta", *beta)
            }
            Self::Uniform { lower, upper } => {
                fin("lower", *lower)?;
                fin("upper", *upper)?;
                if upper > lower {
                    Ok(())
                } else {
                    Err(format!("upper ({upper}) must exceed lower ({lower})"))
                }
            }
            Self::StudentT { nu, mu, sigma } => {
                pos("nu", *nu)?;
                fin("mu", *mu)?;
                pos("sigma", *sigma)
            }
            Self::Cauchy { loc, scale } => {
                fin("loc", *loc)?;
                pos("scale", *scale)
            }
            Self::HalfCauchy { scale } => pos("scale", *scale),
            Self::Dirichlet { alpha } => {
                for (i, &a) in alpha.iter().enumerate() {
                    pos(&format!("alpha[{i}]"), a)?;
                }
                if alpha.len() == last || alpha.len() == rows * last {
                    Ok(())
                } else {
                    Err(format!(
                        "Dirichlet alpha has {} entries; expected {last} (shared by every row) or {} ({rows} rows of {last})",
                        alpha.len(),
                        rows * last
                    ))
                }
            }
            Self::PerElement(priors) => {
                let n = rows * last;
                if priors.len() != n {
                    return Err(format!(
                        "a per-element prior has {} entries; the parameter has {n} elements",
                        priors.len()
                    ));
                }
                for (i, p) in priors.iter().enumerate() {
                    if matches!(p, Self::Dirichlet { .. } | Self::PerElement(_)) {
                        return Err(format!(
                            "per-element prior {i} must be element-wise, not {p:?}"
                        ));
                    }
                    p.check(1, 1)
                        .map_err(|e| format!("per-element prior {i}: {e}"))?;
                }
                Ok(())
            }
        }
    }

    /// Log prior density of the entries of `values` flagged `true` in `free` (an
    /// element-wise prior; a parameter with fixed zeros). Not for Dirichlet priors.
    pub(crate) fn log_density_of_free<T: Scalar>(&self, values: &[T], free: &[bool]) -> T {
        trellis_ad::scratch::with_vec(|sub: &mut Vec<T>| {
            sub.clear();
            if let Self::PerElement(priors) = self {
                // Each free element with its own prior.
                let mut lp = T::constant(0.0);
                for ((x, &f), p) in values.iter().zip(free).zip(priors) {
                    if f {
                        lp += p.log_density(std::slice::from_ref(x), None, 1);
                    }
                }
                return lp;
            }
            sub.extend(values.iter().zip(free).filter(|(_, &f)| f).map(|(&v, _)| v));
            self.log_density(sub, None, 1)
        })
    }

    /// Log prior density of a parameter block: `values` are the constrained values, `logs`
    /// their exact logarithms when the transform provides them (used by the positive and
    /// simplex distributions so underflow stays exact), `last` the length of the last axis.
    pub(crate) fn log_density<T: Scalar>(
        &self,
        values: &[T],
        logs: Option<&[T]>,
        last: usize,
    ) -> T {
        let c = T::constant;
        let ln = |i: usize| match logs {
            Some(l) => l[i],
            None => values[i].ln(),
        };
        let each = |f: &dyn Fn(usize, T) -> T| -> T {
            let mut lp = T::constant(0.0);
            for (i, &x) in values.iter().enumerate() {
                lp += f(i, x);
            }
            lp
        };
        match self {
            Self::Flat => c(0.0),
            Self::Normal { mu, sigma } => each(&|_, x| d::normal_lpdf(x, c(*mu), c(*sigma))),
            Self::HalfNormal { sigma } => each(&|_, x| d::half_normal_lpdf(x, c(*sigma))),
            Self::LogNormal { mu, sigma } => each(&|i, x| {
                if x.value() > 0.0 {
                    d::lognormal_lpdf_with_log(ln(i), c(*mu), c(*sigma))
                } else {
                    c(f64::NEG_INFINITY)
                }
            }),
            Self::Exponential { rate } => each(&|_, x| d::exponential_lpdf(x, c(*rate))),
            Self::Gamma { shape, rate } => each(&|i, x| {
                if x.value() >= 0.0 {
                    d::gamma_lpdf_with_log(x, ln(i), c(*shape), c(*rate))
                } else {
                    c(f64::NEG_INFINITY)
                }
            }),
            Self::Beta { alpha, beta } => each(&|_, x| d::beta_lpdf(x, c(*alpha), c(*beta))),
            Self::Uniform { lower, upper } => {
                each(&|_, x| d::uniform_lpdf(x, c(*lower), c(*upper)))
            }
            Self::StudentT { nu, mu, sigma } => {
                each(&|_, x| d::student_t_lpdf(x, c(*nu), c(*mu), c(*sigma)))
            }
            Self::Cauchy { loc, scale } => each(&|_, x| d::cauchy_lpdf(x, c(*loc), c(*scale))),
            Self::HalfCauchy { scale } => each(&|_, x| d::half_cauchy_lpdf(x, c(*scale))),
            Self::Dirichlet { alpha } => {
                let mut lp = T::constant(0.0);
                for (r, row) in values.chunks(last).enumerate() {
                    let a = if alpha.len() == last {
                        &alpha[..]
                    } else {
                        &alpha[r * last..(r + 1) * last]
                    };
                    lp += match logs {
                        Some(l) => d::dirichlet_lpdf_log(&l[r * last..(r + 1) * last], a),
                        None => d::dirichlet_lpdf(row, a),
                    };
                }
                lp
            }
            Self::PerElement(priors) => {
                let mut lp = T::constant(0.0);
                for (i, (x, p)) in values.iter().zip(priors).enumerate() {
                    let log = logs.map(|l| std::slice::from_ref(&l[i]));
                    lp += p.log_density(std::slice::from_ref(x), log, 1);
                }
                lp
            }
        }
    }
}
