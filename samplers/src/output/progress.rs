//! One `indicatif` progress bar per chain on a terminal (feature `progress`); nothing at all
//! when standard error is not a terminal, when the user asks for silence, or when the crate is
//! built without the feature.

#[cfg(feature = "progress")]
pub(crate) use bars::Progress;
#[cfg(not(feature = "progress"))]
pub(crate) use silent::Progress;

#[cfg(feature = "progress")]
mod bars {
    use std::io::IsTerminal;

    use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

    /// Progress bars of all chains of one run.
    pub(crate) struct Progress {
        bars: Vec<ProgressBar>,
        /// The style of a running chain (with its time estimate).
        style: ProgressStyle,
        // Keeps the bars drawn together.
        _multi: Option<MultiProgress>,
    }

    impl Progress {
        /// Bars for `chains` chains of `iterations` iterations each, numbered 1-based from
        /// `first + 1` as their files are, shown only if `enabled` and standard error is a
        /// terminal.
        pub(crate) fn new(first: usize, chains: usize, iterations: usize, enabled: bool) -> Self {
            if !(enabled && std::io::stderr().is_terminal()) {
                return Self {
                    bars: (0..chains).map(|_| ProgressBar::hidden()).collect(),
                    style: ProgressStyle::default_bar(),
                    _multi: None,
                };
            }
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
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
                style,
                _multi: Some(multi),
            }
        }

        /// The bar of chain `k`.
        pub(crate) fn chain(&self, k: usize) -> ChainProgress {
            let bar = self.bars[k].clone();
            bar.set_style(self.style.clone());
            ChainProgress {
                bar,
                warmup_divergences: 0,
                divergences: 0,
                warmup: true,
                pending: 0,
            }
        }
    }

    /// Progress reporting of one chain.
    pub(crate) struct ChainProgress {
        bar: ProgressBar,
        /// Divergent transitions during warm-up (expected while adapting, so shown apart).
        warmup_divergences: usize,
        /// Divergent transitions after warm-up.
        divergences: usize,
        warmup: bool,
        pending: u64,
    }

    impl ChainProgress {
        fn message(&self) -> String {
            let phase = if self.warmup { "warm-up" } else { "sampling" };
            format!("{phase}{}", self.divergence_note())
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
                note.push_str(&format!(", {} divergent", self.divergences));
            }
            note
        }

        /// Marks the start of warm-up or sampling.
        pub(crate) fn phase(&mut self, warmup: bool) {
            if self.bar.is_hidden() {
                return;
            }
            self.warmup = warmup;
            self.bar.set_message(self.message());
        }

        /// One iteration done.
        #[inline]
        pub(crate) fn tick(&mut self, divergent: bool) {
            if self.bar.is_hidden() {
                return;
            }
            self.pending += 1;
            if divergent {
                if self.warmup {
                    self.warmup_divergences += 1;
                } else {
                    self.divergences += 1;
                }
                self.bar.set_message(self.message());
            }
            if self.pending >= 16 {
                self.bar.inc(self.pending);
                self.pending = 0;
            }
        }

        /// The chain is done.
        pub(crate) fn finish(&mut self) {
            if self.bar.is_hidden() {
                return;
            }
            self.bar.inc(self.pending);
            self.pending = 0;
            self.bar
                .finish_with_message(format!("done{}", self.divergence_note()));
        }
    }
}

/// The same interface doing nothing, for builds without the `progress` feature.
#[cfg(not(feature = "progress"))]
mod silent {
    /// Progress of all chains of one run: nothing is shown.
    pub(crate) struct Progress;

    impl Progress {
        pub(crate) fn new(
            _first: usize,
            _chains: usize,
            _iterations: usize,
            _enabled: bool,
        ) -> Self {
            Self
        }

        pub(crate) fn chain(&self, _k: usize) -> ChainProgress {
            ChainProgress
        }
    }

    /// Progress of one chain: nothing is shown.
    pub(crate) struct ChainProgress;

    impl ChainProgress {
        pub(crate) fn phase(&mut self, _warmup: bool) {}

        #[inline]
        pub(crate) fn tick(&mut self, _divergent: bool) {}

        pub(crate) fn finish(&mut self) {}
    }
}
