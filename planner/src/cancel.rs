//! Cooperative cancellation of long computations.
//!
//! A server answers a request with a computation that may take seconds (a validation over
//! six held-out periods, an ensemble fit, the zones' k-means, a rota search). When the client
//! goes away or the request times out, the answer is no longer wanted, and the core it holds
//! should be freed for the next request. The caller runs the computation inside
//! [`scope`] with a [`Cancel`] token it can trip from another thread; the long loops of this
//! crate call [`check`] (or [`cancelled`]) at each round and stop with a `Cancelled` error.
//!
//! The token is found through a thread-local, so the algorithms keep their plain
//! signatures and a caller that never sets one (the CLI, the tests, the benchmarks) pays one
//! thread-local read per round. Nothing here does I/O.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A cancellation flag shared between the computation and whoever may stop it.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    /// A token not yet tripped.
    pub fn new() -> Cancel {
        Cancel::default()
    }

    /// Asks every computation running in a [`scope`] of this token to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether [`Cancel::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// The computation was stopped because its caller no longer wants the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the computation was cancelled: its answer is no longer wanted")]
pub struct Cancelled;

thread_local! {
    static CURRENT: RefCell<Option<Cancel>> = const { RefCell::new(None) };
}

/// Runs `f` with `token` as this thread's cancellation token (restored afterwards, also
/// when `f` panics).
pub fn scope<T>(token: &Cancel, f: impl FnOnce() -> T) -> T {
    struct Restore(Option<Cancel>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            CURRENT.with(|c| *c.borrow_mut() = previous);
        }
    }
    let previous = CURRENT.with(|c| c.borrow_mut().replace(token.clone()));
    let _restore = Restore(previous);
    f()
}

/// This thread's token, for the worker threads a computation spawns (a thread-local does
/// not follow them).
pub fn current() -> Option<Cancel> {
    CURRENT.with(|c| c.borrow().clone())
}

/// Whether the computation on this thread should stop.
pub fn cancelled() -> bool {
    CURRENT.with(|c| c.borrow().as_ref().is_some_and(Cancel::is_cancelled))
}

/// `Err(Cancelled)` when the computation on this thread should stop.
pub fn check() -> Result<(), Cancelled> {
    if cancelled() { Err(Cancelled) } else { Ok(()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_reaches_only_its_scope_and_is_restored() {
        assert!(check().is_ok(), "no scope: never cancelled");
        let outer = Cancel::new();
        let inner = Cancel::new();
        inner.cancel();
        scope(&outer, || {
            assert!(check().is_ok());
            scope(&inner, || assert_eq!(check(), Err(Cancelled)));
            assert!(check().is_ok(), "the outer token is back");
            outer.cancel();
            assert!(cancelled());
        });
        assert!(check().is_ok(), "no scope again");
    }

    #[test]
    fn another_thread_can_trip_it() {
        let token = Cancel::new();
        let remote = token.clone();
        let worker = std::thread::spawn(move || {
            scope(&remote, || {
                let mut rounds = 0u64;
                while check().is_ok() {
                    rounds += 1;
                    std::thread::yield_now();
                }
                rounds
            })
        });
        std::thread::sleep(std::time::Duration::from_millis(20));
        token.cancel();
        assert!(worker.join().is_ok());
    }
}
