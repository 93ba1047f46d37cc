//! The reference HMM's value + gradient against the hand-written scalar forward–backward,
//! timed in one process in alternating short rounds (issue 12, part 1's target is a ratio):
//!
//! ```text
//! cargo build --release -p trellis-benches --bin hmm_ratio
//! RAYON_NUM_THREADS=1 target/release/hmm_ratio 25 200 16
//! ```
//!
//! Arguments: rounds per layout (default 25), evaluations per round (default 200) and
//! layouts (default 16). Each round times `runs` evaluations of each side, the side going
//! first alternating, and keeps the round's ratio. On a virtual machine whose speed drifts
//! (CPU steal) over seconds, pairs a few milliseconds apart see the same machine, where
//! criterion's separate benchmarks, seconds apart, do not.
//!
//! The ratio also moved with where the gradient buffer lies in memory (by a quarter on
//! session 9's machine; a likely cause, not confirmed, is 4 KiB aliasing between the
//! hand-written loop's gradient sums, kept in memory, and its forward arrays). So the rounds run at
//! `layouts` positions of the buffer, spread over one 4 KiB page in steps of `4096 / layouts`
//! bytes, both sides writing the same buffer at each; the report gives each position's
//! median ratio and the median over positions, which is what counts.
//!
//! The library side is the reference log-likelihood with the library's reference emission
//! ([`LibraryReferenceModel`]: `SharedSignalGaussian`, what `trellis fit` runs);
//! `HMM_RATIO_EMISSION=bench` takes the benches' user-written copy of it instead
//! ([`ReferenceModel`], whose product with the Jacobian is a plain loop).
//! `TRELLIS_HMM_LANES=0` keeps the library on its scalar kernel.

use std::time::Instant;

use trellis_ad::reverse;
use trellis_ad::ScalarFn;
use trellis_benches::hand_written::HandWrittenHmm;
use trellis_benches::paired::{median, paired_rounds, PairedTiming};
use trellis_benches::reference_model::{reference_point, LibraryReferenceModel, ReferenceModel};
use trellis_benches::shared_signal::FUSED;

/// Bytes over which the buffer's position is swept: the span of 4 KiB aliasing.
const PAGE: usize = 4096;

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| {
            a.parse()
                .expect("usage: hmm_ratio [rounds per layout] [runs per round] [layouts]")
        })
        .collect();
    let rounds = args.first().copied().unwrap_or(25).max(1);
    let runs = args.get(1).copied().unwrap_or(200).max(1);
    let layouts = args.get(2).copied().unwrap_or(16).clamp(1, PAGE / 8);
    let (data, x) = reference_point();
    if std::env::var_os("HMM_RATIO_EMISSION").is_some_and(|v| v == "bench") {
        let model = ReferenceModel::<FUSED> {
            data: data.clone(),
            k: 3,
        };
        compare(&model, data, &x, rounds, runs, layouts);
    } else {
        let model = LibraryReferenceModel {
            data: data.clone(),
            k: 3,
        };
        compare(&model, data, &x, rounds, runs, layouts);
    }
}

/// The paired rounds of `model` against the hand-written gradient at every layout.
fn compare<F: ScalarFn + Sync>(
    model: &F,
    data: trellis_models::hmm::Sequences<f64>,
    x: &[f64],
    rounds: usize,
    runs: usize,
    layouts: usize,
) {
    let mut hand = HandWrittenHmm::<3>::new(data, 3);
    let dim = x.len();
    // Both sides compute the same function: value and gradient agree before any timing.
    let (value, gradient) = reverse::value_and_gradient(model, x);
    let mut hand_gradient = vec![0.0; dim];
    let hand_value = hand.value_and_gradient(x, &mut hand_gradient);
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs().max(1.0);
    assert!(
        close(value, hand_value)
            && gradient
                .iter()
                .zip(&hand_gradient)
                .all(|(a, b)| close(*a, *b)),
        "the library and the hand-written gradient disagree: {value} {gradient:?} against \
         {hand_value} {hand_gradient:?}"
    );
    // One arena, a page longer than the buffer plus a page to align its start to: the
    // buffer of layout `l` starts `l · PAGE / layouts` bytes into the first aligned page.
    let arena = std::cell::RefCell::new(vec![0.0f64; 2 * PAGE / 8 + dim]);
    let page_start = {
        let addr = arena.borrow().as_ptr() as usize;
        (addr.next_multiple_of(PAGE) - addr) / 8
    };
    let step = PAGE / 8 / layouts;
    let buffer = |l: usize| page_start + l * step..page_start + l * step + dim;
    let mut per_layout = Vec::new();
    println!("layout  offset  reverse µs  hand µs  ratio (quartiles)");
    for l in 0..layouts {
        let ours = || {
            let mut arena = arena.borrow_mut();
            let grad = &mut arena[buffer(l)];
            let start = Instant::now();
            for _ in 0..runs {
                let x = std::hint::black_box(x);
                std::hint::black_box(reverse::value_and_gradient_into(model, x, grad));
            }
            start.elapsed().as_secs_f64() / runs as f64
        };
        let mut theirs = || {
            let mut arena = arena.borrow_mut();
            let grad = &mut arena[buffer(l)];
            let start = Instant::now();
            for _ in 0..runs {
                let x = std::hint::black_box(x);
                std::hint::black_box(hand.value_and_gradient(x, grad));
            }
            start.elapsed().as_secs_f64() / runs as f64
        };
        // Warm both sides up (scratch buffers, caches, frequency).
        ours();
        theirs();
        let PairedTiming {
            ours,
            theirs,
            ratio,
            quartiles,
        } = paired_rounds(rounds, ours, theirs);
        println!(
            "{l:>6}  {:>6}  {:>10.2}  {:>7.2}  {ratio:.3} ({:.3}–{:.3})",
            l * step * 8,
            ours * 1e6,
            theirs * 1e6,
            quartiles.0,
            quartiles.1
        );
        per_layout.push((ratio, ours, theirs));
    }
    let mut ratios: Vec<f64> = per_layout.iter().map(|p| p.0).collect();
    let mut ours: Vec<f64> = per_layout.iter().map(|p| p.1).collect();
    let mut theirs: Vec<f64> = per_layout.iter().map(|p| p.2).collect();
    let (lowest, highest) = ratios.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), &r| {
        (lo.min(r), hi.max(r))
    });
    println!(
        "{layouts} layouts × {rounds} rounds × {runs}: reverse {:.2} µs, hand-written {:.2} µs \
         (medians); median over layouts of the paired ratio {:.3} (layouts' range \
         {lowest:.3}–{highest:.3})",
        median(&mut ours) * 1e6,
        median(&mut theirs) * 1e6,
        median(&mut ratios),
    );
}
