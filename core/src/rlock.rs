//! [`RLock`]: Python's `threading.RLock`, re-entrant per task.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::ops::Deref;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::blocking::Twin;
#[cfg(feature = "tracing")]
use crate::debug::{self, Hold, Kind, Meta, Mode, Waiting};
use crate::owner::Owner;
use crate::raw::list::Key;
use crate::raw::semaphore::RawSemaphore;
use crate::sync::{AtomicU64, AtomicUsize, Ordering};
#[cfg(feature = "tracing")]
use std::panic::Location;

/// A re-entrant lock: Python's [`threading.RLock`], for async tasks.
///
/// The task holding an `RLock` may acquire it again without deadlock; it
/// is released when the last of its guards drops. Python's `asyncio` has no
/// `RLock`; this one is for tasks (and threads).
///
/// | Python                          | warden                                 |
/// |---------------------------------|----------------------------------------|
/// | `rl = threading.RLock()`        | `let rl = RLock::new(data);`           |
/// | `with rl:` (nested)             | `let g = rl.acquire().await;` (nested) |
/// | `rl.acquire(blocking=False)`    | `rl.try_acquire()`                     |
/// | `rl.acquire(timeout=0.5)`       | `timeout(d, rl.acquire()).await`       |
///
/// # Who is the owner?
///
/// The owner is the current **tokio task** wherever `tokio::task::try_id`
/// gives one — an async task, or the closure of a `spawn_blocking`.
/// Elsewhere (a `block_on` future, a plain thread) the owner is the current
/// **thread**.
///
/// > **tokio only.** Task ownership needs tokio's task ids (and warden's
/// > `tokio` feature, on by default). On any other executor — smol,
/// > async-std, `futures::executor::LocalPool`, a `block_on` — and always
/// > without the `tokio` feature, the owner is the thread: **two tasks
/// > that run on one thread are one owner**, so the second re-enters while
/// > the first holds the lock instead of waiting. There an `RLock` only
/// > excludes threads from each other; to exclude tasks of such an executor,
/// > use a [`Lock`](crate::Lock). (warden offers the `RLock` there rather
/// > than nothing because threads, the blocking twins and a `block_on` per
/// > thread are exactly Python's `threading.RLock`.)
///
/// * **Why not the thread?** On a multi-thread runtime a task moves between
///   worker threads at every `.await`, and one worker runs many tasks. A
///   thread-owned lock would let *another task* on the same worker re-enter
///   (breaking exclusion) and make the owner a stranger to its own lock
///   after it migrates (deadlocking it). The task is the unit that holds a
///   guard across `.await`, so the task is the owner.
/// * **Branches of one task share it.** The futures of one `join!`,
///   `select!` or `FuturesUnordered` run inside one task, so they are one
///   owner: while one branch holds the lock, another branch's `acquire`
///   re-enters at once — also a branch that had queued before its task got
///   the lock (the branch that is granted it wakes the others, and they
///   re-enter instead of waiting behind their own task). Do not use an
///   `RLock` to exclude branches of the same task from each other; use a
///   [`Lock`](crate::Lock).
/// * **A guard moved to another task still holds the lock**, and releases
///   it when dropped there. The owner stays the acquiring task.
///
/// # Why only `&T`?
///
/// Re-entry means two guards of the same lock can be alive at once (and,
/// through a moved guard, on two threads), so an `RLockGuard` derefs to
/// `&T` only, like [`std::sync::ReentrantLock`]. Mutate through interior
/// mutability (`Cell`, `RefCell`, atomics, a [`Lock`](crate::Lock) inside).
/// That is also what makes this sound on a multi-thread runtime without any
/// `unsafe`: the lock never hands out `&mut T`, so even in the worst case —
/// a finished owner task whose id is reused — two holders could only share
/// `&T`, which `RLockGuard: Send` already requires to be safe (`T: Sync`).
///
/// # Fairness and memory ordering
///
/// First acquisitions are served strictly first-come first-served: the
/// final release hands the lock to the longest waiting task, and neither
/// [`try_acquire`](RLock::try_acquire) nor a newcomer can take it first
/// ([`Lock`](crate::Lock) lets a running task overtake a woken waiter;
/// an `RLock` is held across longer, re-entrant sections, where a hand-off
/// costs little). Re-entry by the owner never waits.
/// The final release *happens before* the next owner's acquisition returns.
///
/// ```
/// use std::cell::RefCell;
/// use warden::RLock;
///
/// async fn add(log: &RLock<RefCell<Vec<u32>>>, n: u32) {
///     let guard = log.acquire().await;
///     guard.borrow_mut().push(n);
///     if n > 0 {
///         Box::pin(add(log, n - 1)).await; // re-enters: no deadlock
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let log = RLock::new(RefCell::new(Vec::new()));
/// add(&log, 3).await;
/// assert_eq!(*log.acquire().await.borrow(), [3, 2, 1, 0]);
/// # }
/// ```
///
/// [`threading.RLock`]: https://docs.python.org/3/library/threading.html#rlock-objects
pub struct RLock<T: ?Sized = ()> {
    /// Held (its one permit taken) from the owner's first acquisition to
    /// its last release; other tasks queue on it, FIFO.
    raw: RawSemaphore,
    /// The owner's [`Owner::word`], 0 when nobody owns the lock. Set by
    /// whoever takes `raw`, cleared by whoever drops the last guard, before
    /// it gives `raw` back.
    owner: AtomicU64,
    /// Guards out. Raised from 0 (a plain store) only by a new owner right
    /// after taking `raw`; otherwise changed by read-modify-writes only
    /// (see [`RLock::reenter`] for why that matters).
    depth: AtomicUsize,
    /// Name, rank and number for `warden::debug` (feature `tracing`).
    #[cfg(feature = "tracing")]
    meta: Meta,
    data: T,
}

