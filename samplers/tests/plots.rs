//! Tests of the plotting module (the trace and posterior figures; the state-band figure is the
//! CLI's, tested in `models/cli/tests/cli_plots.rs`): files appear with the right content and size, degenerate
//! input never panics, write failures name the path.
//!
//! Set `TRELLIS_PLOT_DIR=/some/dir` to keep the images of `realistic_figures` for viewing.

use ndarray::Array2;
use rand::SeedableRng;
use rand_distr::{Distribution, Gamma, Normal};
use rand_xoshiro::Xoshiro256PlusPlus;
use trellis_samplers::plots::{
    gaussian_kde, posterior_plot, trace_plot, PlotError, MAX_TRACE_ROWS,
};

use crate::plot_files;
use plot_files::{cleanup, leftovers, out_dir, png_size, svg_size};

/// Synthetic posterior: `chains × draws` of a few differently shaped parameters.
fn synthetic(chains: usize, draws: usize) -> Vec<(String, Array2<f64>, f64)> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
    let normal = Normal::new(0.0, 1.0).unwrap();
    let gamma = Gamma::new(2.0, 0.5).unwrap();
    let mut out = Vec::new();
    let ar1 = |mean: f64, sd: f64, rng: &mut Xoshiro256PlusPlus| {
        // Autocorrelated chains, each started slightly off, look like real MCMC output.
        let mut a = Array2::zeros((chains, draws));
        for c in 0..chains {
            let mut x = 0.0;
            for i in 0..draws {
                x = 0.7 * x + (1.0f64 - 0.49).sqrt() * normal.sample(rng);
                a[(c, i)] = mean + sd * x;
            }
        }
        a
    };
    out.push(("mu".to_string(), ar1(1.2, 0.3, &mut rng), 1.0));
    out.push((
        "sigma_obs".to_string(),
        ar1(0.5, 0.05, &mut rng).mapv(f64::exp),
        1.6,
    ));
    let skew = Array2::from_shape_fn((chains, draws), |_| gamma.sample(&mut rng));
    out.push((
        "p_transition[0,1]".to_string(),
        skew.mapv(|x| x / (1.0 + x)),
        0.4,
    ));
    out.push((
        "p_transition[1,0]".to_string(),
        ar1(-2.0, 0.4, &mut rng).mapv(|x| 1.0 / (1.0 + (-x).exp())),
        0.12,
    ));
    out.push((
        "emission_mean[2]".to_string(),
        ar1(-35.0, 2.5, &mut rng),
        -36.0,
    ));
    out
}

#[test]
fn realistic_figures() {
    let dir = out_dir("realistic");
    let params = synthetic(4, 1000);

    let trace_in: Vec<(&str, _)> = params
        .iter()
        .map(|(n, d, _)| (n.as_str(), d.view()))
        .collect();
    let out = trace_plot(&dir.join("trace"), &trace_in).unwrap();
    assert_eq!(
        out.files,
        vec![dir.join("trace.svg"), dir.join("trace.png")]
    );
    assert!(out.notices.is_empty(), "{:?}", out.notices);
    let svg = std::fs::read_to_string(dir.join("trace.svg")).unwrap();
    for (name, _, _) in &params {
        // One caption per panel: KDE and draws.
        assert_eq!(svg.matches(&format!(">\n{name}\n<")).count(), 2, "{name}");
    }
    // Chains are numbered from 1, as their CSV files.
    for c in 1..=4 {
        assert!(svg.contains(&format!("chain {c}")));
    }
    assert!(!svg.contains("chain 0"));
    assert!(svg.contains("iteration") && svg.contains("density"));
    let size = png_size(&dir.join("trace.png"));
    assert_eq!(size, svg_size(&svg));
    assert_eq!(size.0, 1200);
    // Height grows with the number of rows so that text never overlaps.
    assert!(size.1 >= 200 * params.len() as u32, "{size:?}");

    let post_in: Vec<(&str, _, Option<f64>)> = params
        .iter()
        .enumerate()
        // The last parameter has no known truth: no marker for it.
        .map(|(i, (n, d, t))| (n.as_str(), d.view(), (i + 1 < params.len()).then_some(*t)))
        .collect();
    let out = posterior_plot(&dir.join("posterior"), &post_in, 0.94).unwrap();
    assert_eq!(out.files.len(), 2);
    let svg = std::fs::read_to_string(dir.join("posterior.svg")).unwrap();
    assert!(
        svg.contains("true = 1.00"),
        "mu's truth printed with the draws' resolution"
    );
    assert_eq!(svg.matches("true = ").count(), params.len() - 1);
    assert_eq!(svg.matches("mean = ").count(), params.len());
    assert!(svg.matches("94% HDI").count() >= params.len());
    for (name, _, _) in &params {
        assert!(svg.contains(name.as_str()), "{name}");
    }
    // 5 panels in 3 columns: two grid rows.
    let (w, h) = png_size(&dir.join("posterior.png"));
    assert_eq!((w, h), svg_size(&svg));
    assert!((2 * 300..3 * 300 + 150).contains(&h), "{h}");

    // No temporary files left behind.
    assert!(leftovers(&dir).is_empty(), "{:?}", leftovers(&dir));
    cleanup(&dir);
}

