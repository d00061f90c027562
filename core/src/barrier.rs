//! [`Barrier`]: Python's `threading.Barrier` / `asyncio.Barrier`.

use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::error::BrokenBarrierError;
use crate::raw::list::{WaitList, Wake, Wakes};
use crate::sync::{Mutex, MutexGuard};

/// A rendezvous for a fixed number of parties: Python's
/// [`threading.Barrier`] and [`asyncio.Barrier`].
///
/// | Python                                  | warden                                      |
/// |-----------------------------------------|---------------------------------------------|
/// | `b = threading.Barrier(3)`              | `let b = Barrier::new(3);`                  |
/// | `Barrier(3, action=f)`                  | `Barrier::with_action(3, f)`                |
/// | `i = b.wait()`                          | `let r = b.wait().await?; r.index()`        |
/// | `b.wait(timeout=0.5)`                   | `b.wait_timeout(d).await?`                  |
/// | `b.abort()` / `b.reset()`               | `b.abort()` / `b.reset()`                   |
/// | `b.broken`, `b.parties`, `b.n_waiting`  | `b.is_broken()`, `b.parties()`, `b.n_waiting()` |
/// | `BrokenBarrierError`                    | `Err(BrokenBarrierError)`                   |
///
/// # Semantics (Python's)
///
/// * When the last of `parties` arrives, the barrier *trips*: the action
///   (if any) runs once, in the last party's `wait`, before anyone is
///   released; then every party returns `Ok` with a distinct
///   [`index`](BarrierWaitResult::index) in `0..parties` (arrival order)
///   and exactly one [`is_leader`](BarrierWaitResult::is_leader) (the last).
///   The barrier is then ready for the next generation.
/// * If the action panics, the barrier breaks: the panic propagates out of
///   the last party's `wait`, the others get [`BrokenBarrierError`].
/// * [`abort`](Barrier::abort) breaks the barrier: every waiter, and every
///   later `wait`, gets `BrokenBarrierError` until [`reset`](Barrier::reset).
/// * `reset` breaks the current waiters and returns the barrier to its
///   initial, unbroken state.
/// * A timeout in [`wait_timeout`](Barrier::wait_timeout) breaks the barrier
///   for everyone, as in `threading`.
/// * A `wait` future dropped before the barrier trips **withdraws** its
///   arrival (as `asyncio.Barrier` does on cancellation): the count goes
///   back and the barrier is not broken.
///
/// An `abort` or `reset` that races with a running action applies to the
/// next generation: the tripping one is already decided (in Python the
/// action runs under the barrier's lock, so `abort` waits for it).
///
/// # Memory ordering
///
/// Everything each party did before `wait` *happens before* every party's
/// `wait` returns `Ok`, and before the action runs.
///
/// ```
/// use std::sync::Arc;
/// use warden::Barrier;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let barrier = Arc::new(Barrier::with_action(3, || println!("phase done")));
/// let parties: Vec<_> = (0..3)
///     .map(|_| {
///         let barrier = barrier.clone();
///         tokio::spawn(async move { barrier.wait().await.unwrap() })
///     })
///     .collect();
/// let mut leaders = 0;
/// let mut indices = Vec::new();
/// for p in parties {
///     let r = p.await.unwrap();
///     leaders += usize::from(r.is_leader());
///     indices.push(r.index());
/// }
/// indices.sort();
/// assert_eq!((leaders, indices), (1, vec![0, 1, 2]));
/// # }
/// ```
///
/// [`threading.Barrier`]: https://docs.python.org/3/library/threading.html#barrier-objects
/// [`asyncio.Barrier`]: https://docs.python.org/3/library/asyncio-sync.html#asyncio.Barrier
pub struct Barrier {
    parties: usize,
    action: Option<Box<dyn Fn() + Send + Sync>>,
    state: Mutex<State>,
}

struct State {
    /// Arrivals of the filling generation are linked, in arrival order.
    /// Unlinked nodes hold an outcome their owner has yet to pick up.
    list: WaitList<Arrival>,
    broken: bool,
}

