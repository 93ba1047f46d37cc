//! The parameter layout: named parameters with shapes, transforms and priors, mapped to one
//! flat unconstrained vector and back (what PyMC's `Model` does with its free variables).
//!
//! ```
//! use trellis_models::{ParamLayout, Prior, Shape, Transform};
//!
//! let layout = ParamLayout::new()
//!     .add_with_prior("emission_signal", Shape::Scalar, Transform::Identity,
//!                     Prior::Normal { mu: 0.0, sigma: 1.0 })?
//!     .add_with_prior("emission_noise", Shape::Scalar, Transform::Log,
//!                     Prior::HalfNormal { sigma: 1.0 })?
//!     .add_with_prior("p_transition", Shape::Matrix(3, 3), Transform::Simplex,
//!                     Prior::uniform_simplex(3))?;
//! assert_eq!(layout.dim(), 1 + 1 + 3 * 2);
//! assert_eq!(layout.constrained_len(), 1 + 1 + 9);
//!
//! // PyMC's initial point: zeros on the unconstrained space.
//! let mut constrained = Vec::new();
//! let log_jac = layout.constrain(&layout.initial_point(), &mut constrained)?;
//! assert_eq!(constrained[1], 1.0); // emission_noise = exp(0)
//! assert!((constrained[2] - 1.0 / 3.0).abs() < 1e-15);
//! assert!((log_jac - 3.0 * (-2.0 * 3f64.ln())).abs() < 1e-12);
//! assert_eq!(layout.element_names()[3], "p_transition[0,1]");
//! assert_eq!(layout.unconstrained_names()[1], "emission_noise_log__");
//!
//! // And back.
//! let u = layout.unconstrain(&constrained)?;
//! assert!(u.iter().all(|x| x.abs() < 1e-15));
//! # Ok::<(), trellis_models::LayoutError>(())
//! ```

use std::fmt;

use thiserror::Error;
use trellis_ad::Scalar;

use crate::masked::ZeroMask;
use crate::priors::Prior;
use crate::transforms::Transform;

/// The most values a layout holds in either space: the longest `Vec<f64>` Rust can
/// allocate (`isize::MAX` bytes), so that every size is checked before anything is allocated.
pub const MAX_LAYOUT_LEN: usize = isize::MAX as usize / std::mem::size_of::<f64>();

/// Why a layout could not be built or a parameter vector could not be mapped.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum LayoutError {
    /// Two parameters share a name.
    #[error("parameter `{0}` is declared twice")]
    DuplicateName(String),
    /// A parameter's shape, transform or prior is invalid or they do not fit together.
    #[error("parameter `{name}`: {reason}")]
    InvalidParameter {
        /// The parameter.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// A parameter vector has the wrong length.
    #[error("the {space} parameter vector has length {got}, expected {expected}")]
    WrongLength {
        /// `"unconstrained"` or `"constrained"`.
        space: &'static str,
        /// The layout's length for that space.
        expected: usize,
        /// The length given.
        got: usize,
    },
    /// A constrained value lies outside its parameter's support.
    #[error("{element} = {value} is outside the support: {reason}")]
    OutOfSupport {
        /// The element's name (e.g. `p_transition[1,2]`).
        element: String,
        /// Its value.
        value: f64,
        /// Why it is outside the support.
        reason: String,
    },
}

/// The shape of one parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A single number.
    Scalar,
    /// A vector of `n` numbers.
    Vector(usize),
    /// A `rows × cols` matrix, stored row-major.
    Matrix(usize, usize),
    /// An `a × b × c` array, stored row-major (the last index fastest), e.g. covariate
    /// transition coefficients `transition_coef[i,j,c]`.
    Array3(usize, usize, usize),
}

impl Shape {
    /// Number of elements, saturating at `usize::MAX` for a shape too large to hold (which
    /// [`ParamLayout::declare`] refuses; [`Shape::checked_len`] tells the two apart). Never
    /// wraps around to a small size, never panics:
    ///
    /// ```
    /// # use trellis_models::Shape;
    /// assert_eq!(Shape::Matrix(4, 3).len(), 12);
    /// assert_eq!(Shape::Matrix(usize::MAX, 3).len(), usize::MAX);
    /// ```
    pub fn len(&self) -> usize {
        match *self {
            Self::Scalar => 1,
            Self::Vector(n) => n,
            Self::Matrix(r, c) => r.saturating_mul(c),
            Self::Array3(a, b, c) => a.saturating_mul(b).saturating_mul(c),
        }
    }

