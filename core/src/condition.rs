//! [`Condition`]: Python's `threading.Condition` / `asyncio.Condition`.

use std::fmt;
use std::future::Future;
use std::ops::DerefMut;
#[cfg(feature = "tokio")]
use std::panic::Location;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::blocking::Twin;
use crate::lock::{Lock, LockGuard, OwnedLockGuard};
use crate::raw::lazy::LazyList;
use crate::raw::list::{Locked, WaitList, Wake};
use crate::sync::{AtomicU64, Ordering};

/// A wait queue used with a [`Lock`]'s guard: Python's
/// [`threading.Condition`] and [`asyncio.Condition`], shaped like
/// [`std::sync::Condvar`].
///
/// | Python                                  | warden                                        |
/// |-----------------------------------------|-----------------------------------------------|
/// | `cond = threading.Condition(lock)`      | `let cond = Condition::new();` (+ a `Lock<T>`) |
/// | `with cond: cond.wait()`                | `let guard = cond.wait(guard).await;`         |
/// | `cond.wait_for(pred)`                   | `let guard = cond.wait_for(guard, pred).await;` |
/// | `cond.wait(timeout=0.5)`                | `let (guard, notified) = cond.wait_timeout(guard, d).await;` |
/// | `cond.wait_for(pred, timeout=0.5)`      | `let (guard, ok) = cond.wait_for_timeout(guard, d, pred).await;` |
/// | `cond.notify(n)` / `cond.notify_all()`  | `cond.notify(n)` / `cond.notify_all()`        |
///
/// Unlike Python's, a `Condition` does not own its lock: it is used with
/// the guard of one [`Lock`], so several conditions can share one lock —
/// `CPython`'s `queue.Queue` keeps `not_empty` and `not_full` on one mutex,
/// and so can you. Using one `Condition` with two different locks panics.
/// "The same lock" is the lock's identity, not its address: a lock that
/// moves (boxed, returned, in a `Vec` that reallocates) is still the same
/// lock.
///
/// # Notifications
///
/// * `wait` releases the lock while waiting and returns with it held
///   again, only after a notification: there are no spurious wake-ups.
/// * [`notify(n)`](Condition::notify) wakes `n` more of the waiters not yet
///   notified, oldest first (Python's semantics); a notification with no
///   waiter is lost, as in Python.
/// * A waiter that is notified and then cancelled — even while re-taking
///   the lock — passes its notification on to the next waiter.
/// * `notify` does not need the lock (as with `std::sync::Condvar`):
///   waiters re-check their predicate under the lock, so an update made
///   under the lock and then notified cannot be missed. Python raises
///   `RuntimeError` here only because its waiters would otherwise race.
///
/// # Memory ordering
///
/// Everything done under the lock before a `notify` is visible to the
/// waiter it wakes (the waiter re-takes the lock before returning).
///
/// ```
/// use std::collections::VecDeque;
/// use std::sync::Arc;
/// use warden::{Condition, Lock};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let queue = Arc::new((Lock::new(VecDeque::new()), Condition::new()));
/// let consumer = tokio::spawn({
///     let queue = queue.clone();
///     async move {
///         let (lock, not_empty) = &*queue;
///         let mut items = not_empty
///             .wait_for(lock.acquire().await, |q| !q.is_empty())
///             .await;
///         items.pop_front()
///     }
/// });
/// let (lock, not_empty) = &*queue;
/// lock.acquire().await.push_back("job");
/// not_empty.notify_one();
/// assert_eq!(consumer.await.unwrap(), Some("job"));
/// # }
/// ```
///
/// [`threading.Condition`]: https://docs.python.org/3/library/threading.html#condition-objects
/// [`asyncio.Condition`]: https://docs.python.org/3/library/asyncio-sync.html#asyncio.Condition
pub struct Condition {
    /// Waiters not yet notified are linked; `notify` unlinks (marks) them.
    queue: LazyList<()>,
    /// Identity of the lock this condition is used with (`RawLock::id`,
    /// which survives moves, unlike an address); 0 until first use.
    lock_id: AtomicU64,
}

