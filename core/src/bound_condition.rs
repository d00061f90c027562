//! [`BoundCondition`]: a [`Condition`] that waits only with the guards of
//! one lock, checked at compile time. What `#[condition(lock)]` fields of
//! a `#[guarded]` struct become.

use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;

use crate::condition::{Condition, ConditionWait, ConditionWaitFor};
#[cfg(feature = "tokio")]
use crate::condition::{ConditionWaitForTimeout, ConditionWaitTimeout};
use crate::lock::LockGuard;

/// A [`Condition`] bound to the lock whose data is `T`: its waits accept
/// only the guards of a `Lock<T>`, so waiting with the guard of another
/// lock is a compile error, not a run-time panic.
///
/// A plain `Condition` works with the guard of any [`Lock`](crate::Lock)
/// and panics if it is used with two (as Python's `Condition` owns one
/// lock, and `std::sync::Condvar` panics on a second mutex). In a
/// `#[guarded]` struct, write the condition with the lock it belongs to —
/// `#[condition(lock)] changed: Condition` — and the field becomes a
/// `BoundCondition<BankLock>`: passing the guard of `audit`, of another
/// struct's lock or of a `Lock<u64>` does not compile.
///
/// ```
/// use warden::{Condition, Lock, guarded};
///
/// #[guarded]
/// pub struct Queue {
///     lock: Lock,
///     #[guarded(lock)]
///     items: Vec<u32>,
///     #[condition(lock)]
///     not_empty: Condition, // a `BoundCondition<QueueLock>`
/// }
///
/// impl Queue {
///     async fn pop(&self) -> u32 {
///         let g = self.lock.acquire().await;
///         let mut g = self.not_empty.wait_for(g, |q| !q.items.is_empty()).await;
///         g.items.pop().unwrap()
///     }
///
///     async fn push(&self, item: u32) {
///         self.lock.acquire().await.items.push(item);
///         self.not_empty.notify_one();
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let q = Queue::new(QueueInit {
///     lock: Lock::new(()),
///     items: vec![],
///     not_empty: Condition::new(),
/// });
/// let (item, ()) = tokio::join!(q.pop(), q.push(7));
/// assert_eq!(item, 7);
/// # }
/// ```
///
/// It waits with a [`LockGuard<'_, T>`](LockGuard), the guard a lock field
/// gives, so the guard of any other lock is rejected at the argument — one
/// error, rustc's "mismatched types", naming the lock it expected
/// (`LockGuard<'_, QueueLock>`):
///
/// ```compile_fail,E0308
/// # use warden::{Condition, Lock, guarded};
/// # #[guarded]
/// # pub struct Queue { lock: Lock, #[guarded(lock)] items: Vec<u32>, #[condition(lock)] not_empty: Condition }
/// async fn wrong(q: &Queue, other: &Lock<Vec<u32>>) {
///     let g = other.acquire().await;
///     q.not_empty.wait(g).await; // error: expected `LockGuard<'_, QueueLock>`
/// }
/// ```
///
/// # What stays a run-time check
///
/// The binding is by type: every `Queue` has a `not_empty` bound to
/// `Lock<QueueLock>`, so the guard of *another `Queue`'s* lock has the
/// right type and compiles. That case keeps `Condition`'s run-time check:
/// the condition ties itself to the first lock it waits with, and panics if
/// used with a second. (Telling instances apart by type would need a brand
/// — an invariant lifetime — on every `Queue`, which no caller could name
/// in a field or a `static`.)
///
/// Everything else is [`Condition`]'s: the same notifications, the same
/// cancel safety, no spurious wake-ups, the same size. (A `Condition` also
/// takes an [`OwnedLockGuard`](crate::OwnedLockGuard), which needs an
/// `Arc<Lock<T>>`: a lock field is not one, so a `BoundCondition` takes the
/// borrowed guard only.)
pub struct BoundCondition<T: ?Sized> {
    condition: Condition,
    /// The lock's data type; `fn() -> T` keeps `BoundCondition` `Send`,
    /// `Sync` and free of drop-check whatever `T` is.
    lock: PhantomData<fn() -> T>,
}

impl<T: ?Sized> BoundCondition<T> {
    const_fn! {
        /// Creates a condition with no waiters, bound to `Lock<T>`'s guards.
        /// `#[guarded]` builds it from the `Condition` you give in the
        /// `Init` struct; build one yourself where you write the struct by
        /// hand.
        ///
        /// ```
        /// use warden::{BoundCondition, Lock};
        /// struct Ready {
        ///     lock: Lock<bool>,
        ///     changed: BoundCondition<bool>,
        /// }
        /// let ready = Ready { lock: Lock::new(false), changed: BoundCondition::new() };
        /// ready.changed.notify_all();
        /// # assert!(!ready.lock.into_inner());
        /// ```
        pub const fn new() -> BoundCondition<T> {
            BoundCondition::from_condition(Condition::new())
        }
    }

    /// Binds `condition` (`#[guarded]`'s `new` does, through
    /// `__private::bind`).
    pub(crate) const fn from_condition(condition: Condition) -> BoundCondition<T> {
        BoundCondition {
            condition,
            lock: PhantomData,
        }
    }

    /// Releases the lock, waits for a notification, re-takes the lock:
    /// [`Condition::wait`], for the guards of `Lock<T>` only.
    ///
    /// # Panics
    ///
    /// If this condition was used before with another lock of the same type
    /// (another instance's: see [What stays a run-time
    /// check](BoundCondition#what-stays-a-run-time-check)).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`Condition::wait`]: dropping the future releases the
    /// lock and leaves the condition as if this waiter had never waited; a
    /// notification it had received passes on to the next waiter.
    ///
    /// ```
    /// # use warden::{Condition, Lock, guarded};
    /// #[guarded]
    /// struct Flag {
    ///     lock: Lock,
    ///     #[guarded(lock)]
    ///     up: bool,
    ///     #[condition(lock)]
    ///     changed: Condition,
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let flag = Flag::new(FlagInit { lock: Lock::new(()), up: false, changed: Condition::new() });
    /// let waiter = async {
    ///     let mut g = flag.lock.acquire().await;
    ///     while !g.up {
    ///         g = flag.changed.wait(g).await;
    ///     }
    /// };
    /// let raiser = async {
    ///     flag.lock.acquire().await.up = true;
    ///     flag.changed.notify_all();
    /// };
    /// tokio::join!(waiter, raiser);
    /// # }
    /// ```
    #[track_caller]
    pub fn wait<'g>(&self, guard: LockGuard<'g, T>) -> ConditionWait<'_, LockGuard<'g, T>> {
        self.condition.wait(guard)
    }

    /// Waits until `pred` holds, re-checking it under the lock after each
    /// notification: [`Condition::wait_for`]. Returns at once if `pred`
    /// already holds.
    ///
    /// # Panics
    ///
    /// As [`wait`](BoundCondition::wait), and if `pred` panics.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`wait`](BoundCondition::wait).
    ///
    /// ```
    /// # use warden::{Condition, Lock, guarded};
    /// #[guarded]
    /// struct Count {
    ///     lock: Lock,
    ///     #[guarded(lock)]
    ///     n: u32,
    ///     #[condition(lock)]
    ///     changed: Condition,
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let c = Count::new(CountInit { lock: Lock::new(()), n: 3, changed: Condition::new() });
    /// let g = c.changed.wait_for(c.lock.acquire().await, |data| data.n > 0).await;
    /// assert_eq!(g.n, 3);
    /// # }
    /// ```
    #[cfg_attr(feature = "tracing", track_caller)]
    pub fn wait_for<'g, P: FnMut(&mut T) -> bool>(
        &self,
        guard: LockGuard<'g, T>,
        pred: P,
    ) -> ConditionWaitFor<'_, LockGuard<'g, T>, P> {
        self.condition.wait_for(guard, pred)
    }

    /// Waits for a notification for at most `timeout`, then re-takes the
    /// lock either way: [`Condition::wait_timeout`]. `true` if notified.
    ///
    /// Requires feature `tokio` (tokio's clock times it).
    ///
    /// # Panics
    ///
    /// As [`wait`](BoundCondition::wait), and outside a tokio runtime with
    /// the time driver.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`wait`](BoundCondition::wait).
    ///
    /// ```
    /// # use warden::{Condition, Lock, guarded};
    /// # #[guarded]
    /// # struct Count { lock: Lock, #[guarded(lock)] n: u32, #[condition(lock)] changed: Condition }
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// use std::time::Duration;
    /// let c = Count::new(CountInit { lock: Lock::new(()), n: 0, changed: Condition::new() });
    /// let (g, notified) = c
    ///     .changed
    ///     .wait_timeout(c.lock.acquire().await, Duration::from_secs(1))
    ///     .await;
    /// assert!(!notified);
    /// assert_eq!(g.n, 0);
    /// # }
    /// ```
    #[cfg(feature = "tokio")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    #[track_caller]
    pub fn wait_timeout<'g>(
        &self,
        guard: LockGuard<'g, T>,
        timeout: Duration,
    ) -> ConditionWaitTimeout<'_, LockGuard<'g, T>> {
        self.condition.wait_timeout(guard, timeout)
    }

    /// Waits until `pred` holds, for at most `timeout` in all:
    /// [`Condition::wait_for_timeout`], Python's `wait_for(predicate,
    /// timeout)`. Returns the guard (held again either way) and the
    /// predicate's last value. Requires feature `tokio`.
    ///
    /// # Panics
    ///
    /// As [`wait_for`](BoundCondition::wait_for), and outside a tokio
    /// runtime with the time driver.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`wait`](BoundCondition::wait).
    ///
    /// ```
    /// # use warden::{Condition, Lock, guarded};
    /// # #[guarded]
    /// # struct Count { lock: Lock, #[guarded(lock)] n: u32, #[condition(lock)] changed: Condition }
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// use std::time::Duration;
    /// let c = Count::new(CountInit { lock: Lock::new(()), n: 0, changed: Condition::new() });
    /// let (mut g, ok) = c
    ///     .changed
    ///     .wait_for_timeout(c.lock.acquire().await, Duration::from_secs(1), |d| d.n > 0)
    ///     .await;
    /// assert!(!ok);
    /// g.n += 1; // the lock came back with the guard
    /// # }
    /// ```
    #[cfg(feature = "tokio")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    #[track_caller]
    pub fn wait_for_timeout<'g, P: FnMut(&mut T) -> bool>(
        &self,
        guard: LockGuard<'g, T>,
        timeout: Duration,
        pred: P,
    ) -> ConditionWaitForTimeout<'_, LockGuard<'g, T>, P> {
        self.condition.wait_for_timeout(guard, timeout, pred)
    }

    /// Waits on this thread: the blocking twin of
    /// [`wait`](BoundCondition::wait) ([`Condition::wait_blocking`]).
    ///
    /// # Panics
    ///
    /// As [`wait`](BoundCondition::wait), or if called on a thread that runs
    /// async tasks (use `.wait(guard).await` there).
    ///
    /// ```
    /// # use warden::{Condition, Lock, guarded};
    /// # #[guarded]
    /// # struct Count { lock: Lock, #[guarded(lock)] n: u32, #[condition(lock)] changed: Condition }
    /// use std::sync::Arc;
    /// let c = Arc::new(Count::new(CountInit { lock: Lock::new(()), n: 0, changed: Condition::new() }));
    /// let waiter = std::thread::spawn({
    ///     let c = c.clone();
    ///     move || {
    ///         let mut g = c.lock.acquire_blocking();
    ///         while g.n == 0 {
    ///             g = c.changed.wait_blocking(g);
    ///         }
    ///         g.n
    ///     }
    /// });
    /// c.lock.acquire_blocking().n = 1;
    /// c.changed.notify_all();
    /// assert_eq!(waiter.join().unwrap(), 1);
    /// ```
    #[track_caller]
    pub fn wait_blocking<'g>(&self, guard: LockGuard<'g, T>) -> LockGuard<'g, T> {
        self.condition.wait_blocking(guard)
    }

    /// Waits on this thread until `pred` holds: the blocking twin of
    /// [`wait_for`](BoundCondition::wait_for).
    ///
    /// # Panics
    ///
    /// As [`wait_blocking`](BoundCondition::wait_blocking), and if `pred`
    /// panics.
    ///
    /// ```
    /// # use warden::{Condition, Lock, guarded};
    /// # #[guarded]
    /// # struct Count { lock: Lock, #[guarded(lock)] n: u32, #[condition(lock)] changed: Condition }
    /// let c = Count::new(CountInit { lock: Lock::new(()), n: 1, changed: Condition::new() });
    /// let g = c.changed.wait_for_blocking(c.lock.acquire_blocking(), |data| data.n == 1);
    /// assert_eq!(g.n, 1);
    /// ```
    #[track_caller]
    pub fn wait_for_blocking<'g>(
        &self,
        guard: LockGuard<'g, T>,
        pred: impl FnMut(&mut T) -> bool,
    ) -> LockGuard<'g, T> {
        self.condition.wait_for_blocking(guard, pred)
    }

    /// Waits on this thread for at most `timeout`: the blocking twin of
    /// [`wait_timeout`](BoundCondition::wait_timeout). `false` means timed
    /// out.
    ///
    /// # Panics
    ///
    /// As [`wait_blocking`](BoundCondition::wait_blocking).
    ///
    /// ```
    /// # use warden::{Condition, Lock, guarded};
    /// # #[guarded]
    /// # struct Count { lock: Lock, #[guarded(lock)] n: u32, #[condition(lock)] changed: Condition }
    /// use std::time::Duration;
    /// let c = Count::new(CountInit { lock: Lock::new(()), n: 0, changed: Condition::new() });
    /// let (g, notified) = c
    ///     .changed
    ///     .wait_timeout_blocking(c.lock.acquire_blocking(), Duration::from_millis(1));
    /// assert!(!notified);
    /// assert_eq!(g.n, 0);
    /// ```
    #[track_caller]
    pub fn wait_timeout_blocking<'g>(
        &self,
        guard: LockGuard<'g, T>,
        timeout: Duration,
    ) -> (LockGuard<'g, T>, bool) {
        self.condition.wait_timeout_blocking(guard, timeout)
    }

    /// Waits on this thread until `pred` holds, for at most `timeout` in
    /// all: the blocking twin of
    /// [`wait_for_timeout`](BoundCondition::wait_for_timeout). Returns the
    /// guard and the predicate's last value.
    ///
    /// # Panics
    ///
    /// As [`wait_blocking`](BoundCondition::wait_blocking), and if `pred`
    /// panics.
    ///
    /// ```
    /// # use warden::{Condition, Lock, guarded};
    /// # #[guarded]
    /// # struct Count { lock: Lock, #[guarded(lock)] n: u32, #[condition(lock)] changed: Condition }
    /// use std::time::Duration;
    /// let c = Count::new(CountInit { lock: Lock::new(()), n: 0, changed: Condition::new() });
    /// let (g, ok) = c.changed.wait_for_timeout_blocking(
    ///     c.lock.acquire_blocking(),
    ///     Duration::from_millis(1),
    ///     |d| d.n > 0,
    /// );
    /// assert!(!ok && g.n == 0);
    /// ```
    #[track_caller]
    pub fn wait_for_timeout_blocking<'g>(
        &self,
        guard: LockGuard<'g, T>,
        timeout: Duration,
        pred: impl FnMut(&mut T) -> bool,
    ) -> (LockGuard<'g, T>, bool) {
        self.condition
            .wait_for_timeout_blocking(guard, timeout, pred)
    }

    /// Wakes up to `n` waiters not yet notified, oldest first:
    /// [`Condition::notify`]. Needs no lock.
    ///
    /// ```
    /// let cond = warden::BoundCondition::<u8>::new();
    /// cond.notify(2); // nobody waits: nothing happens
    /// ```
    pub fn notify(&self, n: usize) {
        self.condition.notify(n);
    }

    /// Wakes one waiter: `notify(1)`.
    ///
    /// ```
    /// warden::BoundCondition::<u8>::new().notify_one();
    /// ```
    pub fn notify_one(&self) {
        self.condition.notify_one();
    }

    /// Wakes every waiter: Python's `notify_all()`.
    ///
    /// ```
    /// warden::BoundCondition::<u8>::new().notify_all();
    /// ```
    pub fn notify_all(&self) {
        self.condition.notify_all();
    }

    /// Waiters not yet notified, right now: [`Condition::waiters`].
    ///
    /// ```
    /// assert_eq!(warden::BoundCondition::<u8>::new().waiters(), 0);
    /// ```
    pub fn waiters(&self) -> usize {
        self.condition.waiters()
    }
}

impl<T: ?Sized> Default for BoundCondition<T> {
    fn default() -> Self {
        BoundCondition::new()
    }
}

impl<T: ?Sized> fmt::Debug for BoundCondition<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.condition, f)
    }
}
