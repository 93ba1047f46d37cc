//! Draws from a model's prior: constrained parameter vectors (layout order) whose
//! distribution is the prior the layout declares on the support its transforms define, for
//! prior predictive simulation (`trellis simulate --fit DIR --prior`).
//!
//! Element-wise priors are drawn independently per element; a `Dirichlet` per row (from
//! normalised gamma variates); on a bounded support (`LowerBound`, `UpperBound`, `Interval`)
//! by rejection, which is exact for the truncated prior the log-density then is. An ordered
//! transform restricts exchangeable independent elements to the increasing region, whose
//! distribution is that of the sorted draws (the order statistics), so the draws are sorted
//! (`OrderedColumn(c)`: the rows sorted by column `c`).

use rand::{Rng, SeedableRng};
use rand_distr::{Beta, Cauchy, Distribution, Exp, Gamma, LogNormal, Normal, StudentT, Uniform};
use rand_xoshiro::Xoshiro256PlusPlus;

use crate::layout::{ParamLayout, ParamSpec};
use crate::priors::Prior;
use crate::transforms::Transform;

/// Tries per element before a truncated prior is called too narrow to draw from.
const MAX_REJECTIONS: usize = 10_000;

/// Why a prior cannot be drawn from.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PriorDrawError {
    /// The prior is improper (flat) or not a distribution to draw from.
    #[error("parameter '{name}': {reason}")]
    Unsupported {
        /// The parameter.
        name: String,
        /// What is missing.
        reason: String,
    },
}

/// One draw from the prior of every parameter of `layout`, as a constrained vector in layout
/// order ([`ParamLayout::constrained_len`] values).
///
/// # Errors
/// A flat (improper) prior, a masked parameter, or a prior whose mass outside its
/// parameter's support leaves nothing to draw.
pub fn draw<R: Rng + ?Sized>(
    layout: &ParamLayout,
    rng: &mut R,
) -> Result<Vec<f64>, PriorDrawError> {
    let mut out = vec![0.0; layout.constrained_len()];
    for spec in layout.params() {
        let n = spec.shape.len();
        let block = &mut out[spec.constrained_offset..spec.constrained_offset + n];
        draw_param(spec, block, rng)?;
    }
    Ok(out)
}

/// [`draw`] with a Xoshiro256++ generator seeded by `seed` and jumped ahead once (2¹²⁸
/// steps), so that a simulation seeded with the same number uses another stream.
/// Bit-reproducible for `seed`.
///
/// # Errors
/// As [`draw`].
pub fn draw_seeded(layout: &ParamLayout, seed: u64) -> Result<Vec<f64>, PriorDrawError> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    rng.jump();
    draw(layout, &mut rng)
}

fn unsupported(spec: &ParamSpec, reason: impl Into<String>) -> PriorDrawError {
    PriorDrawError::Unsupported {
        name: spec.name.clone(),
        reason: reason.into(),
    }
}

fn draw_param<R: Rng + ?Sized>(
    spec: &ParamSpec,
    out: &mut [f64],
    rng: &mut R,
) -> Result<(), PriorDrawError> {
    if spec.mask.is_some() {
        return Err(unsupported(
            spec,
            "drawing a masked parameter from its prior is not supported",
        ));
    }
    let last = spec.shape.last().max(1);
    match &spec.prior {
        Prior::Dirichlet { alpha } => {
            for (r, row) in out.chunks_mut(last).enumerate() {
                let a = if alpha.len() == last {
                    &alpha[..]
                } else {
                    &alpha[r * last..(r + 1) * last]
                };
                for (x, &ai) in row.iter_mut().zip(a) {
                    *x = Gamma::new(ai, 1.0)
                        .map_err(|e| unsupported(spec, e.to_string()))?
                        .sample(rng);
                }
                let total: f64 = row.iter().sum();
                if total.is_nan() || total <= 0.0 {
                    return Err(unsupported(spec, "Dirichlet draws underflowed to zero"));
                }
                row.iter_mut().for_each(|x| *x /= total);
            }
        }
        Prior::PerElement(priors) => {
            for (x, prior) in out.iter_mut().zip(priors) {
                *x = draw_element(spec, prior, rng)?;
            }
        }
        prior => {
            for x in out.iter_mut() {
                *x = draw_element(spec, prior, rng)?;
            }
        }
    }
    match spec.transform {
        Transform::Ordered | Transform::PositiveOrdered => out.sort_by(f64::total_cmp),
        Transform::OrderedColumn(c) => {
            let mut rows: Vec<Vec<f64>> = out.chunks(last).map(<[f64]>::to_vec).collect();
            rows.sort_by(|a, b| a[c].total_cmp(&b[c]));
            out.copy_from_slice(&rows.concat());
        }
        _ => {}
    }
    Ok(())
}

/// One element from an element-wise `prior`, within the support of `spec`'s transform.
fn draw_element<R: Rng + ?Sized>(
    spec: &ParamSpec,
    prior: &Prior,
    rng: &mut R,
) -> Result<f64, PriorDrawError> {
    let (lower, upper) = match spec.transform {
        Transform::LowerBound(l) => (l, f64::INFINITY),
        Transform::UpperBound(u) => (f64::NEG_INFINITY, u),
        Transform::Interval { lower, upper } => (lower, upper),
        Transform::Log | Transform::PositiveOrdered => (0.0, f64::INFINITY),
        _ => (f64::NEG_INFINITY, f64::INFINITY),
    };
    let bad = |e: &dyn std::fmt::Display| unsupported(spec, e.to_string());
    for _ in 0..MAX_REJECTIONS {
        let x = match *prior {
            Prior::Normal { mu, sigma } => Normal::new(mu, sigma).map_err(|e| bad(&e))?.sample(rng),
            Prior::HalfNormal { sigma } => Normal::new(0.0, sigma)
                .map_err(|e| bad(&e))?
                .sample(rng)
                .abs(),
            Prior::LogNormal { mu, sigma } => {
                LogNormal::new(mu, sigma).map_err(|e| bad(&e))?.sample(rng)
            }
            Prior::Exponential { rate } => Exp::new(rate).map_err(|e| bad(&e))?.sample(rng),
            Prior::Gamma { shape, rate } => Gamma::new(shape, 1.0 / rate)
                .map_err(|e| bad(&e))?
                .sample(rng),
            Prior::Beta { alpha, beta } => Beta::new(alpha, beta).map_err(|e| bad(&e))?.sample(rng),
            Prior::Uniform { lower, upper } => {
                Uniform::new(lower, upper).map_err(|e| bad(&e))?.sample(rng)
            }
            Prior::StudentT { nu, mu, sigma } => {
                mu + sigma * StudentT::new(nu).map_err(|e| bad(&e))?.sample(rng)
            }
            Prior::Cauchy { loc, scale } => {
                Cauchy::new(loc, scale).map_err(|e| bad(&e))?.sample(rng)
            }
            Prior::HalfCauchy { scale } => Cauchy::new(0.0, scale)
                .map_err(|e| bad(&e))?
                .sample(rng)
                .abs(),
            Prior::Flat => {
                return Err(unsupported(
                    spec,
                    "a flat prior is improper: there is nothing to draw from",
                ))
            }
            Prior::Dirichlet { .. } | Prior::PerElement(_) => {
                return Err(unsupported(spec, "not an element-wise prior"))
            }
        };
        // Strictly inside: the transforms' supports are open.
        if x > lower && x < upper {
            return Ok(x);
        }
    }
    Err(unsupported(
        spec,
        format!(
            "{MAX_REJECTIONS} prior draws in a row fell outside the support ({lower}, {upper})"
        ),
    ))
}
