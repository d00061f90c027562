//! # warden
//!
//! Python's [`threading`] primitives for async Rust — [`Lock`], [`RLock`],
//! [`Semaphore`] and [`BoundedSemaphore`], [`Event`], [`Condition`],
//! [`Barrier`] — with Python's semantics, cancel-safe waits, and
//! `#[guarded(lock)]` fields that cannot be touched without their lock;
//! plus an [`RwLock`], which Python lacks.
//!
//! | Python (`threading` / `asyncio`)     | warden                    |
//! |--------------------------------------|---------------------------|
//! | `Lock`                               | [`Lock<T>`](Lock)         |
//! | `RLock`                              | [`RLock<T>`](RLock)       |
//! | `Semaphore`                          | [`Semaphore`]             |
//! | `BoundedSemaphore`                   | [`BoundedSemaphore`]      |
//! | `Event`                              | [`Event`]                 |
//! | `Condition`                          | [`Condition`]             |
//! | `Barrier`                            | [`Barrier`]               |
//! | (none: a `Lock`, or a package)       | [`RwLock<T>`](RwLock)     |
//!
//! Every wait is an `async fn` and **cancel safe**: dropping the future at
//! any point leaves the primitive as if the caller had never waited. So
//! `tokio::time::timeout(d, x.acquire())` is the faithful twin of Python's
//! `acquire(timeout=d)`. A wait future *forgotten* with `mem::forget`
//! (safe Rust) is never dropped, so never withdrawn: that leaks its place
//! (and whatever it was handed) but is only a leak — no primitive's `Drop`
//! panics because of it. Every wait also has a blocking twin
//! (`acquire_blocking`, `wait_blocking`, ...) so one primitive can be shared
//! by async tasks and OS threads.
//!
//! ```
//! use std::sync::Arc;
//! use warden::{Event, Lock};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let accounts = Arc::new(Lock::new(vec![100_i64, 100]));
//! let done = Arc::new(Event::new());
//! let transfer = tokio::spawn({
//!     let (accounts, done) = (accounts.clone(), done.clone());
//!     async move {
//!         let mut a = accounts.acquire().await; // `with lock:`
//!         a[0] -= 30;
//!         a[1] += 30;
//!         done.set();
//!     }
//! });
//! done.wait().await;
//! assert_eq!(accounts.acquire().await.iter().sum::<i64>(), 200);
//! # transfer.await.unwrap();
//! # }
//! ```
//!
//! # Blocking twins and runtime workers
//!
//! A blocking twin that would have to wait on a thread that runs async
//! tasks — a tokio runtime worker, or the thread driving a current-thread
//! runtime's `block_on` — panics at the caller's line, naming the async
//! method to use instead; inside `tokio::task::spawn_blocking` and on plain
//! threads it blocks. warden asks tokio which thread it is on
//! (`tokio::runtime::worker_index`), so nothing else panics first, and
//! with `panic = "abort"` warden's message is the one printed.
//!
//! That detection needs the `tokio` feature. Without it warden cannot tell
//! an executor's thread from a plain one: a blocking twin called on a
//! thread that runs async tasks blocks it, stalling every task scheduled
//! there. Call the blocking twins only from threads of your own.
//!
//! # Features
//!
//! * **`tokio`** (default): the `*_timeout` waits (timed by tokio's clock:
//!   `Condition::wait_timeout`, `Condition::wait_for_timeout`,
//!   `Barrier::wait_timeout`), [`RLock`] ownership per tokio task, and
//!   the blocking twins' refusal on a runtime worker. Every wait without a
//!   timeout needs no runtime at all: with `default-features = false`,
//!   `Lock`, `RLock` (owned by threads), `Semaphore`, `BoundedSemaphore`,
//!   `Event`, `Condition` and `Barrier` run on any executor — smol,
//!   `futures::executor`, an embedded `block_on` — and their blocking twins
//!   on any thread. (Without the feature, time a wait out with your
//!   executor's timer: every wait is cancel safe.)
//!
//! * **`tracing`** (off): `warden::debug` — contention and long-hold
//!   events through the `tracing` crate, a hang report (`debug::dump()`),
//!   lock-order checking and a self-deadlock warning. Every primitive's
//!   `named(..)` exists in every build; the name is kept only with this
//!   feature, which costs nothing when off. Implies `tokio` (its clock).
//!
//! # When to use `std::sync` instead
//!
//! A critical section that never `.await`s and is shared only by tasks is
//! cheaper under [`std::sync::Mutex`]. Reach for warden when the guard is
//! held across `.await`, when you need Python's semantics (a `Condition`
//! shared by several waits, a `Barrier` with an action, a `BoundedSemaphore`
//! that refuses over-release), or when tasks and threads share a primitive.
//!
//! # Guarantees
//!
//! * **Cancel safe**: every wait (above).
//! * **No waiter starves**: each primitive's *Fairness* section states its
//!   policy ([`Lock`] lets running tasks overtake a woken waiter at most
//!   32 times; every other primitive serves its waiters strictly in order).
//! * **Wakers may re-enter**: a waker is cloned, woken and dropped outside
//!   every internal lock, so a waker that calls back into the primitive —
//!   it owns a permit, or its `clone` sets the event — cannot deadlock it.
//! * **A leaked wait is only a leak**: no `Drop` panics.
//! * **No poisoning**: a guard dropped while a panic unwinds releases, as
//!   Python's `with` block does on an exception.
//!
//! Each is a test before it is a sentence: the repository's
//! `RELIABILITY.md` names the tests (hand-polled futures, stress and
//! cancellation storms, loom models of every state machine) behind each.
//!
//! [`threading`]: https://docs.python.org/3/library/threading.html

