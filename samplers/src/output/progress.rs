//! Progress of a run's chains, numbered 1-based as their files are. On a terminal: one
//! `indicatif` bar per chain (feature `progress`). Elsewhere — a batch job's log, a pipe —
//! one plain line per chain at every tenth of its iterations, so logs show progress without
//! control characters. Nothing when the user asks for silence.
//!
//! Queued chains (more chains than threads) say "queued" and give no time estimate: they have
//! no rate yet. Divergences during warm-up are expected while the step size adapts, so they
//! are counted apart from those after warm-up, which the run's warnings are about.

use std::io::IsTerminal;
use std::time::Instant;

/// Progress of all chains of one run.
pub(crate) struct Progress {
    first: usize,
    iterations: usize,
    mode: Mode,
}

enum Mode {
    Off,
    Lines,
    #[cfg(feature = "progress")]
    Bars(bars::Bars),
}

impl Progress {
    /// Progress of `chains` chains of `iterations` iterations each, numbered from
    /// `first + 1`, of which `threads` run at once; shown only if `enabled`.
    pub(crate) fn new(
        first: usize,
        chains: usize,
        iterations: usize,
        enabled: bool,
        threads: usize,
    ) -> Self {
        let mode = if !enabled {
            Mode::Off
        } else if std::io::stderr().is_terminal() {
            terminal_mode(first, chains, iterations)
        } else {
            for k in threads.max(1)..chains {
                eprintln!("chain {}: queued", first + k + 1);
            }
            Mode::Lines
        };
        Self {
            first,
            iterations,
            mode,
        }
    }

    /// The progress of chain `k` of the run (0-based), which starts now.
    pub(crate) fn chain(&self, k: usize) -> ChainProgress {
        let output = match &self.mode {
            Mode::Off => Output::Off,
            Mode::Lines => Output::Lines { next_tenth: 1 },
            #[cfg(feature = "progress")]
            Mode::Bars(bars) => Output::Bar {
                bar: bars.start(k),
                pending: 0,
            },
        };
        ChainProgress {
            number: self.first + k + 1,
            total: self.iterations,
            done: 0,
            warmup: true,
            warmup_divergences: 0,
            divergences: 0,
            started: Instant::now(),
            output,
        }
    }
}

#[cfg(feature = "progress")]
fn terminal_mode(first: usize, chains: usize, iterations: usize) -> Mode {
    Mode::Bars(bars::Bars::new(first, chains, iterations))
}

/// Without the `progress` feature a terminal gets the plain lines too.
#[cfg(not(feature = "progress"))]
fn terminal_mode(_first: usize, _chains: usize, _iterations: usize) -> Mode {
    Mode::Lines
}

enum Output {
    Off,
    /// Plain lines; the next one is due at `next_tenth` tenths of the iterations.
    Lines {
        next_tenth: usize,
    },
    #[cfg(feature = "progress")]
    Bar {
        bar: indicatif::ProgressBar,
        /// Iterations not yet added to the bar (it is updated every 16).
        pending: u64,
    },
}

/// Progress reporting of one chain.
pub(crate) struct ChainProgress {
    /// The chain's number, 1-based.
    number: usize,
    total: usize,
    done: usize,
    warmup: bool,
    /// Divergent transitions during warm-up.
    warmup_divergences: usize,
    /// Divergent transitions after warm-up.
    divergences: usize,
    started: Instant,
    output: Output,
}