#[test]
fn many_parameters_are_split_over_files() {
    let dir = out_dir("split");
    let n = MAX_TRACE_ROWS + 3;
    let arrays: Vec<(String, Array2<f64>)> = (0..n)
        .map(|k| {
            let a = Array2::from_shape_fn((2, 50), |(c, i)| ((i * 13 + c * 7 + k) % 23) as f64);
            (format!("theta[{k}]"), a)
        })
        .collect();
    let params: Vec<(&str, _)> = arrays.iter().map(|(n, a)| (n.as_str(), a.view())).collect();
    let out = trace_plot(&dir.join("trace"), &params).unwrap();
    assert_eq!(
        out.files,
        vec![
            dir.join("trace_part1.svg"),
            dir.join("trace_part1.png"),
            dir.join("trace_part2.svg"),
            dir.join("trace_part2.png"),
        ]
    );
    let first = std::fs::read_to_string(&out.files[0]).unwrap();
    let second = std::fs::read_to_string(&out.files[2]).unwrap();
    assert!(first.contains("theta[0]") && !first.contains("theta[16]"));
    assert!(second.contains("theta[16]") && second.contains("theta[18]"));
    assert!(first.contains("part 1 of 2"));
    let (_, h1) = png_size(&out.files[1]);
    let (_, h2) = png_size(&out.files[3]);
    assert!(h1 > h2, "16 rows are taller than 3");
    cleanup(&dir);
}

#[test]
fn degenerate_draws_give_plots_not_panics() {
    let dir = out_dir("degenerate");
    let constant = Array2::from_elem((4, 100), 2.5);
    let zeros = Array2::zeros((2, 30));
    let all_nan = Array2::from_elem((2, 30), f64::NAN);
    let mut some_nan = Array2::from_shape_fn((3, 200), |(c, i)| (i as f64 * 0.1 + c as f64).sin());
    some_nan[(1, 17)] = f64::NAN;
    some_nan[(2, 50)] = f64::INFINITY;
    let one_chain = Array2::from_shape_fn((1, 300), |(_, i)| (i as f64 * 0.37).cos());
    let one_draw = Array2::from_elem((1, 1), -3.0);
    let empty = Array2::<f64>::zeros((0, 0));
    let no_draws = Array2::<f64>::zeros((4, 0));
    let huge = Array2::from_shape_fn(
        (2, 10),
        |(c, i)| if (c + i) % 2 == 0 { 1e300 } else { -1e300 },
    );
    let params = [
        ("constant", constant.view()),
        ("zeros", zeros.view()),
        ("all_nan", all_nan.view()),
        ("some_nan", some_nan.view()),
        ("one_chain", one_chain.view()),
        ("one_draw", one_draw.view()),
        ("empty", empty.view()),
        ("no_draws", no_draws.view()),
        ("huge", huge.view()),
    ];
    let out = trace_plot(&dir.join("trace"), &params).unwrap();
    assert_eq!(out.files.len(), 2, "{:?}", out.notices);
    assert!(out.notices.iter().any(|n| n.contains("all_nan")));
    assert!(out
        .notices
        .iter()
        .any(|n| n.contains("some_nan") && n.contains("2 of 600")));
    let svg = std::fs::read_to_string(&out.files[0]).unwrap();
    assert!(svg.contains("no finite draws") && svg.contains("no draws"));

    let post: Vec<(&str, _, Option<f64>)> = params
        .iter()
        .map(|(n, d)| (*n, d.view(), Some(2.5)))
        .chain([("nan_truth", one_chain.view(), Some(f64::NAN))])
        .collect();
    let out = posterior_plot(&dir.join("posterior"), &post, 0.94).unwrap();
    assert_eq!(out.files.len(), 2, "{:?}", out.notices);
    assert!(out.notices.iter().any(|n| n.contains("nan_truth")));
    // An invalid HDI probability is a notice, not an error.
    let out = posterior_plot(&dir.join("posterior_badprob"), &post[..1], 1.5).unwrap();
    assert_eq!(out.files.len(), 2);
    assert!(out.notices.iter().any(|n| n.contains("hdi_prob")));
    // Nothing to plot: nothing written, said so.
    let out = posterior_plot(&dir.join("nothing"), &[], 0.9).unwrap();
    assert!(out.files.is_empty() && !out.notices.is_empty());
    let out = trace_plot(&dir.join("nothing"), &[]).unwrap();
    assert!(out.files.is_empty() && !out.notices.is_empty());
    cleanup(&dir);
}

