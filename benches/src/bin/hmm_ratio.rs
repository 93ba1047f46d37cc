//! The reference HMM's value + gradient against the hand-written scalar forward–backward,
//! timed in one process in alternating short rounds (issue 12, part 1's target is a ratio):
//!
//! ```text
//! cargo build --release -p trellis-benches --bin hmm_ratio
//! RAYON_NUM_THREADS=1 target/release/hmm_ratio 201 200
//! ```
//!
//! Arguments: rounds (default 201) and evaluations per round (default 200). Each round times
//! `runs` evaluations of each side, the side going first alternating, and keeps the round's
//! ratio; the median of those paired ratios is what is reported. On a virtual machine whose
//! speed drifts (CPU steal) over seconds, pairs a few milliseconds apart see the same
//! machine, where criterion's separate benchmarks, seconds apart, do not.
//!
//! `TRELLIS_HMM_LANES=0` keeps the library on its scalar kernel.

use std::time::Instant;

use trellis_ad::reverse;
use trellis_benches::hand_written::HandWrittenHmm;
use trellis_benches::paired::{paired_rounds, PairedTiming};
use trellis_benches::reference_model::{reference_point, ReferenceModel};
use trellis_benches::shared_signal::FUSED;

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| {
            a.parse()
                .expect("usage: hmm_ratio [rounds] [runs per round]")
        })
        .collect();
    let rounds = args.first().copied().unwrap_or(201).max(1);
    let runs = args.get(1).copied().unwrap_or(200).max(1);
    let (data, x) = reference_point();
    let model = ReferenceModel::<FUSED> {
        data: data.clone(),
        k: 3,
    };
    let mut hand = HandWrittenHmm::<3>::new(data, 3);
    // One gradient buffer for both sides, as the driver always had: the ratio moves with
    // where the buffers lie (see BENCHMARKS.md, session 9), so the layout stays fixed.
    let grad = std::cell::RefCell::new(vec![0.0; x.len()]);
    let ours = || {
        let mut grad = grad.borrow_mut();
        let start = Instant::now();
        for _ in 0..runs {
            let x = std::hint::black_box(&x[..]);
            std::hint::black_box(reverse::value_and_gradient_into(&model, x, &mut grad));
        }
        start.elapsed().as_secs_f64() / runs as f64
    };
    let mut theirs = || {
        let mut grad = grad.borrow_mut();
        let start = Instant::now();
        for _ in 0..runs {
            let x = std::hint::black_box(&x[..]);
            std::hint::black_box(hand.value_and_gradient(x, &mut grad));
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
        "{rounds} rounds × {runs}: reverse {:.2} µs, hand-written {:.2} µs (medians); \
         median paired ratio {ratio:.3} (quartiles {:.3}–{:.3})",
        ours * 1e6,
        theirs * 1e6,
        quartiles.0,
        quartiles.1
    );
}
