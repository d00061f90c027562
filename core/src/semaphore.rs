//! [`Semaphore`]: Python's `threading.Semaphore` / `asyncio.Semaphore`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::BoundedSemaphore;
use crate::blocking::Twin;
#[cfg(feature = "tracing")]
use crate::debug::{self, Hold, Kind, Meta, Mode, Waiting};
use crate::raw::list::Key;
use crate::raw::semaphore::{MAX_PERMITS, RawSemaphore};
#[cfg(feature = "tracing")]
use std::panic::Location;

// `Semaphore::MAX_PERMITS` is a literal so that rustdoc shows its value;
// this keeps it equal to the limit the raw semaphore enforces.
const _: () = assert!(Semaphore::MAX_PERMITS == MAX_PERMITS);

/// A counting semaphore for async code: Python's [`threading.Semaphore`]
/// and [`asyncio.Semaphore`].
///
/// | Python                                   | warden                                       |
/// |------------------------------------------|----------------------------------------------|
/// | `sem = threading.Semaphore(3)`           | `let sem = Semaphore::new(3);`               |
/// | `with sem: ...`                          | `let permit = sem.acquire().await;`          |
/// | `sem.acquire(blocking=False)`            | `sem.try_acquire()`                          |
/// | `sem.acquire(timeout=0.5)`               | `timeout(d, sem.acquire()).await`            |
/// | `sem.release()` / `sem.release(n)`       | `drop(permit)` / `sem.release(n)`            |
/// | (no Python equivalent)                   | `sem.acquire_many(n).await`                  |
///
/// A permit returns to the semaphore when its [`SemaphorePermit`] drops.
/// As in Python, [`release`](Semaphore::release) may add permits beyond the
/// initial count (use [`BoundedSemaphore`] to forbid that), and a permit
/// can be kept taken with [`SemaphorePermit::forget`].
///
/// # Fairness
///
/// First-come first-served: a permit released while tasks wait goes to the
/// first of them, and neither [`try_acquire`](Semaphore::try_acquire) nor a
/// newly arriving `acquire` takes it ahead of them. A waiter asking for many
/// permits collects them as they come back and is not starved by smaller
/// requests behind it (which wait their turn).
///
/// # Memory ordering
///
/// Releasing a permit *happens before* the acquisition that receives it
/// returns. Uncontended, acquiring and releasing are one compare-exchange
/// each (Acquire and Release).
///
/// # Examples
///
/// At most two tasks inside at once:
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use warden::Semaphore;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let pool = Arc::new(Semaphore::new(2));
/// let inside = Arc::new(AtomicUsize::new(0));
/// let tasks: Vec<_> = (0..8)
///     .map(|_| {
///         let (pool, inside) = (pool.clone(), inside.clone());
///         tokio::spawn(async move {
///             let _permit = pool.acquire().await;
///             assert!(inside.fetch_add(1, Ordering::SeqCst) < 2);
///             tokio::task::yield_now().await;
///             inside.fetch_sub(1, Ordering::SeqCst);
///         })
///     })
///     .collect();
/// for t in tasks {
///     t.await.unwrap();
/// }
/// assert_eq!(pool.available_permits(), 2);
/// # }
/// ```
///
/// [`threading.Semaphore`]: https://docs.python.org/3/library/threading.html#semaphore-objects
/// [`asyncio.Semaphore`]: https://docs.python.org/3/library/asyncio-sync.html#asyncio.Semaphore
pub struct Semaphore {
    pub(crate) raw: RawSemaphore,
    /// Name and number for `warden::debug` (feature `tracing`).
    #[cfg(feature = "tracing")]
    pub(crate) meta: Meta,
}

impl Semaphore {
    /// The most permits a semaphore can hold: `usize::MAX >> 2`, which is
    /// 2<sup>62</sup> − 1 on 64-bit targets (the value shown here).
    #[cfg(target_pointer_width = "64")]
    pub const MAX_PERMITS: usize = 4_611_686_018_427_387_903;
    /// The most permits a semaphore can hold: `usize::MAX >> 2`, which is
    /// 2<sup>30</sup> − 1 on 32-bit targets (the value shown here).
    #[cfg(not(target_pointer_width = "64"))]
    pub const MAX_PERMITS: usize = 1_073_741_823;

