//! The reference HMM's emission, `ℓ[t][k] = ln N(y_t; (k + 1) · signal, noise)` (the seed
//! model's), in the three ways reverse mode can record it. One copy serves the `hmm` bench,
//! the `hmm_*` tests of `trellis-models` and the allocation test of `trellis-tests` (the
//! tests include this file with `#[path]`, so it depends on nothing but the library crates).
#![allow(dead_code)]

use trellis_ad::Scalar;
use trellis_models::{Emission, FusedEmission};

/// `ln √(2π)`.
pub const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;

/// The fused fast path ([`Emission::fused`]): no per-density nodes.
pub const FUSED: u8 = 0;
/// One `T::custom` node per log-density (value and partials in `f64`).
pub const NODES: u8 = 1;
/// Generic arithmetic, one node per operation.
pub const OPS: u8 = 2;

/// `ln N(y_t; (k + 1) · signal, noise)` for `k < K`, recorded as `MODE` says.
pub struct SharedSignal<T, const MODE: u8 = FUSED> {
    /// The mean step between states.
    pub signal: T,
    /// The standard deviation shared by all states.
    pub noise: T,
    /// Number of states `K`.
    pub k: usize,
    log_noise: T,
    inv_noise: T,
    ln_sd: f64,
    inv_sd: f64,
}

impl<T: Scalar, const MODE: u8> SharedSignal<T, MODE> {
    /// The emission recorded as `MODE` says.
    pub fn with_mode(signal: T, noise: T, k: usize) -> Self {
        let plain = MODE != OPS && T::CUSTOM_IS_CHEAPER;
        let (log_noise, inv_noise) = if plain {
            (T::constant(0.0), T::constant(0.0))
        } else {
            (noise.ln(), T::constant(1.0) / noise)
        };
        Self {
            signal,
            noise,
            k,
            log_noise,
            inv_noise,
            ln_sd: noise.value().ln(),
            inv_sd: 1.0 / noise.value(),
        }
    }

    /// `(z, ℓ)` in plain values, with the same operations as the generic `f64` path.
    #[inline]
    fn plain(&self, y: f64, k: usize) -> (f64, f64) {
        let z = (y - self.signal.value() * ((k + 1) as f64)) * self.inv_sd;
        (z, -(z * z) * 0.5 - self.ln_sd - HALF_LN_2PI)
    }
}

impl<T: Scalar> SharedSignal<T> {
    /// The emission on the fused fast path.
    pub fn new(signal: T, noise: T, k: usize) -> Self {
        Self::with_mode(signal, noise, k)
    }

    /// The emission with one tape node per log-density under reverse mode.
    pub fn per_density_nodes(signal: T, noise: T, k: usize) -> SharedSignal<T, NODES> {
        SharedSignal::with_mode(signal, noise, k)
    }
}

impl<T: Scalar, const MODE: u8> Emission<T> for SharedSignal<T, MODE> {
    type Obs = f64;
    fn n_states(&self) -> usize {
        self.k
    }
    #[inline]
    fn log_densities(&self, seq: &[f64], t: usize, out: &mut [T]) {
        let y = seq[t];
        if MODE != OPS && T::CUSTOM_IS_CHEAPER {
            let inv = self.inv_sd;
            let inputs = [self.signal, self.noise];
            for (k, o) in out.iter_mut().enumerate() {
                let (z, value) = self.plain(y, k);
                let w = (k + 1) as f64;
                *o = T::custom(&inputs, value, &[z * inv * w, (z * z - 1.0) * inv]);
            }
        } else {
            for (k, o) in out.iter_mut().enumerate() {
                let z = (T::constant(y) - self.signal * ((k + 1) as f64)) * self.inv_noise;
                *o = -(z * z) * 0.5 - self.log_noise - HALF_LN_2PI;
            }
        }
    }
    fn fused(&self) -> Option<&dyn FusedEmission<T, Obs = f64>> {
        if MODE == FUSED {
            Some(self)
        } else {
            None
        }
    }
}

