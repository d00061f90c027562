//! [`RwLock`]: a reader-writer lock holding its data. Python has none;
//! tokio's and async-lock's `RwLock` are its peers.

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
use crate::raw::rwlock::RawRwLock;
#[cfg(feature = "tracing")]
use std::panic::Location;

/// A reader-writer lock for async code, holding the data it protects: any
/// number of readers at once, or one writer.
///
/// Python's `threading` has no reader-writer lock (see the book's `RwLock`
/// chapter for what Python programs do instead); this is the lock of
/// `tokio::sync::RwLock` and `async_lock::RwLock`, with warden's
/// guarantees: cancel-safe waits, blocking twins for threads, and a
/// fairness policy stated exactly below.
///
/// | what                                   | warden                                   |
/// |----------------------------------------|------------------------------------------|
/// | create                                 | `let rw = RwLock::new(data);`            |
/// | read (shared)                          | `let g = rw.read().await;` → `&T`        |
/// | write (exclusive)                      | `let mut g = rw.write().await;` → `&mut T` |
/// | without waiting                        | `rw.try_read()`, `rw.try_write()`        |
/// | with a timeout                         | `timeout(d, rw.write()).await`           |
/// | from a plain thread                    | `rw.read_blocking()`, `rw.write_blocking()` |
/// | release                                | `drop(guard)` (or the end of its scope)  |
///
/// # Which lock should I use?
///
/// * [`RwLock`] when many tasks read the data, few write it, and readers
///   hold it long enough (across an `.await`, or for real work) that
///   letting them in together pays.
/// * [`Lock`](crate::Lock) otherwise: it is simpler and, when critical
///   sections are short, faster — a reader of an `RwLock` does the same
///   atomic work as a `Lock`'s acquire, and gains only when readers overlap.
/// * [`std::sync::RwLock`] for short sections that never `.await`.
///
/// # Fairness: strict arrival order, readers of a run admitted together
///
/// * **First come, first served.** While any task or thread waits, every
///   newcomer waits too: [`read`](RwLock::read) and
///   [`write`](RwLock::write) queue behind the waiters, and
///   [`try_read`](RwLock::try_read) and [`try_write`](RwLock::try_write)
///   fail. Nobody overtakes a waiter, not even the task that just released
///   the lock and asks again without yielding.
/// * **Write-preferring.** So once a writer waits, readers that arrive
///   after it queue behind it, even while other readers hold the lock; the
///   writer gets the lock as soon as the readers ahead of it have left. No
///   writer starves behind a stream of readers.
/// * **Readers are admitted by runs.** When a writer releases the lock (or
///   a waiting writer gives up), all the readers at the front of the queue —
///   up to the next waiting writer — are handed the lock together. So no
///   reader starves behind a stream of writers either: a reader waits for
///   at most the writers that queued before it.
///
/// This is the policy of `tokio::sync::RwLock` (a fair semaphore underneath
/// it too). `async_lock::RwLock` is write-preferring but not ordered: a
/// running task may take the lock before a woken one.
///
/// ```
/// # use std::future::Future;
/// # use std::pin::pin;
/// # use std::task::{Context, Poll, Waker};
/// # let mut cx = Context::from_waker(Waker::noop());
/// let rw = warden::RwLock::new(0);
/// let reading = rw.try_read().unwrap();
/// let mut writer = pin!(rw.write());
/// assert!(writer.as_mut().poll(&mut cx).is_pending()); // waits for `reading`
/// // A reader arriving now queues behind the writer.
/// assert!(rw.try_read().is_none());
/// let mut late_reader = pin!(rw.read());
/// assert!(late_reader.as_mut().poll(&mut cx).is_pending());
///
/// drop(reading); // hands the lock to the writer
/// let Poll::Ready(mut w) = writer.as_mut().poll(&mut cx) else { panic!() };
/// *w += 1;
/// drop(w); // hands the lock to the reader
/// let Poll::Ready(r) = late_reader.as_mut().poll(&mut cx) else { panic!() };
/// assert_eq!(*r, 1);
/// ```
///
/// # Memory ordering
///
/// A writer's release *happens before* every later acquisition (read or
/// write) returns, and each reader's release happens before the next
/// writer's acquisition returns. Uncontended, taking and releasing a read
/// or the write lock is one compare-exchange each.
///
/// # Waiting for a lock you hold
///
/// A task that holds a read guard and waits for the write lock waits for
/// itself, forever (as with every reader-writer lock: there is no upgrade).
/// So does a task that holds a read guard and asks for another one while a
/// writer waits: the second read queues behind the writer, which waits for
/// the first. Take the write lock from the start, or drop the read guard
/// first.
///
/// # Panics and poisoning
///
/// A guard dropped while a panic unwinds releases the lock; there is no
/// poisoning (as [`Lock`](crate::Lock)): data written through a write
/// guard may be half-updated.
///
/// # Examples
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::Arc;
/// use warden::RwLock;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let config = Arc::new(RwLock::new(HashMap::from([("mode", "fast")])));
/// let readers: Vec<_> = (0..4)
///     .map(|_| {
///         let config = config.clone();
///         tokio::spawn(async move { config.read().await["mode"] })
///     })
///     .collect();
/// config.write().await.insert("mode", "safe");
/// for r in readers {
///     let mode = r.await.unwrap();
///     assert!(mode == "fast" || mode == "safe");
/// }
/// assert_eq!(config.read().await["mode"], "safe");
/// # }
/// ```
pub struct RwLock<T: ?Sized = ()> {
    /// One permit per reader, all of them for a writer, in a fair queue
    /// (`raw::rwlock` says why and how).
    raw: RawRwLock,
    /// Name, rank and number for `warden::debug` (feature `tracing`).
    #[cfg(feature = "tracing")]
    meta: Meta,
    data: UnsafeCell<T>,
}