    const_fn! {
        /// Creates a semaphore with `permits` free permits.
        ///
        /// # Panics
        ///
        /// If `permits` exceeds [`Semaphore::MAX_PERMITS`].
        ///
        /// ```
        /// let sem = warden::Semaphore::new(3);
        /// assert_eq!(sem.available_permits(), 3);
        /// ```
        pub const fn new(permits: usize) -> Semaphore {
            Semaphore {
                raw: RawSemaphore::new(permits),
                #[cfg(feature = "tracing")]
                meta: Meta::new(),
            }
        }
    }

    const_fn! {
        /// Names the semaphore for warden's reports (feature `tracing`:
        /// its wait events and the hang report `warden::debug::dump()`,
        /// which lists who holds its permits). Without the feature the
        /// name is not kept and this costs nothing. A `const fn`.
        ///
        /// ```
        /// static POOL: warden::Semaphore = warden::Semaphore::new(4).named("db-pool");
        /// assert_eq!(POOL.available_permits(), 4);
        /// ```
        #[must_use]
        pub const fn named(self, name: &'static str) -> Semaphore {
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

    /// Waits for one permit: Python's `with sem:` / `sem.acquire()`.
    ///
    /// Behaves as `async fn acquire(&self) -> SemaphorePermit<'_>`.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe. Dropping the future withdraws the caller from the queue
    /// without losing its place's permits: anything handed to it goes on to
    /// the next waiter. `tokio::time::timeout(d, sem.acquire())` is Python's
    /// `sem.acquire(timeout=d)`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let sem = warden::Semaphore::new(1);
    /// let permit = sem.acquire().await;
    /// assert_eq!(sem.available_permits(), 0);
    /// drop(permit);
    /// assert_eq!(sem.available_permits(), 1);
    /// # }
    /// ```
    #[cfg_attr(feature = "tracing", track_caller)]
    pub fn acquire(&self) -> SemaphoreAcquire<'_> {
        SemaphoreAcquire::new(self, 1, false)
    }

    /// Waits for `n` permits at once, first-come first-served.
    ///
    /// `acquire_many(0)` is ready at once with an empty permit (it takes
    /// nothing, so it need not queue behind anyone).
    ///
    /// # Panics
    ///
    /// If `n` exceeds [`Semaphore::MAX_PERMITS`]: no semaphore can ever
    /// hold that many.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: permits collected while queued are handed to the next
    /// waiter when the future is dropped.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let sem = warden::Semaphore::new(5);
    /// let three = sem.acquire_many(3).await;
    /// assert_eq!(three.permits(), 3);
    /// assert_eq!(sem.available_permits(), 2);
    /// # }
    /// ```
    #[track_caller]
    pub fn acquire_many(&self, n: usize) -> SemaphoreAcquire<'_> {
        assert_within_max(n);
        SemaphoreAcquire::new(self, n, false)
    }

