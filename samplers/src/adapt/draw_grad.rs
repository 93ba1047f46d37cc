//! Diagonal metric adaptation from draws *and* gradients, updated after every warm-up
//! iteration, as nutpie (nuts-rs's default adaptation) does it.
//!
//! For a Gaussian target with variances `σᵢ²` the gradient has variances `1 / σᵢ²`, so
//! `sqrt(Var[xᵢ] / Var[∂ᵢ log p])` estimates `σᵢ²` — and it does so from far fewer draws
//! than `Var[xᵢ]` alone, because the gradient carries curvature information that a short,
//! autocorrelated run of draws does not. The estimate is refreshed every iteration from a
//! *foreground* pair of running variances while a *background* pair accumulates; at each
//! switch the background becomes the foreground and a fresh background starts, so early,
//! poorly mixed draws are forgotten. Switches come every 10 iterations in the early part of
//! warm-up (the first 30 %), then in windows growing from 80 by ×1.5; the last 15 % of
//! warm-up keeps the metric fixed so the step size settles on the metric that sampling uses.
//!
//! In the early part each `M⁻¹ᵢᵢ` is floored at the draws' own variance `Var[xᵢ]`. A chain
//! that starts where the gradients are huge (the tail of a minor mode, or a boundary of a
//! constrained parameter) sees `Var[∂ᵢ]` enormous and the ratio tiny; without the floor the
//! metric then shrinks the steps so far that the chain freezes where it started — which is
//! what left 8 of 48 `hmm_drive` chains in a minor mode. Once draws have spread, the floor
//! no longer binds (for a Gaussian `sqrt(Var x / Var ∂) = σ² = Var x`).

use super::welford::WelfordVar;

/// Fraction of warm-up in which the estimators switch every [`EARLY_SWITCH`] iterations.
const EARLY_FRACTION: f64 = 0.3;
/// Fraction of warm-up at its end with a fixed metric (step size only).
const FINAL_FRACTION: f64 = 0.15;
/// Background length at which the estimators switch in the early part.
const EARLY_SWITCH: usize = 10;
/// First window length after the early part.
const FIRST_LATE_WINDOW: usize = 80;
/// Growth factor of the windows after the early part.
const WINDOW_GROWTH: f64 = 1.5;
/// Samples the foreground needs before it sets the metric.
const MIN_SAMPLES: usize = 3;
/// Bounds of the adapted `M⁻¹ᵢᵢ` (wide: only to keep the metric finite and positive).
const BOUNDS: (f64, f64) = (1e-20, 1e20);

/// Running variances of draws and gradients over the same iterations.
#[derive(Debug, Clone, PartialEq)]
struct DrawGradVariance {
    draws: WelfordVar,
    grads: WelfordVar,
}

impl DrawGradVariance {
    fn new(dim: usize) -> Self {
        Self {
            draws: WelfordVar::new(dim),
            grads: WelfordVar::new(dim),
        }
    }

    fn add(&mut self, position: &[f64], gradient: &[f64]) {
        self.draws.add(position);
        self.grads.add(gradient);
    }

    fn count(&self) -> usize {
        self.draws.moments.num_samples()
    }
}

/// What one warm-up iteration did to the metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MetricChange {
    /// Left as it was.
    None,
    /// Refreshed (the step size carries on adapting).
    Refreshed,
    /// Set from samples for the first time: the step size should be searched afresh.
    First,
    /// Fixed from now on (the first iteration of the final part): the step size should
    /// settle on this metric alone.
    Frozen,
}

/// The schedule and estimators of draw-and-gradient metric adaptation for one chain.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DrawGradAdapter {
    foreground: DrawGradVariance,
    background: DrawGradVariance,
    /// Iterations seen so far.
    counter: usize,
    /// First iteration after the early part.
    early_end: usize,
    /// First iteration of the final, fixed-metric part.
    final_start: usize,
    /// Current window length after the early part.
    window: usize,
    /// Whether the metric has been set from samples yet.
    adapted: bool,
    /// The previous draw, to skip repeated (rejected) draws: they carry no new information
    /// about the spread and would shrink both variances.
    previous: Vec<f64>,
    has_previous: bool,
    draw_var: Vec<f64>,
    grad_var: Vec<f64>,
}

