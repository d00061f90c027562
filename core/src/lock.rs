//! [`Lock`]: Python's `threading.Lock` / `asyncio.Lock`, holding its data.

use std::cell::UnsafeCell;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::blocking::Twin;
#[cfg(feature = "tracing")]
use crate::debug::{self, Hold, Kind, Meta, Mode, Waiting};
use crate::raw::list::Key;
use crate::raw::lock::RawLock;
#[cfg(feature = "tracing")]
use std::panic::Location;

/// A mutual-exclusion lock for async code: Python's [`threading.Lock`] and
/// [`asyncio.Lock`], holding the data it protects, as [`std::sync::Mutex`]
/// does.
///
/// | Python                                   | warden                                    |
/// |------------------------------------------|-------------------------------------------|
/// | `lock = threading.Lock()`                | `let lock = Lock::new(data);`             |
/// | `with lock: ...` / `async with lock:`    | `let guard = lock.acquire().await;`       |
/// | `lock.acquire(blocking=False)`           | `lock.try_acquire()`                      |
/// | `lock.acquire(timeout=0.5)`              | `timeout(d, lock.acquire()).await`        |
/// | `lock.release()`                         | `drop(guard)` (or the end of its scope)   |
/// | `lock.locked()`                          | `lock.locked()`                           |
///
/// The data is reachable only through the [`LockGuard`], so forgetting to
/// take the lock does not compile, and releasing a lock you do not hold
/// cannot be written (Python raises `RuntimeError` for both at run time).
///
/// # Which lock should I use?
///
/// * [`Lock`] when the critical section is async (holds the guard across an
///   `.await`) or when tasks and threads share the data.
/// * [`RLock`](crate::RLock) when the same task must take the lock again
///   while holding it (re-entry on a `Lock` deadlocks, as in Python).
/// * [`std::sync::Mutex`] for short critical sections that never `.await`:
///   it is cheaper still, and holding it across `.await` is a compile error
///   on multi-thread runtimes.
///
/// # Fairness
///
/// Waiters queue first-come first-served, and no waiter starves, but a
/// release does not always hand the lock straight over:
///
/// * Releasing a lock that tasks wait for frees it and wakes the longest
///   waiting one, which takes it when it runs. Only that first waiter is
///   woken; the others keep their places.
/// * Until it runs, a task that asks for the lock and finds it free — a
///   [`try_acquire`](Lock::try_acquire), an [`acquire`](Lock::acquire)
///   that has not queued yet or its blocking twin, typically the task that
///   just released it — may take it first, up to **32 times** in all. The
///   running task goes on instead of switching to the waiter: under
///   contention that makes the lock several times faster (see the book's
///   Performance appendix, which shows how the bound was chosen); a woken
///   waiter waits at most 32 critical sections longer than strict order
///   would make it.
/// * The release that ends the 32nd overtake hands the lock directly to the
///   first waiter, whether or not it has run yet: from then on every other
///   `acquire` waits and `try_acquire` fails until the waiter has had its
///   turn. The bound is kept where the overtaking happens, so it holds even
///   for a task that releases and re-acquires in a loop without ever
///   yielding (it waits behind the waiter on its 33rd lap), on any runtime.
///
/// Python's `threading.Lock` promises no order at all; `asyncio.Lock`
/// never lets a newcomer pass a waiter. warden keeps asyncio's order among
/// the waiters and lets running tasks overtake a woken one a bounded number
/// of times, the trade Go's `sync.Mutex` and `async-lock` make too (they
/// bound it by time, counted by the waiter when it runs; warden by count,
/// at the release).
/// [`Semaphore`](crate::Semaphore) and [`RLock`](crate::RLock) are strictly
/// first-come first-served.
///
/// ```
/// # use std::future::Future;
/// # use std::pin::pin;
/// # use std::task::{Context, Poll, Waker};
/// # let mut cx = Context::from_waker(Waker::noop());
/// let lock = warden::Lock::new(Vec::new());
/// let held = lock.try_acquire().unwrap();
/// let mut waiter = pin!(lock.acquire());
/// assert!(waiter.as_mut().poll(&mut cx).is_pending()); // queued
/// drop(held); // frees the lock and wakes `waiter`
///
/// // Before `waiter` runs, running tasks may take the lock again, 32 times.
/// for _ in 0..32 {
///     let mut again = lock.try_acquire().expect("free until the waiter runs");
///     again.push("running task");
/// }
/// // The 32nd release handed the lock to the waiter, which has not even run
/// // yet: nobody else can take it now.
/// assert!(lock.locked() && lock.try_acquire().is_none());
/// let Poll::Ready(mut guard) = waiter.as_mut().poll(&mut cx) else { panic!() };
/// guard.push("waiter");
/// assert_eq!(guard.len(), 33);
/// assert_eq!(guard.last(), Some(&"waiter"));
/// ```
///
/// # Memory ordering
///
/// Releasing the lock *happens before* the next acquisition of it returns:
/// everything written while holding a guard is visible to the next holder.
/// Uncontended, acquiring is one compare-exchange (Acquire) and releasing
/// one compare-exchange (Release).
///
/// # Re-acquiring a lock you hold
///
/// Waiting for a `Lock` you hold yourself never ends, as in Python; use
/// [`RLock`](crate::RLock) where the same task must take the lock again.
/// warden does not try to detect it: a guard is `Send` and may have moved
/// to another task or thread that will release it (CPython's own tests
/// release a lock from another thread), a `join!` branch may hold it, or a
/// `timeout` may end the wait — all correct programs a check would break.
///
/// # Panics and poisoning
///
/// A guard dropped while a panic unwinds releases the lock, as Python's
/// `with lock:` releases on an exception. There is no poisoning: the data
/// may be half-updated, exactly as in Python; keep invariants restorable.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use warden::Lock;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let balance = Arc::new(Lock::new(100_i64));
/// let tasks: Vec<_> = (0..10)
///     .map(|_| {
///         let balance = balance.clone();
///         tokio::spawn(async move {
///             let mut b = balance.acquire().await;
///             *b -= 10;
///         })
///     })
///     .collect();
/// for t in tasks {
///     t.await.unwrap();
/// }
/// assert_eq!(*balance.acquire().await, 0);
/// # }
/// ```
///
/// [`threading.Lock`]: https://docs.python.org/3/library/threading.html#lock-objects
/// [`asyncio.Lock`]: https://docs.python.org/3/library/asyncio-sync.html#asyncio.Lock
pub struct Lock<T: ?Sized = ()> {
    /// Held or free, the queue of waiters, and the bounded overtaking
    /// (`raw::lock` documents its state word).
    pub(crate) raw: RawLock,
    /// Name, rank and number for `warden::debug` (feature `tracing`).
    #[cfg(feature = "tracing")]
    pub(crate) meta: Meta,
    data: UnsafeCell<T>,
}

