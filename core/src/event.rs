//! [`Event`]: Python's `threading.Event` / `asyncio.Event`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::blocking::Twin;
#[cfg(feature = "tracing")]
use crate::debug::{self, Kind, Meta, Waiting};
use crate::raw::lazy::LazyList;
use crate::raw::list::{Key, Locked, Sleeper, WaitList};
use crate::sync::{AtomicBool, Ordering};

/// A flag that tasks can wait for: Python's [`threading.Event`] and
/// [`asyncio.Event`].
///
/// | Python                          | warden                                          |
/// |---------------------------------|-------------------------------------------------|
/// | `ev = threading.Event()`        | `let ev = Event::new();`                        |
/// | `ev.set()` / `ev.clear()`       | `ev.set()` / `ev.clear()`                       |
/// | `ev.is_set()`                   | `ev.is_set()`                                   |
/// | `ev.wait()` / `await ev.wait()` | `ev.wait().await`                               |
/// | `ev.wait(timeout=0.5)`          | `timeout(d, ev.wait()).await.is_ok()`           |
///
/// # Set, then clear at once
///
/// Every task waiting when [`set`](Event::set) is called is released, even
/// if [`clear`](Event::clear) follows before it runs — Python guarantees
/// this, and a naive "sleep until the flag is true" loop breaks it (the
/// waiter wakes, finds the flag false again, and sleeps forever). `set`
/// marks each current waiter released; a waiter checks its mark, not the
/// flag.
///
/// # Memory ordering
///
/// `set()` *happens before* every `wait` it releases returns, and before
/// any `is_set()` that returns `true` because of it.
///
/// ```
/// use std::sync::Arc;
/// use warden::Event;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let start = Arc::new(Event::new());
/// let runner = tokio::spawn({
///     let start = start.clone();
///     async move {
///         start.wait().await;
///         "running"
///     }
/// });
/// tokio::task::yield_now().await; // let the runner start waiting
/// start.set();
/// start.clear(); // the runner was waiting: it is released all the same
/// assert_eq!(runner.await.unwrap(), "running");
/// # }
/// ```
///
/// [`threading.Event`]: https://docs.python.org/3/library/threading.html#event-objects
/// [`asyncio.Event`]: https://docs.python.org/3/library/asyncio-sync.html#asyncio.Event
pub struct Event {
    /// The flag. Written under the queue's mutex when set (so a waiter that
    /// checks it under the mutex cannot miss the `set` that drains the
    /// queue); `clear` and readers go without the mutex.
    flag: AtomicBool,
    /// Waiters; `set` unlinks every one (that is the "released" mark).
    queue: LazyList<()>,
    /// Name and number for `warden::debug` (feature `tracing`).
    #[cfg(feature = "tracing")]
    meta: Meta,
}

impl Event {
    const_fn! {
        /// Creates a cleared event.
        ///
        /// ```
        /// assert!(!warden::Event::new().is_set());
        /// ```
        pub const fn new() -> Event {
            Event {
                flag: AtomicBool::new(false),
                queue: LazyList::new(),
                #[cfg(feature = "tracing")]
                meta: Meta::new(),
            }
        }
    }

