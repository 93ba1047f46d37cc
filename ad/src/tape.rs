//! Reverse mode: a thread-local tape of nodes and the [`Var`] that indexes it.
//!
//! Every operation on `Var`s appends one node holding the indices of its (at most two)
//! operands and the local partial derivatives with respect to them, computed while recording.
//! Operations with many operands (`log_sum_exp`, `sum_of`, `dot`, `weighted_sum`, `custom`)
//! are one node whose operands live in a side arena. The reverse sweep then only multiplies
//! and adds: no closure calls, no branches on operation kinds.
//!
//! Each thread owns its tape, so gradients run in parallel threads without locks. Recording
//! sessions nest (a gradient may be taken inside a function being differentiated): each
//! session starts where the tape currently ends and truncates back when it is done. Buffers
//! keep their capacity, so after the first gradient of a function further gradients of it
//! allocate nothing.

use std::cell::UnsafeCell;
use std::fmt;
use std::mem::ManuallyDrop;

use crate::chain::{chain_scalar_methods, impl_via_chain, Chain};
use crate::Scalar;

/// Index of the sink node. Constants point here, and so does the unused second operand of a
/// one-operand node; whatever adjoint flows into it is never read.
const SINK: u32 = 0;
/// Marks a node whose operands are in the n-ary arena (`rhs` then holds their count).
const NARY: u32 = u32::MAX;

#[derive(Clone, Copy, Debug)]
struct Node {
    lhs: u32,
    rhs: u32,
    d_lhs: f64,
    d_rhs: f64,
}

const SINK_NODE: Node = Node {
    lhs: SINK,
    rhs: SINK,
    d_lhs: 0.0,
    d_rhs: 0.0,
};

/// The recording of one thread.
struct Tape {
    nodes: Vec<Node>,
    /// Operands of n-ary nodes: (parent index, partial), in recording order.
    nary: Vec<(u32, f64)>,
    adjoints: Vec<f64>,
    /// Reused buffers for the input variables and custom-operation scratch.
    inputs: Vec<Var>,
    scratch_values: Vec<f64>,
    scratch_partials: Vec<f64>,
}

impl Tape {
    const fn new() -> Self {
        Self {
            nodes: Vec::new(),
            nary: Vec::new(),
            adjoints: Vec::new(),
            inputs: Vec::new(),
            scratch_values: Vec::new(),
            scratch_partials: Vec::new(),
        }
    }

    #[inline(always)]
    fn next_index(&mut self) -> u32 {
        if self.nodes.is_empty() {
            self.nodes.push(SINK_NODE);
        }
        let index = self.nodes.len();
        assert!(
            index < NARY as usize,
            "trellis-ad: the reverse-mode tape exceeded 2^32 - 1 nodes"
        );
        index as u32
    }

    #[inline(always)]
    fn push(&mut self, node: Node) -> u32 {
        let index = self.next_index();
        self.nodes.push(node);
        index
    }

    /// Propagates adjoints from `output` back to the first node of the session `start`.
    fn sweep(&mut self, start: usize, output: u32) {
        let len = self.nodes.len();
        self.adjoints.clear();
        self.adjoints.resize(len.max(1), 0.0);
        if output == SINK {
            return;
        }
        self.adjoints[output as usize] = 1.0;
        let mut cursor = self.nary.len();
        let adjoints = self.adjoints.as_mut_ptr();
        let nodes = &self.nodes;
        let nary = &self.nary;
        // From the very end, not from `output`: n-ary nodes recorded after the output still
        // have to move the arena cursor (their adjoint is zero, so they cost nothing else).
        for i in (start..len).rev() {
            let node = nodes[i];
            // SAFETY: every operand index was a live node (or the sink, index 0) when the
            // node was recorded, so it is below `i < len`, and `adjoints` has `len` entries.
            unsafe {
                let g = *adjoints.add(i);
                if node.lhs == NARY {
                    let count = node.rhs as usize;
                    cursor -= count;
                    if g != 0.0 {
                        for &(parent, d) in nary.get_unchecked(cursor..cursor + count) {
                            *adjoints.add(parent as usize) += d * g;
                        }
                    }
                } else if g != 0.0 {
                    *adjoints.add(node.lhs as usize) += node.d_lhs * g;
                    *adjoints.add(node.rhs as usize) += node.d_rhs * g;
                }
            }
        }
    }

