//! Simulation: bit-reproducible for a seed, and statistically right. Tolerances are four
//! Monte Carlo standard errors (a false alarm about once in 16 000 checks; the seeds are
//! fixed, so the outcome is deterministic).

use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use trellis_ad::Dual;
use trellis_models::hmm::{HmmParams, Observation, Sequences};
use trellis_models::reference::{seed_reference_model, seed_true_constrained};
use trellis_models::simulate::simulate_hmm;
use trellis_models::zoo::*;
use trellis_models::{BayesianModel, ModelError, SampleEmission};

/// `(value, standard error)` checks: `|estimate − expected| ≤ 4 se`.
fn within(label: &str, estimate: f64, expected: f64, se: f64) {
    assert!(
        (estimate - expected).abs() <= 4.0 * se,
        "{label}: estimate {estimate} vs expected {expected} (4 se = {})",
        4.0 * se
    );
}

/// [`within`] for the mean of `xs`, draws with standard deviation `sd`.
fn within_mean(label: &str, xs: &[f64], expected: f64, sd: f64) {
    within(label, mean(xs), expected, sd / (xs.len() as f64).sqrt());
}

/// Observations grouped by their true state.
fn by_state<O: Clone>(obs: &Sequences<O>, states: &Sequences<usize>, k: usize) -> Vec<Vec<O>> {
    let mut groups = vec![Vec::new(); k];
    for (o, z) in obs.flat().iter().zip(states.flat()) {
        groups[*z].push(o.clone());
    }
    groups
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

fn chain() -> HmmParams {
    HmmParams::from_probabilities(&[0.6, 0.4], &[0.9, 0.1, 0.3, 0.7]).unwrap()
}

/// `sequences` sequences of 30 steps from the two-state [`chain`] with `emission`, the
/// observations grouped by their true state.
fn simulated_by_state<E: SampleEmission>(
    emission: &E,
    sequences: usize,
    seed: u64,
) -> Vec<Vec<E::Obs>>
where
    E::Obs: Observation + Clone,
{
    let sim = simulate_hmm(&chain(), emission, sequences, 30, seed).unwrap();
    by_state(&sim.observations, &sim.states, 2)
}

#[test]
fn same_seed_same_draws_different_seed_different_draws() {
    let model = seed_reference_model().unwrap();
    let truth = seed_true_constrained();
    let a = model.simulate(&truth, 5, 30, 7).unwrap();
    let b = model.simulate(&truth, 5, 30, 7).unwrap();
    let c = model.simulate(&truth, 5, 30, 8).unwrap();
    assert_eq!(a, b);
    assert_ne!(a.observations, c.observations);
    // Bit-identical, not merely equal as floats.
    let bits = |s: &Sequences<f64>| s.flat().iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&a.observations), bits(&b.observations));
}

#[test]
fn transitions_and_initial_states_have_the_right_frequencies() {
    let (means, sds) = ([0.0, 5.0], [1.0, 1.0]);
    let e = Gaussian::new(&means, &sds).unwrap();
    let sim = simulate_hmm(&chain(), &e, 2000, 20, 11).unwrap();
    let first0 = sim.states.iter().filter(|s| s[0] == 0).count() as f64 / 2000.0;
    within("p_initial[0]", first0, 0.6, (0.6f64 * 0.4 / 2000.0).sqrt());
    let mut counts = [[0.0f64; 2]; 2];
    for s in &sim.states {
        for w in s.windows(2) {
            counts[w[0]][w[1]] += 1.0;
        }
    }
    let p = [[0.9, 0.1], [0.3, 0.7]];
    for i in 0..2 {
        let n = counts[i][0] + counts[i][1];
        let est = counts[i][1] / n;
        within(
            &format!("p_transition[{i},1]"),
            est,
            p[i][1],
            (p[i][1] * (1.0 - p[i][1]) / n).sqrt(),
        );
    }
    // Emissions given the states.
    let groups = by_state(&sim.observations, &sim.states, 2);
    for k in 0..2 {
        let n = groups[k].len() as f64;
        within_mean(&format!("mean of state {k}"), &groups[k], means[k], sds[k]);
        let var = groups[k]
            .iter()
            .map(|y| (y - means[k]).powi(2))
            .sum::<f64>()
            / n;
        // Var of the sample variance of a normal: 2σ⁴/n.
        within(
            &format!("variance of state {k}"),
            var,
            1.0,
            (2.0 / n).sqrt(),
        );
    }
}

