//! [`BoundedSemaphore`]: Python's `threading.BoundedSemaphore`.

use std::fmt;
use std::sync::Arc;

use crate::Semaphore;
use crate::blocking::Twin;
use crate::error::TooManyReleases;
use crate::semaphore::{
    OwnedSemaphorePermit, OwnedSource, SemaphoreAcquire, SemaphoreAcquireOwned, SemaphorePermit,
    assert_within_max,
};

/// A semaphore that can never hold more permits than it started with:
/// Python's [`threading.BoundedSemaphore`] and `asyncio.BoundedSemaphore`.
///
/// The surface is [`Semaphore`]'s, except that [`release`](Self::release)
/// returns `Err(`[`TooManyReleases`]`)` — Python's `ValueError: Semaphore
/// released too many times` — instead of raising the count past the bound,
/// and changes nothing when it does.
///
/// # What may be released
///
/// Permits normally go back by dropping their [`SemaphorePermit`], which can
/// never exceed the bound. A manual `release(n)` gives back permits that
/// were kept with [`SemaphorePermit::forget`] (Python's bare `acquire()`);
/// releasing more than were forgotten is refused. This catches the same
/// bug as Python, at the faulty `release` itself: where Python lets a stray
/// `release()` succeed while a holder is inside and then raises at the
/// holder's exit, warden refuses the stray `release()`.
///
/// # Fairness and memory ordering
///
/// As [`Semaphore`]: first-come first-served, release happens-before the
/// acquisition it serves.
///
/// ```
/// use warden::{BoundedSemaphore, TooManyReleases};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let sem = BoundedSemaphore::new(2);
/// sem.acquire().await.forget(); // Python: sem.acquire()
/// assert_eq!(sem.release(1), Ok(())); // Python: sem.release()
/// assert_eq!(sem.release(1), Err(TooManyReleases)); // Python: ValueError
/// assert_eq!(sem.available_permits(), 2);
/// # }
/// ```
///
/// [`threading.BoundedSemaphore`]: https://docs.python.org/3/library/threading.html#threading.BoundedSemaphore
pub struct BoundedSemaphore {
    pub(crate) sem: Semaphore,
    bound: usize,
    // The count of permits kept with `forget()` (all a manual `release`
    // may give back) lives in the semaphore's lazily allocated queue, so
    // that permits need no pointer to it.
}

impl BoundedSemaphore {
    const_fn! {
        /// Creates a semaphore with `permits` free permits, which is also
        /// the most it will ever hold.
        ///
        /// # Panics
        ///
        /// If `permits` exceeds [`Semaphore::MAX_PERMITS`].
        ///
        /// ```
        /// let sem = warden::BoundedSemaphore::new(3);
        /// assert_eq!(sem.bound(), 3);
        /// ```
        pub const fn new(permits: usize) -> BoundedSemaphore {
            BoundedSemaphore {
                sem: Semaphore::new(permits),
                bound: permits,
            }
        }
    }

    const_fn! {
        /// Names the semaphore for warden's reports (feature `tracing`:
        /// its wait events, refused releases and the hang report
        /// `warden::debug::dump()`). Without the feature the name is not
        /// kept and this costs nothing. A `const fn`.
        ///
        /// ```
        /// static SLOTS: warden::BoundedSemaphore = warden::BoundedSemaphore::new(2).named("slots");
        /// assert_eq!(SLOTS.bound(), 2);
        /// ```
        #[must_use]
        pub const fn named(self, name: &'static str) -> BoundedSemaphore {
            #[cfg(feature = "tracing")]
            {
                let mut this = self;
                this.sem.meta.set_name(name);
                this
            }
            #[cfg(not(feature = "tracing"))]
            {
                let _ = name;
                self
            }
        }
    }

    /// The initial (and greatest) number of permits.
    ///
    /// ```
    /// assert_eq!(warden::BoundedSemaphore::new(4).bound(), 4);
    /// ```
    pub fn bound(&self) -> usize {
        self.bound
    }