// SAFETY: `&RLock<T>` gives out `&T` only through guards, and only to the
// owner: one task (polled by one thread at a time, with the runtime's
// happens-before between polls) or one thread. A guard can reach another
// thread only if it is `Send`, which needs `T: Sync` (its `PhantomData<&T>`),
// and then sharing `&T` across threads is fine. So without `T: Sync`, the
// `T` is used by one thread at a time, which needs only `T: Send` — the
// same reasoning and bound as `std::sync::ReentrantLock`. The other fields
// (the semaphore, two atomics) are `Sync` themselves.
unsafe impl<T: ?Sized + Send> Sync for RLock<T> {}

impl<T> RLock<T> {
    const_fn! {
        /// Creates an unlocked re-entrant lock holding `value`.
        ///
        /// ```
        /// static LOG: warden::RLock<Vec<u8>> = warden::RLock::new(Vec::new());
        /// assert!(!LOG.locked());
        /// ```
        pub const fn new(value: T) -> RLock<T> {
            RLock {
                raw: RawSemaphore::new(1),
                owner: AtomicU64::new(0),
                depth: AtomicUsize::new(0),
                #[cfg(feature = "tracing")]
                meta: Meta::new(),
                data: value,
            }
        }
    }

    const_fn! {
        /// Names the lock for warden's reports (feature `tracing`: its
        /// events, the hang report `warden::debug::dump()`, the lock-order
        /// checker). Without the feature the name is not kept and this
        /// costs nothing. A `const fn`, like `new`.
        ///
        /// ```
        /// static AUDIT: warden::RLock<()> = warden::RLock::new(()).named("audit");
        /// assert!(!AUDIT.locked());
        /// ```
        #[must_use]
        pub const fn named(self, name: &'static str) -> RLock<T> {
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
        ) -> RLock<T> {
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
    /// assert_eq!(warden::RLock::new(3).into_inner(), 3);
    /// ```
    pub fn into_inner(self) -> T {
        self.data
    }
}

impl<T: ?Sized> RLock<T> {
    /// Waits for the lock, or re-enters it at once if the current task (or
    /// thread, outside tasks) already holds it. Behaves as
    /// `async fn acquire(&self) -> RLockGuard<'_, T>`.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future withdraws it from the queue, and
    /// passes the lock on if it had already been handed over.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let rl = warden::RLock::new(());
    /// let outer = rl.acquire().await;
    /// let inner = rl.acquire().await; // same task: re-entry
    /// drop(inner);
    /// assert!(rl.locked());
    /// drop(outer);
    /// assert!(!rl.locked());
    /// # }
    /// ```
    #[inline]
    #[cfg_attr(feature = "tracing", track_caller)]
    pub fn acquire(&self) -> RLockAcquire<'_, T> {
        RLockAcquire {
            lock: Some(self),
            key: None,
            #[cfg(feature = "tracing")]
            waiting: Waiting::here(),
        }
    }

    /// Re-enters if the current task holds the lock, or takes it if it is
    /// free and nobody waits: Python's `acquire(blocking=False)`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let rl = Arc::new(warden::RLock::new(()));
    /// let g = rl.try_acquire().unwrap();
    /// assert!(rl.try_acquire().is_some()); // the owner re-enters
    /// let other = std::thread::spawn({
    ///     let rl = rl.clone();
    ///     move || rl.try_acquire().is_some()
    /// });
    /// assert!(!other.join().unwrap()); // another owner cannot
    /// drop(g);
    /// ```
    #[inline]
    #[cfg_attr(feature = "tracing", track_caller)]
    pub fn try_acquire(&self) -> Option<RLockGuard<'_, T>> {
        let me = Owner::current();
        if self.reenter(me) || self.try_acquire_first(me) {
            Some(RLockGuard::new(
                self,
                #[cfg(feature = "tracing")]
                debug::tried(&self.meta, Kind::RLock, Mode::Exclusive, Location::caller()),
            ))
        } else {
            None
        }
    }