// SAFETY: the `Lock` owns a `T`; sending the lock sends the `T`.
unsafe impl<T: ?Sized + Send> Send for Lock<T> {}
// SAFETY: through `&Lock<T>` a caller gets `&mut T` only through a guard,
// which exists only while `raw` is held (taken by an acquire, released by
// the guard's drop, or handed from one holder to a waiter without ever
// being free), so at most one thread touches the `T` at a time, which
// needs `T: Send` and not `T: Sync` (the same bound as `std::sync::Mutex`).
unsafe impl<T: ?Sized + Send> Sync for Lock<T> {}

impl<T> Lock<T> {
    const_fn! {
        /// Creates an unlocked lock holding `value`.
        ///
        /// ```
        /// static COUNTER: warden::Lock<u64> = warden::Lock::new(0);
        /// assert!(!COUNTER.locked());
        /// ```
        pub const fn new(value: T) -> Lock<T> {
            Lock {
                raw: RawLock::new(),
                #[cfg(feature = "tracing")]
                meta: Meta::new(),
                data: UnsafeCell::new(value),
            }
        }
    }

    const_fn! {
        /// Names the lock for warden's reports (feature `tracing`: its
        /// events, the hang report `warden::debug::dump()`, the lock-order
        /// checker). Without the feature the name is not kept and this
        /// costs nothing, so name freely. A `const fn`, like `new`.
        ///
        /// ```
        /// static ACCOUNTS: warden::Lock<Vec<i64>> = warden::Lock::new(Vec::new()).named("accounts");
        /// assert!(!ACCOUNTS.locked());
        /// ```
        #[must_use]
        pub const fn named(self, name: &'static str) -> Lock<T> {
            self.ranked(name, None)
        }
    }

