//! Mutual-exclusion contenders: one adapter per async mutex, all guarding a
//! `u64` counter, for the contended-throughput group.

use std::future::Future;
use std::sync::Arc;

use tokio::runtime::Runtime;

/// An async lock around a `u64` counter.
pub trait CounterLock: Send + Sync + 'static {
    /// The criterion function id of this contender.
    const NAME: &'static str;

    /// Whether `poll` may spin before it queues (reported separately: a
    /// spinning lock burns a worker while a guard is held across `.await`).
    const SPINS: bool = false;

    /// A fresh lock holding 0.
    fn new() -> Self;

    /// Takes the lock, adds one, releases it; returns the value written.
    fn increment(&self) -> impl Future<Output = u64> + Send;

    /// As [`increment`](CounterLock::increment), but yields to the
    /// scheduler while holding the lock, so every other task that polls
    /// meanwhile must queue and every release is a hand-off.
    fn increment_yielding(&self) -> impl Future<Output = u64> + Send;
}

impl CounterLock for warden::Lock<u64> {
    const NAME: &'static str = "warden";
    fn new() -> Self {
        warden::Lock::new(0)
    }
    async fn increment(&self) -> u64 {
        let mut guard = self.acquire().await;
        *guard += 1;
        *guard
    }
    async fn increment_yielding(&self) -> u64 {
        let mut guard = self.acquire().await;
        tokio::task::yield_now().await;
        *guard += 1;
        *guard
    }
}

impl CounterLock for tokio::sync::Mutex<u64> {
    const NAME: &'static str = "tokio";
    fn new() -> Self {
        tokio::sync::Mutex::new(0)
    }
    async fn increment(&self) -> u64 {
        let mut guard = self.lock().await;
        *guard += 1;
        *guard
    }
    async fn increment_yielding(&self) -> u64 {
        let mut guard = self.lock().await;
        tokio::task::yield_now().await;
        *guard += 1;
        *guard
    }
}

impl CounterLock for async_lock::Mutex<u64> {
    const NAME: &'static str = "async-lock";
    fn new() -> Self {
        async_lock::Mutex::new(0)
    }
    async fn increment(&self) -> u64 {
        let mut guard = self.lock().await;
        *guard += 1;
        *guard
    }
    async fn increment_yielding(&self) -> u64 {
        let mut guard = self.lock().await;
        tokio::task::yield_now().await;
        *guard += 1;
        *guard
    }
}

// saa's guard is a `lock_api` guard; clippy takes it for a blocking one.
#[allow(clippy::await_holding_lock)]
impl CounterLock for saa::Mutex<u64> {
    const NAME: &'static str = "saa";
    const SPINS: bool = true;
    fn new() -> Self {
        saa::Mutex::new(0)
    }
    async fn increment(&self) -> u64 {
        let mut guard = saa::lock_async(self).await;
        *guard += 1;
        *guard
    }
    async fn increment_yielding(&self) -> u64 {
        let mut guard = saa::lock_async(self).await;
        tokio::task::yield_now().await;
        *guard += 1;
        *guard
    }
}

/// `futures_intrusive::sync::Mutex` in fair mode (FIFO hand-off, as warden).
pub struct IntrusiveFair(pub futures_intrusive::sync::Mutex<u64>);

/// `futures_intrusive::sync::Mutex` in unfair mode (a newcomer may barge).
pub struct IntrusiveUnfair(pub futures_intrusive::sync::Mutex<u64>);

impl CounterLock for IntrusiveFair {
    const NAME: &'static str = "futures-intrusive";
    fn new() -> Self {
        Self(futures_intrusive::sync::Mutex::new(0, true))
    }
    async fn increment(&self) -> u64 {
        let mut guard = self.0.lock().await;
        *guard += 1;
        *guard
    }
    async fn increment_yielding(&self) -> u64 {
        let mut guard = self.0.lock().await;
        tokio::task::yield_now().await;
        *guard += 1;
        *guard
    }
}

impl CounterLock for IntrusiveUnfair {
    const NAME: &'static str = "futures-intrusive-unfair";
    fn new() -> Self {
        Self(futures_intrusive::sync::Mutex::new(0, false))
    }
    async fn increment(&self) -> u64 {
        let mut guard = self.0.lock().await;
        *guard += 1;
        *guard
    }
    async fn increment_yielding(&self) -> u64 {
        let mut guard = self.0.lock().await;
        tokio::task::yield_now().await;
        *guard += 1;
        *guard
    }
}

