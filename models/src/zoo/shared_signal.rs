//! The reference model's emissions: `y | state k ~ Normal((k + 1)·signal, noise)`, one signal
//! and one noise shared by all states.

use rand_xoshiro::Xoshiro256PlusPlus;
use trellis_ad::Scalar;

use super::{check_values, draw_normal, finite, positive, Family};
use crate::distributions::LN_SQRT_2PI;
use crate::emission::{Emission, FusedEmission};
use crate::hmm::recursion::with_const_states;
use crate::hmm::HmmError;
use crate::layout::{LayoutError, ParamHandle, ParamLayout, Params, Shape};
use crate::model::ModelError;
use crate::priors::Prior;
use crate::simulate::SampleEmission;
use crate::transforms::Transform;

/// `y | state k ~ Normal((k + 1)·signal, noise)` for `k = 0 … K−1` (the PyMC example's
/// emissions; `noise` is a standard deviation).
///
/// In reverse mode each `ℓ[t][k]` is one tape node with partials
/// `∂/∂signal = (k+1)·z/noise` and `∂/∂noise = (z² − 1)/noise`, `z = (y − (k+1)·signal)/noise`.
///
/// ```
/// use trellis_models::{zoo::SharedSignalGaussian, Emission};
/// let e = SharedSignalGaussian::new(1.15, 0.15, 3)?;
/// let mut out = [0.0; 3];
/// e.log_densities(&[2.3], 0, &mut out); // the mean of state 1
/// assert!((out[1] - (-(0.15f64).ln() - 0.9189385332046727)).abs() < 1e-14);
/// # Ok::<(), trellis_models::ModelError>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct SharedSignalGaussian<T> {
    signal: T,
    noise: T,
    n_states: usize,
    /// `−ln noise − ½ ln 2π`, computed once per view rather than once per time step.
    norm: T,
}

impl<T: Scalar> SharedSignalGaussian<T> {
    /// `K = n_states` states sharing `signal` and `noise`.
    ///
    /// # Errors
    /// No states, a non-finite signal, a noise that is not positive and finite.
    pub fn new(signal: T, noise: T, n_states: usize) -> Result<Self, ModelError> {
        if n_states == 0 {
            return Err(HmmError::NoStates.into());
        }
        check_values("emission_signal", &[signal], finite, "must be finite")?;
        check_values(
            "emission_noise",
            &[noise],
            positive,
            "must be positive and finite",
        )?;
        Ok(Self::from_parts(signal, noise, n_states))
    }

    /// A view without checks (the layout guarantees the support).
    pub(crate) fn from_parts(signal: T, noise: T, n_states: usize) -> Self {
        Self {
            signal,
            noise,
            n_states,
            norm: -noise.ln() - LN_SQRT_2PI,
        }
    }
}

impl<T: Scalar> Emission<T> for SharedSignalGaussian<T> {
    type Obs = f64;

    fn log_densities(&self, seq: &[f64], t: usize, out: &mut [T]) {
        let y = seq[t];
        if T::CUSTOM_IS_CHEAPER {
            // The benchmark's hot loop: f64 arithmetic and one node per entry.
            let (signal, noise) = (self.signal.value(), self.noise.value());
            let inv = 1.0 / noise;
            let norm = self.norm.value();
            let inputs = [self.signal, self.noise];
            for (k, o) in out.iter_mut().enumerate() {
                let c = (k + 1) as f64;
                let z = (y - c * signal) * inv;
                let value = -0.5 * z * z + norm;
                *o = T::custom(&inputs, value, &[c * z * inv, (z * z - 1.0) * inv]);
            }
        } else {
            for (k, o) in out.iter_mut().enumerate() {
                let z = (-(self.signal * (k + 1) as f64) + y) / self.noise;
                *o = -(z * z) * 0.5 + self.norm;
            }
        }
    }

    fn n_states(&self) -> usize {
        self.n_states
    }

    /// Reverse mode's fast path ([`FusedEmission`]).
    fn fused(&self) -> Option<&dyn FusedEmission<T, Obs = f64>> {
        Some(self)
    }
}