struct Arrival {
    outcome: Outcome,
    /// Its owner was dropped while the barrier was tripping; the leader
    /// frees the node when it is done.
    abandoned: bool,
}

#[derive(Clone, Copy)]
enum Outcome {
    /// Arrived; the generation is not complete.
    Waiting,
    /// The generation is complete and its action is running.
    Tripping {
        index: usize,
    },
    Released {
        index: usize,
    },
    Broken,
}

/// What [`Barrier::wait`] returns to each party of a generation.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let r = warden::Barrier::new(1).wait().await.unwrap();
/// assert_eq!((r.index(), r.is_leader()), (0, true));
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BarrierWaitResult {
    index: usize,
    leader: bool,
}

impl BarrierWaitResult {
    /// This party's arrival index in its generation, `0..parties`, distinct
    /// per party: what Python's `wait()` returns.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// assert_eq!(warden::Barrier::new(1).wait().await.unwrap().index(), 0);
    /// # }
    /// ```
    pub fn index(&self) -> usize {
        self.index
    }

    /// Whether this party completed the generation (the last to arrive;
    /// it ran the action). Exactly one per generation.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// assert!(warden::Barrier::new(1).wait().await.unwrap().is_leader());
    /// # }
    /// ```
    pub fn is_leader(&self) -> bool {
        self.leader
    }
}

type WaitOutcome = Result<BarrierWaitResult, BrokenBarrierError>;

enum Arrive {
    Done(WaitOutcome),
    Queued(usize),
}

impl Barrier {
    /// Creates a barrier for `parties` parties.
    ///
    /// # Panics
    ///
    /// If `parties` is 0 (Python raises `ValueError`): nobody could ever
    /// complete it.
    ///
    /// ```
    /// assert_eq!(warden::Barrier::new(4).parties(), 4);
    /// ```
    #[track_caller]
    pub fn new(parties: usize) -> Barrier {
        assert!(
            parties > 0,
            "Barrier::new(0): a barrier needs at least one party (Python raises ValueError)"
        );
        Barrier {
            parties,
            action: None,
            state: Mutex::new(State {
                list: WaitList::new(),
                broken: false,
            }),
        }
    }

    /// Creates a barrier whose `action` runs once per generation, by the
    /// last party to arrive, before any party is released: Python's
    /// `Barrier(parties, action=...)`. If it panics, the barrier breaks.
    ///
    /// # Panics
    ///
    /// If `parties` is 0.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    /// let trips = Arc::new(AtomicUsize::new(0));
    /// let counter = trips.clone();
    /// let barrier = warden::Barrier::with_action(1, move || {
    ///     counter.fetch_add(1, Ordering::SeqCst);
    /// });
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// barrier.wait().await.unwrap();
    /// barrier.wait().await.unwrap();
    /// # });
    /// assert_eq!(trips.load(Ordering::SeqCst), 2);
    /// ```
    #[track_caller]
    pub fn with_action(parties: usize, action: impl Fn() + Send + Sync + 'static) -> Barrier {
        Barrier {
            action: Some(Box::new(action)),
            ..Barrier::new(parties)
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock()
    }

    /// Waits until all parties have arrived. Behaves as `async fn wait(&self)
    /// -> Result<BarrierWaitResult, BrokenBarrierError>`.
    ///
    /// # Errors
    ///
    /// [`BrokenBarrierError`] if the barrier is broken when called or
    /// breaks while waiting (`abort`, `reset`, a timeout, a panicking action).
    ///
    /// # Panics
    ///
    /// Re-raises the panic of the action in the party that ran it.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future before the barrier trips withdraws
    /// this party's arrival (the count goes back, nothing breaks). Dropped
    /// after the barrier tripped, the generation still counts it.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use std::time::Duration;
    /// let barrier = warden::Barrier::new(2);
    /// // Alone, the wait never completes; dropping it withdraws the arrival.
    /// let alone = tokio::time::timeout(Duration::from_millis(5), barrier.wait()).await;
    /// assert!(alone.is_err());
    /// assert_eq!(barrier.n_waiting(), 0);
    /// assert!(!barrier.is_broken());
    /// # }
    /// ```
    pub fn wait(&self) -> BarrierWait<'_> {
        BarrierWait {
            barrier: self,
            key: None,
            done: false,
        }
    }

