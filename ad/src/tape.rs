//! Reverse mode: a thread-local tape of nodes and the [`Var`] that indexes it.
//!
//! Every operation on `Var`s appends one node holding its (at most two) operands and the
//! local partial derivatives with respect to them, computed while recording. Operations with
//! many operands (`log_sum_exp`, `sum_of`, `dot`, `weighted_sum`, `custom`, `sum_map`,
//! `sum_log_logistic_of_linear`, …) are one node whose operands live in a side arena, so
//! array-style code records one node per array operation rather than one per element. The reverse sweep then only multiplies and adds: no
//! closure calls, no branches on operation kinds.
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
//! Each recording gets a process-unique 32-bit session tag (see `session_tags`), and a `Var`
//! packs that tag into the high half of its index word. Recording a one- or two-operand node
//! checks nothing: it stores the operands' words as they are. The sweep, which must
//! bounds-check the indices it follows anyway, checks both operands of a node at once,
//! `((lhs | rhs) ^ session) & mask == 0`: every tag has exactly 16 bits set, so this holds
//! exactly when each operand is a constant or a node of the session being swept, with an
//! index below a power of two that the adjoint buffer covers. Anything else (n-ary nodes,
//! operands from an enclosing live session, misuse) takes a cold path that accepts what is
//! valid and panics with a message naming the misuse: a `Var` whose recording ended, a `Var`
//! from another thread. So a misused `Var` panics at the latest when a gradient is taken
//! through it, and never contributes to one. N-ary operations check their operands when they
//! record (one OR per operand, one test per node), recording with no live session panics
//! (the tape then has no room), and `Recording::gradient` checks its output and inputs.
//!
//! Memory safety does not rest on the tags being unique: every index the sweep follows
//! without a bounds check has passed the mask test against the adjoint buffer's length. So
//! a tag that recurs (after 6·10⁸ sessions in one process) can at worst let a stale `Var`
//! through in that case, never corrupt memory.

use std::cell::UnsafeCell;
use std::fmt;
use std::mem::ManuallyDrop;

use crate::chain_rule::{chain_scalar_methods, impl_via_chain, Chain};
use crate::elementwise::{ElementwiseFn, MapArg};
use crate::session_tags::TagSource;
use crate::Scalar;

/// Index of the sink node. Constants point here, and so does the unused second operand of a
/// one-operand node; whatever adjoint flows into it is never read.
const SINK: u32 = 0;
/// The tape holds fewer nodes than this, so every index fits in the low half of a word and
/// differs from the n-ary marker.
const MAX_NODES: usize = u32::MAX as usize;
/// The high half of the `lhs` word of an n-ary node (never a session tag, whose weight is
/// 16): its low half holds the operand count and `rhs` the operands' start in the arena.
const NARY_MARK: u64 = (u32::MAX as u64) << 32;

#[derive(Clone, Copy, Debug)]
struct Node {
    /// The operands' `Var` words (session tag and index; 0 for a constant).
    lhs: u64,
    rhs: u64,
    d_lhs: f64,
    d_rhs: f64,
}

const SINK_NODE: Node = Node {
    lhs: 0,
    rhs: 0,
    d_lhs: 0.0,
    d_rhs: 0.0,
};

/// A live recording session: its tag, the index of its first node, and the end of the run
/// of input nodes it starts with.
#[derive(Clone, Copy, Debug)]
struct Session {
    tag: u32,
    start: usize,
    /// Nodes `start..inputs_end` are all inputs (no operands): the sweep skips them, as
    /// they pass nothing on. Without this, each would add `0 · g` to the sink's adjoint
    /// twice — a chain of stores and loads through one address that cost a third of a
    /// sweep with a thousand inputs.
    inputs_end: usize,
}

