//! Gaussian kernel density estimates for the trace and posterior figures.

/// Points on the KDE evaluation grid.
pub const KDE_GRID_POINTS: usize = 200;

/// A Gaussian kernel density estimate evaluated on a regular grid.
#[derive(Debug, Clone, PartialEq)]
pub struct Kde {
    /// Grid points, increasing.
    pub x: Vec<f64>,
    /// Estimated density at each grid point.
    pub density: Vec<f64>,
    /// Kernel standard deviation used.
    pub bandwidth: f64,
}

/// Gaussian kernel density estimate of the finite `values` on `grid_points` points.
///
/// The bandwidth is Silverman's rule of thumb, `0.9 · min(sd, IQR/1.34) · n^(-1/5)` (plain
/// `sd` when the IQR is zero), which is robust to the heavy tails MCMC marginals often have.
/// The grid spans the range of the data, like ArviZ, so a bounded parameter (a probability,
/// a scale) does not get density outside its support, and the estimate is boundary-corrected
/// as ArviZ's (`bound_correction=True`): the kernel mass that would fall beyond either end
/// of the range is reflected back into it. Without the correction a density that is high at
/// a bound (a probability near 0, a scale near its lower limit) is drawn at about half its
/// height there, with a false mode just inside. Constant data get a narrow spike (bandwidth
/// 0.1 % of the value's magnitude, or 0.001) on a grid widened around it, uncorrected.
///
/// Returns `None` when there is no finite value or the spread overflows.
///
/// # Example
/// ```
/// use trellis_samplers::plots::gaussian_kde;
///
/// let values: Vec<f64> = (0..1000).map(|i| ((i as f64 + 0.5) / 1000.0 - 0.5) * 2.0).collect();
/// let kde = gaussian_kde(&values, 200).unwrap();
/// assert_eq!(kde.x.len(), 200);
/// // With the boundary correction the estimate integrates to one over the data's range.
/// let step = kde.x[1] - kde.x[0];
/// let mass: f64 = kde.density.iter().sum::<f64>() * step;
/// assert!((mass - 1.0).abs() < 0.02, "{mass}");
/// // Uniform draws on [−1, 1]: about 0.5 right up to the bounds, not 0.25 there.
/// assert!((kde.density[0] - 0.5).abs() < 0.05, "{}", kde.density[0]);
/// ```
pub fn gaussian_kde(values: &[f64], grid_points: usize) -> Option<Kde> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let nf = n as f64;
    let mean = v.iter().sum::<f64>() / nf;
    let var = if n > 1 {
        v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (nf - 1.0)
    } else {
        0.0
    };
    let sd = var.sqrt();
    let quantile = |p: f64| {
        let h = p * (nf - 1.0);
        let lo = h.floor() as usize;
        let hi = (lo + 1).min(n - 1);
        v[lo] + (h - lo as f64) * (v[hi] - v[lo])
    };
    let iqr = quantile(0.75) - quantile(0.25);
    let spread = if iqr > 0.0 { sd.min(iqr / 1.34) } else { sd };
    let mut bw = 0.9 * spread * nf.powf(-0.2);
    let (lo, hi) = (v[0], v[n - 1]);
    let magnitude = lo.abs().max(hi.abs());
    if !mean.is_finite() || !bw.is_finite() || !(hi - lo).is_finite() {
        return None;
    }
    // Below ~1e-12 relative the kernel width is lost in rounding of the grid points.
    if bw <= magnitude * 1e-12 || bw == 0.0 {
        bw = if magnitude > 0.0 {
            magnitude * 1e-3
        } else {
            1e-3
        };
    }
    // Constant or nearly constant data: widen the grid so the spike has visible shoulders.
    let spike = hi - lo < bw;
    let (glo, ghi) = if spike {
        (lo - 4.0 * bw, hi + 4.0 * bw)
    } else {
        (lo, hi)
    };
    let m = grid_points.max(2);
    let step = (ghi - glo) / (m - 1) as f64;
    let norm = 1.0 / (nf * bw * (2.0 * std::f64::consts::PI).sqrt());
    let reach = 8.0 * bw;
    // Draw by draw over the grid points within reach (the kernel is below 1e-14 beyond 8
    // bandwidths), the kernel along the regular grid by a recurrence:
    // exp(−½(u + δ)²) = exp(−½u²) · exp(−uδ − δ²/2), whose factor changes by exp(−δ²) a step.
    // Two exponentials a draw instead of one per draw and grid point (these were a tenth of
    // a fit's time after its last draw); the sums differ from the direct ones by rounding.
    let delta = step / bw;
    let shrink = (-delta * delta).exp();
    let mut density = vec![0.0; m];
    let mut add = |d: f64| {
        let first = ((d - reach - glo) / step).ceil().max(0.0);
        let last = ((d + reach - glo) / step).floor().min((m - 1) as f64);
        if first > last {
            return;
        }
        let first = first as usize;
        let u = (glo + step * first as f64 - d) / bw;
        let (mut kernel, mut factor) = (
            (-0.5 * u * u).exp(),
            (-u * delta - 0.5 * delta * delta).exp(),
        );
        for s in &mut density[first..=last as usize] {
            *s += kernel;
            kernel *= factor;
            factor *= shrink;
        }
    };
    for &d in &v {
        add(d);
    }
    if !spike {
        // Reflection about each end: a draw mirrored at `lo` sits at `2·lo − d`; only those
        // within reach of an end reach the grid.
        for &d in v.iter().take_while(|&&d| d - lo <= reach) {
            add(2.0 * lo - d);
        }
        for &d in v.iter().rev().take_while(|&&d| hi - d <= reach) {
            add(2.0 * hi - d);
        }
    }
    density.iter_mut().for_each(|s| *s *= norm);
    let x: Vec<f64> = (0..m)
        .map(|j| {
            if j == m - 1 {
                ghi
            } else {
                glo + step * j as f64
            }
        })
        .collect();
    Some(Kde {
        x,
        density,
        bandwidth: bw,
    })
}
