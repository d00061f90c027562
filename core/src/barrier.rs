//! [`Barrier`]: Python's `threading.Barrier` / `asyncio.Barrier`.

use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::blocking::Twin;
#[cfg(feature = "tracing")]
use crate::debug::{self, Kind, Meta, Waiting};
use crate::error::BrokenBarrierError;
use crate::raw::list::{Defer, Deferred, Key, Locked, Sleeper, WaitList, poll_registered};
use crate::raw::park::park_until;
use crate::sync::Mutex;
#[cfg(feature = "tracing")]
use std::panic::Location;

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
/// * Generations do not overlap: parties that arrive while an action runs
///   wait, uncounted, until it has finished, and then arrive for the next
///   generation. So two actions never run at once, and no party of the next
///   generation is released before this generation's action is done (as in
///   `CPython`, where the action runs under the barrier's lock and new
///   arrivals wait while it drains).
/// * If the action panics, the barrier breaks: the panic propagates out of
///   the last party's `wait`, the others of its generation and everyone who
///   arrived meanwhile or arrives later (until [`reset`](Barrier::reset))
///   get [`BrokenBarrierError`].
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
/// parties waiting for the next generation: the tripping one is already
/// decided (in Python the action runs under the barrier's lock, so `abort`
/// waits for it).
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
    /// Boxed twice so the field is one (thin) pointer, not two.
    action: Option<Box<Action>>,
    state: Mutex<State>,
    /// Name and number for `warden::debug` (feature `tracing`).
    #[cfg(feature = "tracing")]
    meta: Meta,
}

type Action = Box<dyn Fn() + Send + Sync>;

struct State {
    /// Allocated when the first party has to wait, then kept for every
    /// later generation (the slots are reused: a generation allocates
    /// nothing). Linked nodes are the arrivals of the filling generation,
    /// in arrival order — or, while an action runs, the parties that
    /// arrived meanwhile (`Deferred`). Unlinked nodes hold an outcome their
    /// owner has yet to pick up, or belong to the generation whose action
    /// is running.
    list: Option<Box<WaitList<Arrival, INLINE>>>,
    broken: bool,
    /// A generation's action is running: arrivals wait, uncounted, for it
    /// to finish.
    tripping: bool,
}

impl State {
    /// The list of a barrier that has queued a party.
    fn queued(&mut self) -> &mut WaitList<Arrival, INLINE> {
        self.list
            .as_deref_mut()
            .expect("a queued party's wait list exists")
    }

    /// Queues an arrival, allocating the list on first use.
    fn push(&mut self, outcome: Outcome, wake: Sleeper) -> Key {
        let arrival = Arrival {
            outcome,
            next: None,
        };
        self.list
            .get_or_insert_with(|| Box::new(WaitList::new()))
            .push_back(arrival, wake)
    }

    /// Parties counted in the filling generation.
    fn waiting(&self) -> usize {
        if self.tripping {
            0 // the linked ones wait for the action to finish, uncounted
        } else {
            self.list.as_ref().map_or(0, |list| list.len())
        }
    }
}

impl Defer for State {
    type Work = Deferred<INLINE>;
    fn take_deferred(&mut self) -> Option<Deferred<INLINE>> {
        self.list.as_deref_mut()?.take_deferred()
    }
}

struct Arrival {
    outcome: Outcome,
    /// The next party of the same generation while its action runs (a
    /// chain the leader walks to release them afterwards).
    next: Option<Key>,
}

#[derive(Clone, Copy)]
enum Outcome {
    /// Arrived; the generation is not complete.
    Waiting,
    /// Arrived while an action was running: not counted yet.
    Deferred,
    /// Arrived while an action was running, which has finished: the owner
    /// arrives again, this time counted.
    Retry,
    /// The generation is complete and its action is running.
    Tripping {
        index: usize,
    },
    /// Tripping, and its owner was dropped: the leader frees the node when
    /// the action is done.
    Abandoned,
    Released {
        index: usize,
    },
    Broken,
}