    /// Waits for the lock on this thread (or re-enters it): the blocking
    /// twin of [`acquire`](RLock::acquire). The owner is determined as for
    /// `acquire`: the `spawn_blocking` task, or else the thread.
    ///
    /// # Panics
    ///
    /// If it would have to wait on a thread that runs async tasks ([detected with feature `tokio`](crate#blocking-twins-and-runtime-workers)).
    ///
    /// ```
    /// let rl = warden::RLock::new(());
    /// let a = rl.acquire_blocking();
    /// let b = rl.acquire_blocking(); // same thread: re-entry
    /// drop((a, b));
    /// assert!(!rl.locked());
    /// ```
    #[track_caller]
    pub fn acquire_blocking(&self) -> RLockGuard<'_, T> {
        let me = Owner::current();
        if self.reenter(me) || self.try_acquire_first(me) {
            #[cfg(feature = "tracing")]
            {
                let (hold, check) = debug::acquired_now(
                    &self.meta,
                    Kind::RLock,
                    Mode::Exclusive,
                    Location::caller(),
                );
                let guard = RLockGuard::new(self, hold);
                check.run();
                return guard;
            }
            #[cfg(not(feature = "tracing"))]
            return RLockGuard::new(self);
        }
        #[cfg(feature = "tracing")]
        let mut waiting =
            debug::blocking_wait(&self.meta, Kind::RLock, Mode::Exclusive, Location::caller());
        {
            self.raw.acquire_blocking(
                1,
                me.word(),
                &Twin {
                    method: "RLock::acquire_blocking",
                    instead: "rlock.acquire().await",
                },
            );
            self.became_owner(me);
        }
        #[cfg(feature = "tracing")]
        waiting.finish();
        RLockGuard::new(
            self,
            #[cfg(feature = "tracing")]
            debug::hold(
                self.meta.prim(Kind::RLock),
                waiting.site(),
                Mode::Exclusive,
                false,
            )
            .0,
        )
    }

    /// Whether any task or thread holds the lock right now.
    ///
    /// ```
    /// let rl = warden::RLock::new(());
    /// let g = rl.try_acquire();
    /// assert!(rl.locked());
    /// drop(g);
    /// assert!(!rl.locked());
    /// ```
    pub fn locked(&self) -> bool {
        self.raw.available() == 0
    }

    /// The data, through an exclusive borrow of the lock (no locking needed).
    ///
    /// ```
    /// let mut rl = warden::RLock::new(1);
    /// *rl.get_mut() += 1;
    /// assert_eq!(rl.into_inner(), 2);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.data
    }

    /// Waiter records still allocated: 0 once nobody waits. For leak checks.
    #[cfg(any(feature = "__introspection", warden_model))]
    #[doc(hidden)]
    pub fn __waiter_records(&self) -> usize {
        self.raw.waiter_records()
    }

    /// If `me` owns the lock, counts one more guard.
    ///
    /// The owner test is std's `ReentrantLock` argument: only `me` ever
    /// stores `me`'s word, so while `me` holds a guard the owner word reads
    /// `me`, and otherwise it reads `me` only if `me` stored it and has not
    /// seen it cleared since. That last case needs care here, because a
    /// guard can be dropped by another task (guards are `Send` when
    /// `T: Sync`): if that drop was the last one, it cleared the word and
    /// released `raw` without `me` seeing it, another task may own the lock
    /// by now, and the first load below may still read `me`. Hence:
    ///
    /// * `depth` is raised only from a nonzero value, so a release that
    ///   reached 0 is never undone;
    /// * the raise is an `Acquire` read-modify-write, and every write to
    ///   `depth` after a new owner's `Release` store of 1 is a
    ///   read-modify-write (its release sequence), so if the count we
    ///   raised is a later owner's, we now see that owner's earlier store
    ///   of its own word;
    /// * so the second load reads `me` only if the count was ours; if not,
    ///   we give the level back through [`release`](RLock::release) (which
    ///   completes the other owner's release if it dropped its last guard
    ///   meanwhile) and report "not the owner".
    ///
    /// The owner's own path costs two plain loads and one compare-exchange.
    #[inline]
    fn reenter(&self, me: Owner) -> bool {
        if self.owner.load(Ordering::Relaxed) != me.word() {
            return false;
        }
        let mut depth = self.depth.load(Ordering::Relaxed);
        loop {
            if depth == 0 {
                // Being released (a moved guard's drop): not ours any more.
                return false;
            }
            let raised = depth
                .checked_add(1)
                .expect("RLock re-entered usize::MAX times");
            match self.depth.compare_exchange_weak(
                depth,
                raised,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(actual) => depth = actual,
            }
        }
        if self.owner.load(Ordering::Relaxed) == me.word() {
            true
        } else {
            self.release();
            false
        }
    }

    #[inline]
    fn try_acquire_first(&self, me: Owner) -> bool {
        if self.raw.try_acquire_one() {
            self.became_owner(me);
            true
        } else {
            false
        }
    }

    /// Records `me` as owner with one guard, after taking `raw`.
    #[inline]
    fn became_owner(&self, me: Owner) {
        debug_assert_eq!(self.owner.load(Ordering::Relaxed), 0);
        debug_assert_eq!(self.depth.load(Ordering::Relaxed), 0);
        self.owner.store(me.word(), Ordering::Relaxed);
        // Release: a stale `reenter` that raises this count then sees the
        // owner word just stored (see there).
        self.depth.store(1, Ordering::Release);
    }

    /// Drops one guard's level; the last one clears the owner and gives
    /// `raw` back. `AcqRel`: whichever guard drops last (perhaps on another
    /// thread) has seen everything done under the others, and passes it on
    /// through `raw`'s release to the next owner.
    #[inline]
    fn release(&self) {
        if self.depth.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.owner.store(0, Ordering::Relaxed);
            self.raw.release_one();
        }
    }
}

