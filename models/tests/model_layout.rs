//! The parameter layout, priors attached to it, and the model adapters.

use trellis_ad::{check_gradient, tape_capacity, GradientCheck, Scalar};
use trellis_models::distributions as d;
use trellis_models::{
    BayesianModel, LayoutError, ModelDensity, ModelError, NameStyle, ParamLayout, Params, Prior,
    Shape, Transform,
};
use trellis_samplers::{LogDensity, LogDensityError};

/// `mu ~ Normal(0, 10)` of the given shape and transform, then a scalar `sigma ~
/// HalfNormal(1)` on the log scale.
fn mu_and_sigma(mu_shape: Shape, mu_transform: Transform) -> ParamLayout {
    let mu_prior = Prior::Normal {
        mu: 0.0,
        sigma: 10.0,
    };
    ParamLayout::new()
        .add_with_prior("mu", mu_shape, mu_transform, mu_prior)
        .unwrap()
        .add_with_prior(
            "sigma",
            Shape::Scalar,
            Transform::Log,
            Prior::HalfNormal { sigma: 1.0 },
        )
        .unwrap()
}

fn example() -> ParamLayout {
    mu_and_sigma(Shape::Vector(2), Transform::Ordered)
        .add_with_prior(
            "theta",
            Shape::Matrix(2, 3),
            Transform::Simplex,
            Prior::uniform_simplex(3),
        )
        .unwrap()
}

#[test]
fn sizes_offsets_and_initial_point() {
    let layout = example();
    assert_eq!(layout.dim(), 2 + 1 + 2 * 2);
    assert_eq!(layout.constrained_len(), 2 + 1 + 6);
    assert_eq!(layout.initial_point(), vec![0.0; 7]);
    let offsets: Vec<(usize, usize, usize)> = layout
        .params()
        .iter()
        .map(|p| {
            (
                p.unconstrained_offset,
                p.unconstrained_len,
                p.constrained_offset,
            )
        })
        .collect();
    assert_eq!(offsets, vec![(0, 2, 0), (2, 1, 2), (3, 4, 3)]);
    assert_eq!(layout.index_of("theta"), Some(2));
    assert_eq!(layout.index_of("nope"), None);
}

#[test]
fn element_names_in_three_styles() {
    let layout = example();
    assert_eq!(
        layout.element_names(),
        [
            "mu[0]",
            "mu[1]",
            "sigma",
            "theta[0,0]",
            "theta[0,1]",
            "theta[0,2]",
            "theta[1,0]",
            "theta[1,1]",
            "theta[1,2]"
        ]
    );
    assert_eq!(
        layout.unconstrained_names(),
        [
            "mu_ordered__[0]",
            "mu_ordered__[1]",
            "sigma_log__",
            "theta_simplex__[0,0]",
            "theta_simplex__[0,1]",
            "theta_simplex__[1,0]",
            "theta_simplex__[1,1]"
        ]
    );
    let stan = example().with_name_style(NameStyle::OneBased);
    assert_eq!(
        stan.element_names()[..4],
        ["mu[1]", "mu[2]", "sigma", "theta[1,1]"]
    );
    fn dotted(name: &str, index: &[usize]) -> String {
        std::iter::once(name.to_string())
            .chain(index.iter().map(|i| (i + 1).to_string()))
            .collect::<Vec<_>>()
            .join(".")
    }
    let cmdstan = example().with_name_style(NameStyle::Custom(dotted));
    assert_eq!(
        cmdstan.element_names()[..4],
        ["mu.1", "mu.2", "sigma", "theta.1.1"]
    );
}

#[test]
fn constrain_writes_values_logs_and_jacobians() {
    let layout = example();
    let u = [-1.0, 0.5, -0.2, 0.3, -0.4, 1.0, 0.0];
    let mut buffer = Vec::new();
    let params = layout.constrain_params(&u, &mut buffer).unwrap();
    assert_eq!(params.value(0), &[-1.0, -1.0 + 0.5f64.exp()]);
    assert_eq!(params.get("sigma").unwrap(), &[(-0.2f64).exp()]);
    assert_eq!(params.log_value(1).unwrap(), &[-0.2]);
    assert!(params.log_value(0).is_none());
    let theta_logs = params.log_value(2).unwrap();
    for (p, l) in params.value(2).iter().zip(theta_logs) {
        assert!((p.ln() - l).abs() < 1e-15);
    }
    assert_eq!(params.log_jacobian(0), 0.5);
    assert_eq!(params.log_jacobian(1), -0.2);
    let mut values = Vec::new();
    let total = layout.constrain(&u, &mut values).unwrap();
    assert_eq!(values, params.values());
    let sum: f64 = (0..3).map(|i| params.log_jacobian(i)).sum();
    assert!((total - sum).abs() < 1e-15);
    let back = layout.unconstrain(&values).unwrap();
    for (a, b) in back.iter().zip(&u) {
        assert!((a - b).abs() < 1e-14);
    }
}