/// Sleepers the list keeps inline while it gathers them under the
/// mutex, so a generation of up to `INLINE + 1` parties is released without
/// allocating.
const INLINE: usize = 16;

/// What [`Barrier::wait`] returns to each party of a generation.
///
/// One word: the index, with the leader flag in its top bit (an index is
/// below `parties`, which [`Barrier::new`] caps at `isize::MAX`). It cannot
/// shrink to async-lock's one-byte `bool`: Python's `wait()` returns the
/// arrival index, which needs a `usize`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let r = warden::Barrier::new(1).wait().await.unwrap();
/// assert_eq!((r.index(), r.is_leader()), (0, true));
/// # }
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct BarrierWaitResult {
    /// `index | LEADER` for the leader, `index` for the others.
    bits: usize,
}

/// The leader flag of [`BarrierWaitResult::bits`].
const LEADER: usize = 1 << (usize::BITS - 1);

impl BarrierWaitResult {
    fn follower(index: usize) -> Self {
        Self { bits: index }
    }

    fn leader(index: usize) -> Self {
        Self {
            bits: index | LEADER,
        }
    }
}

impl fmt::Debug for BarrierWaitResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BarrierWaitResult")
            .field("index", &self.index())
            .field("leader", &self.is_leader())
            .finish()
    }
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
        self.bits & !LEADER
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
        self.bits & LEADER != 0
    }
}

type WaitOutcome = Result<BarrierWaitResult, BrokenBarrierError>;

enum Arrive {
    Done(WaitOutcome),
    Queued(Key),
}

/// A queued party's standing, as [`Barrier::check`] finds it.
enum Checked {
    Pending,
    Done(WaitOutcome),
    /// It arrived while an action ran, which has finished: arrive again.
    Retry,
}