impl<T: Default> Default for RLock<T> {
    fn default() -> Self {
        RLock::new(T::default())
    }
}

impl<T> From<T> for RLock<T> {
    fn from(value: T) -> Self {
        RLock::new(value)
    }
}

/// Shows the data when the lock is free (or held by the caller) and
/// `<locked>` when another task holds it, without waiting.
impl<T: ?Sized + fmt::Debug> fmt::Debug for RLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("RLock");
        match self.try_acquire() {
            Some(guard) => d.field("data", &&*guard),
            None => d.field("data", &format_args!("<locked>")),
        };
        d.finish_non_exhaustive()
    }
}

/// The future of [`RLock::acquire`]; resolves to an [`RLockGuard`].
///
/// # Cancel safety
///
/// Dropping it withdraws the caller from the queue (or passes the lock on).
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct RLockAcquire<'a, T: ?Sized> {
    lock: Option<&'a RLock<T>>,
    /// The waiter record's key once queued. One word (`Key` is never 0),
    /// so the future is two words and moves in registers where a caller
    /// moves it by value (a three-word future copied through the stack cost
    /// a failed store-to-load forward on every poll in the benchmark
    /// harness).
    key: Option<Key>,
    /// Where `acquire` was called, and the wait's record once queued.
    #[cfg(feature = "tracing")]
    waiting: Waiting,
}

