//! Tests of the state-band figure of decoded paths (`src/plots.rs`, built on the toolkit of
//! `trellis_samplers::plots`): files appear with the right content and size, degenerate
//! input never panics, write failures name the path.
//!
//! Set `TRELLIS_PLOT_DIR=/some/dir` to keep the images for viewing.

use crate::plot_files;
use crate::plots;

use plot_files::{cleanup, leftovers, out_dir, png_size, svg_size};
use plots::{decode_plot, DecodedSequence};

/// The figure of decoded paths alone (no smoothed probabilities, no truth).
fn state_band_plot(
    stem: &std::path::Path,
    sequences: &[(&[f64], &[usize])],
    n_states: usize,
    title: &str,
) -> Result<trellis_samplers::plots::PlotOutput, trellis_samplers::plots::PlotError> {
    let decoded: Vec<DecodedSequence<'_>> = sequences
        .iter()
        .map(|&(observations, states)| DecodedSequence {
            observations,
            states,
            smoothed: None,
            truth: None,
        })
        .collect();
    decode_plot(stem, &decoded, n_states, title)
}

/// Three sequences of 51 observations with a persistent hidden state.
fn synthetic_sequences() -> Vec<(Vec<f64>, Vec<usize>)> {
    // A fixed pseudo-random noise sequence (no RNG dependency needed in this crate).
    let mut u: u64 = 11;
    let mut noise = || {
        u = u
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (u >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    };
    let means = [-1.5, 0.5, 3.0];
    (0..3)
        .map(|k| {
            let mut state = k % 3;
            let mut obs = Vec::new();
            let mut states = Vec::new();
            for t in 0..51 {
                if (t * 7 + k * 5) % 11 == 0 {
                    state = (state + 1 + t % 2) % 3;
                }
                states.push(state);
                obs.push(means[state] + 1.2 * noise());
            }
            (obs, states)
        })
        .collect()
}

#[test]
fn realistic_state_bands() {
    let dir = out_dir("states_realistic");
    let seqs = synthetic_sequences();
    let seq_in: Vec<(&[f64], &[usize])> = seqs
        .iter()
        .map(|(o, s)| (o.as_slice(), s.as_slice()))
        .collect();
    let out = state_band_plot(&dir.join("states"), &seq_in, 3, "Decoded states").unwrap();
    assert_eq!(out.files.len(), 2);
    let svg = std::fs::read_to_string(dir.join("states.svg")).unwrap();
    for s in 0..3 {
        assert!(svg.contains(&format!("state {s}")));
        assert!(svg.contains(&format!("sequence {s} (51 time steps)")));
    }
    assert!(svg.contains("Decoded states") && svg.contains("observation"));
    assert_eq!(png_size(&dir.join("states.png")), svg_size(&svg));
    assert!(leftovers(&dir).is_empty(), "{:?}", leftovers(&dir));
    cleanup(&dir);
}

#[test]
fn degenerate_sequences_give_plots_not_panics() {
    let dir = out_dir("degenerate_seq");
    let obs = [1.0, f64::NAN, 3.0, 3.0, f64::INFINITY, 2.0];
    let states = [0, 0, 1, 7, 7, 2];
    let flat = [4.0; 5];
    let seqs: Vec<(&[f64], &[usize])> = vec![
        (&[], &[]),
        (&obs, &states),
        (&flat, &[1, 1, 1]), // lengths differ
        (&[f64::NAN; 3], &[0, 1, 0]),
        (&[1.0], &[0]),
        (&[1.0], &[0]),
        (&[1.0], &[0]), // seventh: not shown
    ];
    let out = state_band_plot(&dir.join("states"), &seqs, 3, "odd input").unwrap();
    assert_eq!(out.files.len(), 2);
    assert!(out.notices.iter().any(|n| n.contains("first 6 of 7")));
    assert!(out.notices.iter().any(|n| n.contains("n_states = 3")));
    assert!(out
        .notices
        .iter()
        .any(|n| n.contains("sequence 2 has 5 observations but 3")));
    let svg = std::fs::read_to_string(&out.files[0]).unwrap();
    assert!(svg.contains("empty sequence"));
    assert!(!svg.contains("sequence 6"));
    // n_states = 0 infers the legend from the data.
    let out = state_band_plot(&dir.join("inferred"), &seqs[1..2], 0, "t").unwrap();
    let svg = std::fs::read_to_string(&out.files[0]).unwrap();
    assert!(svg.contains("state 7") && !svg.contains("state 8"));
    // Absurd state labels and counts: a capped legend, no overflow, no endless allocation.
    let odd: Vec<(&[f64], &[usize])> = vec![(&[1.0, 2.0], &[usize::MAX, 0])];
    let out = state_band_plot(&dir.join("huge_states"), &odd, usize::MAX, "t").unwrap();
    let svg = std::fs::read_to_string(&out.files[0]).unwrap();
    assert!(svg.contains("state 19") && !svg.contains("state 20") && svg.contains("in all"));
    assert_eq!(
        state_band_plot(&dir.join("huge_inferred"), &odd, 0, "t")
            .unwrap()
            .files
            .len(),
        2
    );
    let out = state_band_plot(&dir.join("none"), &[], 2, "t").unwrap();
    assert!(out.files.is_empty() && !out.notices.is_empty());
    cleanup(&dir);
}

#[test]
fn unwritable_folder_is_an_error_naming_the_path() {
    let dir = out_dir("states_unwritable");
    let one_step: [(&[f64], &[usize]); 1] = [(&[1.0], &[0])];
    let missing = dir.join("does-not-exist").join("states");
    let err = state_band_plot(&missing, &one_step, 1, "t").unwrap_err();
    assert!(err.to_string().contains("does-not-exist"));
    cleanup(&dir);
}

#[test]
fn decode_figure_has_smoothed_probabilities_and_true_states() {
    let dir = out_dir("decode_figure");
    let seqs = synthetic_sequences();
    // Smoothed probabilities that put 0.8 on the decoded state, 0.1 on each other.
    let smoothed: Vec<Vec<f64>> = seqs
        .iter()
        .map(|(_, states)| {
            states
                .iter()
                .flat_map(|&s| (0..3).map(move |k| if k == s { 0.8 } else { 0.1 }))
                .collect()
        })
        .collect();
    let decoded: Vec<DecodedSequence<'_>> = seqs
        .iter()
        .zip(&smoothed)
        .map(|((obs, states), p)| DecodedSequence {
            observations: obs,
            states,
            smoothed: Some(p),
            truth: Some(states),
        })
        .collect();
    let out = decode_plot(&dir.join("states"), &decoded, 3, "Decoded").unwrap();
    assert!(out.notices.is_empty(), "{:?}", out.notices);
    let svg = std::fs::read_to_string(dir.join("states.svg")).unwrap();
    assert_eq!(svg.matches("P(state | all data)").count(), 3);
    assert_eq!(svg.matches("top strip: true states").count(), 3);
    // Title and legend, then 240 + 150 px per sequence.
    let (_, h) = svg_size(&svg);
    assert!((3 * 390..3 * 390 + 120).contains(&h), "{h}");
    // A smoothed array of the wrong size is a notice, not a panic.
    let short = [0.5; 4];
    let bad = [DecodedSequence {
        smoothed: Some(&short),
        ..decoded[0]
    }];
    let out = decode_plot(&dir.join("bad"), &bad, 3, "t").unwrap();
    assert!(
        out.notices.iter().any(|n| n.contains("not drawn")),
        "{:?}",
        out.notices
    );
    cleanup(&dir);
}