    /// Number of elements, or `None` if it overflows `usize` (e.g. `Matrix(usize::MAX, 3)`).
    pub fn checked_len(&self) -> Option<usize> {
        match *self {
            Self::Matrix(r, c) => r.checked_mul(c),
            Self::Array3(a, b, c) => a.checked_mul(b).and_then(|ab| ab.checked_mul(c)),
            _ => Some(self.len()),
        }
    }

    /// Whether the shape has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Length of the last axis (1 for a scalar).
    pub fn last(&self) -> usize {
        match *self {
            Self::Scalar => 1,
            Self::Vector(n) => n,
            Self::Matrix(_, c) | Self::Array3(_, _, c) => c,
        }
    }

    /// Number of vectors along the last axis.
    pub fn rows(&self) -> usize {
        match *self {
            Self::Matrix(r, _) => r,
            Self::Array3(a, b, _) => a * b,
            _ => 1,
        }
    }

    /// The same shape with the last axis resized to `last`.
    fn with_last(&self, last: usize) -> Self {
        match *self {
            Self::Scalar => Self::Scalar,
            Self::Vector(_) => Self::Vector(last),
            Self::Matrix(r, _) => Self::Matrix(r, last),
            Self::Array3(a, b, _) => Self::Array3(a, b, last),
        }
    }

    /// The multi-index of flat (row-major) element `i`.
    fn index(&self, i: usize) -> Vec<usize> {
        match *self {
            Self::Scalar => vec![],
            Self::Vector(_) => vec![i],
            Self::Matrix(_, c) => vec![i / c, i % c],
            Self::Array3(_, b, c) => vec![i / (b * c), (i / c) % b, i % c],
        }
    }
}

/// How element names are written.
#[derive(Clone, Copy, Default)]
pub enum NameStyle {
    /// ArviZ / PyMC: 0-based, `p_transition[0,1]` (the default).
    #[default]
    ZeroBased,
    /// Stan / posteriordb: 1-based, `p_transition[1,2]`, `theta1[1]`.
    OneBased,
    /// A caller-chosen convention: `f(name, 0-based multi-index)`; scalars get an empty
    /// index.
    Custom(fn(&str, &[usize]) -> String),
}

impl NameStyle {
    /// The name of the element of `name` at the 0-based multi-index `index`.
    pub fn element(&self, name: &str, index: &[usize]) -> String {
        let offset = match self {
            Self::ZeroBased => 0,
            Self::OneBased => 1,
            Self::Custom(f) => return f(name, index),
        };
        if index.is_empty() {
            return name.to_string();
        }
        let parts: Vec<String> = index.iter().map(|i| (i + offset).to_string()).collect();
        format!("{name}[{}]", parts.join(","))
    }
}

impl fmt::Debug for NameStyle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ZeroBased => write!(f, "ZeroBased"),
            Self::OneBased => write!(f, "OneBased"),
            Self::Custom(_) => write!(f, "Custom(..)"),
        }
    }
}

/// One declared parameter and where it lives in the flat vectors.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamSpec {
    /// The parameter's name.
    pub name: String,
    /// Its (constrained) shape.
    pub shape: Shape,
    /// Its constraining transform.
    pub transform: Transform,
    /// Its prior.
    pub prior: Prior,
    /// Offset of its block in the unconstrained vector.
    pub unconstrained_offset: usize,
    /// Length of its block in the unconstrained vector.
    pub unconstrained_len: usize,
    /// Offset of its block in the constrained vector.
    pub constrained_offset: usize,
    /// The structural zeros of a masked parameter ([`ParamLayout::declare_masked`]), `None`
    /// for every other parameter.
    pub mask: Option<ZeroMask>,
}

impl ParamSpec {
    fn handle(&self, index: usize) -> ParamHandle {
        ParamHandle {
            index,
            constrained_offset: self.constrained_offset,
            len: self.shape.len(),
        }
    }