/// A guard that [`Condition`] can wait with: [`LockGuard`] and
/// [`OwnedLockGuard`]. Sealed: warden implements it, you use it.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not the guard of a warden `Lock`",
    label = "a Condition waits with the lock's guard, not the lock",
    note = "take the lock first and pass its guard: `let guard = cond.wait(lock.acquire().await).await;`"
)]
pub trait ConditionGuard: DerefMut + Sized + sealed::Sealed {}

impl<T: ?Sized> ConditionGuard for LockGuard<'_, T> {}
impl<T: ?Sized> ConditionGuard for OwnedLockGuard<T> {}

mod sealed {
    use super::{Arc, Future, Lock, LockGuard, OwnedLockGuard};

    /// How a condition releases and re-takes a guard's lock.
    pub trait Sealed: Sized {
        /// What is left while the lock is released: the way back to it.
        type Unlocked;
        /// Identifies the lock (an identity that survives moves).
        fn lock_id(&self) -> u64;
        /// Releases the lock.
        fn unlock(self) -> Self::Unlocked;
        /// Re-takes the lock.
        fn relock(lock: Self::Unlocked) -> impl Future<Output = Self>;
        /// Re-takes the lock on this thread.
        fn relock_blocking(lock: Self::Unlocked) -> Self;
    }

    impl<'a, T: ?Sized> Sealed for LockGuard<'a, T> {
        type Unlocked = &'a Lock<T>;
        fn lock_id(&self) -> u64 {
            self.lock.raw.id().get()
        }
        fn unlock(self) -> &'a Lock<T> {
            self.lock
        }
        fn relock(lock: &'a Lock<T>) -> impl Future<Output = Self> {
            lock.acquire()
        }
        fn relock_blocking(lock: &'a Lock<T>) -> Self {
            lock.acquire_blocking()
        }
    }

    impl<T: ?Sized> Sealed for OwnedLockGuard<T> {
        type Unlocked = Arc<Lock<T>>;
        fn lock_id(&self) -> u64 {
            self.lock.raw.id().get()
        }
        fn unlock(self) -> Arc<Lock<T>> {
            self.lock.clone()
        }
        fn relock(lock: Arc<Lock<T>>) -> impl Future<Output = Self> {
            lock.acquire_owned()
        }
        fn relock_blocking(lock: Arc<Lock<T>>) -> Self {
            lock.acquire_blocking().forget_release();
            OwnedLockGuard::new(lock)
        }
    }
}

impl Condition {
    const_fn! {
        /// Creates a condition with no waiters, not yet tied to a lock.
        ///
        /// ```
        /// let cond = warden::Condition::new();
        /// cond.notify_all(); // nobody waits: nothing happens
        /// ```
        pub const fn new() -> Condition {
            Condition {
                queue: LazyList::new(),
                lock_id: AtomicU64::new(0),
            }
        }
    }

