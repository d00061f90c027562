//! The line the blocking twins must not cross: an async runtime's worker.

use std::panic::Location;

/// A blocking twin, named for its refusal message: the method, and the
/// async call to use instead.
pub(crate) struct Twin {
    /// `Type::method_blocking`.
    pub(crate) method: &'static str,
    /// What to write in async code instead, e.g. `lock.acquire().await`.
    pub(crate) instead: &'static str,
}

/// Panics if the current thread drives async tasks, where blocking would
/// stall every task scheduled on it. Call it only when the caller is about
/// to wait.
#[track_caller]
pub(crate) fn assert_may_block(twin: &Twin) {
    if !may_block() {
        refuse(twin);
    }
}

/// Whether this thread may block: not a tokio runtime worker, nor the
/// thread that drives a current-thread runtime (inside its `block_on`).
/// `tokio::runtime::worker_index` draws exactly that line: it is `None` on
/// plain threads, in `spawn_blocking` and on a multi-thread runtime's
/// `block_on` thread (which runs no tasks but its own future). A plain
/// query: no probing panic, nothing a panic hook could see.
///
/// Without the `tokio` feature there is no runtime to ask: every thread
/// may block (a blocking twin called on an executor's thread stalls it).
pub(crate) fn may_block() -> bool {
    #[cfg(all(feature = "tokio", not(warden_model)))]
    {
        tokio::runtime::worker_index().is_none()
    }
    #[cfg(any(not(feature = "tokio"), warden_model))]
    true
}

/// For a `*_timeout` wait created at `at`: panics at its first poll, naming
/// the method and where it was called, unless it runs inside a tokio
/// runtime (whose clock times it), instead of letting tokio panic at a line
/// inside warden.
#[cfg(feature = "tokio")]
pub(crate) fn require_runtime(method: &str, at: &Location<'_>) {
    if tokio::runtime::Handle::try_current().is_err() {
        outside_runtime(method, at);
    }
}

#[cfg(feature = "tokio")]
#[cold]
fn outside_runtime(method: &str, at: &Location<'_>) -> ! {
    panic!(
        "{method} (called at {at}) was polled outside a tokio runtime: its \
         timeout needs a tokio runtime with time enabled (warden's feature \
         `tokio`); await it inside one, or use the `_blocking` twin on a plain \
         thread"
    );
}

/// The panic of a blocking twin called where it must not wait, at the
/// caller's location (every function between the public method and here is
/// `#[track_caller]`).
#[cold]
#[track_caller]
pub(crate) fn refuse(twin: &Twin) -> ! {
    let Twin { method, instead } = twin;
    panic!(
        "{method} was called at {at} on a thread that runs async tasks (a tokio \
         runtime worker, or the thread inside a current-thread runtime's \
         block_on), where waiting would stall every task on it; use \
         `{instead}` in async code, or call {method} from \
         tokio::task::spawn_blocking or a plain thread",
        at = Location::caller(),
    );
}