    fn unconstrained_range(&self) -> std::ops::Range<usize> {
        self.unconstrained_offset..self.unconstrained_offset + self.unconstrained_len
    }

    fn constrained_range(&self) -> std::ops::Range<usize> {
        self.constrained_offset..self.constrained_offset + self.shape.len()
    }

    fn unconstrained_shape(&self) -> Shape {
        self.shape
            .with_last(self.transform.unconstrained_len(self.shape.last()))
    }

    /// The transform (masked where the parameter has a mask) of this parameter's block:
    /// `values` and `logs` get the constrained values and their logs; returns `log|J|`.
    fn constrain_block<T: Scalar>(&self, u: &[T], values: &mut [T], logs: &mut [T]) -> T {
        match &self.mask {
            Some(mask) => mask.constrain(self.transform, u, values, logs),
            None => self.transform.constrain(u, self.shape.last(), values, logs),
        }
    }

    /// The inverse of [`ParamSpec::constrain_block`]: the index within the block and the
    /// reason on failure.
    fn unconstrain_block(&self, block: &[f64]) -> Result<Vec<f64>, (usize, String)> {
        match &self.mask {
            Some(mask) => mask.unconstrain(self.transform, block),
            None => self.transform.unconstrain(block, self.shape.last()),
        }
    }
}

/// Where a declared parameter lives in its [`ParamLayout`]: returned by
/// [`ParamLayout::declare`] (or looked up once with [`ParamLayout::handle`]) and read with
/// [`Params::of`], so that code names the parameters it reads instead of counting positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParamHandle {
    index: usize,
    constrained_offset: usize,
    len: usize,
}

impl ParamHandle {
    /// The parameter's position in [`ParamLayout::params`].
    pub fn index(self) -> usize {
        self.index
    }
}

/// Named parameters with shapes, transforms and priors, in declaration order.
///
/// The unconstrained vector is the concatenation of each parameter's unconstrained block
/// (PyMC's order); the constrained vector the concatenation of their row-major values.
#[derive(Debug, Clone, Default)]
pub struct ParamLayout {
    params: Vec<ParamSpec>,
    dim: usize,
    constrained_len: usize,
    style: NameStyle,
}

impl ParamLayout {
    /// An empty layout with 0-based (ArviZ) element names.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a parameter with a flat (improper) prior.
    pub fn add(self, name: &str, shape: Shape, transform: Transform) -> Result<Self, LayoutError> {
        self.add_with_prior(name, shape, transform, Prior::Flat)
    }

    /// Adds a parameter with a prior. Fails on a duplicate or empty name, an empty shape, a
    /// simplex transform on a scalar, invalid transform constants or hyperparameters, or a
    /// Dirichlet prior on a parameter without a simplex transform.
    pub fn add_with_prior(
        mut self,
        name: &str,
        shape: Shape,
        transform: Transform,
        prior: Prior,
    ) -> Result<Self, LayoutError> {
        self.declare(name, shape, transform, prior)?;
        Ok(self)
    }