#[test]
fn declared_priors_match_the_distribution_functions() {
    let x = 0.7;
    // (prior, its default transform, its log-density at x)
    #[rustfmt::skip]
    let cases: Vec<(Prior, Transform, f64)> = vec![
        (Prior::Flat, Transform::Identity, 0.0),
        (Prior::Normal { mu: 0.2, sigma: 1.5 }, Transform::Identity, d::normal_lpdf(x, 0.2, 1.5)),
        (Prior::HalfNormal { sigma: 2.0 }, Transform::Log, d::half_normal_lpdf(x, 2.0)),
        (Prior::LogNormal { mu: 0.1, sigma: 0.5 }, Transform::Log, d::lognormal_lpdf(x, 0.1, 0.5)),
        (Prior::Exponential { rate: 3.0 }, Transform::Log, d::exponential_lpdf(x, 3.0)),
        (Prior::Gamma { shape: 2.0, rate: 3.0 }, Transform::Log, d::gamma_lpdf(x, 2.0, 3.0)),
        (
            Prior::Beta { alpha: 2.0, beta: 5.0 },
            Transform::Interval { lower: 0.0, upper: 1.0 },
            d::beta_lpdf(x, 2.0, 5.0),
        ),
        (
            Prior::Uniform { lower: -1.0, upper: 1.0 },
            Transform::Interval { lower: -1.0, upper: 1.0 },
            -(2f64.ln()),
        ),
        (
            Prior::StudentT { nu: 3.0, mu: 0.0, sigma: 2.0 },
            Transform::Identity,
            d::student_t_lpdf(x, 3.0, 0.0, 2.0),
        ),
        (Prior::Cauchy { loc: 1.0, scale: 0.5 }, Transform::Identity, d::cauchy_lpdf(x, 1.0, 0.5)),
        (Prior::HalfCauchy { scale: 0.5 }, Transform::Log, d::half_cauchy_lpdf(x, 0.5)),
    ];
    for (prior, transform, want) in cases {
        assert_eq!(prior.default_transform(), transform, "{prior:?}");
        let layout = ParamLayout::new()
            .add_with_prior("x", Shape::Vector(2), transform, prior.clone())
            .unwrap();
        let u = layout.unconstrain(&[x, x]).unwrap();
        let mut buffer = Vec::new();
        let params = layout.constrain_params(&u, &mut buffer).unwrap();
        let lp = layout.log_prior(&params, 0);
        assert!(
            (lp - 2.0 * want).abs() < 1e-13,
            "{prior:?}: {lp} vs {}",
            2.0 * want
        );
    }
    // Dirichlet with one concentration vector per row.
    let prior = Prior::dirichlet_rows(&[vec![1.0, 2.0, 3.0], vec![5.0, 1.0, 1.0]]);
    let layout = ParamLayout::new()
        .add_with_prior("p", Shape::Matrix(2, 3), Transform::Simplex, prior)
        .unwrap();
    let p = [0.2, 0.3, 0.5, 0.6, 0.3, 0.1];
    let u = layout.unconstrain(&p).unwrap();
    let mut buffer = Vec::new();
    let params = layout.constrain_params(&u, &mut buffer).unwrap();
    let want =
        d::dirichlet_lpdf(&p[..3], &[1.0, 2.0, 3.0]) + d::dirichlet_lpdf(&p[3..], &[5.0, 1.0, 1.0]);
    assert!((layout.log_prior(&params, 0) - want).abs() < 1e-12);
}

