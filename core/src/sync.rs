//! The one switch between std and loom.
//!
//! Every atomic, mutex and thread handle in warden comes from here. A normal
//! build uses `std`; the `warden-model` package compiles these very sources
//! with `cfg(warden_model)`, which swaps in loom's types so the model tests
//! explore every interleaving of the primitives' state machines.

#[cfg(not(warden_model))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
#[cfg(not(warden_model))]
pub(crate) use std::thread::{Thread, current as current_thread, park, park_timeout};

#[cfg(warden_model)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
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

/// The id of the current thread (loom's simulated thread in the model),
/// cached per thread: `thread::current()` clones an `Arc` each call, and
/// `RLock` asks on every acquisition outside a task.
#[cfg(not(warden_model))]
pub(crate) fn current_thread_id() -> std::thread::ThreadId {
    std::thread_local! {
        static ID: std::thread::ThreadId = std::thread::current().id();
    }
    ID.with(|id| *id)
}
#[cfg(warden_model)]
pub(crate) fn current_thread_id() -> loom::thread::ThreadId {
    loom::thread::current().id()
}
#[cfg(not(warden_model))]
pub(crate) type ThreadId = std::thread::ThreadId;
#[cfg(warden_model)]
pub(crate) type ThreadId = loom::thread::ThreadId;