    /// Takes one permit if one is free and nobody waits: Python's
    /// `sem.acquire(blocking=False)`.
    ///
    /// ```
    /// let sem = warden::Semaphore::new(1);
    /// let permit = sem.try_acquire().unwrap();
    /// assert!(sem.try_acquire().is_none());
    /// drop(permit);
    /// ```
    #[cfg_attr(feature = "tracing", track_caller)]
    pub fn try_acquire(&self) -> Option<SemaphorePermit<'_>> {
        self.try_acquire_many(1)
    }

    /// Takes `n` permits if they are free and nobody waits.
    ///
    /// ```
    /// let sem = warden::Semaphore::new(2);
    /// assert!(sem.try_acquire_many(3).is_none());
    /// assert_eq!(sem.try_acquire_many(2).unwrap().permits(), 2);
    /// ```
    #[cfg_attr(feature = "tracing", track_caller)]
    pub fn try_acquire_many(&self, n: usize) -> Option<SemaphorePermit<'_>> {
        self.try_permit(n, false)
    }

    /// `try_acquire_many` of this semaphore or of the `BoundedSemaphore`
    /// around it.
    #[cfg_attr(feature = "tracing", track_caller)]
    pub(crate) fn try_permit(&self, n: usize, bounded: bool) -> Option<SemaphorePermit<'_>> {
        if !self.raw.try_acquire_many(n) {
            return None;
        }
        Some(SemaphorePermit::new(
            self,
            n,
            bounded,
            #[cfg(feature = "tracing")]
            debug::tried(
                &self.meta,
                kind(bounded),
                Mode::Permits(n),
                Location::caller(),
            ),
        ))
    }

    /// The blocking twins' wait for `n` permits, of this semaphore or of
    /// the `BoundedSemaphore` around it.
    #[track_caller]
    pub(crate) fn blocking_permit(
        &self,
        n: usize,
        bounded: bool,
        twin: &Twin,
    ) -> SemaphorePermit<'_> {
        #[cfg(feature = "tracing")]
        {
            let site = Location::caller();
            if self.raw.try_acquire_many(n) {
                let (hold, _first) =
                    debug::acquired_now(&self.meta, kind(bounded), Mode::Permits(n), site);
                return SemaphorePermit::new(self, n, bounded, hold);
            }
            let mut waiting =
                debug::blocking_wait(&self.meta, kind(bounded), Mode::Permits(n), site);
            self.raw.acquire_blocking(n, 0, twin);
            waiting.finish();
            let (hold, _checked) =
                debug::hold(self.meta.prim(kind(bounded)), site, Mode::Permits(n), false);
            SemaphorePermit::new(self, n, bounded, hold)
        }
        #[cfg(not(feature = "tracing"))]
        {
            if n > 0 {
                self.raw.acquire_blocking(n, 0, twin);
            }
            SemaphorePermit::new(self, n, bounded)
        }
    }

    /// Waits for one permit, returned as an owned permit that keeps the
    /// semaphore alive through an [`Arc`] (for moving into spawned tasks).
    ///
    /// Behaves as `async fn acquire_owned(self: Arc<Self>) -> OwnedSemaphorePermit`.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`acquire`](Semaphore::acquire).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use std::sync::Arc;
    /// let sem = Arc::new(warden::Semaphore::new(1));
    /// let permit = sem.clone().acquire_owned().await;
    /// tokio::spawn(async move { drop(permit) }).await.unwrap();
    /// assert_eq!(sem.available_permits(), 1);
    /// # }
    /// ```
    #[cfg_attr(feature = "tracing", track_caller)]
    pub fn acquire_owned(self: Arc<Self>) -> SemaphoreAcquireOwned {
        SemaphoreAcquireOwned::new(OwnedSource::Plain(self), 1)
    }

    /// Waits for `n` permits, returned as an owned permit.
    ///
    /// # Panics
    ///
    /// If `n` exceeds [`Semaphore::MAX_PERMITS`].
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`acquire_many`](Semaphore::acquire_many).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use std::sync::Arc;
    /// let sem = Arc::new(warden::Semaphore::new(4));
    /// let permit = sem.clone().acquire_many_owned(3).await;
    /// assert_eq!(permit.permits(), 3);
    /// # }
    /// ```
    #[track_caller]
    pub fn acquire_many_owned(self: Arc<Self>, n: usize) -> SemaphoreAcquireOwned {
        assert_within_max(n);
        SemaphoreAcquireOwned::new(OwnedSource::Plain(self), n)
    }

    /// Waits for one permit on this thread: the blocking twin of
    /// [`acquire`](Semaphore::acquire), sharing its FIFO queue.
    ///
    /// # Panics
    ///
    /// If it would have to wait on a thread that runs async tasks ([detected with feature `tokio`](crate#blocking-twins-and-runtime-workers)); use
    /// `.acquire().await` there.
    ///
    /// ```
    /// let sem = warden::Semaphore::new(1);
    /// let permit = sem.acquire_blocking();
    /// assert_eq!(sem.available_permits(), 0);
    /// drop(permit);
    /// ```
    #[track_caller]
    pub fn acquire_blocking(&self) -> SemaphorePermit<'_> {
        self.blocking_permit(
            1,
            false,
            &Twin {
                method: "Semaphore::acquire_blocking",
                instead: "sem.acquire().await",
            },
        )
    }

    /// Waits for `n` permits on this thread: the blocking twin of
    /// [`acquire_many`](Semaphore::acquire_many).
    ///
    /// # Panics
    ///
    /// If `n` exceeds [`Semaphore::MAX_PERMITS`], or if it would have to
    /// wait on a thread that runs async tasks ([detected with feature `tokio`](crate#blocking-twins-and-runtime-workers)).
    ///
    /// ```
    /// let sem = warden::Semaphore::new(3);
    /// assert_eq!(sem.acquire_many_blocking(2).permits(), 2);
    /// ```
    #[track_caller]
    pub fn acquire_many_blocking(&self, n: usize) -> SemaphorePermit<'_> {
        assert_within_max(n);
        self.blocking_permit(
            n,
            false,
            &Twin {
                method: "Semaphore::acquire_many_blocking",
                instead: "sem.acquire_many(n).await",
            },
        )
    }

    /// Adds `n` permits, Python's `release(n)`: waiters are served first, in
    /// order. May raise the count above the initial one (as Python's
    /// `Semaphore`; [`BoundedSemaphore`] refuses). `release(0)` does nothing.
    ///
    /// # Panics
    ///
    /// If the semaphore would hold more than [`Semaphore::MAX_PERMITS`].
    ///
    /// ```
    /// let sem = warden::Semaphore::new(0);
    /// sem.release(2);
    /// assert_eq!(sem.available_permits(), 2);
    /// ```
    #[track_caller]
    pub fn release(&self, n: usize) {
        if n > 0 {
            self.raw.release(n);
        }
    }

    /// Permits free right now (0 while tasks wait: released permits go to
    /// them first).
    ///
    /// ```
    /// let sem = warden::Semaphore::new(2);
    /// let _p = sem.try_acquire();
    /// assert_eq!(sem.available_permits(), 1);
    /// ```
    pub fn available_permits(&self) -> usize {
        self.raw.available()
    }

    /// Waiter records still allocated: 0 once nobody waits. For leak checks.
    #[cfg(any(feature = "__introspection", warden_model))]
    #[doc(hidden)]
    pub fn __waiter_records(&self) -> usize {
        self.raw.waiter_records()
    }
}

