//! Every differentiable operation of `Scalar`: forward mode = reverse mode = finite differences.
//!
//! Tolerances: `check_gradient` compares reverse with forward mode at ~1e-12 relative (both
//! exact up to rounding) and reverse with a fourth-order central difference at 1e-6 relative
//! plus the difference quotient's own rounding noise. Domains keep each function at least
//! 0.05 away from singularities, where the O(h⁴) truncation error of the stencil (h = 1e-3)
//! stays far below 1e-6 relative.

use proptest::prelude::*;
use trellis_ad::{Scalar, ScalarFn};

use crate::modes;
use modes::check;

#[derive(Debug, Clone, Copy)]
enum Unary {
    Neg,
    Exp,
    Exp2,
    Ln,
    Log2,
    Log10,
    Ln1p,
    ExpM1,
    Sqrt,
    Cbrt,
    Recip,
    Powi3,
    PowiNeg2,
    Sin,
    Cos,
    Tan,
    Asin,
    Acos,
    Atan,
    Sinh,
    Cosh,
    Tanh,
    Asinh,
    Acosh,
    Atanh,
    Abs,
    Softplus,
    Logistic,
    LogLogistic,
    LnGamma,
    Digamma,
    Trigamma,
    Erf,
    Erfc,
    NormCdf,
    LogNormCdf,
    AddConst,
    SubConst,
    MulConst,
    DivConst,
    ConstSub,
    ConstDiv,
    ToDegrees,
    Fract,
}

const UNARY: &[Unary] = &[
    Unary::Neg,
    Unary::Exp,
    Unary::Exp2,
    Unary::Ln,
    Unary::Log2,
    Unary::Log10,
    Unary::Ln1p,
    Unary::ExpM1,
    Unary::Sqrt,
    Unary::Cbrt,
    Unary::Recip,
    Unary::Powi3,
    Unary::PowiNeg2,
    Unary::Sin,
    Unary::Cos,
    Unary::Tan,
    Unary::Asin,
    Unary::Acos,
    Unary::Atan,
    Unary::Sinh,
    Unary::Cosh,
    Unary::Tanh,
    Unary::Asinh,
    Unary::Acosh,
    Unary::Atanh,
    Unary::Abs,
    Unary::Softplus,
    Unary::Logistic,
    Unary::LogLogistic,
    Unary::LnGamma,
    Unary::Digamma,
    Unary::Trigamma,
    Unary::Erf,
    Unary::Erfc,
    Unary::NormCdf,
    Unary::LogNormCdf,
    Unary::AddConst,
    Unary::SubConst,
    Unary::MulConst,
    Unary::DivConst,
    Unary::ConstSub,
    Unary::ConstDiv,
    Unary::ToDegrees,
    Unary::Fract,
];

impl Unary {
    /// Maps `u ∈ [0, 1)` into the part of the domain where the check is meaningful.
    fn point(self, u: f64) -> f64 {
        let between = |lo: f64, hi: f64| lo + (hi - lo) * u;
        match self {
            Unary::Ln | Unary::Log2 | Unary::Log10 | Unary::Sqrt | Unary::Recip => {
                10f64.powf(between(-1.3, 2.0))
            }
            Unary::Cbrt => {
                let m = 10f64.powf(between(-1.0, 2.0));
                if u < 0.5 {
                    -m
                } else {
                    m
                }
            }
            Unary::PowiNeg2 | Unary::ConstDiv => 10f64.powf(between(-1.0, 1.0)),
            Unary::Ln1p => between(-0.9, 50.0),
            Unary::Tan => between(-1.4, 1.4),
            Unary::Asin | Unary::Acos | Unary::Atanh => between(-0.95, 0.95),
            Unary::Acosh => between(1.05, 20.0),
            Unary::Exp | Unary::Exp2 | Unary::ExpM1 | Unary::Sinh | Unary::Cosh => {
                between(-20.0, 20.0)
            }
            Unary::LnGamma | Unary::Digamma | Unary::Trigamma => 10f64.powf(between(-1.0, 3.0)),
            Unary::Abs => {
                // Away from the kink at 0.
                let m = 10f64.powf(between(-1.0, 1.0));
                if u < 0.5 {
                    -m
                } else {
                    m
                }
            }
            Unary::LogNormCdf => between(-30.0, 6.0),
            Unary::Erfc | Unary::NormCdf | Unary::Erf => between(-5.0, 5.0),
            Unary::Fract => between(0.05, 0.95) + 3.0,
            _ => between(-10.0, 10.0),
        }
    }