impl<T: Scalar, const MODE: u8> FusedEmission<T> for SharedSignal<T, MODE> {
    fn parameters(&self, out: &mut Vec<T>) {
        out.extend([self.signal, self.noise]);
    }
    #[inline]
    fn log_densities_with_jacobian(&self, seq: &[f64], t: usize, out: &mut [f64], jac: &mut [f64]) {
        self.step_with_jacobian(seq[t], out, jac);
    }

    /// Every step in one loop (no per-step slicing of the buffers by index).
    fn sequence_with_jacobian(&self, seq: &[f64], values: &mut [f64], jacobian: &mut [f64]) {
        let k = self.k;
        let steps = values
            .chunks_exact_mut(k)
            .zip(jacobian.chunks_exact_mut(2 * k));
        for (&y, (out, jac)) in seq.iter().zip(steps) {
            self.step_with_jacobian(y, out, jac);
        }
    }

    /// `step_with_jacobian` writes all `K` values and `2K` partials of a step.
    fn writes_every_entry(&self) -> bool {
        true
    }

    /// The same loop, with zeros at missing steps.
    fn observed_steps_with_jacobian(
        &self,
        seq: &[f64],
        missing: &[bool],
        values: &mut [f64],
        jacobian: &mut [f64],
    ) {
        let k = self.k;
        let steps = values
            .chunks_exact_mut(k)
            .zip(jacobian.chunks_exact_mut(2 * k));
        for ((&y, &gap), (out, jac)) in seq.iter().zip(missing).zip(steps) {
            if gap {
                out.fill(0.0);
                jac.fill(0.0);
            } else {
                self.step_with_jacobian(y, out, jac);
            }
        }
    }

    /// The two loops below never form the Jacobian.
    fn has_vjp(&self) -> bool {
        true
    }

    /// The values of `step_with_jacobian` (the same operations, so the same bits).
    fn sequence_values(&self, seq: &[f64], missing: Option<&[bool]>, values: &mut [f64]) {
        for (t, (&y, out)) in seq.iter().zip(values.chunks_exact_mut(self.k)).enumerate() {
            let gap = missing.is_some_and(|m| m[t]);
            for (k, o) in out.iter_mut().enumerate() {
                *o = if gap { 0.0 } else { self.plain(y, k).1 };
            }
        }
    }

    /// `∂/∂signal = Σ γ (k+1) z / noise`, `∂/∂noise = Σ γ (z² − 1) / noise`, `z` recomputed.
    fn sequence_vjp(
        &self,
        seq: &[f64],
        missing: Option<&[bool]>,
        d_le: &[f64],
        d_theta: &mut [f64],
    ) {
        let (mut d_signal, mut d_noise) = (0.0, 0.0);
        for (t, (&y, g)) in seq.iter().zip(d_le.chunks_exact(self.k)).enumerate() {
            if missing.is_some_and(|m| m[t]) {
                continue;
            }
            for (k, &g) in g.iter().enumerate() {
                let (z, _) = self.plain(y, k);
                d_signal += g * z * ((k + 1) as f64);
                d_noise += g * (z * z - 1.0);
            }
        }
        d_theta[0] = d_signal * self.inv_sd;
        d_theta[1] = d_noise * self.inv_sd;
    }
}

impl<T: Scalar, const MODE: u8> SharedSignal<T, MODE> {
    /// The values `ℓ[k]` and the Jacobian `[∂ℓ[k]/∂signal, ∂ℓ[k]/∂noise]` (row `k`) at `y`.
    #[inline]
    fn step_with_jacobian(&self, y: f64, out: &mut [f64], jac: &mut [f64]) {
        let inv = self.inv_sd;
        for (k, (o, d)) in out.iter_mut().zip(jac.chunks_exact_mut(2)).enumerate() {
            let (z, value) = self.plain(y, k);
            *o = value;
            d[0] = z * inv * ((k + 1) as f64);
            d[1] = (z * z - 1.0) * inv;
        }
    }
}
