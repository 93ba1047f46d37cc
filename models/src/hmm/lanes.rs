//! SIMD lanes across sequences: the fused forward–backward of four sequences of equal length
//! at once, one sequence per lane of an AVX2 `f64 × 4` vector (issue 12, part 1).
//!
//! A batch is cut into *units*, in sequence order: two to four consecutive sequences of equal
//! length form a lane group (spare lanes compute a copy and are discarded), any other
//! sequence is a unit of its own (the scalar kernel, [`adjoint`](super::adjoint)). The cut depends on the lengths only, never on the number of
//! threads, and each unit is computed by the same code whichever thread runs it, so results
//! are the same bits serially and in parallel.
//!
//! A lane group runs the scaled recursion of [`recursion`](super::recursion) (shift by the
//! step's largest log-density, power-of-two normalisation) in a structure-of-arrays layout,
//! with K ≤ 4 states known at compile time, then the backward pass of
//! [`adjoint`](super::adjoint) (γ, the expected transition counts), keeping each step's
//! `exp(ℓ − max)` for the backward pass (one exponential per state-step). Exact zeros
//! (`-inf` log-densities, zero probabilities) and missing steps (log-density 0) stay on it.
//! Whatever the scalar recursion would treat specially — an impossible step, the fallback
//! shift of a step whose weights are tiny, a weight or density that may have underflowed, a
//! normaliser out of range, a weight dropped as negligible, a product of a weight and a
//! transition probability that may underflow — marks the lane (conservatively), and the
//! caller recomputes that sequence with the scalar kernel, which then decides exactly as
//! before. Parameters the scalar code treats specially (per-step transitions, tiny or
//! underflowing probabilities, huge row sums) keep the whole batch on the scalar kernel;
//! covariate-driven (per-step) transitions have their own lane kernel,
//! [`covariate_lanes`](super::covariate_lanes), cut into the same units.
//!
//! The lane path differs from the scalar one only by rounding: its exponential
//! ([`avx2::exp_nonpositive`], Cody–Waite reduction and a degree-11 polynomial, within
//! 2 ulp of the correctly rounded value) and fused multiply–adds instead of libm's `exp` and
//! separate products. `models/tests/hmm_lanes.rs` bounds the difference (value and every
//! partial within `1e-14 · (1 + |x|)` of the scalar kernel's; at most 2.2e-15 seen).
//!
//! AVX2 + FMA only, detected at run time: AVX-512 intrinsics need Rust 1.89, above this
//! workspace's MSRV (1.80). Elsewhere (and with `TRELLIS_HMM_LANES=0` in the environment,
//! read once — for measurements) every sequence takes the scalar kernel.

use trellis_ad::scratch;

use super::batch::{for_each_slot, work, IndexFn, SlotFn};
use super::error::HmmError;
use super::recursion::Probs;

/// Sequences per lane group (`f64` lanes of an AVX2 register).
pub(crate) const LANES: usize = 4;

/// Whether the lane kernel runs on this machine: AVX2 and FMA present (detected once), and
/// not switched off by `TRELLIS_HMM_LANES=0`.
pub(crate) fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        static DETECTED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *DETECTED.get_or_init(|| {
            let off = std::env::var_os("TRELLIS_HMM_LANES").is_some_and(|v| v == "0");
            !off && is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
        })
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Whether a batch with these parameters and `k` states may use lane groups: the machine
/// has the kernel, K ≤ 4, one transition matrix, and none of the parameter conditions the
/// scalar recursion treats specially.
pub(crate) fn eligible(probs: &Probs<'_, f64>, k: usize) -> bool {
    let f = probs.flags;
    (1..=4).contains(&k)
        && !probs.per_step()
        && !(f.tiny || f.huge || f.pi_underflow || f.p_underflow)
        && available()
}

