//! A radix-2 FFT, for autocovariances in O(n log n) as ArviZ computes them.

use super::internals::mean_of;

///
/// Twiddle factors are computed directly with `sin_cos` (not by recurrence) so the transform
/// is accurate to a few ulps of the signal's norm, like NumPy's pocketfft.
pub(super) struct Fft {
    size: usize,
    /// `exp(-2πik/size)` for `k < size/2`, as (re, im).
    twiddles: Vec<(f64, f64)>,
    /// Bit-reversal permutation of `0..size`.
    reversed: Vec<usize>,
}

impl Fft {
    pub(super) fn new(size: usize) -> Self {
        debug_assert!(size.is_power_of_two());
        let bits = size.trailing_zeros();
        let twiddles = (0..size / 2)
            .map(|k| {
                let (s, c) = (-2.0 * std::f64::consts::PI * k as f64 / size as f64).sin_cos();
                (c, s)
            })
            .collect();
        let reversed = (0..size)
            .map(|i| {
                if bits == 0 {
                    0
                } else {
                    i.reverse_bits() >> (usize::BITS - bits)
                }
            })
            .collect();
        Fft {
            size,
            twiddles,
            reversed,
        }
    }

    /// In-place forward transform `X_k = Σ x_j exp(-2πijk/size)`.
    pub(super) fn forward(&self, re: &mut [f64], im: &mut [f64]) {
        for i in 0..self.size {
            let j = self.reversed[i];
            if i < j {
                re.swap(i, j);
                im.swap(i, j);
            }
        }
        let mut len = 2;
        while len <= self.size {
            let half = len / 2;
            let stride = self.size / len;
            for start in (0..self.size).step_by(len) {
                for k in 0..half {
                    let (wr, wi) = self.twiddles[k * stride];
                    let (a, b) = (start + k, start + k + half);
                    let tr = re[b] * wr - im[b] * wi;
                    let ti = re[b] * wi + im[b] * wr;
                    re[b] = re[a] - tr;
                    im[b] = im[a] - ti;
                    re[a] += tr;
                    im[a] += ti;
                }
            }
            len *= 2;
        }
    }

    /// Biased autocovariance of `x` (length at most `size / 2`) for lags `0..x.len()`.
    pub(super) fn autocovariance(&self, x: &[f64]) -> Vec<f64> {
        let n = x.len();
        debug_assert!(2 * n <= self.size);
        let m = mean_of(x);
        let mut re = vec![0.0; self.size];
        let mut im = vec![0.0; self.size];
        for (r, &v) in re.iter_mut().zip(x) {
            *r = v - m;
        }
        self.forward(&mut re, &mut im);
        for (r, i) in re.iter_mut().zip(im.iter_mut()) {
            *r = *r * *r + *i * *i;
            *i = 0.0;
        }
        // The power spectrum is real and symmetric, so a second *forward* transform equals
        // `size` times the inverse transform; zero padding to ≥ 2n removes circular wrap.
        self.forward(&mut re, &mut im);
        let scale = 1.0 / (self.size as f64 * n as f64);
        re[..n].iter().map(|&v| v * scale).collect()
    }
}