impl CounterLock for maitake_sync::Mutex<u64> {
    const NAME: &'static str = "maitake-sync";
    fn new() -> Self {
        maitake_sync::Mutex::new(0)
    }
    async fn increment(&self) -> u64 {
        let mut guard = self.lock().await;
        *guard += 1;
        *guard
    }
    async fn increment_yielding(&self) -> u64 {
        let mut guard = self.lock().await;
        tokio::task::yield_now().await;
        *guard += 1;
        *guard
    }
}

impl CounterLock for futures_util::lock::Mutex<u64> {
    const NAME: &'static str = "futures-util";
    fn new() -> Self {
        futures_util::lock::Mutex::new(0)
    }
    async fn increment(&self) -> u64 {
        let mut guard = self.lock().await;
        *guard += 1;
        *guard
    }
    async fn increment_yielding(&self) -> u64 {
        let mut guard = self.lock().await;
        tokio::task::yield_now().await;
        *guard += 1;
        *guard
    }
}

/// The blocking reference: the worker thread itself waits.
impl CounterLock for parking_lot::Mutex<u64> {
    const NAME: &'static str = "parking_lot";
    fn new() -> Self {
        parking_lot::Mutex::new(0)
    }
    fn increment(&self) -> impl Future<Output = u64> + Send {
        // Locked when polled, never held across a suspension point.
        std::future::poll_fn(move |_| {
            let mut guard = self.lock();
            *guard += 1;
            std::task::Poll::Ready(*guard)
        })
    }
    async fn increment_yielding(&self) -> u64 {
        panic!("a parking_lot guard cannot be held across `.await`");
    }
}

/// Increments shared by all tasks in one round of [`contended_round`].
pub const ROUND_OPS: usize = 12_800;

/// One round of the contended group: `tasks` tasks on `rt` share
/// [`ROUND_OPS`] increments of `lock`. With `yield_between`, each task
/// yields to the scheduler after every increment (as a task that does other
/// async work between critical sections); without, it loops tightly, the
/// worst case for a lock that hands itself to the next waiter.
///
/// # Panics
///
/// If an increment was lost (the lock let two tasks in at once).
pub fn contended_round<L: CounterLock>(
    rt: &Runtime,
    lock: &Arc<L>,
    tasks: usize,
    yield_between: bool,
) {
    let per_task = ROUND_OPS / tasks;
    let last = crate::run_tasks(rt, tasks, |_| {
        let lock = Arc::clone(lock);
        async move {
            let mut last = 0;
            for _ in 0..per_task {
                last = lock.increment().await;
                if yield_between {
                    tokio::task::yield_now().await;
                }
            }
            last
        }
    });
    // The counter carries over between rounds: after every round the
    // largest value written is a whole number of rounds.
    let max = last.into_iter().max().expect("at least one task");
    assert_eq!(
        max % (per_task * tasks) as u64,
        0,
        "{}: lost an increment",
        L::NAME
    );
}

/// Increments per task in one round of [`handoff_round`].
pub const HANDOFF_OPS: usize = 1_000;

/// One round of the hand-off group, meant for a current-thread runtime:
/// `tasks` tasks each take the lock [`HANDOFF_OPS`] times and yield while
/// holding it, so each acquire by another task queues and each release
/// wakes a waiter. Deterministic (one thread), it isolates the slow path:
/// enqueue, waker clone, release to a waiter, wake, re-poll.
///
/// # Panics
///
/// If an increment was lost.
pub fn handoff_round<L: CounterLock>(rt: &Runtime, lock: &Arc<L>, tasks: usize) {
    let last = crate::run_tasks(rt, tasks, |_| {
        let lock = Arc::clone(lock);
        async move {
            let mut last = 0;
            for _ in 0..HANDOFF_OPS {
                last = lock.increment_yielding().await;
            }
            last
        }
    });
    let max = last.into_iter().max().expect("at least one task");
    assert_eq!(
        max % (HANDOFF_OPS * tasks) as u64,
        0,
        "{}: lost an increment",
        L::NAME
    );
}
