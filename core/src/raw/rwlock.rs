//! The reader-writer lock under `RwLock`: the fair semaphore of
//! `raw::semaphore` with [`MAX_READERS`] permits, of which a reader takes
//! one and a writer all of them (tokio's `RwLock` is built the same way).
//!
//! # Why a semaphore
//!
//! The semaphore already is what the policy needs, and it is model-checked,
//! cancel-safe and keeps wakers out of its mutex:
//!
//! * **Shared and exclusive.** A reader holds one permit, so up to
//!   [`MAX_READERS`] read at once; a writer holds all of them, so it reads
//!   and writes alone.
//! * **Strict FIFO, so write-preferring and starvation-free.** While anyone
//!   waits (`QUEUED` set) no permit is free and every newcomer queues, so a
//!   reader arriving after a waiting writer waits behind it. Released
//!   permits go to the front of the queue: a writer at the front *collects*
//!   the permits of the readers ahead of it as they leave and is handed the
//!   lock with the last one; a writer's release hands one permit to each of
//!   the readers at the front (all of them up to the next writer, which
//!   starts collecting what is left). Nobody ever overtakes a waiter, so the
//!   bound on overtaking is 0, kept where the release happens: a task that
//!   releases and re-acquires in a loop without yielding queues behind the
//!   waiter it just served on its very next lap.
//! * **Cancel safety.** A waiter dropped while queued gives back what it
//!   collected (a writer's partial collection goes on to the readers behind
//!   it, which can then share the lock with the readers still holding it);
//!   one dropped after being handed the lock releases it to the next.
//!
//! # Why not bounded barging, as `Lock`
//!
//! `Lock` lets running tasks overtake a woken waiter up to 32 times, which
//! keeps a contended mutex out of the convoy where every acquire waits for
//! a task switch. Here the numbers said it was not needed: in the read-mostly
//! benchmarks (`rwlock_read_mostly/{2,8,64}`, one writer and N readers in
//! tight loops on two workers, median of three runs) this strict FIFO
//! lock took 0.61, 0.41 and 0.95 times the time of the fastest peer
//! (maitake-sync, async-lock, async-lock) and 0.19–0.35 times tokio's,
//! and warden's own `Lock` doing the same work (bounded barging, but
//! readers exclude each other) took 0.9, 4.4 and 2.4 times as long. Readers that queue behind
//! a writer are admitted together when it leaves, so a hand-off serves a
//! whole run of them at the cost of one. The figures and the command are in
//! `benches/README.md`.
//!
//! # Memory ordering
//!
//! As the semaphore's: taking permits is an Acquire compare-exchange (or
//! happens under the queue's mutex, after the releaser's Release or its
//! hand-off under the same mutex), so a writer's release *happens before*
//! every later acquisition returns, and every reader's release happens
//! before the next writer's acquisition returns.

use std::task::{Context, Poll};

use super::list::Key;
use super::semaphore::{MAX_PERMITS, RawSemaphore};
use crate::blocking::Twin;

/// The most readers at once: the permits of the semaphore, all of which a
/// writer takes. (Reaching it takes `usize::MAX >> 2` live read guards; a
/// release past it panics, as the semaphore's.)
pub(crate) const MAX_READERS: usize = MAX_PERMITS;

/// Permits a reader takes.
const READ: usize = 1;
/// Permits a writer takes: all of them.
const WRITE: usize = MAX_READERS;

/// The tag the semaphore keeps for `RLock`'s owners; nothing here.
const NO_OWNER: u64 = 0;

pub(crate) struct RawRwLock {
    sem: RawSemaphore,
}

impl RawRwLock {
    const_fn! {
        pub(crate) const fn new() -> Self {
            Self {
                sem: RawSemaphore::new(MAX_READERS),
            }
        }
    }

    /// Takes a read lock if no writer holds the lock and nobody waits.
    #[inline]
    pub(crate) fn try_read(&self) -> bool {
        self.sem.try_acquire(READ)
    }

    /// Takes the write lock if nobody holds the lock and nobody waits.
    #[inline]
    pub(crate) fn try_write(&self) -> bool {
        self.sem.try_acquire(WRITE)
    }

    /// Releases one read lock (to a waiting writer, if this was the last).
    #[inline]
    pub(crate) fn release_read(&self) {
        self.sem.release(READ);
    }

    /// Releases the write lock (to the waiters at the front).
    #[inline]
    pub(crate) fn release_write(&self) {
        self.sem.release(WRITE);
    }

    /// Turns the caller's write lock into a read lock: gives back all but
    /// one permit, which admits the readers at the front of the queue.
    pub(crate) fn downgrade(&self) {
        self.sem.release(WRITE - READ);
    }

    /// Polls for a read lock on behalf of a future whose waiter record is
    /// `key` (`None` before it queues). `Ready` means the read lock is the
    /// caller's and `key` is `None` again.
    pub(crate) fn poll_read(&self, key: &mut Option<Key>, cx: &mut Context<'_>) -> Poll<()> {
        self.sem.poll_acquire(READ, NO_OWNER, key, cx).map(drop)
    }

    /// As [`poll_read`](Self::poll_read), for the write lock.
    pub(crate) fn poll_write(&self, key: &mut Option<Key>, cx: &mut Context<'_>) -> Poll<()> {
        self.sem.poll_acquire(WRITE, NO_OWNER, key, cx).map(drop)
    }

    /// For a dropped future whose waiter record is `key`: withdraws it if
    /// it is queued, passing on what it had collected or been handed.
    #[inline]
    pub(crate) fn withdraw(&self, key: &mut Option<Key>) {
        self.sem.withdraw(key);
    }

    /// Waits for a read lock on this thread.
    #[track_caller]
    pub(crate) fn read_blocking(&self, twin: &Twin) {
        self.sem.acquire_blocking(READ, NO_OWNER, twin);
    }

    /// Waits for the write lock on this thread.
    #[track_caller]
    pub(crate) fn write_blocking(&self, twin: &Twin) {
        self.sem.acquire_blocking(WRITE, NO_OWNER, twin);
    }

    /// Waiter records still allocated (queued, or handed the lock but not
    /// yet picked it up). Zero when idle: tests use it to prove nothing
    /// leaks.
    #[cfg(any(feature = "__introspection", warden_model))]
    pub(crate) fn waiter_records(&self) -> usize {
        self.sem.waiter_records()
    }
}

// No `Drop`: a lock dropped with waiter records (their futures forgotten
// with `mem::forget`, which is safe) just frees them with the semaphore's
// queue; a leaked wait is only a leak.
