//! The lock under `Lock`: one word of state, a wait queue allocated on first
//! contention, FIFO wake-ups and bounded barging.
//!
//! # State
//!
//! ```text
//! state: usize = overtakes << 3 | WOKEN | QUEUED | LOCKED
//!                ^^^^^^^^^        ^^^^^   ^^^^^^   ^^^^^^ bit 0: held
//!                |                |       bit 1: someone waits in `queue`
//!                |                bit 2: the first waiter has been woken
//!                |                       and has not looked yet
//!                bits 3..: how often the first waiter was overtaken
//! ```
//!
//! * **Fast paths.** Uncontended, acquiring is one compare-exchange from 0
//!   to `LOCKED` (Acquire) and releasing one from `LOCKED` to 0 (Release).
//!   With `WOKEN` set, releasing is still one compare-exchange (clearing
//!   `LOCKED`): the first waiter is already on its way, there is nobody to
//!   wake. Only a release with waiters and no one woken takes the mutex.
//! * **`QUEUED` and `WOKEN` change only under the queue's mutex.** Outside
//!   it, the only writes to `state` set `LOCKED` on a free lock (a taker,
//!   counting an overtake if someone waits) or clear it (the holder). So
//!   whoever holds both the lock and the mutex may `store` the state
//!   outright; everyone else uses compare-exchange.
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
//! Barging is bounded, and the bound is kept where the barging happens, not
//! by the waiter (which may never get to run: a task that releases and
//! re-acquires in a loop without yielding keeps it off the CPU). Every
//! acquire that takes a free lock while someone waits counts one *overtake*
//! in `state`, in the same compare-exchange that takes the lock; the release
//! that ends the [`HAND_OFF_AFTER`]-th overtake hands the lock to the first
//! waiter directly (it never becomes free, so nobody can barge again), and
//! so does the release after a woken waiter looked and found the lock taken
//! that often. A count, not a timeout as in Go's `sync.Mutex`, so the
//! bound is exact and tests can check it.
//!
//! Invariants, kept under the mutex:
//!
//! * The lock free with waiters queued ⇒ `WOKEN` (the first waiter will
//!   look, or passes the wake-up on if it is dropped).
//! * The lock free ⇒ fewer than [`HAND_OFF_AFTER`] overtakes (the release
//!   that would free it with that many hands it over instead).
//! * Overtakes are counted only while someone waits; they go back to 0
//!   when the first waiter takes the lock or the queue empties.

use std::num::NonZeroU64;
use std::task::{Context, Poll};

use super::lazy::LazyList;
use super::list::{Key, Sleeper, WaitList, poll_registered};
use super::park::park_until;
use crate::sync::{AtomicUsize, Ordering};

const LOCKED: usize = 1;
const QUEUED: usize = 2;
const WOKEN: usize = 4;
/// One overtake of the first waiter, in `state`'s count (bits 3..).
const OVERTAKE: usize = 8;
/// The overtake count's bits.
const OVERTAKES: usize = !(OVERTAKE - 1);

/// How many times the first waiter can be overtaken (a running task takes
/// the lock it was woken for) before the lock is handed to it: `Lock`'s
/// documented bound. Chosen by measurement (`lock_contended`; the book's
/// Performance appendix has the curve): tasks that re-acquire in a tight
/// loop pay one task switch per `HAND_OFF_AFTER + 1` contended
/// acquisitions, so with 1 a contended `Lock` was 1.6–2.5× the fastest
/// non-spinning peer at 8 and 64 tasks, with 8 still 1.2–1.35× at 8 tasks,
/// and with 32 below every one of them; 128 bought nothing more.
#[cfg(not(warden_model))]
pub(crate) const HAND_OFF_AFTER: usize = 32;
/// Under loom: the state machine is the same for every bound of 2 or more,
/// and a small one keeps the starvation model's schedules few enough to
/// explore them all.
#[cfg(warden_model)]
pub(crate) const HAND_OFF_AFTER: usize = 2;