    fn queue(&self) -> Locked<'_, WaitList<()>> {
        self.queue.lock()
    }

    /// Ties this condition to the guard's lock on first use; panics if it
    /// is already tied to another.
    #[track_caller]
    fn bind(&self, lock_id: u64) {
        if let Err(bound) =
            self.lock_id
                .compare_exchange(0, lock_id, Ordering::Relaxed, Ordering::Relaxed)
        {
            assert!(
                bound == lock_id,
                "this Condition was used with two different locks: a Condition \
                 belongs to the one Lock whose guards it waits with (as Python's \
                 Condition wraps one lock); create a Condition per Lock"
            );
        }
    }

    /// Registers a waiter for the guard's lock. Done *before* the lock is
    /// released, so a notify made under the lock after our caller's check
    /// cannot slip between the check and the wait.
    #[track_caller]
    fn register<G: ConditionGuard>(&self, guard: &G, wake: Wake) -> usize {
        self.bind(guard.lock_id());
        self.queue().push_back((), wake)
    }

    /// Releases the lock, waits for a notification, re-takes the lock.
    /// Behaves as `async fn wait<'a, T>(&self, guard: LockGuard<'a, T>) ->
    /// LockGuard<'a, T>`, and takes an [`OwnedLockGuard`] too.
    ///
    /// The waiter is registered and the lock released **when `wait` is
    /// called**, not at the first poll (as with `std::sync::Condvar`, the
    /// guard is given up at the call): a notification sent between the
    /// call and the first `.await` is not missed.
    ///
    /// # Panics
    ///
    /// If this condition was used before with a different lock.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe in the sense of the contract: dropping the future drops
    /// the guard it was given (so the lock ends up released) and leaves the
    /// condition as if this waiter had never waited; if it had already been
    /// notified — even if it was re-taking the lock — the notification is
    /// passed on to the next waiter.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use std::sync::Arc;
    /// use warden::{Condition, Lock};
    /// let state = Arc::new((Lock::new(false), Condition::new()));
    /// let waiter = tokio::spawn({
    ///     let state = state.clone();
    ///     async move {
    ///         let (lock, cond) = &*state;
    ///         let mut ready = lock.acquire().await;
    ///         while !*ready {
    ///             ready = cond.wait(ready).await;
    ///         }
    ///     }
    /// });
    /// *state.0.acquire().await = true;
    /// state.1.notify_all();
    /// waiter.await.unwrap();
    /// # }
    /// ```
    #[track_caller]
    pub fn wait<G: ConditionGuard>(&self, guard: G) -> impl Future<Output = G> {
        let key = self.register(&guard, Wake::Idle);
        let lock = guard.unlock();
        let notified = Notified {
            cond: self,
            key: Some(key),
        };
        async move {
            notified.await;
            self.relock_passing_on::<G>(lock).await
        }
    }

    /// Re-takes the lock after a notification; if cancelled meanwhile,
    /// passes the notification on.
    async fn relock_passing_on<G: ConditionGuard>(&self, lock: G::Unlocked) -> G {
        let pass_on = PassOn(Some(self));
        let guard = G::relock(lock).await;
        pass_on.disarm();
        guard
    }

    /// Waits until `pred` holds, re-checking it under the lock after each
    /// notification: Python's `wait_for(predicate)`. Checks first, so it
    /// returns at once if `pred` already holds.
    ///
    /// # Panics
    ///
    /// If this condition was used before with a different lock, or if
    /// `pred` panics (the lock is then released as the guard drops, and
    /// the condition stays usable).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`wait`](Condition::wait).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let (lock, cond) = (warden::Lock::new(3), warden::Condition::new());
    /// let g = cond.wait_for(lock.acquire().await, |n| *n > 0).await; // true already
    /// assert_eq!(*g, 3);
    /// # }
    /// ```
    pub async fn wait_for<G: ConditionGuard>(
        &self,
        mut guard: G,
        mut pred: impl FnMut(&mut G::Target) -> bool,
    ) -> G {
        while !pred(&mut *guard) {
            guard = self.wait(guard).await;
        }
        guard
    }

    /// Waits for a notification for at most `timeout`, then re-takes the
    /// lock either way: Python's `wait(timeout)`. Like [`wait`](Condition::wait),
    /// it registers and releases the lock when called. Returns the guard and
    /// `true` if notified, `false` if the time ran out.
    ///
    /// The timeout applies to the notification; re-taking the lock is not
    /// timed (as in Python). Timed by tokio's clock: requires feature
    /// `tokio` and a tokio runtime with time enabled.
    ///
    /// # Panics
    ///
    /// If this condition was used before with a different lock, or (at its
    /// first poll, naming this call's line) outside a tokio runtime with the
    /// time driver.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`wait`](Condition::wait).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use std::time::Duration;
    /// let (lock, cond) = (warden::Lock::new(()), warden::Condition::new());
    /// let (guard, notified) = cond
    ///     .wait_timeout(lock.acquire().await, Duration::from_millis(5))
    ///     .await;
    /// assert!(!notified);
    /// drop(guard);
    /// # }
    /// ```
    #[cfg(feature = "tokio")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    #[track_caller]
    pub fn wait_timeout<G: ConditionGuard>(
        &self,
        guard: G,
        timeout: Duration,
    ) -> impl Future<Output = (G, bool)> {
        let at = Location::caller();
        let key = self.register(&guard, Wake::Idle);
        let lock = guard.unlock();
        let mut notified = Notified {
            cond: self,
            key: Some(key),
        };
        async move {
            crate::blocking::require_runtime("Condition::wait_timeout", at);
            let was_notified = match tokio::time::timeout(timeout, &mut notified).await {
                Ok(()) => true,
                // A notification may have landed as the timer fired: keep it.
                Err(_elapsed) => notified.withdraw(),
            };
            let guard = if was_notified {
                self.relock_passing_on::<G>(lock).await
            } else {
                G::relock(lock).await
            };
            (guard, was_notified)
        }
    }

    /// Waits until `pred` holds, for at most `timeout` in all: Python's
    /// `wait_for(predicate, timeout)`. Checks first; then waits for
    /// notifications, re-checking `pred` under the lock after each, until it
    /// holds or the time is up. Returns the guard (the lock is held again
    /// either way) and the predicate's last value: `false` means it still
    /// did not hold when the time ran out.
    ///
    /// Unlike `tokio::time::timeout(d, cond.wait_for(guard, pred))`, which
    /// drops the guard (and with it the lock) when the time runs out, this
    /// gives the guard back, as Python's `wait_for` returns with the lock
    /// held. Timed by tokio's clock: requires feature `tokio` and a tokio
    /// runtime with time enabled.
    ///
    /// Behaves as `async fn wait_for_timeout(&self, guard, timeout, pred) ->
    /// (G, bool)`.
    ///
    /// # Panics
    ///
    /// If this condition was used before with a different lock, if `pred`
    /// panics (the guard drops, releasing the lock), or (at its first poll,
    /// naming this call's line) outside a tokio runtime with the time
    /// driver.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`wait`](Condition::wait): dropping the future drops
    /// the guard and passes on a notification it had taken.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// use std::time::Duration;
    /// let (lock, cond) = (warden::Lock::new(0), warden::Condition::new());
    /// // Nobody makes it positive: after 50 ms, the guard comes back anyway.
    /// let (mut n, ok) = cond
    ///     .wait_for_timeout(lock.acquire().await, Duration::from_millis(50), |n| *n > 0)
    ///     .await;
    /// assert!(!ok);
    /// *n += 1; // the lock is still ours
    /// # }
    /// ```
    #[cfg(feature = "tokio")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    #[track_caller]
    pub fn wait_for_timeout<G: ConditionGuard>(
        &self,
        guard: G,
        timeout: Duration,
        pred: impl FnMut(&mut G::Target) -> bool,
    ) -> impl Future<Output = (G, bool)> {
        let at = Location::caller();
        async move {
            crate::blocking::require_runtime("Condition::wait_for_timeout", at);
            self.wait_for_deadline(guard, timeout, pred).await
        }
    }

    #[cfg(feature = "tokio")]
    async fn wait_for_deadline<G: ConditionGuard>(
        &self,
        mut guard: G,
        timeout: Duration,
        mut pred: impl FnMut(&mut G::Target) -> bool,
    ) -> (G, bool) {
        let deadline = tokio::time::Instant::now().checked_add(timeout);
        loop {
            if pred(&mut *guard) {
                return (guard, true);
            }
            let left = match deadline {
                // A timeout too large to represent is no timeout.
                None => Duration::MAX,
                Some(deadline) => deadline.saturating_duration_since(tokio::time::Instant::now()),
            };
            if left.is_zero() {
                return (guard, false);
            }
            guard = if deadline.is_some() {
                self.wait_timeout(guard, left).await.0
            } else {
                self.wait(guard).await
            };
        }
    }

    /// Waits on this thread: the blocking twin of [`wait`](Condition::wait).
    ///
    /// # Panics
    ///
    /// If this condition was used with a different lock, or if called on a
    /// thread that runs async tasks ([detected with feature `tokio`](crate#blocking-twins-and-runtime-workers)) (use `.wait(guard).await` there).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use warden::{Condition, Lock};
    /// let pair = Arc::new((Lock::new(0), Condition::new()));
    /// let t = std::thread::spawn({
    ///     let pair = pair.clone();
    ///     move || {
    ///         let (lock, cond) = &*pair;
    ///         let mut n = lock.acquire_blocking();
    ///         while *n == 0 {
    ///             n = cond.wait_blocking(n);
    ///         }
    ///     }
    /// });
    /// *pair.0.acquire_blocking() = 1;
    /// pair.1.notify_all();
    /// t.join().unwrap();
    /// ```
    #[track_caller]
    pub fn wait_blocking<G: ConditionGuard>(&self, guard: G) -> G {
        self.wait_blocking_until(
            guard,
            None,
            &Twin {
                method: "Condition::wait_blocking",
                instead: "cond.wait(guard).await",
            },
        )
        .0
    }

    /// Waits on this thread until `pred` holds: the blocking twin of
    /// [`wait_for`](Condition::wait_for).
    ///
    /// # Panics
    ///
    /// As [`wait_blocking`](Condition::wait_blocking), and if `pred` panics.
    ///
    /// ```
    /// let (lock, cond) = (warden::Lock::new(1), warden::Condition::new());
    /// let g = cond.wait_for_blocking(lock.acquire_blocking(), |n| *n == 1);
    /// assert_eq!(*g, 1);
    /// ```
    #[track_caller]
    pub fn wait_for_blocking<G: ConditionGuard>(
        &self,
        mut guard: G,
        mut pred: impl FnMut(&mut G::Target) -> bool,
    ) -> G {
        while !pred(&mut *guard) {
            guard = self
                .wait_blocking_until(
                    guard,
                    None,
                    &Twin {
                        method: "Condition::wait_for_blocking",
                        instead: "cond.wait_for(guard, pred).await",
                    },
                )
                .0;
        }
        guard
    }

    /// Waits on this thread for at most `timeout`: the blocking twin of
    /// [`wait_timeout`](Condition::wait_timeout). `false` means timed out.
    ///
    /// # Panics
    ///
    /// As [`wait_blocking`](Condition::wait_blocking).
    ///
    /// ```
    /// use std::time::Duration;
    /// let (lock, cond) = (warden::Lock::new(()), warden::Condition::new());
    /// let (_g, notified) = cond.wait_timeout_blocking(lock.acquire_blocking(), Duration::from_millis(1));
    /// assert!(!notified);
    /// ```
    #[track_caller]
    pub fn wait_timeout_blocking<G: ConditionGuard>(
        &self,
        guard: G,
        timeout: Duration,
    ) -> (G, bool) {
        let deadline = Instant::now().checked_add(timeout);
        self.wait_blocking_until(
            guard,
            deadline,
            &Twin {
                method: "Condition::wait_timeout_blocking",
                instead: "cond.wait_timeout(guard, d).await",
            },
        )
    }

    /// Waits on this thread until `pred` holds, for at most `timeout` in
    /// all: the blocking twin of
    /// [`wait_for_timeout`](Condition::wait_for_timeout). Returns the guard
    /// and the predicate's last value.
    ///
    /// # Panics
    ///
    /// As [`wait_blocking`](Condition::wait_blocking), and if `pred` panics.
    ///
    /// ```
    /// use std::time::Duration;
    /// let (lock, cond) = (warden::Lock::new(0), warden::Condition::new());
    /// let (n, ok) = cond.wait_for_timeout_blocking(
    ///     lock.acquire_blocking(),
    ///     Duration::from_millis(1),
    ///     |n| *n > 0,
    /// );
    /// assert!(!ok && *n == 0);
    /// ```
    #[track_caller]
    pub fn wait_for_timeout_blocking<G: ConditionGuard>(
        &self,
        mut guard: G,
        timeout: Duration,
        mut pred: impl FnMut(&mut G::Target) -> bool,
    ) -> (G, bool) {
        let deadline = Instant::now().checked_add(timeout);
        loop {
            if pred(&mut *guard) {
                return (guard, true);
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return (guard, false);
            }
            guard = self
                .wait_blocking_until(
                    guard,
                    deadline,
                    &Twin {
                        method: "Condition::wait_for_timeout_blocking",
                        instead: "cond.wait_for_timeout(guard, d, pred).await",
                    },
                )
                .0;
        }
    }

    #[track_caller]
    fn wait_blocking_until<G: ConditionGuard>(
        &self,
        guard: G,
        deadline: Option<Instant>,
        twin: &Twin,
    ) -> (G, bool) {
        crate::blocking::assert_may_block(twin);
        let key = self.register(&guard, Wake::current_thread());
        let lock = guard.unlock();
        let notified = self.queue.park_until(key, deadline);
        (G::relock_blocking(lock), notified)
    }

    /// Wakes up to `n` waiters that have not been notified yet, oldest
    /// first (Python's `notify(n)`). `notify(0)` does nothing. Needs no
    /// lock (see [Notifications](Condition#notifications)).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use std::sync::Arc;
    /// use warden::{Condition, Lock};
    /// let pair = Arc::new((Lock::new(0), Condition::new()));
    /// let waiters: Vec<_> = (0..3)
    ///     .map(|_| {
    ///         let pair = pair.clone();
    ///         tokio::spawn(async move {
    ///             let g = pair.1.wait(pair.0.acquire().await).await;
    ///             drop(g);
    ///         })
    ///     })
    ///     .collect();
    /// while pair.1.waiters() < 3 {
    ///     tokio::task::yield_now().await;
    /// }
    /// pair.1.notify(2);
    /// assert_eq!(pair.1.waiters(), 1);
    /// pair.1.notify(1);
    /// for w in waiters {
    ///     w.await.unwrap();
    /// }
    /// # }
    /// ```
    pub fn notify(&self, n: usize) {
        if n == 0 {
            return;
        }
        notify_locked(&mut self.queue(), n);
    }

    /// Wakes one waiter: `notify(1)`.
    ///
    /// ```
    /// let cond = warden::Condition::new();
    /// cond.notify_one();
    /// ```
    pub fn notify_one(&self) {
        self.notify(1);
    }

    /// Wakes every waiter: Python's `notify_all()`.
    ///
    /// ```
    /// let cond = warden::Condition::new();
    /// cond.notify_all();
    /// ```
    pub fn notify_all(&self) {
        self.notify(usize::MAX);
    }

    /// Waiters not yet notified, right now (0 if the count is momentarily
    /// unavailable; it never blocks).
    ///
    /// ```
    /// assert_eq!(warden::Condition::new().waiters(), 0);
    /// ```
    pub fn waiters(&self) -> usize {
        self.queue.try_lock().map_or(0, |q| q.len())
    }

    /// Waiter records still allocated: 0 once nobody waits. For leak checks.
    #[cfg(any(feature = "__introspection", warden_model))]
    #[doc(hidden)]
    pub fn __waiter_records(&self) -> usize {
        self.queue.records()
    }
}

