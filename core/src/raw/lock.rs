//! The lock under `Lock`: one word of state, a wait queue allocated on first
//! contention, FIFO wake-ups and bounded barging.
//!
//! # State
//!
//! ```text
//! state: usize = WOKEN | QUEUED | LOCKED
//!                ^^^^^   ^^^^^^   ^^^^^^ bit 0: held
//!                |       bit 1: someone waits in `queue`
//!                bit 2: the first waiter has been woken and not yet looked
//! ```
//!
//! * **Fast paths.** Uncontended, acquiring is one compare-exchange from 0
//!   to `LOCKED` (Acquire) and releasing one from `LOCKED` to 0 (Release).
//!   With `WOKEN` set, releasing is still one compare-exchange (clearing
//!   `LOCKED`): the first waiter is already on its way, there is nobody to
//!   wake. Only a release with waiters and no one woken takes the mutex.
//! * **`QUEUED` and `WOKEN` change only under the queue's mutex.** Outside
//!   it, the only writes to `state` set `LOCKED` on a free lock (a taker)
//!   or clear it (the holder). So whoever holds both the lock and the mutex
//!   may `store` the state outright; everyone else uses compare-exchange.
//!
//! # Policy
//!
//! Waiters queue FIFO and only the first is ever woken. A release with
//! waiters does not hand the lock over: it frees it and wakes the first
//! waiter, which takes it when it runs unless someone took it meanwhile
//! (a *barging* acquire — typically the task that just released it, still
//! running, asking again). Letting the running task go on instead of
//! switching to the waiter is what makes a contended lock fast.
//!
//! Barging is bounded: a woken waiter that finds the lock taken is
//! *overtaken*, and once overtaken [`HAND_OFF_AFTER`] times it is handed the
//! lock directly by the next release (the lock never becomes free, so no
//! one can barge). A count, not a timeout as in Go's `sync.Mutex`, so the
//! bound is exact and tests can check it.
//!
//! Invariants, kept under the mutex:
//!
//! * The lock free with waiters queued ⇒ `WOKEN` (the first waiter will
//!   look, or passes the wake-up on if it is dropped).
//! * The first waiter due a hand-off ⇒ the lock is held and `WOKEN` is
//!   clear (so its holder's release takes the mutex and hands it over).

use std::task::{Context, Poll};

use super::lazy::LazyList;
use super::list::{NOT_QUEUED, WaitList, Wake};
use crate::sync::{AtomicUsize, Ordering};

const LOCKED: usize = 1;
const QUEUED: usize = 2;
const WOKEN: usize = 4;

/// How many times a woken waiter can find the lock taken before it is
/// handed the lock at the next release. 1: the first time. (Larger values
/// measured no faster in `benches`' `lock_contended` and weaken the bound.)
pub(crate) const HAND_OFF_AFTER: u32 = 1;

/// A waiter's standing in the queue. Handed the lock = unlinked; woken =
/// first in line with `WOKEN` set.
#[derive(Default)]
struct Waiter {
    /// Times it was woken and found the lock taken.
    overtaken: u32,
}

type Queue = WaitList<Waiter>;

pub(crate) struct RawLock {
    state: AtomicUsize,
    queue: LazyList<Waiter>,
}

impl RawLock {
    const_fn! {
        pub(crate) const fn new() -> Self {
            Self {
                state: AtomicUsize::new(0),
                queue: LazyList::new(),
            }
        }
    }

    /// Whether the lock is held (it may be free while a woken waiter is on
    /// its way to take it).
    pub(crate) fn is_locked(&self) -> bool {
        self.state.load(Ordering::Acquire) & LOCKED != 0
    }

    /// Waiter records still allocated (queued, or handed the lock but not
    /// yet picked it up). Zero when idle: tests use it to prove nothing
    /// leaks.
    #[cfg(any(feature = "__introspection", warden_model))]
    pub(crate) fn records(&self) -> usize {
        self.queue.records()
    }

