//! Cancellation storms: the stress workloads (`workloads/mod.rs`) with
//! about 45 % of the waits run under a cancelling mode, at a random point —
//! `tokio::time::timeout` with a tiny or zero duration, `tokio::select!`
//! against another branch, `JoinHandle::abort` (see
//! `support::cancellable`) — on a 2-worker runtime, plus storms of their
//! own: notifications counted through cancelled `Condition` waiters,
//! `Barrier::wait_timeout`, borrowed waits, and long queues.
//!
//! Afterwards every primitive must be idle, exactly as if the cancelled
//! callers had never waited: all permits back, the lock free, no waiter
//! record left (`__waiter_records() == 0`), no `Arc` kept alive, the barrier
//! unbroken unless a timeout said so, and every task finished (an outer
//! deadline turns a hang into a "hung: ..." failure). For `Condition`, the
//! notifications are counted: each `notify(1)` issued while consumers wait
//! must end in exactly one consumer taking an item, even when the consumer
//! it woke is cancelled while waking or while re-taking the lock.
//!
//! Counts are bounded; `WARDEN_STRESS=long` multiplies them by 10. Each
//! test prints its counters (`-- --nocapture`). `WARDEN_SEED=<n>` changes
//! the random choices.

// The storms time waits out with tokio and rely on its task ids.
#![cfg(feature = "tokio")]

mod support;
mod workloads;

use std::collections::{BTreeSet, VecDeque};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::time::{Duration, Instant};

use support::{
    Cancel, Rng, Stats, cancellable, cancellable_local, join_all, join_threads, scale, until,
    within, yields,
};
use warden::{Barrier, BarrierWaitResult, Condition, Event, Lock, RwLock, Semaphore};
use workloads::{EVERY_TAKE, Inside, Load, Take};

/// Share of waits run under a cancelling mode. Many of those complete
/// before their cancellation strikes (an uncontended acquire is ready on its
/// first poll), so about 15–30 % of the waits end up really cancelled; each
/// test prints the exact figure.
const CANCEL_PERCENT: usize = 45;

/// Runs a shared workload under cancellation; one that cancelled nothing
/// tested nothing.
async fn storm(workload: impl Future<Output = Arc<Stats>>) {
    assert!(workload.await.cancelled() > 0, "nothing was cancelled");
}

// ---------------------------------------------------------------------------
// The shared workloads, cancelled.
// ---------------------------------------------------------------------------

// Lock: the bank, with cancelled acquires and tasks aborted holding the lock
// (a fifth of the transfers hold it across a cancellation point).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_bank_storm() {
    let load = Load::new("lock_bank", 8, 8_000).threads(1, 4_000);
    storm(workloads::bank(load.cancel(CANCEL_PERCENT), 20)).await;
}

// Semaphore of 4: cancelled acquire / partial acquire_many, in every way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn semaphore_pool_storm() {
    let load = Load::new("semaphore_pool", 6, 6_000).threads(1, 3_000);
    storm(workloads::semaphore_pool(
        load.cancel(CANCEL_PERCENT),
        4,
        EVERY_TAKE,
    ))
    .await;
}

// Semaphore of 3: cancelled acquire_many_owned (the future holds an Arc).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owned_semaphore_permits_storm() {
    let load = Load::new("owned_permits", 4, 4_000).cancel(CANCEL_PERCENT);
    storm(workloads::semaphore_pool(load, 3, &[Take::ManyOwned])).await;
}

// BoundedSemaphore of 4: cancelled partial acquire_many among forgets and
// releases.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bounded_semaphore_storm() {
    let load = Load::new("bounded_semaphore", 5, 5_000).cancel(CANCEL_PERCENT);
    storm(workloads::bounded_semaphore(load, 4)).await;
}

// Condition: a bounded queue (4) whose producers and consumers are
// cancelled; a fifth of the consumers' waits are loops of wait_timeout with
// tiny timeouts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn condition_queue_storm() {
    let load = Load::new("condition_queue", 3, 4_000).threads(1, 4_000);
    storm(workloads::channel(load.cancel(CANCEL_PERCENT), 4, 20)).await;
}

// Barrier: parties cancelled while waiting withdraw; generations stay exact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn barrier_storm() {
    let load = Load::new("barrier", 4, 3_000).threads(1, 3_000);
    storm(workloads::barrier(load.cancel(CANCEL_PERCENT))).await;
}

