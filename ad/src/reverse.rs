//! Reverse-mode entry points: gradients, VJPs, Jacobians, Hessians and Hessian-vector
//! products on this thread's tape.

use ndarray::Array2;

use crate::{Dual, Recording, Scalar, ScalarFn, Var, VectorFn};

/// `f(x)`, with `∇f(x)` written into `grad`: the sampler's hot path.
///
/// After the first call for a given function, further calls allocate nothing: the tape and
/// its buffers keep their capacity.
pub fn value_and_gradient_into<F: ScalarFn + ?Sized>(f: &F, x: &[f64], grad: &mut [f64]) -> f64 {
    assert_eq!(x.len(), grad.len(), "one gradient slot per input");
    let rec = Recording::start();
    let mut inputs = rec.take_inputs();
    inputs.clear();
    inputs.extend(x.iter().map(|&v| rec.input(v)));
    let y = f.eval(&inputs);
    rec.gradient_into(y, &inputs, grad);
    rec.put_inputs(inputs);
    y.value()
}

/// `(f(x), ∇f(x))` by reverse mode.
///
/// ```
/// use trellis_ad::{reverse, Scalar, ScalarFn};
/// struct LogSumExp;
/// impl ScalarFn for LogSumExp {
///     fn eval<T: Scalar>(&self, x: &[T]) -> T {
///         T::log_sum_exp(x)
///     }
/// }
/// let (v, g) = reverse::value_and_gradient(&LogSumExp, &[0.0, 0.0]);
/// assert!((v - 2f64.ln()).abs() < 1e-15);
/// assert_eq!(g, vec![0.5, 0.5]);
/// ```
pub fn value_and_gradient<F: ScalarFn + ?Sized>(f: &F, x: &[f64]) -> (f64, Vec<f64>) {
    let mut grad = vec![0.0; x.len()];
    let value = value_and_gradient_into(f, x, &mut grad);
    (value, grad)
}

/// `∇f(x)` by reverse mode.
pub fn gradient<F: ScalarFn + ?Sized>(f: &F, x: &[f64]) -> Vec<f64> {
    value_and_gradient(f, x).1
}

/// `(f(x), wᵀ J(x))`: the vector-Jacobian product in one reverse sweep.
pub fn vjp<F: VectorFn + ?Sized>(f: &F, x: &[f64], w: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let rec = Recording::start();
    let inputs: Vec<Var> = x.iter().map(|&v| rec.input(v)).collect();
    let out = f.eval(&inputs);
    assert_eq!(out.len(), w.len(), "vjp: w must have one entry per output");
    let weighted = Var::weighted_sum(&out, w);
    let grad = rec.gradient(weighted, &inputs);
    (out.iter().map(|y| y.value()).collect(), grad)
}

/// The Jacobian `∂fᵢ/∂xⱼ` (rows = outputs): one recording, one reverse sweep per output.
pub fn jacobian<F: VectorFn + ?Sized>(f: &F, x: &[f64]) -> Array2<f64> {
    let rec = Recording::start();
    let inputs: Vec<Var> = x.iter().map(|&v| rec.input(v)).collect();
    let out = f.eval(&inputs);
    let mut jac = Array2::zeros((out.len(), x.len()));
    let mut row = vec![0.0; x.len()];
    for (i, y) in out.iter().enumerate() {
        rec.gradient_into(*y, &inputs, &mut row);
        jac.row_mut(i).assign(&ndarray::ArrayView1::from(&row));
    }
    jac
}

/// `H(x) v`, the Hessian-vector product, by forward-over-reverse (`Dual<Var>`): the cost of
/// about two gradients.
pub fn hvp<F: ScalarFn + ?Sized>(f: &F, x: &[f64], v: &[f64]) -> Vec<f64> {
    assert_eq!(x.len(), v.len(), "hvp: x and v must have the same length");
    let rec = Recording::start();
    let inputs: Vec<Dual<Var>> = x
        .iter()
        .zip(v)
        .map(|(&x, &v)| Dual::new(rec.input(x), [Var::constant(v)]))
        .collect();
    let primal_inputs: Vec<Var> = inputs.iter().map(|d| d.re).collect();
    let y = f.eval(&inputs);
    rec.gradient(y.tangent(), &primal_inputs)
}

/// The Hessian, one Hessian-vector product per column (forward-over-reverse).
pub fn hessian<F: ScalarFn + ?Sized>(f: &F, x: &[f64]) -> Array2<f64> {
    let n = x.len();
    let mut hess = Array2::zeros((n, n));
    let mut e = vec![0.0; n];
    for j in 0..n {
        e[j] = 1.0;
        let column = hvp(f, x, &e);
        hess.column_mut(j)
            .assign(&ndarray::ArrayView1::from(&column));
        e[j] = 0.0;
    }
    hess
}