impl Default for Semaphore {
    /// A semaphore with one permit, as Python's `Semaphore()`.
    fn default() -> Self {
        Semaphore::new(1)
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Semaphore");
        #[cfg(feature = "tracing")]
        if let Some(name) = self.meta.name() {
            d.field("name", &name);
        }
        d.field("available_permits", &self.available_permits());
        if let Some(waiters) = self.raw.waiters() {
            d.field("waiters", &waiters);
        }
        d.finish()
    }
}

/// The kind of a semaphore's permits in reports.
#[cfg(feature = "tracing")]
pub(crate) fn kind(bounded: bool) -> Kind {
    if bounded {
        Kind::BoundedSemaphore
    } else {
        Kind::Semaphore
    }
}

#[track_caller]
pub(crate) fn assert_within_max(n: usize) {
    assert!(
        n <= MAX_PERMITS,
        "acquire_many({n}) can never succeed: a semaphore holds at most \
         usize::MAX >> 2 permits"
    );
}

/// Where an acquire future stands, in one word (so the future is two words,
/// as small as async-lock's):
///
/// * `n << 2 | bounded`: not queued yet, wants `n` permits;
/// * `key << 2 | bounded | QUEUED`: queued as waiter `key` (its
///   [`Key::to_bits`]: the one place a key is packed with other state
///   instead of kept as `Option<Key>`, for the size);
/// * `DONE`: the permits were returned.
///
/// `bounded` (`BOUNDED`) marks permits of a [`BoundedSemaphore`], whose
/// `forget` must be counted. `n` fits: it is at most `MAX_PERMITS`
/// (`usize::MAX >> 2`); so does any key (a slot index of a `Vec`, plus one).
#[derive(Clone, Copy)]
struct AcquireState(usize);

