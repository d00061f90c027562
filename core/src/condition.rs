//! [`Condition`]: Python's `threading.Condition` / `asyncio.Condition`.

use std::fmt;
use std::future::Future;
use std::ops::DerefMut;
#[cfg(any(feature = "tokio", feature = "tracing"))]
use std::panic::Location;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::blocking::Twin;
#[cfg(feature = "tracing")]
use crate::debug::{self, Kind, Meta, Waiting};
use crate::lock::{Lock, LockAcquire, LockAcquireOwned, LockGuard, OwnedLockGuard};
use crate::raw::lazy::LazyList;
use crate::raw::list::{Key, Locked, Sleeper, WaitList};
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
    /// Name and number for `warden::debug` (feature `tracing`).
    #[cfg(feature = "tracing")]
    meta: Meta,
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
    #[cfg(feature = "tracing")]
    use super::Location;
    use super::{Arc, Future, Lock, LockAcquire, LockAcquireOwned, LockGuard, OwnedLockGuard};

    /// How a condition releases and re-takes a guard's lock.
    pub trait Sealed: Sized {
        /// What is left while the lock is released: the way back to it.
        type Unlocked: Unpin;
        /// Identifies the lock (an identity that survives moves).
        fn lock_id(&self) -> u64;
        /// Releases the lock.
        fn unlock(self) -> Self::Unlocked;
        /// The future that re-takes the lock.
        type Relock: Future<Output = Self> + Unpin;
        /// Re-takes the lock.
        #[cfg(not(feature = "tracing"))]
        fn relock(lock: Self::Unlocked) -> Self::Relock;
        /// Re-takes the lock for a wait written at `site`.
        #[cfg(feature = "tracing")]
        fn relock_at(lock: Self::Unlocked, site: &'static Location<'static>) -> Self::Relock;
        /// Re-takes the lock on this thread.
        #[cfg_attr(feature = "tracing", track_caller)]
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
        type Relock = LockAcquire<'a, T>;
        #[cfg(not(feature = "tracing"))]
        fn relock(lock: &'a Lock<T>) -> LockAcquire<'a, T> {
            lock.acquire()
        }
        #[cfg(feature = "tracing")]
        fn relock_at(lock: &'a Lock<T>, site: &'static Location<'static>) -> LockAcquire<'a, T> {
            lock.acquire_at(site)
        }
        #[cfg_attr(feature = "tracing", track_caller)]
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
        type Relock = LockAcquireOwned<T>;
        #[cfg(not(feature = "tracing"))]
        fn relock(lock: Arc<Lock<T>>) -> LockAcquireOwned<T> {
            lock.acquire_owned()
        }
        #[cfg(feature = "tracing")]
        fn relock_at(lock: Arc<Lock<T>>, site: &'static Location<'static>) -> LockAcquireOwned<T> {
            lock.acquire_owned_at(site)
        }
        #[cfg_attr(feature = "tracing", track_caller)]
        fn relock_blocking(lock: Arc<Lock<T>>) -> Self {
            #[cfg(not(feature = "tracing"))]
            lock.acquire_blocking().forget_release();
            #[cfg(feature = "tracing")]
            let hold = lock.acquire_blocking().forget_release();
            OwnedLockGuard::new(
                lock,
                #[cfg(feature = "tracing")]
                hold,
            )
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
                #[cfg(feature = "tracing")]
                meta: Meta::new(),
            }
        }
    }

    const_fn! {
        /// Names the condition for warden's reports (feature `tracing`:
        /// its wait events and the hang report `warden::debug::dump()`).
        /// Without the feature the name is not kept and this costs nothing.
        ///
        /// ```
        /// static NOT_EMPTY: warden::Condition = warden::Condition::new().named("not_empty");
        /// assert_eq!(NOT_EMPTY.waiters(), 0);
        /// ```
        #[must_use]
        pub const fn named(self, name: &'static str) -> Condition {
            #[cfg(feature = "tracing")]
            {
                let mut this = self;
                this.meta.set_name(name);
                this
            }
            #[cfg(not(feature = "tracing"))]
            {
                let _ = name;
                self
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
    fn register<G: ConditionGuard>(&self, guard: &G, wake: Sleeper) -> Key {
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
    pub fn wait<G: ConditionGuard>(&self, guard: G) -> ConditionWait<'_, G> {
        ConditionWait {
            stage: self.start(
                guard,
                #[cfg(feature = "tracing")]
                Location::caller(),
            ),
        }
    }

    /// Registers a waiter for `guard`'s lock and releases it: a wait's
    /// first stage.
    #[track_caller]
    fn start<G: ConditionGuard>(
        &self,
        guard: G,
        #[cfg(feature = "tracing")] site: &'static Location<'static>,
    ) -> Stage<'_, G> {
        let key = self.register(&guard, Sleeper::Idle);
        #[cfg(feature = "tracing")]
        let waiting = {
            let mut waiting = Waiting::at(site);
            debug::signal_wait(&self.meta, Kind::Condition, &mut waiting);
            waiting
        };
        Stage::Waiting {
            notified: Notified {
                cond: self,
                key: Some(key),
                #[cfg(feature = "tracing")]
                waiting,
            },
            lock: guard.unlock(),
        }
    }

    /// Waits until `pred` holds, re-checking it under the lock after each
    /// notification: Python's `wait_for(predicate)`. Checks first, so it
    /// returns at once if `pred` already holds. Behaves as `async fn
    /// wait_for(&self, guard: G, pred) -> G`.
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
    #[cfg_attr(feature = "tracing", track_caller)]
    pub fn wait_for<G: ConditionGuard, P: FnMut(&mut G::Target) -> bool>(
        &self,
        guard: G,
        pred: P,
    ) -> ConditionWaitFor<'_, G, P> {
        ConditionWaitFor {
            cond: CondAt {
                cond: self,
                #[cfg(feature = "tracing")]
                site: Location::caller(),
            },
            pred,
            check: Some(guard),
            stage: Stage::Done,
        }
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
    ) -> ConditionWaitTimeout<'_, G> {
        let at = Location::caller();
        ConditionWaitTimeout {
            at,
            timeout,
            sleep: None,
            stage: self.start(
                guard,
                #[cfg(feature = "tracing")]
                at,
            ),
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
    /// (G, bool)`; the timeout starts at the first poll.
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
    pub fn wait_for_timeout<G: ConditionGuard, P: FnMut(&mut G::Target) -> bool>(
        &self,
        guard: G,
        timeout: Duration,
        pred: P,
    ) -> ConditionWaitForTimeout<'_, G, P> {
        ConditionWaitForTimeout {
            cond: self,
            pred,
            at: Location::caller(),
            timeout,
            sleep: None,
            check: Some(guard),
            stage: Stage::Done,
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
        let key = self.register(&guard, Sleeper::current_thread());
        #[cfg(feature = "tracing")]
        let mut waiting = {
            let mut waiting = Waiting::here();
            debug::signal_wait(&self.meta, Kind::Condition, &mut waiting);
            waiting
        };
        let lock = guard.unlock();
        let notified = self.queue.park_until(key, deadline);
        #[cfg(feature = "tracing")]
        waiting.end(if notified { "notified" } else { "timed out" });
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
        self.queue.waiter_records()
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

/// A condition and, with the `tracing` feature, where its wait was written
/// (for `wait_for`, which starts its waits at later polls).
struct CondAt<'a> {
    cond: &'a Condition,
    #[cfg(feature = "tracing")]
    site: &'static Location<'static>,
}

impl<'a> CondAt<'a> {
    fn start<G: ConditionGuard>(&self, guard: G) -> Stage<'a, G> {
        self.cond.start(
            guard,
            #[cfg(feature = "tracing")]
            self.site,
        )
    }
}

/// Waits for this waiter's node to be unlinked by `notify`.
struct Notified<'a> {
    cond: &'a Condition,
    key: Option<Key>,
    /// The wait's record for `warden::debug`.
    #[cfg(feature = "tracing")]
    waiting: Waiting,
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
        drop(q);
        #[cfg(feature = "tracing")]
        self.waiting
            .end(if notified { "notified" } else { "timed out" });
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
            #[cfg(feature = "tracing")]
            this.waiting.end("notified");
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

/// Where a wait stands: registered and the lock released, then re-taking
/// the lock. Shared by every async wait of [`Condition`].
enum Stage<'a, G: ConditionGuard> {
    /// Registered, the lock released; waiting for a notification (dropped
    /// now, the waiter is withdrawn, or passes on the notification that
    /// raced in).
    Waiting {
        notified: Notified<'a>,
        lock: G::Unlocked,
    },
    /// Re-taking the lock (if it was notified and is dropped now, `pass_on`
    /// hands the notification to the next waiter).
    Relocking {
        relock: G::Relock,
        pass_on: PassOn<'a>,
    },
    /// Not waiting (done, or not started).
    Done,
}

impl<G: ConditionGuard> Stage<'_, G> {
    /// Drives the wait: `Ready((guard, notified))` once the lock is held
    /// again. With a `sleep`, the wait for a notification ends when it
    /// fires (`notified` is then `false`, unless one raced in).
    fn poll(
        &mut self,
        cx: &mut Context<'_>,
        #[cfg(feature = "tokio")] mut sleep: Option<Pin<&mut tokio::time::Sleep>>,
    ) -> Poll<(G, bool)> {
        loop {
            match self {
                Stage::Waiting { notified, .. } => {
                    let got = if Pin::new(&mut *notified).poll(cx).is_ready() {
                        true
                    } else {
                        #[cfg(not(feature = "tokio"))]
                        return Poll::Pending;
                        #[cfg(feature = "tokio")]
                        {
                            let fired = sleep
                                .as_mut()
                                .is_some_and(|s| s.as_mut().poll(cx).is_ready());
                            if !fired {
                                return Poll::Pending;
                            }
                            // A notification may have landed as the timer
                            // fired: keep it.
                            notified.withdraw()
                        }
                    };
                    let Stage::Waiting { notified, lock } = std::mem::replace(self, Stage::Done)
                    else {
                        unreachable!("matched above")
                    };
                    *self = Stage::Relocking {
                        #[cfg(not(feature = "tracing"))]
                        relock: G::relock(lock),
                        #[cfg(feature = "tracing")]
                        relock: G::relock_at(lock, notified.waiting.site()),
                        pass_on: PassOn(got.then_some(notified.cond)),
                    };
                }
                Stage::Relocking { relock, pass_on } => {
                    let guard = std::task::ready!(Pin::new(relock).poll(cx));
                    let notified = pass_on.disarm();
                    *self = Stage::Done;
                    return Poll::Ready((guard, notified));
                }
                Stage::Done => panic!("a Condition wait polled after it returned its guard"),
            }
        }
    }
}