/// Cuts `n` sequences (sequence `s` spans `offsets[s]..offsets[s + 1]`) into units: `starts`
/// receives the first sequence of every unit and then `n`. With `lanes`, up to four
/// consecutive sequences of equal length (taken greedily from the left) form a group when
/// they are at least [`MIN_GROUP`]; a group of fewer than four fills its spare lanes with
/// copies of its first sequence, whose results are discarded.
pub(crate) fn units(offsets: &[usize], lanes: bool, starts: &mut Vec<usize>) {
    let n = offsets.len() - 1;
    let len = |s: usize| offsets[s + 1] - offsets[s];
    starts.clear();
    let mut s = 0;
    while s < n {
        starts.push(s);
        let same = (1..LANES.min(n - s))
            .take_while(|&l| len(s + l) == len(s))
            .count()
            + 1;
        s += if lanes && same >= MIN_GROUP { same } else { 1 };
    }
    starts.push(n);
}

/// The fewest sequences run as a lane group: a group of two costs about a third of two
/// sequences on the scalar kernel.
pub(crate) const MIN_GROUP: usize = 2;

/// One lane's inputs and outputs: its emission log-densities (`T × K`) and where its
/// partials go (`∂/∂log_init (K) | ∂/∂log_trans (K²)` and `∂/∂ℓ (T × K)`).
pub(crate) struct Lane<'a> {
    /// `ℓ[t][k]` at `t · K + k`.
    pub(crate) log_emission: &'a [f64],
    /// `[∂/∂log_init | ∂/∂log_trans]`.
    pub(crate) d_params: &'a mut [f64],
    /// `∂/∂ℓ`, the smoothed probabilities γ.
    pub(crate) d_emission: &'a mut [f64],
}

/// What [`for_each_unit`] needs to run lane groups: the batch's plain log-densities (`flat`,
/// sequence `s` at `offsets[s] · K`), its prepared parameters, and the shape of a slot
/// `[value | ∂/∂log_init, ∂/∂log_trans (K + K²) | extra | ∂/∂ℓ (Tₛ K)]`.
pub(crate) struct LaneJob<'a, 'p> {
    /// Every sequence's `ℓ`, one after another.
    pub(crate) log_emission: &'a [f64],
    /// `π`, `P` and their flags.
    pub(crate) probs: &'a Probs<'p, f64>,
    /// Entries of a slot between the parameter partials and `∂/∂ℓ`.
    pub(crate) extra: usize,
    /// After a lane's partials are in: `finish(s, ∂/∂ℓ, extra)` (e.g. the chain rule
    /// through an emission Jacobian into `extra`).
    pub(crate) finish: FinishFn<'a>,
}

/// [`LaneJob::finish`]: `(sequence, ∂/∂ℓ, extra)`.
pub(crate) type FinishFn<'a> = &'a (dyn Fn(usize, &[f64], &mut [f64]) + Sync);

/// Runs every sequence of the batch into its slot (sequence `s`'s is
/// `bound(s)..bound(s + 1)` of `slots`, laid out as [`LaneJob`] says), serially or in
/// parallel with identical results: lane groups through [`group`] when `job` allows them
/// ([`eligible`]), with `single(s, slot)` for every other sequence and every lane the group
/// hands back.
#[allow(clippy::too_many_arguments)]
pub(crate) fn for_each_unit(
    slots: &mut [f64],
    offsets: &[usize],
    k: usize,
    bound: IndexFn<'_>,
    parallel: bool,
    job: Option<&LaneJob<'_, '_>>,
    single: SlotFn<'_, f64>,
) -> Result<(), HmmError> {
    let n = offsets.len() - 1;
    let lanes = job.is_some_and(|job| eligible(job.probs, k));
    scratch::with_vec(|starts: &mut Vec<usize>| {
        units(offsets, lanes, starts);
        let starts = &*starts;
        let run = |u: usize, slot: &mut [f64]| -> Result<(), HmmError> {
            let s0 = starts[u];
            match job {
                Some(job) if starts[u + 1] - s0 >= MIN_GROUP => {
                    run_group(job, offsets, k, bound, s0, starts[u + 1] - s0, slot, single)
                }
                _ => single(s0, slot),
            }
        };
        let unit_bound = |u: usize| bound(starts[u]);
        let cum_work = |u: usize| work(offsets[starts[u]], k);
        let units = starts.len() - 1;
        for_each_slot(
            slots,
            units,
            &unit_bound,
            &cum_work,
            work(offsets[n], k),
            parallel,
            &run,
        )
    })
}