    const_fn! {
        /// `named`, with the lock's rank in a declared order (what
        /// `#[guarded]` records).
        pub(crate) const fn ranked(
            self,
            name: &'static str,
            rank: Option<&'static crate::__private::LockRank>,
        ) -> Lock<T> {
            #[cfg(feature = "tracing")]
            {
                let mut this = self;
                this.meta.set_name(name);
                this.meta.set_rank(rank);
                this
            }
            #[cfg(not(feature = "tracing"))]
            {
                let _ = (name, rank);
                self
            }
        }
    }

    /// Consumes the lock and returns its data.
    ///
    /// ```
    /// let lock = warden::Lock::new(vec![1, 2]);
    /// assert_eq!(lock.into_inner(), vec![1, 2]);
    /// ```
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> Lock<T> {
    /// Waits for the lock and returns a guard that releases it on drop:
    /// Python's `with lock:` / `async with lock:`.
    ///
    /// Behaves as `async fn acquire(&self) -> LockGuard<'_, T>`; the future
    /// is a named type ([`LockAcquire`]) so it is small and `Unpin`.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe. Dropping the future before it completes leaves the lock
    /// as if this call had never been made: its place in the queue is
    /// withdrawn, and if it had been woken to take the lock, or handed it,
    /// that passes on to the next waiter. So `tokio::time::timeout(d,
    /// lock.acquire())` is Python's `lock.acquire(timeout=d)`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// let lock = Arc::new(warden::Lock::new(0));
    /// let held = lock.acquire().await;
    /// let other = tokio::spawn({
    ///     let lock = lock.clone();
    ///     async move {
    ///         // Python: lock.acquire(timeout=0.01) -> False
    ///         tokio::time::timeout(Duration::from_millis(10), lock.acquire())
    ///             .await
    ///             .is_ok()
    ///     }
    /// });
    /// assert!(!other.await.unwrap());
    /// drop(held);
    /// *lock.acquire().await += 1;
    /// # }
    /// ```
    #[inline]
    #[cfg_attr(feature = "tracing", track_caller)]
    pub fn acquire(&self) -> LockAcquire<'_, T> {
        LockAcquire {
            lock: Some(self),
            key: None,
            #[cfg(feature = "tracing")]
            waiting: Waiting::here(),
        }
    }

