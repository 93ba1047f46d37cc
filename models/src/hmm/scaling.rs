//! The numerics of the scaled forward recursion: the thresholds it decides by, what it
//! needs to know about `π` and `P` ([`Flags`]), the bound on the probability mass lost to
//! underflow ([`LostMass`]), and the exact power-of-two normaliser.
//!
//! Every decision here is taken from plain values (never derivatives), so every instance of
//! the recursion ([`super::recursion`]) — values, duals, the fused adjoint — decides alike.

/// A step whose weights (shifted by the largest log-density) sum to less than this is
/// recomputed with the shift of its largest predicted-times-emission weight.
pub(crate) const SMALL: f64 = 1e-100;

/// A filtered probability below this is set to zero (and counted by [`LostMass`]): it is far
/// beyond any effect on the value, and in generic reverse-mode code its adjoint (≈ 1 / it)
/// would overflow.
pub(crate) const NEGLIGIBLE: f64 = 1e-300;

/// With an initial or transition probability in `(0, TINY_PROBABILITY)`, the generic code
/// runs in log space (every instance of the recursion alike): in generic reverse mode the
/// adjoint of such a shared probability (≈ T / it) could overflow.
pub(crate) const TINY_PROBABILITY: f64 = 1e-150;

/// What the recursion needs to know about `π` and `P` beyond their values, computed once
/// per evaluation from plain values (so every instance of the recursion decides alike).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Flags {
    /// `max(1, max π, max row sum of P)`: the `R` of [`LostMass`].
    pub(crate) r: f64,
    /// A finite log initial probability whose probability under- or flowed.
    pub(crate) pi_underflow: bool,
    /// A finite log transition probability whose probability under- or flowed.
    pub(crate) p_underflow: bool,
    /// A probability in `(0, TINY_PROBABILITY)`: run in log space.
    pub(crate) tiny: bool,
    /// The smallest positive transition probability (`inf` if none).
    pub(crate) p_min: f64,
    /// Whether some transition probability is zero.
    pub(crate) p_has_zero: bool,
    /// A predicted weight could overflow (`2 K R ≥ 1e300`): then even `f64` must cut exact
    /// zeros, as `0 × ∞` would be NaN.
    pub(crate) huge: bool,
}

impl Flags {
    /// Above this, no forward weight `a = pred · e` can hide an underflowed density `e`
    /// (`pred ≤ 2R`), so a step whose weights all exceed it has lost nothing there.
    #[inline]
    pub(crate) fn lost_threshold(&self) -> f64 {
        f64::MIN_POSITIVE * 4.0 * self.r
    }

    /// From the values of `log_init`, `log_trans`, `π = exp(log_init)`, `P = exp(log_trans)`,
    /// where `log_trans` holds `matrices` transition matrices of `K × K` one after another
    /// (one for every step, or one per step): the flags summarise all of them.
    pub(crate) fn new(
        k: usize,
        matrices: usize,
        log_init: impl Fn(usize) -> f64,
        log_trans: impl Fn(usize) -> f64,
        pi: impl Fn(usize) -> f64,
        p: impl Fn(usize) -> f64,
    ) -> Self {
        let underflow = |l: f64, x: f64| x < f64::MIN_POSITIVE && l != f64::NEG_INFINITY;
        let tiny = |x: f64| x > 0.0 && x < TINY_PROBABILITY;
        let mut flags = Self {
            r: 1.0,
            pi_underflow: false,
            p_underflow: false,
            tiny: false,
            p_min: f64::INFINITY,
            p_has_zero: false,
            huge: false,
        };
        for i in 0..k {
            let x = pi(i);
            flags.r = flags.r.max(x);
            flags.pi_underflow |= underflow(log_init(i), x);
            flags.tiny |= tiny(x);
        }
        for i in 0..matrices * k {
            let mut row = 0.0;
            for j in 0..k {
                let x = p(i * k + j);
                row += x;
                flags.p_underflow |= underflow(log_trans(i * k + j), x);
                flags.tiny |= tiny(x);
                if x > 0.0 {
                    flags.p_min = flags.p_min.min(x);
                } else {
                    flags.p_has_zero = true;
                }
            }
            flags.r = flags.r.max(row);
        }
        // A predicted weight is below 2 K R (the normalised weights sum to less than 2).
        flags.huge = 2.0 * (k as f64) * flags.r >= 1e300; // `r` is never NaN
        flags
    }
}

impl Flags {
    /// The flags with transition probabilities known only by a summary (of probabilities that
    /// are never exact zeros but may underflow): the smallest positive one, whether one
    /// underflowed to 0, the largest row sum. As [`Flags::new`] would find for them.
    pub(crate) fn with_transitions(
        mut self,
        k: usize,
        min_positive: f64,
        any_zero: bool,
        max_row_sum: f64,
    ) -> Self {
        self.r = self.r.max(max_row_sum);
        self.p_underflow |= any_zero || min_positive < f64::MIN_POSITIVE;
        self.tiny |= min_positive < TINY_PROBABILITY;
        self.p_min = self.p_min.min(min_positive);
        self.p_has_zero |= any_zero;
        self.huge = 2.0 * (k as f64) * self.r >= 1e300;
        self
    }
}

