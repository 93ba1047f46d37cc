//! Reusable scratch buffers for generic code, so repeated evaluations allocate nothing.
//!
//! Code generic over [`Scalar`](crate::Scalar) often needs a temporary `Vec<T>` (an emission
//! matrix, constrained parameters). `thread_local!` cannot be generic, so this module keeps,
//! per thread, a stack of spare vectors for each element type. A buffer borrowed with
//! [`with_vec`] comes back empty but with the capacity it had, and nested borrows of the same
//! type get distinct buffers.

use std::any::{Any, TypeId};
use std::cell::RefCell;

thread_local! {
    static POOL: RefCell<Vec<(TypeId, Box<dyn Any>)>> = const { RefCell::new(Vec::new()) };
}

fn take<T: 'static>() -> Vec<T> {
    POOL.with(|pool| {
        let mut pool = pool.borrow_mut();
        pool.iter_mut()
            .find(|(id, _)| *id == TypeId::of::<T>())
            .and_then(|(_, stack)| stack.downcast_mut::<Vec<Vec<T>>>())
            .and_then(|stack| stack.pop())
            .unwrap_or_default()
    })
}

fn give_back<T: 'static>(mut buffer: Vec<T>) {
    buffer.clear();
    POOL.with(|pool| {
        let mut pool = pool.borrow_mut();
        match pool.iter_mut().find(|(id, _)| *id == TypeId::of::<T>()) {
            Some((_, stack)) => {
                if let Some(stack) = stack.downcast_mut::<Vec<Vec<T>>>() {
                    stack.push(buffer);
                }
            }
            None => pool.push((TypeId::of::<T>(), Box::new(vec![buffer]))),
        }
    });
}

/// Runs `f` with an empty `Vec<T>` borrowed from this thread's pool and returns it to the pool
/// afterwards (keeping its capacity). Allocation-free once warm.
///
/// ```
/// use trellis_ad::scratch;
/// let total: f64 = scratch::with_vec(|buf: &mut Vec<f64>| {
///     buf.extend([1.0, 2.0, 3.0]);
///     buf.iter().sum()
/// });
/// assert_eq!(total, 6.0);
/// ```
pub fn with_vec<T: 'static, R>(f: impl FnOnce(&mut Vec<T>) -> R) -> R {
    let mut buffer = take::<T>();
    let result = f(&mut buffer);
    give_back(buffer);
    result
}

/// Like [`with_vec`], with the buffer resized to `len` copies of `fill`.
pub fn with_filled<T: Clone + 'static, R>(len: usize, fill: T, f: impl FnOnce(&mut [T]) -> R) -> R {
    with_vec(|buffer: &mut Vec<T>| {
        buffer.resize(len, fill);
        f(buffer)
    })
}
