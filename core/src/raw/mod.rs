//! The untyped machinery every primitive shares: the wait list, the lazily
//! allocated queue, the lock and the fair semaphore. Generic code (`Lock<T>`)
//! only wraps it, so it is compiled once.
//!
//! # Design
//!
//! * **State first.** `Semaphore`, `BoundedSemaphore` and `RLock` share one
//!   fair semaphore core (`raw::semaphore`): one atomic word holding the
//!   free permits and a "queued" bit, and a wait queue allocated on first
//!   contention. `Lock` has its own core of the same shape (`raw::lock`):
//!   "locked", "queued" and "first waiter woken" bits. `RwLock`
//!   (`raw::rwlock`) is the fair semaphore again, a reader taking one
//!   permit and a writer all of them. `Lock<()>`, `RwLock<()>`,
//!   `Semaphore` and `Event` are two words. The uncontended acquire and
//!   release are one compare-exchange each.
//! * **No starvation.** A semaphore's released permit goes straight to the
//!   first waiter; nothing overtakes a waiter. A released `Lock` wakes its
//!   first waiter; a running task may take it once before that waiter runs,
//!   and the release that ends that overtaking hands it to the waiter —
//!   counted where the overtaking happens, so a task looping without
//!   yielding cannot starve it (see `Lock`'s Fairness). An `RwLock`
//!   serves its waiters in arrival order, admitting a run of readers
//!   together.
//! * **Wakers are foreign code.** A waker is cloned, woken and dropped
//!   outside every internal lock (the shared wait list defers those to the
//!   moment its mutex is released), so a waker that calls back into the
//!   primitive — it owns a permit, or its `clone` sets the event — cannot
//!   deadlock it.
//! * **Cancel safety by ownership.** Each waiter owns one record in its
//!   primitive's queue. A notifier marks the record and wakes it; only the
//!   owner frees it. A waiter dropped after being notified therefore always
//!   knows it, and passes the permit / notification on.
//!
//! # Model checking: loom
//!
//! The `warden-model` workspace package compiles these very sources a
//! second time with `cfg(warden_model)`, which makes `crate::sync` hand out
//! loom's atomics, mutexes and threads. Its tests explore every
//! interleaving (within loom's bounds) of each primitive's state machine:
//! acquire/release races, a `Lock` barged past its woken waiter,
//! cancellation while queued and after being
//! granted, `set`-then-`clear`, `notify(n)` against cancellation, barrier
//! withdrawal against tripping, `RwLock` readers against writers and
//! `downgrade`. They run under plain `cargo test`.
//!
//! We chose **loom** over shuttle because these state machines are small
//! (one word plus a mutex-protected queue): loom's exhaustive search
//! (bounded preemptions) proves the 2–3-thread cases for every schedule,
//! where shuttle would sample them. Compiling the model as its own package
//! (rather than `--cfg loom` on this one) keeps it inside the one test
//! command and away from tokio's own `cfg(loom)` code.
//!

pub(crate) mod lazy;
pub(crate) mod list;
pub(crate) mod lock;
pub(crate) mod park;
pub(crate) mod rwlock;
pub(crate) mod semaphore;