const QUEUED: usize = 1;
const BOUNDED: usize = 2;
const DONE: usize = usize::MAX;

impl AcquireState {
    fn new(n: usize, bounded: bool) -> Self {
        debug_assert!(n <= MAX_PERMITS);
        AcquireState(n << 2 | if bounded { BOUNDED } else { 0 })
    }

    fn bounded(self) -> bool {
        self.0 & BOUNDED != 0
    }

    /// The permits wanted, while not queued (0 after).
    #[cfg(feature = "tracing")]
    fn wanted(self) -> usize {
        if self.0 & QUEUED == 0 { self.0 >> 2 } else { 0 }
    }

    /// Polls for the permits; `Ready(n)` hands them over (the state is
    /// then `DONE`).
    #[inline]
    fn poll(&mut self, raw: &RawSemaphore, cx: &mut Context<'_>, what: &str) -> Poll<usize> {
        let word = self.0;
        if word & QUEUED == 0 {
            // Fast path (inlined, and kept small so it is): free permits
            // and nobody queued.
            let n = word >> 2;
            if raw.try_acquire_many(n) {
                self.0 = DONE;
                return Poll::Ready(n);
            }
        }
        self.poll_slow(raw, cx, what)
    }

    /// The queue's side, through the raw semaphore's one poll path.
    #[inline(never)]
    fn poll_slow(&mut self, raw: &RawSemaphore, cx: &mut Context<'_>, what: &str) -> Poll<usize> {
        assert!(self.0 != DONE, "{what} polled after it returned its permit");
        let (n, mut key) = self.unpack();
        let polled = raw.poll_acquire(n, 0, &mut key, cx);
        self.0 = match key {
            _ if polled.is_ready() => DONE,
            Some(key) => key.to_bits() << 2 | (self.0 & BOUNDED) | QUEUED,
            None => unreachable!("pending, so queued"),
        };
        polled
    }

    /// The permits wanted (before it queues) and the waiter key (after).
    fn unpack(self) -> (usize, Option<Key>) {
        if self.0 & QUEUED == 0 {
            (self.0 >> 2, None)
        } else {
            (0, Key::from_bits(self.0 >> 2))
        }
    }

    #[inline]
    fn queued(self) -> bool {
        self.0 & QUEUED != 0 && self.0 != DONE
    }

    /// `permits` (known until queued: then the queue keeps the count) and
    /// `queued`, for the futures' `Debug`.
    fn debug(self, d: &mut fmt::DebugStruct<'_, '_>) {
        if self.0 & QUEUED == 0 {
            d.field("permits", &(self.0 >> 2));
        }
        d.field("queued", &self.queued());
    }

    /// For the future's `Drop`: withdraws from the queue, passing on
    /// whatever had been handed over.
    #[inline]
    fn cancel(&mut self, raw: &RawSemaphore) {
        if self.queued() {
            let (_, mut key) = self.unpack();
            raw.withdraw(&mut key);
            self.0 = DONE;
        }
    }
}

/// The future of [`Semaphore::acquire`] and [`Semaphore::acquire_many`] (and
/// of [`BoundedSemaphore`]'s); resolves to a [`SemaphorePermit`].
///
/// # Cancel safety
///
/// Dropping it withdraws the caller from the queue and passes on any
/// permits it had been handed.
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct SemaphoreAcquire<'a> {
    sem: &'a Semaphore,
    state: AcquireState,
    /// Where it was called, and the wait's record once queued.
    #[cfg(feature = "tracing")]
    waiting: Waiting,
}