#[test]
fn shared_signal_means_are_multiples_of_the_signal() {
    let model = seed_reference_model().unwrap();
    let sim = model
        .simulate(&seed_true_constrained(), 100, 51, 3)
        .unwrap();
    let groups = by_state(&sim.observations, &sim.states, 3);
    for (k, g) in groups.iter().enumerate() {
        let n = g.len() as f64;
        within(
            &format!("state {k}"),
            mean(g),
            1.15 * (k + 1) as f64,
            0.15 / n.sqrt(),
        );
    }
}

#[test]
fn poisson_counts() {
    let rates = [2.0, 9.0];
    let groups = simulated_by_state(&Poisson::new(&rates).unwrap(), 300, 5);
    for k in 0..2 {
        let xs: Vec<f64> = groups[k].iter().map(|&c| f64::from(c)).collect();
        within(
            &format!("rate {k}"),
            mean(&xs),
            rates[k],
            (rates[k] / xs.len() as f64).sqrt(),
        );
    }
}

#[test]
fn categorical_frequencies() {
    let probs: [f64; 6] = [0.7, 0.2, 0.1, 0.1, 0.1, 0.8];
    let log_p: Vec<f64> = probs.iter().map(|p| p.ln()).collect();
    let groups = simulated_by_state(&Categorical::new(&log_p, 3).unwrap(), 300, 5);
    for k in 0..2 {
        let n = groups[k].len() as f64;
        for m in 0..3 {
            let p = probs[k * 3 + m];
            let est = groups[k].iter().filter(|&&y| y == m).count() as f64 / n;
            within(&format!("p[{k},{m}]"), est, p, (p * (1.0 - p) / n).sqrt());
        }
    }
}

#[test]
fn student_t_location_and_variance() {
    let (locs, scales, nus) = ([-3.0, 4.0], [1.0, 2.0], [6.0, 10.0]);
    let e = StudentT::new(&locs, &scales, &nus).unwrap();
    let groups = simulated_by_state(&e, 400, 9);
    for k in 0..2 {
        let n = groups[k].len() as f64;
        let var = scales[k] * scales[k] * nus[k] / (nus[k] - 2.0);
        within(
            &format!("location {k}"),
            mean(&groups[k]),
            locs[k],
            (var / n).sqrt(),
        );
    }
}

#[test]
fn exponential_means() {
    let rates = [0.5, 4.0];
    let groups = simulated_by_state(&Exponential::new(&rates).unwrap(), 300, 13);
    for k in 0..2 {
        within_mean(
            &format!("mean {k}"),
            &groups[k],
            1.0 / rates[k],
            1.0 / rates[k],
        );
        assert!(groups[k].iter().all(|&y| y >= 0.0));
    }
}