// `Send` comes from the fields: `RawRwLock` is `Send + Sync`, and
// `UnsafeCell<T>` is `Send` when `T` is.
//
// SAFETY: through `&RwLock<T>` a caller gets `&T` only through read guards
// and `&mut T` only through the write guard, which exist only while `raw`
// holds one permit, respectively all of them, so a `&mut T` is never
// alive with any other reference. Readers on several threads share `&T`
// (needs `T: Sync`); a writer on any thread may move the `T` out (needs
// `T: Send`) — the bounds of `std::sync::RwLock`.
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLock<T> {}

impl<T> RwLock<T> {
    const_fn! {
        /// Creates an unlocked reader-writer lock holding `value`.
        ///
        /// ```
        /// static SETTINGS: warden::RwLock<Vec<u8>> = warden::RwLock::new(Vec::new());
        /// assert!(SETTINGS.try_read().unwrap().is_empty());
        /// ```
        pub const fn new(value: T) -> RwLock<T> {
            RwLock {
                raw: RawRwLock::new(),
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
        /// costs nothing. A `const fn`, like `new`.
        ///
        /// ```
        /// static SETTINGS: warden::RwLock<u8> = warden::RwLock::new(0).named("settings");
        /// assert_eq!(*SETTINGS.try_read().unwrap(), 0);
        /// ```
        #[must_use]
        pub const fn named(self, name: &'static str) -> RwLock<T> {
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
        ) -> RwLock<T> {
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
    /// let rw = warden::RwLock::new(vec![1, 2]);
    /// assert_eq!(rw.into_inner(), vec![1, 2]);
    /// ```
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> RwLock<T> {
    /// Waits for shared (read) access and returns a guard that releases it
    /// on drop. Any number of readers hold the lock at once; a reader waits
    /// while a writer holds it, and also whenever anyone is waiting (see
    /// [Fairness](RwLock#fairness-strict-arrival-order-readers-of-a-run-admitted-together)).
    ///
    /// Behaves as `async fn read(&self) -> RwLockReadGuard<'_, T>`; the
    /// future is a named type ([`RwLockRead`]), two words and `Unpin`.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe. Dropping the future before it completes leaves the lock
    /// as if this call had never been made: its place in the queue is
    /// withdrawn, and if it had been handed a read lock already, that is
    /// released (to a writer waiting for it, if it was the last reader). So
    /// `tokio::time::timeout(d, rw.read())` gives up cleanly.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let rw = warden::RwLock::new(5);
    /// let a = rw.read().await;
    /// let b = rw.read().await; // readers share the lock
    /// assert_eq!(*a + *b, 10);
    /// # }
    /// ```
    #[inline]
    #[cfg_attr(feature = "tracing", track_caller)]
    pub fn read(&self) -> RwLockRead<'_, T> {
        RwLockRead {
            lock: Some(self),
            key: None,
            #[cfg(feature = "tracing")]
            waiting: Waiting::here(),
        }
    }

    /// Waits for exclusive (write) access and returns a guard that releases
    /// it on drop. The writer waits until the readers and the writer ahead
    /// of it have left; readers that arrive meanwhile wait behind it.
    ///
    /// Behaves as `async fn write(&self) -> RwLockWriteGuard<'_, T>`; the
    /// future is a named type ([`RwLockWrite`]), two words and `Unpin`.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe. Dropping the future before it completes leaves the lock
    /// as if this call had never been made: its place in the queue is
    /// withdrawn (the readers queued behind it are let in if the lock is
    /// only read), and if it had been handed the lock, the lock passes on.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use std::time::Duration;
    /// let rw = warden::RwLock::new(Vec::new());
    /// let reading = rw.read().await;
    /// // A writer cannot get in while `reading` is held: give up after 10 ms.
    /// let gave_up = tokio::time::timeout(Duration::from_millis(10), rw.write()).await;
    /// assert!(gave_up.is_err());
    /// drop(reading);
    /// rw.write().await.push("written");
    /// # }
    /// ```
    #[inline]
    #[cfg_attr(feature = "tracing", track_caller)]
    pub fn write(&self) -> RwLockWrite<'_, T> {
        RwLockWrite {
            lock: Some(self),
            key: None,
            #[cfg(feature = "tracing")]
            waiting: Waiting::here(),
        }
    }

    /// Takes a read lock if that needs no waiting: no writer holds the lock
    /// and nobody waits for it (a waiting writer, or readers queued behind
    /// one, go first).
    ///
    /// ```
    /// let rw = warden::RwLock::new(1);
    /// let a = rw.try_read().unwrap();
    /// assert!(rw.try_read().is_some()); // shared
    /// assert!(rw.try_write().is_none());
    /// drop(a);
    /// ```
    #[inline]
    #[cfg_attr(feature = "tracing", track_caller)]
    pub fn try_read(&self) -> Option<RwLockReadGuard<'_, T>> {
        #[cfg(feature = "tracing")]
        let site = Location::caller();
        self.raw.try_read().then(|| {
            RwLockReadGuard::new(
                self,
                #[cfg(feature = "tracing")]
                debug::tried(&self.meta, Kind::RwLock, Mode::Read, site),
            )
        })
    }

    /// Takes the write lock if nobody holds the lock and nobody waits.
    ///
    /// ```
    /// let rw = warden::RwLock::new(1);
    /// *rw.try_write().unwrap() += 1;
    /// let r = rw.try_read().unwrap();
    /// assert!(rw.try_write().is_none()); // a reader holds it
    /// assert_eq!(*r, 2);
    /// ```
    #[inline]
    #[cfg_attr(feature = "tracing", track_caller)]
    pub fn try_write(&self) -> Option<RwLockWriteGuard<'_, T>> {
        #[cfg(feature = "tracing")]
        let site = Location::caller();
        self.raw.try_write().then(|| {
            RwLockWriteGuard::new(
                self,
                #[cfg(feature = "tracing")]
                debug::tried(&self.meta, Kind::RwLock, Mode::Write, site),
            )
        })
    }

    /// Waits for a read lock and returns a guard that keeps the lock alive
    /// through an [`Arc`], for guards that must be `'static` (moved into a
    /// spawned task, stored in a struct).
    ///
    /// Behaves as `async fn read_owned(self: Arc<Self>) -> OwnedRwLockReadGuard<T>`;
    /// the named future ([`RwLockReadOwned`]) is two words and `Unpin`.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`read`](RwLock::read).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use std::sync::Arc;
    /// let rw = Arc::new(warden::RwLock::new(String::from("shared")));
    /// let guard = rw.clone().read_owned().await;
    /// let len = tokio::spawn(async move { guard.len() }).await.unwrap();
    /// assert_eq!(len, 6);
    /// # }
    /// ```
    #[cfg_attr(feature = "tracing", track_caller)]
    pub fn read_owned(self: Arc<Self>) -> RwLockReadOwned<T> {
        RwLockReadOwned {
            lock: Some(self),
            key: None,
            #[cfg(feature = "tracing")]
            waiting: Waiting::here(),
        }
    }

    /// Waits for the write lock and returns a guard that keeps the lock
    /// alive through an [`Arc`].
    ///
    /// Behaves as `async fn write_owned(self: Arc<Self>) -> OwnedRwLockWriteGuard<T>`;
    /// the named future ([`RwLockWriteOwned`]) is two words and `Unpin`.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`write`](RwLock::write).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use std::sync::Arc;
    /// let rw = Arc::new(warden::RwLock::new(0));
    /// let mut guard = rw.clone().write_owned().await;
    /// tokio::spawn(async move { *guard = 7 }).await.unwrap();
    /// assert_eq!(*rw.read().await, 7);
    /// # }
    /// ```
    #[cfg_attr(feature = "tracing", track_caller)]
    pub fn write_owned(self: Arc<Self>) -> RwLockWriteOwned<T> {
        RwLockWriteOwned {
            lock: Some(self),
            key: None,
            #[cfg(feature = "tracing")]
            waiting: Waiting::here(),
        }
    }

    /// Takes a read lock without waiting, as an owned guard (see
    /// [`try_read`](RwLock::try_read)).
    ///
    /// ```
    /// use std::sync::Arc;
    /// let rw = Arc::new(warden::RwLock::new(1));
    /// let guard = rw.clone().try_read_owned().unwrap();
    /// assert!(rw.try_write().is_none());
    /// drop(guard);
    /// assert!(rw.try_write().is_some());
    /// ```
    #[cfg_attr(feature = "tracing", track_caller)]
    pub fn try_read_owned(self: Arc<Self>) -> Option<OwnedRwLockReadGuard<T>> {
        if !self.raw.try_read() {
            return None;
        }
        #[cfg(feature = "tracing")]
        let hold = debug::tried(&self.meta, Kind::RwLock, Mode::Read, Location::caller());
        Some(OwnedRwLockReadGuard::new(
            self,
            #[cfg(feature = "tracing")]
            hold,
        ))
    }

    /// Takes the write lock without waiting, as an owned guard (see
    /// [`try_write`](RwLock::try_write)).
    ///
    /// ```
    /// use std::sync::Arc;
    /// let rw = Arc::new(warden::RwLock::new(1));
    /// let mut guard = rw.clone().try_write_owned().unwrap();
    /// *guard += 1;
    /// assert!(rw.try_read().is_none());
    /// drop(guard);
    /// assert_eq!(*rw.try_read().unwrap(), 2);
    /// ```
    #[cfg_attr(feature = "tracing", track_caller)]
    pub fn try_write_owned(self: Arc<Self>) -> Option<OwnedRwLockWriteGuard<T>> {
        if !self.raw.try_write() {
            return None;
        }
        #[cfg(feature = "tracing")]
        let hold = debug::tried(&self.meta, Kind::RwLock, Mode::Write, Location::caller());
        Some(OwnedRwLockWriteGuard::new(
            self,
            #[cfg(feature = "tracing")]
            hold,
        ))
    }

    /// Waits for a read lock on this thread: the blocking twin of
    /// [`read`](RwLock::read), for code on plain threads or in
    /// `tokio::task::spawn_blocking`. Shares the queue (and its order) with
    /// async waiters.
    ///
    /// # Panics
    ///
    /// If it would have to wait and this is a thread that runs async tasks
    /// (a runtime worker, or the thread in a runtime's `block_on`), where
    /// waiting would stall the runtime: use `.read().await` there.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let rw = Arc::new(warden::RwLock::new(vec![1, 2, 3]));
    /// let sums: Vec<_> = (0..3)
    ///     .map(|_| {
    ///         let rw = rw.clone();
    ///         std::thread::spawn(move || rw.read_blocking().iter().sum::<i32>())
    ///     })
    ///     .collect();
    /// for s in sums {
    ///     assert_eq!(s.join().unwrap(), 6);
    /// }
    /// ```
    #[track_caller]
    pub fn read_blocking(&self) -> RwLockReadGuard<'_, T> {
        if self.raw.try_read() {
            #[cfg(feature = "tracing")]
            {
                let (hold, check) =
                    debug::acquired_now(&self.meta, Kind::RwLock, Mode::Read, Location::caller());
                let guard = RwLockReadGuard::new(self, hold);
                check.run();
                return guard;
            }
            #[cfg(not(feature = "tracing"))]
            return RwLockReadGuard::new(self);
        }
        #[cfg(feature = "tracing")]
        let mut waiting =
            debug::blocking_wait(&self.meta, Kind::RwLock, Mode::Read, Location::caller());
        self.raw.read_blocking(&Twin {
            method: "RwLock::read_blocking",
            instead: "rwlock.read().await",
        });
        #[cfg(feature = "tracing")]
        waiting.finish();
        RwLockReadGuard::new(
            self,
            #[cfg(feature = "tracing")]
            debug::hold(
                self.meta.prim(Kind::RwLock),
                waiting.site(),
                Mode::Read,
                false,
            )
            .0,
        )
    }