    /// Drops every node from `start` on and the n-ary operands recorded with them.
    fn truncate(&mut self, start: usize, nary_start: usize) {
        self.nodes.truncate(start.max(1));
        self.nary.truncate(nary_start);
    }
}

thread_local! {
    // `ManuallyDrop`: a thread-local whose type needs no drop glue is accessed through an
    // inlined address computation; one with drop glue goes through lazy destructor
    // registration on every access, which dominated recording time. The memory is released
    // by `TAPE_RELEASE` instead, which sessions touch once when they start.
    static TAPE: UnsafeCell<ManuallyDrop<Tape>> = const { UnsafeCell::new(ManuallyDrop::new(Tape::new())) };
    static TAPE_RELEASE: TapeRelease = const { TapeRelease };
}

/// Frees this thread's tape buffers when the thread exits.
struct TapeRelease;

impl Drop for TapeRelease {
    fn drop(&mut self) {
        // SAFETY: thread exit; no recording can be in progress on this thread.
        // Replaced rather than dropped in place, so a later destructor that still records
        // finds a valid (empty) tape.
        let _ = TAPE.try_with(|t| unsafe {
            let tape: &mut Tape = &mut *t.get();
            drop(std::mem::replace(tape, Tape::new()));
        });
    }
}

/// Runs `f` on this thread's tape.
///
/// An `UnsafeCell` rather than a `RefCell`: recording is the hot path (one call per
/// arithmetic operation) and the borrow flag costs a measurable share of it. Exclusive access
/// holds because every closure passed here is module-private and never calls back into user
/// code or into `with_tape` (custom kernels run between two separate calls).
///
/// Only the address goes through `LocalKey::with` (a tiny closure that inlines, so the TLS
/// accessor is resolved statically); the work runs outside it.
#[inline(always)]
fn with_tape<R>(f: impl FnOnce(&mut Tape) -> R) -> R {
    let tape: *mut ManuallyDrop<Tape> = TAPE.with(|t| t.get());
    // SAFETY: see above; the reference does not escape `f`, and this thread's tape lives as
    // long as the thread.
    f(unsafe { &mut *tape })
}

/// A reverse-mode variable: an index into this thread's tape plus its value.
///
/// `Copy` and 16 bytes. Create inputs through the functions of [`crate::reverse`] (or
/// [`Recording`] for low-level use); every operation on `Var`s records a node. A `Var` must
/// not outlive the recording it belongs to, nor move to another thread.
///
/// Custom operations: [`Scalar::custom`] (or [`Var::custom_op`]) records a function of many
/// inputs whose value and partial derivatives you supply as one node:
///
/// ```
/// use trellis_ad::{reverse, Scalar, ScalarFn, Var};
///
/// /// ‖x‖² through a hand-written kernel, mixed with ordinary arithmetic.
/// struct Model;
/// impl ScalarFn for Model {
///     fn eval<T: Scalar>(&self, x: &[T]) -> T {
///         let values: Vec<f64> = x.iter().map(|v| v.value()).collect();
///         let norm2: f64 = values.iter().map(|v| v * v).sum();
///         let partials: Vec<f64> = values.iter().map(|v| 2.0 * v).collect();
///         T::custom(x, norm2, &partials) * 3.0 + x[0].sin()
///     }
/// }
/// let (value, grad) = reverse::value_and_gradient(&Model, &[1.0, 2.0]);
/// assert!((value - (15.0 + 1f64.sin())).abs() < 1e-12);
/// assert!((grad[0] - (6.0 + 1f64.cos())).abs() < 1e-12);
/// assert!((grad[1] - 12.0).abs() < 1e-12);
/// ```
#[derive(Clone, Copy)]
pub struct Var {
    index: u32,
    value: f64,
}

impl Var {
    /// A constant: it records nothing and receives no gradient.
    #[inline]
    pub const fn constant(value: f64) -> Self {
        Self { index: SINK, value }
    }

    /// The value.
    #[inline]
    pub fn val(self) -> f64 {
        self.value
    }

    /// Whether this is a constant rather than a recorded variable.
    #[inline]
    pub fn is_constant(self) -> bool {
        self.index == SINK
    }

    #[inline]
    fn unary(self, value: f64, d: f64) -> Self {
        if self.index == SINK {
            return Self::constant(value);
        }
        let index = with_tape(|t| {
            t.push(Node {
                lhs: self.index,
                rhs: SINK,
                d_lhs: d,
                d_rhs: 0.0,
            })
        });
        Self { index, value }
    }