// Event: waiters cancelled around set()/clear(). Event waits always block
// until `set()`, so nearly every attempt cancels: 30 %, not 45.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_storm() {
    storm(workloads::event(Load::new("event", 6, 800).cancel(30))).await;
}

// RLock: nested sections cancelled while queued or while holding.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rlock_storm() {
    let load = Load::new("rlock", 5, 4_000).threads(1, 2_000);
    storm(workloads::rlock(load.cancel(CANCEL_PERCENT))).await;
}

// ---------------------------------------------------------------------------
// Condition: counting notifications. Each round, WAITERS consumers wait on
// an empty queue; ITEMS items are pushed, one `notify(1)` each, while up to
// WAITERS - ITEMS of the consumers are cancelled at random points (before
// being notified, after, while re-taking the lock). Cancelled consumers
// never come back, so nothing masks a lost notification: each of the ITEMS
// notifications must reach a consumer still waiting (directly or passed
// on by a cancelled one) and end with exactly one item taken.
// ---------------------------------------------------------------------------

#[derive(Default)]
struct Round {
    items: VecDeque<usize>,
    closed: bool,
}

struct Notifications {
    lock: Lock<Round>,
    cond: Condition,
    /// Items taken this round.
    taken: AtomicUsize,
    /// Consumers of this round that have given up (cancelled, timed out).
    retired: AtomicUsize,
}

/// How one consumer of a round waits.
#[derive(Clone, Copy, Debug)]
enum Victim {
    /// Waits until it takes an item or the round closes.
    Steady,
    /// `tokio::time::timeout(d, cond.wait_for(..))`.
    Timeout(Duration),
    /// `select!` against a kill switch the canceller sets at a random point.
    Select,
    /// `wait_timeout(d)`: retires if it reports a timeout.
    WaitTimeout(Duration),
    /// `JoinHandle::abort` from the canceller at a random point.
    Abort,
}

#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Took(usize),
    Closed,
    Retired,
}

/// Takes one item if there is one (there must be, after a notification).
fn take_one(n: &Notifications, round: &mut Round) -> Outcome {
    if let Some(item) = round.items.pop_front() {
        n.taken.fetch_add(1, SeqCst);
        Outcome::Took(item)
    } else {
        assert!(round.closed, "woken by a notification, but no item to take");
        Outcome::Closed
    }
}