impl DrawGradAdapter {
    pub(crate) fn new(dim: usize, num_warmup: usize) -> Self {
        let n = num_warmup as f64;
        Self {
            foreground: DrawGradVariance::new(dim),
            background: DrawGradVariance::new(dim),
            counter: 0,
            early_end: (EARLY_FRACTION * n) as usize,
            final_start: num_warmup - (FINAL_FRACTION * n) as usize,
            window: FIRST_LATE_WINDOW,
            adapted: false,
            previous: vec![0.0; dim],
            has_previous: false,
            draw_var: vec![0.0; dim],
            grad_var: vec![0.0; dim],
        }
    }

    /// Learns from the draw `position` with gradient `gradient` that ended a warm-up
    /// iteration, and refreshes the diagonal `inv_metric` in place.
    pub(crate) fn learn(
        &mut self,
        position: &[f64],
        gradient: &[f64],
        inv_metric: &mut [f64],
    ) -> MetricChange {
        let draw = self.counter;
        self.counter += 1;
        if draw >= self.final_start {
            let frozen = draw == self.final_start && self.adapted;
            return if frozen {
                MetricChange::Frozen
            } else {
                MetricChange::None
            };
        }
        let is_early = draw < self.early_end;
        if draw == self.early_end {
            self.window = self.window.max(self.background.count());
        }
        let repeated = self.has_previous && self.previous == position;
        if !repeated {
            self.foreground.add(position, gradient);
            self.background.add(position, gradient);
        }
        self.previous.copy_from_slice(position);
        self.has_previous = true;

        let (switch_at, next_window) = if is_early {
            (EARLY_SWITCH, EARLY_SWITCH)
        } else {
            let grown = (self.window as f64 * WINDOW_GROWTH).round() as usize;
            (self.window, grown.max(self.window + 1))
        };
        // A switch so late that the next window could not fill before the final part would
        // leave the metric on a handful of draws: keep the current foreground instead.
        let too_late = draw + next_window > self.final_start;
        if self.background.count() >= switch_at && !too_late {
            let fresh = DrawGradVariance::new(position.len());
            self.foreground = std::mem::replace(&mut self.background, fresh);
            if !is_early {
                self.window = next_window;
            }
        }
        if !self.refresh(inv_metric, is_early) {
            return MetricChange::None;
        }
        if self.adapted {
            MetricChange::Refreshed
        } else {
            self.adapted = true;
            MetricChange::First
        }
    }