    #[inline]
    fn binary(self, other: Self, value: f64, d_self: f64, d_other: f64) -> Self {
        if self.index == SINK && other.index == SINK {
            return Self::constant(value);
        }
        let index = with_tape(|t| {
            t.push(Node {
                lhs: self.index,
                rhs: other.index,
                d_lhs: d_self,
                d_rhs: d_other,
            })
        });
        Self { index, value }
    }

    /// Records one node with the operands and partials produced by `operands`.
    #[inline]
    fn nary(value: f64, operands: impl Iterator<Item = (Var, f64)>) -> Self {
        with_tape(|t| {
            let before = t.nary.len();
            t.nary.extend(
                operands
                    .filter(|(v, _)| v.index != SINK)
                    .map(|(v, d)| (v.index, d)),
            );
            let len = t.nary.len() - before;
            if len == 0 {
                return Self::constant(value);
            }
            let index = t.push(Node {
                lhs: NARY,
                rhs: len as u32,
                d_lhs: 0.0,
                d_rhs: 0.0,
            });
            Self { index, value }
        })
    }

    /// One node for a function of `inputs` computed by `kernel`, which receives the input
    /// values and must write `∂f/∂xᵢ` into its second argument and return `f(x)`.
    ///
    /// The value and gradient can come from anywhere (hand-written, another library); the
    /// buffers are reused, so this allocates nothing once warm.
    pub fn custom_op(inputs: &[Var], kernel: impl FnOnce(&[f64], &mut [f64]) -> f64) -> Var {
        let (mut values, mut partials) = with_tape(|t| {
            (
                std::mem::take(&mut t.scratch_values),
                std::mem::take(&mut t.scratch_partials),
            )
        });
        values.clear();
        values.extend(inputs.iter().map(|v| v.value));
        partials.clear();
        partials.resize(inputs.len(), 0.0);
        // The kernel runs without the tape borrowed: it may use reverse mode itself.
        let value = kernel(&values, &mut partials);
        let out = Self::custom(inputs, value, &partials);
        with_tape(|t| {
            t.scratch_values = values;
            t.scratch_partials = partials;
        });
        out
    }
}

impl Chain for Var {
    type Primal = f64;
    #[inline]
    fn primal(self) -> f64 {
        self.value
    }
    #[inline]
    fn lift(value: f64) -> Self {
        Self::constant(value)
    }
    #[inline]
    fn chain(self, value: f64, deriv: f64) -> Self {
        self.unary(value, deriv)
    }
    #[inline]
    fn chain2(self, other: Self, value: f64, d_self: f64, d_other: f64) -> Self {
        self.binary(other, value, d_self, d_other)
    }
}

impl_via_chain!(impl [] Var);

impl Scalar for Var {
    const PREFERS_CUSTOM: bool = true;

    #[inline]
    fn cst(x: f64) -> Self {
        Self::constant(x)
    }

    chain_scalar_methods!();

    fn log_sum_exp(xs: &[Self]) -> Self {
        let (max, arg) = crate::scalar::max_with_index(xs.iter().map(|x| x.value));
        let Some(arg) = arg else {
            return Self::constant(f64::NEG_INFINITY);
        };
        if max.is_nan() {
            return Self::constant(f64::NAN);
        }
        if max == f64::INFINITY {
            return xs[arg].unary(f64::INFINITY, 1.0);
        }
        if max == f64::NEG_INFINITY {
            // All -inf: the value is -inf and every partial is 0 (not NaN).
            return Self::constant(f64::NEG_INFINITY);
        }
        let sum: f64 = xs.iter().map(|x| (x.value - max).exp()).sum();
        let value = max + sum.ln();
        let inv = 1.0 / sum;
        Self::nary(value, xs.iter().map(|x| (*x, (x.value - max).exp() * inv)))
    }

    fn sum_of(xs: &[Self]) -> Self {
        let value = xs.iter().map(|x| x.value).sum();
        Self::nary(value, xs.iter().map(|x| (*x, 1.0)))
    }

    fn dot(xs: &[Self], ys: &[Self]) -> Self {
        assert_eq!(xs.len(), ys.len(), "dot: slices of different lengths");
        let value = xs.iter().zip(ys).map(|(x, y)| x.value * y.value).sum();
        Self::nary(
            value,
            xs.iter()
                .zip(ys)
                .flat_map(|(x, y)| [(*x, y.value), (*y, x.value)]),
        )
    }