/// The recording of one thread.
struct Tape {
    nodes: Vec<Node>,
    /// Nodes may be appended while `nodes.len() < limit`. It is `nodes.capacity()` (at most
    /// [`MAX_NODES`]) while a session is live and 0 otherwise, so the one capacity test of a
    /// push also stops recording without a session.
    limit: usize,
    /// Operands of n-ary nodes: (`Var` word, partial), in recording order.
    nary: Vec<(u64, f64)>,
    adjoints: Vec<f64>,
    /// Reused buffers for the input variables and custom-operation scratch.
    inputs: Vec<Var>,
    scratch_values: Vec<f64>,
    scratch_partials: Vec<f64>,
    /// Reused buffer for the operands of one n-ary node being assembled outside the tape
    /// borrow (`sum_map` runs user code per element; `log_sum_exp` scales its partials once
    /// the sum is known).
    run: Vec<(u64, f64)>,
    /// The tag of the innermost live session, shifted into the high half of a `Var` word
    /// (0 when no session is live).
    current: u64,
    /// The live sessions, innermost last.
    sessions: Vec<Session>,
    tags: TagSource,
    /// The last standard deviation [`Scalar::normal_ln_pdf`] saw (its bits), with its
    /// logarithm and reciprocal: array-style code evaluates many observations under one
    /// standard deviation, and these were a logarithm and a division per observation.
    sd_memo: (u64, f64, f64),
}

/// `1.0f64.to_bits()`, whose logarithm and reciprocal start the memo.
const SD_ONE_BITS: u64 = 0x3ff0_0000_0000_0000;

/// What is wrong with an operand that failed the fast check.
#[derive(Clone, Copy, Debug)]
enum Misuse {
    /// Its session was one of this thread's and has ended.
    Ended,
    /// Its session never belonged to this thread.
    OtherThread,
}

/// Whether every operand word OR-ed into `words` is a constant or a node of the session whose
/// shifted tag is `session`, with an index below `bound` (a power of two).
#[inline(always)]
fn all_of_session(words: u64, session: u64, bound: usize) -> bool {
    (words ^ session) & !(bound as u64 - 1) == 0
}

impl Tape {
    const fn new() -> Self {
        Self {
            nodes: Vec::new(),
            limit: 0,
            nary: Vec::new(),
            adjoints: Vec::new(),
            inputs: Vec::new(),
            scratch_values: Vec::new(),
            scratch_partials: Vec::new(),
            run: Vec::new(),
            current: 0,
            sessions: Vec::new(),
            tags: TagSource::new(),
            sd_memo: (SD_ONE_BITS, 0.0, 1.0),
        }
    }

    /// Appends `node`; returns its index.
    #[inline(always)]
    fn push(&mut self, node: Node) -> u32 {
        let index = self.nodes.len();
        if index >= self.limit {
            self.make_room(node.lhs, node.rhs);
        }
        // SAFETY: `index < limit <= capacity`: `make_room` returns only with room, and every
        // change of the capacity or of the session list resets `limit` (`refresh_limit`).
        // Field by field: a node assembled on the stack and copied in 16-byte pieces would
        // load across two 8-byte stores, which store forwarding cannot serve (a stall per
        // node that doubled the gradient's time at equal instruction counts).
        unsafe {
            let slot = self.nodes.as_mut_ptr().add(index);
            std::ptr::addr_of_mut!((*slot).lhs).write(node.lhs);
            std::ptr::addr_of_mut!((*slot).rhs).write(node.rhs);
            std::ptr::addr_of_mut!((*slot).d_lhs).write(node.d_lhs);
            std::ptr::addr_of_mut!((*slot).d_rhs).write(node.d_rhs);
            self.nodes.set_len(index + 1);
        }
        // `limit <= MAX_NODES`, so the index fits.
        index as u32
    }

    /// The slow side of [`Tape::push`]: no live session (then the operand words `lhs`,
    /// `rhs` are misused), a full tape, or a full buffer (grown).
    #[cold]
    #[inline(never)]
    fn make_room(&mut self, lhs: u64, rhs: u64) {
        if self.sessions.is_empty() {
            let word = if lhs != 0 { lhs } else { rhs };
            if let Err(misuse) = live_operand(word, &[], 0, &self.tags) {
                var_misuse(misuse);
            }
            panic!("trellis-ad: recording with no live Recording");
        }
        let len = self.nodes.len();
        assert!(
            len < MAX_NODES,
            "trellis-ad: the reverse-mode tape exceeded 2^32 - 1 nodes"
        );
        self.nodes.reserve(len.max(64));
        self.refresh_limit();
    }