#[test]
fn invalid_declarations_are_typed_errors() {
    let base = || {
        ParamLayout::new()
            .add("a", Shape::Scalar, Transform::Identity)
            .unwrap()
    };
    let msg = |r: Result<ParamLayout, LayoutError>| r.unwrap_err().to_string();
    assert_eq!(
        msg(base().add("a", Shape::Scalar, Transform::Log)),
        "parameter `a` is declared twice"
    );
    assert_eq!(
        msg(base().add("", Shape::Scalar, Transform::Log)),
        "parameter ``: the name is empty"
    );
    assert_eq!(
        msg(base().add("b", Shape::Vector(0), Transform::Log)),
        "parameter `b`: shape Vector(0) has no elements"
    );
    assert_eq!(
        msg(base().add("b", Shape::Scalar, Transform::Simplex)),
        "parameter `b`: a simplex transform needs a vector or matrix shape"
    );
    assert_eq!(
        msg(base().add_with_prior(
            "b",
            Shape::Vector(3),
            Transform::Identity,
            Prior::uniform_simplex(3)
        )),
        "parameter `b`: a Dirichlet prior needs a simplex transform, not Identity"
    );
    assert_eq!(
        msg(base().add_with_prior("b", Shape::Matrix(2, 3), Transform::Simplex, Prior::uniform_simplex(4))),
        "parameter `b`: Dirichlet alpha has 4 entries; expected 3 (shared by every row) or 6 (2 rows of 3)"
    );
    assert_eq!(
        msg(base().add_with_prior(
            "b",
            Shape::Scalar,
            Transform::Log,
            Prior::HalfNormal { sigma: -1.0 }
        )),
        "parameter `b`: sigma must be positive and finite, got -1"
    );
    assert_eq!(
        msg(base().add(
            "b",
            Shape::Scalar,
            Transform::Interval {
                lower: 1.0,
                upper: 1.0
            }
        )),
        "parameter `b`: interval upper bound (1) must exceed the lower bound (1)"
    );
    assert_eq!(
        msg(base().add("b", Shape::Vector(3), Transform::OrderedColumn(0))),
        "parameter `b`: OrderedColumn(0) needs a matrix shape with more than 0 columns, not Vector(3)"
    );
}

#[test]
fn wrong_lengths_and_out_of_support_values() {
    let layout = example();
    let mut out = Vec::new();
    assert_eq!(
        layout
            .constrain(&[0.0; 6], &mut out)
            .unwrap_err()
            .to_string(),
        "the unconstrained parameter vector has length 6, expected 7"
    );
    assert_eq!(
        layout.unconstrain(&[0.0; 10]).unwrap_err().to_string(),
        "the constrained parameter vector has length 10, expected 9"
    );
    let bad_sigma = [0.0, 1.0, -0.5, 0.2, 0.3, 0.5, 0.2, 0.3, 0.5];
    assert_eq!(
        layout.unconstrain(&bad_sigma).unwrap_err().to_string(),
        "sigma = -0.5 is outside the support: must be positive"
    );
    // A transition-style row that does not sum to 1, given directly.
    let bad_row = [0.0, 1.0, 0.5, 0.2, 0.3, 0.5, 0.2, 0.3, 0.4];
    assert_eq!(
        layout.unconstrain(&bad_row).unwrap_err().to_string(),
        "theta[1,0] = 0.2 is outside the support: simplex entries sum to 0.9, not 1"
    );
    let unordered = [1.0, 0.0, 0.5, 0.2, 0.3, 0.5, 0.2, 0.3, 0.5];
    assert_eq!(
        layout.unconstrain(&unordered).unwrap_err().to_string(),
        "mu[1] = 0 is outside the support: must exceed the previous element 1"
    );
    let nan = [0.0, f64::NAN, 0.5, 0.2, 0.3, 0.5, 0.2, 0.3, 0.5];
    assert_eq!(
        layout.unconstrain(&nan).unwrap_err().to_string(),
        "mu[1] = NaN is outside the support: not finite"
    );
}

/// y ~ Normal(mu, sigma), a two-parameter model for the adapters.
struct NormalModel {
    y: Vec<f64>,
    layout: ParamLayout,
}

impl BayesianModel for NormalModel {
    fn layout(&self) -> &ParamLayout {
        &self.layout
    }
    fn log_likelihood<T: Scalar>(&self, p: &Params<'_, T>) -> Result<T, ModelError> {
        let (mu, sigma) = (p.value(0)[0], p.value(1)[0]);
        Ok(self
            .y
            .iter()
            .map(|&y| d::normal_lpdf(T::constant(y), mu, sigma))
            .sum())
    }
}

fn normal_model() -> NormalModel {
    let layout = mu_and_sigma(Shape::Scalar, Transform::Identity);
    NormalModel {
        y: vec![0.3, -1.2, 0.8, 2.0],
        layout,
    }
}

#[test]
fn log_density_is_the_sum_of_point_logps() {
    let model = normal_model();
    let u = [0.4, -0.3];
    let terms = model.point_logps(&u).unwrap();
    let sigma = (-0.3f64).exp();
    let want_sigma = d::half_normal_lpdf(sigma, 1.0) - 0.3;
    assert!((terms[1].1 - want_sigma).abs() < 1e-14);
    let like: f64 = model.y.iter().map(|&y| d::normal_lpdf(y, 0.4, sigma)).sum();
    assert!((terms[2].1 - like).abs() < 1e-13);
    let total: f64 = terms.iter().map(|t| t.1).sum();
    assert!((model.log_density(&u).unwrap() - total).abs() < 1e-13);
    let (v, g) = model.log_density_and_gradient(&u).unwrap();
    assert!((v - total).abs() < 1e-13);
    check_gradient(&ModelDensity::new(&model), &u, &GradientCheck::default()).unwrap();
    let report = check_gradient(&ModelDensity::new(&model), &u, &GradientCheck::default()).unwrap();
    assert_eq!(report.analytic, g);
}

