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
//!
//! # Misuse is caught, never undefined
//!
//! A [`Var`] is only meaningful while its [`Recording`] lives, on the thread that made it.
//! Each recording gets a process-unique 32-bit session tag, and a `Var` packs that tag into the
//! high half of its index word. Recording an operation checks each operand with one compare,
//! `(word ^ current_session << 32) < tape length`, which passes exactly when the operand is a
//! node of the innermost live session; anything else (constants, operands from an enclosing
//! live session, misuse) takes a cold path that accepts what is valid and panics with a
//! message naming the misuse: a `Var` whose recording ended, a `Var` from another thread, a
//! recording used after an enclosing one ended.
//!
//! Memory safety does not rest on the tags: every recorded operand index is checked to be
//! below the index of the node recording it, which is all the unchecked sweep relies on. So
//! even a tag that recurs (tags wrap after 2³² sessions in one process) can at worst let a
//! stale `Var` through in that one-in-2³² case, never corrupt memory.

use std::cell::UnsafeCell;
use std::fmt;
use std::mem::ManuallyDrop;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::chain_rule::{chain_scalar_methods, impl_via_chain, Chain};
use crate::Scalar;

/// Index of the sink node. Constants point here, and so does the unused second operand of a
/// one-operand node; whatever adjoint flows into it is never read.
const SINK: u32 = 0;
/// Marks a node whose operands are in the n-ary arena (`rhs` then holds their count).
const NARY: u32 = u32::MAX;
/// Session tags are handed to threads in blocks of this many, so starting a session touches
/// the shared counter only once per block.
const TAG_BLOCK: u32 = 1 << 16;
/// The next block of session tags (its first tag is `block << 16`). Block 0 is never used:
/// tag 0 means "no session" (and is the tag of constants).
static NEXT_TAG_BLOCK: AtomicU32 = AtomicU32::new(1);

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
    /// The tag of the innermost live session, shifted into the high half of a `Var` word
    /// (0 when no session is live).
    current: u64,
    /// Tags of the live sessions, innermost last (tags increase along it).
    sessions: Vec<u32>,
    /// The next tag this thread hands out and the end of its block.
    next_tag: u32,
    tag_block_end: u32,
    /// Every tag block this thread was given (`tag >> 16`), to tell a `Var` of an ended
    /// session of this thread from one made on another thread.
    tag_blocks: Vec<u32>,
}

/// What is wrong with an operand that failed the fast check.
#[derive(Clone, Copy, Debug)]
enum Misuse {
    /// Its session was one of this thread's and has ended.
    Ended,
    /// Its session never belonged to this thread.
    OtherThread,
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
            current: 0,
            sessions: Vec::new(),
            next_tag: 0,
            tag_block_end: 0,
            tag_blocks: Vec::new(),
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

    /// The operand index of `var`, checked: it is the sink or a node of a live session of
    /// this thread's tape, and below the tape length (so below any node recorded next).
    #[inline(always)]
    fn operand(&self, var: Var) -> u32 {
        // One compare on the hot path: equal tags make the high half zero, and then the word
        // is the index itself.
        if (var.word ^ self.current) < self.nodes.len() as u64 {
            return var.word as u32;
        }
        match self.operand_slow(var) {
            Ok(index) => index,
            Err(misuse) => var_misuse(misuse),
        }
    }

    /// Operands that are not nodes of the innermost session: constants, nodes of an
    /// enclosing live session, or misuse (which panics).
    #[cold]
    #[inline(never)]
    fn operand_slow(&self, var: Var) -> Result<u32, Misuse> {
        if var.word == 0 {
            return Ok(SINK);
        }
        let (tag, index) = ((var.word >> 32) as u32, var.word as u32);
        if self.sessions.contains(&tag) && (index as usize) < self.nodes.len() {
            return Ok(index);
        }
        Err(self.classify(tag))
    }

    /// Why a `Var` with session tag `tag` is not usable here.
    fn classify(&self, tag: u32) -> Misuse {
        if tag != 0 && self.tag_blocks.contains(&(tag / TAG_BLOCK)) {
            Misuse::Ended
        } else {
            Misuse::OtherThread
        }
    }