/// The maximum of `ℓ[t][·]` as a plain value (the shift of step `t`).
#[inline]
pub(crate) fn row_max(row: impl Iterator<Item = f64>) -> f64 {
    let mut m = f64::NEG_INFINITY;
    for v in row {
        if v > m {
            m = v;
        }
    }
    m
}

/// Above this bound on the relative probability mass lost to underflow, a sequence is
/// recomputed in log space. The log-likelihood's error is at most about this much.
pub(crate) const LOST_MASS_TOLERANCE: f64 = 1e-13;

/// A rigorous upper bound on the probability mass the scaled recursion has lost to
/// underflow, relative to the mass it tracks.
///
/// Probability space cannot represent a state whose weight is below ~1e-308 of the step's
/// largest; such a state is dropped. That is harmless unless later evidence amplifies the
/// dropped paths by ~1e300 relative to the tracked ones, which the bound detects: dropped
/// mass `D` (relative to the tracked forward weights) grows per step by at most
/// `2 R · G / c`, where `R` bounds the row sums of `P` (and `π`), `G = exp(max ℓ − shift)`
/// bounds the shifted emission densities and `c` is the step's tracked normaliser, and each
/// step's new drops add at most `(K² + K) · R · G · MIN_POSITIVE`. When `D` exceeds
/// [`LOST_MASS_TOLERANCE`] the caller recomputes the sequence in log space. Only values
/// (never derivatives) enter, so every instance of the recursion decides identically.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LostMass {
    d: f64,
    r: f64,
    drop_unit: f64,
}

impl LostMass {
    /// `r`: an upper bound on `max(1, Σⱼ P[i][j], π[i])`. The forward weights are normalised
    /// to sum in `[1, 2)`, not to 1, hence the factor 2.
    pub(crate) fn new(k: usize, r: f64) -> Self {
        Self {
            d: 0.0,
            r: 2.0 * r,
            drop_unit: ((k * k + k) as f64) * f64::MIN_POSITIVE * r * (1.0 + 1e-9),
        }
    }

    /// One step: `lost` if a state was dropped this step, `log_g = max ℓ − shift ≥ 0`, `c`
    /// the sum of the step's weights (before normalisation).
    #[inline]
    pub(crate) fn step(&mut self, lost: bool, log_g: f64, c: f64) {
        if lost || self.d > 0.0 {
            let g = if log_g == 0.0 { 1.0 } else { log_g.exp() };
            let new = if lost { self.drop_unit * g } else { 0.0 };
            self.d = (self.d * self.r * g + new) / c;
        }
    }

    /// After normalisation: `lost` if a normalised entry was below [`NEGLIGIBLE`] (and set
    /// to zero).
    #[inline]
    pub(crate) fn normalised(&mut self, k: usize, lost: bool) {
        if lost {
            self.d += (k as f64) * NEGLIGIBLE * (1.0 + 1e-9);
        }
    }

    /// Whether the tracked mass is still accurate (false for NaN).
    #[inline]
    pub(crate) fn ok(&self) -> bool {
        self.d <= LOST_MASS_TOLERANCE
    }
}

/// `max_j (row[j] + ln pred[j])` over the states with `pred[j] > 0`, from `(pred[j], row[j])`
/// pairs of plain values: the fallback shift of a step whose normaliser would be tiny.
#[inline]
pub(crate) fn weighted_max(pairs: impl Iterator<Item = (f64, f64)>) -> f64 {
    let mut m = f64::NEG_INFINITY;
    for (q, l) in pairs {
        if q > 0.0 {
            let v = l + q.ln();
            if v > m {
                m = v;
            }
        }
    }
    m
}

/// The normalisation of a step with weight sum `c` (a plain value): the power of two
/// `s = 2^-E` with `c · s ∈ [1, 2)`, and `E ln 2`. Multiplying by `s` is exact and needs no
/// division, and `s` is a constant, so generic code records no derivative for it (the
/// normalisation cancels in the log-likelihood). `None` if `c` is zero, not finite, or
/// outside `[1e-300, 1e300]`: the probability-space recursion has under- or overflowed.
#[inline]
pub(crate) fn power_of_two_normaliser(c: f64) -> Option<(f64, f64)> {
    if !(1e-300..=1e300).contains(&c) {
        return None;
    }
    let e = ((c.to_bits() >> 52) & 0x7ff) as i64 - 1023;
    let s = f64::from_bits(((1023 - e) as u64) << 52);
    Some((s, e as f64 * std::f64::consts::LN_2))
}