/// Passes a notification on if dropped while armed: the waiter was
/// notified, then cancelled while re-taking the lock, so nobody will see it.
struct PassOn<'a>(Option<&'a Condition>);

impl PassOn<'_> {
    /// The notification was used: nothing to pass on. Returns whether
    /// there was one.
    fn disarm(&mut self) -> bool {
        self.0.take().is_some()
    }
}

impl Drop for PassOn<'_> {
    fn drop(&mut self) {
        if let Some(cond) = self.0 {
            cond.notify_one();
        }
    }
}

/// The future of [`Condition::wait`] (and [`BoundCondition::wait`]);
/// resolves to the guard, the lock held again.
///
/// [`BoundCondition::wait`]: crate::BoundCondition::wait
///
/// # Cancel safety
///
/// Dropping it withdraws the waiter, or passes on the notification it had
/// taken (also while re-taking the lock); the guard it was given is gone
/// (the lock stays released).
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct ConditionWait<'a, G: ConditionGuard> {
    stage: Stage<'a, G>,
}

impl<G: ConditionGuard> Future for ConditionWait<'_, G> {
    type Output = G;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<G> {
        self.get_mut()
            .stage
            .poll(
                cx,
                #[cfg(feature = "tokio")]
                None,
            )
            .map(|(guard, _)| guard)
    }
}

