//! Stan's warm-up windows: an initial fast interval (75 iterations), slow windows doubling
//! from 25 in which the metric is estimated, a terminal fast interval (50).

use serde::{Deserialize, Serialize};

/// Lengths of Stan's warm-up windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowSettings {
    /// Initial fast interval (step size only). Default 75.
    pub init_buffer: usize,
    /// Terminal fast interval (step size only). Default 50.
    pub term_buffer: usize,
    /// First slow window; each next one is twice as long. Default 25.
    pub base_window: usize,
}

impl Default for WindowSettings {
    fn default() -> Self {
        Self {
            init_buffer: 75,
            term_buffer: 50,
            base_window: 25,
        }
    }
}

/// Stan's windowed schedule over `num_warmup` iterations.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct WindowSchedule {
    enabled: bool,
    num_warmup: usize,
    init_buffer: usize,
    term_buffer: usize,
    base_window: usize,
    counter: usize,
    window_size: usize,
    next_window: usize,
}

impl WindowSchedule {
    pub(crate) fn new(settings: WindowSettings, num_warmup: usize) -> Self {
        let WindowSettings {
            mut init_buffer,
            mut term_buffer,
            mut base_window,
        } = settings;
        // Too short for any estimate: step size only.
        let enabled = num_warmup >= 20 && base_window > 0;
        if enabled && init_buffer + base_window + term_buffer > num_warmup {
            // Stan's fallback: 15% / 75% / 10%.
            init_buffer = (0.15 * num_warmup as f64) as usize;
            term_buffer = (0.1 * num_warmup as f64) as usize;
            base_window = num_warmup - (init_buffer + term_buffer);
        }
        Self {
            enabled,
            num_warmup,
            init_buffer,
            term_buffer,
            base_window,
            counter: 0,
            window_size: base_window,
            next_window: (init_buffer + base_window).saturating_sub(1),
        }
    }

    fn in_window(&self) -> bool {
        self.enabled
            && self.counter >= self.init_buffer
            && self.counter + self.term_buffer < self.num_warmup
            && self.counter != self.num_warmup
    }

    fn end_of_window(&self) -> bool {
        self.enabled && self.counter == self.next_window && self.counter != self.num_warmup
    }

    fn compute_next_window(&mut self) {
        let last = self.num_warmup - self.term_buffer - 1;
        if self.next_window == last {
            return;
        }
        self.window_size *= 2;
        self.next_window = self.counter + self.window_size;
        if self.next_window != last && self.next_window + 2 * self.window_size > last {
            self.next_window = last;
        }
    }

    /// Advances one iteration; returns `(add this iteration's sample, the window ends here)`.
    pub(crate) fn tick(&mut self) -> (bool, bool) {
        let add = self.in_window();
        let end = self.end_of_window();
        if end {
            self.compute_next_window();
        }
        self.counter += 1;
        (add, end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window_ends(num_warmup: usize) -> Vec<usize> {
        let mut s = WindowSchedule::new(WindowSettings::default(), num_warmup);
        let mut ends = Vec::new();
        let mut first_add = None;
        for i in 0..num_warmup {
            let (add, end) = s.tick();
            if add && first_add.is_none() {
                first_add = Some(i);
            }
            if end {
                ends.push(i);
            }
        }
        if let Some(f) = first_add {
            ends.insert(0, f);
        }
        ends
    }

    #[test]
    fn stan_default_windows_for_1000_warmup() {
        // Slow windows 75–99, 100–149, 150–249, 250–449, 450–949; terminal buffer 950–999.
        assert_eq!(window_ends(1000), vec![75, 99, 149, 249, 449, 949]);
    }

    #[test]
    fn short_warmup_uses_stan_fallback_proportions() {
        // 100 < 75 + 25 + 50: 15 / 75 / 10.
        assert_eq!(window_ends(100), vec![15, 89]);
        assert!(window_ends(10).is_empty());
    }
}