    /// `acquire`, reported as written at `site` (a `Condition` taking the
    /// lock back for its caller).
    #[cfg(feature = "tracing")]
    pub(crate) fn acquire_at(&self, site: &'static Location<'static>) -> LockAcquire<'_, T> {
        LockAcquire {
            lock: Some(self),
            key: None,
            waiting: Waiting::at(site),
        }
    }

    /// Takes the lock if it is free: Python's
    /// `lock.acquire(blocking=False)`. A lock just released to a waiter
    /// that has not run yet is free, and this may take it first (see
    /// [Fairness](Lock#fairness)); a lock handed over is not.
    ///
    /// ```
    /// let lock = warden::Lock::new(());
    /// let guard = lock.try_acquire().expect("free");
    /// assert!(lock.try_acquire().is_none());
    /// drop(guard);
    /// assert!(lock.try_acquire().is_some());
    /// ```
    #[inline]
    #[cfg_attr(feature = "tracing", track_caller)]
    pub fn try_acquire(&self) -> Option<LockGuard<'_, T>> {
        #[cfg(feature = "tracing")]
        let site = Location::caller();
        self.raw.try_acquire().then(|| {
            LockGuard::new(
                self,
                #[cfg(feature = "tracing")]
                debug::tried(&self.meta, Kind::Lock, Mode::Exclusive, site),
            )
        })
    }

    /// Waits for the lock and returns a guard that keeps the lock alive
    /// through an [`Arc`], for guards that must be `'static` (moved into a
    /// spawned task, stored in a struct).
    ///
    /// Behaves as `async fn acquire_owned(self: Arc<Self>) -> OwnedLockGuard<T>`;
    /// the named future is two words and `Unpin`.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`acquire`](Lock::acquire).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use std::sync::Arc;
    /// let lock = Arc::new(warden::Lock::new(String::new()));
    /// let mut guard = lock.clone().acquire_owned().await;
    /// tokio::spawn(async move { guard.push_str("written elsewhere") })
    ///     .await
    ///     .unwrap();
    /// assert_eq!(*lock.acquire().await, "written elsewhere");
    /// # }
    /// ```
    #[cfg_attr(feature = "tracing", track_caller)]
    pub fn acquire_owned(self: Arc<Self>) -> LockAcquireOwned<T> {
        LockAcquireOwned {
            lock: Some(self),
            key: None,
            #[cfg(feature = "tracing")]
            waiting: Waiting::here(),
        }
    }

    /// `acquire_owned`, reported as written at `site`.
    #[cfg(feature = "tracing")]
    pub(crate) fn acquire_owned_at(
        self: Arc<Self>,
        site: &'static Location<'static>,
    ) -> LockAcquireOwned<T> {
        LockAcquireOwned {
            lock: Some(self),
            key: None,
            waiting: Waiting::at(site),
        }
    }

    /// Takes the lock if it is free, as an owned guard (see
    /// [`try_acquire`](Lock::try_acquire)).
    ///
    /// ```
    /// use std::sync::Arc;
    /// let lock = Arc::new(warden::Lock::new(1));
    /// let guard = lock.clone().try_acquire_owned().unwrap();
    /// assert!(lock.locked());
    /// drop(guard);
    /// assert!(!lock.locked());
    /// ```
    #[cfg_attr(feature = "tracing", track_caller)]
    pub fn try_acquire_owned(self: Arc<Self>) -> Option<OwnedLockGuard<T>> {
        if !self.raw.try_acquire() {
            return None;
        }
        #[cfg(feature = "tracing")]
        let hold = debug::tried(&self.meta, Kind::Lock, Mode::Exclusive, Location::caller());
        Some(OwnedLockGuard::new(
            self,
            #[cfg(feature = "tracing")]
            hold,
        ))
    }

    /// Waits for the lock on this thread: the blocking twin of
    /// [`acquire`](Lock::acquire), for code on plain threads or in
    /// `tokio::task::spawn_blocking`. Shares the queue (and its FIFO order)
    /// with async waiters.
    ///
    /// # Panics
    ///
    /// If the lock is taken and this is called on a thread that runs async
    /// tasks (a runtime worker, or the thread in a runtime's `block_on`),
    /// where waiting would stall the runtime: use `.acquire().await` there
    /// ([detected with feature `tokio`](crate#blocking-twins-and-runtime-workers)).
    ///
    /// ```
    /// use std::sync::Arc;
    /// let lock = Arc::new(warden::Lock::new(0));
    /// let threads: Vec<_> = (0..4)
    ///     .map(|_| {
    ///         let lock = lock.clone();
    ///         std::thread::spawn(move || *lock.acquire_blocking() += 1)
    ///     })
    ///     .collect();
    /// threads.into_iter().for_each(|t| t.join().unwrap());
    /// assert_eq!(*lock.acquire_blocking(), 4);
    /// ```
    #[track_caller]
    pub fn acquire_blocking(&self) -> LockGuard<'_, T> {
        if self.raw.try_acquire() {
            #[cfg(feature = "tracing")]
            {
                let (hold, check) = debug::acquired_now(
                    &self.meta,
                    Kind::Lock,
                    Mode::Exclusive,
                    Location::caller(),
                );
                let guard = LockGuard::new(self, hold);
                check.run();
                return guard;
            }
            #[cfg(not(feature = "tracing"))]
            return LockGuard::new(self);
        }
        #[cfg(feature = "tracing")]
        let mut waiting =
            debug::blocking_wait(&self.meta, Kind::Lock, Mode::Exclusive, Location::caller());
        self.raw.acquire_blocking(&Twin {
            method: "Lock::acquire_blocking",
            instead: "lock.acquire().await",
        });
        #[cfg(feature = "tracing")]
        waiting.finish();
        LockGuard::new(
            self,
            #[cfg(feature = "tracing")]
            debug::hold(
                self.meta.prim(Kind::Lock),
                waiting.site(),
                Mode::Exclusive,
                false,
            )
            .0,
        )
    }

    /// Whether the lock is held right now (Python's `locked()`). The answer
    /// may be stale by the time you read it; use it for monitoring, not for
    /// deciding to acquire.
    ///
    /// ```
    /// let lock = warden::Lock::new(());
    /// let guard = lock.try_acquire();
    /// assert!(lock.locked());
    /// drop(guard);
    /// assert!(!lock.locked());
    /// ```
    pub fn locked(&self) -> bool {
        self.raw.is_locked()
    }

    /// The data, through an exclusive borrow of the lock: no locking needed,
    /// the borrow checker already proves nobody else holds it.
    ///
    /// ```
    /// let mut lock = warden::Lock::new(1);
    /// *lock.get_mut() += 1;
    /// assert_eq!(lock.into_inner(), 2);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }

    /// Waiter records still allocated: 0 once nobody waits. For leak checks.
    #[cfg(any(feature = "__introspection", warden_model))]
    #[doc(hidden)]
    pub fn __waiter_records(&self) -> usize {
        self.raw.waiter_records()
    }

    /// The starvation bound: how often a woken waiter may be overtaken
    /// before the lock is handed to it. For the tests of the bound.
    #[cfg(any(feature = "__introspection", warden_model))]
    #[doc(hidden)]
    pub const __MAX_OVERTAKES: usize = crate::raw::lock::HAND_OFF_AFTER;
}