/// Reverse mode's fast path: two scalars (signal, noise) for all states, so the forward
/// algorithm folds `∂ℓ/∂(signal, noise)` into its fused adjoint and records one node per
/// sequence.
impl<T: Scalar> FusedEmission<T> for SharedSignalGaussian<T> {
    fn parameters(&self, out: &mut Vec<T>) {
        out.push(self.signal);
        out.push(self.noise);
    }

    fn log_densities_with_jacobian(&self, seq: &[f64], t: usize, out: &mut [f64], jac: &mut [f64]) {
        self.plain().step(seq[t], out, jac);
    }

    /// Every step in one loop, with the parameters' plain values and `1/noise` taken once
    /// per sequence (the provided loop would slice the buffers and divide at every step).
    /// The same operations per entry as [`log_densities_with_jacobian`](Self::log_densities_with_jacobian),
    /// so the same bits.
    fn sequence_with_jacobian(&self, seq: &[f64], values: &mut [f64], jacobian: &mut [f64]) {
        let k = self.n_states;
        let plain = self.plain();
        let steps = values
            .chunks_exact_mut(k)
            .zip(jacobian.chunks_exact_mut(2 * k));
        for (&y, (out, jac)) in seq.iter().zip(steps) {
            plain.step(y, out, jac);
        }
    }

    /// [`PlainSignal::step`] writes all `K` values and `2K` partials of a step.
    fn writes_every_entry(&self) -> bool {
        true
    }

    /// As [`sequence_with_jacobian`](Self::sequence_with_jacobian), with zeros at missing steps.
    fn observed_steps_with_jacobian(
        &self,
        seq: &[f64],
        missing: &[bool],
        values: &mut [f64],
        jacobian: &mut [f64],
    ) {
        let k = self.n_states;
        let plain = self.plain();
        let steps = values
            .chunks_exact_mut(k)
            .zip(jacobian.chunks_exact_mut(2 * k));
        for ((&y, &gap), (out, jac)) in seq.iter().zip(missing).zip(steps) {
            if gap {
                out.fill(0.0);
                jac.fill(0.0);
            } else {
                plain.step(y, out, jac);
            }
        }
    }

    /// [`sequence_values`](Self::sequence_values) and [`sequence_vjp`](Self::sequence_vjp)
    /// never form the Jacobian.
    fn has_vjp(&self) -> bool {
        true
    }

    /// The values of [`PlainSignal::step`] (the same operations, so the same bits), in a
    /// loop with `K ≤ 4` known at compile time.
    fn sequence_values(&self, seq: &[f64], missing: Option<&[bool]>, values: &mut [f64]) {
        let (plain, k) = (self.plain(), self.n_states);
        #[cfg(target_arch = "x86_64")]
        if missing.is_none() && k <= 4 && crate::hmm::lanes::available() {
            assert_eq!(values.len(), seq.len() * k, "values: T × K entries");
            // SAFETY: `available()` checked that this CPU has AVX2 and FMA, the only
            // requirement of these `#[target_feature]` functions; they access memory through
            // bounds-checked slices only.
            unsafe { with_const_states!(k, avx2::values::<@>(plain, k, seq, values)) };
            return;
        }
        with_const_states!(k, PlainSignal::values::<@>(plain, k, seq, missing, values));
    }

    /// `∂/∂signal = Σ γ·(k+1)·z / noise`, `∂/∂noise = Σ γ·(z² − 1) / noise`, recomputing `z`
    /// (one accumulator pair per state up to 4, so the sums do not wait on each other).
    fn sequence_vjp(
        &self,
        seq: &[f64],
        missing: Option<&[bool]>,
        d_le: &[f64],
        d_theta: &mut [f64],
    ) {
        let (plain, k) = (self.plain(), self.n_states);
        #[cfg(target_arch = "x86_64")]
        let sums = if missing.is_none() && k <= 4 && crate::hmm::lanes::available() {
            assert_eq!(d_le.len(), seq.len() * k, "d_le: T × K entries");
            // SAFETY: as in `sequence_values`.
            unsafe { with_const_states!(k, avx2::vjp_sums::<@>(plain, k, seq, d_le)) }
        } else {
            with_const_states!(k, PlainSignal::vjp_sums::<@>(plain, k, seq, missing, d_le))
        };
        #[cfg(not(target_arch = "x86_64"))]
        let sums = with_const_states!(k, PlainSignal::vjp_sums::<@>(plain, k, seq, missing, d_le));
        d_theta[0] = sums[0] * plain.inv;
        d_theta[1] = sums[1] * plain.inv;
    }
}

