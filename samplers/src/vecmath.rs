//! Fused vector kernels of the Hamiltonian integrators and the no-U-turn criterion.
//!
//! Each kernel makes one pass over its inputs. Reductions use four independent accumulators
//! (lanes), so the compiler can vectorise them without reassociating floating-point sums: the
//! result is the same whatever SIMD width the CPU has. On x86-64 CPUs with AVX2 the same code
//! is compiled a second time with AVX2 enabled and chosen at run time.

// Kernels index several slices in lock-step on purpose: it is what vectorises.
#![allow(clippy::needless_range_loop)]

const LANES: usize = 4;

#[inline(always)]
fn sum_lanes(acc: [f64; LANES]) -> f64 {
    (acc[0] + acc[1]) + (acc[2] + acc[3])
}

/// Dispatches `$body` (a call of an `#[inline(always)]` generic kernel) to an AVX2-compiled
/// copy when the CPU supports it.
macro_rules! dispatch {
    // With a hand-written AVX2 version (same operations lane by lane, so the same result).
    ($name:ident ( $($arg:ident : $ty:ty),* ) -> $ret:ty, $kernel:ident, avx2 = $simd:path) => {
        #[inline]
        pub(crate) fn $name($($arg: $ty),*) -> $ret {
            #[cfg(target_arch = "x86_64")]
            {
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: the CPU supports AVX2 (checked just above).
                    return unsafe { $simd($($arg),*) };
                }
            }
            $kernel($($arg),*)
        }
    };
    ($name:ident ( $($arg:ident : $ty:ty),* ) -> $ret:ty, $kernel:ident) => {
        #[inline]
        #[allow(clippy::too_many_arguments)]
        pub(crate) fn $name($($arg: $ty),*) -> $ret {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2")]
                #[allow(clippy::too_many_arguments)]
                unsafe fn avx2($($arg: $ty),*) -> $ret {
                    $kernel($($arg),*)
                }
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: the CPU supports AVX2 (checked just above).
                    return unsafe { avx2($($arg),*) };
                }
            }
            $kernel($($arg),*)
        }
    };
}

#[inline(always)]
fn dot_kernel(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len();
    let b = &b[..n];
    let mut acc = [0.0; LANES];
    let mut ca = a.chunks_exact(LANES);
    let mut cb = b.chunks_exact(LANES);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for l in 0..LANES {
            acc[l] += x[l] * y[l];
        }
    }
    let mut tail = 0.0;
    for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
        tail += x * y;
    }
    sum_lanes(acc) + tail
}
dispatch!(dot(a: &[f64], b: &[f64]) -> f64, dot_kernel, avx2 = simd::dot);

/// First half of a leapfrog step with a diagonal metric, out of place:
/// `p_t = p_s + (eps/2) g_s`, `x_t = x_s + eps · minv ⊙ p_t`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn leapfrog_diag_first_kernel(
    x_s: &[f64],
    p_s: &[f64],
    g_s: &[f64],
    minv: &[f64],
    eps: f64,
    x_t: &mut [f64],
    p_t: &mut [f64],
) {
    let n = x_s.len();
    let (p_s, g_s, minv, x_t, p_t) = (
        &p_s[..n],
        &g_s[..n],
        &minv[..n],
        &mut x_t[..n],
        &mut p_t[..n],
    );
    let half = 0.5 * eps;
    for i in 0..n {
        let p = p_s[i] + half * g_s[i];
        p_t[i] = p;
        x_t[i] = x_s[i] + eps * (minv[i] * p);
    }
}

dispatch!(leapfrog_diag_first(x_s: &[f64], p_s: &[f64], g_s: &[f64], minv: &[f64], eps: f64, x_t: &mut [f64], p_t: &mut [f64]) -> (), leapfrog_diag_first_kernel);