impl<G: ConditionGuard> fmt::Debug for ConditionWait<'_, G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConditionWait")
            .field("stage", &self.stage.name())
            .finish_non_exhaustive()
    }
}

impl<G: ConditionGuard> Stage<'_, G> {
    fn name(&self) -> &'static str {
        match self {
            Stage::Waiting { .. } => "waiting",
            Stage::Relocking { .. } => "relocking",
            Stage::Done => "done",
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`Condition::wait_for`] (and
    /// [`BoundCondition::wait_for`](crate::BoundCondition::wait_for));
    /// resolves to the guard once `pred` holds.
    ///
    /// # Cancel safety
    ///
    /// As [`ConditionWait`].
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct ConditionWaitFor<'a, G: ConditionGuard, P> {
        cond: CondAt<'a>,
        pred: P,
        // The guard, to check `pred` with next.
        check: Option<G>,
        stage: Stage<'a, G>,
    }
}

impl<G: ConditionGuard, P: FnMut(&mut G::Target) -> bool> Future for ConditionWaitFor<'_, G, P> {
    type Output = G;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<G> {
        let this = self.project();
        loop {
            if let Some(mut guard) = this.check.take() {
                if (this.pred)(&mut *guard) {
                    return Poll::Ready(guard);
                }
                *this.stage = this.cond.start(guard);
            }
            let (guard, _) = std::task::ready!(this.stage.poll(
                cx,
                #[cfg(feature = "tokio")]
                None,
            ));
            *this.check = Some(guard);
        }
    }
}

