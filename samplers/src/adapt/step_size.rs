//! Step-size adaptation: Nesterov dual averaging (Hoffman & Gelman 2014, as in Stan) and
//! Stan's heuristic for a first step size.

use serde::{Deserialize, Serialize};

/// Settings of dual-averaging step-size adaptation (Stan's defaults).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DualAveragingSettings {
    /// Target mean acceptance statistic δ, in (0, 1). Default 0.8.
    pub target_accept: f64,
    /// Regularisation scale γ. Default 0.05.
    pub gamma: f64,
    /// Iteration offset t₀. Default 10.
    pub t0: f64,
    /// Relaxation exponent κ. Default 0.75.
    pub kappa: f64,
}

impl Default for DualAveragingSettings {
    fn default() -> Self {
        Self {
            target_accept: 0.8,
            gamma: 0.05,
            t0: 10.0,
            kappa: 0.75,
        }
    }
}

/// Dual-averaging state for `log ε`.
#[derive(Debug, Clone, PartialEq)]
pub struct DualAveraging {
    settings: DualAveragingSettings,
    mu: f64,
    counter: f64,
    s_bar: f64,
    x_bar: f64,
}

impl DualAveraging {
    /// Starts adapting from step size `eps` (the shrinkage point is `log(10 ε)`).
    pub fn new(settings: DualAveragingSettings, eps: f64) -> Self {
        let mut da = Self {
            settings,
            mu: 0.0,
            counter: 0.0,
            s_bar: 0.0,
            x_bar: 0.0,
        };
        da.restart(eps);
        da
    }

    /// Forgets the history and shrinks toward `log(10 ε)` from now on.
    pub fn restart(&mut self, eps: f64) {
        self.mu = (10.0 * eps).ln();
        self.counter = 0.0;
        self.s_bar = 0.0;
        self.x_bar = 0.0;
    }

    /// Learns from one transition's acceptance statistic; returns the next step size.
    pub fn update(&mut self, accept_stat: f64) -> f64 {
        let s = &self.settings;
        // A NaN statistic counts as a total rejection.
        let a = if accept_stat.is_nan() {
            0.0
        } else {
            accept_stat.min(1.0)
        };
        self.counter += 1.0;
        let eta = 1.0 / (self.counter + s.t0);
        self.s_bar = (1.0 - eta) * self.s_bar + eta * (s.target_accept - a);
        let x = self.mu - self.s_bar * self.counter.sqrt() / s.gamma;
        let x_eta = self.counter.powf(-s.kappa);
        self.x_bar = (1.0 - x_eta) * self.x_bar + x_eta * x;
        x.exp()
    }

    /// The averaged step size `exp(x̄)` used after warm-up (`None` before any update).
    pub fn final_step_size(&self) -> Option<f64> {
        (self.counter > 0.0).then(|| self.x_bar.exp())
    }
}

/// Stan's first-step-size heuristic: double or halve `eps` until the acceptance probability
/// of one leapfrog step from the current point crosses 0.8.
///
/// `trial(eps)` draws a fresh momentum, takes one leapfrog step of size `eps` and returns the
/// energy change `H(start) − H(end)` (−∞ for a non-finite end), or an error that stops the
/// search (and is returned). The search is bounded: it stops at `1e-10` or `1e7` instead of
/// failing.
pub(crate) fn find_initial_step_size<E>(
    mut eps: f64,
    mut trial: impl FnMut(f64) -> Result<f64, E>,
) -> Result<f64, E> {
    let log_08 = 0.8f64.ln();
    let delta = trial(eps)?;
    let up = delta > log_08;
    for _ in 0..100 {
        let delta = trial(eps)?;
        let keep_going = if up {
            delta > log_08
        } else {
            delta <= log_08 || delta.is_nan()
        };
        if !keep_going {
            break;
        }
        let next = if up { 2.0 * eps } else { 0.5 * eps };
        if !(1e-10..=1e7).contains(&next) {
            break;
        }
        eps = next;
    }
    Ok(eps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dual_averaging_converges_on_a_monotone_acceptance_curve() {
        // Acceptance falls with ε: a(ε) = exp(−ε²); target 0.8 ⇒ ε* = sqrt(−ln 0.8).
        let mut da = DualAveraging::new(DualAveragingSettings::default(), 1.0);
        let mut eps: f64 = 1.0;
        for _ in 0..2000 {
            eps = da.update((-eps * eps).exp());
        }
        let want = (-(0.8f64.ln())).sqrt();
        let got = da.final_step_size().unwrap();
        assert!((got - want).abs() / want < 0.02, "{got} vs {want}");
        assert!((eps - want).abs() / want < 0.1);
    }

    #[test]
    fn initial_step_size_heuristic_brackets_the_crossing() {
        // ΔH = −ε²: log 0.8 is crossed at ε ≈ 0.47. Downward the search stops at the first
        // acceptable step (0.25); upward at the first unacceptable one (0.64), as Stan's does.
        let search = |eps, delta: fn(f64) -> f64| {
            find_initial_step_size(eps, |e| Ok::<_, ()>(delta(e))).unwrap()
        };
        assert_eq!(search(1.0, |e| -e * e), 0.25);
        assert!((search(0.01, |e| -e * e) - 0.64).abs() < 1e-12);
        // A flat density: bounded growth instead of an endless loop.
        let eps = search(1.0, |_| 0.0);
        assert!(eps <= 1e7 && eps > 1e6);
        // An error stops the search and is returned.
        let mut calls = 0;
        let r = find_initial_step_size(1.0, |_| {
            calls += 1;
            if calls == 3 {
                Err("stop")
            } else {
                Ok(0.0)
            }
        });
        assert_eq!((r, calls), (Err("stop"), 3));
    }
}