    /// Waits for the write lock on this thread: the blocking twin of
    /// [`write`](RwLock::write).
    ///
    /// # Panics
    ///
    /// If it would have to wait and this is a thread that runs async tasks;
    /// use `.write().await` there.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let rw = Arc::new(warden::RwLock::new(0));
    /// let threads: Vec<_> = (0..4)
    ///     .map(|_| {
    ///         let rw = rw.clone();
    ///         std::thread::spawn(move || *rw.write_blocking() += 1)
    ///     })
    ///     .collect();
    /// threads.into_iter().for_each(|t| t.join().unwrap());
    /// assert_eq!(*rw.read_blocking(), 4);
    /// ```
    #[track_caller]
    pub fn write_blocking(&self) -> RwLockWriteGuard<'_, T> {
        if self.raw.try_write() {
            #[cfg(feature = "tracing")]
            {
                let (hold, check) =
                    debug::acquired_now(&self.meta, Kind::RwLock, Mode::Write, Location::caller());
                let guard = RwLockWriteGuard::new(self, hold);
                check.run();
                return guard;
            }
            #[cfg(not(feature = "tracing"))]
            return RwLockWriteGuard::new(self);
        }
        #[cfg(feature = "tracing")]
        let mut waiting =
            debug::blocking_wait(&self.meta, Kind::RwLock, Mode::Write, Location::caller());
        self.raw.write_blocking(&Twin {
            method: "RwLock::write_blocking",
            instead: "rwlock.write().await",
        });
        #[cfg(feature = "tracing")]
        waiting.finish();
        RwLockWriteGuard::new(
            self,
            #[cfg(feature = "tracing")]
            debug::hold(
                self.meta.prim(Kind::RwLock),
                waiting.site(),
                Mode::Write,
                false,
            )
            .0,
        )
    }

    /// The data, through an exclusive borrow of the lock: no locking needed,
    /// the borrow checker already proves nobody else holds it.
    ///
    /// ```
    /// let mut rw = warden::RwLock::new(1);
    /// *rw.get_mut() += 1;
    /// assert_eq!(rw.into_inner(), 2);
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
}