type Queue = WaitList<()>;

pub(crate) struct RawLock {
    state: AtomicUsize,
    queue: LazyList<()>,
}

/// The overtakes counted in `s`.
#[inline]
fn overtakes(s: usize) -> usize {
    s >> OVERTAKE.trailing_zeros()
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

    /// This lock's identity, the same wherever the lock moves (see
    /// [`LazyList::id`]); allocates the queue on first use.
    pub(crate) fn id(&self) -> NonZeroU64 {
        self.queue.id()
    }

    /// Waiter records still allocated (queued, or handed the lock but not
    /// yet picked it up). Zero when idle: tests use it to prove nothing
    /// leaks.
    #[cfg(any(feature = "__introspection", warden_model))]
    pub(crate) fn waiter_records(&self) -> usize {
        self.queue.waiter_records()
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

    /// Takes a free lock that has waiters (`QUEUED` set), counting the
    /// overtake: the one write to `state` allowed without the mutex.
    #[cold]
    fn barge(&self, mut s: usize) -> bool {
        while s & LOCKED == 0 {
            match self.state.compare_exchange_weak(
                s,
                taken(s),
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
        // With the first waiter already woken and not yet due, freeing the
        // lock is all there is to do; otherwise someone must be woken or
        // handed the lock, under the mutex.
        while s & QUEUED == 0 || (s & WOKEN != 0 && overtakes(s) < HAND_OFF_AFTER) {
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
        self.release_locked(&mut q);
    }

    /// Release under the queue mutex, by the holder (nobody else can write
    /// `state` meanwhile: the lock is held and so is the mutex). Whom to
    /// wake is woken when the mutex is released.
    fn release_locked(&self, q: &mut Queue) {
        let s = self.state.load(Ordering::Relaxed);
        let Some(first) = q.front() else {
            // The last waiter left since the caller looked (`QUEUED` is
            // clear): a plain unlock.
            self.state.store(0, Ordering::Release);
            return;
        };
        if overtakes(s) >= HAND_OFF_AFTER {
            // Hand over: the lock stays held, now by `first`, which learns
            // it under this mutex (that is the happens-before edge).
            q.notify(first);
            let queued = if q.is_empty() { 0 } else { QUEUED };
            self.state.store(LOCKED | queued, Ordering::Relaxed);
            return;
        }
        self.state
            .store(QUEUED | WOKEN | (s & OVERTAKES), Ordering::Release);
        if s & WOKEN == 0 {
            q.wake(first);
        } // else already on its way: one wake-up is enough.
    }

    /// Called when `try_acquire` failed: takes the lock if it is free after
    /// all (returns `None`), else queues the caller and returns its key.
    /// `wake` was made before the mutex is taken.
    #[cold]
    pub(crate) fn enqueue(&self, wake: Sleeper) -> Option<Key> {
        let mut q = self.queue.lock();
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            let (new, order) = if s & LOCKED == 0 {
                (taken(s), Ordering::Acquire)
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
                Ok(_) if s & LOCKED == 0 => {
                    drop(q);
                    drop(wake); // not needed: dropped outside the mutex
                    return None;
                }
                Ok(_) => break,
                Err(actual) => s = actual,
            }
        }
        Some(q.push_back((), wake))
    }

    /// Tries to take the lock for the queued waiter `key`: `true` if it
    /// now holds it (handed over, or first in line and the lock free) and
    /// `key` is freed; otherwise the caller must register how to wake it.
    fn take_for_waiter(&self, q: &mut Queue, key: Key) -> bool {
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
                // Free (so `WOKEN` is set, and it is our wake-up): take it,
                // and the overtakes that were counted against us are over.
                match self.state.compare_exchange_weak(
                    s,
                    (s | LOCKED) & !(WOKEN | OVERTAKES),
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
                // Woken, but someone took the lock first (and counted it).
                // A compare-exchange, not a plain clear: if the holder frees
                // the lock meanwhile, we must see it and take it (nobody
                // else would wake us). With `WOKEN` clear, the holder's
                // release comes to the mutex: it wakes us again, or hands
                // us the lock once we are due.
                match self.state.compare_exchange_weak(
                    s,
                    s & !WOKEN,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => return false,
                    Err(actual) => s = actual,
                }
            } else {
                // Polled without a wake-up; the holder's release will wake us.
                return false;
            }
        }
    }

    /// Polls for the lock on behalf of a future whose waiter record is
    /// `key` (`None` before it queues). `Ready` means the lock is the
    /// caller's and `key` is `None` again.
    pub(crate) fn poll_acquire(&self, key: &mut Option<Key>, cx: &mut Context<'_>) -> Poll<()> {
        let Some(k) = *key else {
            // Callers try their inlined fast path first; `enqueue` tries
            // once more under the mutex, so no retry here.
            *key = self.enqueue(Sleeper::task(cx.waker()));
            return if key.is_none() {
                Poll::Ready(())
            } else {
                Poll::Pending
            };
        };
        let ready = poll_registered(
            || self.queue.lock(),
            |q| q,
            k,
            cx.waker(),
            |q| {
                if self.take_for_waiter(q, k) {
                    Poll::Ready(())
                } else {
                    Poll::Pending
                }
            },
        );
        if ready.is_ready() {
            *key = None;
        }
        ready
    }

    /// For a dropped future whose waiter record is `key`: withdraws it (see
    /// [`cancel`](Self::cancel)) if it is queued.
    #[inline]
    pub(crate) fn withdraw(&self, key: &mut Option<Key>) {
        if let Some(key) = key.take() {
            self.cancel(key);
        }
    }

    /// Withdraws the waiter `key` (its future was dropped): releases the
    /// lock if it had been handed over, passes its wake-up on if it was
    /// woken to take a free lock.
    #[cold]
    fn cancel(&self, key: Key) {
        let mut q = self.queue.lock();
        let linked = q.is_linked(key);
        let was_first = q.front() == Some(key);
        q.remove(key);
        if !linked {
            self.release_locked(&mut q);
        } else if q.is_empty() {
            // Others may set or clear `LOCKED` meanwhile; the rest is ours.
            self.state
                .fetch_and(!(QUEUED | WOKEN | OVERTAKES), Ordering::Relaxed);
        } else if was_first && self.state.load(Ordering::Relaxed) & WOKEN != 0 {
            // It had been woken and not looked yet: the new first waiter
            // takes over that wake-up (`WOKEN` stays set, now for it, and
            // so do the overtakes counted: the bound only gets tighter).
            let first = q.front().expect("checked non-empty");
            q.wake(first);
        }
    }

    /// Waits for the lock on this thread.
    #[track_caller]
    pub(crate) fn acquire_blocking(&self, twin: &crate::blocking::Twin) {
        if self.try_acquire() {
            return;
        }
        crate::blocking::assert_may_block(twin);
        let Some(key) = self.enqueue(Sleeper::current_thread()) else {
            return;
        };
        park_until(None, |_, _| {
            let mut q = self.queue.lock();
            if self.take_for_waiter(&mut q, key) {
                Some(())
            } else {
                // Woken, but overtaken: park again until the hand-off.
                q.set_wake(key, Sleeper::current_thread());
                None
            }
        });
    }
}

/// The state after taking the free lock `s`: held, and one more overtake
/// of the first waiter if anyone waits.
#[inline]
fn taken(s: usize) -> usize {
    if s & QUEUED == 0 {
        s | LOCKED
    } else {
        (s | LOCKED) + OVERTAKE
    }
}

// No `Drop`: a lock dropped with waiter records (their futures forgotten
// with `mem::forget`, which is safe) just frees them with its queue; a
// leaked wait is only a leak.