    fn apply<T: Scalar>(self, x: T) -> T {
        match self {
            Unary::Neg => -x,
            Unary::Exp => x.exp(),
            Unary::Exp2 => x.exp2(),
            Unary::Ln => x.ln(),
            Unary::Log2 => x.log2(),
            Unary::Log10 => x.log10(),
            Unary::Ln1p => x.ln_1p(),
            Unary::ExpM1 => x.exp_m1(),
            Unary::Sqrt => x.sqrt(),
            Unary::Cbrt => x.cbrt(),
            Unary::Recip => x.recip(),
            Unary::Powi3 => x.powi(3),
            Unary::PowiNeg2 => x.powi(-2),
            Unary::Sin => x.sin(),
            Unary::Cos => x.cos(),
            Unary::Tan => x.tan(),
            Unary::Asin => x.asin(),
            Unary::Acos => x.acos(),
            Unary::Atan => x.atan(),
            Unary::Sinh => x.sinh(),
            Unary::Cosh => x.cosh(),
            Unary::Tanh => x.tanh(),
            Unary::Asinh => x.asinh(),
            Unary::Acosh => x.acosh(),
            Unary::Atanh => x.atanh(),
            Unary::Abs => x.abs(),
            Unary::Softplus => x.softplus(),
            Unary::Logistic => x.logistic(),
            Unary::LogLogistic => x.log_logistic(),
            Unary::LnGamma => x.ln_gamma(),
            Unary::Digamma => x.digamma(),
            Unary::Trigamma => x.polygamma(1),
            Unary::Erf => x.erf(),
            Unary::Erfc => x.erfc(),
            Unary::NormCdf => x.norm_cdf(),
            Unary::LogNormCdf => x.log_norm_cdf(),
            Unary::AddConst => x + 2.5,
            Unary::SubConst => x - 2.5,
            Unary::MulConst => x * -1.5,
            Unary::DivConst => x / 4.0,
            Unary::ConstSub => T::constant(2.5) - x,
            Unary::ConstDiv => T::constant(3.0) / x,
            Unary::ToDegrees => x.to_degrees(),
            Unary::Fract => x.fract(),
        }
    }
}

struct UnaryFn(Unary);
impl ScalarFn for UnaryFn {
    fn eval<T: Scalar>(&self, x: &[T]) -> T {
        self.0.apply(x[0])
    }
}

#[derive(Debug, Clone, Copy)]
enum Binary {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Powf,
    Atan2,
    Hypot,
    LogAddExp,
    Max,
    Min,
    Log,
}

const BINARY: &[Binary] = &[
    Binary::Add,
    Binary::Sub,
    Binary::Mul,
    Binary::Div,
    Binary::Rem,
    Binary::Powf,
    Binary::Atan2,
    Binary::Hypot,
    Binary::LogAddExp,
    Binary::Max,
    Binary::Min,
    Binary::Log,
];

impl Binary {
    fn points(self, u: f64, v: f64) -> Option<(f64, f64)> {
        let a = -10.0 + 20.0 * u;
        let b = -10.0 + 20.0 * v;
        match self {
            Binary::Div => Some((a, 0.2 + 10.0 * v)),
            Binary::Powf => Some((0.1 + 5.0 * u, -3.0 + 6.0 * v)),
            Binary::Log => Some((0.1 + 50.0 * u, 1.5 + 10.0 * v)),
            Binary::Rem => {
                // Away from the jumps of a % b, where a / b is an integer: the stencil moves
                // b by up to 2h = 2e-3, which moves a / b by at most 0.024 here.
                let (a, b) = (-3.0 + 6.0 * u, 0.5 + 3.0 * v);
                let frac = (a / b).fract().abs();
                (frac > 0.05 && frac < 0.95).then_some((a, b))
            }
            // Away from the kink of max/min at a tie.
            Binary::Max | Binary::Min => ((a - b).abs() > 0.01).then_some((a, b)),
            Binary::Hypot => ((a * a + b * b) > 0.01).then_some((a, b)),
            // Away from the origin and from atan2's branch cut (y = 0, x < 0).
            Binary::Atan2 => {
                ((a * a + b * b) > 0.01 && (b > 0.0 || a.abs() > 0.1)).then_some((a, b))
            }
            _ => Some((a, b)),
        }
    }

    fn apply<T: Scalar>(self, a: T, b: T) -> T {
        match self {
            Binary::Add => a + b,
            Binary::Sub => a - b,
            Binary::Mul => a * b,
            Binary::Div => a / b,
            Binary::Rem => a % b,
            Binary::Powf => a.powf(b),
            Binary::Atan2 => a.atan2(b),
            Binary::Hypot => a.hypot(b),
            Binary::LogAddExp => a.log_add_exp(b),
            Binary::Max => a.max(b),
            Binary::Min => a.min(b),
            Binary::Log => a.log(b),
        }
    }
}

struct BinaryFn(Binary);
impl ScalarFn for BinaryFn {
    fn eval<T: Scalar>(&self, x: &[T]) -> T {
        self.0.apply(x[0], x[1])
    }
}