    /// Takes the lock if it is free, queued waiters or not.
    #[inline]
    pub(crate) fn try_acquire(&self) -> bool {
        match self
            .state
            .compare_exchange(0, LOCKED, Ordering::Acquire, Ordering::Relaxed)
        {
            Ok(_) => true,
            Err(s) => s & LOCKED == 0 && self.barge(s),
        }
    }

    /// Takes a free lock that has waiters (`QUEUED` set): the one write to
    /// `state` allowed without the mutex.
    #[cold]
    fn barge(&self, mut s: usize) -> bool {
        while s & LOCKED == 0 {
            match self.state.compare_exchange_weak(
                s,
                s | LOCKED,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(actual) => s = actual,
            }
        }
        false
    }

    /// Releases the lock; with waiters, frees it for the first (or hands
    /// it over, if that one is due).
    #[inline]
    pub(crate) fn release(&self) {
        if let Err(s) = self
            .state
            .compare_exchange(LOCKED, 0, Ordering::Release, Ordering::Relaxed)
        {
            self.release_contended(s);
        }
    }

    #[cold]
    fn release_contended(&self, mut s: usize) {
        // With the first waiter already woken, freeing the lock is all
        // there is to do; otherwise someone must be woken, under the mutex.
        while s & WOKEN != 0 || s & QUEUED == 0 {
            match self.state.compare_exchange_weak(
                s,
                s & !LOCKED,
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => return,
                Err(actual) => s = actual,
            }
        }
        let mut q = self.queue.lock();
        let wake = self.release_locked(&mut q);
        drop(q);
        wake.wake();
    }

    /// Release under the queue mutex, by the holder. Returns whom to wake
    /// once the mutex is released.
    fn release_locked(&self, q: &mut Queue) -> Wake {
        let s = self.state.load(Ordering::Relaxed);
        let Some(first) = q.front() else {
            // The last waiter left since the caller looked (`QUEUED` is
            // clear): a plain unlock.
            self.state.store(0, Ordering::Release);
            return Wake::Idle;
        };
        if q.data(first).overtaken >= HAND_OFF_AFTER {
            // Hand over: the lock stays held, now by `first`, which learns
            // it under this mutex (that is the happens-before edge).
            let wake = q.unlink(first);
            let queued = if q.is_empty() { 0 } else { QUEUED };
            self.state.store(LOCKED | queued, Ordering::Relaxed);
            return wake;
        }
        self.state.store(QUEUED | WOKEN, Ordering::Release);
        if s & WOKEN != 0 {
            // Already on its way: one wake-up is enough.
            Wake::Idle
        } else {
            q.take_wake(first)
        }
    }