    /// Adds a parameter with a prior, as [`ParamLayout::add_with_prior`] does, and returns
    /// its handle: code that reads the parameter later uses [`Params::of`] with the handle
    /// instead of counting positions in the layout. On an error the layout is unchanged.
    ///
    /// ```
    /// use trellis_models::{ParamLayout, Prior, Shape, Transform};
    /// let mut layout = ParamLayout::new();
    /// let mu = layout.declare("mu", Shape::Vector(2), Transform::Identity, Prior::Flat)?;
    /// let sigma = layout.declare("sigma", Shape::Scalar, Transform::Log, Prior::Flat)?;
    /// let mut buffer = Vec::new();
    /// let params = layout.constrain_params(&[0.5, -1.0, 0.0], &mut buffer)?;
    /// assert_eq!(params.of(mu), &[0.5, -1.0]);
    /// assert_eq!(params.of(sigma), &[1.0]);
    /// assert_eq!(layout.handle("sigma"), Some(sigma));
    /// # Ok::<(), trellis_models::LayoutError>(())
    /// ```
    pub fn declare(
        &mut self,
        name: &str,
        shape: Shape,
        transform: Transform,
        prior: Prior,
    ) -> Result<ParamHandle, LayoutError> {
        let invalid = |reason: String| LayoutError::InvalidParameter {
            name: name.to_string(),
            reason,
        };
        if name.is_empty() {
            return Err(invalid("the name is empty".into()));
        }
        if self.params.iter().any(|p| p.name == name) {
            return Err(LayoutError::DuplicateName(name.to_string()));
        }
        // Checked first: `len()` of an overflowing shape would wrap (or panic in debug).
        let len = shape
            .checked_len()
            .filter(|&n| n <= MAX_LAYOUT_LEN)
            .ok_or_else(|| {
                invalid(format!(
                    "shape {shape:?} has more than {MAX_LAYOUT_LEN} elements (the most a \
                     vector of f64 can hold)"
                ))
            })?;
        if len == 0 {
            return Err(invalid(format!("shape {shape:?} has no elements")));
        }
        if transform.is_simplex() && shape == Shape::Scalar {
            return Err(invalid(
                "a simplex transform needs a vector or matrix shape".into(),
            ));
        }
        transform.check().map_err(invalid)?;
        if let Transform::OrderedColumn(c) = transform {
            match shape {
                Shape::Matrix(_, cols) if c < cols => {}
                _ => {
                    return Err(invalid(format!(
                        "OrderedColumn({c}) needs a matrix shape with more than {c} columns, not {shape:?}"
                    )))
                }
            }
        }
        prior.check(shape.rows(), shape.last()).map_err(invalid)?;
        if matches!(prior, Prior::Dirichlet { .. }) && !transform.is_simplex() {
            return Err(invalid(format!(
                "a Dirichlet prior needs a simplex transform, not {transform:?}"
            )));
        }
        let too_large = || {
            invalid(format!(
                "the layout would have more than {MAX_LAYOUT_LEN} values (the most a vector of \
                 f64 can hold)"
            ))
        };
        let unconstrained_len = shape
            .rows()
            .checked_mul(transform.unconstrained_len(shape.last()))
            .ok_or_else(too_large)?;
        let fits = |total: usize, add: usize| {
            total
                .checked_add(add)
                .filter(|&n| n <= MAX_LAYOUT_LEN)
                .ok_or_else(too_large)
        };
        let (dim, constrained_len) = (
            fits(self.dim, unconstrained_len)?,
            fits(self.constrained_len, len)?,
        );
        let handle = ParamHandle {
            index: self.params.len(),
            constrained_offset: self.constrained_len,
            len,
        };
        self.params.push(ParamSpec {
            name: name.to_string(),
            shape,
            transform,
            prior,
            unconstrained_offset: self.dim,
            unconstrained_len,
            constrained_offset: self.constrained_len,
            mask: None,
        });
        self.dim = dim;
        self.constrained_len = constrained_len;
        Ok(handle)
    }

