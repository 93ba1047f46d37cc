//! Misuse of reverse-mode variables and recordings panics with a message naming the misuse,
//! never corrupts memory or gives a wrong gradient; a panic inside a function being
//! differentiated leaves the thread's tape usable.

use std::panic::{catch_unwind, AssertUnwindSafe};

use trellis_ad::{reverse, Float, Recording, Scalar, ScalarFn, Var};

/// A `Var` of a recording that has ended, after a long computation (the tape was truncated
/// far below its index): the segfault of issue 9.
fn stale_var() -> Var {
    let rec = Recording::start();
    let x = rec.input(1.0001);
    let mut y = x;
    for _ in 0..100_000 {
        y *= x;
    }
    y
}

/// One `#[should_panic]` test per misuse of a stale `Var` (a function cannot declare tests):
/// `name: |stale, rec, a| misuse`, with `stale` from [`stale_var`] and `a = 2` an input of
/// the live recording `rec`.
macro_rules! stale_var_misuses_panic {
    ($($name:ident: |$stale:ident, $rec:ident, $a:ident| $misuse:expr,)*) => {
        $(
            #[test]
            #[should_panic(expected = "a Var was used after its Recording ended")]
            fn $name() {
                let $stale = stale_var();
                let $rec = Recording::start();
                let $a = $rec.input(2.0);
                let _ = $misuse;
            }
        )*
    };
}

stale_var_misuses_panic! {
    stale_var_from_an_ended_recording_panics_in_arithmetic: |stale, rec, a|
        rec.gradient(a * stale, &[a]),
    stale_var_as_gradient_output_panics: |stale, rec, a| rec.gradient(stale, &[a]),
    stale_var_as_gradient_input_panics: |stale, rec, a| rec.gradient(a * 2.0, &[a, stale]),
    stale_var_in_an_n_ary_operation_panics: |stale, _rec, a| Var::log_sum_exp(&[a, stale]),
}

#[test]
#[should_panic(expected = "a Var was used after its Recording ended")]
fn stale_var_with_no_recording_live_panics() {
    let stale = stale_var();
    let _ = stale.sin();
}

/// The stale index is below the new tape's length (a short recording after a long one):
/// the index is in bounds, so only the session tag tells it apart.
#[test]
#[should_panic(expected = "a Var was used after its Recording ended")]
fn stale_var_with_an_in_bounds_index_panics() {
    let stale = {
        let rec = Recording::start();
        let x = rec.input(3.0);
        x * x
    };
    let rec = Recording::start();
    let inputs: Vec<Var> = (0..10).map(|i| rec.input(i as f64)).collect();
    let _ = rec.gradient(inputs[0] * stale, &inputs);
}

#[test]
#[should_panic(expected = "a Var was used after its Recording ended")]
fn var_of_an_inner_recording_used_after_it_ended_panics() {
    let outer = Recording::start();
    let x = outer.input(1.5);
    let inner_result = {
        let inner = Recording::start();
        let y = inner.input(2.0);
        x * y
    };
    let _ = outer.gradient(x * inner_result, &[x]);
}

#[test]
#[should_panic(expected = "a Var was used on a thread other than the one that recorded it")]
fn var_moved_to_another_thread_panics() {
    let rec = Recording::start();
    let x = rec.input(1.0);
    let y = x.exp();
    let payload = std::thread::spawn(move || {
        let rec = Recording::start();
        let a = rec.input(2.0);
        rec.gradient(a * y, &[a])
    })
    .join()
    .unwrap_err();
    drop(rec);
    std::panic::resume_unwind(payload);
}

/// An outer recording and an inner one started while it is live.
fn nested() -> (Recording, Recording) {
    let outer = Recording::start();
    (outer, Recording::start())
}

#[test]
#[should_panic(expected = "Recording::input on a Recording that has ended")]
fn recording_used_after_an_enclosing_recording_ended_panics() {
    let (outer, inner) = nested();
    drop(outer);
    let _ = inner.input(1.0);
}

#[test]
#[should_panic(expected = "Recording::gradient on a Recording that has ended")]
fn gradient_of_a_recording_whose_enclosing_one_ended_panics() {
    let (outer, inner) = nested();
    let x = inner.input(1.0);
    drop(outer);
    let _ = inner.gradient(x, &[x]);
}

#[test]
#[should_panic(expected = "while a Recording started inside it is still live")]
fn input_on_an_outer_recording_while_an_inner_one_is_live_panics() {
    let (outer, _inner) = nested();
    let _ = outer.input(1.0);
}

/// Valid nesting keeps working: outer variables used inside an inner recording, and the
/// outer gradient after the inner one ended.
#[test]
fn nested_recordings_give_exact_gradients() {
    let outer = Recording::start();
    let x = outer.input(1.5);
    let y = x * x;
    let inner_grad = {
        let inner = Recording::start();
        let z = inner.input(2.0);
        let w = y * z + z.sin();
        inner.gradient(w, &[z])
    };
    assert_eq!(inner_grad, vec![1.5 * 1.5 + 2f64.cos()]);
    let out = y * x;
    assert_eq!(outer.gradient(out, &[x]), vec![3.0 * 1.5 * 1.5]);
}