impl<'a, T: ?Sized> Future for RLockAcquire<'a, T> {
    type Output = RLockGuard<'a, T>;

    // `always`: the fast path below is a few loads and one compare-exchange;
    // as a call it costs a sixth more, and whether LLVM inlines it under
    // plain `#[inline]` flipped with unrelated edits elsewhere.
    #[inline(always)]
    #[allow(clippy::inline_always)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<RLockGuard<'a, T>> {
        let this = self.get_mut();
        // Fast path, small enough to inline into the caller: re-entry, or
        // a free lock. The owner is whoever polls: the task (or thread)
        // awaiting us.
        if let (Some(lock), None) = (this.lock, this.key) {
            let me = Owner::current();
            if lock.reenter(me) || lock.try_acquire_first(me) {
                this.lock = None;
                #[cfg(not(feature = "tracing"))]
                return Poll::Ready(RLockGuard::new(lock));
                #[cfg(feature = "tracing")]
                {
                    let (hold, check) = debug::acquired_now(
                        &lock.meta,
                        Kind::RLock,
                        Mode::Exclusive,
                        this.waiting.site(),
                    );
                    let guard = RLockGuard::new(lock, hold);
                    check.run();
                    return Poll::Ready(guard);
                }
            }
        }
        this.poll_queued(cx)
    }
}

