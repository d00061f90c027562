//! The fair counting semaphore under `Semaphore`, `BoundedSemaphore` and
//! `RLock` (`Lock` has its own core, `raw::lock`, with bounded barging).
//!
//! # State
//!
//! ```text
//! state: usize = permits << 1 | QUEUED
//!                ^^^^^^^        ^^^^^^ bit 0: someone waits in `queue`
//!                bits 1..: permits free for the taking
//! ```
//!
//! * **Fast paths.** With `QUEUED` clear, acquiring is one compare-exchange
//!   that subtracts permits (Acquire on success) and releasing is one
//!   compare-exchange that adds them (Release). No lock, no fence.
//! * **`QUEUED` set ⇒ free permits are 0.** Everything released while tasks
//!   wait is handed straight to the front of the queue, so a newcomer's
//!   fast path (which needs `QUEUED` clear) can never overtake a waiter:
//!   strict FIFO, no starvation, `acquire_many` included.
//! * **`QUEUED` changes only under the queue's mutex**, and while it is set
//!   only the mutex holder writes `state`. Every update made under the
//!   mutex is therefore a plain consequence of the queue's contents.
//!
//! A waiter asking for `n` permits collects them as they are released; its
//! partial collection (`Request::collected`) is counted in `Queue::collected`. When it has
//! all `n` it is unlinked (still owning its slot) and woken; the permits are
//! then its. A waiter dropped while queued gives back what it collected; one
//! dropped after being granted gives back all `n` — either way they go to
//! the next waiter, so cancellation never leaks a permit or a wake-up.

use std::task::{Context, Poll};

use super::lazy::LazyBox;
use super::list::{Defer, Deferred, Key, Locked, Sleeper, WaitList, poll_registered};
use super::park::park_until;
use crate::sync::{AtomicUsize, Mutex, Ordering};

const QUEUED: usize = 1;
const ONE: usize = 1 << 1;

/// The largest number of permits a semaphore can hold.
pub(crate) const MAX_PERMITS: usize = usize::MAX >> 2;

struct Request {
    /// Permits this waiter asked for.
    wanted: usize,
    /// Permits handed to it so far (all of them once it is unlinked).
    collected: usize,
    /// For `RLock`: the word of the owner (task or thread) that queued it,
    /// so the owner's other queued acquires can be found once it holds the
    /// lock; 0 for a semaphore.
    owner: u64,
}

struct Queue {
    list: WaitList<Request>,
    /// Sum of `collected` over waiters still in the FIFO: permits handed
    /// to waiters that are still short of what they asked for, so neither
    /// free nor owned by a finished acquire.
    collected: usize,
    /// For a `BoundedSemaphore`: permits kept with `forget()` and not yet
    /// given back, which is all a manual `release` may return. Kept here,
    /// not in the semaphore, so that neither the semaphore nor its permits
    /// carry a word for it; `forget` is rare enough to take the mutex.
    forgotten: usize,
}

impl Defer for Queue {
    type Work = Deferred;
    #[inline]
    fn take_deferred(&mut self) -> Option<Deferred> {
        self.list.take_deferred()
    }
}

pub(crate) struct RawSemaphore {
    state: AtomicUsize,
    queue: LazyBox<Mutex<Queue>>,
}

impl RawSemaphore {
    const_fn! {
        pub(crate) const fn new(permits: usize) -> Self {
            assert!(
                permits <= MAX_PERMITS,
                "a semaphore holds at most usize::MAX >> 2 permits"
            );
            Self {
                state: AtomicUsize::new(permits << 1),
                queue: LazyBox::new(),
            }
        }
    }

