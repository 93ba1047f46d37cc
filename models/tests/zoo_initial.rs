//! Where chains start ([`BayesianModel::initial_point`]): the location and rate families put
//! their `K` states at the quantiles of the observed data (missing steps left out), so that
//! no two states start on one cluster; the others keep the zero point.

use trellis_models::hmm::Sequences;
use trellis_models::zoo::*;
use trellis_models::BayesianModel;

/// Three well-separated clusters, the middle one's values replaced by a huge placeholder at
/// the missing steps.
fn clustered(with_missing: bool) -> Sequences<f64> {
    let seq: Vec<f64> = (0..300)
        .map(|i| [-20.0, 0.0, 20.0][(i / 10) % 3] + (i as f64 * 0.71).sin())
        .collect();
    let missing: Vec<bool> = (0..300).map(|i| with_missing && i % 7 == 3).collect();
    let seq: Vec<f64> = seq
        .iter()
        .zip(&missing)
        .map(|(&y, &gap)| if gap { 1e9 } else { y })
        .collect();
    Sequences::new(vec![seq])
        .unwrap()
        .with_missing(missing)
        .unwrap()
}

fn start<F: Family>(model: &HmmModel<F>, name: &str) -> Vec<f64> {
    let u = model.initial_point();
    let mut buffer = Vec::new();
    let params = model.layout().constrain_params(&u, &mut buffer).unwrap();
    params.get(name).unwrap().to_vec()
}

#[test]
fn location_families_start_at_the_data_quantiles() {
    let data = clustered(true);
    let check = |mu: Vec<f64>, sigma: Vec<f64>| {
        for (m, centre) in mu.iter().zip([-20.0, 0.0, 20.0]) {
            assert!((m - centre).abs() < 1.0, "mu {mu:?}");
        }
        // The data's sd (≈ 16.3) over K.
        for s in &sigma {
            assert!((s - 16.33 / 3.0).abs() < 0.2, "sigma {sigma:?}");
        }
    };
    let gaussian = HmmModel::new(GaussianFamily::new(3), data.clone()).unwrap();
    check(start(&gaussian, "mu"), start(&gaussian, "sigma"));
    let student = HmmModel::new(StudentTFamily::new(3), data.clone()).unwrap();
    check(start(&student, "mu"), start(&student, "sigma"));
    let ar1 = HmmModel::new(Ar1Family::new(3), data).unwrap();
    check(start(&ar1, "mu"), start(&ar1, "sigma"));
    assert_eq!(
        start(&ar1, "phi"),
        [0.0; 3],
        "phi keeps the zero point's value"
    );
}

#[test]
fn rate_families_start_at_positive_increasing_quantiles() {
    let counts: Vec<u32> = (0..300).map(|i| [0, 6, 30][(i / 10) % 3]).collect();
    let poisson =
        HmmModel::new(PoissonFamily::new(3), Sequences::new(vec![counts]).unwrap()).unwrap();
    let rates = start(&poisson, "rate");
    assert!(rates[0] > 0.0 && rates[0] < 0.5, "{rates:?}");
    assert!(
        (rates[1] - 6.0).abs() < 1.5 && (rates[2] - 30.0).abs() < 1.5,
        "{rates:?}"
    );
    let durations: Vec<f64> = (0..300).map(|i| [0.1, 1.0, 10.0][(i / 10) % 3]).collect();
    let exponential = HmmModel::new(
        ExponentialFamily::new(3),
        Sequences::new(vec![durations]).unwrap(),
    )
    .unwrap();
    let rates = start(&exponential, "rate");
    // Rates 1/10, 1, 10 (increasing), each lifted by a hundredth of their sd (≈ 0.047).
    for (r, expected) in rates.iter().zip([0.1, 1.0, 10.0]) {
        assert!((r - expected - 0.047).abs() < 0.005, "{rates:?}");
    }
}

#[test]
fn families_without_data_guesses_and_constant_data_keep_the_zero_point() {
    let symbols = Sequences::new(vec![vec![0usize, 1, 2, 1, 0]]).unwrap();
    let categorical = HmmModel::new(CategoricalFamily::new(2, 3), symbols).unwrap();
    assert_eq!(
        categorical.initial_point(),
        categorical.layout().initial_point()
    );
    let constant = Sequences::new(vec![vec![1.5; 20]]).unwrap();
    let gaussian = HmmModel::new(GaussianFamily::new(2), constant).unwrap();
    assert_eq!(gaussian.initial_point(), gaussian.layout().initial_point());
}