#![doc(test(attr(deny(warnings))))]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg_attr(warden_model, allow(dead_code, unused_imports))]
// `warden-model` compiles these sources a second time, under loom; its
// doctests would be these again, against loom's types (which only work
// inside a model): rustdoc collects none there (`doctest = false` in its
// manifest does not stop `cargo test --doc`).
#![cfg(not(all(warden_model, doctest)))]

// `RLock` keeps its owner (a tokio task id, a `u64`) in one atomic word; a
// narrower word could make two owners look alike, so say it plainly here
// instead of failing deep inside.
#[cfg(not(target_has_atomic = "64"))]
compile_error!(
    "warden needs 64-bit atomics (`AtomicU64`): `RLock` keeps its owner, \
     a tokio task id, in one"
);

/// Declares a `const fn` that is a plain `fn` in the loom model (loom's
/// atomics and mutexes cannot be built in const context).
macro_rules! const_fn {
    ($(#[$attr:meta])* $vis:vis const fn $($rest:tt)*) => {
        #[cfg(not(warden_model))]
        $(#[$attr])* $vis const fn $($rest)*
        #[cfg(warden_model)]
        $(#[$attr])* $vis fn $($rest)*
    };
}

mod barrier;
mod blocking;
mod bound_condition;
mod bounded_semaphore;
mod condition;
#[cfg(feature = "tracing")]
#[cfg_attr(docsrs, doc(cfg(feature = "tracing")))]
pub mod debug;
#[cfg(feature = "postgres")]
pub mod dist;
mod error;
mod event;
mod lock;
mod owner;
mod raw;
mod rlock;
mod rwlock;
mod semaphore;
mod sync;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use barrier::{Barrier, BarrierWaitResult};
pub use bound_condition::BoundCondition;
pub use bounded_semaphore::BoundedSemaphore;
pub use condition::{Condition, ConditionGuard};
pub use error::{BrokenBarrierError, TooManyReleases};
pub use event::Event;
pub use lock::{Lock, LockGuard, OwnedLockGuard};
pub use rlock::{RLock, RLockGuard};
pub use rwlock::{
    OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock, RwLockReadGuard, RwLockWriteGuard,
};
pub use semaphore::{OwnedSemaphorePermit, Semaphore, SemaphorePermit};
#[doc(inline)]
pub use warden_macros::guarded;

/// The named futures returned by warden's `async` methods.
pub mod futures {
    pub use crate::barrier::BarrierWait;
    #[cfg(feature = "tokio")]
    pub use crate::barrier::BarrierWaitTimeout;
    pub use crate::condition::{ConditionWait, ConditionWaitFor};
    #[cfg(feature = "tokio")]
    pub use crate::condition::{ConditionWaitForTimeout, ConditionWaitTimeout};
    pub use crate::event::EventWait;
    pub use crate::lock::{LockAcquire, LockAcquireOwned};
    pub use crate::rlock::RLockAcquire;
    pub use crate::rwlock::{RwLockRead, RwLockReadOwned, RwLockWrite, RwLockWriteOwned};
    pub use crate::semaphore::{SemaphoreAcquire, SemaphoreAcquireOwned};
}
