//! Paired wall-time ratios for a machine whose speed drifts over seconds (CPU steal): the two
//! sides are timed one after the other in short rounds, the side going first alternating, and
//! the median of the per-round ratios is what counts. Pairs milliseconds apart see the same
//! machine, where benchmarks run seconds apart do not. `hmm_ratio` and `tape_ratio` use it.

/// What [`paired_rounds`] measured: per-evaluation seconds of each side (medians over the
/// rounds) and the median and quartiles of the paired ratios `ours / theirs`.
#[derive(Debug, Clone, Copy)]
pub struct PairedTiming {
    /// Seconds per evaluation of the first side (`ours`), median over the rounds.
    pub ours: f64,
    /// Seconds per evaluation of the second side (`theirs`), median over the rounds.
    pub theirs: f64,
    /// Median of the per-round ratios `ours / theirs`.
    pub ratio: f64,
    /// Lower and upper quartiles of those ratios.
    pub quartiles: (f64, f64),
}

/// The median of `values` (sorted in place).
pub fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// `rounds` rounds of `ours()` and `theirs()` (each returns its seconds per evaluation), in
/// alternating order.
pub fn paired_rounds(
    rounds: usize,
    mut ours: impl FnMut() -> f64,
    mut theirs: impl FnMut() -> f64,
) -> PairedTiming {
    let (mut a, mut b, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds.max(1) {
        let (x, y) = if round % 2 == 0 {
            let x = ours();
            (x, theirs())
        } else {
            let y = theirs();
            (ours(), y)
        };
        a.push(x);
        b.push(y);
        ratios.push(x / y);
    }
    let ratio = median(&mut ratios);
    PairedTiming {
        ours: median(&mut a),
        theirs: median(&mut b),
        ratio,
        quartiles: (ratios[ratios.len() / 4], ratios[3 * ratios.len() / 4]),
    }
}