    /// `M⁻¹ᵢᵢ = sqrt(Var[xᵢ] / Var[∂ᵢ log p])` from the foreground, floored at `Var[xᵢ]` when
    /// `floor` (the early part), where it is finite and positive (elsewhere the old value
    /// stays). Returns whether the metric was refreshed.
    fn refresh(&mut self, inv_metric: &mut [f64], floor: bool) -> bool {
        if self.foreground.count() < MIN_SAMPLES {
            return false;
        }
        self.foreground.draws.variance(&mut self.draw_var);
        self.foreground.grads.variance(&mut self.grad_var);
        let mut changed = false;
        for ((m, &vx), &vg) in inv_metric
            .iter_mut()
            .zip(&self.draw_var)
            .zip(&self.grad_var)
        {
            let ratio = (vx / vg).sqrt();
            // `max` would ignore a NaN ratio; the finiteness check below must still see it.
            let v = if floor && ratio < vx { vx } else { ratio };
            if v.is_finite() && v > 0.0 {
                *m = v.clamp(BOUNDS.0, BOUNDS.1);
                changed = true;
            }
        }
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Iterations at which the foreground was replaced, for `num_warmup` iterations of
    /// distinct draws.
    fn switches(num_warmup: usize) -> Vec<usize> {
        let mut a = DrawGradAdapter::new(1, num_warmup);
        let mut m = [1.0];
        let mut out = Vec::new();
        for i in 0..num_warmup {
            let before = a.background.count();
            let x = [i as f64];
            a.learn(&x, &[-(i as f64)], &mut m);
            if a.background.count() < before + 1 && i < a.final_start {
                out.push(i);
            }
        }
        out
    }

    #[test]
    fn schedule_switches_early_then_in_growing_windows_and_freezes_at_the_end() {
        // 1000 iterations: early part 0..300 switching every 10; then windows of 80 and 120;
        // the foreground started at 500 is kept to the end, as a window of 180 and the next
        // one (270) would not both fill before 850; fixed metric from 850.
        let s = switches(1000);
        let early: Vec<usize> = (0..30).map(|k| 9 + 10 * k).collect();
        assert_eq!(&s[..30], &early[..]);
        assert_eq!(&s[30..], &[379, 499]);
        let mut a = DrawGradAdapter::new(1, 1000);
        let mut m = [1.0];
        for i in 0..1000 {
            a.learn(&[(i * i % 17) as f64], &[1.0 + (i % 3) as f64], &mut m);
            if i == 849 {
                let frozen = m[0];
                // The first frozen iteration says so (the step size restarts), then nothing.
                assert_eq!(a.learn(&[850.0], &[0.5], &mut m), MetricChange::Frozen);
                for j in 851..1000 {
                    assert_eq!(a.learn(&[j as f64], &[0.5], &mut m), MetricChange::None);
                }
                assert_eq!(m[0], frozen);
                break;
            }
        }
    }

    #[test]
    fn estimate_is_the_draw_over_gradient_variance_ratio() {
        // Draws x and gradients −x / σ² of a normal with σ² = 4: the ratio is σ⁴, its root σ².
        // Warm-up of 6: only draw 0 is early, so the floor (Var x = 4.675 over all five,
        // above σ² = 4) does not apply once the estimate is made.
        let mut a = DrawGradAdapter::new(2, 6);
        let mut m = [1.0, 1.0];
        let xs = [0.5, -1.0, 2.5, 3.0, -2.0];
        let mut changes = Vec::new();
        for &x in &xs {
            changes.push(a.learn(&[x, x], &[-x / 4.0, 0.0], &mut m));
        }
        assert_eq!(changes[..2], [MetricChange::None, MetricChange::None]);
        assert_eq!(changes[2], MetricChange::First);
        assert_eq!(changes[3], MetricChange::Refreshed);
        assert!((m[0] - 4.0).abs() < 1e-12, "{m:?}");
        // A coordinate whose gradient never varies keeps its old value.
        assert_eq!(m[1], 1.0);
        // A repeated (rejected) draw is not counted.
        let before = a.foreground.count();
        a.learn(&[-2.0, -2.0], &[0.5, 0.0], &mut m);
        assert_eq!(a.foreground.count(), before);
    }

    /// Sample variance of `xs` (n − 1 denominator), computed directly.
    fn sample_variance(xs: &[f64]) -> f64 {
        let m = xs.iter().sum::<f64>() / xs.len() as f64;
        xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (xs.len() - 1) as f64
    }

    #[test]
    fn early_estimate_is_floored_at_the_draw_variance_and_later_is_not() {
        // Gradients 100·x: the ratio is sqrt(Var x / (10⁴ Var x)) = 0.01, far below Var x.
        // Warm-up of 20: early part 0..6, final part from 17.
        let xs: Vec<f64> = (0..16)
            .map(|i| ((i * 7) % 5) as f64 - 2.0 + 0.1 * i as f64)
            .collect();
        let mut a = DrawGradAdapter::new(1, 20);
        let mut m = [1.0];
        for (i, &x) in xs.iter().enumerate() {
            a.learn(&[x], &[100.0 * x], &mut m);
            if i == 4 {
                // Early: five draws, no switch yet (the early switch is at 10).
                let want = sample_variance(&xs[..5]);
                assert!((m[0] - want).abs() < 1e-12 * want, "{} vs {want}", m[0]);
            }
        }
        // Late: the plain ratio.
        assert!((m[0] - 0.01).abs() < 1e-12, "{}", m[0]);
    }
}