async fn consumer(n: Arc<Notifications>, how: Victim, kill: Arc<Event>) -> Outcome {
    /// Counts this consumer as retired when it leaves without an item,
    /// whatever the way (its own timeout, or an abort dropping it).
    struct Retire<'a>(&'a AtomicUsize, bool);
    impl Drop for Retire<'_> {
        fn drop(&mut self) {
            if self.1 {
                self.0.fetch_add(1, SeqCst);
            }
        }
    }
    let mut retire = Retire(&n.retired, true);
    let g = n.lock.acquire().await;
    let ready = |r: &mut Round| !r.items.is_empty() || r.closed;
    let outcome = match how {
        Victim::Steady | Victim::Abort => {
            let mut g = n.cond.wait_for(g, ready).await;
            take_one(&n, &mut g)
        }
        Victim::Timeout(d) => match tokio::time::timeout(d, n.cond.wait_for(g, ready)).await {
            Ok(mut g) => take_one(&n, &mut g),
            Err(_) => Outcome::Retired,
        },
        Victim::Select => {
            tokio::select! {
                mut g = n.cond.wait_for(g, ready) => take_one(&n, &mut g),
                () = kill.wait() => Outcome::Retired,
            }
        }
        Victim::WaitTimeout(d) => {
            // Nothing is pushed before every consumer waits, so the
            // predicate is false here and one wait decides.
            let (mut g, notified) = n.cond.wait_timeout(g, d).await;
            if notified {
                take_one(&n, &mut g)
            } else {
                Outcome::Retired
            }
        }
    };
    retire.1 = outcome == Outcome::Retired;
    outcome
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines)] // one workload, read top to bottom
async fn condition_every_notification_reaches_a_waiter_despite_cancellation() {
    const WAITERS: usize = 6; // 5 tasks + 1 spawn_blocking thread
    const ITEMS: usize = 3;
    let rounds = 800 * scale();
    let started = Instant::now();
    let stats = Stats::default();
    let n = Arc::new(Notifications {
        lock: Lock::new(Round::default()),
        cond: Condition::new(),
        taken: AtomicUsize::new(0),
        retired: AtomicUsize::new(0),
    });
    let mut rng = Rng::new(0);
    let mut notifies = 0_u64;
    let mut victims_that_still_took = 0_u64;

    within("the notification rounds", async {
        for round in 0..rounds {
            n.taken.store(0, SeqCst);
            n.retired.store(0, SeqCst);
            let kill = Arc::new(Event::new());
            // Up to WAITERS - ITEMS victims, never the thread (index 0).
            let victims = rng.below(WAITERS - ITEMS + 1);
            let mut hows = [Victim::Steady; WAITERS];
            for how in hows.iter_mut().skip(1).take(victims) {
                *how = match rng.below(4) {
                    0 => Victim::Timeout(rng.tiny_duration()),
                    1 => Victim::Select,
                    2 => Victim::WaitTimeout(rng.tiny_duration()),
                    _ => Victim::Abort,
                };
            }
            let tasks: Vec<_> = hows[1..]
                .iter()
                .map(|how| tokio::spawn(consumer(n.clone(), *how, kill.clone())))
                .collect();
            let thread = tokio::task::spawn_blocking({
                let n = n.clone();
                move || {
                    let g = n.lock.acquire_blocking();
                    let mut g = n
                        .cond
                        .wait_for_blocking(g, |r| !r.items.is_empty() || r.closed);
                    take_one(&n, &mut g)
                }
            });
            // Everyone is waiting (or has already given up). Read `retired`
            // first: a consumer leaves the queue before it counts as
            // retired, so in this order none is ever counted twice.
            until("every consumer waiting", || {
                let retired = n.retired.load(SeqCst);
                retired + n.cond.__waiter_records() == WAITERS
            })
            .await;
            // Push ITEMS items, one notify(1) each, while the canceller
            // strikes at random points.
            let push = async {
                let mut rng = Rng::new(1_000 + round as u64);
                for item in 0..ITEMS {
                    yields(rng.yields(3)).await;
                    let mut g = n.lock.acquire().await;
                    g.items.push_back(item);
                    if rng.chance(50) {
                        n.cond.notify(1);
                        drop(g);
                    } else {
                        drop(g);
                        n.cond.notify(1);
                    }
                }
            };
            let cancel = async {
                let mut rng = Rng::new(2_000 + round as u64);
                for (i, how) in hows[1..].iter().enumerate() {
                    match how {
                        Victim::Abort => {
                            yields(rng.yields(4)).await;
                            tasks[i].abort();
                        }
                        Victim::Select => {
                            yields(rng.yields(4)).await;
                            kill.set();
                        }
                        _ => {}
                    }
                }
            };
            tokio::join!(push, cancel);
            notifies += ITEMS as u64;
            // The heart of it: all ITEMS notifications end in an item taken.
            until(
                "every notification to reach a consumer (a notification was lost)",
                || n.taken.load(SeqCst) == ITEMS,
            )
            .await;
            // Close the round: the consumers left wake up empty-handed.
            n.lock.acquire().await.closed = true;
            n.cond.notify_all();
            let mut took = BTreeSet::new();
            let mut retired = 0_u64;
            for (how, task) in hows[1..].iter().zip(tasks) {
                let outcome = match task.await {
                    Ok(outcome) => outcome,
                    Err(e) if e.is_cancelled() => Outcome::Retired,
                    Err(e) => std::panic::resume_unwind(e.into_panic()),
                };
                match outcome {
                    Outcome::Took(item) => {
                        assert!(took.insert(item), "item {item} taken twice");
                        if !matches!(how, Victim::Steady) {
                            victims_that_still_took += 1;
                        }
                        stats.op();
                    }
                    Outcome::Retired => {
                        assert!(!matches!(how, Victim::Steady), "a steady consumer retired");
                        retired += 1;
                    }
                    Outcome::Closed => {}
                }
            }
            if let Outcome::Took(item) = thread.await.expect("the thread consumer") {
                assert!(took.insert(item), "item {item} taken twice");
                stats.op();
            }
            assert_eq!(took, (0..ITEMS).collect(), "round {round}: items taken");
            stats.cancel_tries.fetch_add(victims as u64, SeqCst);
            stats.cancelled.fetch_add(retired, SeqCst);
            assert_eq!(
                n.cond.__waiter_records(),
                0,
                "round {round}: a waiter record leaked"
            );
            assert!(!n.lock.locked());
            assert_eq!(Arc::strong_count(&kill), 1);
            *n.lock.acquire().await = Round::default();
        }
    })
    .await;

    assert_eq!(n.lock.__waiter_records(), 0);
    assert_eq!(Arc::strong_count(&n), 1);
    stats.report(
        "condition_notifications",
        started,
        &format!(
            "rounds={rounds} notify(1)_while_waiting={notifies} delivered={} \
             victims_that_still_took={victims_that_still_took}",
            stats.ops()
        ),
    );
}