impl<'a> SemaphoreAcquire<'a> {
    #[cfg_attr(feature = "tracing", track_caller)]
    pub(crate) fn new(sem: &'a Semaphore, n: usize, bounded: bool) -> Self {
        Self {
            sem,
            state: AcquireState::new(n, bounded),
            #[cfg(feature = "tracing")]
            waiting: Waiting::here(),
        }
    }
}

/// `AcquireState::poll`, recorded for `warden::debug`.
#[cfg(feature = "tracing")]
fn poll_traced(
    state: &mut AcquireState,
    sem: &Semaphore,
    waiting: &mut Waiting,
    cx: &mut Context<'_>,
    what: &str,
) -> Poll<(usize, Hold)> {
    let fresh = !state.queued();
    let wanted = state.wanted();
    let kind = kind(state.bounded()); // before the poll: `DONE` has every bit set
    let polled = state.poll(&sem.raw, cx, what);
    let n = if let Poll::Ready(n) = polled {
        n
    } else {
        wanted
    };
    if fresh && polled.is_ready() {
        let (hold, _first) = debug::acquired_now(&sem.meta, kind, Mode::Permits(n), waiting.site());
        return Poll::Ready((n, hold));
    }
    debug::polled(
        polled.map(drop),
        &sem.meta,
        kind,
        Mode::Permits(n),
        waiting,
        cx,
    )
    .map(|(hold, _semaphores_have_no_order)| (n, hold))
}

impl<'a> Future for SemaphoreAcquire<'a> {
    type Output = SemaphorePermit<'a>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<SemaphorePermit<'a>> {
        let this = self.get_mut();
        let bounded = this.state.bounded();
        #[cfg(not(feature = "tracing"))]
        return this
            .state
            .poll(&this.sem.raw, cx, "SemaphoreAcquire")
            .map(|n| SemaphorePermit::new(this.sem, n, bounded));
        #[cfg(feature = "tracing")]
        poll_traced(
            &mut this.state,
            this.sem,
            &mut this.waiting,
            cx,
            "SemaphoreAcquire",
        )
        .map(|(n, hold)| SemaphorePermit::new(this.sem, n, bounded, hold))
    }
}

impl Drop for SemaphoreAcquire<'_> {
    #[inline]
    fn drop(&mut self) {
        self.state.cancel(&self.sem.raw);
    }
}

impl fmt::Debug for SemaphoreAcquire<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("SemaphoreAcquire");
        self.state.debug(&mut d);
        d.finish_non_exhaustive()
    }
}

/// Permits taken from a [`Semaphore`] or [`BoundedSemaphore`]; they return
/// to it on drop (Python's `release()` at the end of `with sem:`).
///
/// ```
/// let sem = warden::Semaphore::new(1);
/// {
///     let _permit = sem.try_acquire().unwrap();
///     assert_eq!(sem.available_permits(), 0);
/// }
/// assert_eq!(sem.available_permits(), 1);
/// ```
#[must_use = "the permit returns to the semaphore as soon as it is dropped"]
#[clippy::has_significant_drop]
pub struct SemaphorePermit<'a> {
    sem: &'a Semaphore,
    /// This hold's record for `warden::debug`, removed (by its drop) after
    /// the release.
    #[cfg(feature = "tracing")]
    _hold: Hold,
    /// `permits << 1 | bounded`: bit 0 marks a [`BoundedSemaphore`]'s
    /// permits, whose `forget` is counted (that count is what a manual
    /// `release` may give back).
    word: usize,
}

impl<'a> SemaphorePermit<'a> {
    #[inline]
    pub(crate) fn new(
        sem: &'a Semaphore,
        permits: usize,
        bounded: bool,
        #[cfg(feature = "tracing")] hold: Hold,
    ) -> Self {
        Self {
            sem,
            #[cfg(feature = "tracing")]
            _hold: hold,
            word: permits << 1 | usize::from(bounded),
        }
    }