impl Barrier {
    /// Creates a barrier for `parties` parties.
    ///
    /// # Panics
    ///
    /// If `parties` is 0 (Python raises `ValueError`): nobody could ever
    /// complete it. If `parties` exceeds `isize::MAX`: that many parties
    /// could never wait at once (each needs memory), and the cap lets
    /// [`BarrierWaitResult`] keep its index and leader flag in one word.
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
        assert!(
            isize::try_from(parties).is_ok(),
            "Barrier::new({parties}): a barrier takes at most isize::MAX parties"
        );
        Barrier {
            parties,
            action: None,
            state: Mutex::new(State {
                list: None,
                broken: false,
                tripping: false,
            }),
            #[cfg(feature = "tracing")]
            meta: Meta::new(),
        }
    }

    /// Names the barrier for warden's reports (feature `tracing`: its wait
    /// events, the reason it broke, and the hang report
    /// `warden::debug::dump()`). Without the feature the name is not kept
    /// and this costs nothing.
    ///
    /// ```
    /// let barrier = warden::Barrier::new(3).named("generation");
    /// assert_eq!(barrier.parties(), 3);
    /// ```
    #[must_use]
    pub fn named(self, name: &'static str) -> Barrier {
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

    /// Creates a barrier whose `action` runs once per generation, by the
    /// last party to arrive, before any party is released: Python's
    /// `Barrier(parties, action=...)`. If it panics, the barrier breaks.
    ///
    /// # Panics
    ///
    /// If `parties` is 0 or exceeds `isize::MAX`, as [`new`](Barrier::new).
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
            action: Some(Box::new(Box::new(action))),
            ..Barrier::new(parties)
        }
    }

    fn state(&self) -> Locked<'_, State> {
        Locked::new(self.state.lock())
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
    #[cfg_attr(feature = "tracing", track_caller)]
    pub fn wait(&self) -> BarrierWait<'_> {
        BarrierWait {
            barrier: Some(self),
            key: None,
            #[cfg(feature = "tracing")]
            waiting: Waiting::here(),
        }
    }

    /// Waits as [`wait`](Barrier::wait), for at most `timeout`; if it runs
    /// out, the barrier **breaks** for every party (Python's `threading`
    /// semantics) and this returns `Err`. Timed by tokio's clock: requires
    /// feature `tokio` and a tokio runtime with time enabled. Behaves as
    /// `async fn wait_timeout(&self, timeout: Duration) ->
    /// Result<BarrierWaitResult, BrokenBarrierError>`.
    ///
    /// # Errors
    ///
    /// [`BrokenBarrierError`] on timeout or if the barrier breaks.
    ///
    /// # Panics
    ///
    /// At its first poll, naming this call's line, outside a tokio runtime
    /// with the time driver; and to re-raise the action's panic.
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
    #[cfg(feature = "tokio")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    #[track_caller]
    pub fn wait_timeout(&self, timeout: Duration) -> BarrierWaitTimeout<'_> {
        BarrierWaitTimeout {
            at: std::panic::Location::caller(),
            timeout,
            sleep: None,
            wait: self.wait(),
            untimed: false,
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
    /// If it would have to wait on a thread that runs async tasks ([detected with feature `tokio`](crate#blocking-twins-and-runtime-workers)), or to
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
        self.wait_blocking_until(
            None,
            &Twin {
                method: "Barrier::wait_blocking",
                instead: "barrier.wait().await",
            },
        )
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
        self.wait_blocking_until(
            deadline,
            &Twin {
                method: "Barrier::wait_timeout_blocking",
                instead: "barrier.wait_timeout(d).await",
            },
        )
    }

    #[track_caller]
    fn wait_blocking_until(&self, deadline: Option<Instant>, twin: &Twin) -> WaitOutcome {
        let mut key = match self.arrive(Sleeper::current_thread()) {
            Arrive::Done(outcome) => return outcome,
            Arrive::Queued(key) => key,
        };
        if !crate::blocking::may_block() {
            self.withdraw(key);
            crate::blocking::refuse(twin);
        }
        #[cfg(feature = "tracing")]
        let mut waiting = {
            let mut waiting = Waiting::here();
            debug::signal_wait(&self.meta, Kind::Barrier, &mut waiting);
            waiting
        };
        #[cfg(feature = "tracing")]
        let site = waiting.site();
        let outcome = park_until(deadline, |timed_out, deadline| {
            if timed_out {
                if let Some(outcome) = self.time_out(
                    key,
                    #[cfg(feature = "tracing")]
                    site,
                ) {
                    return Some(outcome);
                }
                // Timed out while the barrier trips: wait, untimed, for the
                // action to finish.
                *deadline = None;
            }
            match self.check_blocking(key) {
                Checked::Pending => None,
                Checked::Done(outcome) => Some(outcome),
                Checked::Retry => match self.arrive(Sleeper::current_thread()) {
                    Arrive::Done(outcome) => Some(outcome),
                    Arrive::Queued(again) => {
                        key = again;
                        None
                    }
                },
            }
        });
        #[cfg(feature = "tracing")]
        waiting.end(if outcome.is_ok() {
            "released"
        } else {
            "broken"
        });
        outcome
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
    #[cfg_attr(feature = "tracing", track_caller)]
    pub fn abort(&self) {
        let mut st = self.state();
        #[cfg(feature = "tracing")]
        let was_broken = st.broken;
        st.broken = true;
        break_waiting(&mut st);
        drop(st);
        #[cfg(feature = "tracing")]
        if !was_broken {
            debug::barrier_broken(
                &self.meta,
                "abort() was called",
                Some(Location::caller()),
                true,
            );
        }
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
    #[cfg_attr(feature = "tracing", track_caller)]
    pub fn reset(&self) {
        let mut st = self.state();
        #[cfg(feature = "tracing")]
        let waiting = st.waiting();
        break_waiting(&mut st);
        st.broken = false;
        drop(st);
        #[cfg(feature = "tracing")]
        if waiting > 0 {
            debug::barrier_broken(
                &self.meta,
                "reset() was called with parties waiting",
                Some(Location::caller()),
                true,
            );
        }
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
        self.state().waiting()
    }

    /// Waiter records still allocated: 0 once nobody waits. For leak checks.
    #[cfg(any(feature = "__introspection", warden_model))]
    #[doc(hidden)]
    pub fn __waiter_records(&self) -> usize {
        self.state().list.as_ref().map_or(0, |list| list.occupied())
    }

    /// A party arrives: it is queued (with the wake handle `wake`, made
    /// before the mutex is taken), or it completes the generation (and runs
    /// the action), or the barrier is broken.
    fn arrive(&self, wake: Sleeper) -> Arrive {
        let mut st = self.state();
        if st.broken {
            return Arrive::Done(Err(BrokenBarrierError));
        }
        if st.tripping {
            return Arrive::Queued(st.push(Outcome::Deferred, wake));
        }
        if st.waiting() + 1 < self.parties {
            return Arrive::Queued(st.push(Outcome::Waiting, wake));
        }
        // The last party: trip.
        let leader = Arrive::Done(Ok(BarrierWaitResult::leader(self.parties - 1)));
        let Some(action) = &self.action else {
            // No action: release the others in this one critical section
            // (they are woken as the mutex is released).
            if let Some(list) = st.list.as_deref_mut() {
                let mut index = 0;
                while let Some(key) = list.notify_front() {
                    list.data_mut(key).outcome = Outcome::Released { index };
                    index += 1;
                }
            }
            return leader;
        };
        // The others stay parked (Tripping) until the action has run,
        // chained so that the leader finds them again; arrivals meanwhile
        // are deferred to the next generation.
        st.tripping = true;
        let mut head = None;
        if let Some(list) = st.list.as_deref_mut() {
            let mut prev: Option<Key> = None;
            let mut index = 0;
            while let Some(key) = list.front() {
                list.detach(key);
                list.data_mut(key).outcome = Outcome::Tripping { index };
                index += 1;
                match prev {
                    None => head = Some(key),
                    Some(prev) => list.data_mut(prev).next = Some(key),
                }
                prev = Some(key);
            }
        }
        drop(st);
        if let Err(panic) = catch_unwind(AssertUnwindSafe(&**action)) {
            self.finish_trip(head, false);
            #[cfg(feature = "tracing")]
            debug::barrier_broken(&self.meta, "its action panicked", None, false);
            resume_unwind(panic);
        }
        self.finish_trip(head, true);
        leader
    }

    /// Releases (or, after a panicking action, breaks) the tripped
    /// generation chained from `head`; then lets the parties that arrived
    /// meanwhile arrive again (or, broken, breaks them).
    fn finish_trip(&self, head: Option<Key>, released: bool) {
        let mut st = self.state();
        let mut next_key = head;
        while let Some(key) = next_key {
            let list = st.queued();
            let arrival = list.data_mut(key);
            let next = arrival.next.take();
            match arrival.outcome {
                Outcome::Abandoned => drop(list.remove(key)),
                Outcome::Tripping { index } => {
                    arrival.outcome = if released {
                        Outcome::Released { index }
                    } else {
                        Outcome::Broken
                    };
                    list.wake(key);
                }
                _ => unreachable!("a tripping arrival changed outcome"),
            }
            next_key = next;
        }
        st.tripping = false;
        if !released {
            st.broken = true;
        }
        if st.broken {
            break_waiting(&mut st);
        } else if let Some(list) = st.list.as_deref_mut() {
            // Every linked node arrived while the action ran.
            while let Some(key) = list.notify_front() {
                list.data_mut(key).outcome = Outcome::Retry;
            }
        }
    }

    /// A queued party's standing: decided (its record freed), `Retry`
    /// (its record freed: it must arrive again), or pending.
    fn settle(list: &mut WaitList<Arrival, INLINE>, key: Key) -> Checked {
        match list.data(key).outcome {
            Outcome::Waiting | Outcome::Deferred | Outcome::Tripping { .. } => Checked::Pending,
            Outcome::Released { index } => {
                list.remove(key);
                Checked::Done(Ok(BarrierWaitResult::follower(index)))
            }
            Outcome::Broken => {
                list.remove(key);
                Checked::Done(Err(BrokenBarrierError))
            }
            Outcome::Retry => {
                list.remove(key);
                Checked::Retry
            }
            Outcome::Abandoned => unreachable!("an abandoned arrival was checked"),
        }
    }

    /// [`settle`](Self::settle) for a future, keeping its waker registered
    /// while pending (cloned outside the mutex).
    fn check(&self, key: Key, waker: &std::task::Waker) -> Checked {
        let mut checked = Checked::Pending;
        let _ = poll_registered(
            || self.state(),
            State::queued,
            key,
            waker,
            |st| match Self::settle(st.queued(), key) {
                Checked::Pending => Poll::Pending,
                done => {
                    checked = done;
                    Poll::Ready(())
                }
            },
        );
        checked
    }

    /// [`settle`](Self::settle) for a parked thread.
    fn check_blocking(&self, key: Key) -> Checked {
        let mut st = self.state();
        let checked = Self::settle(st.queued(), key);
        if let Checked::Pending = checked {
            st.queued().set_wake(key, Sleeper::current_thread());
        }
        checked
    }

    /// A queued party's timeout: if still waiting (counted or not), it
    /// withdraws and breaks the barrier for everyone; if decided, the
    /// decision stands; if tripping, `None` (the caller waits for the
    /// action).
    fn time_out(
        &self,
        key: Key,
        #[cfg(feature = "tracing")] site: &'static Location<'static>,
    ) -> Option<WaitOutcome> {
        let mut st = self.state();
        let list = st.queued();
        match list.data(key).outcome {
            Outcome::Waiting | Outcome::Deferred | Outcome::Retry => {
                list.remove(key);
                st.broken = true;
                break_waiting(&mut st);
                drop(st);
                #[cfg(feature = "tracing")]
                debug::barrier_broken(&self.meta, "a wait timed out", Some(site), false);
                Some(Err(BrokenBarrierError))
            }
            Outcome::Tripping { .. } => None,
            _ => match Self::settle(list, key) {
                Checked::Done(outcome) => Some(outcome),
                Checked::Pending | Checked::Retry => {
                    unreachable!("a decided arrival settles")
                }
            },
        }
    }

    /// A queued party's future was dropped.
    fn withdraw(&self, key: Key) {
        let mut st = self.state();
        let list = st.queued();
        let arrival = list.data_mut(key);
        if let Outcome::Tripping { .. } = arrival.outcome {
            arrival.outcome = Outcome::Abandoned; // the leader frees it
        } else {
            // Waiting: the arrival is withdrawn (the count is the number of
            // linked arrivals). Deferred or told to retry: never counted.
            // Decided: nothing to undo.
            list.remove(key);
        }
    }
}

/// Breaks every party waiting: the filling generation's, or those that
/// arrived while an action runs (they are woken as the mutex is released).
fn break_waiting(st: &mut State) {
    if let Some(list) = st.list.as_deref_mut() {
        while let Some(key) = list.notify_front() {
            list.data_mut(key).outcome = Outcome::Broken;
        }
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Barrier");
        d.field("parties", &self.parties);
        if let Some(st) = self.state.try_lock() {
            d.field("n_waiting", &st.waiting())
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
    /// `None` once the outcome was returned.
    barrier: Option<&'a Barrier>,
    /// This party's arrival, once it arrived and until it is decided.
    key: Option<Key>,
    /// Where `wait` was called, and the wait's record once queued.
    #[cfg(feature = "tracing")]
    waiting: Waiting,
}

impl BarrierWait<'_> {
    #[cfg(feature = "tokio")]
    fn time_out(&mut self) -> Option<WaitOutcome> {
        let (Some(barrier), Some(key)) = (self.barrier, self.key) else {
            return None;
        };
        let outcome = barrier.time_out(
            key,
            #[cfg(feature = "tracing")]
            self.waiting.site(),
        );
        if outcome.is_some() {
            self.barrier = None;
            self.key = None;
            #[cfg(feature = "tracing")]
            self.waiting.end("timed out");
        }
        outcome
    }
}

impl Future for BarrierWait<'_> {
    type Output = WaitOutcome;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<WaitOutcome> {
        let this = self.get_mut();
        let barrier = this.barrier.expect("BarrierWait polled after completion");
        let checked = match this.key {
            // First poll: arrive.
            None => Checked::Retry,
            Some(key) => barrier.check(key, cx.waker()),
        };
        let outcome = match checked {
            Checked::Pending => return Poll::Pending,
            Checked::Done(outcome) => outcome,
            // First poll, or arrived while an action ran which is over now.
            Checked::Retry => match barrier.arrive(Sleeper::task(cx.waker())) {
                Arrive::Done(outcome) => outcome,
                Arrive::Queued(key) => {
                    this.key = Some(key);
                    #[cfg(feature = "tracing")]
                    debug::signal_wait(&barrier.meta, Kind::Barrier, &mut this.waiting);
                    return Poll::Pending;
                }
            },
        };
        this.barrier = None;
        this.key = None;
        #[cfg(feature = "tracing")]
        this.waiting.end(if outcome.is_ok() {
            "released"
        } else {
            "broken"
        });
        Poll::Ready(outcome)
    }
}

impl Drop for BarrierWait<'_> {
    fn drop(&mut self) {
        if let (Some(barrier), Some(key)) = (self.barrier, self.key) {
            barrier.withdraw(key);
        }
    }
}

