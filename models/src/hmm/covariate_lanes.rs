//! SIMD lanes for covariate-driven transitions: the fused forward–backward of up to four
//! covariate sequences of equal length at once, one per lane of an AVX2 `f64 × 4` vector,
//! each lane with its own design rows and so its own per-step transition matrices.
//!
//! The batch is cut into units exactly as for the homogeneous lanes ([`lanes::units`]: two to
//! four consecutive sequences of equal length form a group, spare lanes compute a copy of the
//! first and are discarded; the cut depends on the lengths only), so results are the same
//! bits serially and in parallel. Any sequence that is not in a group, and any lane a group
//! hands back, runs the scalar kernel [`covariate_value_and_partials`], which then decides
//! exactly as before.
//!
//! A lane group first builds every step's `Γₜ` as probabilities for the four lanes at once in
//! a structure-of-arrays layout (`[t][i][j][lane]`): `ηₜ[i][j]` is the scalar code's dot
//! product (the same products and sums, so the same bits), and the row softmax is the scalar
//! code's formula `exp(η) / (1 + Σ_{j≠i} exp(η_j))` — the reference category's term exactly
//! 1, no shift — with the vector exponential ([`exp_nonpositive`], which is within 2 ulp of
//! libm on `(−708.39, 600)` too: its reduction and `2ⁿ` hold for `n ≤ 1023`). A lane with an
//! `η ≥ 600` (where the scalar code shifts by the row maximum) or a NaN `η` is handed back.
//! Then the forward recursion of the homogeneous lane kernel reads the per-step vectors, and
//! the backward pass contracts each row of `ξₜ` per lane into `K · K · C` per-lane
//! coefficient accumulators, as the scalar `CoefficientSink` does.
//!
//! Lanes are handed back conservatively for everything the scalar recursion treats
//! specially, as in [`lanes`]: an impossible step, a weight or density that may have
//! underflowed, a normaliser out of range, a weight dropped as negligible, a product of a
//! weight and a transition probability that may underflow (with each lane's own smallest
//! transition probability), and a transition probability below `1e-150` (the scalar code's
//! `tiny`: log space). Initial probabilities the scalar code treats specially keep the whole
//! batch on the scalar kernel.
//!
//! The lane path differs from the scalar one only by rounding (the exponential, fused
//! multiply–adds); `models/tests/hmm_covariate_lanes.rs` bounds the difference: value and
//! every partial within `1e-14 · (1 + |x|)` of the scalar kernel's.
//!
//! [`exp_nonpositive`]: super::lanes::avx2::exp_nonpositive

use trellis_ad::scratch;

use super::batch::{for_each_slot, work};
use super::covariates::covariate_value_and_partials;
use super::error::HmmError;
use super::lanes::{self, LANES, MIN_GROUP};
use super::scaling::Flags;

/// After a sequence's partials are in: `finish(s, ∂/∂ℓ, extra)` (the chain rule through an
/// emission Jacobian into `extra`).
pub(crate) type FinishFn<'a> = &'a (dyn Fn(usize, &[f64], &mut [f64]) + Sync);

/// A batch of covariate sequences in plain values. Sequence `s` spans
/// `offsets[s]..offsets[s + 1]` of the observations; its slot is
/// `[value | ∂/∂ln π (K) | ∂/∂coef (K²C) | extra | ∂/∂ℓ (Tₛ K)]` ([`CovariateJob::bound`]).
pub(crate) struct CovariateJob<'a> {
    /// `ln p(z₁)` (K), validated by the caller (no NaN, no `+inf`).
    pub(crate) log_init: &'a [f64],
    /// `K × K × C`.
    pub(crate) coef: &'a [f64],
    /// `C`, the design vector's length.
    pub(crate) c: usize,
    /// Every sequence's design rows (`Tₛ × C`), one sequence after another.
    pub(crate) design: &'a [f64],
    /// Every sequence's `ℓ` (`Tₛ × K`), one after another, validated by the caller.
    pub(crate) log_emission: &'a [f64],
    /// Sequence boundaries (`n + 1` entries).
    pub(crate) offsets: &'a [usize],
    /// Entries of a slot between the coefficient partials and `∂/∂ℓ`.
    pub(crate) extra: usize,
    /// Called after each sequence's partials are in (when its value is not NaN).
    pub(crate) finish: FinishFn<'a>,
}