#[test]
fn unwritable_folder_is_an_error_naming_the_path() {
    let dir = out_dir("unwritable");
    let missing = dir.join("does-not-exist").join("trace");
    let draws = Array2::from_shape_fn((2, 20), |(c, i)| (c * 20 + i) as f64);
    let err = trace_plot(&missing, &[("x", draws.view())]).unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, PlotError::Io { .. }));
    assert!(
        message.contains(&missing.with_extension("svg").display().to_string()),
        "{message}"
    );

    let err = posterior_plot(&missing, &[("x", draws.view(), None)], 0.9).unwrap_err();
    assert!(err.to_string().contains("does-not-exist"));

    // A path whose parent is a file cannot be written either.
    let file = dir.join("a-file");
    std::fs::write(&file, "x").unwrap();
    let err = trace_plot(&file.join("trace"), &[("x", draws.view())]).unwrap_err();
    assert!(err.to_string().contains("a-file"));
    cleanup(&dir);
}

/// A full disk, simulated by pointing the writer's temporary file at `/dev/full` (every
/// write fails with ENOSPC): the SVG failure is an error naming the file, a PNG failure is a
/// notice, and neither leaves a temporary file behind.
#[cfg(target_os = "linux")]
#[test]
fn full_disk_is_reported_and_leaves_no_temporary_files() {
    use std::os::unix::fs::symlink;
    let dir = out_dir("full-disk");
    let draws = Array2::from_shape_fn((2, 20), |(c, i)| (c * 20 + i) as f64);
    // The SVG's temporary sibling is `.<name>.tmp<pid>` (see `output::write_atomic`).
    let svg_tmp = dir.join(format!(".trace.svg.tmp{}", std::process::id()));
    symlink("/dev/full", &svg_tmp).unwrap();
    let err = trace_plot(&dir.join("trace"), &[("x", draws.view())]).unwrap_err();
    assert!(matches!(err, PlotError::Io { .. }), "{err}");
    let message = err.to_string();
    assert!(message.contains("trace.svg"), "{message}");
    assert!(message.contains("No space left on device"), "{message}");
    assert_eq!(leftovers(&dir), Vec::<String>::new());
    assert!(!dir.join("trace.svg").exists());

    // The PNG is rendered into `<name>.png.tmp.png`: its failure is a notice.
    symlink("/dev/full", dir.join("post.png.tmp.png")).unwrap();
    let out = posterior_plot(&dir.join("post"), &[("x", draws.view(), None)], 0.9).unwrap();
    assert_eq!(out.files, vec![dir.join("post.svg")]);
    assert!(
        out.notices
            .iter()
            .any(|n| n.contains("post.png not written")),
        "{:?}",
        out.notices
    );
    assert_eq!(leftovers(&dir), Vec::<String>::new());
    assert!(!dir.join("post.png").exists());
    cleanup(&dir);
}