    fn queue(&self) -> Locked<'_, Queue> {
        Locked::new(
            self.queue
                .get_or_init(|| {
                    Mutex::new(Queue {
                        list: WaitList::new(),
                        collected: 0,
                        forgotten: 0,
                    })
                })
                .lock(),
        )
    }

    /// Free permits (0 while anyone waits).
    pub(crate) fn available(&self) -> usize {
        self.state.load(Ordering::Acquire) >> 1
    }

    /// Tasks or threads waiting, without blocking (`None` if the queue is
    /// busy at this instant).
    pub(crate) fn waiters(&self) -> Option<usize> {
        match self.queue.get() {
            None => Some(0),
            Some(q) => q.try_lock().map(|q| q.list.len()),
        }
    }

    /// Waiter records still allocated (queued, or granted but not yet
    /// picked up). Zero when idle: tests use it to prove nothing leaks.
    #[cfg(any(feature = "__introspection", warden_model))]
    pub(crate) fn waiter_records(&self) -> usize {
        self.queue.get().map_or(0, |q| q.lock().list.occupied())
    }

    /// Takes `n` permits if they are free and nobody waits.
    #[inline]
    pub(crate) fn try_acquire(&self, n: usize) -> bool {
        let need = n << 1;
        let mut s = self.state.load(Ordering::Relaxed);
        // `QUEUED` set makes `s < need` or leaves the low bit set, which
        // the subtraction would clear: check it explicitly.
        while s & QUEUED == 0 && s >= need {
            match self.state.compare_exchange_weak(
                s,
                s - need,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(actual) => s = actual,
            }
        }
        false
    }

    /// `try_acquire` for any `n` a caller may pass: 0 always succeeds (it
    /// takes nothing), more than [`MAX_PERMITS`] never does.
    #[inline]
    pub(crate) fn try_acquire_many(&self, n: usize) -> bool {
        n == 0 || (n <= MAX_PERMITS && self.try_acquire(n))
    }

    /// For a semaphore that never holds more than one permit (a lock): a
    /// single compare-exchange from "one free, nobody queued" to "none free".
    /// Any other state means the permit is taken.
    #[inline]
    pub(crate) fn try_acquire_one(&self) -> bool {
        self.state
            .compare_exchange(ONE, 0, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    /// Returns `n` permits: to the waiters first, in order, then to the pool.
    ///
    /// # Panics
    ///
    /// If the semaphore would hold more than [`MAX_PERMITS`].
    #[inline]
    pub(crate) fn release(&self, n: usize) {
        let add = checked_permits(n);
        let mut s = self.state.load(Ordering::Relaxed);
        while s & QUEUED == 0 {
            let new = s
                .checked_add(add)
                .filter(|new| new >> 1 <= MAX_PERMITS)
                .unwrap_or_else(|| too_many_permits(s >> 1, n));
            match self
                .state
                .compare_exchange_weak(s, new, Ordering::Release, Ordering::Relaxed)
            {
                Ok(_) => return,
                Err(actual) => s = actual,
            }
        }
        self.release_slow(n);
    }

    /// Releases the one permit of a lock: "none free, nobody queued" back
    /// to "one free", or a hand-off to the first waiter.
    #[inline]
    pub(crate) fn release_one(&self) {
        if self
            .state
            .compare_exchange(0, ONE, Ordering::Release, Ordering::Relaxed)
            .is_err()
        {
            self.release_slow(1);
        }
    }

    #[cold]
    fn release_slow(&self, n: usize) {
        self.release_locked(&mut self.queue(), n);
    }

    /// Release under the queue mutex (whom it grants permits to is woken
    /// when the mutex is released). `QUEUED` may have been cleared since
    /// the caller looked, so look again.
    fn release_locked(&self, q: &mut Queue, mut n: usize) {
        let mut s = self.state.load(Ordering::Relaxed);
        while s & QUEUED == 0 {
            let new = s
                .checked_add(checked_permits(n))
                .filter(|new| new >> 1 <= MAX_PERMITS)
                .unwrap_or_else(|| too_many_permits(s >> 1, n));
            match self
                .state
                .compare_exchange_weak(s, new, Ordering::Release, Ordering::Relaxed)
            {
                Ok(_) => return,
                Err(actual) => s = actual,
            }
        }
        if q.collected
            .checked_add(n)
            .is_none_or(|total| total > MAX_PERMITS)
        {
            too_many_permits(q.collected, n);
        }
        // `QUEUED` is set and we hold the mutex: `state` is ours to write.
        while n > 0 {
            let Some(key) = q.list.front() else { break };
            let request = q.list.data_mut(key);
            let give = n.min(request.wanted - request.collected);
            request.collected += give;
            n -= give;
            q.collected += give;
            if request.collected == request.wanted {
                q.collected -= request.wanted;
                q.list.notify(key);
            }
        }
        if q.list.is_empty() {
            // Nobody waits any more: clear `QUEUED`, free what is left.
            self.state.store(n << 1, Ordering::Release);
        }
    }

    /// Called when `try_acquire` failed: queues the caller for `n` permits,
    /// taking what is free now. Returns `None` if it got all `n` after all.
    /// `wake` was made before the mutex is taken; `owner` tags the record
    /// (see [`Request::owner`]).
    #[cold]
    pub(crate) fn enqueue(&self, n: usize, owner: u64, wake: Sleeper) -> Option<Key> {
        let mut q = self.queue();
        let mut s = self.state.load(Ordering::Relaxed);
        let got = loop {
            if s & QUEUED != 0 {
                break 0; // free permits are 0 while anyone waits
            }
            let (new, got) = if s >> 1 >= n {
                (s - (n << 1), n)
            } else {
                (QUEUED, s >> 1)
            };
            match self
                .state
                .compare_exchange(s, new, Ordering::Acquire, Ordering::Relaxed)
            {
                Ok(_) if got == n => {
                    drop(q);
                    drop(wake); // not needed: dropped outside the mutex
                    return None;
                }
                Ok(_) => break got,
                Err(actual) => s = actual,
            }
        };
        q.collected += got;
        Some(q.list.push_back(
            Request {
                wanted: n,
                collected: got,
                owner,
            },
            wake,
        ))
    }

    /// Wakes every queued waiter tagged with `owner` (other than the
    /// caller's own record, which is gone by now): for `RLock`, whose owner
    /// just took the lock, so that its other queued acquires — branches of
    /// the same task — re-enter instead of waiting behind it.
    #[cold]
    pub(crate) fn wake_owned_by(&self, owner: u64) {
        let mut q = self.queue();
        let mine: Vec<Key> = q
            .list
            .keys()
            .filter(|&k| q.list.data(k).owner == owner)
            .collect();
        for key in mine {
            q.list.wake(key);
        }
    }

    /// Polls for `n` permits on behalf of a future whose waiter record is
    /// `key` (`None` before it queues), tagged with `owner` (see
    /// [`Request::owner`]). `Ready(n)` means the `n` permits it asked for
    /// are the caller's (once queued, `n` is the record's) and `key` is
    /// `None` again. The one poll path of every acquire future.
    pub(crate) fn poll_acquire(
        &self,
        n: usize,
        owner: u64,
        key: &mut Option<Key>,
        cx: &mut Context<'_>,
    ) -> Poll<usize> {
        let Some(k) = *key else {
            // Callers try their inlined fast path first; `enqueue` tries
            // once more under the mutex, so no retry here.
            *key = self.enqueue(n, owner, Sleeper::task(cx.waker()));
            return if key.is_none() {
                Poll::Ready(n)
            } else {
                Poll::Pending
            };
        };
        let ready = poll_registered(
            || self.queue(),
            |q| &mut q.list,
            k,
            cx.waker(),
            |q| {
                if q.list.is_linked(k) {
                    Poll::Pending
                } else {
                    Poll::Ready(q.list.remove(k).wanted)
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

    /// Records `n` permits kept with `forget()` on a bounded semaphore.
    #[cold]
    pub(crate) fn note_forgotten(&self, n: usize) {
        if n == 0 {
            return;
        }
        let mut q = self.queue();
        q.forgotten = q.forgotten.saturating_add(n);
    }

    /// A bounded semaphore's `release(n)`: gives back `n` forgotten
    /// permits, or returns `false` (changing nothing) if fewer than `n`
    /// were forgotten.
    pub(crate) fn release_forgotten(&self, n: usize) -> bool {
        let mut q = self.queue();
        let Some(left) = q.forgotten.checked_sub(n) else {
            return false;
        };
        q.forgotten = left;
        self.release_locked(&mut q, n);
        true
    }

    /// Withdraws the waiter `key` (its future was dropped), handing back
    /// whatever it had collected — all `n` if it had been granted them.
    #[cold]
    fn cancel(&self, key: Key) {
        let mut q = self.queue();
        let linked = q.list.is_linked(key);
        let request = q.list.remove(key);
        let give_back = if linked {
            q.collected -= request.collected;
            request.collected
        } else {
            request.wanted
        };
        // Even with nothing to give back, a release of 0 clears `QUEUED`
        // if this was the last waiter.
        self.release_locked(&mut q, give_back);
    }

    /// Waits for `n` permits on this thread, as `owner` (see
    /// [`Request::owner`]).
    #[track_caller]
    pub(crate) fn acquire_blocking(&self, n: usize, owner: u64, twin: &crate::blocking::Twin) {
        if self.try_acquire(n) {
            return;
        }
        crate::blocking::assert_may_block(twin);
        let Some(key) = self.enqueue(n, owner, Sleeper::current_thread()) else {
            return;
        };
        park_until(None, |_, _| {
            let mut q = self.queue();
            if q.list.is_linked(key) {
                None
            } else {
                q.list.remove(key);
                Some(())
            }
        });
    }
}

// No `Drop`: a semaphore dropped with waiter records (their futures
// forgotten with `mem::forget`, which is safe) just frees them with its
// queue; a leaked wait is only a leak.

#[inline]
#[track_caller]
fn checked_permits(n: usize) -> usize {
    assert!(
        n <= MAX_PERMITS,
        "releasing {n} permits would exceed the maximum of usize::MAX >> 2 \
         permits a semaphore can hold"
    );
    n << 1
}

#[cold]
#[track_caller]
fn too_many_permits(have: usize, add: usize) -> ! {
    panic!(
        "releasing {add} permits to a semaphore holding {have} would exceed \
         the maximum of usize::MAX >> 2 permits"
    )
}