#[test]
fn ar1_autocorrelation_and_stationary_start() {
    // One state: a plain AR(1) process with level 2, persistence 0.6, innovation sd 0.5.
    let one = HmmParams::from_probabilities(&[1.0], &[1.0]).unwrap();
    let (mu, phi, sigma) = ([2.0], [0.6], [0.5]);
    let e = Ar1Gaussian::new(&mu, &phi, &sigma).unwrap();
    let sim = simulate_hmm(&one, &e, 2000, 25, 17).unwrap();
    // Lag-1 regression slope through the known level: Σ (y_t − μ)(y_(t−1) − μ) / Σ (y_(t−1) − μ)².
    let (mut sxy, mut sxx, mut n) = (0.0, 0.0, 0.0);
    for s in &sim.observations {
        for w in s.windows(2) {
            sxy += (w[1] - 2.0) * (w[0] - 2.0);
            sxx += (w[0] - 2.0).powi(2);
            n += 1.0;
        }
    }
    within("phi", sxy / sxx, 0.6, ((1.0 - 0.36f64) / n).sqrt());
    // First observations come from the stationary law N(2, 0.5 / √(1 − 0.36)).
    let firsts: Vec<f64> = sim.observations.iter().map(|s| s[0]).collect();
    let sd0 = 0.5 / 0.64f64.sqrt();
    within("start mean", mean(&firsts), 2.0, sd0 / 2000f64.sqrt());
    let var0 = firsts.iter().map(|y| (y - 2.0).powi(2)).sum::<f64>() / 2000.0;
    within(
        "start variance",
        var0,
        sd0 * sd0,
        sd0 * sd0 * (2.0 / 2000f64).sqrt(),
    );
}

#[test]
fn diagonal_mvn_component_means() {
    let means = [0.0, 10.0, -1.0, 5.0, 2.0, 3.0];
    let sds = [1.0, 2.0, 0.5, 1.5, 1.0, 0.2];
    let e = DiagonalMvn::new(&means, &sds, 3).unwrap();
    let groups = simulated_by_state(&e, 200, 19);
    for k in 0..2 {
        let n = groups[k].len() as f64;
        for d in 0..3 {
            let xs: Vec<f64> = groups[k].iter().map(|y| y[d]).collect();
            within(
                &format!("mu[{k},{d}]"),
                mean(&xs),
                means[k * 3 + d],
                sds[k * 3 + d] / n.sqrt(),
            );
        }
    }
}

#[test]
fn every_family_simulates_from_its_ready_model() {
    fn go<F: Family + Clone>(family: F, dummy: Sequences<F::Obs>) -> Result<(), ModelError>
    where
        F::Obs: PartialEq + std::fmt::Debug,
    {
        let model = HmmModel::new(family.clone(), dummy)?;
        let u: Vec<f64> = (0..model.layout().dim())
            .map(|i| 0.2 * (i % 5) as f64 - 0.3)
            .collect();
        let truth = model.constrained(&u)?;
        let sim = model.simulate(&truth, 4, 12, 99)?;
        assert_eq!(sim.observations.total_len(), 48);
        assert_eq!(sim, model.simulate(&truth, 4, 12, 99)?);
        // The simulated data are valid for the model and give a finite log-density.
        let fitted = HmmModel::new(family, sim.observations)?;
        assert!(fitted.log_density(&u)?.is_finite());
        Ok(())
    }
    let real = || Sequences::new(vec![vec![0.5]]).unwrap();
    go(GaussianFamily::new(3), real()).unwrap();
    go(SharedSignalFamily::new(3), real()).unwrap();
    go(
        PoissonFamily::new(3),
        Sequences::new(vec![vec![1u32]]).unwrap(),
    )
    .unwrap();
    go(
        CategoricalFamily::new(2, 5),
        Sequences::new(vec![vec![0usize]]).unwrap(),
    )
    .unwrap();
    go(StudentTFamily::new(2), real()).unwrap();
    go(Ar1Family::new(2), real()).unwrap();
    go(
        DiagonalMvnFamily::new(2, 2),
        Sequences::new(vec![vec![vec![0.0, 0.0]]]).unwrap(),
    )
    .unwrap();
    go(ExponentialFamily::new(2), real()).unwrap();
}

/// `n` draws from state `state` of `emission`, from a fresh stream seeded with 7.
fn draws<T, E: SampleEmission<T>>(emission: &E, state: usize, n: usize) -> Vec<E::Obs>
where
    T: trellis_ad::Scalar,
{
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let y = emission.sample(state, &out, &mut rng);
        out.push(y);
    }
    out
}

