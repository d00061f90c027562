//! The one switch between std and loom.
//!
//! Every atomic, mutex and thread handle in warden comes from here. A normal
//! build uses `std`; the `warden-model` package compiles these very sources
//! with `cfg(warden_model)`, which swaps in loom's types so the model tests
//! explore every interleaving of the primitives' state machines.
//!
//! That rule is enforced by clippy where it matters, on these sources as
//! `warden-model` compiles them (`model/clippy.toml` disallows std's atomics,
//! mutexes and thread parking): this file, the switch itself, is exempt.

#![allow(
    clippy::disallowed_types,
    clippy::disallowed_methods,
    reason = "the switch between std and loom; its one std atomic (thread numbers) is never explored"
)]

#[cfg(not(warden_model))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
#[cfg(not(warden_model))]
pub(crate) use std::thread::{Thread, current as current_thread, park, park_timeout};

#[cfg(warden_model)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
#[cfg(warden_model)]
pub(crate) use loom::thread::{Thread, current as current_thread, park};

/// loom has no timed park; a model never waits on a clock, so a timed park
/// is a plain park there (the timeout paths are tested on std).
#[cfg(warden_model)]
pub(crate) fn park_timeout(_dur: std::time::Duration) {
    park();
}

#[cfg(not(warden_model))]
type RawMutex<T> = std::sync::Mutex<T>;
#[cfg(warden_model)]
type RawMutex<T> = loom::sync::Mutex<T>;

#[cfg(not(warden_model))]
pub(crate) type MutexGuard<'a, T> = std::sync::MutexGuard<'a, T>;
#[cfg(warden_model)]
pub(crate) type MutexGuard<'a, T> = loom::sync::MutexGuard<'a, T>;

/// A mutex for warden's internal bookkeeping (wait queues), never held
/// across user code, so it is never poisoned in practice; should a panic
/// ever poison it, the bookkeeping is still consistent (every update is
/// completed before anything that can panic), so the poison is ignored.
pub(crate) struct Mutex<T>(RawMutex<T>);

impl<T> Mutex<T> {
    const_fn! {
        pub(crate) const fn new(value: T) -> Self {
            Self(RawMutex::new(value))
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Locks without waiting, for `Debug` impls that must never block.
    pub(crate) fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        match self.0.try_lock() {
            Ok(guard) => Some(guard),
            Err(std::sync::TryLockError::Poisoned(p)) => Some(p.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        }
    }
}

#[cfg(warden_model)]
pub(crate) use loom::sync::atomic::AtomicPtr;
#[cfg(not(warden_model))]
pub(crate) use std::sync::atomic::AtomicPtr;

/// The current thread's number for `Owner` (`1..2^63`, never reused):
/// one read of a const thread-local (no lazy-init state, no destructor),
/// the number drawn from a global counter on the thread's first call.
#[cfg(not(warden_model))]
#[inline]
pub(crate) fn current_thread_number() -> std::num::NonZeroU64 {
    use std::cell::Cell;
    std::thread_local! {
        static NUMBER: Cell<u64> = const { Cell::new(0) };
    }
    if let Some(number) = std::num::NonZeroU64::new(NUMBER.with(Cell::get)) {
        number
    } else {
        let number = next_thread_number();
        NUMBER.with(|cell| cell.set(number.get()));
        number
    }
}
/// The same in a model: a number per loom thread (loom's `ThreadId` has no
/// numeric form).
#[cfg(warden_model)]
pub(crate) fn current_thread_number() -> std::num::NonZeroU64 {
    loom::thread_local! {
        static NUMBER: std::num::NonZeroU64 = next_thread_number();
    }
    NUMBER.with(|number| *number)
}

/// Draws a fresh thread number. Only allocates identities, shares no state
/// a model needs to explore, so it is a std atomic in both builds.
#[cold]
#[inline(never)]
fn next_thread_number() -> std::num::NonZeroU64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let number = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    assert!(number < 1 << 63, "warden: more than 2^63 threads numbered");
    std::num::NonZeroU64::new(number).expect("numbers start at 1")
}
