//! Forward-mode entry points: derivatives, JVPs, gradients, Jacobians and Hessians with duals.

use ndarray::Array2;

use crate::{Dual, DualVec, Scalar, ScalarFn, VectorFn};

/// Number of directions carried per forward pass by [`gradient`] and [`jacobian`].
pub const CHUNK: usize = 8;

/// `(f(x), f'(x))` of a function of one variable (`x` is passed as a one-element slice).
pub fn derivative<F: ScalarFn + ?Sized>(f: &F, x: f64) -> (f64, f64) {
    let y = f.eval(&[Dual::variable(x)]);
    (y.re, y.tangent())
}

/// `(f(x), J(x) v)`: the value and the directional derivative along `v`, in one pass.
pub fn jvp<F: VectorFn + ?Sized>(f: &F, x: &[f64], v: &[f64]) -> (Vec<f64>, Vec<f64>) {
    assert_eq!(x.len(), v.len(), "jvp: x and v must have the same length");
    let inputs: Vec<Dual<f64>> = x.iter().zip(v).map(|(&x, &v)| Dual::new(x, [v])).collect();
    let out = f.eval(&inputs);
    (
        out.iter().map(|y| y.re).collect(),
        out.iter().map(|y| y.eps[0]).collect(),
    )
}

/// `(f(x), ∇f(x))` in `⌈n / CHUNK⌉` forward passes, the gradient written into `grad`.
///
/// Each pass multiplies tangents plainly (`DualVec<f64, CHUNK, false>`); a pass whose
/// derivatives come out NaN is redone with zero-safe products, so the result is that of
/// zero-safe duals at the cost of plain ones (see [`DualVec`]'s notes).
pub fn value_and_gradient_into<F: ScalarFn + ?Sized>(f: &F, x: &[f64], grad: &mut [f64]) -> f64 {
    assert_eq!(x.len(), grad.len(), "one gradient slot per input");
    let mut inputs: Vec<DualVec<f64, CHUNK, false>> =
        x.iter().map(|&v| DualVec::constant(v)).collect();
    let mut value = f64::NAN;
    if x.is_empty() {
        return f.eval(&inputs).re;
    }
    for start in (0..x.len()).step_by(CHUNK) {
        let end = (start + CHUNK).min(x.len());
        for (k, input) in inputs[start..end].iter_mut().enumerate() {
            input.eps[k] = 1.0;
        }
        let y = f.eval(&inputs);
        // Over all lanes, without early exit, so the test vectorises (an unused lane can
        // only be NaN where a used one may be too; a needless redo costs time, not accuracy).
        value = if y.eps.iter().fold(false, |any, e| any | e.is_nan()) {
            // A zero tangent may have met an infinite partial: redo this pass zero-safe.
            zero_safe_pass(f, x, start, &mut grad[start..end])
        } else {
            grad[start..end].copy_from_slice(&y.eps[..end - start]);
            y.re
        };
        for input in &mut inputs[start..end] {
            input.eps = [0.0; CHUNK];
        }
    }
    value
}

/// The forward pass seeding directions `start..start + grad.len()` with zero-safe duals
/// (the rare case, out of line): writes those derivatives to `grad`, returns the value.
#[cold]
#[inline(never)]
fn zero_safe_pass<F: ScalarFn + ?Sized>(f: &F, x: &[f64], start: usize, grad: &mut [f64]) -> f64 {
    let mut inputs: Vec<DualVec<f64, CHUNK>> = x.iter().map(|&v| DualVec::constant(v)).collect();
    for (k, input) in inputs[start..start + grad.len()].iter_mut().enumerate() {
        input.eps[k] = 1.0;
    }
    let y = f.eval(&inputs);
    grad.copy_from_slice(&y.eps[..grad.len()]);
    y.re
}

/// `(f(x), ∇f(x))` by forward mode.
pub fn value_and_gradient<F: ScalarFn + ?Sized>(f: &F, x: &[f64]) -> (f64, Vec<f64>) {
    let mut grad = vec![0.0; x.len()];
    let value = value_and_gradient_into(f, x, &mut grad);
    (value, grad)
}

/// `∇f(x)` by forward mode.
pub fn gradient<F: ScalarFn + ?Sized>(f: &F, x: &[f64]) -> Vec<f64> {
    value_and_gradient(f, x).1
}

/// The Jacobian `∂fᵢ/∂xⱼ` (rows = outputs) in `⌈n / CHUNK⌉` forward passes.
pub fn jacobian<F: VectorFn + ?Sized>(f: &F, x: &[f64]) -> Array2<f64> {
    let mut inputs: Vec<DualVec<f64, CHUNK>> = x.iter().map(|&v| DualVec::constant(v)).collect();
    let mut jac: Option<Array2<f64>> = None;
    for start in (0..x.len()).step_by(CHUNK) {
        let end = (start + CHUNK).min(x.len());
        for (k, input) in inputs[start..end].iter_mut().enumerate() {
            input.eps[k] = 1.0;
        }
        let y = f.eval(&inputs);
        let jac = jac.get_or_insert_with(|| Array2::zeros((y.len(), x.len())));
        for (i, yi) in y.iter().enumerate() {
            for j in start..end {
                jac[[i, j]] = yi.eps[j - start];
            }
        }
        for input in &mut inputs[start..end] {
            input.eps = [0.0; CHUNK];
        }
    }
    jac.unwrap_or_else(|| Array2::zeros((f.eval(&inputs).len(), 0)))
}

/// The Hessian by nested forward mode (`DualVec<Dual<f64>, CHUNK>`): `n · ⌈n / CHUNK⌉` passes.
pub fn hessian<F: ScalarFn + ?Sized>(f: &F, x: &[f64]) -> Array2<f64> {
    let n = x.len();
    let mut hess = Array2::zeros((n, n));
    let mut inputs: Vec<DualVec<Dual<f64>, CHUNK>> =
        x.iter().map(|&v| DualVec::constant(v)).collect();
    for j in 0..n {
        // Inner tangent: direction j.
        inputs[j].re.eps[0] = 1.0;
        for start in (0..n).step_by(CHUNK) {
            let end = (start + CHUNK).min(n);
            for (k, input) in inputs[start..end].iter_mut().enumerate() {
                input.eps[k] = Dual::constant(1.0);
            }
            let y = f.eval(&inputs);
            for i in start..end {
                hess[[i, j]] = y.eps[i - start].eps[0];
            }
            for input in &mut inputs[start..end] {
                input.eps = [Dual::constant(0.0); CHUNK];
            }
        }
        inputs[j].re.eps[0] = 0.0;
    }
    hess
}