/// One lane group: the `m` sequences `s0 … s0 + m − 1` (their slots one after another in
/// `slot`), spare lanes running copies of the first into scratch slots.
#[allow(clippy::too_many_arguments)]
fn run_group(
    job: &LaneJob<'_, '_>,
    offsets: &[usize],
    k: usize,
    bound: IndexFn<'_>,
    s0: usize,
    m: usize,
    slot: &mut [f64],
    single: SlotFn<'_, f64>,
) -> Result<(), HmmError> {
    let kk = k + k * k;
    // Equal lengths, so every slot of the group has the same size.
    let size = bound(s0 + 1) - bound(s0);
    scratch::with_filled((LANES - m) * size, 0.0, |spare| {
        // The four slots, each split into [value | d_params | extra | d_emission].
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
                let (_, rest) = slot.split_at_mut(1);
                let (d_params, rest) = rest.split_at_mut(kk);
                Lane {
                    log_emission: &job.log_emission[offsets[s] * k..offsets[s + 1] * k],
                    d_params,
                    d_emission: &mut rest[job.extra..],
                }
            });
            let lanes: [Lane<'_>; LANES] = std::array::from_fn(|_| it.next().expect("four lanes"));
            group(job.probs, k, lanes)
        };
        for (l, (slot, value)) in slots.into_iter().zip(values).take(m).enumerate() {
            let s = s0 + l;
            match value {
                Some(value) => {
                    slot[0] = value;
                    let (extra, d_emission) = slot[1 + kk..].split_at_mut(job.extra);
                    (job.finish)(s, d_emission, extra);
                }
                None => single(s, slot)?,
            }
        }
        Ok(())
    })
}