impl<G: ConditionGuard, P> fmt::Debug for ConditionWaitFor<'_, G, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConditionWaitFor")
            .field("stage", &self.stage.name())
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "tokio")]
pin_project_lite::pin_project! {
    /// The future of [`Condition::wait_timeout`] (and
    /// [`BoundCondition::wait_timeout`](crate::BoundCondition::wait_timeout));
    /// resolves to the guard and whether it was notified. Requires feature
    /// `tokio`.
    ///
    /// # Cancel safety
    ///
    /// As [`ConditionWait`].
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct ConditionWaitTimeout<'a, G: ConditionGuard> {
        at: &'static Location<'static>,
        timeout: Duration,
        // Started at the first poll.
        #[pin]
        sleep: Option<tokio::time::Sleep>,
        stage: Stage<'a, G>,
    }
}

#[cfg(feature = "tokio")]
impl<G: ConditionGuard> Future for ConditionWaitTimeout<'_, G> {
    type Output = (G, bool);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<(G, bool)> {
        let mut this = self.project();
        if this.sleep.is_none() {
            crate::blocking::require_runtime("Condition::wait_timeout", this.at);
            this.sleep.set(Some(tokio::time::sleep(*this.timeout)));
        }
        this.stage.poll(cx, this.sleep.as_pin_mut())
    }
}

#[cfg(feature = "tokio")]
impl<G: ConditionGuard> fmt::Debug for ConditionWaitTimeout<'_, G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConditionWaitTimeout")
            .field("timeout", &self.timeout)
            .field("stage", &self.stage.name())
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "tokio")]
pin_project_lite::pin_project! {
    /// The future of [`Condition::wait_for_timeout`] (and
    /// [`BoundCondition::wait_for_timeout`](crate::BoundCondition::wait_for_timeout));
    /// resolves to the guard and the predicate's last value. Requires
    /// feature `tokio`.
    ///
    /// # Cancel safety
    ///
    /// As [`ConditionWait`].
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct ConditionWaitForTimeout<'a, G: ConditionGuard, P> {
        cond: &'a Condition,
        pred: P,
        at: &'static Location<'static>,
        timeout: Duration,
        // The deadline of the whole wait, started at the first poll.
        #[pin]
        sleep: Option<tokio::time::Sleep>,
        check: Option<G>,
        stage: Stage<'a, G>,
    }
}

#[cfg(feature = "tokio")]
impl<G: ConditionGuard, P: FnMut(&mut G::Target) -> bool> Future
    for ConditionWaitForTimeout<'_, G, P>
{
    type Output = (G, bool);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<(G, bool)> {
        let mut this = self.project();
        if this.sleep.is_none() {
            crate::blocking::require_runtime("Condition::wait_for_timeout", this.at);
            this.sleep.set(Some(tokio::time::sleep(*this.timeout)));
        }
        loop {
            if let Some(mut guard) = this.check.take() {
                if (this.pred)(&mut *guard) {
                    return Poll::Ready((guard, true));
                }
                let elapsed = this
                    .sleep
                    .as_ref()
                    .as_pin_ref()
                    .is_some_and(|s| s.is_elapsed());
                if elapsed {
                    return Poll::Ready((guard, false));
                }
                *this.stage = this.cond.start(
                    guard,
                    #[cfg(feature = "tracing")]
                    this.at,
                );
            }
            let (guard, _) =
                std::task::ready!(this.stage.poll(cx, this.sleep.as_mut().as_pin_mut()));
            *this.check = Some(guard);
        }
    }
}

#[cfg(feature = "tokio")]
impl<G: ConditionGuard, P> fmt::Debug for ConditionWaitForTimeout<'_, G, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConditionWaitForTimeout")
            .field("timeout", &self.timeout)
            .field("stage", &self.stage.name())
            .finish_non_exhaustive()
    }
}