    /// Waits as [`wait`](Barrier::wait), for at most `timeout`; if it runs
    /// out, the barrier **breaks** for every party (Python's `threading`
    /// semantics) and this returns `Err`. Needs a tokio runtime with time.
    ///
    /// # Errors
    ///
    /// [`BrokenBarrierError`] on timeout or if the barrier breaks.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`wait`](Barrier::wait) (a dropped future withdraws
    /// its arrival; only an elapsed timeout breaks the barrier).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use std::time::Duration;
    /// let barrier = warden::Barrier::new(2);
    /// assert!(barrier.wait_timeout(Duration::from_millis(5)).await.is_err());
    /// assert!(barrier.is_broken());
    /// # }
    /// ```
    pub async fn wait_timeout(&self, timeout: Duration) -> WaitOutcome {
        let mut wait = self.wait();
        match tokio::time::timeout(timeout, &mut wait).await {
            Ok(outcome) => outcome,
            Err(_elapsed) => match wait.time_out() {
                Some(outcome) => outcome,
                // Tripping: the generation is decided, its action running.
                None => wait.await,
            },
        }
    }

    /// Waits on this thread: the blocking twin of [`wait`](Barrier::wait).
    ///
    /// # Errors
    ///
    /// [`BrokenBarrierError`] as for `wait`.
    ///
    /// # Panics
    ///
    /// If it would have to wait on a thread that runs async tasks, or to
    /// re-raise the action's panic.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let barrier = Arc::new(warden::Barrier::new(2));
    /// let other = std::thread::spawn({
    ///     let barrier = barrier.clone();
    ///     move || barrier.wait_blocking().unwrap()
    /// });
    /// let mine = barrier.wait_blocking().unwrap();
    /// assert_ne!(mine.index(), other.join().unwrap().index());
    /// ```
    #[track_caller]
    pub fn wait_blocking(&self) -> WaitOutcome {
        self.wait_blocking_until(None, "Barrier::wait_blocking")
    }

    /// Waits on this thread for at most `timeout`; on timeout the barrier
    /// breaks for everyone. The blocking twin of
    /// [`wait_timeout`](Barrier::wait_timeout).
    ///
    /// # Errors
    ///
    /// [`BrokenBarrierError`] on timeout or if the barrier breaks.
    ///
    /// # Panics
    ///
    /// As [`wait_blocking`](Barrier::wait_blocking).
    ///
    /// ```
    /// use std::time::Duration;
    /// let barrier = warden::Barrier::new(2);
    /// assert!(barrier.wait_timeout_blocking(Duration::from_millis(1)).is_err());
    /// assert!(barrier.is_broken());
    /// ```
    #[track_caller]
    pub fn wait_timeout_blocking(&self, timeout: Duration) -> WaitOutcome {
        let deadline = Instant::now().checked_add(timeout);
        self.wait_blocking_until(deadline, "Barrier::wait_timeout_blocking")
    }

    #[track_caller]
    fn wait_blocking_until(&self, deadline: Option<Instant>, method: &str) -> WaitOutcome {
        let key = match self.arrive(Wake::current_thread()) {
            Arrive::Done(outcome) => return outcome,
            Arrive::Queued(key) => key,
        };
        if !crate::blocking::may_block() {
            self.withdraw(key);
            crate::blocking::refuse(method);
        }
        let mut timed_out = false;
        loop {
            match deadline {
                Some(deadline) if !timed_out => {
                    let now = Instant::now();
                    if now < deadline {
                        crate::sync::park_timeout(deadline - now);
                    }
                    timed_out = Instant::now() >= deadline;
                }
                _ => crate::sync::park(),
            }
            if timed_out {
                if let Some(outcome) = self.time_out(key) {
                    return outcome;
                }
                // Tripping: wait (untimed) for the action to finish.
            }
            if let Some(outcome) = self.check(key, None) {
                return outcome;
            }
        }
    }