    /// Re-derives `limit` from the capacity and the session list.
    fn refresh_limit(&mut self) {
        self.limit = if self.sessions.is_empty() {
            0
        } else {
            self.nodes.capacity().min(MAX_NODES)
        };
    }

    /// The index of node `index` of the innermost session as a `Var` word.
    #[inline(always)]
    fn word(&self, index: u32) -> u64 {
        self.current | index as u64
    }

    /// The operand index of `var`, checked: it is the sink or a node of a live session of
    /// this thread's tape, and below the tape length.
    #[inline(always)]
    fn operand(&self, var: Var) -> u32 {
        // Equal tags make the high half zero, and then the word is the index itself.
        if (var.word ^ self.current) < self.nodes.len() as u64 {
            return var.word as u32;
        }
        match self.operand_slow(var.word) {
            Ok(index) => index,
            Err(misuse) => var_misuse(misuse),
        }
    }

    /// Operands that are not nodes of the innermost session: constants, nodes of an
    /// enclosing live session, or misuse.
    #[cold]
    #[inline(never)]
    fn operand_slow(&self, word: u64) -> Result<u32, Misuse> {
        live_operand(word, &self.sessions, self.nodes.len(), &self.tags)
    }

    /// Checks each n-ary operand recorded from `start` on (their OR failed the one-test
    /// check): nodes of enclosing live sessions are fine; a misused one panics, after
    /// dropping the operands so that a caught panic leaves the arena in step.
    #[cold]
    #[inline(never)]
    fn check_nary_operands(&mut self, start: usize) {
        for &(word, _) in &self.nary[start..] {
            if let Err(misuse) = self.operand_slow(word) {
                self.nary.truncate(start);
                var_misuse(misuse);
            }
        }
    }

    /// Completes an n-ary node whose operands were appended to the arena from `start` on
    /// (`words`: the OR of their words): checks them, records the node.
    #[inline]
    fn finish_nary(&mut self, start: usize, words: u64, value: f64) -> Var {
        let t = self;
        let count = t.nary.len() - start;
        if count == 0 {
            return Var::constant(value);
        }
        let bound = t.nodes.len().next_power_of_two();
        if !all_of_session(words, t.current, bound) {
            t.check_nary_operands(start);
        }
        assert!(
            count < MAX_NODES,
            "trellis-ad: an n-ary operation of 2^32 - 1 operands or more"
        );
        let index = t.push(Node {
            lhs: NARY_MARK | count as u64,
            rhs: start as u64,
            d_lhs: 0.0,
            d_rhs: 0.0,
        });
        Var {
            word: t.word(index),
            value,
        }
    }

    /// Propagates adjoints from `output` back to the first node of the live session at
    /// position `session` of the session list.
    fn sweep(&mut self, session: usize, output: u32) {
        let len = self.nodes.len();
        // Indices that pass the mask test are below `bound`, which the buffer covers.
        let bound = len.next_power_of_two();
        if self.adjoints.len() < bound {
            self.adjoints.resize(bound, 0.0);
        }
        self.adjoints[..len].fill(0.0);
        if output == SINK {
            return;
        }
        self.adjoints[output as usize] = 1.0;
        let adjoints = &mut self.adjoints[..bound];
        let ctx = SweepContext {
            nodes: &self.nodes,
            nary: &self.nary,
            sessions: &self.sessions,
            tags: &self.tags,
            bound,
        };
        // Innermost session first: the nodes of each live session were recorded under its
        // tag (sessions started inside it and ended have been truncated away).
        let mut end = len;
        for s in ctx.sessions[session..].iter().rev() {
            // The session's leading inputs pass nothing on (their adjoints stay as they are).
            let first = s.inputs_end.min(end);
            ctx.sweep_segment(adjoints, first..end, (s.tag as u64) << 32);
            end = s.start;
        }
    }