impl<T: Default> Default for RwLock<T> {
    fn default() -> Self {
        RwLock::new(T::default())
    }
}

impl<T> From<T> for RwLock<T> {
    fn from(value: T) -> Self {
        RwLock::new(value)
    }
}

/// Shows the data when it can be read without waiting, and `<locked>`
/// otherwise (a writer holds the lock, or someone waits for it); never
/// waits.
impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("RwLock");
        match self.try_read() {
            Some(guard) => d.field("data", &&*guard),
            None => d.field("data", &format_args!("<locked>")),
        };
        d.finish_non_exhaustive()
    }
}

// ---------------------------------------------------------------------------
// Futures
// ---------------------------------------------------------------------------

/// Polls for a read lock: the inlined fast path (no writer, nobody
/// queued), else queue as / poll waiter `key`.
#[cfg(not(feature = "tracing"))]
#[inline]
fn poll_read(raw: &RawRwLock, key: &mut Option<Key>, cx: &mut Context<'_>) -> Poll<()> {
    if key.is_none() && raw.try_read() {
        return Poll::Ready(());
    }
    raw.poll_read(key, cx)
}

/// As [`poll_read`], for the write lock.
#[cfg(not(feature = "tracing"))]
#[inline]
fn poll_write(raw: &RawRwLock, key: &mut Option<Key>, cx: &mut Context<'_>) -> Poll<()> {
    if key.is_none() && raw.try_write() {
        return Poll::Ready(());
    }
    raw.poll_write(key, cx)
}