impl ChainProgress {
    fn phase_name(&self) -> &'static str {
        if self.warmup {
            "warm-up"
        } else {
            "sampling"
        }
    }

    fn divergence_note(&self) -> String {
        let mut note = String::new();
        if self.warmup_divergences > 0 {
            note.push_str(&format!(
                ", {} divergent in warm-up",
                self.warmup_divergences
            ));
        }
        if self.divergences > 0 {
            note.push_str(&format!(", {} divergent after warm-up", self.divergences));
        }
        note
    }

    /// Marks the start of warm-up or sampling.
    pub(crate) fn phase(&mut self, warmup: bool) {
        self.warmup = warmup;
        #[cfg(feature = "progress")]
        if let Output::Bar { bar, .. } = &self.output {
            bar.set_message(format!("{}{}", self.phase_name(), self.divergence_note()));
        }
    }

    /// One iteration done.
    #[inline]
    pub(crate) fn tick(&mut self, divergent: bool) {
        if matches!(self.output, Output::Off) {
            return;
        }
        self.done += 1;
        if divergent {
            if self.warmup {
                self.warmup_divergences += 1;
            } else {
                self.divergences += 1;
            }
        }
        #[cfg(feature = "progress")]
        let message = divergent.then(|| format!("{}{}", self.phase_name(), self.divergence_note()));
        match &mut self.output {
            Output::Off => {}
            Output::Lines { next_tenth } => {
                // Lines at 10 %, 20 %, …; the last one comes from `finish`.
                if *next_tenth < 10 && self.done * 10 >= *next_tenth * self.total {
                    let tenth = *next_tenth;
                    while *next_tenth < 10 && self.done * 10 >= *next_tenth * self.total {
                        *next_tenth += 1;
                    }
                    self.line(tenth);
                }
            }
            #[cfg(feature = "progress")]
            Output::Bar { bar, pending } => {
                *pending += 1;
                if let Some(message) = message {
                    bar.set_message(message);
                }
                if *pending >= 16 {
                    bar.inc(*pending);
                    *pending = 0;
                }
            }
        }
    }

    /// The plain line at `tenth` tenths of the iterations.
    fn line(&self, tenth: usize) {
        let elapsed = self.started.elapsed().as_secs_f64();
        let left = elapsed * (self.total - self.done) as f64 / self.done.max(1) as f64;
        eprintln!(
            "chain {}: {:>3}% ({} of {} iterations, {}{}), {}, about {} left",
            self.number,
            tenth * 10,
            self.done,
            self.total,
            self.phase_name(),
            self.divergence_note(),
            seconds(elapsed),
            seconds(left)
        );
    }

    /// The chain is done.
    pub(crate) fn finish(&mut self) {
        let note = self.divergence_note();
        match &mut self.output {
            Output::Off => {}
            Output::Lines { .. } => eprintln!(
                "chain {}: 100% ({} iterations in {}){note}, done",
                self.number,
                self.done,
                seconds(self.started.elapsed().as_secs_f64()),
            ),
            #[cfg(feature = "progress")]
            Output::Bar { bar, pending } => {
                bar.inc(*pending);
                *pending = 0;
                bar.finish_with_message(format!("done{note}"));
            }
        }
    }
}

/// A duration for a progress line: `4.2 s`, `3 min 20 s`, `1 h 05 min`.
fn seconds(s: f64) -> String {
    if s < 60.0 {
        format!("{s:.1} s")
    } else if s < 3600.0 {
        format!("{} min {:02} s", (s / 60.0) as u64, (s % 60.0) as u64)
    } else {
        format!(
            "{} h {:02} min",
            (s / 3600.0) as u64,
            ((s % 3600.0) / 60.0) as u64
        )
    }
}

#[cfg(feature = "progress")]
mod bars {
    use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

    /// The bars of all chains of one run, drawn together.
    pub(super) struct Bars {
        bars: Vec<ProgressBar>,
        /// The style of a running chain (with its time estimate).
        running: ProgressStyle,
        _multi: MultiProgress,
    }

    impl Bars {
        pub(super) fn new(first: usize, chains: usize, iterations: usize) -> Self {
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
            let running = ProgressStyle::with_template(
                "chain {prefix:>2} [{bar:30}] {pos}/{len} {msg} ({elapsed} < {eta})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
            // A queued chain has no rate yet, so no time estimate either.
            let queued = ProgressStyle::with_template("chain {prefix:>2} [{bar:30}] {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
            let bars = (0..chains)
                .map(|k| {
                    let bar = multi.add(ProgressBar::new(iterations as u64));
                    bar.set_style(queued.clone());
                    bar.set_prefix((first + k + 1).to_string());
                    bar.set_message("queued");
                    bar
                })
                .collect();
            Self {
                bars,
                running,
                _multi: multi,
            }
        }

        /// The bar of chain `k`, which starts now.
        pub(super) fn start(&self, k: usize) -> ProgressBar {
            let bar = self.bars[k].clone();
            bar.set_style(self.running.clone());
            bar.reset_elapsed();
            bar
        }
    }
}

#[cfg(test)]
mod tests {
    use super::seconds;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(seconds(4.24), "4.2 s");
        assert_eq!(seconds(200.0), "3 min 20 s");
        assert_eq!(seconds(3900.0), "1 h 05 min");
    }
}