    /// Ends the live session `tag` (and any still-live session started inside it): drops
    /// every node from `start` on and the n-ary operands recorded with them. A session that
    /// is no longer live (an enclosing one ended first) leaves the tape alone.
    fn end_session(&mut self, tag: u32, start: usize, nary_start: usize) {
        let Some(position) = self.sessions.iter().rposition(|s| s.tag == tag) else {
            return;
        };
        self.sessions.truncate(position);
        self.current = self.sessions.last().map_or(0, |s| (s.tag as u64) << 32);
        self.nodes.truncate(start.max(1));
        self.nary.truncate(nary_start);
        self.refresh_limit();
    }

    /// Panics unless `tag` is the innermost live session (the only one that may add inputs).
    fn expect_innermost(&self, tag: u32, what: &str) {
        if (tag as u64) << 32 == self.current {
            return;
        }
        if self.sessions.iter().any(|s| s.tag == tag) {
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

    /// Panics unless `tag` is a live session; returns its position in the session list.
    fn expect_live(&self, tag: u32, what: &str) -> usize {
        match self.sessions.iter().rposition(|s| s.tag == tag) {
            Some(position) => position,
            None => panic!(
                "trellis-ad: Recording::{what} on a Recording that has ended: an enclosing \
                 Recording ended before it"
            ),
        }
    }
}

/// What the reverse sweep reads besides the adjoints.
struct SweepContext<'a> {
    nodes: &'a [Node],
    nary: &'a [(u64, f64)],
    sessions: &'a [Session],
    tags: &'a TagSource,
    /// The adjoint buffer's length, a power of two at least the tape length.
    bound: usize,
}

impl SweepContext<'_> {
    /// Propagates the adjoints of the nodes `range` (recorded under the shifted tag
    /// `session`), last node first.
    #[inline(always)]
    fn sweep_segment(&self, adjoints: &mut [f64], range: std::ops::Range<usize>, session: u64) {
        assert!(adjoints.len() == self.bound && range.end <= self.nodes.len());
        let adjoint = adjoints.as_mut_ptr();
        let nodes = self.nodes.as_ptr();
        let mut i = range.end;
        while i > range.start {
            i -= 1;
            // SAFETY: `i < range.end <= nodes.len() <= bound == adjoints.len()` (asserted
            // above). The two operand indices are the low halves of words that passed
            // `all_of_session` against `bound`, so they are below `bound` too, whatever
            // words the caller's `Var`s held; anything else goes to `irregular_node`, which
            // bounds-checks. No reference into `adjoints` is live meanwhile.
            unsafe {
                let g = *adjoint.add(i);
                if g == 0.0 {
                    // Also skips zero-adjoint nodes with infinite partials: 0 · ∞ adds nothing.
                    continue;
                }
                let node = &*nodes.add(i);
                if !all_of_session(node.lhs | node.rhs, session, self.bound) {
                    self.irregular_node(adjoint, node, g);
                    continue;
                }
                *adjoint.add(node.lhs as u32 as usize) += node.d_lhs * g;
                *adjoint.add(node.rhs as u32 as usize) += node.d_rhs * g;
            }
        }
    }

    /// A node whose operands are not all of its own session: an n-ary node, one with an
    /// operand of an enclosing live session, or one with a misused `Var` (which panics).
    #[cold]
    #[inline(never)]
    fn irregular_node(&self, adjoint: *mut f64, node: &Node, g: f64) {
        // SAFETY: `adjoint` is the start of the sweep's buffer of `bound` adjoints, to which
        // no other reference is live while this runs.
        let adjoints = unsafe { std::slice::from_raw_parts_mut(adjoint, self.bound) };
        if node.lhs & NARY_MARK == NARY_MARK {
            let (count, start) = (node.lhs as u32 as usize, node.rhs as usize);
            // Checked at recording; the slicing and indexing check again, cheaply.
            let operands = self
                .nary
                .get(start..start + count)
                .expect("trellis-ad: n-ary operand arena out of step with the tape");
            for &(word, d) in operands {
                adjoints[word as u32 as usize] += d * g;
            }
            return;
        }
        for (word, d) in [(node.lhs, node.d_lhs), (node.rhs, node.d_rhs)] {
            match live_operand(word, self.sessions, self.nodes.len(), self.tags) {
                Ok(index) => adjoints[index as usize] += d * g,
                Err(misuse) => var_misuse(misuse),
            }
        }
    }
}