    /// Declares a parameter with structural zeros: `free` (one flag per element, row-major,
    /// `true` = free) fixes the other entries at exactly 0. With a simplex `transform` the
    /// free entries of each row form a simplex of their own size (a row with one free entry
    /// is the constant 1) and a Dirichlet prior applies to the free entries only (their
    /// concentrations); with [`Transform::Identity`] each free entry is one unconstrained
    /// coordinate and an element-wise prior applies to the free entries only. The
    /// constrained shape stays `shape`, so element names do not change (see
    /// [`masked`](crate::masked)).
    ///
    /// ```
    /// use trellis_models::{ParamLayout, Prior, Shape, Transform};
    /// let mut layout = ParamLayout::new();
    /// let free = vec![true, true, false, true];
    /// let p = layout.declare_masked("p", Shape::Matrix(2, 2), Transform::Simplex,
    ///                               Prior::uniform_simplex(2), free)?;
    /// assert_eq!(layout.dim(), 1); // row 1 is the constant (0, 1)
    /// let mut buffer = Vec::new();
    /// let params = layout.constrain_params(&[0.0], &mut buffer)?;
    /// assert_eq!(params.of(p), &[0.5, 0.5, 0.0, 1.0]);
    /// assert!(layout.unconstrain(&[0.5, 0.5, 0.1, 0.9]).is_err());
    /// # Ok::<(), trellis_models::LayoutError>(())
    /// ```
    ///
    /// # Errors
    /// As [`ParamLayout::declare`]; a transform other than a simplex or the identity; with a
    /// simplex, a prior other than Dirichlet or flat; a mask of the wrong length or (simplex)
    /// with a row that has no free entry.
    pub fn declare_masked(
        &mut self,
        name: &str,
        shape: Shape,
        transform: Transform,
        prior: Prior,
        free: Vec<bool>,
    ) -> Result<ParamHandle, LayoutError> {
        let invalid = |reason: String| LayoutError::InvalidParameter {
            name: name.to_string(),
            reason,
        };
        if transform.is_simplex() && !matches!(prior, Prior::Flat | Prior::Dirichlet { .. }) {
            return Err(invalid(format!(
                "a masked simplex takes a Dirichlet or flat prior, not {prior:?}"
            )));
        }
        if shape.checked_len() != Some(free.len()) {
            return Err(invalid(format!(
                "the mask has {} entries, the shape {shape:?} has {}",
                free.len(),
                shape.checked_len().unwrap_or(usize::MAX)
            )));
        }
        let mask = ZeroMask::new(free, shape.last(), transform).map_err(invalid)?;
        let handle = self.declare(name, shape, transform, prior)?;
        // The parameter just declared is the last one: only its own block shrinks.
        let spec = self.params.last_mut().expect("declared above");
        let len = mask.unconstrained_len();
        self.dim = self.dim - spec.unconstrained_len + len;
        spec.unconstrained_len = len;
        spec.mask = Some(mask);
        Ok(handle)
    }

    /// Uses `style` for element names (e.g. [`NameStyle::OneBased`] for posteriordb).
    pub fn with_name_style(mut self, style: NameStyle) -> Self {
        self.style = style;
        self
    }

    /// The element-name style.
    pub fn name_style(&self) -> NameStyle {
        self.style
    }

    /// Length of the unconstrained vector.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Length of the constrained vector.
    pub fn constrained_len(&self) -> usize {
        self.constrained_len
    }

    /// The parameters in order.
    pub fn params(&self) -> &[ParamSpec] {
        &self.params
    }