/// Second half of a leapfrog step with a diagonal metric, in place:
/// `p += (eps/2) g`, `v = minv ⊙ p`; returns `p · v` (twice the kinetic energy).
#[inline(always)]
fn leapfrog_diag_second_kernel(
    p: &mut [f64],
    g: &[f64],
    minv: &[f64],
    eps: f64,
    v: &mut [f64],
) -> f64 {
    let n = p.len();
    let (g, minv, v) = (&g[..n], &minv[..n], &mut v[..n]);
    let half = 0.5 * eps;
    let mut acc = [0.0; LANES];
    let mut pc = p.chunks_exact_mut(LANES);
    let mut vc = v.chunks_exact_mut(LANES);
    let mut gc = g.chunks_exact(LANES);
    let mut mc = minv.chunks_exact(LANES);
    for (((p, v), g), m) in (&mut pc).zip(&mut vc).zip(&mut gc).zip(&mut mc) {
        for l in 0..LANES {
            let pi = p[l] + half * g[l];
            p[l] = pi;
            let vi = m[l] * pi;
            v[l] = vi;
            acc[l] += pi * vi;
        }
    }
    let tail = pc
        .into_remainder()
        .iter_mut()
        .zip(vc.into_remainder())
        .zip(gc.remainder())
        .zip(mc.remainder());
    let mut rest = 0.0;
    for (((p, v), g), m) in tail {
        let pi = *p + half * g;
        *p = pi;
        let vi = m * pi;
        *v = vi;
        rest += pi * vi;
    }
    sum_lanes(acc) + rest
}
dispatch!(leapfrog_diag_second(p: &mut [f64], g: &[f64], minv: &[f64], eps: f64, v: &mut [f64]) -> f64, leapfrog_diag_second_kernel, avx2 = simd::leapfrog_diag_second);

/// `v = minv ⊙ p`; returns `p · v`.
#[inline(always)]
fn diag_velocity_kernel(p: &[f64], minv: &[f64], v: &mut [f64]) -> f64 {
    let n = p.len();
    let (minv, v) = (&minv[..n], &mut v[..n]);
    let mut acc = [0.0; LANES];
    let mut pc = p.chunks_exact(LANES);
    let mut vc = v.chunks_exact_mut(LANES);
    let mut mc = minv.chunks_exact(LANES);
    for ((p, v), m) in (&mut pc).zip(&mut vc).zip(&mut mc) {
        for l in 0..LANES {
            let vi = m[l] * p[l];
            v[l] = vi;
            acc[l] += p[l] * vi;
        }
    }
    let tail = pc
        .remainder()
        .iter()
        .zip(vc.into_remainder())
        .zip(mc.remainder());
    let mut rest = 0.0;
    for ((p, v), m) in tail {
        let vi = m * p;
        *v = vi;
        rest += p * vi;
    }
    sum_lanes(acc) + rest
}
dispatch!(diag_velocity(p: &[f64], minv: &[f64], v: &mut [f64]) -> f64, diag_velocity_kernel);

/// Inputs of the no-U-turn check when two adjacent sub-trajectories `a` and `b` are joined
/// (`a` built first; "inner" ends touch each other, "outer" ends are the far ends).
pub(crate) struct JoinInputs<'a> {
    pub rho_a: &'a [f64],
    pub rho_b: &'a [f64],
    pub p_inner_a: &'a [f64],
    pub p_inner_b: &'a [f64],
    pub v_outer_a: &'a [f64],
    pub v_inner_a: &'a [f64],
    pub v_inner_b: &'a [f64],
    pub v_outer_b: &'a [f64],
}

/// Writes `rho = rho_a + rho_b` and evaluates the generalised no-U-turn criterion (Betancourt
/// 2017, with Stan's extra checks across the join): returns `true` if the joined trajectory
/// may continue, i.e. all six projections are positive:
/// `v_outer_a·rho`, `v_outer_b·rho` (whole trajectory),
/// `v_outer_a·(rho_a + p_inner_b)`, `v_inner_b·(rho_a + p_inner_b)` (a plus b's first point),
/// `v_inner_a·(rho_b + p_inner_a)`, `v_outer_b·(rho_b + p_inner_a)` (b plus a's last point).
type V4 = [f64; LANES];

#[inline(always)]
fn load(s: &[f64]) -> V4 {
    [s[0], s[1], s[2], s[3]]
}

#[inline(always)]
fn add(a: V4, b: V4) -> V4 {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3]]
}