/// `poll_read` or `poll_write`, recorded for `warden::debug`.
#[cfg(feature = "tracing")]
fn poll_traced<T: ?Sized>(
    lock: &RwLock<T>,
    write: bool,
    key: &mut Option<Key>,
    waiting: &mut Waiting,
    cx: &mut Context<'_>,
) -> Poll<(Hold, debug::Check)> {
    let (mode, free) = if write {
        (Mode::Write, key.is_none() && lock.raw.try_write())
    } else {
        (Mode::Read, key.is_none() && lock.raw.try_read())
    };
    if free {
        return Poll::Ready(debug::acquired_now(
            &lock.meta,
            Kind::RwLock,
            mode,
            waiting.site(),
        ));
    }
    let polled = if write {
        lock.raw.poll_write(key, cx)
    } else {
        lock.raw.poll_read(key, cx)
    };
    debug::polled(polled, &lock.meta, Kind::RwLock, mode, waiting, cx)
}

/// The future of [`RwLock::read`]; resolves to an [`RwLockReadGuard`].
///
/// # Cancel safety
///
/// Dropping it withdraws the caller from the queue (or releases the read
/// lock if it had been handed one already).
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct RwLockRead<'a, T: ?Sized> {
    /// `None` once the guard has been returned.
    lock: Option<&'a RwLock<T>>,
    /// Our waiter record in the lock's queue, once queued.
    key: Option<Key>,
    /// Where it was called, and the wait's record once queued.
    #[cfg(feature = "tracing")]
    waiting: Waiting,
}

impl<'a, T: ?Sized> Future for RwLockRead<'a, T> {
    type Output = RwLockReadGuard<'a, T>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<RwLockReadGuard<'a, T>> {
        let this = self.get_mut();
        let lock = this
            .lock
            .expect("RwLockRead polled after it returned its guard");
        #[cfg(not(feature = "tracing"))]
        std::task::ready!(poll_read(&lock.raw, &mut this.key, cx));
        #[cfg(feature = "tracing")]
        let (hold, check) = std::task::ready!(poll_traced(
            lock,
            false,
            &mut this.key,
            &mut this.waiting,
            cx
        ));
        this.lock = None;
        let guard = RwLockReadGuard::new(
            lock,
            #[cfg(feature = "tracing")]
            hold,
        );
        #[cfg(feature = "tracing")]
        check.run();
        Poll::Ready(guard)
    }
}

impl<T: ?Sized> Drop for RwLockRead<'_, T> {
    fn drop(&mut self) {
        if let Some(lock) = self.lock {
            lock.raw.withdraw(&mut self.key);
        }
    }
}

impl<T: ?Sized> fmt::Debug for RwLockRead<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RwLockRead")
            .field("queued", &(self.key.is_some()))
            .finish_non_exhaustive()
    }
}

/// The future of [`RwLock::write`]; resolves to an [`RwLockWriteGuard`].
///
/// # Cancel safety
///
/// Dropping it withdraws the caller from the queue (letting in the readers
/// queued behind it, if the lock is only read) or passes the lock on if it
/// had been handed it already.
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct RwLockWrite<'a, T: ?Sized> {
    /// `None` once the guard has been returned.
    lock: Option<&'a RwLock<T>>,
    /// Our waiter record in the lock's queue, once queued.
    key: Option<Key>,
    /// Where it was called, and the wait's record once queued.
    #[cfg(feature = "tracing")]
    waiting: Waiting,
}

