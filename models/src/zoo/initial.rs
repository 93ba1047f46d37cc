//! Starting values read off the data ([`Family::initial_values`](super::Family::initial_values)):
//! `K` locations at the observed values' quantiles, one scale for all states.

use crate::hmm::Sequences;
use crate::layout::ParamHandle;

/// The observations of `data` that are not missing.
pub(crate) fn observed<O>(data: &Sequences<O>) -> impl Iterator<Item = &O> {
    data.iter().enumerate().flat_map(move |(s, seq)| {
        let missing = data.missing_of(s);
        seq.iter()
            .enumerate()
            .filter(move |(t, _)| !missing.is_some_and(|m| m[*t]))
            .map(|(_, o)| o)
    })
}

/// `K` strictly increasing locations at the quantiles `(k + ½) / K` of the finite `values`
/// (ties spread apart by a small step), and their standard deviation over `K` as a scale
/// for every state; `None` without finite values or with a zero spread.
pub(crate) fn quantile_spread(
    values: impl Iterator<Item = f64>,
    k: usize,
) -> Option<(Vec<f64>, f64)> {
    let mut sorted: Vec<f64> = values.filter(|v| v.is_finite()).collect();
    if sorted.is_empty() || k == 0 {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let mean = sorted.iter().sum::<f64>() / n as f64;
    let sd = (sorted.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64).sqrt();
    if !(sd > 0.0 && sd.is_finite()) {
        return None;
    }
    // Ordered transforms need strictly increasing locations: ties (counts, rounded data)
    // move up by a hundredth of the spread.
    let step = sd / 100.0;
    let mut locations: Vec<f64> = Vec::with_capacity(k);
    for i in 0..k {
        let q = sorted[((2 * i + 1) * n / (2 * k)).min(n - 1)];
        let floor = locations
            .last()
            .map_or(f64::NEG_INFINITY, |last| last + step);
        locations.push(q.max(floor));
    }
    Some((locations, sd / k as f64))
}

/// A location family's starting values: `mu` at the quantiles of the observed values,
/// `sigma` their standard deviation over `K` (see [`quantile_spread`]).
pub(crate) fn location_scale(
    (mu, sigma): (ParamHandle, ParamHandle),
    data: &Sequences<f64>,
    k: usize,
) -> Vec<(ParamHandle, Vec<f64>)> {
    match quantile_spread(observed(data).copied(), k) {
        Some((locations, scale)) => vec![(mu, locations), (sigma, vec![scale; k])],
        None => Vec::new(),
    }
}

/// A rate family's starting rates: the quantiles of `rates` (one guess per observation,
/// e.g. a count, or the inverse of a duration), made positive by a hundredth of their
/// standard deviation.
pub(crate) fn positive_rates(
    rate: ParamHandle,
    rates: impl Iterator<Item = f64>,
    k: usize,
) -> Vec<(ParamHandle, Vec<f64>)> {
    match quantile_spread(rates, k) {
        Some((quantiles, scale)) => {
            let lift = (scale * k as f64 / 100.0).max(1e-3);
            vec![(rate, quantiles.iter().map(|q| q.max(0.0) + lift).collect())]
        }
        None => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_of_three_clusters_are_their_centres_and_ties_are_spread() {
        let values = (0..300).map(|i| [-2.0, 0.0, 2.0][i % 3] + (i as f64 * 0.37).sin() * 0.1);
        let (locations, scale) = quantile_spread(values, 3).unwrap();
        for (l, centre) in locations.iter().zip([-2.0, 0.0, 2.0]) {
            assert!((l - centre).abs() < 0.1, "{locations:?}");
        }
        assert!((scale - 1.633 / 3.0).abs() < 0.01, "{scale}");
        let (tied, _) = quantile_spread([1.0, 1.0, 1.0, 1.0, 5.0].into_iter(), 3).unwrap();
        assert!(tied[0] < tied[1] && tied[1] < tied[2], "{tied:?}");
        assert_eq!(quantile_spread([f64::NAN, 2.0].into_iter(), 2), None);
        assert_eq!(quantile_spread(std::iter::empty(), 2), None);
    }

    #[test]
    fn missing_observations_are_left_out() {
        let data = Sequences::new(vec![vec![1.0, 1e9, 3.0]])
            .unwrap()
            .with_missing(vec![false, true, false])
            .unwrap();
        assert_eq!(observed(&data).copied().collect::<Vec<_>>(), [1.0, 3.0]);
    }
}