    /// A fresh session tag, unique in the process until 2³² sessions have started.
    fn fresh_tag(&mut self) -> u32 {
        if self.next_tag == self.tag_block_end {
            let mut block = NEXT_TAG_BLOCK.fetch_add(1, Ordering::Relaxed);
            if block == 0 || block >= u32::MAX / TAG_BLOCK {
                // Wrapped around: skip block 0 (tag 0 means "no session").
                NEXT_TAG_BLOCK.store(2, Ordering::Relaxed);
                block = 1;
            }
            self.next_tag = block * TAG_BLOCK;
            self.tag_block_end = self.next_tag + TAG_BLOCK;
            self.tag_blocks.push(block);
        }
        let tag = self.next_tag;
        self.next_tag += 1;
        tag
    }

    /// Records a node with operand indices `lhs`, `rhs` (checked by [`Tape::operand`]) and
    /// their partials; returns the new node's `Var` word.
    #[inline(always)]
    fn record(&mut self, lhs: u32, rhs: u32, d_lhs: f64, d_rhs: f64) -> u64 {
        let index = self.push(Node {
            lhs,
            rhs,
            d_lhs,
            d_rhs,
        });
        self.word(index)
    }

    #[inline(always)]
    fn push(&mut self, node: Node) -> u32 {
        let index = self.next_index();
        self.nodes.push(node);
        index
    }

    /// The `Var` word of node `index` of the innermost session.
    #[inline(always)]
    fn word(&self, index: u32) -> u64 {
        self.current | index as u64
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
            // SAFETY: `i < len == adjoints.len()`. A two-operand node at position `i` has
            // `lhs, rhs < i`: `Tape::operand` checked each below the tape length when the
            // node was recorded, and that length was `i`; nodes are never modified, and
            // truncation only removes whole nodes from the end, so this holds for every node
            // whatever the caller did with `Var`s and `Recording`s. N-ary operands are
            // indexed with bounds checks (their pairing with nodes rests on truncation
            // order, which a forgotten or out-of-order `Recording` could disturb).
            unsafe {
                let g = *adjoints.add(i);
                if node.lhs == NARY {
                    let count = node.rhs as usize;
                    cursor = cursor
                        .checked_sub(count)
                        .expect("trellis-ad: n-ary operand arena out of step with the tape");
                    if g != 0.0 {
                        for &(parent, d) in &nary[cursor..cursor + count] {
                            let parent = parent as usize;
                            assert!(parent < len, "trellis-ad: n-ary operand out of range");
                            *adjoints.add(parent) += d * g;
                        }
                    }
                } else if g != 0.0 {
                    *adjoints.add(node.lhs as usize) += node.d_lhs * g;
                    *adjoints.add(node.rhs as usize) += node.d_rhs * g;
                }
            }
        }
    }

    /// Ends the live session `tag` (and any still-live session started inside it): drops
    /// every node from `start` on and the n-ary operands recorded with them. A session that
    /// is no longer live (an enclosing one ended first) leaves the tape alone.
    fn end_session(&mut self, tag: u32, start: usize, nary_start: usize) {
        let Some(position) = self.sessions.iter().rposition(|&t| t == tag) else {
            return;
        };
        self.sessions.truncate(position);
        self.current = self.sessions.last().map_or(0, |&t| (t as u64) << 32);
        self.nodes.truncate(start.max(1));
        self.nary.truncate(nary_start);
    }

    /// Panics unless `tag` is the innermost live session (the only one that may add inputs).
    fn expect_innermost(&self, tag: u32, what: &str) {
        if (tag as u64) << 32 == self.current {
            return;
        }
        if self.sessions.contains(&tag) {
            panic!(
                "trellis-ad: Recording::{what} on a Recording while a Recording started inside \
                 it is still live; inputs belong to the innermost Recording"
            );
        }
        panic!(
            "trellis-ad: Recording::{what} on a Recording that has ended: an enclosing \
             Recording ended before it"
        );
    }

    /// Panics unless `tag` is a live session.
    fn expect_live(&self, tag: u32, what: &str) {
        if !self.sessions.contains(&tag) {
            panic!(
                "trellis-ad: Recording::{what} on a Recording that has ended: an enclosing \
                 Recording ended before it"
            );
        }
    }
}