/// A view over forward-mode numbers draws exactly what the view over their values draws:
/// sampling reads only the values, which is what lets a family name one emission type for
/// evaluation, gradients and simulation.
#[test]
fn sampling_reads_only_the_values() {
    let duals = |v: &[f64]| v.iter().map(|&x| Dual::variable(x)).collect::<Vec<_>>();
    let (mu, phi, sigma) = ([0.0, 5.0], [0.5, -0.3], [1.0, 2.0]);
    let (mu_d, phi_d, sigma_d) = (duals(&mu), duals(&phi), duals(&sigma));
    let plain = Ar1Gaussian::new(&mu, &phi, &sigma).unwrap();
    let dual = Ar1Gaussian::new(&mu_d, &phi_d, &sigma_d).unwrap();
    let bits = |v: Vec<f64>| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(draws(&plain, 1, 50)), bits(draws(&dual, 1, 50)));
    dual.check_params().unwrap();

    let log_p = [0.2f64.ln(), 0.8f64.ln(), 0.5f64.ln(), 0.5f64.ln()];
    let log_p_d = duals(&log_p);
    let plain = Categorical::new(&log_p, 2).unwrap();
    let dual = Categorical::new(&log_p_d, 2).unwrap();
    assert_eq!(draws(&plain, 0, 50), draws(&dual, 0, 50));

    let rates = [0.5, 40.0];
    let rates_d = duals(&rates);
    let plain = Poisson::new(&rates).unwrap();
    let dual = Poisson::new(&rates_d).unwrap();
    assert_eq!(draws(&plain, 1, 50), draws(&dual, 1, 50));
}

/// A family written outside the zoo states only its parameters, its emission view and its
/// support; data checks and simulation come with the trait and the model.
#[test]
fn a_user_family_gets_checks_and_simulation() {
    use trellis_ad::Scalar;
    use trellis_models::{LayoutError, ParamHandle, ParamLayout, Params, Prior, Shape, Transform};

    /// `y ~ Normal((k + 1)·signal, 0.5)` for non-negative observations only.
    #[derive(Debug)]
    struct KnownNoise;

    impl Family for KnownNoise {
        type Obs = f64;
        type Handles = ParamHandle;
        type Emission<'a, T: Scalar> = SharedSignalGaussian<T>;

        fn n_states(&self) -> usize {
            2
        }

        fn add_params(&self, layout: &mut ParamLayout) -> Result<ParamHandle, LayoutError> {
            layout.declare("signal", Shape::Scalar, Transform::Log, Prior::Flat)
        }

        fn emission<'a, T: Scalar>(
            &'a self,
            signal: &ParamHandle,
            params: &Params<'a, T>,
        ) -> SharedSignalGaussian<T> {
            let signal = params.of(*signal)[0];
            SharedSignalGaussian::new(signal, T::constant(0.5), 2).expect("a positive signal")
        }

        fn invalid_observation(&self, &y: &f64) -> Option<String> {
            (y < 0.0).then(|| "must be non-negative".to_string())
        }
    }

    let bad = Sequences::new(vec![vec![1.0, 2.0], vec![3.0, -1.0]]).unwrap();
    let err = HmmModel::new(KnownNoise, bad).unwrap_err();
    assert_eq!(
        err.to_string(),
        "observation 1 of sequence 1 (-1.0) is invalid: must be non-negative"
    );
    let model = HmmModel::new(KnownNoise, Sequences::new(vec![vec![1.0]]).unwrap()).unwrap();
    let truth = [3.0, 0.5, 0.5, 0.9, 0.1, 0.1, 0.9];
    let sim = model.simulate(&truth, 200, 20, 5).unwrap();
    // Means 3 and 6, sd 0.5: each observation is near its state's mean.
    let groups = by_state(&sim.observations, &sim.states, 2);
    for (k, group) in groups.iter().enumerate() {
        let expected = 3.0 * (k + 1) as f64;
        within(
            &format!("mean of state {k}"),
            mean(group),
            expected,
            0.5 / (group.len() as f64).sqrt(),
        );
    }
    // The same view, at the same point, with the model's own check: the chain is valid.
    assert_eq!(model.chain(&truth).unwrap().n_states(), 2);
}