thread_local! {
    /// This thread's lane workspace (every entry written before it is read).
    static WORKSPACE: std::cell::RefCell<Vec<f64>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The fused forward–backward of four sequences of the same length at once (`probs`
/// [`eligible`], `K = lanes[l].log_emission.len() / T`). For each lane, `Some(value)` with its
/// partials written, or `None`: the lane met a case the scalar kernel must decide (its
/// outputs are then unspecified) and the caller recomputes it with that kernel.
pub(crate) fn group(
    probs: &Probs<'_, f64>,
    k: usize,
    mut lanes: [Lane<'_>; LANES],
) -> [Option<f64>; LANES] {
    debug_assert!(eligible(probs, k));
    let n = lanes[0].log_emission.len() / k;
    for lane in &lanes {
        assert!(
            n >= 1
                && lane.log_emission.len() == n * k
                && lane.d_emission.len() == n * k
                && lane.d_params.len() == k + k * k,
            "lane group: sequences of different lengths or wrong buffers"
        );
    }
    #[cfg(target_arch = "x86_64")]
    {
        if available() {
            let len = n * (3 * k + 1) * LANES;
            return super::adjoint::with_stale(&WORKSPACE, len, |ws| {
                // SAFETY: `available()` checked that this CPU has AVX2 and FMA, the only
                // requirement of these `#[target_feature]` functions; they access memory
                // through bounds-checked slices only (shapes asserted above).
                unsafe {
                    match k {
                        1 => avx2::group::<1>(probs, &mut lanes, n, ws),
                        2 => avx2::group::<2>(probs, &mut lanes, n, ws),
                        3 => avx2::group::<3>(probs, &mut lanes, n, ws),
                        _ => avx2::group::<4>(probs, &mut lanes, n, ws),
                    }
                }
            });
        }
    }
    let _ = (probs, &mut lanes);
    [None; LANES]
}

#[cfg(target_arch = "x86_64")]
pub(crate) mod avx2 {
    //! The AVX2 + FMA kernel. Every function here requires those features (the caller
    //! detects them); all memory is accessed through bounds-checked slices.
    use std::arch::x86_64::*;

    use super::{Lane, LANES};
    use crate::hmm::recursion::Probs;
    use crate::hmm::scaling::{NEGLIGIBLE, SMALL};

    /// Below this, `exp` is flushed to 0 (its value would be below `f64::MIN_POSITIVE`, a
    /// subnormal; the recursion treats any such density as possibly lost, see [`group`]).
    const EXP_MIN_ARG: f64 = -708.39;

    /// `exp(x)` for `x ≤ 0` (any `x` below [`EXP_MIN_ARG`], including `-inf`, gives 0):
    /// `x = n ln 2 + r`, `|r| ≤ ln 2 / 2` (Cody–Waite split of ln 2, exact for the `n` that
    /// occur), `exp(r)` by a polynomial of degree 11 (relative error 1.6e-17, see `C`)
    /// in Horner form with FMA, times `2ⁿ` built from the exponent bits. Within
    /// 2 ulp of the correctly rounded value (tested against libm); `exp(0) = 1` exactly.
    /// Positive `x` below 709 work alike (the reduction and `2ⁿ` hold for `n ≤ 1023`): the
    /// covariate lanes' softmax takes `x < 600` ([`covariate_lanes`](crate::hmm::covariate_lanes)),
    /// tested on `[0, 600]`.
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub(crate) unsafe fn exp_nonpositive(x: __m256d) -> __m256d {
        const LOG2E: f64 = std::f64::consts::LOG2_E;
        // fdlibm's split: LN2_HI has 11 trailing zero bits, so n · LN2_HI is exact.
        // (`f64::from_bits` is `const` only from Rust 1.83, above the MSRV.)
        let ln2_hi = f64::from_bits(0x3fe6_2e42_fee0_0000);
        let ln2_lo = f64::from_bits(0x3dea_39ef_3579_3c76);
        // 1.5 · 2⁵²: adding it rounds to an integer held in the low mantissa bits.
        const MAGIC: f64 = 6_755_399_441_055_744.0;
        // 1 + r + r²·g(r), g the Chebyshev fit of degree 9 to (eʳ − 1 − r)/r² on |r| ≤ ln 2 / 2
        // (`models/tests/fixtures/exp/fit_exp_polynomial.py`): relative error 1.6e-17 there
        // with these rounded coefficients, and exactly 1 at r = 0.
        const C: [f64; 12] = [
            1.0,
            1.0,
            0.500_000_000_000_000_1,
            0.166_666_666_666_666_69,
            0.041_666_666_666_624_164,
            0.008_333_333_333_330_065,
            0.001_388_888_891_719_671_9,
            0.000_198_412_698_630_405_45,
            2.480_152_132_236_869_2e-5,
            2.755_726_848_031_002_4e-6,
            2.762_007_587_998_336_7e-7,
            2.510_037_583_256_123_4e-8,
        ];
        let lo = _mm256_set1_pd(EXP_MIN_ARG);
        // `max` returns its second operand for NaN: a NaN lane computes exp(lo), harmlessly.
        let xc = _mm256_max_pd(x, lo);
        let t = _mm256_fmadd_pd(xc, _mm256_set1_pd(LOG2E), _mm256_set1_pd(MAGIC));
        let n = _mm256_sub_pd(t, _mm256_set1_pd(MAGIC));
        let r = _mm256_fnmadd_pd(n, _mm256_set1_pd(ln2_hi), xc);
        let r = _mm256_fnmadd_pd(n, _mm256_set1_pd(ln2_lo), r);
        let mut p = _mm256_set1_pd(C[11]);
        for &c in C[..11].iter().rev() {
            p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(c));
        }
        // 2ⁿ: the low bits of `t` hold n (two's complement, |n| ≤ 1022 + 1 here); n + 1023
        // shifted into the exponent field.
        let bits = _mm256_add_epi64(_mm256_castpd_si256(t), _mm256_set1_epi64x(1023));
        let two_n = _mm256_castsi256_pd(_mm256_slli_epi64::<52>(bits));
        let y = _mm256_mul_pd(p, two_n);
        let under = _mm256_cmp_pd::<_CMP_LT_OQ>(x, lo);
        _mm256_andnot_pd(under, y)
    }

    /// `$s[$i..$i + 4]` as a vector (one bounds check, constant-folded where `$s` has a
    /// length known at compile time). Only inside the `#[target_feature]` functions below
    /// (a macro, so that it is always inlined there).
    macro_rules! load {
        ($s:expr, $i:expr) => {
            _mm256_loadu_pd($s[$i..$i + LANES].as_ptr())
        };
    }

    /// `$s[$i..$i + 4] = $v` (as [`load`]).
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

    /// Row `t` (`K` entries) of each lane's `T × K` buffer.
    #[inline(always)]
    fn rows<const K: usize>(xs: [&[f64]; LANES], t: usize) -> [&[f64; K]; LANES] {
        xs.map(|x| x[t * K..(t + 1) * K].try_into().expect("K entries"))
    }

    /// Writes `v[j][l]` to row `t` of lane `l`'s `∂/∂ℓ`.
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn scatter_row<const K: usize>(io: &mut [Lane<'_>; LANES], t: usize, v: &[__m256d; K]) {
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

    /// The lane group of [`super::group`] with `K` states; `ws` holds `n · (3K + 1) · 4`
    /// entries: step `t`'s `e = exp(ℓ − max)` (K vectors), normalised weights `α̃` (K
    /// vectors), scale factor and the mask `ℓ ≠ −∞` (K vectors) at `t · (3K + 1) · 4`. The
    /// arithmetic is that of [`recursion::scaled`](crate::hmm::recursion) and the adjoint's
    /// backward pass, one sequence per lane; a lane's "bad" bit records anything those would
    /// treat specially.
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn group<const K: usize>(
        probs: &Probs<'_, f64>,
        io: &mut [Lane<'_>; LANES],
        n: usize,
        ws: &mut [f64],
    ) -> [Option<f64>; LANES] {
        let stride = (3 * K + 1) * LANES;
        let le: [&[f64]; LANES] = [
            io[0].log_emission,
            io[1].log_emission,
            io[2].log_emission,
            io[3].log_emission,
        ];
        let zero = _mm256_setzero_pd();
        let neg_inf = _mm256_set1_pd(f64::NEG_INFINITY);
        let flags = probs.flags;
        let pi: [__m256d; K] = std::array::from_fn(|j| _mm256_set1_pd(probs.pi[j]));
        let p_all = probs.transition::<false>(1);
        let p: [[__m256d; K]; K] =
            std::array::from_fn(|i| std::array::from_fn(|j| _mm256_set1_pd(p_all[i * K + j])));
        // A possible state's weight below this may hide an underflowed density (the scalar
        // `weigh`'s check).
        let lost_thr = _mm256_set1_pd(flags.lost_threshold());
        let small = _mm256_set1_pd(SMALL);
        let big = _mm256_set1_pd(1e300);
        // A positive normalised weight must be at least NEGLIGIBLE (else the scalar code drops
        // it) and large enough that its product with any positive transition probability
        // cannot underflow (else the scalar code checks every product).
        let keep_thr =
            _mm256_set1_pd(NEGLIGIBLE.max(f64::MIN_POSITIVE / flags.p_min * (1.0 + 1e-12)));
        let exp_mask = _mm256_set1_epi64x(0x7ff0_0000_0000_0000);
        let scale_bits = _mm256_set1_epi64x(2046 << 52);

        // Forward, in two passes. The first computes every step's `e = exp(ℓ − max)`, where
        // no step depends on another; the second runs the recursion, whose every step waits
        // for the last. Apart, the exponentials no longer queue behind the recursion (a few
        // percent of a gradient, measured). The arithmetic is the same, in the same order,
        // so the same bits.
        let mut bad = zero;
        let mut shift = zero;
        for t in 0..n {
            let step = &mut ws[t * stride..(t + 1) * stride];
            let r = rows::<K>(le, t);
            let row: [__m256d; K] =
                std::array::from_fn(|j| _mm256_set_pd(r[3][j], r[2][j], r[1][j], r[0][j]));
            let mut m = row[0];
            for &r in &row[1..] {
                m = _mm256_max_pd(m, r);
            }
            bad = _mm256_or_pd(bad, _mm256_cmp_pd::<_CMP_EQ_OQ>(m, neg_inf));
            for j in 0..K {
                store!(step, j * LANES, exp_nonpositive(_mm256_sub_pd(row[j], m)));
                let finite = _mm256_cmp_pd::<_CMP_NEQ_OQ>(row[j], neg_inf);
                store!(step, (2 * K + 1 + j) * LANES, finite);
            }
            shift = _mm256_add_pd(shift, m);
        }
        let mut exps = _mm256_setzero_si256();
        let mut prev = [zero; K];
        for t in 0..n {
            let step = &mut ws[t * stride..(t + 1) * stride];
            let mut a = [zero; K];
            let mut c = zero;
            for j in 0..K {
                let e = load!(step, j * LANES);
                let pred = if t == 0 {
                    pi[j]
                } else {
                    let mut s = _mm256_mul_pd(prev[0], p[0][j]);
                    for i in 1..K {
                        s = _mm256_fmadd_pd(prev[i], p[i][j], s);
                    }
                    s
                };
                a[j] = _mm256_mul_pd(pred, e);
                let possible = _mm256_and_pd(
                    _mm256_cmp_pd::<_CMP_GT_OQ>(pred, zero),
                    load!(step, (2 * K + 1 + j) * LANES),
                );
                let low = _mm256_cmp_pd::<_CMP_LT_OQ>(a[j], lost_thr);
                bad = _mm256_or_pd(bad, _mm256_and_pd(possible, low));
                c = if j == 0 { a[0] } else { _mm256_add_pd(c, a[j]) };
            }
            // The normaliser in range (NaN counts as out of range).
            bad = _mm256_or_pd(bad, _mm256_cmp_pd::<_CMP_NGE_UQ>(c, small));
            bad = _mm256_or_pd(bad, _mm256_cmp_pd::<_CMP_GT_OQ>(c, big));
            // s = 2^-E with c · s in [1, 2): exponent field 2046 − (E + 1023).
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
        }
        let mut total = prev[0];
        for &x in &prev[1..] {
            total = _mm256_add_pd(total, x);
        }
        let mut e_sum = [0i64; LANES];
        _mm256_storeu_si256(e_sum.as_mut_ptr().cast(), exps);
        let (totals, shifts) = (lanes(total), lanes(shift));
        let bad_bits = _mm256_movemask_pd(bad);

        // Backward: b = β̃ₜ, γₜ = α̃ₜ β̃ₜ into `d_emission`, Σₜ ξₜ in `acc`.
        let inv_total = _mm256_div_pd(_mm256_set1_pd(1.0), total);
        let mut b = [inv_total; K];
        let gamma: [__m256d; K] = std::array::from_fn(|j| _mm256_div_pd(prev[j], total));
        scatter_row::<K>(io, n - 1, &gamma);
        let mut acc = [[zero; K]; K];
        for t in (1..n).rev() {
            let (before, step) = ws[..(t + 1) * stride].split_at(t * stride);
            let step_prev = &before[(t - 1) * stride..];
            let scale = load!(step, 2 * K * LANES);
            let mut w = [zero; K];
            for j in 0..K {
                let e = load!(step, j * LANES);
                let at = load!(step, (K + j) * LANES);
                let v = _mm256_mul_pd(_mm256_mul_pd(b[j], scale), e);
                // A zero-weight state contributes nothing (its β̃ may be unbounded).
                w[j] = _mm256_andnot_pd(_mm256_cmp_pd::<_CMP_EQ_OQ>(at, zero), v);
            }
            let mut gamma = [zero; K];
            for i in 0..K {
                let ai = load!(step_prev, (K + i) * LANES);
                let mut s = zero;
                for j in 0..K {
                    let pw = _mm256_mul_pd(p[i][j], w[j]);
                    s = _mm256_add_pd(s, pw);
                    acc[i][j] = _mm256_fmadd_pd(ai, pw, acc[i][j]);
                }
                let bi = _mm256_andnot_pd(_mm256_cmp_pd::<_CMP_EQ_OQ>(ai, zero), s);
                b[i] = bi;
                gamma[i] = _mm256_mul_pd(ai, bi);
            }
            scatter_row::<K>(io, t - 1, &gamma);
        }
        for (i, row) in acc.iter().enumerate() {
            for (j, &x) in row.iter().enumerate() {
                for (lane, x) in io.iter_mut().zip(lanes(x)) {
                    lane.d_params[K + i * K + j] = x;
                }
            }
        }
        let mut out = [None; LANES];
        for (l, lane) in io.iter_mut().enumerate() {
            let (d_init, _) = lane.d_params.split_at_mut(K);
            d_init.copy_from_slice(&lane.d_emission[..K]);
            if bad_bits & (1 << l) == 0 {
                let log_scale = (e_sum[l] - 1023 * n as i64) as f64 * std::f64::consts::LN_2;
                out[l] = Some(totals[l].ln() + (shifts[l] + log_scale));
            }
        }
        out
    }
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use std::arch::x86_64::*;

    /// Distance in units in the last place between two positive finite `f64`.
    fn ulps(a: f64, b: f64) -> u64 {
        a.to_bits().abs_diff(b.to_bits())
    }

    fn exp4(x: [f64; 4]) -> [f64; 4] {
        let mut out = [0.0; 4];
        // SAFETY: only called after checking for AVX2 and FMA; the loads and stores touch
        // exactly the 4 `f64` of `x` and `out`.
        unsafe {
            let v = super::avx2::exp_nonpositive(_mm256_loadu_pd(x.as_ptr()));
            _mm256_storeu_pd(out.as_mut_ptr(), v);
        }
        out
    }

    #[test]
    fn vector_exp_is_within_2_ulp_of_libm() {
        if !(is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")) {
            return;
        }
        // A dense grid over [-708.39, 0] (and its small end, where most densities live) and
        // over [0, 600], plus the edges: exp(0) = 1 exactly, below the cut-off and -inf give 0.
        let mut worst = 0;
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        for i in 0..400_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let u = (state >> 11) as f64 / (1u64 << 53) as f64;
            // Also positive arguments below 600, as the covariate lanes' softmax takes them
            // (`covariate_lanes`).
            let x = match i % 3 {
                0 => -708.39 * u,
                1 => -2.0 * u,
                _ => 600.0 * u,
            };
            let [y, ..] = exp4([x, 0.0, 0.0, 0.0]);
            worst = worst.max(ulps(y, x.exp()));
        }
        eprintln!("vector exp: worst {worst} ulp from libm");
        assert!(worst <= 2, "worst {worst} ulp");
        assert_eq!(
            exp4([0.0, -0.0, -708.4, f64::NEG_INFINITY]),
            [1.0, 1.0, 0.0, 0.0]
        );
        let [y, ..] = exp4([-708.38, 0.0, 0.0, 0.0]);
        assert!(y >= f64::MIN_POSITIVE && ulps(y, (-708.38f64).exp()) <= 2);
    }
}
