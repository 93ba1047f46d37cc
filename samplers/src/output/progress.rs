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
        // Keeps the bars drawn together.
        _multi: Option<MultiProgress>,
    }

    impl Progress {
        /// Bars for `chains` chains of `iterations` iterations each, shown only if `enabled` and
        /// standard error is a terminal.
        pub(crate) fn new(chains: usize, iterations: usize, enabled: bool) -> Self {
            if !(enabled && std::io::stderr().is_terminal()) {
                return Self {
                    bars: (0..chains).map(|_| ProgressBar::hidden()).collect(),
                    _multi: None,
                };
            }
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "chain {prefix:>2} [{bar:30}] {pos}/{len} {msg} ({elapsed} < {eta})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
            let bars = (0..chains)
                .map(|k| {
                    let bar = multi.add(ProgressBar::new(iterations as u64));
                    bar.set_style(style.clone());
                    bar.set_prefix(k.to_string());
                    bar.set_message("waiting");
                    bar
                })
                .collect();
            Self {
                bars,
                _multi: Some(multi),
            }
        }

        /// The bar of chain `k`.
        pub(crate) fn chain(&self, k: usize) -> ChainProgress {
            ChainProgress {
                bar: self.bars[k].clone(),
                divergences: 0,
                warmup: true,
                pending: 0,
            }
        }
    }

    /// Progress reporting of one chain.
    pub(crate) struct ChainProgress {
        bar: ProgressBar,
        divergences: usize,
        warmup: bool,
        pending: u64,
    }

    impl ChainProgress {
        fn message(&self) -> String {
            let phase = if self.warmup { "warm-up" } else { "sampling" };
            match self.divergences {
                0 => phase.to_string(),
                d => format!("{phase}, {d} divergent"),
            }
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
                self.divergences += 1;
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
            let msg = match self.divergences {
                0 => "done".to_string(),
                d => format!("done, {d} divergent"),
            };
            self.bar.finish_with_message(msg);
        }
    }
}

/// The same interface doing nothing, for builds without the `progress` feature.
#[cfg(not(feature = "progress"))]
mod silent {
    /// Progress of all chains of one run: nothing is shown.
    pub(crate) struct Progress;

    impl Progress {
        pub(crate) fn new(_chains: usize, _iterations: usize, _enabled: bool) -> Self {
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