    const_fn! {
        /// Names the event for warden's reports (feature `tracing`: its
        /// wait events and the hang report `warden::debug::dump()`).
        /// Without the feature the name is not kept and this costs nothing.
        /// A `const fn`.
        ///
        /// ```
        /// static READY: warden::Event = warden::Event::new().named("ready");
        /// assert!(!READY.is_set());
        /// ```
        #[must_use]
        pub const fn named(self, name: &'static str) -> Event {
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

    /// Sets the flag and releases every waiter. Setting a set event does
    /// nothing.
    ///
    /// ```
    /// let ev = warden::Event::new();
    /// ev.set();
    /// assert!(ev.is_set());
    /// ```
    pub fn set(&self) {
        if self.flag.load(Ordering::Acquire) {
            return;
        }
        self.set_slow();
    }

    /// Stores the flag under the queue's mutex, so a waiter (which checks
    /// the flag under the same mutex before registering) either sees it or
    /// is registered in time to be released here.
    #[cold]
    fn set_slow(&self) {
        let mut q = self.queue();
        self.flag.store(true, Ordering::Release);
        // Every waiter is woken as the mutex is released.
        while q.notify_front().is_some() {}
    }

    /// Clears the flag: later waits block until the next `set`. Waiters
    /// already released by a `set` stay released.
    ///
    /// ```
    /// let ev = warden::Event::new();
    /// ev.set();
    /// ev.clear();
    /// assert!(!ev.is_set());
    /// ```
    pub fn clear(&self) {
        self.flag.store(false, Ordering::Release);
    }

    /// Whether the flag is set.
    ///
    /// ```
    /// let ev = warden::Event::new();
    /// assert!(!ev.is_set());
    /// ```
    pub fn is_set(&self) -> bool {
        self.flag.load(Ordering::Acquire)
    }

    /// Waits until the flag is set; ready on its first poll if it already
    /// is. Behaves as `async fn wait(&self)`.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future just removes the waiter; a `set`
    /// it missed is not "used up" (every waiter is released by a `set`).
    /// `tokio::time::timeout(d, ev.wait())` is Python's `ev.wait(timeout=d)`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use std::time::Duration;
    /// let ev = warden::Event::new();
    /// let timed_out = tokio::time::timeout(Duration::from_millis(5), ev.wait()).await;
    /// assert!(timed_out.is_err()); // Python: ev.wait(0.005) -> False
    /// ev.set();
    /// ev.wait().await; // ready at once
    /// # }
    /// ```
    #[cfg_attr(feature = "tracing", track_caller)]
    pub fn wait(&self) -> EventWait<'_> {
        EventWait {
            event: self,
            key: None,
            #[cfg(feature = "tracing")]
            waiting: Waiting::here(),
        }
    }

    /// Waits on this thread until the flag is set: the blocking twin of
    /// [`wait`](Event::wait).
    ///
    /// # Panics
    ///
    /// If it would have to wait on a thread that runs async tasks ([detected with feature `tokio`](crate#blocking-twins-and-runtime-workers)); use
    /// `.wait().await` there.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let ev = Arc::new(warden::Event::new());
    /// let setter = std::thread::spawn({
    ///     let ev = ev.clone();
    ///     move || ev.set()
    /// });
    /// ev.wait_blocking();
    /// setter.join().unwrap();
    /// ```
    #[track_caller]
    pub fn wait_blocking(&self) {
        self.wait_blocking_until(
            None,
            &Twin {
                method: "Event::wait_blocking",
                instead: "event.wait().await",
            },
        );
    }

    /// Waits on this thread until the flag is set or `timeout` passes:
    /// Python's `ev.wait(timeout)`. Returns `true` if released by a `set`
    /// (or already set), `false` on timeout.
    ///
    /// # Panics
    ///
    /// If it would have to wait on a thread that runs async tasks ([detected with feature `tokio`](crate#blocking-twins-and-runtime-workers)).
    ///
    /// ```
    /// use std::time::Duration;
    /// let ev = warden::Event::new();
    /// assert!(!ev.wait_timeout_blocking(Duration::from_millis(1)));
    /// ev.set();
    /// assert!(ev.wait_timeout_blocking(Duration::from_millis(1)));
    /// ```
    #[track_caller]
    pub fn wait_timeout_blocking(&self, timeout: Duration) -> bool {
        let deadline = Instant::now().checked_add(timeout);
        // A timeout too large to represent is no timeout.
        self.wait_blocking_until(
            deadline,
            &Twin {
                method: "Event::wait_timeout_blocking",
                instead: "tokio::time::timeout(d, event.wait()).await",
            },
        )
    }

    #[track_caller]
    fn wait_blocking_until(&self, deadline: Option<Instant>, twin: &Twin) -> bool {
        if self.is_set() {
            return true;
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return false; // a zero timeout never waits (so never refuses)
        }
        crate::blocking::assert_may_block(twin);
        let key = {
            let mut q = self.queue();
            if self.flag.load(Ordering::Acquire) {
                return true;
            }
            q.push_back((), Sleeper::current_thread())
        };
        #[cfg(feature = "tracing")]
        let mut waiting = {
            let mut waiting = Waiting::here();
            debug::signal_wait(&self.meta, Kind::Event, &mut waiting);
            waiting
        };
        let set = self.queue.park_until(key, deadline);
        #[cfg(feature = "tracing")]
        waiting.end(if set { "set" } else { "timed out" });
        set
    }

    /// Tasks and threads waiting right now (0 if the count is momentarily
    /// unavailable; it never blocks).
    ///
    /// ```
    /// assert_eq!(warden::Event::new().waiters(), 0);
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

impl Default for Event {
    fn default() -> Self {
        Event::new()
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Event");
        d.field("is_set", &self.is_set());
        if let Some(q) = self.queue.try_lock() {
            d.field("waiters", &q.len());
        }
        d.finish_non_exhaustive()
    }
}

/// The future of [`Event::wait`].
///
/// # Cancel safety
///
/// Dropping it removes the waiter; nothing else changes.
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct EventWait<'a> {
    event: &'a Event,
    key: Option<Key>,
    /// Where `wait` was called, and the wait's record once queued.
    #[cfg(feature = "tracing")]
    waiting: Waiting,
}

impl Future for EventWait<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        match this.key {
            None => {
                if this.event.is_set() {
                    return Poll::Ready(());
                }
                // Cloned before the mutex is taken (and, if not needed
                // after all, dropped after it is released).
                let wake = Sleeper::task(cx.waker());
                let mut q = this.event.queue();
                if this.event.flag.load(Ordering::Acquire) {
                    return Poll::Ready(());
                }
                this.key = Some(q.push_back((), wake));
                drop(q);
                #[cfg(feature = "tracing")]
                debug::signal_wait(&this.event.meta, Kind::Event, &mut this.waiting);
                Poll::Pending
            }
            Some(key) => {
                let ready = this.event.queue.poll_notified(key, cx.waker());
                if ready.is_ready() {
                    this.key = None;
                    #[cfg(feature = "tracing")]
                    this.waiting.end("set");
                }
                ready
            }
        }
    }
}

impl Drop for EventWait<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.event.queue().remove(key);
        }
    }
}

impl fmt::Debug for EventWait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventWait")
            .field("queued", &self.key.is_some())
            .finish_non_exhaustive()
    }
}