/// The plain values a step's densities and Jacobian need.
#[derive(Clone, Copy)]
struct PlainSignal {
    signal: f64,
    inv: f64,
    norm: f64,
}

impl<T: Scalar> SharedSignalGaussian<T> {
    fn plain(&self) -> PlainSignal {
        PlainSignal {
            signal: self.signal.value(),
            inv: 1.0 / self.noise.value(),
            norm: self.norm.value(),
        }
    }
}

impl PlainSignal {
    /// `ℓ[k]` into `out[k]` and `[∂ℓ[k]/∂signal, ∂ℓ[k]/∂noise]` into `jac[2k..2k + 2]` at `y`.
    #[inline(always)]
    fn step(self, y: f64, out: &mut [f64], jac: &mut [f64]) {
        for (k, (value, d)) in out.iter_mut().zip(jac.chunks_exact_mut(2)).enumerate() {
            let c = (k + 1) as f64;
            let z = self.z(y, c);
            *value = self.value(z);
            d[0] = c * z * self.inv;
            d[1] = (z * z - 1.0) * self.inv;
        }
    }

    /// `z = (y − c·signal) / noise` for the state of mean `c·signal`: one formula for every
    /// route (the values of [`values`](Self::values) are then those of `step`, bit for bit).
    #[inline(always)]
    fn z(self, y: f64, c: f64) -> f64 {
        (y - c * self.signal) * self.inv
    }

    /// `ℓ = −z²/2 − ln noise − ½ ln 2π` at `z`.
    #[inline(always)]
    fn value(self, z: f64) -> f64 {
        -0.5 * z * z + self.norm
    }

    /// `ℓ` of every step into `values` (`K` states; `K = 0`: `k` at run time), zeros at the
    /// steps flagged in `missing`.
    #[inline(always)]
    fn values<const K: usize>(
        self,
        k: usize,
        seq: &[f64],
        missing: Option<&[bool]>,
        values: &mut [f64],
    ) {
        let k = if K > 0 { K } else { k };
        let step = |y: f64, out: &mut [f64]| {
            for (j, value) in out.iter_mut().enumerate() {
                *value = self.value(self.z(y, (j + 1) as f64));
            }
        };
        let steps = seq.iter().zip(values.chunks_exact_mut(k));
        match missing {
            None => steps.for_each(|(&y, out)| step(y, out)),
            Some(missing) => {
                for ((&y, out), &gap) in steps.zip(missing) {
                    if gap {
                        out.fill(0.0);
                    } else {
                        step(y, out);
                    }
                }
            }
        }
    }

    /// `[Σ γ·(k+1)·z, Σ γ·(z² − 1)]` over the observed steps (as [`values`](Self::values)).
    #[inline(always)]
    fn vjp_sums<const K: usize>(
        self,
        k: usize,
        seq: &[f64],
        missing: Option<&[bool]>,
        d_le: &[f64],
    ) -> [f64; 2] {
        let k = if K > 0 { K } else { k };
        // One pair of sums per state for K ≤ 4 (states share them modulo 4 beyond) and per
        // parity of the step, so that no sum waits on the one before it.
        let mut acc = [[[0.0f64; 2]; 4]; 2];
        let step = |acc: &mut [[f64; 2]; 4], y: f64, g: &[f64]| {
            for (j, &g) in g.iter().enumerate() {
                let c = (j + 1) as f64;
                let z = self.z(y, c);
                let a = &mut acc[j % 4];
                a[0] += g * c * z;
                a[1] += g * (z * z - 1.0);
            }
        };
        let [even, odd] = &mut acc;
        match missing {
            None => {
                let pairs = seq.chunks_exact(2).zip(d_le.chunks_exact(2 * k));
                for (y, g) in pairs {
                    step(even, y[0], &g[..k]);
                    step(odd, y[1], &g[k..]);
                }
                if seq.len() % 2 == 1 {
                    let t = seq.len() - 1;
                    step(even, seq[t], &d_le[t * k..(t + 1) * k]);
                }
            }
            Some(missing) => {
                let steps = seq.iter().zip(d_le.chunks_exact(k)).zip(missing);
                for ((&y, g), &gap) in steps {
                    if !gap {
                        step(even, y, g);
                    }
                }
            }
        }
        let [a, b, c, d] =
            std::array::from_fn(|j| [even[j][0] + odd[j][0], even[j][1] + odd[j][1]]);
        [(a[0] + b[0]) + (c[0] + d[0]), (a[1] + b[1]) + (c[1] + d[1])]
    }
}