    /// Keeps the permits taken: they do not return on drop. Python's
    /// `acquire()` without a matching `release()`; give them back later
    /// with `release(n)`.
    ///
    /// ```
    /// let sem = warden::Semaphore::new(2);
    /// sem.try_acquire().unwrap().forget();
    /// assert_eq!(sem.available_permits(), 1);
    /// sem.release(1);
    /// assert_eq!(sem.available_permits(), 2);
    /// ```
    pub fn forget(mut self) {
        if self.word & 1 != 0 {
            self.sem.raw.note_forgotten(self.permits());
        }
        self.word = 0; // nothing left for `drop` to return
    }

    /// How many permits this holds.
    ///
    /// ```
    /// let sem = warden::Semaphore::new(3);
    /// assert_eq!(sem.try_acquire_many(2).unwrap().permits(), 2);
    /// ```
    pub fn permits(&self) -> usize {
        self.word >> 1
    }
}

impl Drop for SemaphorePermit<'_> {
    #[inline]
    fn drop(&mut self) {
        if self.permits() > 0 {
            self.sem.raw.release(self.permits());
        }
    }
}

impl fmt::Debug for SemaphorePermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphorePermit")
            .field("permits", &self.permits())
            .finish_non_exhaustive()
    }
}

/// The future of [`Semaphore::acquire_owned`] (and the other `_owned`
/// acquires of [`Semaphore`] and [`BoundedSemaphore`]); resolves to an
/// [`OwnedSemaphorePermit`].
///
/// # Cancel safety
///
/// As [`SemaphoreAcquire`]: dropping it withdraws the caller from the queue
/// and passes on any permits it had been handed.
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct SemaphoreAcquireOwned {
    /// `None` once the permit has been returned (it took the `Arc`).
    source: Option<OwnedSource>,
    state: AcquireState,
    /// Where it was called, and the wait's record once queued.
    #[cfg(feature = "tracing")]
    waiting: Waiting,
}

impl SemaphoreAcquireOwned {
    #[cfg_attr(feature = "tracing", track_caller)]
    pub(crate) fn new(source: OwnedSource, n: usize) -> Self {
        let bounded = matches!(source, OwnedSource::Bounded(_));
        Self {
            source: Some(source),
            state: AcquireState::new(n, bounded),
            #[cfg(feature = "tracing")]
            waiting: Waiting::here(),
        }
    }
}

impl Future for SemaphoreAcquireOwned {
    type Output = OwnedSemaphorePermit;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<OwnedSemaphorePermit> {
        let this = self.get_mut();
        let source = this
            .source
            .as_ref()
            .expect("SemaphoreAcquireOwned polled after it returned its permit");
        #[cfg(not(feature = "tracing"))]
        let permits = std::task::ready!(this.state.poll(source.raw(), cx, "SemaphoreAcquireOwned"));
        #[cfg(feature = "tracing")]
        let (permits, hold) = std::task::ready!(poll_traced(
            &mut this.state,
            source.sem(),
            &mut this.waiting,
            cx,
            "SemaphoreAcquireOwned"
        ));
        Poll::Ready(OwnedSemaphorePermit {
            source: this.source.take().expect("checked above"),
            permits,
            #[cfg(feature = "tracing")]
            _hold: hold,
        })
    }
}

impl Drop for SemaphoreAcquireOwned {
    fn drop(&mut self) {
        if let Some(source) = &self.source {
            self.state.cancel(source.raw());
        }
    }
}

impl fmt::Debug for SemaphoreAcquireOwned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("SemaphoreAcquireOwned");
        self.state.debug(&mut d);
        d.finish_non_exhaustive()
    }
}

pub(crate) enum OwnedSource {
    Plain(Arc<Semaphore>),
    Bounded(Arc<BoundedSemaphore>),
}

impl OwnedSource {
    fn raw(&self) -> &RawSemaphore {
        &self.sem().raw
    }

    fn sem(&self) -> &Semaphore {
        match self {
            OwnedSource::Plain(sem) => sem,
            OwnedSource::Bounded(sem) => &sem.sem,
        }
    }
}