impl<'a, T: ?Sized> RLockAcquire<'a, T> {
    /// Joins (or waits in) the queue.
    ///
    /// A queued acquire still re-enters if its task became the owner
    /// meanwhile — another branch of the same `join!` or
    /// `FuturesUnordered` was granted the lock — instead of waiting behind
    /// its own task forever; whichever branch is granted the lock wakes the
    /// others ([`RawSemaphore::wake_owned_by`]) so they get here.
    #[inline(never)]
    #[cfg(feature = "tracing")]
    fn poll_queued(&mut self, cx: &mut Context<'_>) -> Poll<RLockGuard<'a, T>> {
        let lock = self
            .lock
            .expect("RLockAcquire polled after it returned its guard");
        let polled = self.poll_untraced(cx);
        let (hold, check) = std::task::ready!(debug::polled(
            polled,
            &lock.meta,
            Kind::RLock,
            Mode::Exclusive,
            &mut self.waiting,
            cx
        ));
        let guard = RLockGuard::new(lock, hold);
        check.run();
        Poll::Ready(guard)
    }

    /// The untraced `poll_queued` below, for the traced one: `Ready` when
    /// the lock is the caller's.
    #[cfg(feature = "tracing")]
    fn poll_untraced(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let lock = self
            .lock
            .expect("RLockAcquire polled after it returned its guard");
        let me = Owner::current();
        if self.key.is_some() && lock.reenter(me) {
            lock.raw.withdraw(&mut self.key);
            self.lock = None;
            return Poll::Ready(());
        }
        let was_queued = self.key.is_some();
        match lock.raw.poll_acquire(1, me.word(), &mut self.key, cx) {
            Poll::Ready(_) => {
                lock.became_owner(me);
                if was_queued {
                    lock.raw.wake_owned_by(me.word());
                }
                self.lock = None;
                Poll::Ready(())
            }
            Poll::Pending => Poll::Pending,
        }
    }

    #[inline(never)]
    #[cfg(not(feature = "tracing"))]
    fn poll_queued(&mut self, cx: &mut Context<'_>) -> Poll<RLockGuard<'a, T>> {
        let lock = self
            .lock
            .expect("RLockAcquire polled after it returned its guard");
        let me = Owner::current();
        if self.key.is_some() && lock.reenter(me) {
            // Our record is still queued (a permit cannot have been granted
            // to it while our task holds the lock), so withdrawing it gives
            // nothing back.
            lock.raw.withdraw(&mut self.key);
            self.lock = None;
            return Poll::Ready(RLockGuard::new(lock));
        }
        let was_queued = self.key.is_some();
        match lock.raw.poll_acquire(1, me.word(), &mut self.key, cx) {
            Poll::Ready(_) => {
                lock.became_owner(me);
                if was_queued {
                    lock.raw.wake_owned_by(me.word());
                }
                self.lock = None;
                Poll::Ready(RLockGuard::new(lock))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: ?Sized> Drop for RLockAcquire<'_, T> {
    #[inline]
    fn drop(&mut self) {
        if let Some(lock) = self.lock {
            lock.raw.withdraw(&mut self.key);
        }
    }
}

impl<T: ?Sized> fmt::Debug for RLockAcquire<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RLockAcquire")
            .field("queued", &(self.key.is_some()))
            .finish_non_exhaustive()
    }
}

/// One level of holding an [`RLock`]: derefs to `&T` (shared only, since
/// the owner may hold several); the lock is released when the owner's last
/// guard drops.
///
/// `Send` only when `T: Sync` (and `Send`): a guard moved to another task
/// still holds the lock while the owner may hold another guard, so both
/// read `&T`. With a `T` that is not `Sync` (`RefCell`), guards stay in
/// their task: an `RLock<RefCell<_>>` is still shared by many tasks, but a
/// future holding its guard across `.await` runs on a `LocalSet` or
/// current-thread runtime.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use std::sync::atomic::{AtomicU32, Ordering};
/// let rl = warden::RLock::new(AtomicU32::new(0));
/// let g = rl.acquire().await;
/// g.fetch_add(1, Ordering::Relaxed); // mutate through interior mutability
/// assert_eq!(g.load(Ordering::Relaxed), 1);
/// # }
/// ```
#[must_use = "if unused the RLock will immediately be released"]
#[clippy::has_significant_drop]
pub struct RLockGuard<'a, T: ?Sized> {
    lock: &'a RLock<T>,
    /// This level's record for `warden::debug`, removed (by its drop)
    /// after the release.
    #[cfg(feature = "tracing")]
    _hold: Hold,
    _shared: PhantomData<&'a T>,
}

impl<'a, T: ?Sized> RLockGuard<'a, T> {
    fn new(lock: &'a RLock<T>, #[cfg(feature = "tracing")] hold: Hold) -> Self {
        Self {
            lock,
            #[cfg(feature = "tracing")]
            _hold: hold,
            _shared: PhantomData,
        }
    }

    /// The lock this guard holds.
    ///
    /// ```
    /// let rl = warden::RLock::new(());
    /// let g = rl.try_acquire().unwrap();
    /// assert!(std::ptr::eq(warden::RLockGuard::source(&g), &rl));
    /// ```
    pub fn source(guard: &Self) -> &'a RLock<T> {
        guard.lock
    }
}

impl<T: ?Sized> Drop for RLockGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.lock.release();
    }
}

impl<T: ?Sized> Deref for RLockGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.lock.data
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RLockGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for RLockGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}