impl<'a, T: ?Sized> Future for RwLockWrite<'a, T> {
    type Output = RwLockWriteGuard<'a, T>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<RwLockWriteGuard<'a, T>> {
        let this = self.get_mut();
        let lock = this
            .lock
            .expect("RwLockWrite polled after it returned its guard");
        #[cfg(not(feature = "tracing"))]
        std::task::ready!(poll_write(&lock.raw, &mut this.key, cx));
        #[cfg(feature = "tracing")]
        let (hold, check) = std::task::ready!(poll_traced(
            lock,
            true,
            &mut this.key,
            &mut this.waiting,
            cx
        ));
        this.lock = None;
        let guard = RwLockWriteGuard::new(
            lock,
            #[cfg(feature = "tracing")]
            hold,
        );
        #[cfg(feature = "tracing")]
        check.run();
        Poll::Ready(guard)
    }
}

impl<T: ?Sized> Drop for RwLockWrite<'_, T> {
    fn drop(&mut self) {
        if let Some(lock) = self.lock {
            lock.raw.withdraw(&mut self.key);
        }
    }
}

impl<T: ?Sized> fmt::Debug for RwLockWrite<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RwLockWrite")
            .field("queued", &(self.key.is_some()))
            .finish_non_exhaustive()
    }
}

/// The future of [`RwLock::read_owned`]; resolves to an
/// [`OwnedRwLockReadGuard`].
///
/// # Cancel safety
///
/// As [`RwLockRead`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct RwLockReadOwned<T: ?Sized> {
    /// `None` once the guard (which took the `Arc`) has been returned.
    lock: Option<Arc<RwLock<T>>>,
    /// Our waiter record in the lock's queue, once queued.
    key: Option<Key>,
    /// Where it was called, and the wait's record once queued.
    #[cfg(feature = "tracing")]
    waiting: Waiting,
}

impl<T: ?Sized> Future for RwLockReadOwned<T> {
    type Output = OwnedRwLockReadGuard<T>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<OwnedRwLockReadGuard<T>> {
        let this = self.get_mut();
        let lock = this
            .lock
            .as_ref()
            .expect("RwLockReadOwned polled after it returned its guard");
        #[cfg(not(feature = "tracing"))]
        std::task::ready!(poll_read(&lock.raw, &mut this.key, cx));
        #[cfg(feature = "tracing")]
        let (hold, check) = std::task::ready!(poll_traced(
            lock,
            false,
            &mut this.key,
            &mut this.waiting,
            cx
        ));
        let lock = this.lock.take().expect("checked above");
        let guard = OwnedRwLockReadGuard::new(
            lock,
            #[cfg(feature = "tracing")]
            hold,
        );
        #[cfg(feature = "tracing")]
        check.run();
        Poll::Ready(guard)
    }
}

impl<T: ?Sized> Drop for RwLockReadOwned<T> {
    fn drop(&mut self) {
        if let Some(lock) = &self.lock {
            lock.raw.withdraw(&mut self.key);
        }
    }
}

impl<T: ?Sized> fmt::Debug for RwLockReadOwned<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RwLockReadOwned")
            .field("queued", &(self.key.is_some()))
            .finish_non_exhaustive()
    }
}

/// The future of [`RwLock::write_owned`]; resolves to an
/// [`OwnedRwLockWriteGuard`].
///
/// # Cancel safety
///
/// As [`RwLockWrite`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct RwLockWriteOwned<T: ?Sized> {
    /// `None` once the guard (which took the `Arc`) has been returned.
    lock: Option<Arc<RwLock<T>>>,
    /// Our waiter record in the lock's queue, once queued.
    key: Option<Key>,
    /// Where it was called, and the wait's record once queued.
    #[cfg(feature = "tracing")]
    waiting: Waiting,
}

impl<T: ?Sized> Future for RwLockWriteOwned<T> {
    type Output = OwnedRwLockWriteGuard<T>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<OwnedRwLockWriteGuard<T>> {
        let this = self.get_mut();
        let lock = this
            .lock
            .as_ref()
            .expect("RwLockWriteOwned polled after it returned its guard");
        #[cfg(not(feature = "tracing"))]
        std::task::ready!(poll_write(&lock.raw, &mut this.key, cx));
        #[cfg(feature = "tracing")]
        let (hold, check) = std::task::ready!(poll_traced(
            lock,
            true,
            &mut this.key,
            &mut this.waiting,
            cx
        ));
        let lock = this.lock.take().expect("checked above");
        let guard = OwnedRwLockWriteGuard::new(
            lock,
            #[cfg(feature = "tracing")]
            hold,
        );
        #[cfg(feature = "tracing")]
        check.run();
        Poll::Ready(guard)
    }
}

impl<T: ?Sized> Drop for RwLockWriteOwned<T> {
    fn drop(&mut self) {
        if let Some(lock) = &self.lock {
            lock.raw.withdraw(&mut self.key);
        }
    }
}

impl<T: ?Sized> fmt::Debug for RwLockWriteOwned<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RwLockWriteOwned")
            .field("queued", &(self.key.is_some()))
            .finish_non_exhaustive()
    }
}

// ---------------------------------------------------------------------------
// Guards
// ---------------------------------------------------------------------------