/// The panic for a `Var` that is not a node of a live session of this thread.
#[cold]
#[inline(never)]
fn var_misuse(misuse: Misuse) -> ! {
    match misuse {
        Misuse::Ended => panic!(
            "trellis-ad: a Var was used after its Recording ended (a Var must not outlive the \
             Recording, or the reverse::* call, that created it)"
        ),
        Misuse::OtherThread => panic!(
            "trellis-ad: a Var was used on a thread other than the one that recorded it (each \
             thread has its own tape; a Var must not move between threads)"
        ),
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
/// code or into `with_tape` (custom kernels run between two separate calls); a closure that
/// panics (a misuse check) ends its borrow as it unwinds, before any `Recording` is dropped.
///
/// Only the address goes through `LocalKey::with` (a tiny closure that inlines, so the TLS
/// accessor is resolved statically); the work runs outside it.
#[inline(always)]
fn with_tape<R>(f: impl FnOnce(&mut Tape) -> R) -> R {
    // SAFETY: see above; the reference does not escape `f`, and this thread's tape lives as
    // long as the thread.
    f(unsafe { &mut *tape_ptr() })
}

/// The address of this thread's tape (valid as long as the thread).
#[inline(always)]
fn tape_ptr() -> *mut Tape {
    let tape: *mut ManuallyDrop<Tape> = TAPE.with(|t| t.get());
    // `ManuallyDrop<T>` is `repr(transparent)`.
    tape.cast::<Tape>()
}

/// A reverse-mode variable: an index into this thread's tape plus its value.
///
/// `Copy` and 16 bytes. Create inputs through the functions of [`crate::reverse`] (or
/// [`Recording`] for low-level use); every operation on `Var`s records a node. A `Var` must
/// not outlive the recording it belongs to, nor move to another thread: either misuse panics
/// at the next operation that records it, with a message saying which (see the module notes
/// on how this is checked at one compare per operand).
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
    /// The session tag (high 32 bits) and the node index (low 32 bits); 0 for constants.
    word: u64,
    value: f64,
}

impl Var {
    /// A constant: it records nothing and receives no gradient.
    #[inline]
    pub const fn constant(value: f64) -> Self {
        Self { word: 0, value }
    }

    /// The value.
    #[inline]
    pub fn value(self) -> f64 {
        self.value
    }

    /// Whether this is a constant rather than a recorded variable.
    #[inline]
    pub fn is_constant(self) -> bool {
        self.word == 0
    }

    #[inline(always)]
    fn unary(self, value: f64, d: f64) -> Self {
        if self.word == 0 {
            return Self::constant(value);
        }
        // SAFETY: as in `with_tape` (this is its body, written out so that the recording of
        // every operation inlines): the borrow ends in this block and calls no user code.
        let t = unsafe { &mut *tape_ptr() };
        let lhs = t.operand(self);
        let word = t.record(lhs, SINK, d, 0.0);
        Self { word, value }
    }

    #[inline(always)]
    fn binary(self, other: Self, value: f64, d_self: f64, d_other: f64) -> Self {
        if self.word == 0 && other.word == 0 {
            return Self::constant(value);
        }
        // SAFETY: as in `unary`.
        let t = unsafe { &mut *tape_ptr() };
        let (lhs, rhs) = (t.operand(self), t.operand(other));
        let word = t.record(lhs, rhs, d_self, d_other);
        Self { word, value }
    }

    /// Records one node with the operands and partials produced by `operands`.
    #[inline]
    fn nary(value: f64, operands: impl Iterator<Item = (Var, f64)>) -> Self {
        with_tape(|t| {
            // Reserve the index first: if the tape is full, panic before any operand is
            // stored, so the arena never holds operands without their node.
            let index = t.next_index();
            let before = t.nary.len();
            for (v, d) in operands {
                if v.word == 0 {
                    continue;
                }
                if (v.word ^ t.current) >= index as u64 {
                    match t.operand_slow(v) {
                        Ok(parent) => t.nary.push((parent, d)),
                        Err(misuse) => {
                            // The arena must not keep operands without their node, in case
                            // the caller catches the panic and records on.
                            t.nary.truncate(before);
                            var_misuse(misuse);
                        }
                    }
                } else {
                    t.nary.push((v.word as u32, d));
                }
            }
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
            Self {
                word: t.word(index),
                value,
            }
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
    const CUSTOM_IS_CHEAPER: bool = true;

    #[inline]
    fn constant(x: f64) -> Self {
        Self::constant(x)
    }

    chain_scalar_methods!();

    #[inline]
    fn is_exact_zero(self) -> bool {
        self.word == 0 && self.value == 0.0
    }

    #[inline]
    fn is_all_finite(self) -> bool {
        self.value.is_finite()
    }

    fn log_sum_exp(xs: &[Self]) -> Self {
        let (max, arg) = crate::scalar::max_with_index(xs.iter().map(|x| x.value));
        let Some(arg) = arg else {
            return Self::constant(f64::NEG_INFINITY);
        };
        if max.is_nan() {
            // NaN propagates into the gradient, not a silent zero.
            return Self::nary(f64::NAN, xs.iter().map(|x| (*x, f64::NAN)));
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
        if self.word == 0 {
            write!(f, "Var(const {})", self.value)
        } else {
            write!(f, "Var(#{} = {})", self.word as u32, self.value)
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
    tag: u32,
    start: usize,
    nary_start: usize,
    /// Not `Send`: the session belongs to this thread's tape.
    _not_send: std::marker::PhantomData<*const ()>,
}

impl Recording {
    /// Starts a session where the tape currently ends.
    pub fn start() -> Self {
        TAPE_RELEASE.with(|_| {});
        with_tape(|t| {
            let start = t.next_index() as usize;
            let tag = t.fresh_tag();
            t.sessions.push(tag);
            t.current = (tag as u64) << 32;
            Self {
                tag,
                start,
                nary_start: t.nary.len(),
                _not_send: std::marker::PhantomData,
            }
        })
    }

    /// A new input variable.
    ///
    /// Panics if this recording is not the innermost live one on this thread (a recording
    /// started inside it is still live, or an enclosing one has ended).
    #[inline]
    pub fn input(&self, value: f64) -> Var {
        with_tape(|t| {
            if (self.tag as u64) << 32 != t.current {
                t.expect_innermost(self.tag, "input");
            }
            let index = t.push(SINK_NODE);
            Var {
                word: t.word(index),
                value,
            }
        })
    }

    /// `∂output/∂inputs`, written into `grad` (same length as `inputs`).
    ///
    /// Panics if this recording has ended, or if `output` or an input is a `Var` of an ended
    /// recording or of another thread.
    pub fn gradient_into(&self, output: Var, inputs: &[Var], grad: &mut [f64]) {
        assert_eq!(inputs.len(), grad.len(), "one gradient slot per input");
        with_tape(|t| {
            t.expect_live(self.tag, "gradient");
            let output = t.operand(output);
            t.sweep(self.start, output);
            for (g, v) in grad.iter_mut().zip(inputs) {
                let index = t.operand(*v);
                *g = if index == SINK {
                    0.0
                } else {
                    t.adjoints[index as usize]
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
        with_tape(|t| {
            t.expect_live(self.tag, "len");
            t.nodes.len() - self.start
        })
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
        with_tape(|t| t.end_session(self.tag, self.start, self.nary_start));
    }
}

/// Capacities of this thread's tape buffers: (nodes, n-ary operands, adjoints). Stable
/// capacities across repeated gradients show that nothing is reallocated.
pub fn tape_capacity() -> (usize, usize, usize) {
    with_tape(|t| (t.nodes.capacity(), t.nary.capacity(), t.adjoints.capacity()))
}