    /// Position of the parameter called `name`.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.params.iter().position(|p| p.name == name)
    }

    /// The handle of the parameter called `name`: look a parameter up by name once, then
    /// read it with [`Params::of`].
    pub fn handle(&self, name: &str) -> Option<ParamHandle> {
        self.index_of(name)
            .map(|index| self.params[index].handle(index))
    }

    /// PyMC's initial point: zeros on the unconstrained space.
    pub fn initial_point(&self) -> Vec<f64> {
        vec![0.0; self.dim]
    }

    /// Names of the constrained elements, in the layout's [`NameStyle`]
    /// (`emission_signal`, `p_transition[0,1]`, …).
    pub fn element_names(&self) -> Vec<String> {
        self.params
            .iter()
            .flat_map(|p| {
                (0..p.shape.len()).map(move |i| self.style.element(&p.name, &p.shape.index(i)))
            })
            .collect()
    }

    /// Names of the unconstrained coordinates as PyMC writes them (`emission_noise_log__`,
    /// `p_transition_simplex__[0,1]`), in the layout's [`NameStyle`].
    pub fn unconstrained_names(&self) -> Vec<String> {
        self.params
            .iter()
            .flat_map(|p| {
                let name = match p.transform.pymc_suffix() {
                    Some(s) => format!("{}_{s}__", p.name),
                    None => p.name.clone(),
                };
                if let Some(mask) = &p.mask {
                    // Row, then position among the row's free entries.
                    return mask
                        .unconstrained_index()
                        .iter()
                        .map(|index| self.style.element(&name, index))
                        .collect::<Vec<_>>();
                }
                let shape = p.unconstrained_shape();
                (0..p.unconstrained_len)
                    .map(move |i| self.style.element(&name, &shape.index(i)))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    pub(crate) fn check_unconstrained_len(&self, got: usize) -> Result<(), LayoutError> {
        if got == self.dim {
            Ok(())
        } else {
            Err(LayoutError::WrongLength {
                space: "unconstrained",
                expected: self.dim,
                got,
            })
        }
    }

    /// Maps an unconstrained vector to the constrained values (written into `out`, which is
    /// cleared first) and returns the total `log|J|`. Allocation-free once `out` is warm.
    pub fn constrain<T: Scalar>(&self, u: &[T], out: &mut Vec<T>) -> Result<T, LayoutError> {
        self.check_unconstrained_len(u.len())?;
        out.clear();
        out.resize(self.constrained_len, T::constant(0.0));
        let mut log_jac = T::constant(0.0);
        trellis_ad::scratch::with_vec(|logs: &mut Vec<T>| {
            for p in &self.params {
                let c = p.constrained_range();
                logs.clear();
                logs.resize(c.len(), T::constant(0.0));
                log_jac += p.constrain_block(&u[p.unconstrained_range()], &mut out[c], logs);
            }
        });
        Ok(log_jac)
    }

    /// Maps an unconstrained vector to a [`Params`] view (values, exact logs where the
    /// transform provides them, per-parameter `log|J|`), stored in `buffer`.
    pub fn constrain_params<'b, T: Scalar>(
        &'b self,
        u: &[T],
        buffer: &'b mut Vec<T>,
    ) -> Result<Params<'b, T>, LayoutError> {
        self.check_unconstrained_len(u.len())?;
        let n = self.constrained_len;
        buffer.clear();
        buffer.resize(2 * n + self.params.len(), T::constant(f64::NAN));
        let (values, rest) = buffer.split_at_mut(n);
        let (logs, jacobians) = rest.split_at_mut(n);
        for (p, jac) in self.params.iter().zip(jacobians.iter_mut()) {
            let c = p.constrained_range();
            *jac = p.constrain_block(
                &u[p.unconstrained_range()],
                &mut values[c.clone()],
                &mut logs[c],
            );
        }
        Ok(Params {
            layout: self,
            values,
            logs,
            log_jacobians: jacobians,
        })
    }

    /// A [`Params`] view of constrained values taken as they are, every entry a free
    /// variable: logs are `ln` of the values (for parameters whose transform provides logs),
    /// and every `log|J|` is 0. This is how to differentiate with respect to the parameters
    /// exactly as given (e.g. `∂/∂p_transition[i,j]` with the other entries held fixed), as
    /// the reference example's `grad(hmm_logp)` does.
    ///
    /// # Errors
    /// A length other than [`ParamLayout::constrained_len`].
    pub fn params_from_constrained<'b, T: Scalar>(
        &'b self,
        values: &[T],
        buffer: &'b mut Vec<T>,
    ) -> Result<Params<'b, T>, LayoutError> {
        let n = self.constrained_len;
        if values.len() != n {
            return Err(LayoutError::WrongLength {
                space: "constrained",
                expected: n,
                got: values.len(),
            });
        }
        buffer.clear();
        buffer.extend_from_slice(values);
        buffer.extend(values.iter().map(|v| v.ln()));
        buffer.resize(2 * n + self.params.len(), T::constant(0.0));
        let (values, rest) = buffer.split_at(n);
        let (logs, jacobians) = rest.split_at(n);
        Ok(Params {
            layout: self,
            values,
            logs,
            log_jacobians: jacobians,
        })
    }

    /// Writes parameter `handle`'s unconstrained block of `u` (the whole unconstrained
    /// vector) for its constrained `values`, leaving the other blocks as they are. Fails with
    /// the element's name if a length is wrong or a value lies outside the support.
    pub fn set_unconstrained(
        &self,
        u: &mut [f64],
        handle: ParamHandle,
        values: &[f64],
    ) -> Result<(), LayoutError> {
        self.check_unconstrained_len(u.len())?;
        let p = &self.params[handle.index];
        if values.len() != p.shape.len() {
            return Err(LayoutError::WrongLength {
                space: "constrained",
                expected: p.shape.len(),
                got: values.len(),
            });
        }
        let block = self.unconstrain_param(p, values)?;
        u[p.unconstrained_range()].copy_from_slice(&block);
        Ok(())
    }

    /// Maps constrained values back to the unconstrained space. Fails with the element's
    /// name if the length is wrong or a value lies outside its parameter's support.
    pub fn unconstrain(&self, constrained: &[f64]) -> Result<Vec<f64>, LayoutError> {
        if constrained.len() != self.constrained_len {
            return Err(LayoutError::WrongLength {
                space: "constrained",
                expected: self.constrained_len,
                got: constrained.len(),
            });
        }
        let mut u = Vec::with_capacity(self.dim);
        for p in &self.params {
            u.extend(self.unconstrain_param(p, &constrained[p.constrained_range()])?);
        }
        Ok(u)
    }

    /// Parameter `p`'s unconstrained block for its constrained `block`, or the element
    /// outside the support, named.
    fn unconstrain_param(&self, p: &ParamSpec, block: &[f64]) -> Result<Vec<f64>, LayoutError> {
        p.unconstrain_block(block)
            .map_err(|(i, reason)| LayoutError::OutOfSupport {
                element: self.style.element(&p.name, &p.shape.index(i)),
                value: block[i],
                reason,
            })
    }

    /// Log prior density (no Jacobian) of parameter `index` at `params`, from its declared
    /// [`Prior`].
    pub fn log_prior<T: Scalar>(&self, params: &Params<'_, T>, index: usize) -> T {
        let p = &self.params[index];
        match (&p.mask, &p.prior, params.log_value(index)) {
            (Some(mask), Prior::Dirichlet { alpha }, Some(logs)) => {
                mask.dirichlet_log_density(alpha, logs)
            }
            (Some(_), Prior::Flat | Prior::Dirichlet { .. }, _) => T::constant(0.0),
            // Element-wise priors on the free entries only (fixed zeros are not random).
            (Some(mask), prior, _) => prior.log_density_of_free(params.value(index), mask.free()),
            _ => p
                .prior
                .log_density(params.value(index), params.log_value(index), p.shape.last()),
        }
    }
}