impl<T: Default> Default for Lock<T> {
    fn default() -> Self {
        Lock::new(T::default())
    }
}

impl<T> From<T> for Lock<T> {
    fn from(value: T) -> Self {
        Lock::new(value)
    }
}

/// Shows the data when the lock is free and `<locked>` when it is held,
/// without ever waiting.
impl<T: ?Sized + fmt::Debug> fmt::Debug for Lock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Lock");
        #[cfg(feature = "tracing")]
        if let Some(name) = self.meta.name() {
            d.field("name", &name);
        }
        match self.try_acquire() {
            Some(guard) => d.field("data", &&*guard),
            None => d.field("data", &format_args!("<locked>")),
        };
        d.finish_non_exhaustive()
    }
}

/// The future of [`Lock::acquire`]; resolves to a [`LockGuard`].
///
/// # Cancel safety
///
/// Dropping it withdraws the caller from the queue (or passes the lock on
/// if it had been handed over already).
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct LockAcquire<'a, T: ?Sized> {
    /// `None` once the guard has been returned.
    lock: Option<&'a Lock<T>>,
    /// Our waiter record in the lock's queue, once queued.
    key: Option<Key>,
    /// Where `acquire` was called, and the wait's record once queued.
    #[cfg(feature = "tracing")]
    waiting: Waiting,
}

impl<'a, T: ?Sized> Future for LockAcquire<'a, T> {
    type Output = LockGuard<'a, T>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<LockGuard<'a, T>> {
        let this = self.get_mut();
        let lock = this
            .lock
            .expect("LockAcquire polled after it returned its guard");
        #[cfg(not(feature = "tracing"))]
        std::task::ready!(poll_lock(&lock.raw, &mut this.key, cx));
        #[cfg(feature = "tracing")]
        let (hold, check) =
            std::task::ready!(poll_traced(lock, &mut this.key, &mut this.waiting, cx));
        this.lock = None;
        let guard = LockGuard::new(
            lock,
            #[cfg(feature = "tracing")]
            hold,
        );
        #[cfg(feature = "tracing")]
        check.run();
        Poll::Ready(guard)
    }
}