    fn weighted_sum(xs: &[Self], weights: &[f64]) -> Self {
        assert_eq!(
            xs.len(),
            weights.len(),
            "weighted_sum: slices of different lengths"
        );
        let value = xs.iter().zip(weights).map(|(x, w)| x.value * w).sum();
        Self::nary(value, xs.iter().copied().zip(weights.iter().copied()))
    }

    fn custom(inputs: &[Self], value: f64, partials: &[f64]) -> Self {
        assert_eq!(
            inputs.len(),
            partials.len(),
            "custom: one partial per input"
        );
        Self::nary(value, inputs.iter().copied().zip(partials.iter().copied()))
    }
}

impl Default for Var {
    fn default() -> Self {
        Self::constant(0.0)
    }
}

impl fmt::Debug for Var {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.index == SINK {
            write!(f, "Var(const {})", self.value)
        } else {
            write!(f, "Var(#{} = {})", self.index, self.value)
        }
    }
}

impl fmt::Display for Var {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.value, f)
    }
}

/// A recording session on this thread's tape: create inputs, compute, then read gradients.
///
/// The functions of [`crate::reverse`] are built on this; use it directly when the function
/// is not a [`ScalarFn`](crate::ScalarFn). Dropping the session truncates the tape back to
/// where it started (keeping capacity), so sessions nest.
///
/// ```
/// use trellis_ad::{prelude::*, Recording};
/// let rec = Recording::start();
/// let x = rec.input(3.0);
/// let y = x * x + x.ln();
/// let grad = rec.gradient(y, &[x]);
/// assert!((grad[0] - (6.0 + 1.0 / 3.0)).abs() < 1e-15);
/// ```
pub struct Recording {
    start: usize,
    nary_start: usize,
    /// Not `Send`: the session belongs to this thread's tape.
    _not_send: std::marker::PhantomData<*const ()>,
}

impl Recording {
    /// Starts a session where the tape currently ends.
    pub fn start() -> Self {
        TAPE_RELEASE.with(|_| {});
        let (start, nary_start) = with_tape(|t| (t.next_index() as usize, t.nary.len()));
        Self {
            start,
            nary_start,
            _not_send: std::marker::PhantomData,
        }
    }

    /// A new input variable.
    #[inline]
    pub fn input(&self, value: f64) -> Var {
        let index = with_tape(|t| t.push(SINK_NODE));
        Var { index, value }
    }

    /// `∂output/∂inputs`, written into `grad` (same length as `inputs`).
    pub fn gradient_into(&self, output: Var, inputs: &[Var], grad: &mut [f64]) {
        assert_eq!(inputs.len(), grad.len(), "one gradient slot per input");
        with_tape(|t| {
            t.sweep(self.start, output.index);
            for (g, v) in grad.iter_mut().zip(inputs) {
                *g = if v.index == SINK {
                    0.0
                } else {
                    t.adjoints[v.index as usize]
                };
            }
        });
    }

    /// `∂output/∂inputs`.
    pub fn gradient(&self, output: Var, inputs: &[Var]) -> Vec<f64> {
        let mut grad = vec![0.0; inputs.len()];
        self.gradient_into(output, inputs, &mut grad);
        grad
    }

    /// Number of nodes recorded in this session so far.
    pub fn len(&self) -> usize {
        with_tape(|t| t.nodes.len() - self.start)
    }

    /// Whether nothing has been recorded yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Takes the thread's reusable input buffer (returned by [`Recording::put_inputs`]).
    pub(crate) fn take_inputs(&self) -> Vec<Var> {
        with_tape(|t| std::mem::take(&mut t.inputs))
    }

    /// Returns the input buffer so the next session reuses its capacity.
    pub(crate) fn put_inputs(&self, mut inputs: Vec<Var>) {
        inputs.clear();
        with_tape(|t| {
            if inputs.capacity() >= t.inputs.capacity() {
                t.inputs = inputs;
            }
        });
    }
}

impl Drop for Recording {
    fn drop(&mut self) {
        with_tape(|t| t.truncate(self.start, self.nary_start));
    }
}

/// Capacities of this thread's tape buffers: (nodes, n-ary operands, adjoints). Stable
/// capacities across repeated gradients show that nothing is reallocated.
pub fn tape_capacity() -> (usize, usize, usize) {
    with_tape(|t| (t.nodes.capacity(), t.nary.capacity(), t.adjoints.capacity()))
}