/// The reference family's values and product on AVX2 + FMA, four entries of the flat
/// `T × K` buffers at a time: a block of four steps is `K` vectors, and each vector takes its
/// observations from the block's four by a constant permutation. Both are the hot loops of a
/// reference gradient outside the forward–backward itself (a fifth of it on the scalar path).
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    use super::PlainSignal;

    /// For vector `v` of a block of four steps with `K` states: the 32-bit permutation that
    /// takes each entry's observation from the block's four, and each entry's `k + 1`.
    fn block_pattern<const K: usize>(v: usize) -> ([i32; 8], [f64; 4]) {
        let mut index = [0; 8];
        let mut c = [0.0; 4];
        for q in 0..4 {
            let flat = 4 * v + q;
            let step = (flat / K) as i32;
            index[2 * q] = 2 * step;
            index[2 * q + 1] = 2 * step + 1;
            c[q] = (flat % K + 1) as f64;
        }
        (index, c)
    }

    /// The block patterns of [`block_pattern`] as vectors, and each entry's mean `c·signal`
    /// (rounded as the scalar `z` rounds it).
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn patterns<const K: usize>(signal: f64) -> [(__m256i, __m256d, __m256d); K] {
        std::array::from_fn(|v| {
            let (index, c) = block_pattern::<K>(v);
            let mean = c.map(|c| c * signal);
            (
                _mm256_loadu_si256(index.as_ptr().cast()),
                _mm256_loadu_pd(c.as_ptr()),
                _mm256_loadu_pd(mean.as_ptr()),
            )
        })
    }

    /// The observations of a block's vector: `ys` (four steps) permuted by `index`.
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn spread(ys: __m256d, index: __m256i) -> __m256d {
        _mm256_castps_pd(_mm256_permutevar8x32_ps(_mm256_castpd_ps(ys), index))
    }

    /// [`PlainSignal::values`] without missing steps (`K` states, `K = 0`: `k` at run time and
    /// the scalar loop; `values.len() = T·K`): the
    /// same operations per entry, so the same bits.
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn values<const K: usize>(
        plain: PlainSignal,
        k: usize,
        seq: &[f64],
        values: &mut [f64],
    ) {
        if K == 0 {
            return plain.values::<0>(k, seq, None, values);
        }
        let patterns = patterns::<K>(plain.signal);
        let (inv, norm, half) = (
            _mm256_set1_pd(plain.inv),
            _mm256_set1_pd(plain.norm),
            _mm256_set1_pd(-0.5),
        );
        let blocks = seq.len() / 4;
        for (ys, out) in seq
            .chunks_exact(4)
            .zip(values.chunks_exact_mut(4 * K))
            .take(blocks)
        {
            let ys = _mm256_loadu_pd(ys.as_ptr());
            for (v, &(index, _, mean)) in patterns.iter().enumerate() {
                let z = _mm256_mul_pd(_mm256_sub_pd(spread(ys, index), mean), inv);
                let value = _mm256_add_pd(_mm256_mul_pd(_mm256_mul_pd(half, z), z), norm);
                _mm256_storeu_pd(out[4 * v..4 * v + 4].as_mut_ptr(), value);
            }
        }
        let done = 4 * blocks;
        plain.values::<K>(K, &seq[done..], None, &mut values[done * K..]);
    }

    /// [`PlainSignal::vjp_sums`] without missing steps (`K` as in [`values`]; `d_le.len() = T·K`): the same
    /// terms, summed in another order.
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn vjp_sums<const K: usize>(
        plain: PlainSignal,
        k: usize,
        seq: &[f64],
        d_le: &[f64],
    ) -> [f64; 2] {
        if K == 0 {
            return plain.vjp_sums::<0>(k, seq, None, d_le);
        }
        let patterns = patterns::<K>(plain.signal);
        let (inv, one) = (_mm256_set1_pd(plain.inv), _mm256_set1_pd(1.0));
        let mut sums = [[_mm256_setzero_pd(); 2]; K];
        let blocks = seq.len() / 4;
        for (ys, g) in seq
            .chunks_exact(4)
            .zip(d_le.chunks_exact(4 * K))
            .take(blocks)
        {
            let ys = _mm256_loadu_pd(ys.as_ptr());
            for (v, &(index, c, mean)) in patterns.iter().enumerate() {
                let z = _mm256_mul_pd(_mm256_sub_pd(spread(ys, index), mean), inv);
                let g = _mm256_loadu_pd(g[4 * v..4 * v + 4].as_ptr());
                let [signal, noise] = &mut sums[v];
                *signal = _mm256_fmadd_pd(_mm256_mul_pd(g, z), c, *signal);
                *noise = _mm256_fmadd_pd(g, _mm256_fmsub_pd(z, z, one), *noise);
            }
        }
        let done = 4 * blocks;
        let tail = plain.vjp_sums::<K>(K, &seq[done..], None, &d_le[done * K..]);
        let mut out = [0.0; 2];
        for (o, (which, t)) in out.iter_mut().zip([0, 1].into_iter().zip(tail)) {
            let mut total = sums[0][which];
            for s in &sums[1..] {
                total = _mm256_add_pd(total, s[which]);
            }
            let mut lanes = [0.0; 4];
            _mm256_storeu_pd(lanes.as_mut_ptr(), total);
            *o = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + t;
        }
        out
    }
}