/// Notifies up to `n` waiters, oldest first; they are woken as the mutex
/// is released.
fn notify_locked(q: &mut WaitList<()>, n: usize) {
    for _ in 0..n {
        if q.notify_front().is_none() {
            break;
        }
    }
}

impl Default for Condition {
    fn default() -> Self {
        Condition::new()
    }
}

impl fmt::Debug for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Condition");
        if let Some(q) = self.queue.try_lock() {
            d.field("waiters", &q.len());
        }
        d.finish_non_exhaustive()
    }
}

/// Waits for this waiter's node to be unlinked by `notify`.
struct Notified<'a> {
    cond: &'a Condition,
    key: Option<usize>,
}

impl Notified<'_> {
    /// After a timeout: withdraws the waiter if it is still waiting
    /// (`false`), or keeps the notification that raced in (`true`).
    #[cfg(feature = "tokio")]
    fn withdraw(&mut self) -> bool {
        let Some(key) = self.key.take() else {
            return true;
        };
        let mut q = self.cond.queue();
        let notified = !q.is_linked(key);
        q.remove(key);
        notified
    }
}

impl Future for Notified<'_> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let Some(key) = this.key else {
            return Poll::Ready(());
        };
        let ready = this.cond.queue.poll_notified(key, cx.waker());
        if ready.is_ready() {
            this.key = None;
        }
        ready
    }
}

impl Drop for Notified<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let mut q = self.cond.queue();
            let notified = !q.is_linked(key);
            q.remove(key);
            if notified {
                // Notified, but nobody will see it: hand it to the next waiter.
                notify_locked(&mut q, 1);
            }
        }
    }
}

/// Passes a notification on if dropped while armed (the waiter was
/// cancelled while re-taking the lock).
struct PassOn<'a>(Option<&'a Condition>);

impl PassOn<'_> {
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for PassOn<'_> {
    fn drop(&mut self) {
        if let Some(cond) = self.0 {
            cond.notify_one();
        }
    }
}