impl CovariateJob<'_> {
    /// Where sequence `s`'s slot starts (`bound(n)` is the length of all slots).
    pub(crate) fn bound(&self, s: usize) -> usize {
        let k = self.log_init.len();
        s * (1 + k + k * k * self.c + self.extra) + self.offsets[s] * k
    }

    /// Sequence `s`'s observations.
    fn range(&self, s: usize) -> std::ops::Range<usize> {
        self.offsets[s]..self.offsets[s + 1]
    }

    /// Sequence `s` on the scalar kernel: its slot, with value NaN when probability space
    /// cannot be trusted (the caller then records the generic recursion).
    fn single(&self, s: usize, slot: &mut [f64]) -> Result<(), HmmError> {
        let (k, c) = (self.log_init.len(), self.c);
        let r = self.range(s);
        let (v, rest) = slot.split_at_mut(1);
        let (d_init, rest) = rest.split_at_mut(k);
        let (d_coef, rest) = rest.split_at_mut(k * k * c);
        let (extra, d_emission) = rest.split_at_mut(self.extra);
        let value = covariate_value_and_partials(
            self.log_init,
            self.coef,
            c,
            &self.design[r.start * c..r.end * c],
            &self.log_emission[r.start * k..r.end * k],
            d_init,
            d_coef,
            d_emission,
        )
        .map_err(|e| e.in_sequence(s))?;
        match value {
            Some(value) => {
                v[0] = value;
                (self.finish)(s, d_emission, extra);
            }
            None => v[0] = f64::NAN,
        }
        Ok(())
    }
}

/// Runs every sequence of `job` into its slot of `slots` (`job.bound(n)` entries), serially
/// or in parallel with identical results: lane groups where allowed (K ≤ 4, C ≤ 4, the lane
/// kernel available, initial probabilities the scalar code does not treat specially), the
/// scalar kernel for every other sequence and every lane a group hands back. The first error
/// in sequence order is returned.
pub(crate) fn for_each_sequence(
    job: &CovariateJob<'_>,
    slots: &mut [f64],
    parallel: bool,
) -> Result<(), HmmError> {
    let k = job.log_init.len();
    let offsets = job.offsets;
    let n = offsets.len() - 1;
    scratch::with_vec(|pi: &mut Vec<f64>| {
        pi.clear();
        pi.extend(job.log_init.iter().map(|l| l.exp()));
        let flags = Flags::new(k, 0, |i| job.log_init[i], |_| 0.0, |i| pi[i], |_| 0.0);
        let use_lanes = (1..=4).contains(&k)
            && (1..=4).contains(&job.c)
            && !(flags.tiny || flags.huge || flags.pi_underflow)
            && lanes::available();
        let group = Group {
            job,
            pi,
            r: flags.r,
        };
        scratch::with_vec(|starts: &mut Vec<usize>| {
            lanes::units(offsets, use_lanes, starts);
            let starts = &*starts;
            let run = |u: usize, slot: &mut [f64]| -> Result<(), HmmError> {
                let s0 = starts[u];
                let m = starts[u + 1] - s0;
                if m >= MIN_GROUP {
                    group.run(s0, m, slot)
                } else {
                    job.single(s0, slot)
                }
            };
            let unit_bound = |u: usize| job.bound(starts[u]);
            let cum_work = |u: usize| work(offsets[starts[u]], k);
            for_each_slot(
                slots,
                starts.len() - 1,
                &unit_bound,
                &cum_work,
                work(offsets[n], k),
                parallel,
                &run,
            )
        })
    })
}

/// A lane group's shared inputs: the job, `π`, and the initial probabilities' `R`
/// ([`Flags::r`]).
struct Group<'a, 'j> {
    job: &'a CovariateJob<'j>,
    pi: &'a [f64],
    r: f64,
}

/// One lane's inputs and outputs.
pub(crate) struct CovLane<'a> {
    /// `ℓ` (`T × K`).
    log_emission: &'a [f64],
    /// Design rows (`T × C`).
    design: &'a [f64],
    /// `∂/∂ln π` (K).
    d_init: &'a mut [f64],
    /// `∂/∂coef` (`K × K × C`).
    d_coef: &'a mut [f64],
    /// `∂/∂ℓ` (`T × K`), the smoothed probabilities γ.
    d_emission: &'a mut [f64],
}