/// The sweep skips a recording's leading inputs (they pass nothing on); inputs made after
/// operations, or after an inner recording ended and its nodes were dropped, are ordinary
/// nodes of the sweep, and every input still gets its exact adjoint.
#[test]
fn inputs_before_between_and_after_operations_get_exact_gradients() {
    let rec = Recording::start();
    let (a, b) = (rec.input(2.0), rec.input(3.0));
    let ab = a * b;
    let c = rec.input(5.0);
    {
        let inner = Recording::start();
        let z = inner.input(7.0);
        let w = ab * z;
        assert_eq!(inner.gradient(w, &[z]), vec![6.0]);
    }
    let d = rec.input(11.0);
    let unused = rec.input(13.0);
    let out = ab * c + d * d + a;
    // ∂/∂a = b·c + 1, ∂/∂b = a·c, ∂/∂c = a·b, ∂/∂d = 2d, an unused input 0.
    assert_eq!(
        rec.gradient(out, &[a, b, c, d, unused]),
        vec![16.0, 10.0, 6.0, 22.0, 0.0]
    );
    // The output an input itself: its adjoint is 1 though the sweep skips it.
    assert_eq!(rec.gradient(b, &[a, b]), vec![0.0, 1.0]);
}

/// A forgotten recording never ends; sessions started after it still nest correctly and the
/// enclosing recording cleans up.
#[test]
fn forgotten_inner_recording_is_harmless() {
    let outer = Recording::start();
    let x = outer.input(0.5);
    std::mem::forget(Recording::start());
    let y = x.exp();
    assert_eq!(outer.gradient(y, &[x]), vec![0.5f64.exp()]);
    drop(outer);
    let (_, g) = reverse::value_and_gradient(&Cube, &[2.0]);
    assert_eq!(g, vec![12.0]);
}

struct Cube;
impl ScalarFn for Cube {
    fn eval<T: Scalar>(&self, x: &[T]) -> T {
        x[0] * x[0] * x[0]
    }
}

/// Panics half-way through recording (after plain and n-ary nodes) at the first call.
struct PanicsOnce {
    armed: std::cell::Cell<bool>,
}
impl ScalarFn for PanicsOnce {
    fn eval<T: Scalar>(&self, x: &[T]) -> T {
        let a = T::log_sum_exp(x) * x[0];
        let b = T::dot(x, x) + x[1].ln();
        if self.armed.replace(false) {
            panic!("model failed");
        }
        a * b
    }
}

#[test]
fn panic_inside_eval_leaves_the_tape_usable() {
    let f = PanicsOnce {
        armed: std::cell::Cell::new(true),
    };
    let x = [0.3, 1.7];
    let caught = catch_unwind(AssertUnwindSafe(|| reverse::gradient(&f, &x)));
    assert!(caught.is_err());
    let (v, g) = reverse::value_and_gradient(&f, &x);
    // Reference: the same function by forward mode, which does not use the tape.
    let (v_fwd, g_fwd) = trellis_ad::forward::value_and_gradient(&f, &x);
    assert_eq!(v, v_fwd);
    for (a, b) in g.iter().zip(&g_fwd) {
        assert!((a - b).abs() <= 1e-15 * b.abs(), "{a} vs {b}");
    }
    // And a caught misuse inside a live recording leaves that recording exact.
    let stale = stale_var();
    let rec = Recording::start();
    let a = rec.input(3.0);
    let partial = a * a;
    let misuse = catch_unwind(AssertUnwindSafe(|| Var::sum_of(&[a, partial, stale])));
    assert!(misuse.is_err());
    let out = Var::sum_of(&[a, partial]) * a;
    // d/da (a + a²)·a = 2a + 3a².
    assert_eq!(rec.gradient(out, &[a]), vec![2.0 * 3.0 + 3.0 * 9.0]);
}

/// A stale `Var` recorded while an inner recording is live, swept by the outer gradient (the
/// inner recording's nodes are checked against its own tag).
#[test]
#[should_panic(expected = "a Var was used after its Recording ended")]
fn stale_var_in_a_live_inner_recording_panics_in_the_outer_gradient() {
    let stale = stale_var();
    let outer = Recording::start();
    let x = outer.input(2.0);
    let _inner = Recording::start();
    let y = x * stale;
    let _ = outer.gradient(y * x, &[x]);
}

/// The outer gradient taken while an inner recording is live goes through the inner nodes,
/// whose operands are partly the outer recording's (the sweep's slow path).
#[test]
fn outer_gradient_through_a_live_inner_recording_is_exact() {
    let outer = Recording::start();
    let x = outer.input(1.5);
    let sq = x * x;
    let inner = Recording::start();
    let z = inner.input(4.0);
    let w = sq * x + z.ln();
    let s = Var::sum_of(&[w, x, sq]);
    // s = x³ + ln z + x + x²; ∂s/∂x = 3x² + 1 + 2x.
    assert_eq!(outer.gradient(s, &[x]), vec![3.0 * 2.25 + 1.0 + 3.0]);
    assert_eq!(inner.gradient(s, &[z]), vec![0.25]);
}

/// A stale `Var` whose node gets no adjoint cannot change the gradient: it is not followed
/// (the gradient stays exact and nothing panics).
#[test]
fn stale_var_off_the_gradient_path_changes_nothing() {
    let stale = stale_var();
    let rec = Recording::start();
    let a = rec.input(3.0);
    let _unused = a * stale;
    assert_eq!(rec.gradient(a * a, &[a]), vec![6.0]);
}

#[test]
fn var_is_still_sixteen_bytes() {
    assert_eq!(std::mem::size_of::<Var>(), 16);
}

/// A shifted stale `Var` keeps its node and tag, so it is caught where it is used.
#[test]
#[should_panic(expected = "a Var was used after its Recording ended")]
fn stale_var_shifted_by_a_constant_panics() {
    let stale = stale_var() + 1.0;
    let rec = Recording::start();
    let a = rec.input(2.0);
    let _ = rec.gradient(a * (stale - 3.0), &[a]);
}