/// Constrained parameters at one point: a view produced by
/// [`ParamLayout::constrain_params`].
#[derive(Debug, Clone, Copy)]
pub struct Params<'a, T> {
    layout: &'a ParamLayout,
    values: &'a [T],
    logs: &'a [T],
    log_jacobians: &'a [T],
}

impl<'a, T: Scalar> Params<'a, T> {
    /// The layout these parameters follow.
    pub fn layout(&self) -> &'a ParamLayout {
        self.layout
    }

    /// All constrained values, concatenated in declaration order.
    pub fn values(&self) -> &'a [T] {
        self.values
    }

    /// The constrained values of parameter `index` (row-major).
    pub fn value(&self, index: usize) -> &'a [T] {
        &self.values[self.layout.params[index].constrained_range()]
    }

    /// Exact logarithms of parameter `index`'s values, when its transform provides them
    /// (log, positive-ordered, simplex, stick-breaking, `Interval` from 0): for a simplex
    /// they are the log-softmax itself, exact where a probability underflows.
    pub fn log_value(&self, index: usize) -> Option<&'a [T]> {
        let p = &self.layout.params[index];
        p.transform
            .provides_logs()
            .then(|| &self.logs[p.constrained_range()])
    }

    /// The constrained values (row-major) of the parameter behind `handle`.
    ///
    /// # Panics
    /// If `handle` was declared in another layout (no parameter of this one has its
    /// position and size).
    pub fn of(&self, handle: ParamHandle) -> &'a [T] {
        self.check_handle(handle);
        &self.values[handle.constrained_offset..handle.constrained_offset + handle.len]
    }

    /// Exact logarithms of the values behind `handle`, when its transform provides them (see
    /// [`Params::log_value`]).
    ///
    /// # Panics
    /// As [`Params::of`].
    pub fn log_of(&self, handle: ParamHandle) -> Option<&'a [T]> {
        self.check_handle(handle);
        self.log_value(handle.index)
    }

    fn check_handle(&self, handle: ParamHandle) {
        let spec = self.layout.params.get(handle.index);
        assert!(
            spec.is_some_and(|p| p.handle(handle.index) == handle),
            "ParamHandle {handle:?} used with a layout it was not declared in"
        );
    }

    /// The values of the parameter called `name`.
    pub fn get(&self, name: &str) -> Option<&'a [T]> {
        self.layout.index_of(name).map(|i| self.value(i))
    }

    /// `log|J|` of parameter `index`'s transform at this point.
    pub fn log_jacobian(&self, index: usize) -> T {
        self.log_jacobians[index]
    }
}