    /// Breaks the barrier: every waiting party, and every later `wait`
    /// until [`reset`](Barrier::reset), gets [`BrokenBarrierError`].
    /// Aborting a broken barrier does nothing more.
    ///
    /// ```
    /// let barrier = warden::Barrier::new(2);
    /// barrier.abort();
    /// barrier.abort();
    /// assert!(barrier.is_broken());
    /// ```
    pub fn abort(&self) {
        let mut st = self.state();
        st.broken = true;
        let wakes = break_waiting(&mut st);
        drop(st);
        wakes.wake_all();
    }

    /// Returns the barrier to its initial state: parties waiting now get
    /// [`BrokenBarrierError`]; later `wait`s start a fresh generation.
    ///
    /// ```
    /// let barrier = warden::Barrier::new(2);
    /// barrier.abort();
    /// barrier.reset();
    /// assert!(!barrier.is_broken());
    /// ```
    pub fn reset(&self) {
        let mut st = self.state();
        let wakes = break_waiting(&mut st);
        st.broken = false;
        drop(st);
        wakes.wake_all();
    }

    /// Whether the barrier is broken.
    ///
    /// ```
    /// assert!(!warden::Barrier::new(2).is_broken());
    /// ```
    pub fn is_broken(&self) -> bool {
        self.state().broken
    }

    /// The number of parties needed to trip the barrier.
    ///
    /// ```
    /// assert_eq!(warden::Barrier::new(3).parties(), 3);
    /// ```
    pub fn parties(&self) -> usize {
        self.parties
    }

    /// Parties waiting in the current generation.
    ///
    /// ```
    /// assert_eq!(warden::Barrier::new(3).n_waiting(), 0);
    /// ```
    pub fn n_waiting(&self) -> usize {
        self.state().list.len()
    }

    /// Waiter records still allocated: 0 once nobody waits. For leak checks.
    #[doc(hidden)]
    pub fn __waiter_records(&self) -> usize {
        self.state().list.occupied()
    }

    /// A party arrives: it is queued, or it completes the generation (and
    /// runs the action), or the barrier is broken.
    fn arrive(&self, wake: Wake) -> Arrive {
        let mut st = self.state();
        if st.broken {
            return Arrive::Done(Err(BrokenBarrierError));
        }
        if st.list.len() + 1 < self.parties {
            let arrival = Arrival {
                outcome: Outcome::Waiting,
                abandoned: false,
            };
            return Arrive::Queued(st.list.push_back(arrival, wake));
        }
        // The last party: trip. The others stay parked (Tripping) until
        // the action has run.
        let keys: Vec<usize> = st.list.keys().collect();
        for (index, &key) in keys.iter().enumerate() {
            st.list.detach(key);
            st.list.data_mut(key).outcome = Outcome::Tripping { index };
        }
        drop(st);
        if let Some(action) = &self.action {
            if let Err(panic) = catch_unwind(AssertUnwindSafe(action)) {
                self.finish_trip(&keys, false);
                resume_unwind(panic);
            }
        }
        self.finish_trip(&keys, true);
        Arrive::Done(Ok(BarrierWaitResult {
            index: self.parties - 1,
            leader: true,
        }))
    }

    /// Releases (or, after a panicking action, breaks) a tripped generation.
    fn finish_trip(&self, keys: &[usize], released: bool) {
        let mut st = self.state();
        let mut wakes = Wakes::new();
        for &key in keys {
            let arrival = st.list.data_mut(key);
            if arrival.abandoned {
                st.list.remove(key);
                continue;
            }
            let Outcome::Tripping { index } = arrival.outcome else {
                unreachable!("a tripping arrival changed outcome")
            };
            arrival.outcome = if released {
                Outcome::Released { index }
            } else {
                Outcome::Broken
            };
            wakes.push(st.list.take_wake(key));
        }
        if !released {
            st.broken = true;
            wakes.extend(break_waiting(&mut st));
        }
        drop(st);
        wakes.wake_all();
    }