impl<T: ?Sized> Drop for LockAcquire<'_, T> {
    fn drop(&mut self) {
        if let Some(lock) = self.lock {
            lock.raw.withdraw(&mut self.key);
        }
    }
}

impl<T: ?Sized> fmt::Debug for LockAcquire<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockAcquire")
            .field("queued", &(self.key.is_some()))
            .finish_non_exhaustive()
    }
}

/// The poll shared by both acquire futures: the inlined fast path (free,
/// nobody queued), else queue as / poll waiter `key`.
#[cfg(not(feature = "tracing"))]
#[inline]
fn poll_lock(raw: &RawLock, key: &mut Option<Key>, cx: &mut Context<'_>) -> Poll<()> {
    if key.is_none() && raw.try_acquire() {
        return Poll::Ready(());
    }
    raw.poll_acquire(key, cx)
}

/// `poll_lock`, recorded for `warden::debug`.
#[cfg(feature = "tracing")]
fn poll_traced<T: ?Sized>(
    lock: &Lock<T>,
    key: &mut Option<Key>,
    waiting: &mut Waiting,
    cx: &mut Context<'_>,
) -> Poll<(Hold, debug::Check)> {
    if key.is_none() && lock.raw.try_acquire() {
        return Poll::Ready(debug::acquired_now(
            &lock.meta,
            Kind::Lock,
            Mode::Exclusive,
            waiting.site(),
        ));
    }
    let polled = lock.raw.poll_acquire(key, cx);
    debug::polled(polled, &lock.meta, Kind::Lock, Mode::Exclusive, waiting, cx)
}

/// The future of [`Lock::acquire_owned`]; resolves to an [`OwnedLockGuard`].
///
/// # Cancel safety
///
/// As [`LockAcquire`]: dropping it withdraws the caller from the queue (or
/// passes the lock on if it had been handed over already).
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct LockAcquireOwned<T: ?Sized> {
    /// `None` once the guard (which took the `Arc`) has been returned.
    lock: Option<Arc<Lock<T>>>,
    /// Our waiter record in the lock's queue, once queued.
    key: Option<Key>,
    /// Where `acquire_owned` was called, and the wait's record once queued.
    #[cfg(feature = "tracing")]
    waiting: Waiting,
}

impl<T: ?Sized> Future for LockAcquireOwned<T> {
    type Output = OwnedLockGuard<T>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<OwnedLockGuard<T>> {
        let this = self.get_mut();
        let lock = this
            .lock
            .as_ref()
            .expect("LockAcquireOwned polled after it returned its guard");
        #[cfg(not(feature = "tracing"))]
        std::task::ready!(poll_lock(&lock.raw, &mut this.key, cx));
        #[cfg(feature = "tracing")]
        let (hold, check) =
            std::task::ready!(poll_traced(lock, &mut this.key, &mut this.waiting, cx));
        let lock = this.lock.take().expect("checked above");
        let guard = OwnedLockGuard::new(
            lock,
            #[cfg(feature = "tracing")]
            hold,
        );
        #[cfg(feature = "tracing")]
        check.run();
        Poll::Ready(guard)
    }
}

impl<T: ?Sized> Drop for LockAcquireOwned<T> {
    fn drop(&mut self) {
        if let Some(lock) = &self.lock {
            lock.raw.withdraw(&mut self.key);
        }
    }
}

impl<T: ?Sized> fmt::Debug for LockAcquireOwned<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockAcquireOwned")
            .field("queued", &(self.key.is_some()))
            .finish_non_exhaustive()
    }
}

/// Proof of holding a [`Lock`]: derefs to its data; releases it on drop.
///
/// `Send` when `T: Send` (hold it across `.await` in a spawned task),
/// `Sync` when `T: Send + Sync`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let lock = warden::Lock::new(vec![1]);
/// {
///     let mut guard = lock.acquire().await;
///     guard.push(2);
/// } // released here
/// assert_eq!(*lock.acquire().await, [1, 2]);
/// # }
/// ```
#[must_use = "if unused the Lock will immediately unlock"]
#[clippy::has_significant_drop]
pub struct LockGuard<'a, T: ?Sized> {
    pub(crate) lock: &'a Lock<T>,
    /// This hold's record for `warden::debug`, removed after the release.
    #[cfg(feature = "tracing")]
    hold: Hold,
    /// `&mut T` makes the guard `Sync` only when `T: Sync`.
    _data: PhantomData<&'a mut T>,
}

