//! The reference PyMC model reproduced: per-term log-densities at the initial point and the
//! joint log-density and gradient at the three points of `truth.json`.

use trellis_ad::{forward, GradientCheck};
use trellis_models::reference::{seed_reference_model, seed_true_constrained};
use trellis_models::{BayesianModel, ModelDensity};

fn truth() -> serde_json::Value {
    serde_json::from_str(include_str!("../data/seed-hmm/truth.json")).unwrap()
}

fn numbers(v: &serde_json::Value) -> Vec<f64> {
    match v {
        serde_json::Value::Array(items) => items.iter().flat_map(numbers).collect(),
        serde_json::Value::Number(n) => vec![n.as_f64().unwrap()],
        other => panic!("not a number: {other}"),
    }
}

/// The unconstrained point stored under `key` in `pymc_model`, in layout order.
fn point(key: &str) -> Vec<f64> {
    let p = &truth()["pymc_model"][key];
    let mut u = numbers(&p["emission_signal"]);
    u.extend(numbers(&p["emission_noise_log__"]));
    u.extend(numbers(&p["p_initial_state_simplex__"]));
    u.extend(numbers(&p["p_transition_simplex__"]));
    u
}

fn rel_err(got: f64, want: f64) -> f64 {
    (got - want).abs() / want.abs()
}

#[test]
fn unconstrained_names_match_pymc() {
    let model = seed_reference_model().unwrap();
    let want: Vec<String> = truth()["pymc_model"]["gradient_vector_names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(model.layout().unconstrained_names(), want);
}

#[test]
fn terms_at_initial_point() {
    let model = seed_reference_model().unwrap();
    let t = &truth()["pymc_model"]["terms_at_initial_point_with_jacobian"];
    let terms = model.point_logps(&model.layout().initial_point()).unwrap();
    let names: Vec<&str> = terms.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "emission_signal",
            "emission_noise",
            "p_initial_state",
            "p_transition",
            "hmm_loglike"
        ]
    );
    for (name, value) in &terms {
        let want: f64 = numbers(&t[name.as_str()]).iter().sum();
        let err = rel_err(*value, want);
        eprintln!("{name}: {value:.17} vs {want:.17} (rel {err:.1e})");
        assert!(err < 1e-12, "{name}: {value} vs {want}");
    }
    // The rounded values PyMC prints.
    let rounded = &truth()["pymc_model"]["point_logps_at_initial_point_rounded"];
    for (name, value) in &terms {
        let want = rounded[name.as_str()].as_f64().unwrap();
        assert_eq!((value * 100.0).round() / 100.0, want, "{name}");
    }
}

#[test]
fn joint_logp_and_gradient_at_three_points() {
    let model = seed_reference_model().unwrap();
    let truth = truth();
    let pm = &truth["pymc_model"];
    let initial = model.layout().initial_point();
    let cases = [
        (
            "initial",
            initial,
            "joint_logp_at_initial_point",
            "joint_dlogp_at_initial_point",
        ),
        (
            "true",
            point("true_point_unconstrained"),
            "joint_logp_at_true_point",
            "joint_dlogp_at_true_point",
        ),
        (
            "random",
            point("random_point_unconstrained"),
            "joint_logp_at_random_point",
            "joint_dlogp_at_random_point",
        ),
    ];
    for (label, u, logp_key, dlogp_key) in cases {
        let want_logp = pm[logp_key].as_f64().unwrap();
        let want_grad = numbers(&pm[dlogp_key]);
        let (logp, grad) = model.log_density_and_gradient(&u).unwrap();
        let err = rel_err(logp, want_logp);
        eprintln!("{label}: logp {logp:.17} vs {want_logp:.17} (rel {err:.1e})");
        assert!(err < 1e-8, "{label}: logp {logp} vs {want_logp}");
        // Gradient components: 1e-8 relative to the component, or to the gradient's norm for
        // components that are zero up to PyMC's rounding (2e-13 at the initial point).
        let norm = want_grad.iter().map(|g| g * g).sum::<f64>().sqrt();
        for (i, (&g, &w)) in grad.iter().zip(&want_grad).enumerate() {
            let err = (g - w).abs() / w.abs().max(1e-6 * norm);
            eprintln!("  {label} grad[{i}]: {g:.17e} vs {w:.17e} (rel {err:.1e})");
            assert!(err < 1e-8, "{label}: grad[{i}] {g} vs {w}");
        }
        // Forward mode (generic emission code) agrees with the fused reverse mode.
        let fwd = forward::gradient(&ModelDensity::new(&model), &u);
        for (i, (&g, &f)) in grad.iter().zip(&fwd).enumerate() {
            assert!(
                (g - f).abs() <= 1e-9 * g.abs().max(1.0),
                "{label}: grad[{i}] reverse {g} vs forward {f}"
            );
        }
    }
}

#[test]
fn true_point_round_trips_and_likelihood_matches_reference() {
    let model = seed_reference_model().unwrap();
    let u = model
        .layout()
        .unconstrain(&seed_true_constrained())
        .unwrap();
    let want = point("true_point_unconstrained");
    for (i, (&a, &b)) in u.iter().zip(&want).enumerate() {
        assert!((a - b).abs() < 1e-13, "u[{i}]: {a} vs {b}");
    }
    let terms = model.point_logps(&u).unwrap();
    let hmm = terms.last().unwrap().1;
    let want_hmm = truth()["reference"]["hmm_logp_total_at_true"]
        .as_f64()
        .unwrap();
    assert!(rel_err(hmm, want_hmm) < 1e-10, "{hmm} vs {want_hmm}");
    // Without Jacobians: priors + likelihood on the constrained space.
    let no_jac = truth()["pymc_model"]["joint_logp_at_true_point_without_jacobian"]
        .as_f64()
        .unwrap();
    let mut buffer = Vec::new();
    let params = model.layout().constrain_params(&u, &mut buffer).unwrap();
    let priors: f64 = (0..4).map(|i| model.layout().log_prior(&params, i)).sum();
    assert!(
        rel_err(priors + hmm, no_jac) < 1e-10,
        "{} vs {no_jac}",
        priors + hmm
    );
}

#[test]
fn gradient_check_at_random_point() {
    let model = seed_reference_model().unwrap();
    let u = point("random_point_unconstrained");
    let opts = GradientCheck {
        rel_tol: 1e-6,
        ..GradientCheck::default()
    };
    trellis_ad::check_gradient(&ModelDensity::new(&model), &u, &opts).unwrap();
}

#[test]
fn decoding_at_the_truth_recovers_the_hidden_states() {
    let model = seed_reference_model().unwrap();
    let hidden = trellis_models::hmm::seed_dataset().hidden_states;
    let (mut right, mut total) = (0usize, 0usize);
    for (s, states) in hidden.iter().enumerate() {
        let path = model
            .at_point(&seed_true_constrained(), |chain, emission| {
                trellis_models::hmm::viterbi(chain, emission, &model.data()[s])
            })
            .unwrap()
            .unwrap();
        right += std::iter::zip(&path.states, states)
            .filter(|(a, b)| a == b)
            .count();
        total += states.len();
    }
    // Means 1.15 apart with sd 0.15: states are almost never confused.
    assert!(right as f64 >= 0.99 * total as f64, "{right} of {total}");
}