impl fmt::Debug for BarrierWait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BarrierWait")
            .field("arrived", &self.key.is_some())
            .field("done", &self.barrier.is_none())
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "tokio")]
pin_project_lite::pin_project! {
    /// The future of [`Barrier::wait_timeout`]. Requires feature `tokio`.
    ///
    /// # Cancel safety
    ///
    /// As [`BarrierWait`]: dropped before the barrier trips, it withdraws
    /// its arrival (only an elapsed timeout breaks the barrier).
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct BarrierWaitTimeout<'a> {
        at: &'static std::panic::Location<'static>,
        timeout: Duration,
        // Started at the first poll.
        #[pin]
        sleep: Option<tokio::time::Sleep>,
        wait: BarrierWait<'a>,
        // Timed out while the barrier tripped: wait, untimed, for the action.
        untimed: bool,
    }
}

#[cfg(feature = "tokio")]
impl Future for BarrierWaitTimeout<'_> {
    type Output = WaitOutcome;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<WaitOutcome> {
        let mut this = self.project();
        if this.sleep.is_none() {
            crate::blocking::require_runtime("Barrier::wait_timeout", this.at);
            this.sleep.set(Some(tokio::time::sleep(*this.timeout)));
        }
        if let Poll::Ready(outcome) = Pin::new(&mut *this.wait).poll(cx) {
            return Poll::Ready(outcome);
        }
        if *this.untimed {
            return Poll::Pending;
        }
        let fired = this
            .sleep
            .as_pin_mut()
            .is_some_and(|sleep| sleep.poll(cx).is_ready());
        if !fired {
            return Poll::Pending;
        }
        if let Some(outcome) = this.wait.time_out() {
            return Poll::Ready(outcome);
        }
        // Tripping: the generation is decided, its action running.
        *this.untimed = true;
        Pin::new(&mut *this.wait).poll(cx)
    }
}

#[cfg(feature = "tokio")]
impl fmt::Debug for BarrierWaitTimeout<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BarrierWaitTimeout")
            .field("timeout", &self.timeout)
            .field("wait", &self.wait)
            .finish_non_exhaustive()
    }
}
