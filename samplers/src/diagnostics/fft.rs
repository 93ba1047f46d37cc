//! Autocovariances in O(n log n) by a zero-padded FFT, as ArviZ computes them (rustfft's
//! transforms, planned once per size and thread).

use std::cell::RefCell;
use std::sync::Arc;

use rustfft::num_complex::Complex;
use rustfft::FftPlanner;

use super::internals::mean_of;

thread_local! {
    /// This thread's planner: it keeps every plan it made, so a summary of many parameters
    /// plans each transform size once.
    static PLANNER: RefCell<FftPlanner<f64>> = RefCell::new(FftPlanner::new());
}

/// A forward transform of one power-of-two size.
pub(super) struct Fft {
    size: usize,
    plan: Arc<dyn rustfft::Fft<f64>>,
}

impl Fft {
    pub(super) fn new(size: usize) -> Self {
        debug_assert!(size.is_power_of_two());
        let plan = PLANNER.with(|p| p.borrow_mut().plan_fft_forward(size));
        Fft { size, plan }
    }

    /// Biased autocovariance of `x` (length at most `size / 2`) for lags `0..x.len()`.
    pub(super) fn autocovariance(&self, x: &[f64]) -> Vec<f64> {
        let n = x.len();
        debug_assert!(2 * n <= self.size);
        let m = mean_of(x);
        let mut buffer = vec![Complex::new(0.0, 0.0); self.size];
        for (b, &v) in buffer.iter_mut().zip(x) {
            b.re = v - m;
        }
        let mut scratch = vec![Complex::new(0.0, 0.0); self.plan.get_inplace_scratch_len()];
        self.plan.process_with_scratch(&mut buffer, &mut scratch);
        for b in buffer.iter_mut() {
            *b = Complex::new(b.norm_sqr(), 0.0);
        }
        // The power spectrum is real and symmetric, so a second *forward* transform equals
        // `size` times the inverse transform; zero padding to ≥ 2n removes circular wrap.
        self.plan.process_with_scratch(&mut buffer, &mut scratch);
        let scale = 1.0 / (self.size as f64 * n as f64);
        buffer[..n].iter().map(|v| v.re * scale).collect()
    }
}