#[inline(always)]
fn mul_acc(acc: &mut V4, a: V4, b: V4) {
    for l in 0..LANES {
        acc[l] += a[l] * b[l];
    }
}

#[inline(always)]
fn join_kernel(j: &JoinInputs<'_>, rho: &mut [f64]) -> bool {
    let n = rho.len();
    let (ra, rb, pia, pib) = (
        &j.rho_a[..n],
        &j.rho_b[..n],
        &j.p_inner_a[..n],
        &j.p_inner_b[..n],
    );
    let (voa, via, vib, vob) = (
        &j.v_outer_a[..n],
        &j.v_inner_a[..n],
        &j.v_inner_b[..n],
        &j.v_outer_b[..n],
    );
    let z = [0.0; LANES];
    let (mut a0, mut a1, mut a2, mut a3, mut a4, mut a5) = (z, z, z, z, z, z);
    let n4 = n - n % LANES;
    let chunks = ra[..n4]
        .chunks_exact(LANES)
        .zip(rb[..n4].chunks_exact(LANES))
        .zip(pia[..n4].chunks_exact(LANES))
        .zip(pib[..n4].chunks_exact(LANES))
        .zip(voa[..n4].chunks_exact(LANES))
        .zip(via[..n4].chunks_exact(LANES))
        .zip(vib[..n4].chunks_exact(LANES))
        .zip(vob[..n4].chunks_exact(LANES))
        .zip(rho[..n4].chunks_exact_mut(LANES));
    for ((((((((ra, rb), pia), pib), voa), via), vib), vob), out) in chunks {
        let (ra, rb, voa, vob) = (load(ra), load(rb), load(voa), load(vob));
        let r = add(ra, rb);
        out.copy_from_slice(&r);
        mul_acc(&mut a0, voa, r);
        mul_acc(&mut a1, vob, r);
        let ea = add(ra, load(pib));
        mul_acc(&mut a2, voa, ea);
        mul_acc(&mut a3, load(vib), ea);
        let eb = add(rb, load(pia));
        mul_acc(&mut a4, load(via), eb);
        mul_acc(&mut a5, vob, eb);
    }
    // The tail goes to separate scalars: indexing the lane arrays with a run-time lane
    // would force them out of registers.
    let mut t = [0.0; 6];
    for k in n4..n {
        let r = ra[k] + rb[k];
        rho[k] = r;
        t[0] += voa[k] * r;
        t[1] += vob[k] * r;
        let ea = ra[k] + pib[k];
        t[2] += voa[k] * ea;
        t[3] += vib[k] * ea;
        let eb = rb[k] + pia[k];
        t[4] += via[k] * eb;
        t[5] += vob[k] * eb;
    }
    [a0, a1, a2, a3, a4, a5]
        .iter()
        .zip(t)
        .all(|(a, t)| sum_lanes(*a) + t > 0.0)
}
dispatch!(join(j: &JoinInputs<'_>, rho: &mut [f64]) -> bool, join_kernel, avx2 = simd::join);

/// `y = A x` for a row-major `n × n` matrix `a`.
#[inline(always)]
fn matvec_kernel(a: &[f64], x: &[f64], y: &mut [f64]) {
    let n = x.len();
    for (i, yi) in y[..n].iter_mut().enumerate() {
        *yi = dot_kernel(&a[i * n..(i + 1) * n], x);
    }
}
dispatch!(matvec(a: &[f64], x: &[f64], y: &mut [f64]) -> (), matvec_kernel);

/// `y += alpha x`.
#[inline(always)]
fn axpy_kernel(alpha: f64, x: &[f64], y: &mut [f64]) {
    let n = y.len();
    let x = &x[..n];
    for i in 0..n {
        y[i] += alpha * x[i];
    }
}
dispatch!(axpy(alpha: f64, x: &[f64], y: &mut [f64]) -> (), axpy_kernel);

/// AVX2 versions of the kernels with reductions, written with intrinsics: the compiler's
/// own vectorisation of the lane loops above interleaves the accumulators badly. Each does
/// exactly the generic kernel's operations (lane `l` accumulates elements `l`, `l + 4`, …;
/// multiply then add, no fused multiply-add; lanes summed as `(0 + 1) + (2 + 3)`; the tail
/// summed separately), so both paths give bit-identical results.
#[cfg(target_arch = "x86_64")]
mod simd {
    use std::arch::x86_64::*;

    use super::{JoinInputs, LANES};

    #[inline(always)]
    unsafe fn hsum(v: __m256d) -> f64 {
        let mut a = [0.0; LANES];
        _mm256_storeu_pd(a.as_mut_ptr(), v);
        (a[0] + a[1]) + (a[2] + a[3])
    }

    #[inline(always)]
    unsafe fn mul_add(acc: __m256d, a: __m256d, b: __m256d) -> __m256d {
        _mm256_add_pd(acc, _mm256_mul_pd(a, b))
    }

    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn dot(a: &[f64], b: &[f64]) -> f64 {
        let n = a.len();
        let b = &b[..n];
        let n4 = n - n % LANES;
        let mut acc = _mm256_setzero_pd();
        let mut i = 0;
        while i < n4 {
            let x = _mm256_loadu_pd(a.as_ptr().add(i));
            let y = _mm256_loadu_pd(b.as_ptr().add(i));
            acc = mul_add(acc, x, y);
            i += LANES;
        }
        let mut tail = 0.0;
        for k in n4..n {
            tail += a[k] * b[k];
        }
        hsum(acc) + tail
    }

    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn leapfrog_diag_second(
        p: &mut [f64],
        g: &[f64],
        minv: &[f64],
        eps: f64,
        v: &mut [f64],
    ) -> f64 {
        let n = p.len();
        let (g, minv, v) = (&g[..n], &minv[..n], &mut v[..n]);
        let half = 0.5 * eps;
        let h = _mm256_set1_pd(half);
        let n4 = n - n % LANES;
        let mut acc = _mm256_setzero_pd();
        let mut i = 0;
        while i < n4 {
            let pi = _mm256_add_pd(
                _mm256_loadu_pd(p.as_ptr().add(i)),
                _mm256_mul_pd(h, _mm256_loadu_pd(g.as_ptr().add(i))),
            );
            _mm256_storeu_pd(p.as_mut_ptr().add(i), pi);
            let vi = _mm256_mul_pd(_mm256_loadu_pd(minv.as_ptr().add(i)), pi);
            _mm256_storeu_pd(v.as_mut_ptr().add(i), vi);
            acc = mul_add(acc, pi, vi);
            i += LANES;
        }
        let mut rest = 0.0;
        for k in n4..n {
            let pi = p[k] + half * g[k];
            p[k] = pi;
            let vi = minv[k] * pi;
            v[k] = vi;
            rest += pi * vi;
        }
        hsum(acc) + rest
    }

    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn join(j: &JoinInputs<'_>, rho: &mut [f64]) -> bool {
        let n = rho.len();
        let (ra, rb, pia, pib) = (
            &j.rho_a[..n],
            &j.rho_b[..n],
            &j.p_inner_a[..n],
            &j.p_inner_b[..n],
        );
        let (voa, via, vib, vob) = (
            &j.v_outer_a[..n],
            &j.v_inner_a[..n],
            &j.v_inner_b[..n],
            &j.v_outer_b[..n],
        );
        let n4 = n - n % LANES;
        let z = _mm256_setzero_pd();
        let (mut a0, mut a1, mut a2, mut a3, mut a4, mut a5) = (z, z, z, z, z, z);
        let mut i = 0;
        while i < n4 {
            let ld = |s: &[f64]| _mm256_loadu_pd(s.as_ptr().add(i));
            let (xa, xb, xoa, xob) = (ld(ra), ld(rb), ld(voa), ld(vob));
            let r = _mm256_add_pd(xa, xb);
            _mm256_storeu_pd(rho.as_mut_ptr().add(i), r);
            a0 = mul_add(a0, xoa, r);
            a1 = mul_add(a1, xob, r);
            let ea = _mm256_add_pd(xa, ld(pib));
            a2 = mul_add(a2, xoa, ea);
            a3 = mul_add(a3, ld(vib), ea);
            let eb = _mm256_add_pd(xb, ld(pia));
            a4 = mul_add(a4, ld(via), eb);
            a5 = mul_add(a5, xob, eb);
            i += LANES;
        }
        let mut t = [0.0; 6];
        for k in n4..n {
            let r = ra[k] + rb[k];
            rho[k] = r;
            t[0] += voa[k] * r;
            t[1] += vob[k] * r;
            let ea = ra[k] + pib[k];
            t[2] += voa[k] * ea;
            t[3] += vib[k] * ea;
            let eb = rb[k] + pia[k];
            t[4] += via[k] * eb;
            t[5] += vob[k] * eb;
        }
        (hsum(a0) + t[0] > 0.0)
            && (hsum(a1) + t[1] > 0.0)
            && (hsum(a2) + t[2] > 0.0)
            && (hsum(a3) + t[3] > 0.0)
            && (hsum(a4) + t[4] > 0.0)
            && (hsum(a5) + t[5] > 0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive_dot(a: &[f64], b: &[f64]) -> f64 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    #[test]
    fn simd_and_generic_kernels_agree_bit_for_bit() {
        for n in [1usize, 5, 8, 13, 100] {
            let a: Vec<f64> = (0..n).map(|i| (i as f64 * 0.37).sin()).collect();
            let b: Vec<f64> = (0..n).map(|i| (i as f64 * 0.11).cos() - 0.2).collect();
            assert_eq!(dot(&a, &b).to_bits(), dot_kernel(&a, &b).to_bits());
            let (mut p1, mut p2, mut v1, mut v2) =
                (a.clone(), a.clone(), vec![0.0; n], vec![0.0; n]);
            let k1 = leapfrog_diag_second(&mut p1, &b, &a, 0.3, &mut v1);
            let k2 = leapfrog_diag_second_kernel(&mut p2, &b, &a, 0.3, &mut v2);
            assert_eq!((k1.to_bits(), &p1, &v1), (k2.to_bits(), &p2, &v2));
            let j = JoinInputs {
                rho_a: &a,
                rho_b: &b,
                p_inner_a: &b,
                p_inner_b: &a,
                v_outer_a: &a,
                v_inner_a: &b,
                v_inner_b: &a,
                v_outer_b: &b,
            };
            let (mut r1, mut r2) = (vec![0.0; n], vec![0.0; n]);
            assert_eq!(join(&j, &mut r1), join_kernel(&j, &mut r2));
            assert_eq!(r1, r2);
        }
    }

    #[test]
    fn kernels_match_naive_versions() {
        for n in [1usize, 3, 4, 7, 16, 101] {
            let a: Vec<f64> = (0..n).map(|i| (i as f64 * 0.37).sin()).collect();
            let b: Vec<f64> = (0..n).map(|i| (i as f64 * 0.11).cos() + 0.5).collect();
            assert!((dot(&a, &b) - naive_dot(&a, &b)).abs() < 1e-12);

            let mut p = a.clone();
            let mut v = vec![0.0; n];
            let pv = leapfrog_diag_second(&mut p, &b, &b, 0.2, &mut v);
            for i in 0..n {
                let pi = a[i] + 0.1 * b[i];
                assert!((p[i] - pi).abs() < 1e-15);
                assert!((v[i] - b[i] * pi).abs() < 1e-15);
            }
            assert!((pv - naive_dot(&p, &v)).abs() < 1e-12);

            let mut rho = vec![0.0; n];
            let ok = join(
                &JoinInputs {
                    rho_a: &a,
                    rho_b: &b,
                    p_inner_a: &a,
                    p_inner_b: &b,
                    v_outer_a: &b,
                    v_inner_a: &b,
                    v_inner_b: &b,
                    v_outer_b: &b,
                },
                &mut rho,
            );
            let r: Vec<f64> = a.iter().zip(&b).map(|(x, y)| x + y).collect();
            assert_eq!(rho, r);
            assert_eq!(ok, naive_dot(&b, &r) > 0.0);
        }
    }
}