/// Permits that keep their [`Semaphore`] (or [`BoundedSemaphore`]) alive
/// through an [`Arc`]; they return to it on drop.
///
/// ```
/// use std::sync::Arc;
/// let sem = Arc::new(warden::Semaphore::new(1));
/// let permit: warden::OwnedSemaphorePermit = sem.clone().try_acquire_owned().unwrap();
/// assert_eq!(permit.permits(), 1);
/// drop(permit);
/// assert_eq!(sem.available_permits(), 1);
/// ```
#[must_use = "the permit returns to the semaphore as soon as it is dropped"]
#[clippy::has_significant_drop]
pub struct OwnedSemaphorePermit {
    pub(crate) source: OwnedSource,
    pub(crate) permits: usize,
    /// This hold's record for `warden::debug`, removed (by its drop) after
    /// the release.
    #[cfg(feature = "tracing")]
    pub(crate) _hold: Hold,
}

impl OwnedSemaphorePermit {
    /// `try_acquire_many_owned` of either semaphore.
    #[cfg_attr(feature = "tracing", track_caller)]
    pub(crate) fn tried(source: OwnedSource, n: usize) -> Option<OwnedSemaphorePermit> {
        if !source.raw().try_acquire_many(n) {
            return None;
        }
        #[cfg(feature = "tracing")]
        let hold = {
            let bounded = matches!(source, OwnedSource::Bounded(_));
            debug::tried(
                &source.sem().meta,
                kind(bounded),
                Mode::Permits(n),
                Location::caller(),
            )
        };
        Some(OwnedSemaphorePermit {
            source,
            permits: n,
            #[cfg(feature = "tracing")]
            _hold: hold,
        })
    }

    /// Keeps the permits taken (see [`SemaphorePermit::forget`]).
    ///
    /// ```
    /// use std::sync::Arc;
    /// let sem = Arc::new(warden::Semaphore::new(1));
    /// sem.clone().try_acquire_owned().unwrap().forget();
    /// assert_eq!(sem.available_permits(), 0);
    /// ```
    pub fn forget(mut self) {
        if let OwnedSource::Bounded(sem) = &self.source {
            sem.sem.raw.note_forgotten(self.permits);
        }
        self.permits = 0; // nothing left for `drop` to return
    }

    /// How many permits this holds.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let sem = Arc::new(warden::Semaphore::new(2));
    /// assert_eq!(sem.try_acquire_many_owned(2).unwrap().permits(), 2);
    /// ```
    pub fn permits(&self) -> usize {
        self.permits
    }
}

impl Drop for OwnedSemaphorePermit {
    fn drop(&mut self) {
        if self.permits > 0 {
            self.source.raw().release(self.permits);
        }
    }
}

impl fmt::Debug for OwnedSemaphorePermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedSemaphorePermit")
            .field("permits", &self.permits)
            .finish_non_exhaustive()
    }
}

impl Semaphore {
    /// Takes one permit if free and nobody waits, as an owned permit.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let sem = Arc::new(warden::Semaphore::new(1));
    /// let p = sem.clone().try_acquire_owned().unwrap();
    /// assert!(sem.clone().try_acquire_owned().is_none());
    /// drop(p);
    /// ```
    #[cfg_attr(feature = "tracing", track_caller)]
    pub fn try_acquire_owned(self: Arc<Self>) -> Option<OwnedSemaphorePermit> {
        self.try_acquire_many_owned(1)
    }

    /// Takes `n` permits if free and nobody waits, as an owned permit.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let sem = Arc::new(warden::Semaphore::new(3));
    /// assert_eq!(sem.try_acquire_many_owned(3).unwrap().permits(), 3);
    /// ```
    #[cfg_attr(feature = "tracing", track_caller)]
    pub fn try_acquire_many_owned(self: Arc<Self>, n: usize) -> Option<OwnedSemaphorePermit> {
        OwnedSemaphorePermit::tried(OwnedSource::Plain(self), n)
    }
}