#[test]
fn dotted_stem_keeps_its_dots() {
    let dir = out_dir("dotted");
    let draws = Array2::from_shape_fn((2, 20), |(c, i)| (c * 20 + i) as f64);
    let out = trace_plot(&dir.join("fit_0.5"), &[("x", draws.view())]).unwrap();
    assert_eq!(out.files[0], dir.join("fit_0.5.svg"));
    assert!(dir.join("fit_0.5.png").exists());
    cleanup(&dir);
}

#[test]
fn kde_of_standard_normal_peaks_near_its_density() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
    let normal = Normal::new(0.0, 1.0).unwrap();
    let x: Vec<f64> = (0..4000).map(|_| normal.sample(&mut rng)).collect();
    let kde = gaussian_kde(&x, 200).unwrap();
    let peak = kde.density.iter().cloned().fold(0.0, f64::max);
    // 1/sqrt(2π) = 0.399; the kernel smooths the peak down slightly.
    assert!((peak - 0.399).abs() < 0.03, "{peak}");
    assert!(
        kde.bandwidth > 0.1 && kde.bandwidth < 0.3,
        "{}",
        kde.bandwidth
    );
    assert!(gaussian_kde(&[f64::NAN], 200).is_none());
    assert!(gaussian_kde(&[], 200).is_none());
    let spike = gaussian_kde(&[5.0; 10], 200).unwrap();
    assert!(spike.x[0] < 5.0 && spike.x[199] > 5.0 && spike.bandwidth > 0.0);
}

#[test]
fn compact_layout_puts_a_vector_parameter_on_one_row() {
    use trellis_samplers::plots::{trace_plot_with, TraceLayout};
    let dir = out_dir("compact");
    // An HMM-shaped set: two scalars, a 3-vector and a 3 × 3 matrix (14 scalars).
    let mut arrays: Vec<(String, Array2<f64>)> = Vec::new();
    let wave = |k: usize| {
        Array2::from_shape_fn((2, 120), move |(c, i)| {
            0.1 + 0.05 * k as f64 + 0.01 * ((i * 7 + c * 3 + k) % 11) as f64
        })
    };
    arrays.push(("emission_signal".into(), wave(0)));
    arrays.push(("emission_noise".into(), wave(1)));
    for i in 0..3 {
        arrays.push((format!("p_initial_state[{i}]"), wave(2 + i)));
    }
    for i in 0..3 {
        for j in 0..3 {
            arrays.push((format!("p_transition[{i},{j}]"), wave(5 + 3 * i + j)));
        }
    }
    let params: Vec<(&str, _)> = arrays.iter().map(|(n, a)| (n.as_str(), a.view())).collect();
    let out = trace_plot_with(&dir.join("trace"), &params, TraceLayout::Compact).unwrap();
    assert_eq!(
        out.files,
        vec![dir.join("trace.svg"), dir.join("trace.png")]
    );
    let svg = std::fs::read_to_string(dir.join("trace.svg")).unwrap();
    // Four rows, each captioned once per panel by the parameter's name.
    for name in [
        "emission_signal",
        "emission_noise",
        "p_initial_state",
        "p_transition",
    ] {
        assert_eq!(svg.matches(&format!(">\n{name}\n<")).count(), 2, "{name}");
    }
    // Element strips name the elements; no element gets a row of its own.
    for label in ["[2]", "[0,0]", "[2,2]"] {
        assert!(svg.contains(&format!(">\n{label}\n<")), "{label}");
    }
    assert!(!svg.contains(">\np_transition[0,1]\n<"));
    let (w, h) = svg_size(&svg);
    assert_eq!(w, 1200);
    // 4 rows, far below the per-element layout's 14.
    assert!((4 * 258..6 * 258).contains(&h), "{h}");
    let per_element = trace_plot_with(&dir.join("long"), &params, TraceLayout::PerElement).unwrap();
    let long = std::fs::read_to_string(&per_element.files[0]).unwrap();
    assert!(
        2 * svg_size(&long).1 > 5 * h,
        "{:?} vs {h}",
        svg_size(&long)
    );
    assert!(leftovers(&dir).is_empty(), "{:?}", leftovers(&dir));
    cleanup(&dir);
}