impl<'a, T: ?Sized> LockGuard<'a, T> {
    fn new(lock: &'a Lock<T>, #[cfg(feature = "tracing")] hold: Hold) -> Self {
        Self {
            lock,
            #[cfg(feature = "tracing")]
            hold,
            _data: PhantomData,
        }
    }

    /// The lock this guard holds (an associated function, so it does not
    /// shadow a method of `T`).
    ///
    /// ```
    /// let lock = warden::Lock::new(());
    /// let guard = lock.try_acquire().unwrap();
    /// assert!(std::ptr::eq(warden::LockGuard::source(&guard), &lock));
    /// ```
    pub fn source(guard: &Self) -> &'a Lock<T> {
        guard.lock
    }

    /// Gives up the guard without releasing the lock (the caller takes
    /// over the release).
    #[cfg(not(feature = "tracing"))]
    pub(crate) fn forget_release(self) {
        std::mem::forget(self);
    }

    /// Gives up the guard without releasing the lock: the caller takes
    /// over the release, and the hold's record, returned.
    #[cfg(feature = "tracing")]
    pub(crate) fn forget_release(self) -> Hold {
        let mut this = std::mem::ManuallyDrop::new(self);
        std::mem::take(&mut this.hold)
    }
}

impl<T: ?Sized> Drop for LockGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.lock.raw.release();
    }
}

impl<T: ?Sized> Deref for LockGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: this guard exists only while it holds `raw`, so no other
        // reference to the data exists until it is dropped; the shared
        // borrow of the guard bounds the returned reference.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> DerefMut for LockGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; the exclusive borrow of the guard makes the
        // returned `&mut T` the only reference.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for LockGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for LockGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

/// An owned proof of holding a [`Lock`] kept in an [`Arc`]: `'static` when
/// `T` is, so it can move into spawned tasks. From [`Lock::acquire_owned`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use std::sync::Arc;
/// let lock = Arc::new(warden::Lock::new(0));
/// let mut guard = lock.clone().acquire_owned().await;
/// *guard = 7;
/// drop(guard);
/// assert_eq!(*lock.acquire().await, 7);
/// # }
/// ```
#[must_use = "if unused the Lock will immediately unlock"]
#[clippy::has_significant_drop]
pub struct OwnedLockGuard<T: ?Sized> {
    pub(crate) lock: Arc<Lock<T>>,
    /// This hold's record for `warden::debug`, removed (by its drop) after
    /// the release.
    #[cfg(feature = "tracing")]
    _hold: Hold,
    /// Makes the guard `Sync` only when `T: Sync`.
    _data: PhantomData<T>,
}

impl<T: ?Sized> OwnedLockGuard<T> {
    pub(crate) fn new(lock: Arc<Lock<T>>, #[cfg(feature = "tracing")] hold: Hold) -> Self {
        Self {
            lock,
            #[cfg(feature = "tracing")]
            _hold: hold,
            _data: PhantomData,
        }
    }

    /// The lock this guard holds.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let lock = Arc::new(warden::Lock::new(()));
    /// let guard = lock.clone().try_acquire_owned().unwrap();
    /// assert!(Arc::ptr_eq(warden::OwnedLockGuard::source(&guard), &lock));
    /// ```
    pub fn source(guard: &Self) -> &Arc<Lock<T>> {
        &guard.lock
    }
}

impl<T: ?Sized> Drop for OwnedLockGuard<T> {
    #[inline]
    fn drop(&mut self) {
        self.lock.raw.release();
    }
}

impl<T: ?Sized> Deref for OwnedLockGuard<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: this guard holds `raw`; see `LockGuard`.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> DerefMut for OwnedLockGuard<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: this guard holds `raw`; see `LockGuard`.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for OwnedLockGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for OwnedLockGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}