// ---------------------------------------------------------------------------
// Barrier::wait_timeout: the barrier breaks only when a timeout says so.
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn barrier_breaks_only_when_a_timeout_says_so() {
    const PARTIES: usize = 3;
    let rounds = 300 * scale();
    let started = Instant::now();
    let stats = Stats::default();
    let barrier = Arc::new(Barrier::new(PARTIES));
    let mut rng = Rng::new(0);
    let (mut tripped, mut broken) = (0, 0);

    within("the wait_timeout rounds", async {
        for round in 0..rounds {
            // Some parties get a tiny timeout, the others one that never fires.
            let timeouts: Vec<Duration> = (0..PARTIES)
                .map(|_| {
                    if rng.chance(15) {
                        rng.tiny_duration()
                    } else {
                        Duration::from_hours(1)
                    }
                })
                .collect();
            let any_tiny = timeouts.iter().any(|d| *d < Duration::from_secs(1));
            let handles: Vec<_> = timeouts
                .iter()
                .map(|&d| {
                    let barrier = barrier.clone();
                    let late = rng.chance(50);
                    tokio::spawn(async move {
                        if late {
                            // Arrive late now and then, so tiny timeouts
                            // get the chance to fire (never decides a pass).
                            tokio::time::sleep(Duration::from_millis(2)).await;
                        }
                        barrier.wait_timeout(d).await
                    })
                })
                .collect();
            let results = join_all(handles).await;
            let oks = results.iter().filter(|r| r.is_ok()).count();
            if oks == PARTIES {
                tripped += 1;
                assert!(!barrier.is_broken());
                let leaders = results
                    .iter()
                    .filter(|r| r.as_ref().is_ok_and(BarrierWaitResult::is_leader))
                    .count();
                assert_eq!(leaders, 1, "round {round}: one leader");
                stats.op();
            } else {
                // One generation, every party in it: all pass or none does.
                assert_eq!(
                    oks, 0,
                    "round {round}: some parties passed a broken generation"
                );
                assert!(any_tiny, "round {round}: broken, but no timeout said so");
                assert!(barrier.is_broken());
                broken += 1;
                stats.cancelled.fetch_add(1, SeqCst);
                barrier.reset();
            }
            assert_eq!(barrier.__waiter_records(), 0);
            assert_eq!(barrier.n_waiting(), 0);
        }
    })
    .await;

    assert!(!barrier.is_broken());
    assert_eq!(Arc::strong_count(&barrier), 1);
    stats.report(
        "barrier_wait_timeout",
        started,
        &format!("rounds={rounds} tripped={tripped} broken_by_timeout={broken}"),
    );
}

// ---------------------------------------------------------------------------
// RwLock: readers and writers, cancelled while queued, handed the lock or
// inside it.
// ---------------------------------------------------------------------------

/// Who is inside the `RwLock` of [`rwlock_storm`]: readers counted, a
/// writer flagged; both leave on drop, so a cancelled section leaves too.
#[derive(Default)]
struct RwInside {
    readers: AtomicUsize,
    writer: AtomicBool,
}

struct Reading<'a>(&'a RwInside);

impl<'a> Reading<'a> {
    fn enter(inside: &'a RwInside) -> Self {
        inside.readers.fetch_add(1, SeqCst);
        assert!(!inside.writer.load(SeqCst), "a reader inside with a writer");
        Reading(inside)
    }
}

impl Drop for Reading<'_> {
    fn drop(&mut self) {
        self.0.readers.fetch_sub(1, SeqCst);
    }
}

struct Writing<'a>(&'a RwInside);