    /// The outcome for a queued party, if decided (frees its record);
    /// otherwise stores its waker.
    fn check(&self, key: usize, waker: Option<&std::task::Waker>) -> Option<WaitOutcome> {
        let mut st = self.state();
        match st.list.data(key).outcome {
            Outcome::Waiting | Outcome::Tripping { .. } => {
                if let Some(waker) = waker {
                    st.list.set_waker(key, waker);
                }
                None
            }
            Outcome::Released { index } => {
                st.list.remove(key);
                Some(Ok(BarrierWaitResult {
                    index,
                    leader: false,
                }))
            }
            Outcome::Broken => {
                st.list.remove(key);
                Some(Err(BrokenBarrierError))
            }
        }
    }

    /// A queued party's timeout: if still waiting, it withdraws and breaks
    /// the barrier for everyone; if decided, the decision stands; if
    /// tripping, `None` (the caller waits for the action).
    fn time_out(&self, key: usize) -> Option<WaitOutcome> {
        let mut st = self.state();
        if let Outcome::Waiting = st.list.data(key).outcome {
            st.list.remove(key);
            st.broken = true;
            let wakes = break_waiting(&mut st);
            drop(st);
            wakes.wake_all();
            return Some(Err(BrokenBarrierError));
        }
        drop(st);
        self.check(key, None)
    }

    /// A queued party's future was dropped.
    fn withdraw(&self, key: usize) {
        let mut st = self.state();
        let arrival = st.list.data_mut(key);
        if let Outcome::Tripping { .. } = arrival.outcome {
            arrival.abandoned = true; // the leader frees it
        } else {
            // Waiting: the arrival is withdrawn. Decided: nothing to undo.
            st.list.remove(key);
        }
    }
}

/// Breaks every party waiting in the filling generation.
fn break_waiting(st: &mut State) -> Wakes {
    let mut wakes = Wakes::new();
    while let Some((key, wake)) = st.list.pop_front() {
        st.list.data_mut(key).outcome = Outcome::Broken;
        wakes.push(wake);
    }
    wakes
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Barrier");
        d.field("parties", &self.parties);
        if let Some(st) = self.state.try_lock() {
            d.field("n_waiting", &st.list.len())
                .field("broken", &st.broken);
        }
        d.field("action", &self.action.is_some())
            .finish_non_exhaustive()
    }
}

/// The future of [`Barrier::wait`].
///
/// # Cancel safety
///
/// Dropped before the barrier trips, it withdraws its arrival.
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct BarrierWait<'a> {
    barrier: &'a Barrier,
    key: Option<usize>,
    done: bool,
}

impl BarrierWait<'_> {
    fn time_out(&mut self) -> Option<WaitOutcome> {
        let key = self.key?;
        let outcome = self.barrier.time_out(key);
        if outcome.is_some() {
            self.key = None;
            self.done = true;
        }
        outcome
    }
}

impl Future for BarrierWait<'_> {
    type Output = WaitOutcome;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<WaitOutcome> {
        let this = self.get_mut();
        assert!(!this.done, "BarrierWait polled after completion");
        let outcome = match this.key {
            None => match this.barrier.arrive(Wake::Task(cx.waker().clone())) {
                Arrive::Done(outcome) => Some(outcome),
                Arrive::Queued(key) => {
                    this.key = Some(key);
                    None
                }
            },
            Some(key) => this.barrier.check(key, Some(cx.waker())),
        };
        match outcome {
            Some(outcome) => {
                this.key = None;
                this.done = true;
                Poll::Ready(outcome)
            }
            None => Poll::Pending,
        }
    }
}

impl Drop for BarrierWait<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.barrier.withdraw(key);
        }
    }
}

impl fmt::Debug for BarrierWait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BarrierWait")
            .field("arrived", &self.key.is_some())
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}