    /// Waits for one permit. See [`Semaphore::acquire`].
    ///
    /// # Panics
    ///
    /// On a semaphore bounded at 0, which can never grant a permit.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a dropped future leaves the semaphore as if it had never
    /// waited.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let sem = warden::BoundedSemaphore::new(1);
    /// let permit = sem.acquire().await;
    /// assert_eq!(sem.available_permits(), 0);
    /// drop(permit);
    /// # }
    /// ```
    #[track_caller]
    pub fn acquire(&self) -> SemaphoreAcquire<'_> {
        self.assert_within_bound(1);
        SemaphoreAcquire::new(&self.sem, 1, true)
    }

    /// Waits for `n` permits at once. See [`Semaphore::acquire_many`].
    ///
    /// # Panics
    ///
    /// If `n` exceeds [`bound`](Self::bound): the semaphore can never hold
    /// that many, so the wait could never end.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`Semaphore::acquire_many`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let sem = warden::BoundedSemaphore::new(3);
    /// assert_eq!(sem.acquire_many(3).await.permits(), 3);
    /// # }
    /// ```
    #[track_caller]
    pub fn acquire_many(&self, n: usize) -> SemaphoreAcquire<'_> {
        self.assert_within_bound(n);
        SemaphoreAcquire::new(&self.sem, n, true)
    }

    /// Takes one permit if one is free and nobody waits.
    ///
    /// ```
    /// let sem = warden::BoundedSemaphore::new(1);
    /// let p = sem.try_acquire().unwrap();
    /// assert!(sem.try_acquire().is_none());
    /// drop(p);
    /// ```
    #[cfg_attr(feature = "tracing", track_caller)]
    pub fn try_acquire(&self) -> Option<SemaphorePermit<'_>> {
        self.try_acquire_many(1)
    }

    /// Takes `n` permits if they are free and nobody waits.
    ///
    /// ```
    /// let sem = warden::BoundedSemaphore::new(2);
    /// assert!(sem.try_acquire_many(3).is_none());
    /// ```
    #[cfg_attr(feature = "tracing", track_caller)]
    pub fn try_acquire_many(&self, n: usize) -> Option<SemaphorePermit<'_>> {
        self.sem.try_permit(n, true)
    }

    /// Waits for one permit, as an owned permit.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`acquire`](Self::acquire).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use std::sync::Arc;
    /// let sem = Arc::new(warden::BoundedSemaphore::new(1));
    /// let permit = sem.clone().acquire_owned().await;
    /// drop(permit);
    /// assert_eq!(sem.available_permits(), 1);
    /// # }
    /// ```
    #[track_caller]
    pub fn acquire_owned(self: Arc<Self>) -> SemaphoreAcquireOwned {
        self.acquire_many_owned(1)
    }

    /// Waits for `n` permits, as an owned permit.
    ///
    /// # Panics
    ///
    /// If `n` exceeds [`bound`](Self::bound).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`acquire_many`](Self::acquire_many).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use std::sync::Arc;
    /// let sem = Arc::new(warden::BoundedSemaphore::new(2));
    /// assert_eq!(sem.clone().acquire_many_owned(2).await.permits(), 2);
    /// # }
    /// ```
    #[track_caller]
    pub fn acquire_many_owned(self: Arc<Self>, n: usize) -> SemaphoreAcquireOwned {
        // Checked now, at the call, not at the first poll.
        self.assert_within_bound(n);
        SemaphoreAcquireOwned::new(OwnedSource::Bounded(self), n)
    }

    /// Takes one permit if free and nobody waits, as an owned permit.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let sem = Arc::new(warden::BoundedSemaphore::new(1));
    /// assert!(sem.clone().try_acquire_owned().is_some());
    /// ```
    #[cfg_attr(feature = "tracing", track_caller)]
    pub fn try_acquire_owned(self: Arc<Self>) -> Option<OwnedSemaphorePermit> {
        self.try_acquire_many_owned(1)
    }

    /// Takes `n` permits if free and nobody waits, as an owned permit.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let sem = Arc::new(warden::BoundedSemaphore::new(2));
    /// assert_eq!(sem.try_acquire_many_owned(2).unwrap().permits(), 2);
    /// ```
    #[cfg_attr(feature = "tracing", track_caller)]
    pub fn try_acquire_many_owned(self: Arc<Self>, n: usize) -> Option<OwnedSemaphorePermit> {
        OwnedSemaphorePermit::tried(OwnedSource::Bounded(self), n)
    }

    /// Waits for one permit on this thread. See
    /// [`Semaphore::acquire_blocking`].
    ///
    /// # Panics
    ///
    /// If it would have to wait on a thread that runs async tasks ([detected with feature `tokio`](crate#blocking-twins-and-runtime-workers)).
    ///
    /// ```
    /// let sem = warden::BoundedSemaphore::new(1);
    /// drop(sem.acquire_blocking());
    /// ```
    #[track_caller]
    pub fn acquire_blocking(&self) -> SemaphorePermit<'_> {
        self.assert_within_bound(1);
        self.sem.blocking_permit(
            1,
            true,
            &Twin {
                method: "BoundedSemaphore::acquire_blocking",
                instead: "sem.acquire().await",
            },
        )
    }

    /// Waits for `n` permits on this thread.
    ///
    /// # Panics
    ///
    /// If `n` exceeds [`bound`](Self::bound), or if it would have to wait on
    /// a thread that runs async tasks ([detected with feature `tokio`](crate#blocking-twins-and-runtime-workers)).
    ///
    /// ```
    /// let sem = warden::BoundedSemaphore::new(2);
    /// assert_eq!(sem.acquire_many_blocking(2).permits(), 2);
    /// ```
    #[track_caller]
    pub fn acquire_many_blocking(&self, n: usize) -> SemaphorePermit<'_> {
        self.assert_within_bound(n);
        self.sem.blocking_permit(
            n,
            true,
            &Twin {
                method: "BoundedSemaphore::acquire_many_blocking",
                instead: "sem.acquire_many(n).await",
            },
        )
    }

    /// Gives back `n` permits that were kept with `forget()`: Python's
    /// `release(n)`. Refuses, changing nothing, if that would raise the
    /// semaphore above its bound (Python's `ValueError`). `release(0)`
    /// always succeeds and does nothing.
    ///
    /// ```
    /// let sem = warden::BoundedSemaphore::new(1);
    /// assert_eq!(sem.release(1), Err(warden::TooManyReleases));
    /// sem.try_acquire().unwrap().forget();
    /// assert_eq!(sem.release(1), Ok(()));
    /// ```
    #[cfg_attr(feature = "tracing", track_caller)]
    pub fn release(&self, n: usize) -> Result<(), TooManyReleases> {
        if n == 0 || self.sem.raw.release_forgotten(n) {
            Ok(())
        } else {
            #[cfg(feature = "tracing")]
            crate::debug::over_release(&self.sem.meta, n, std::panic::Location::caller());
            Err(TooManyReleases)
        }
    }

    /// Permits free right now.
    ///
    /// ```
    /// assert_eq!(warden::BoundedSemaphore::new(2).available_permits(), 2);
    /// ```
    pub fn available_permits(&self) -> usize {
        self.sem.available_permits()
    }

    /// Waiter records still allocated: 0 once nobody waits. For leak checks.
    #[cfg(any(feature = "__introspection", warden_model))]
    #[doc(hidden)]
    pub fn __waiter_records(&self) -> usize {
        self.sem.raw.waiter_records()
    }

    #[track_caller]
    fn assert_within_bound(&self, n: usize) {
        assert_within_max(n);
        assert!(
            n <= self.bound,
            "acquire_many({n}) on a BoundedSemaphore of {} permits can never \
             succeed: it never holds more than its bound",
            self.bound
        );
    }
}

impl Default for BoundedSemaphore {
    /// A semaphore bounded at one permit, as Python's `BoundedSemaphore()`.
    fn default() -> Self {
        BoundedSemaphore::new(1)
    }
}

impl fmt::Debug for BoundedSemaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoundedSemaphore")
            .field("available_permits", &self.available_permits())
            .field("bound", &self.bound)
            .finish_non_exhaustive()
    }
}