impl<'a> Writing<'a> {
    fn enter(inside: &'a RwInside) -> Self {
        assert!(!inside.writer.swap(true, SeqCst), "two writers inside");
        assert_eq!(
            inside.readers.load(SeqCst),
            0,
            "a writer inside with readers"
        );
        Writing(inside)
    }
}

impl Drop for Writing<'_> {
    fn drop(&mut self) {
        self.0.writer.store(false, SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rwlock_storm() {
    const TASKS: usize = 6;
    let ops = 4_000 * scale();
    let started = Instant::now();
    let stats = Arc::new(Stats::default());
    // Two counters a writer bumps together, and the writes that finished.
    let rw = Arc::new(RwLock::new((0_u64, 0_u64)));
    let inside = Arc::new(RwInside::default());
    let writes = Arc::new(AtomicU64::new(0));

    within("the rwlock storm", async {
        let tasks: Vec<_> = (0..TASKS)
            .map(|t| {
                let (rw, inside, writes, stats) =
                    (rw.clone(), inside.clone(), writes.clone(), stats.clone());
                tokio::spawn(async move {
                    let mut rng = Rng::new(t as u64);
                    for _ in 0..ops {
                        let write = rng.below(4) == 0;
                        let owned = rng.below(2) == 0;
                        let section = {
                            let (rw, inside, writes) = (rw.clone(), inside.clone(), writes.clone());
                            async move {
                                if write {
                                    let mut g = if owned {
                                        either::Owned(rw.clone().write_owned().await)
                                    } else {
                                        either::Borrowed(rw.write().await)
                                    };
                                    let _w = Writing::enter(&inside);
                                    // Cancellation may strike here, inside:
                                    // the write below is then not done at all.
                                    tokio::task::yield_now().await;
                                    let pair = g.pair_mut();
                                    pair.0 += 1;
                                    pair.1 += 1;
                                    writes.fetch_add(1, SeqCst);
                                } else {
                                    let g = rw.read().await;
                                    let _r = Reading::enter(&inside);
                                    let seen = *g;
                                    assert_eq!(seen.0, seen.1, "a half-done write");
                                    tokio::task::yield_now().await;
                                    assert_eq!(*g, seen, "written while read");
                                }
                            }
                        };
                        if cancellable(rng.cancel(CANCEL_PERCENT), &stats, section)
                            .await
                            .is_some()
                        {
                            stats.op();
                        }
                    }
                })
            })
            .collect();
        let thread = std::thread::spawn({
            let (rw, inside, writes, stats) =
                (rw.clone(), inside.clone(), writes.clone(), stats.clone());
            move || {
                for i in 0..ops / 2 {
                    if i % 4 == 0 {
                        let mut g = rw.write_blocking();
                        let _w = Writing::enter(&inside);
                        g.0 += 1;
                        g.1 += 1;
                        writes.fetch_add(1, SeqCst);
                    } else {
                        let g = rw.read_blocking();
                        let _r = Reading::enter(&inside);
                        assert_eq!(g.0, g.1, "a half-done write");
                    }
                    stats.op();
                }
            }
        });
        join_all(tasks).await;
        join_threads(vec![thread]).await;
    })
    .await;

    let n = writes.load(SeqCst);
    assert_eq!(*rw.read().await, (n, n), "a write lost or half done");
    assert!(rw.try_write().is_some(), "a cancelled waiter kept the lock");
    assert_eq!(
        rw.__waiter_records(),
        0,
        "a cancelled waiter left its record"
    );
    assert_eq!(Arc::strong_count(&rw), 1);
    stats.report("rwlock", started, &format!("{n} writes"));
}

/// A write guard, borrowed or owned (both forms are cancelled in the storm).
mod either {
    use warden::{OwnedRwLockWriteGuard, RwLockWriteGuard};

    pub enum Guard<'a> {
        Borrowed(RwLockWriteGuard<'a, (u64, u64)>),
        Owned(OwnedRwLockWriteGuard<(u64, u64)>),
    }
    pub use Guard::{Borrowed, Owned};

    impl Guard<'_> {
        pub fn pair_mut(&mut self) -> &mut (u64, u64) {
            match self {
                Guard::Borrowed(g) => g,
                Guard::Owned(g) => g,
            }
        }
    }
}

// `cancellable_local` covers waits that borrow; used here so the borrowed
// `Lock::acquire` future (not only `'static` ones) is cancelled too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn borrowed_waits_storm() {
    let ops = 10_000 * scale();
    let started = Instant::now();
    let stats = Stats::default();
    let lock = Arc::new(Lock::new(0_u64));
    let sem = Arc::new(Semaphore::new(2));
    let mut rng = Rng::new(0);
    within("borrowed waits", async {
        // Another task to contend with: holds both now and then, until done.
        let done = Arc::new(AtomicBool::new(false));
        let holder = tokio::spawn({
            let (lock, sem, done) = (lock.clone(), sem.clone(), done.clone());
            async move {
                while !done.load(SeqCst) {
                    let g = lock.acquire().await;
                    let p = sem.acquire_many(2).await;
                    yields(2).await;
                    drop((g, p));
                    tokio::task::yield_now().await;
                }
            }
        });
        for _ in 0..ops {
            if let Some(mut g) =
                cancellable_local(rng.cancel(CANCEL_PERCENT), &stats, lock.acquire()).await
            {
                *g += 1;
                stats.op();
            }
            if let Some(p) =
                cancellable_local(rng.cancel(CANCEL_PERCENT), &stats, sem.acquire()).await
            {
                drop(p);
            }
        }
        done.store(true, SeqCst);
        join_all(vec![holder]).await;
    })
    .await;
    assert_eq!(*lock.acquire().await, stats.ops());
    assert!(!lock.locked());
    assert_eq!(lock.__waiter_records(), 0);
    assert_eq!(sem.available_permits(), 2);
    assert_eq!(sem.__waiter_records(), 0);
    assert_eq!(Arc::strong_count(&lock), 1);
    assert_eq!(Arc::strong_count(&sem), 1);
    stats.report("borrowed_waits", started, "");
}

