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
use trellis_benches::reference_model::{reference_point, ReferenceModel};
use trellis_benches::shared_signal::FUSED;

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

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
    let mut grad = vec![0.0; x.len()];
    let mut time = |side: usize, grad: &mut [f64]| -> f64 {
        let start = Instant::now();
        for _ in 0..runs {
            let x = std::hint::black_box(&x[..]);
            let value = match side {
                0 => reverse::value_and_gradient_into(&model, x, grad),
                _ => hand.value_and_gradient(x, grad),
            };
            std::hint::black_box(value);
        }
        start.elapsed().as_secs_f64() / runs as f64
    };
    // Warm both sides up (scratch buffers, caches, frequency).
    time(0, &mut grad);
    time(1, &mut grad);
    let (mut ours, mut theirs, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        let mut seconds = [0.0; 2];
        for side in order {
            seconds[side] = time(side, &mut grad);
        }
        ours.push(seconds[0]);
        theirs.push(seconds[1]);
        ratios.push(seconds[0] / seconds[1]);
    }
    let (ours, theirs) = (median(&mut ours), median(&mut theirs));
    let mut sorted = ratios.clone();
    let ratio = median(&mut sorted);
    let quartiles = (sorted[sorted.len() / 4], sorted[3 * sorted.len() / 4]);
    println!(
        "{rounds} rounds × {runs}: reverse {:.2} µs, hand-written {:.2} µs (medians); \
         median paired ratio {ratio:.3} (quartiles {:.3}–{:.3})",
        ours * 1e6,
        theirs * 1e6,
        quartiles.0,
        quartiles.1
    );
}