/// Proof of shared access to an [`RwLock`]: derefs to `&T`; releases the
/// read lock on drop.
///
/// `Send` and `Sync` when `T: Send + Sync` (as the lock itself is `Sync`),
/// so a task holding it across `.await` can be spawned on a multi-thread
/// runtime.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let rw = warden::RwLock::new(vec![1, 2]);
/// let guard = rw.read().await;
/// assert_eq!(guard.len(), 2);
/// # }
/// ```
#[must_use = "if unused the RwLock will immediately unlock"]
#[clippy::has_significant_drop]
pub struct RwLockReadGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
    /// This hold's record for `warden::debug`, removed (by its drop) after
    /// the release.
    #[cfg(feature = "tracing")]
    _hold: Hold,
    _data: PhantomData<&'a T>,
}

impl<'a, T: ?Sized> RwLockReadGuard<'a, T> {
    fn new(lock: &'a RwLock<T>, #[cfg(feature = "tracing")] hold: Hold) -> Self {
        Self {
            lock,
            #[cfg(feature = "tracing")]
            _hold: hold,
            _data: PhantomData,
        }
    }

    /// The lock this guard reads (an associated function, so it does not
    /// shadow a method of `T`).
    ///
    /// ```
    /// let rw = warden::RwLock::new(());
    /// let guard = rw.try_read().unwrap();
    /// assert!(std::ptr::eq(warden::RwLockReadGuard::source(&guard), &rw));
    /// ```
    pub fn source(guard: &Self) -> &'a RwLock<T> {
        guard.lock
    }
}

impl<T: ?Sized> Drop for RwLockReadGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.lock.raw.release_read();
    }
}

impl<T: ?Sized> Deref for RwLockReadGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: this guard exists only while it holds a read permit of
        // `raw`, so no `&mut T` exists until it is dropped (a writer needs
        // every permit); the borrow of the guard bounds the reference.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for RwLockReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

/// Proof of exclusive access to an [`RwLock`]: derefs to `&T` and `&mut T`;
/// releases the write lock on drop.
///
/// `Send` and `Sync` when `T: Send + Sync`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let rw = warden::RwLock::new(vec![1]);
/// {
///     let mut guard = rw.write().await;
///     guard.push(2);
/// } // released here
/// assert_eq!(*rw.read().await, [1, 2]);
/// # }
/// ```
#[must_use = "if unused the RwLock will immediately unlock"]
#[clippy::has_significant_drop]
pub struct RwLockWriteGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
    /// This hold's record for `warden::debug`, removed (by its drop) after
    /// the release.
    #[cfg(feature = "tracing")]
    hold: Hold,
    /// `&mut T`: invariant in `T`, as a `&mut` must be.
    _data: PhantomData<&'a mut T>,
}

impl<'a, T: ?Sized> RwLockWriteGuard<'a, T> {
    fn new(lock: &'a RwLock<T>, #[cfg(feature = "tracing")] hold: Hold) -> Self {
        Self {
            lock,
            #[cfg(feature = "tracing")]
            hold,
            _data: PhantomData,
        }
    }

    /// The lock this guard writes (an associated function, so it does not
    /// shadow a method of `T`).
    ///
    /// ```
    /// let rw = warden::RwLock::new(());
    /// let guard = rw.try_write().unwrap();
    /// assert!(std::ptr::eq(warden::RwLockWriteGuard::source(&guard), &rw));
    /// ```
    pub fn source(guard: &Self) -> &'a RwLock<T> {
        guard.lock
    }

    /// Turns the write lock into a read lock without letting a writer in
    /// between: the readers at the front of the queue are admitted at once,
    /// and a waiting writer keeps waiting, now for the returned guard too.
    ///
    /// ```
    /// let rw = warden::RwLock::new(0);
    /// let mut w = rw.try_write().unwrap();
    /// *w = 1;
    /// let r = warden::RwLockWriteGuard::downgrade(w);
    /// assert!(rw.try_read().is_some()); // other readers get in
    /// assert!(rw.try_write().is_none());
    /// assert_eq!(*r, 1);
    /// ```
    pub fn downgrade(guard: Self) -> RwLockReadGuard<'a, T> {
        // Never dropped: it would release the write lock.
        #[cfg_attr(not(feature = "tracing"), allow(unused_mut))]
        let mut guard = std::mem::ManuallyDrop::new(guard);
        let lock = guard.lock;
        #[cfg(feature = "tracing")]
        let hold = std::mem::take(&mut guard.hold);
        lock.raw.downgrade();
        #[cfg(feature = "tracing")]
        hold.set_mode(Mode::Read);
        RwLockReadGuard::new(
            lock,
            #[cfg(feature = "tracing")]
            hold,
        )
    }
}

impl<T: ?Sized> Drop for RwLockWriteGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.lock.raw.release_write();
    }
}

impl<T: ?Sized> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: this guard exists only while it holds every permit of
        // `raw`, so no other reference to the data exists until it is
        // dropped; the shared borrow of the guard bounds the returned one.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; the exclusive borrow of the guard makes the
        // returned `&mut T` the only reference.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for RwLockWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