/// The index of operand `word` if it is a constant (the sink) or a node of a live session
/// below the tape length `len`; otherwise what is wrong with it.
fn live_operand(
    word: u64,
    sessions: &[Session],
    len: usize,
    tags: &TagSource,
) -> Result<u32, Misuse> {
    if word == 0 {
        return Ok(SINK);
    }
    let (tag, index) = ((word >> 32) as u32, word as u32);
    if sessions.iter().any(|s| s.tag == tag) && (index as usize) < len {
        return Ok(index);
    }
    Err(if tags.issued_here(tag) {
        Misuse::Ended
    } else {
        Misuse::OtherThread
    })
}

/// Appends `var` with partial `d` to an operand run, unless it is a constant.
#[inline(always)]
fn push_operand(run: &mut Vec<(u64, f64)>, var: Var, d: f64) {
    if var.word != 0 {
        run.push((var.word, d));
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
/// not outlive the recording it belongs to, nor move to another thread: either misuse panics,
/// with a message saying which, when a gradient is taken through it (or earlier: in an n-ary
/// operation, or when no recording is live), and never contributes to a gradient (see the
/// module notes on how the sweep checks this at one test per node).
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
        // The operand is checked by the sweep (see the module notes).
        let index = t.push(Node {
            lhs: self.word,
            rhs: 0,
            d_lhs: d,
            d_rhs: 0.0,
        });
        Self {
            word: t.word(index),
            value,
        }
    }

    #[inline(always)]
    fn binary(self, other: Self, value: f64, d_self: f64, d_other: f64) -> Self {
        if self.word == 0 && other.word == 0 {
            return Self::constant(value);
        }
        // SAFETY: as in `unary`.
        let t = unsafe { &mut *tape_ptr() };
        let index = t.push(Node {
            lhs: self.word,
            rhs: other.word,
            d_lhs: d_self,
            d_rhs: d_other,
        });
        Self {
            word: t.word(index),
            value,
        }
    }

    /// Records one node with the operands and partials produced by `operands`.
    #[inline]
    fn nary(value: f64, operands: impl Iterator<Item = (Var, f64)>) -> Self {
        with_tape(|t| {
            let start = t.nary.len();
            // The OR of all operand words: one test below checks them all (as in the sweep).
            let mut words = 0;
            for (v, d) in operands {
                if v.word != 0 {
                    words |= v.word;
                    t.nary.push((v.word, d));
                }
            }
            t.finish_nary(start, words, value)
        })
    }

    /// Records one node whose operands are `run` (constants already left out), assembled
    /// by the caller outside the tape borrow.
    #[inline]
    fn nary_run(value: f64, run: &[(u64, f64)]) -> Self {
        with_tape(|t| {
            let start = t.nary.len();
            let words = run.iter().fold(0, |words, &(word, _)| words | word);
            t.nary.extend_from_slice(run);
            t.finish_nary(start, words, value)
        })
    }

    /// Runs `f` with this thread's reusable operand run (empty), outside the tape borrow:
    /// `f` may call user code, which may record.
    #[inline]
    fn with_run<R>(f: impl FnOnce(&mut Vec<(u64, f64)>) -> R) -> R {
        let mut run = with_tape(|t| std::mem::take(&mut t.run));
        run.clear();
        let out = f(&mut run);
        // A nested call may have put its own buffer back meanwhile: keep the larger.
        with_tape(|t| {
            if run.capacity() >= t.run.capacity() {
                t.run = run;
            }
        });
        out
    }

    /// `ln Σ exp(sᵢ)` over `len` values `sᵢ = sum(i)`, whose operands `operands(run, i, ∂)`
    /// appends: one exponential per element (kept as the unscaled partial, then every
    /// partial scaled by `1/Σ` once the sum is known). The conventions of
    /// [`Scalar::log_sum_exp`]; `at_infinity(arg)` is the result when `sum(arg)` is `+inf`.
    #[inline]
    fn log_sum_exp_by(
        len: usize,
        sum: impl Fn(usize) -> f64,
        operands: impl Fn(&mut Vec<(u64, f64)>, usize, f64),
        at_infinity: impl FnOnce(usize) -> Self,
    ) -> Self {
        let (max, arg) = crate::scalar::max_with_index((0..len).map(&sum));
        let Some(arg) = arg else {
            return Self::constant(f64::NEG_INFINITY);
        };
        if max == f64::INFINITY {
            return at_infinity(arg);
        }
        if max == f64::NEG_INFINITY {
            // All -inf: the value is -inf and every partial is 0 (not NaN).
            return Self::constant(f64::NEG_INFINITY);
        }
        // A NaN maximum falls through: NaN reaches the value and every partial, not a
        // silent zero.
        Self::with_run(|run| {
            let mut total = 0.0;
            for i in 0..len {
                let e = (sum(i) - max).exp();
                total += e;
                operands(run, i, e);
            }
            let inv = 1.0 / total;
            for (_, d) in run.iter_mut() {
                *d *= inv;
            }
            Self::nary_run(max + total.ln(), run)
        })
    }
}