thread_local! {
    /// This thread's lane workspace (every entry written before it is read).
    static WORKSPACE: std::cell::RefCell<Vec<f64>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl Group<'_, '_> {
    /// The `m` sequences `s0 … s0 + m − 1` (their slots one after another in `slot`), spare
    /// lanes running copies of the first into scratch slots.
    fn run(&self, s0: usize, m: usize, slot: &mut [f64]) -> Result<(), HmmError> {
        let job = self.job;
        let (k, c) = (job.log_init.len(), job.c);
        let size = job.bound(s0 + 1) - job.bound(s0);
        scratch::with_filled((LANES - m) * size, 0.0, |spare| {
            let mut slots: [&mut [f64]; LANES] = Default::default();
            for (out, this) in slots.iter_mut().zip(
                slot.chunks_exact_mut(size)
                    .chain(spare.chunks_exact_mut(size)),
            ) {
                *out = this;
            }
            let values = {
                let mut it = slots.iter_mut().enumerate().map(|(l, slot)| {
                    let s = s0 + if l < m { l } else { 0 };
                    let r = job.range(s);
                    let (_, rest) = slot.split_at_mut(1);
                    let (d_init, rest) = rest.split_at_mut(k);
                    let (d_coef, rest) = rest.split_at_mut(k * k * c);
                    CovLane {
                        log_emission: &job.log_emission[r.start * k..r.end * k],
                        design: &job.design[r.start * c..r.end * c],
                        d_init,
                        d_coef,
                        d_emission: &mut rest[job.extra..],
                    }
                });
                let lanes: [CovLane<'_>; LANES] =
                    std::array::from_fn(|_| it.next().expect("four lanes"));
                self.group(lanes)
            };
            for (l, (slot, value)) in slots.into_iter().zip(values).take(m).enumerate() {
                let s = s0 + l;
                match value {
                    Some(value) => {
                        slot[0] = value;
                        let (extra, d_emission) = slot[1 + k + k * k * c..].split_at_mut(job.extra);
                        (job.finish)(s, d_emission, extra);
                    }
                    None => job.single(s, slot)?,
                }
            }
            Ok(())
        })
    }

    /// The lane kernel on four lanes of the same length: `Some(value)` per lane with its
    /// partials written, or `None` (outputs unspecified) for a lane the scalar kernel must
    /// decide.
    fn group(&self, mut io: [CovLane<'_>; LANES]) -> [Option<f64>; LANES] {
        let (k, c) = (self.job.log_init.len(), self.job.c);
        let n = io[0].log_emission.len() / k;
        for lane in &io {
            assert!(
                n >= 1
                    && lane.log_emission.len() == n * k
                    && lane.design.len() == n * c
                    && lane.d_emission.len() == n * k
                    && lane.d_init.len() == k
                    && lane.d_coef.len() == k * k * c,
                "covariate lane group: sequences of different lengths or wrong buffers"
            );
        }
        #[cfg(target_arch = "x86_64")]
        {
            if lanes::available() {
                let len = (n * (2 * k + 1) + (n - 1) * (k * k + c)) * LANES;
                let coef = self.job.coef;
                let (pi, r) = (self.pi, self.r);
                return super::adjoint::with_stale(&WORKSPACE, len, |ws| {
                    macro_rules! go {
                        ($k:literal) => {
                            match c {
                                1 => avx2::group::<$k, 1>(pi, coef, r, &mut io, n, ws),
                                2 => avx2::group::<$k, 2>(pi, coef, r, &mut io, n, ws),
                                3 => avx2::group::<$k, 3>(pi, coef, r, &mut io, n, ws),
                                _ => avx2::group::<$k, 4>(pi, coef, r, &mut io, n, ws),
                            }
                        };
                    }
                    // SAFETY: `available()` checked that this CPU has AVX2 and FMA, the only
                    // requirement of these `#[target_feature]` functions; they access memory
                    // through bounds-checked slices only (shapes asserted above; K and C in
                    // 1 ..= 4, as `for_each_sequence` admits lane groups only then).
                    unsafe {
                        match k {
                            1 => go!(1),
                            2 => go!(2),
                            3 => go!(3),
                            _ => go!(4),
                        }
                    }
                });
            }
        }
        let _ = &mut io;
        [None; LANES]
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    //! The AVX2 + FMA kernel. Every function here requires those features (the caller
    //! detects them); all memory is accessed through bounds-checked slices.
    use std::arch::x86_64::*;

    use super::{CovLane, LANES};
    use crate::hmm::lanes::avx2::exp_nonpositive;
    use crate::hmm::scaling::{NEGLIGIBLE, SMALL, TINY_PROBABILITY};

    /// `$s[$i..$i + 4]` as a vector.
    macro_rules! load {
        ($s:expr, $i:expr) => {
            _mm256_loadu_pd($s[$i..$i + LANES].as_ptr())
        };
    }

    /// `$s[$i..$i + 4] = $v`.
    macro_rules! store {
        ($s:expr, $i:expr, $v:expr) => {
            _mm256_storeu_pd($s[$i..$i + LANES].as_mut_ptr(), $v)
        };
    }

    /// The lanes of `v`.
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn lanes(v: __m256d) -> [f64; LANES] {
        let mut out = [0.0; LANES];
        store!(out, 0, v);
        out
    }

    /// Entry `j` of row `t` (`W` entries a row) of each lane's buffer, as a vector.
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn gather<const W: usize>(xs: [&[f64]; LANES], t: usize) -> [__m256d; W] {
        let r: [&[f64; W]; LANES] =
            xs.map(|x| x[t * W..(t + 1) * W].try_into().expect("W entries"));
        std::array::from_fn(|j| _mm256_set_pd(r[3][j], r[2][j], r[1][j], r[0][j]))
    }

    /// Writes `v[j][l]` to row `t` of lane `l`'s `∂/∂ℓ`.
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn scatter_row<const K: usize>(
        io: &mut [CovLane<'_>; LANES],
        t: usize,
        v: &[__m256d; K],
    ) {
        let mut x = [[0.0; LANES]; K];
        for j in 0..K {
            store!(x[j], 0, v[j]);
        }
        for (l, lane) in io.iter_mut().enumerate() {
            let row: &mut [f64; K] = (&mut lane.d_emission[t * K..(t + 1) * K])
                .try_into()
                .expect("K entries");
            for j in 0..K {
                row[j] = x[j][l];
            }
        }
    }

    /// The lane group with `K` states and `C` design entries. `ws` holds
    /// `(n (2K + 1) + (n − 1)(K² + C)) · 4` entries: per step `t` the homogeneous kernel's
    /// `e` (K vectors), `α̃` (K) and scale factor at `t · (2K + 1) · 4`; then per transition
    /// `t → t + 1` its `Γₜ` (K² vectors, `[i][j]`) and design vector `zₜ` (C vectors).
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn group<const K: usize, const C: usize>(
        pi_all: &[f64],
        coef: &[f64],
        r_init: f64,
        io: &mut [CovLane<'_>; LANES],
        n: usize,
        ws: &mut [f64],
    ) -> [Option<f64>; LANES] {
        let stride = (2 * K + 1) * LANES;
        let (trace, steps) = ws.split_at_mut(n * stride);
        let step_len = (K * K + C) * LANES;
        let le: [&[f64]; LANES] = [
            io[0].log_emission,
            io[1].log_emission,
            io[2].log_emission,
            io[3].log_emission,
        ];
        let design: [&[f64]; LANES] = [io[0].design, io[1].design, io[2].design, io[3].design];
        let coef: &[f64] = &coef[..K * K * C];
        let zero = _mm256_setzero_pd();
        let one = _mm256_set1_pd(1.0);
        let neg_inf = _mm256_set1_pd(f64::NEG_INFINITY);
        let mut bad = zero;

        // The transition probabilities: the scalar code's η (same products and sums), its
        // unshifted softmax with the vector exponential.
        let limit = _mm256_set1_pd(600.0);
        let mut p_min = _mm256_set1_pd(f64::INFINITY);
        for t in 0..n - 1 {
            let step = &mut steps[t * step_len..(t + 1) * step_len];
            let z = gather::<C>(design, t);
            for (cc, &zc) in z.iter().enumerate() {
                store!(step, (K * K + cc) * LANES, zc);
            }
            for i in 0..K {
                let mut e = [one; K];
                let mut sum = zero;
                for j in 0..K {
                    if j != i {
                        let w = &coef[(i * K + j) * C..(i * K + j + 1) * C];
                        let mut eta = _mm256_mul_pd(_mm256_set1_pd(w[0]), z[0]);
                        for cc in 1..C {
                            eta = _mm256_add_pd(eta, _mm256_mul_pd(_mm256_set1_pd(w[cc]), z[cc]));
                        }
                        // η ≥ 600 (the scalar code shifts) or NaN: the scalar kernel decides.
                        bad = _mm256_or_pd(bad, _mm256_cmp_pd::<_CMP_NLT_UQ>(eta, limit));
                        e[j] = exp_nonpositive(eta);
                    }
                    sum = if j == 0 {
                        e[0]
                    } else {
                        _mm256_add_pd(sum, e[j])
                    };
                }
                let inv = _mm256_div_pd(one, sum);
                for j in 0..K {
                    let p = _mm256_mul_pd(e[j], inv);
                    p_min = _mm256_min_pd(p_min, p);
                    store!(step, (i * K + j) * LANES, p);
                }
            }
        }
        // A probability below 1e-150 (or one that underflowed): the scalar code runs in log
        // space.
        bad = _mm256_or_pd(
            bad,
            _mm256_cmp_pd::<_CMP_LT_OQ>(p_min, _mm256_set1_pd(TINY_PROBABILITY)),
        );
        // Rows sum to 1 up to a few roundings: R bounds the scalar code's.
        let r = r_init.max(1.0 + 1e-12);
        let lost_thr = _mm256_set1_pd(f64::MIN_POSITIVE * 4.0 * r);
        let small = _mm256_set1_pd(SMALL);
        let big = _mm256_set1_pd(1e300);
        // As the homogeneous kernel, with each lane's own smallest transition probability
        // (the margin covers the scalar code's own rounding of it).
        let keep_thr = _mm256_max_pd(
            _mm256_set1_pd(NEGLIGIBLE),
            _mm256_div_pd(_mm256_set1_pd(f64::MIN_POSITIVE * (1.0 + 1e-12)), p_min),
        );
        let exp_mask = _mm256_set1_epi64x(0x7ff0_0000_0000_0000);
        let scale_bits = _mm256_set1_epi64x(2046 << 52);
        let pi: [__m256d; K] = std::array::from_fn(|j| _mm256_set1_pd(pi_all[j]));

        // Forward.
        let mut shift = zero;
        let mut exps = _mm256_setzero_si256();
        let mut prev = [zero; K];
        for t in 0..n {
            let step = &mut trace[t * stride..(t + 1) * stride];
            let row = gather::<K>(le, t);
            let mut m = row[0];
            for &r in &row[1..] {
                m = _mm256_max_pd(m, r);
            }
            bad = _mm256_or_pd(bad, _mm256_cmp_pd::<_CMP_EQ_OQ>(m, neg_inf));
            let p = if t == 0 {
                &steps[..0]
            } else {
                &steps[(t - 1) * step_len..t * step_len]
            };
            let mut a = [zero; K];
            let mut c = zero;
            for j in 0..K {
                let e = exp_nonpositive(_mm256_sub_pd(row[j], m));
                store!(step, j * LANES, e);
                let pred = if t == 0 {
                    pi[j]
                } else {
                    let mut s = _mm256_mul_pd(prev[0], load!(p, j * LANES));
                    for i in 1..K {
                        s = _mm256_fmadd_pd(prev[i], load!(p, (i * K + j) * LANES), s);
                    }
                    s
                };
                a[j] = _mm256_mul_pd(pred, e);
                let possible = _mm256_and_pd(
                    _mm256_cmp_pd::<_CMP_GT_OQ>(pred, zero),
                    _mm256_cmp_pd::<_CMP_NEQ_OQ>(row[j], neg_inf),
                );
                let low = _mm256_cmp_pd::<_CMP_LT_OQ>(a[j], lost_thr);
                bad = _mm256_or_pd(bad, _mm256_and_pd(possible, low));
                c = if j == 0 { a[0] } else { _mm256_add_pd(c, a[j]) };
            }
            bad = _mm256_or_pd(bad, _mm256_cmp_pd::<_CMP_NGE_UQ>(c, small));
            bad = _mm256_or_pd(bad, _mm256_cmp_pd::<_CMP_GT_OQ>(c, big));
            let expo = _mm256_and_si256(_mm256_castpd_si256(c), exp_mask);
            let scale = _mm256_castsi256_pd(_mm256_sub_epi64(scale_bits, expo));
            exps = _mm256_add_epi64(exps, _mm256_srli_epi64::<52>(expo));
            store!(step, 2 * K * LANES, scale);
            for j in 0..K {
                let y = _mm256_mul_pd(a[j], scale);
                let dropped = _mm256_and_pd(
                    _mm256_cmp_pd::<_CMP_NEQ_OQ>(a[j], zero),
                    _mm256_cmp_pd::<_CMP_LT_OQ>(y, keep_thr),
                );
                bad = _mm256_or_pd(bad, dropped);
                store!(step, (K + j) * LANES, y);
                prev[j] = y;
            }
            shift = _mm256_add_pd(shift, m);
        }
        let mut total = prev[0];
        for &x in &prev[1..] {
            total = _mm256_add_pd(total, x);
        }
        let mut e_sum = [0i64; LANES];
        _mm256_storeu_si256(e_sum.as_mut_ptr().cast(), exps);
        let (totals, shifts) = (lanes(total), lanes(shift));
        let bad_bits = _mm256_movemask_pd(bad);

        // Backward: b = β̃ₜ, γₜ = α̃ₜ β̃ₜ into `d_emission`, each row of ξₜ contracted into
        // the coefficient accumulators: ∂/∂ηₜ[i][j] = ξₜ[i][j] − Γₜ[i][j] Σⱼ' ξₜ[i][j'],
        // times z_{t−1}.
        let inv_total = _mm256_div_pd(one, total);
        let mut b = [inv_total; K];
        let gamma: [__m256d; K] = std::array::from_fn(|j| _mm256_div_pd(prev[j], total));
        scatter_row::<K>(io, n - 1, &gamma);
        let mut acc = [[[zero; C]; K]; K];
        for t in (1..n).rev() {
            let (before, step) = trace[..(t + 1) * stride].split_at(t * stride);
            let step_prev = &before[(t - 1) * stride..];
            let pz = &steps[(t - 1) * step_len..t * step_len];
            let scale = load!(step, 2 * K * LANES);
            let mut w = [zero; K];
            for j in 0..K {
                let e = load!(step, j * LANES);
                let at = load!(step, (K + j) * LANES);
                let v = _mm256_mul_pd(_mm256_mul_pd(b[j], scale), e);
                // A zero-weight state contributes nothing (its β̃ may be unbounded).
                w[j] = _mm256_andnot_pd(_mm256_cmp_pd::<_CMP_EQ_OQ>(at, zero), v);
            }
            let z: [__m256d; C] = std::array::from_fn(|cc| load!(pz, (K * K + cc) * LANES));
            let mut gamma = [zero; K];
            for i in 0..K {
                let ai = load!(step_prev, (K + i) * LANES);
                let p_row: [__m256d; K] = std::array::from_fn(|j| load!(pz, (i * K + j) * LANES));
                let mut s = zero;
                let mut xi = [zero; K];
                for j in 0..K {
                    let pw = _mm256_mul_pd(p_row[j], w[j]);
                    s = _mm256_add_pd(s, pw);
                    xi[j] = _mm256_mul_pd(ai, pw);
                }
                let mut xi_total = xi[0];
                for &x in &xi[1..] {
                    xi_total = _mm256_add_pd(xi_total, x);
                }
                for j in 0..K {
                    if j != i {
                        let d_eta = _mm256_fnmadd_pd(p_row[j], xi_total, xi[j]);
                        for cc in 0..C {
                            acc[i][j][cc] = _mm256_fmadd_pd(d_eta, z[cc], acc[i][j][cc]);
                        }
                    }
                }
                let bi = _mm256_andnot_pd(_mm256_cmp_pd::<_CMP_EQ_OQ>(ai, zero), s);
                b[i] = bi;
                gamma[i] = _mm256_mul_pd(ai, bi);
            }
            scatter_row::<K>(io, t - 1, &gamma);
        }
        for (i, row) in acc.iter().enumerate() {
            for (j, cs) in row.iter().enumerate() {
                for (cc, &x) in cs.iter().enumerate() {
                    // The diagonal's accumulators stay 0.
                    for (lane, x) in io.iter_mut().zip(lanes(x)) {
                        lane.d_coef[(i * K + j) * C + cc] = x;
                    }
                }
            }
        }
        let mut out = [None; LANES];
        for (l, lane) in io.iter_mut().enumerate() {
            lane.d_init.copy_from_slice(&lane.d_emission[..K]);
            if bad_bits & (1 << l) == 0 {
                let log_scale = (e_sum[l] - 1023 * n as i64) as f64 * std::f64::consts::LN_2;
                out[l] = Some(totals[l].ln() + (shifts[l] + log_scale));
            }
        }
        out
    }
}
