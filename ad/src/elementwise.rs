//! Elementwise functions summed over slices as one operation: [`Scalar::sum_map`].
//!
//! Array-style model code (`Σᵢ f(aᵢ, bᵢ, c)`) written as a loop records a tape node per
//! arithmetic operation per element, where a node costs tens of instructions against one or
//! two for the arithmetic itself. [`Scalar::sum_map`] takes the elementwise function once, as
//! an [`ElementwiseFn`] (generic code for every mode, plus its value and partials at plain
//! values), and the arguments as [`MapArg`]s; in reverse mode the whole sum is one node whose
//! operands are the slice entries (one partial each) and the broadcast scalars (their partials
//! summed over the elements).

use crate::{DualVec, Scalar};

/// A function of `N` scalar arguments, to be summed over slices by [`Scalar::sum_map`].
///
/// [`ElementwiseFn::eval`] is the source of truth: forward mode, nested duals and Hessians
/// go through it, so they are exact by construction. Reverse mode calls
/// [`ElementwiseFn::value_and_partials`] once per element; its default evaluates `eval` with
/// an `N`-tangent dual number, and a hand-written one (cheaper) must agree with it.
///
/// ```
/// use trellis_ad::{reverse, ElementwiseFn, MapArg, Scalar, ScalarFn};
///
/// /// `(aᵢ - c)²`, with `c` broadcast.
/// struct SquaredGap;
/// impl ElementwiseFn<2> for SquaredGap {
///     fn eval<T: Scalar>(&self, [a, c]: [T; 2]) -> T {
///         (a - c) * (a - c)
///     }
///     fn value_and_partials(&self, [a, c]: [f64; 2]) -> (f64, [f64; 2]) {
///         let d = a - c;
///         (d * d, [2.0 * d, -2.0 * d])
///     }
/// }
/// struct F;
/// impl ScalarFn for F {
///     fn eval<T: Scalar>(&self, x: &[T]) -> T {
///         T::sum_map(&SquaredGap, [MapArg::Each(&x[1..]), MapArg::All(x[0])])
///     }
/// }
/// let (value, grad) = reverse::value_and_gradient(&F, &[1.0, 2.0, 4.0]);
/// assert_eq!(value, 1.0 + 9.0);
/// assert_eq!(grad, vec![-2.0 - 6.0, 2.0, 6.0]);
/// ```
pub trait ElementwiseFn<const N: usize> {
    /// `f(args)` in any scalar type.
    fn eval<T: Scalar>(&self, args: [T; N]) -> T;

    /// `f(args)` and `∂f/∂argsⱼ` at plain values. The default differentiates
    /// [`ElementwiseFn::eval`] with an `N`-tangent dual number; write it by hand where that
    /// is the hot path.
    #[inline]
    fn value_and_partials(&self, args: [f64; N]) -> (f64, [f64; N]) {
        let seeded = std::array::from_fn(|j| DualVec::<f64, N>::seeded(args[j], j));
        let out = self.eval(seeded);
        (out.re, out.eps)
    }
}

/// One argument of [`Scalar::sum_map`].
#[derive(Clone, Copy, Debug)]
pub enum MapArg<'a, T> {
    /// One value per element.
    Each(&'a [T]),
    /// The same value (a parameter, a constant) for every element.
    All(T),
    /// Constant data, one value per element (observations, covariates): no derivative.
    Data(&'a [f64]),
}

impl<T: Scalar> MapArg<'_, T> {
    /// The argument at element `i`.
    #[inline(always)]
    pub(crate) fn at(&self, i: usize) -> T {
        match *self {
            MapArg::Each(xs) => xs[i],
            MapArg::All(x) => x,
            MapArg::Data(xs) => T::constant(xs[i]),
        }
    }

    /// The argument's plain value at element `i`.
    #[inline(always)]
    pub(crate) fn value_at(&self, i: usize) -> f64 {
        match *self {
            MapArg::Each(xs) => xs[i].value(),
            MapArg::All(x) => x.value(),
            MapArg::Data(xs) => xs[i],
        }
    }
}

/// The common length of the slice arguments. Panics if they differ or if there is none (the
/// number of elements would be undefined).
pub(crate) fn map_len<T>(args: &[MapArg<'_, T>]) -> usize {
    let mut len = None;
    for arg in args {
        let n = match arg {
            MapArg::Each(xs) => xs.len(),
            MapArg::Data(xs) => xs.len(),
            MapArg::All(_) => continue,
        };
        match len {
            None => len = Some(n),
            Some(m) => assert_eq!(m, n, "sum_map: slice arguments of different lengths"),
        }
    }
    len.expect("sum_map: at least one argument must be a slice (MapArg::Each or MapArg::Data)")
}

/// The generic form of [`Scalar::sum_map`]: `Σᵢ f(argsᵢ)` by ordinary operations.
pub(crate) fn sum_map_generic<T: Scalar, F: ElementwiseFn<N>, const N: usize>(
    f: &F,
    args: [MapArg<'_, T>; N],
) -> T {
    let len = map_len(&args);
    let mut acc = T::constant(0.0);
    for i in 0..len {
        acc += f.eval(std::array::from_fn(|j| args[j].at(i)));
    }
    acc
}

/// The rows of a row-major `design` matrix with `columns` columns. Panics unless the length
/// is a whole number of rows.
pub(crate) fn design_rows(design: &[f64], columns: usize) -> std::slice::ChunksExact<'_, f64> {
    assert!(
        columns > 0 && design.len() % columns == 0,
        "sum_log_logistic_of_linear: a design of {} entries is not a whole number of rows of \
         {columns} coefficients",
        design.len()
    );
    design.chunks_exact(columns)
}