// ---------------------------------------------------------------------------
// Many waiters at once: long queues (past the wait list's 64-slot reuse
// threshold) that fill and drain over and over while waiters are cancelled.
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_waiters_churn() {
    const TASKS: usize = 150;
    let ops = 40 * scale();
    let started = Instant::now();
    let stats = Arc::new(Stats::default());
    let lock = Arc::new(Lock::new(0_u64));
    let sem = Arc::new(Semaphore::new(3));
    let event = Arc::new(Event::new());
    let inside = Arc::new(AtomicBool::new(false));

    within("the churn", async {
        let tasks: Vec<_> = (0..TASKS)
            .map(|t| {
                let (lock, sem, event, inside, stats) = (
                    lock.clone(),
                    sem.clone(),
                    event.clone(),
                    inside.clone(),
                    stats.clone(),
                );
                tokio::spawn(async move {
                    let mut rng = Rng::new(t as u64);
                    for i in 0..ops {
                        let work = {
                            let (lock, sem, inside) = (lock.clone(), sem.clone(), inside.clone());
                            async move {
                                let mut g = lock.acquire().await;
                                {
                                    let _inside = Inside::enter(&inside);
                                    *g += 1;
                                    tokio::task::yield_now().await;
                                }
                                drop(g);
                                let _p = sem.acquire_many(1 + t % 3).await;
                                tokio::task::yield_now().await;
                            }
                        };
                        if cancellable(rng.cancel(CANCEL_PERCENT), &stats, work)
                            .await
                            .is_some()
                        {
                            stats.op();
                        }
                        if i % 8 == 0 {
                            // Everyone piles up on the event now and then.
                            let wait = {
                                let event = event.clone();
                                async move { event.wait().await }
                            };
                            cancellable(Cancel::Timeout(rng.tiny_duration()), &stats, wait).await;
                        }
                    }
                })
            })
            .collect();
        let opener = tokio::spawn({
            let event = event.clone();
            async move {
                for _ in 0..200 {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    event.set();
                    event.clear();
                }
            }
        });
        join_all(tasks).await;
        join_all(vec![opener]).await;
    })
    .await;

    assert!(*lock.acquire().await <= stats.ops() + stats.cancelled());
    assert!(!lock.locked());
    assert_eq!(sem.available_permits(), 3);
    for records in [
        lock.__waiter_records(),
        sem.__waiter_records(),
        event.__waiter_records(),
    ] {
        assert_eq!(records, 0);
    }
    assert_eq!(Arc::strong_count(&lock), 1);
    assert_eq!(Arc::strong_count(&sem), 1);
    assert_eq!(Arc::strong_count(&event), 1);
    stats.report("many_waiters", started, &format!("tasks={TASKS}"));
}
