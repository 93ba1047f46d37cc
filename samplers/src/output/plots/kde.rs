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
    let mut x = Vec::with_capacity(m);
    let mut density = Vec::with_capacity(m);
    for j in 0..m {
        let g = if j == m - 1 {
            ghi
        } else {
            glo + step * j as f64
        };
        let mut s = kernel_sum(&v, g, bw, reach);
        if !spike {
            // Reflection about each end: the draws mirrored at `lo` sit at `2·lo − d`, so
            // their kernel at `g` is the kernel of the draws at `2·lo − g`.
            s += kernel_sum(&v, 2.0 * lo - g, bw, reach) + kernel_sum(&v, 2.0 * hi - g, bw, reach);
        }
        x.push(g);
        density.push(s * norm);
    }
    Some(Kde {
        x,
        density,
        bandwidth: bw,
    })
}

/// `Σ exp(−½((g − d)/bw)²)` over the sorted draws `v` within `reach` of `g` (the kernel is
/// below 1e-14 beyond 8 bandwidths, so long chains stay cheap).
fn kernel_sum(v: &[f64], g: f64, bw: f64, reach: f64) -> f64 {
    let start = v.partition_point(|&d| d < g - reach);
    let end = v.partition_point(|&d| d <= g + reach);
    v[start..end]
        .iter()
        .map(|&d| {
            let z = (g - d) / bw;
            (-0.5 * z * z).exp()
        })
        .sum()
}