impl<T: Scalar> SampleEmission<T> for SharedSignalGaussian<T> {
    fn check_params(&self) -> Result<(), ModelError> {
        Self::new(self.signal, self.noise, self.n_states).map(|_| ())
    }

    fn sample(&self, state: usize, _history: &[f64], rng: &mut Xoshiro256PlusPlus) -> f64 {
        draw_normal(
            (state + 1) as f64 * self.signal.value(),
            self.noise.value(),
            rng,
        )
    }
}

/// The reference model's family: `emission_signal ~ Normal(0, 1)` (identity transform) and
/// `emission_noise ~ HalfNormal(1)` (log transform). States are identified by their means
/// `(k + 1)·signal`, so there is no label switching to break.
#[derive(Debug, Clone, PartialEq)]
pub struct SharedSignalFamily {
    /// Number of hidden states.
    pub n_states: usize,
    /// Prior of `emission_signal`.
    pub signal_prior: Prior,
    /// Prior of `emission_noise`.
    pub noise_prior: Prior,
}

impl SharedSignalFamily {
    /// `K` states with the reference priors.
    pub fn new(n_states: usize) -> Self {
        Self {
            n_states,
            signal_prior: Prior::Normal {
                mu: 0.0,
                sigma: 1.0,
            },
            noise_prior: Prior::HalfNormal { sigma: 1.0 },
        }
    }
}

/// Where [`SharedSignalFamily`]'s parameters are in a model's layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SharedSignalHandles {
    /// `emission_signal`.
    pub signal: ParamHandle,
    /// `emission_noise`.
    pub noise: ParamHandle,
}

impl Family for SharedSignalFamily {
    type Obs = f64;
    type Handles = SharedSignalHandles;
    type Emission<'a, T: Scalar> = SharedSignalGaussian<T>;

    fn add_params(&self, layout: &mut ParamLayout) -> Result<SharedSignalHandles, LayoutError> {
        let scalar = Shape::Scalar;
        let (signal_prior, noise_prior) = (self.signal_prior.clone(), self.noise_prior.clone());
        Ok(SharedSignalHandles {
            signal: layout.declare("emission_signal", scalar, Transform::Identity, signal_prior)?,
            noise: layout.declare("emission_noise", scalar, Transform::Log, noise_prior)?,
        })
    }

    fn emission<'a, T: Scalar>(
        &'a self,
        handles: &SharedSignalHandles,
        params: &Params<'a, T>,
    ) -> SharedSignalGaussian<T> {
        let (signal, noise) = (params.of(handles.signal)[0], params.of(handles.noise)[0]);
        SharedSignalGaussian::from_parts(signal, noise, self.n_states)
    }

    fn n_states(&self) -> usize {
        self.n_states
    }
}