    /// Called when `try_acquire` failed: takes the lock if it is free after
    /// all (returns `None`), else queues the caller and returns its key.
    #[cold]
    pub(crate) fn enqueue(&self, wake: Wake) -> Option<usize> {
        let mut q = self.queue.lock();
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            let (new, order) = if s & LOCKED == 0 {
                (s | LOCKED, Ordering::Acquire)
            } else if s & QUEUED == 0 {
                // The holder's release now fails its fast path and waits
                // for this mutex, so it will see us.
                (s | QUEUED, Ordering::Relaxed)
            } else {
                break;
            };
            match self
                .state
                .compare_exchange(s, new, order, Ordering::Relaxed)
            {
                Ok(_) if s & LOCKED == 0 => return None,
                Ok(_) => break,
                Err(actual) => s = actual,
            }
        }
        Some(q.push_back(Waiter::default(), wake))
    }

    /// The queued waiter `key` looks at the lock: `true` if it now holds
    /// it (handed over, or first in line and the lock free) and `key` is
    /// freed; otherwise the caller must register how to wake it.
    fn look(&self, q: &mut Queue, key: usize) -> bool {
        if !q.is_linked(key) {
            q.remove(key);
            return true;
        }
        if q.front() != Some(key) {
            // Polled without being woken: queued waiters go in order, so
            // only the first may take a free lock.
            return false;
        }
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            if s & LOCKED == 0 {
                // Free (so `WOKEN` is set, and it is our wake-up): take it.
                match self.state.compare_exchange_weak(
                    s,
                    (s | LOCKED) & !WOKEN,
                    Ordering::Acquire,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        q.remove(key);
                        if q.is_empty() {
                            // We hold the lock and the mutex: ours to write.
                            self.state.store(LOCKED, Ordering::Relaxed);
                        }
                        return true;
                    }
                    Err(actual) => s = actual,
                }
            } else if s & WOKEN != 0 {
                // Woken, but someone took the lock first. A compare-exchange,
                // not a plain clear: if the holder frees the lock meanwhile,
                // we must see it and take it (nobody else would wake us).
                match self.state.compare_exchange_weak(
                    s,
                    s & !WOKEN,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        let waiter = q.data_mut(key);
                        waiter.overtaken = waiter.overtaken.saturating_add(1);
                        return false;
                    }
                    Err(actual) => s = actual,
                }
            } else {
                // Polled without a wake-up; the holder's release will wake us.
                return false;
            }
        }
    }

    /// Polls for the lock on behalf of a future whose waiter record is
    /// `key` ([`NOT_QUEUED`] before it queues). `Ready` means the lock is
    /// the caller's and `key` is `NOT_QUEUED` again.
    pub(crate) fn poll_acquire(&self, key: &mut usize, cx: &mut Context<'_>) -> Poll<()> {
        if *key == NOT_QUEUED {
            // Callers try their inlined fast path first; `enqueue` tries
            // once more under the mutex, so no retry here.
            return match self.enqueue(Wake::Task(cx.waker().clone())) {
                None => Poll::Ready(()),
                Some(k) => {
                    debug_assert_ne!(k, NOT_QUEUED, "a waiter key is a slot index");
                    *key = k;
                    Poll::Pending
                }
            };
        }
        let mut q = self.queue.lock();
        if self.look(&mut q, *key) {
            *key = NOT_QUEUED;
            Poll::Ready(())
        } else {
            q.set_waker(*key, cx.waker());
            Poll::Pending
        }
    }

    /// For a dropped future whose waiter record is `key`: withdraws it (see
    /// [`cancel`](Self::cancel)) if it is queued.
    #[inline]
    pub(crate) fn withdraw(&self, key: &mut usize) {
        let key = std::mem::replace(key, NOT_QUEUED);
        if key != NOT_QUEUED {
            self.cancel(key);
        }
    }

    /// Withdraws the waiter `key` (its future was dropped): releases the
    /// lock if it had been handed over, passes its wake-up on if it was
    /// woken to take a free lock.
    #[cold]
    pub(crate) fn cancel(&self, key: usize) {
        let mut q = self.queue.lock();
        let linked = q.is_linked(key);
        let was_first = q.front() == Some(key);
        q.remove(key);
        let wake = if !linked {
            self.release_locked(&mut q)
        } else if q.is_empty() {
            // Others may set or clear `LOCKED` meanwhile; the rest is ours.
            self.state.fetch_and(!(QUEUED | WOKEN), Ordering::Relaxed);
            Wake::Idle
        } else if was_first && self.state.load(Ordering::Relaxed) & WOKEN != 0 {
            // It had been woken and not looked yet: the new first waiter
            // takes over that wake-up (`WOKEN` stays set, now for it).
            let first = q.front().expect("checked non-empty");
            q.take_wake(first)
        } else {
            Wake::Idle
        };
        drop(q);
        wake.wake();
    }

    /// Waits for the lock on this thread.
    #[track_caller]
    pub(crate) fn acquire_blocking(&self, method: &str) {
        if self.try_acquire() {
            return;
        }
        crate::blocking::assert_may_block(method);
        let Some(key) = self.enqueue(Wake::current_thread()) else {
            return;
        };
        loop {
            crate::sync::park();
            let mut q = self.queue.lock();
            if self.look(&mut q, key) {
                return;
            }
            q.set_wake(key, Wake::current_thread());
        }
    }
}

impl Drop for RawLock {
    fn drop(&mut self) {
        debug_assert!(
            self.queue.records() == 0,
            "a lock dropped with waiters registered"
        );
    }
}