#[test]
fn log_density_adapter_for_samplers() {
    let model = normal_model();
    let density = ModelDensity::new(&model);
    assert_eq!(density.dim(), 2);
    assert_eq!(density.initial_point(), vec![0.0, 0.0]);
    assert_eq!(density.output_names(), ["mu", "sigma"]);
    let mut out = Vec::new();
    density.write_output(&[0.5, 0.0], &mut out);
    assert_eq!(out, vec![0.5, 1.0]);
    let mut grad = [0.0; 2];
    let lp = density.logp_and_grad(&[0.5, 0.0], &mut grad).unwrap();
    assert!((lp - model.log_density(&[0.5, 0.0]).unwrap()).abs() < 1e-14);
    assert_eq!(
        density.logp_and_grad(&[0.5], &mut grad[..1]).unwrap_err(),
        LogDensityError::Fatal("unconstrained point has length 1, expected 2".into())
    );
    assert_eq!(
        density
            .logp_and_grad(&[0.5, f64::INFINITY], &mut grad)
            .unwrap_err(),
        LogDensityError::OutOfSupport("sigma_log__ = inf is not finite".into())
    );
    assert_eq!(
        model.log_density(&[0.1; 3]).unwrap_err().to_string(),
        "the unconstrained parameter vector has length 3, expected 2"
    );
}

#[test]
fn repeated_gradients_do_not_grow_the_tape() {
    let model = normal_model();
    let mut grad = [0.0; 2];
    model
        .log_density_and_gradient_into(&[0.1, 0.2], &mut grad)
        .unwrap();
    let warm = tape_capacity();
    for i in 0..50 {
        model
            .log_density_and_gradient_into(&[0.1 * i as f64, 0.2], &mut grad)
            .unwrap();
    }
    assert_eq!(tape_capacity(), warm);
}

/// A handle reads the same block as the position it stands for, for every parameter, and
/// a name lookup gives the same handle as the declaration.
#[test]
fn handles_read_their_parameter() {
    let mut layout = ParamLayout::new();
    let declared = [
        layout
            .declare("a", Shape::Scalar, Transform::Identity, Prior::Flat)
            .unwrap(),
        layout
            .declare("b", Shape::Vector(3), Transform::Simplex, Prior::Flat)
            .unwrap(),
        layout
            .declare("c", Shape::Matrix(2, 2), Transform::Log, Prior::Flat)
            .unwrap(),
    ];
    let u = [0.3, -0.2, 0.4, 0.1, 0.2, 0.3, 0.4];
    let mut buffer = Vec::new();
    let params = layout.constrain_params(&u, &mut buffer).unwrap();
    for (index, (handle, name)) in declared.iter().zip(["a", "b", "c"]).enumerate() {
        assert_eq!(handle.index(), index);
        assert_eq!(layout.handle(name), Some(*handle));
        assert_eq!(params.of(*handle), params.value(index));
        assert_eq!(params.log_of(*handle), params.log_value(index));
    }
    assert_eq!(params.of(declared[0]), &[0.3]);
    assert_eq!(params.log_of(declared[0]), None);
    assert_eq!(layout.handle("d"), None);
    // A failed declaration leaves the layout as it was.
    let err = layout
        .declare("a", Shape::Scalar, Transform::Identity, Prior::Flat)
        .unwrap_err();
    assert_eq!(err, LayoutError::DuplicateName("a".into()));
    assert_eq!((layout.params().len(), layout.dim()), (3, 7));
}

/// A handle declared in one layout, used with another's parameters: a panic naming the
/// misuse, not the values of whatever parameter sits at that position.
#[test]
#[should_panic(expected = "used with a layout it was not declared in")]
fn a_handle_from_another_layout_panics() {
    let mut one = ParamLayout::new();
    one.declare("x", Shape::Scalar, Transform::Identity, Prior::Flat)
        .unwrap();
    let y = one
        .declare("y", Shape::Vector(2), Transform::Identity, Prior::Flat)
        .unwrap();
    let mut other = ParamLayout::new();
    other
        .declare("y", Shape::Vector(2), Transform::Identity, Prior::Flat)
        .unwrap();
    let mut buffer = Vec::new();
    let params = other.constrain_params(&[1.0, 2.0], &mut buffer).unwrap();
    let _ = params.of(y);
}