/// The n-ary fused operations, each against the same computation written with binary ops.
#[derive(Debug, Clone, Copy)]
enum Nary {
    LogSumExp,
    SumOf,
    Dot,
    WeightedSum,
    SumOfSquares,
    SumLogLogistic,
    LogSumExpOfSums,
    NormalLnPdf,
}

struct NaryFn(Nary);
impl ScalarFn for NaryFn {
    fn eval<T: Scalar>(&self, x: &[T]) -> T {
        let half = x.len() / 2;
        match self.0 {
            Nary::LogSumExp => T::log_sum_exp(x),
            Nary::SumOf => T::sum_of(x),
            Nary::Dot => T::dot(&x[..half], &x[half..2 * half]),
            Nary::WeightedSum => {
                let w: Vec<f64> = (0..x.len()).map(|i| i as f64 - 1.5).collect();
                T::weighted_sum(x, &w)
            }
            Nary::SumOfSquares => T::sum_of_squares(x),
            Nary::SumLogLogistic => T::sum_log_logistic(x),
            // Each entry in two sums (with the reversed slice): never empty.
            Nary::LogSumExpOfSums => {
                let reversed: Vec<T> = x.iter().rev().copied().collect();
                T::log_sum_exp_of_sums(x, &reversed)
            }
            // The standard deviation kept in [e⁻³, e³] over the domain.
            Nary::NormalLnPdf => T::normal_ln_pdf(0.7, x[0], (x[x.len() - 1] * 0.1).exp()),
        }
    }
}

/// Compositions that models actually contain.
struct Compositions;
impl ScalarFn for Compositions {
    fn eval<T: Scalar>(&self, x: &[T]) -> T {
        let (mu, log_sigma, a, b) = (x[0], x[1], x[2], x[3]);
        let sigma = log_sigma.exp();
        // Normal log-density of two observations.
        let z1 = (T::constant(0.3) - mu) / sigma;
        let z2 = (T::constant(-1.2) - mu) / sigma;
        let normal = -(z1 * z1 + z2 * z2) * 0.5 - log_sigma * 2.0;
        // Gamma log-density with shape softplus(a) at rate exp(b), at 1.7.
        let shape = a.softplus() + 0.1;
        let rate = b.exp();
        let gamma = shape * rate.ln() - shape.ln_gamma() + (shape - 1.0) * 1.7f64.ln() - rate * 1.7;
        // Logistic regression term and a mixture via log_sum_exp.
        let eta = mu * a - b;
        let mix = T::log_sum_exp(&[eta.log_logistic(), (-eta).log_logistic() + a.tanh()]);
        normal + gamma + mix + (a * b).sin() * sigma.sqrt()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Each case checks every unary function once, so each gets 256 random points.
    #[test]
    fn unary_functions_agree(u in 0.0f64..1.0) {
        for &op in UNARY {
            check(&UnaryFn(op), &[op.point(u)]).map_err(|e| TestCaseError::fail(format!("{op:?}: {e}")))?;
        }
    }

    #[test]
    fn binary_functions_agree(u in 0.0f64..1.0, v in 0.0f64..1.0) {
        for &op in BINARY {
            if let Some((a, b)) = op.points(u, v) {
                check(&BinaryFn(op), &[a, b]).map_err(|e| TestCaseError::fail(format!("{op:?}: {e}")))?;
            }
        }
    }

    #[test]
    fn nary_functions_agree(x in proptest::collection::vec(-30.0f64..30.0, 1..12)) {
        for op in [
            Nary::LogSumExp,
            Nary::SumOf,
            Nary::Dot,
            Nary::WeightedSum,
            Nary::SumOfSquares,
            Nary::SumLogLogistic,
            Nary::LogSumExpOfSums,
            Nary::NormalLnPdf,
        ] {
            check(&NaryFn(op), &x).map_err(|e| TestCaseError::fail(format!("{op:?}: {e}")))?;
        }
    }

    #[test]
    fn compositions_agree(x in proptest::collection::vec(-2.0f64..2.0, 4)) {
        check(&Compositions, &x)?;
    }

    /// The fused n-ary nodes give the same gradient as the same sums written with binary ops.
    #[test]
    fn fused_nodes_match_binary_chains(x in proptest::collection::vec(-30.0f64..30.0, 2..10)) {
        struct Chained;
        impl ScalarFn for Chained {
            fn eval<T: Scalar>(&self, x: &[T]) -> T {
                let mut acc = x[0];
                for &xi in &x[1..] {
                    acc = acc.log_add_exp(xi);
                }
                acc
            }
        }
        let fused = trellis_ad::reverse::gradient(&NaryFn(Nary::LogSumExp), &x);
        let chained = trellis_ad::reverse::gradient(&Chained, &x);
        for (a, b) in fused.iter().zip(&chained) {
            prop_assert!((a - b).abs() <= 1e-12, "{a} vs {b}");
        }
    }
}