/// The RGB pixels and width of a PNG written by the figures (8-bit RGB, as plotters encodes).
fn png_rgb(path: &std::path::Path) -> (Vec<u8>, usize) {
    let decoder = png::Decoder::new(std::fs::File::open(path).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(
        (info.color_type, info.bit_depth),
        (png::ColorType::Rgb, png::BitDepth::Eight)
    );
    buf.truncate(info.buffer_size());
    (buf, info.width as usize)
}

#[test]
fn png_curves_are_antialiased() {
    // One chain whose draws are the quantiles of the triangular density 2x on [0, 1]: its
    // KDE (a 2 px line, which plotters fills as a polygon without antialiasing) rises as a
    // long diagonal across the left panel.
    let dir = out_dir("antialiased");
    let n = 4000;
    let draws = Array2::from_shape_fn((1, n), |(_, i)| ((i as f64 + 0.5) / n as f64).sqrt());
    let out = trace_plot(&dir.join("trace"), &[("x", draws.view())]).unwrap();
    let (rgb, width) = png_rgb(&out.files[1]);
    let height = rgb.len() / 3 / width;
    let chain_1 = [31u8, 119, 180];
    // Pixels of the density panel below the legend strip, in the chain's hue (blue
    // dominant): the curve and its edges, not the grey axes, grid or text.
    let mut levels = std::collections::BTreeSet::new();
    let mut edge_pixels = 0;
    for y in 90..height - 60 {
        for x in 90..460 {
            let p = &rgb[(y * width + x) * 3..][..3];
            if i32::from(p[2]) - i32::from(p[0]) > 40 {
                levels.insert([p[0], p[1], p[2]]);
                if p != chain_1 {
                    edge_pixels += 1;
                }
            }
        }
    }
    assert!(levels.contains(&chain_1), "the curve itself is drawn");
    // Edges blend the line colour with the white background: more than the two values
    // (line, background) an aliased line has, and more than the 4 levels and 156 edge pixels
    // of plotters' own rasterisation of this figure (measured with `SUPERSAMPLE` set to 1;
    // 2× gives 25 and 492).
    assert!(levels.len() > 8, "{levels:?}");
    assert!(edge_pixels > 300, "{edge_pixels} edge pixels");
    cleanup(&dir);
}

#[test]
fn box_downsampling_averages_each_block() {
    use trellis_samplers::plots::raster::downsample_box;
    // 4 × 2 pixels to 2 × 1 with factor 2: each output pixel averages a 2 × 2 block.
    #[rustfmt::skip]
    let big: Vec<u8> = [
        [0, 0, 0], [255, 255, 255], [10, 20, 30], [10, 20, 30],
        [255, 255, 255], [255, 255, 255], [12, 22, 32], [14, 24, 35],
    ]
    .concat();
    assert_eq!(
        downsample_box(&big, 2, 1, 2).unwrap(),
        // (0 + 3·255) / 4 = 191.25; (10 + 10 + 12 + 14) / 4 = 11.5 → 12 (half up), …
        vec![191, 191, 191, 12, 22, 32]
    );
    // Factor 3: one block of nine pixels, 0..9 in the red channel, 100 elsewhere.
    let block: Vec<u8> = (0..9u8).flat_map(|v| [v, 100, 100]).collect();
    assert_eq!(downsample_box(&block, 1, 1, 3).unwrap(), vec![4, 100, 100]);
    // Factor 1 is the identity.
    assert_eq!(downsample_box(&big, 4, 2, 1).unwrap(), big);
    // Sizes that do not match the buffer are refused, not a panic.
    assert_eq!(downsample_box(&big, 2, 2, 2), None);
    assert_eq!(downsample_box(&big, 2, 1, 0), None);
    assert_eq!(downsample_box(&big, usize::MAX, 2, 2), None);
}

/// Factor 2 (the figures', which has a loop of its own) against the block average computed
/// pixel by pixel, on a pseudo-random 7 × 5 image (every rounding case, odd sizes).
#[test]
fn box_downsampling_by_two_is_the_block_average() {
    use rand::{Rng, SeedableRng};
    use rand_xoshiro::Xoshiro256PlusPlus;
    use trellis_samplers::plots::raster::downsample_box;
    let (width, height) = (7, 5);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(0x2545_F491_4F6C_DD1D);
    let big: Vec<u8> = (0..width * 2 * height * 2 * 3)
        .map(|_| rng.random::<u8>())
        .collect();
    let at = |x: usize, y: usize, c: usize| u32::from(big[(y * width * 2 + x) * 3 + c]);
    let mut want = Vec::new();
    for y in 0..height {
        for x in 0..width {
            for c in 0..3 {
                let sum = at(2 * x, 2 * y, c)
                    + at(2 * x + 1, 2 * y, c)
                    + at(2 * x, 2 * y + 1, c)
                    + at(2 * x + 1, 2 * y + 1, c);
                want.push(((sum + 2) / 4) as u8);
            }
        }
    }
    assert_eq!(downsample_box(&big, width, height, 2).unwrap(), want);
}

#[test]
fn tick_labels_share_their_decimals() {
    use trellis_samplers::plots::toolkit::{axis_ticks, tick_format, NumberFormat};
    let labels = |values: &[f64]| -> Vec<String> {
        let f = NumberFormat::for_values(values);
        values.iter().map(|&v| f.format(v)).collect()
    };
    assert_eq!(labels(&[0.0, 0.25, 0.5]), ["0.00", "0.25", "0.50"]);
    assert_eq!(labels(&[1000.0, 1500.0, 2000.0]), ["1000", "1500", "2000"]);
    assert_eq!(labels(&[0.001, 0.002, 0.003]), ["0.001", "0.002", "0.003"]);
    assert_eq!(
        labels(&[-0.004, -0.002, 0.0]),
        ["-0.004", "-0.002", "0.000"]
    );
    // Float noise of tick arithmetic does not add decimals.
    assert_eq!(labels(&[0.1, 0.1 + 0.2, 0.5]), ["0.1", "0.3", "0.5"]);
    // Large and tiny values: one exponent for the whole axis.
    assert_eq!(labels(&[1.0e6, 1.5e6, 2.0e6]), ["1.0e6", "1.5e6", "2.0e6"]);
    assert_eq!(labels(&[1e-7, 2e-7, 3e-7]), ["1e-7", "2e-7", "3e-7"]);
    // A negative value rounding to zero prints without its sign.
    assert_eq!(NumberFormat::for_values(&[0.5]).format(-0.01), "0.0");

    // The axis formatter sees the ticks plotters draws: with at most 6 labels, 0..1 gets a
    // step of 0.2 and 0..0.5 one of 0.1; 0..0.3 with at most 4 a step of 0.1 as well.
    for (range, n, expected) in [
        (0.0..1.0, 6, &["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"][..]),
        (0.0..0.5, 6, &["0.0", "0.1", "0.2", "0.3", "0.4", "0.5"][..]),
        (-0.05..0.26, 4, &["0.0", "0.1", "0.2"][..]),
        (980.0..2020.0, 3, &["1000", "1500", "2000"][..]),
    ] {
        let f = tick_format(&range, n);
        let printed: Vec<String> = axis_ticks(&range, n).iter().map(&f).collect();
        assert_eq!(printed, expected, "{range:?} with {n} labels");
    }
    // Value labels resolve a tenth of the tick step: one more decimal below a step of 10.
    let labels = NumberFormat::for_labels(&(0.0..1.0), 5);
    assert_eq!(labels.format(0.3125), "0.31");
    assert_eq!(
        NumberFormat::for_labels(&(0.0..5000.0), 5).format(1234.4),
        "1234"
    );
    // Sharing: the finer of two formats wins.
    let coarse = NumberFormat::for_values(&[0.0, 0.5]);
    let fine = NumberFormat::for_values(&[0.0, 0.25]);
    assert_eq!(coarse.finest(fine), fine);
    assert_eq!(fine.finest(coarse), fine);
}

proptest::proptest! {
    /// On any axis, every tick label has the same decimals, the labels are distinct, and each
    /// reads back as its tick value.
    #[test]
    fn axis_labels_are_uniform_distinct_and_exact(
        start in -1.0e5f64..1.0e5,
        log_span in -4.0f64..5.0,
        ticks in 2usize..12,
    ) {
        use trellis_samplers::plots::toolkit::{axis_ticks, tick_format};
        let range = start..start + 10f64.powf(log_span);
        let points = axis_ticks(&range, ticks);
        let f = tick_format(&range, ticks);
        let printed: Vec<String> = points.iter().map(&f).collect();
        let decimals = |s: &str| s.split('e').next().unwrap().split_once('.').map_or(0, |(_, d)| d.len());
        for s in &printed {
            proptest::prop_assert_eq!(decimals(s), decimals(&printed[0]), "{:?}", printed);
        }
        let distinct: std::collections::BTreeSet<&String> = printed.iter().collect();
        proptest::prop_assert_eq!(distinct.len(), printed.len(), "{:?}", printed);
        if points.len() >= 2 {
            let step = points[1] - points[0];
            for (s, v) in printed.iter().zip(&points) {
                let back: f64 = match s.split_once('e') {
                    Some((m, e)) => m.parse::<f64>().unwrap() * 10f64.powi(e.parse().unwrap()),
                    None => s.parse().unwrap(),
                };
                proptest::prop_assert!((back - v).abs() <= step * 1e-3, "{} vs {}", s, v);
            }
        }
    }
}

/// A white figure with one black 2 px line from (20, 20) to (180, 140).
struct Diagonal;

use trellis_samplers::plots::plotters;

impl trellis_samplers::plots::toolkit::Figure for Diagonal {
    fn size(&self) -> (u32, u32) {
        (200, 160)
    }

    fn draw<DB: plotters::prelude::DrawingBackend>(
        &self,
        root: &plotters::prelude::DrawingArea<DB, plotters::coord::Shift>,
    ) -> trellis_samplers::plots::toolkit::DrawResult {
        use plotters::prelude::*;
        use trellis_samplers::plots::toolkit::msg;
        root.fill(&WHITE).map_err(msg)?;
        root.draw(&PathElement::new(
            vec![(20, 20), (180, 140)],
            BLACK.stroke_width(2),
        ))
        .map_err(msg)
    }
}

#[test]
fn supersampling_blends_the_edges_of_a_diagonal_line() {
    use trellis_samplers::plots::raster::SUPERSAMPLE;
    use trellis_samplers::plots::toolkit::{render_rgb, render_rgb_at};
    // Over the middle rows of the line: the distinct grey levels strictly between black and
    // white, and the mean ink per row (a row crosses a 2 px line of slope 3/4 over
    // 2 / sin(atan(3/4)) = 10/3 px, so that is the exact value).
    let measure = |rgb: &[u8]| {
        let mut levels = std::collections::BTreeSet::new();
        let mut ink = 0.0;
        for y in 40..120 {
            for p in rgb[y * 200 * 3..(y + 1) * 200 * 3].chunks_exact(3) {
                if p[0] > 0 && p[0] < 255 {
                    levels.insert(p[0]);
                }
                ink += f64::from(255 - p[0]) / 255.0;
            }
        }
        (levels.len(), ink / 80.0)
    };
    let (levels, ink) = measure(&render_rgb(&Diagonal).unwrap());
    let (plain_levels, plain_ink) = measure(&render_rgb_at(&Diagonal, 1).unwrap());
    assert_eq!(SUPERSAMPLE, 2);
    // plotters alone: three levels and a line drawn 1.8 times too wide.
    assert!(
        levels > 2 && levels > plain_levels,
        "{levels} vs {plain_levels}"
    );
    let exact = 10.0 / 3.0;
    assert!(
        (ink - exact).abs() < (plain_ink - exact).abs() && (ink / exact - 1.0).abs() < 0.35,
        "ink per row {ink} (plotters alone {plain_ink}), exact {exact}"
    );
}