/// An owned read guard of an [`RwLock`] kept in an [`Arc`]: `'static` when
/// `T` is. From [`RwLock::read_owned`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use std::sync::Arc;
/// let rw = Arc::new(warden::RwLock::new(3));
/// let guard: warden::OwnedRwLockReadGuard<i32> = rw.clone().read_owned().await;
/// assert_eq!(*guard, 3);
/// # }
/// ```
#[must_use = "if unused the RwLock will immediately unlock"]
#[clippy::has_significant_drop]
pub struct OwnedRwLockReadGuard<T: ?Sized> {
    lock: Arc<RwLock<T>>,
    /// This hold's record for `warden::debug`, removed (by its drop) after
    /// the release.
    #[cfg(feature = "tracing")]
    _hold: Hold,
}

impl<T: ?Sized> OwnedRwLockReadGuard<T> {
    fn new(lock: Arc<RwLock<T>>, #[cfg(feature = "tracing")] hold: Hold) -> Self {
        Self {
            lock,
            #[cfg(feature = "tracing")]
            _hold: hold,
        }
    }

    /// The lock this guard reads.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let rw = Arc::new(warden::RwLock::new(()));
    /// let guard = rw.clone().try_read_owned().unwrap();
    /// assert!(Arc::ptr_eq(warden::OwnedRwLockReadGuard::source(&guard), &rw));
    /// ```
    pub fn source(guard: &Self) -> &Arc<RwLock<T>> {
        &guard.lock
    }
}

impl<T: ?Sized> Drop for OwnedRwLockReadGuard<T> {
    #[inline]
    fn drop(&mut self) {
        self.lock.raw.release_read();
    }
}

impl<T: ?Sized> Deref for OwnedRwLockReadGuard<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: this guard holds a read permit of `raw`; see
        // `RwLockReadGuard`.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for OwnedRwLockReadGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for OwnedRwLockReadGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

/// An owned write guard of an [`RwLock`] kept in an [`Arc`]: `'static` when
/// `T` is. From [`RwLock::write_owned`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use std::sync::Arc;
/// let rw = Arc::new(warden::RwLock::new(0));
/// let mut guard: warden::OwnedRwLockWriteGuard<i32> = rw.clone().write_owned().await;
/// *guard = 7;
/// drop(guard);
/// assert_eq!(*rw.read().await, 7);
/// # }
/// ```
#[must_use = "if unused the RwLock will immediately unlock"]
#[clippy::has_significant_drop]
pub struct OwnedRwLockWriteGuard<T: ?Sized> {
    lock: Arc<RwLock<T>>,
    /// This hold's record for `warden::debug`, removed (by its drop) after
    /// the release.
    #[cfg(feature = "tracing")]
    hold: Hold,
}

impl<T: ?Sized> OwnedRwLockWriteGuard<T> {
    fn new(lock: Arc<RwLock<T>>, #[cfg(feature = "tracing")] hold: Hold) -> Self {
        Self {
            lock,
            #[cfg(feature = "tracing")]
            hold,
        }
    }

    /// The lock this guard writes.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let rw = Arc::new(warden::RwLock::new(()));
    /// let guard = rw.clone().try_write_owned().unwrap();
    /// assert!(Arc::ptr_eq(warden::OwnedRwLockWriteGuard::source(&guard), &rw));
    /// ```
    pub fn source(guard: &Self) -> &Arc<RwLock<T>> {
        &guard.lock
    }

    /// Turns the write lock into a read lock without letting a writer in
    /// between (see [`RwLockWriteGuard::downgrade`]).
    ///
    /// ```
    /// use std::sync::Arc;
    /// let rw = Arc::new(warden::RwLock::new(0));
    /// let w = rw.clone().try_write_owned().unwrap();
    /// let r = warden::OwnedRwLockWriteGuard::downgrade(w);
    /// assert!(rw.try_read().is_some());
    /// assert!(rw.try_write().is_none());
    /// drop(r);
    /// ```
    pub fn downgrade(guard: Self) -> OwnedRwLockReadGuard<T> {
        #[cfg_attr(not(feature = "tracing"), allow(unused_mut))]
        let mut guard = std::mem::ManuallyDrop::new(guard);
        // SAFETY: `guard` is never used or dropped again (it is in a
        // `ManuallyDrop`), so the `Arc` is moved out exactly once.
        let lock = unsafe { std::ptr::read(&raw const guard.lock) };
        #[cfg(feature = "tracing")]
        let hold = std::mem::take(&mut guard.hold);
        lock.raw.downgrade();
        #[cfg(feature = "tracing")]
        hold.set_mode(Mode::Read);
        OwnedRwLockReadGuard::new(
            lock,
            #[cfg(feature = "tracing")]
            hold,
        )
    }
}

impl<T: ?Sized> Drop for OwnedRwLockWriteGuard<T> {
    #[inline]
    fn drop(&mut self) {
        self.lock.raw.release_write();
    }
}

impl<T: ?Sized> Deref for OwnedRwLockWriteGuard<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: this guard holds every permit of `raw`; see
        // `RwLockWriteGuard`.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> DerefMut for OwnedRwLockWriteGuard<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: this guard holds every permit of `raw`; see
        // `RwLockWriteGuard`.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for OwnedRwLockWriteGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for OwnedRwLockWriteGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}