impl Var {
    /// The same variable with value `value` (for a node whose value is known only after
    /// its operands were recorded).
    #[inline]
    fn with_value(self, value: f64) -> Self {
        Self {
            word: self.word,
            value,
        }
    }

    /// One node for a function of `inputs` computed by `kernel`, which receives the input
    /// values and must write `∂f/∂xᵢ` into its second argument and return `f(x)`.
    ///
    /// The value and gradient can come from anywhere (hand-written, another library); the
    /// buffers are reused, so this allocates nothing once warm.
    pub fn custom_op(inputs: &[Var], kernel: impl FnOnce(&[f64], &mut [f64]) -> f64) -> Var {
        Self::with_scratch(inputs, |values, partials| {
            let value = kernel(values, partials);
            Self::custom(inputs, value, partials)
        })
    }

    /// Runs `f` on the values of `inputs` and as many zeroed partials, in the tape's reusable
    /// scratch buffers (no allocation once warm). `f` runs without the tape borrowed: it may
    /// record nodes, or use reverse mode itself.
    fn with_scratch<R>(inputs: &[Var], f: impl FnOnce(&[f64], &mut [f64]) -> R) -> R {
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
        let out = f(&values, &mut partials);
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
    /// `v ± c` records nothing: its adjoint is `v`'s, so it keeps `v`'s node (and tag: a
    /// misused `v` is caught where the result is used).
    #[inline]
    fn shift(self, value: f64) -> Self {
        Self {
            word: self.word,
            value,
        }
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
        Self::log_sum_exp_by(
            xs.len(),
            |i| xs[i].value,
            |run, i, e| push_operand(run, xs[i], e),
            |arg| xs[arg].unary(f64::INFINITY, 1.0),
        )
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

    fn log_sum_exp_of_sums(xs: &[Self], ys: &[Self]) -> Self {
        assert_eq!(
            xs.len(),
            ys.len(),
            "log_sum_exp_of_sums: slices of different lengths"
        );
        Self::log_sum_exp_by(
            xs.len(),
            |i| xs[i].value + ys[i].value,
            |run, i, e| {
                push_operand(run, xs[i], e);
                push_operand(run, ys[i], e);
            },
            |arg| xs[arg].binary(ys[arg], f64::INFINITY, 1.0, 1.0),
        )
    }

    fn sum_map<F: ElementwiseFn<N>, const N: usize>(f: &F, args: [MapArg<'_, Self>; N]) -> Self {
        let len = crate::elementwise::map_len(&args);
        // Outside the tape borrow: `f` is user code.
        Self::with_run(|run| {
            let mut value = 0.0;
            let mut broadcast = [0.0; N];
            // Operands argument by argument (all of the first `Each` slice's, then the
            // next's), not element by element: with `Each(&x[..n-1])` and `Each(&x[1..])`
            // element order puts the same variable's two operands side by side, and the
            // sweep's adjacent `+=` into one adjoint then wait on each other (store → load).
            let n_each = args.iter().filter(|a| matches!(a, MapArg::Each(_))).count();
            run.resize(n_each * len, (0, 0.0));
            let mut constants = false;
            for i in 0..len {
                let (v, d) = f.value_and_partials(std::array::from_fn(|j| args[j].value_at(i)));
                value += v;
                let mut slot = 0;
                for j in 0..N {
                    match args[j] {
                        MapArg::Each(xs) => {
                            let word = xs[i].word;
                            constants |= word == 0;
                            run[slot * len + i] = (word, d[j]);
                            slot += 1;
                        }
                        MapArg::All(_) => broadcast[j] += d[j],
                        MapArg::Data(_) => {}
                    }
                }
            }
            if constants {
                // Constants are not operands (as `push_operand` skips them).
                run.retain(|&(word, _)| word != 0);
            }
            for (arg, d) in args.iter().zip(broadcast) {
                if let MapArg::All(x) = arg {
                    push_operand(run, *x, d);
                }
            }
            Self::nary_run(value, run)
        })
    }

    fn sum_log_logistic_of_linear(design: &[f64], beta: &[Self]) -> Self {
        let rows = crate::elementwise::design_rows(design, beta.len());
        Self::with_scratch(beta, |coefficients, slopes| {
            // The hand-written loop: per row one dot product, one exponential, and the row
            // scaled into the coefficients' partials. The predictor as `weighted_sum` computes
            // it, so the value is the generic form's to the bit.
            let mut value = 0.0;
            for row in rows {
                let eta: f64 = coefficients.iter().zip(row).map(|(b, x)| b * x).sum();
                let (log_p, slope) = crate::scalar::log_logistic_and_slope_f64(eta);
                value += log_p;
                for (g, x) in slopes.iter_mut().zip(row) {
                    *g += slope * x;
                }
            }
            Self::nary(value, beta.iter().copied().zip(slopes.iter().copied()))
        })
    }

    fn normal_ln_pdf(y: f64, mean: Self, sd: Self) -> Self {
        // The same operations as the generic form, so the value is the same to the bit (the
        // memo returns the very `ln s` it would compute); the partials use `1/s`.
        let (m, s) = (mean.value, sd.value);
        let z = (m - y) / s;
        let (ln_s, inv) = with_tape(|t| {
            if t.sd_memo.0 != s.to_bits() {
                t.sd_memo = (s.to_bits(), s.ln(), 1.0 / s);
            }
            (t.sd_memo.1, t.sd_memo.2)
        });
        let value = -(z * z) * 0.5 - ln_s - crate::scalar::HALF_LN_2PI;
        mean.binary(sd, value, -z * inv, (z * z - 1.0) * inv)
    }

    fn sum_of_squares(xs: &[Self]) -> Self {
        let value = xs.iter().map(|x| x.value * x.value).sum();
        Self::nary(value, xs.iter().map(|x| (*x, 2.0 * x.value)))
    }

    fn sum_log_logistic(xs: &[Self]) -> Self {
        let mut value = 0.0;
        Self::nary(
            0.0,
            xs.iter().map(|x| {
                let (log_p, slope) = crate::scalar::log_logistic_and_slope_f64(x.value);
                value += log_p;
                (*x, slope)
            }),
        )
        .with_value(value)
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
            if t.nodes.is_empty() {
                t.nodes.push(SINK_NODE);
            }
            let start = t.nodes.len();
            let tag = t.tags.fresh();
            t.sessions.push(Session {
                tag,
                start,
                inputs_end: start,
            });
            t.current = (tag as u64) << 32;
            t.refresh_limit();
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
            // Operands: the sink, as a word of this session, so the sweep's fast test passes.
            let index = t.push(Node {
                lhs: t.current,
                rhs: t.current,
                d_lhs: 0.0,
                d_rhs: 0.0,
            });
            // The innermost session is this one (checked above).
            let session = t.sessions.last_mut().expect("a live session");
            if session.inputs_end == index as usize {
                session.inputs_end += 1;
            }
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
            let session = t.expect_live(self.tag, "gradient");
            let output = t.operand(output);
            t.sweep(session, output);
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
