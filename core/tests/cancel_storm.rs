//! Cancellation storms: the stress workloads with about 30 % of the waits
//! run under a cancelling mode, at a random point — `tokio::time::timeout`
//! with a tiny or zero duration, `tokio::select!` against another branch,
//! `JoinHandle::abort` (see `support::cancellable`) — on a 2-worker runtime.
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

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::time::{Duration, Instant};

use support::{
    Cancel, Rng, Stats, cancellable, cancellable_local, join_all, join_threads, scale, until,
    within, yields,
};
use warden::{
    Barrier, BarrierWaitResult, BoundedSemaphore, BrokenBarrierError, Condition, Event, Lock,
    RLock, RwLock, Semaphore, TooManyReleases,
};

/// Share of waits run under a cancelling mode. Many of those complete
/// before their cancellation strikes (an uncontended acquire is ready on its
/// first poll), so about 15–30 % of the waits end up really cancelled; each
/// test prints the exact figure.
const CANCEL_PERCENT: usize = 45;
/// Event waits always block until `set()`, so nearly every attempt cancels.
const EVENT_CANCEL_PERCENT: usize = 30;

/// Sets a flag back to false when dropped: marks a critical section that
/// a cancellation may end at any await.
struct Inside<'a>(&'a AtomicBool);

impl<'a> Inside<'a> {
    fn enter(flag: &'a AtomicBool) -> Self {
        assert!(!flag.swap(true, SeqCst), "two holders inside at once");
        Inside(flag)
    }
}

impl Drop for Inside<'_> {
    fn drop(&mut self) {
        self.0.store(false, SeqCst);
    }
}

/// Counts holders of a pool; leaves on drop (so cancellation leaves too).
struct InPool<'a> {
    inside: &'a AtomicUsize,
    k: usize,
}

impl<'a> InPool<'a> {
    fn enter(inside: &'a AtomicUsize, high: &AtomicUsize, cap: usize, k: usize) -> Self {
        let now = inside.fetch_add(k, SeqCst) + k;
        assert!(now <= cap, "{now} holders inside a pool of {cap}");
        high.fetch_max(now, SeqCst);
        InPool { inside, k }
    }
}

impl Drop for InPool<'_> {
    fn drop(&mut self) {
        self.inside.fetch_sub(self.k, SeqCst);
    }
}

// ---------------------------------------------------------------------------
// Lock: the bank, with cancelled acquires and tasks aborted holding the lock.
// ---------------------------------------------------------------------------

const ACCOUNTS: usize = 16;
const INITIAL: i64 = 1_000;
const TOTAL: i64 = 16 * INITIAL;

struct Bank {
    balances: Lock<Vec<i64>>,
    inside: AtomicBool,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines)] // one workload, read top to bottom
async fn lock_bank_storm() {
    const TASKS: usize = 8;
    let ops = 8_000 * scale();
    let started = Instant::now();
    let stats = Arc::new(Stats::default());
    let bank = Arc::new(Bank {
        balances: Lock::new(vec![INITIAL; ACCOUNTS]),
        inside: AtomicBool::new(false),
    });
    let done = Arc::new(AtomicBool::new(false));
    let verifications = Arc::new(AtomicU64::new(0));

    within("the bank storm", async {
        let tasks: Vec<_> = (0..TASKS)
            .map(|t| {
                let (bank, stats) = (bank.clone(), stats.clone());
                tokio::spawn(async move {
                    let mut rng = Rng::new(t as u64);
                    for _ in 0..ops {
                        let (from, to) = (rng.below(ACCOUNTS), rng.below(ACCOUNTS));
                        let amount = i64::try_from(rng.below(100)).expect("small") + 1;
                        let hold = rng.chance(20);
                        let transfer = {
                            let bank = bank.clone();
                            async move {
                                let mut g = bank.balances.acquire().await;
                                let _inside = Inside::enter(&bank.inside);
                                if from != to && g[from] >= amount {
                                    g[from] -= amount;
                                    g[to] += amount;
                                }
                                if hold {
                                    // A cancellation point while holding the
                                    // guard (the books balance already).
                                    tokio::task::yield_now().await;
                                }
                            }
                        };
                        if cancellable(rng.cancel(CANCEL_PERCENT), &stats, transfer)
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
            let (bank, stats) = (bank.clone(), stats.clone());
            move || {
                let mut rng = Rng::new(100);
                for _ in 0..ops / 2 {
                    let (from, to) = (rng.below(ACCOUNTS), rng.below(ACCOUNTS));
                    let mut g = bank.balances.acquire_blocking();
                    let inside = Inside::enter(&bank.inside);
                    if from != to && g[from] >= 1 {
                        g[from] -= 1;
                        g[to] += 1;
                    }
                    drop(inside);
                    drop(g);
                    stats.op();
                }
            }
        });
        let verify = tokio::spawn({
            let (bank, stats, done, verifications) = (
                bank.clone(),
                stats.clone(),
                done.clone(),
                verifications.clone(),
            );
            async move {
                let mut rng = Rng::new(200);
                loop {
                    let finished = done.load(SeqCst);
                    let check = {
                        let bank = bank.clone();
                        async move {
                            let g = bank.balances.acquire().await;
                            let _inside = Inside::enter(&bank.inside);
                            assert_eq!(
                                g.iter().sum::<i64>(),
                                TOTAL,
                                "verify_accounts saw a broken total"
                            );
                        }
                    };
                    if cancellable(rng.cancel(CANCEL_PERCENT), &stats, check)
                        .await
                        .is_some()
                    {
                        verifications.fetch_add(1, SeqCst);
                    }
                    if finished {
                        break;
                    }
                }
            }
        });
        join_all(tasks).await;
        join_threads(vec![thread]).await;
        done.store(true, SeqCst);
        join_all(vec![verify]).await;
    })
    .await;

    assert_eq!(bank.balances.acquire().await.iter().sum::<i64>(), TOTAL);
    assert!(!bank.balances.locked(), "a cancelled holder kept the lock");
    assert_eq!(
        bank.balances.__waiter_records(),
        0,
        "a cancelled waiter left its record"
    );
    assert_eq!(
        Arc::strong_count(&bank),
        1,
        "an aborted task kept the bank alive"
    );
    assert!(stats.cancelled() > 0);
    stats.report(
        "cancel_storm",
        "lock_bank",
        started,
        &format!("verifications={}", verifications.load(SeqCst)),
    );
}

// ---------------------------------------------------------------------------
// Semaphore and BoundedSemaphore: cancelled acquire / partial acquire_many.
// ---------------------------------------------------------------------------

struct Pool<S> {
    sem: S,
    cap: usize,
    inside: AtomicUsize,
    high: AtomicUsize,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn semaphore_pool_storm() {
    const N: usize = 4;
    const TASKS: usize = 6;
    let ops = 6_000 * scale();
    let started = Instant::now();
    let stats = Arc::new(Stats::default());
    let pool = Arc::new(Pool {
        sem: Semaphore::new(N),
        cap: N,
        inside: AtomicUsize::new(0),
        high: AtomicUsize::new(0),
    });

    within("the semaphore storm", async {
        let tasks: Vec<_> = (0..TASKS)
            .map(|t| {
                let (pool, stats) = (pool.clone(), stats.clone());
                tokio::spawn(async move {
                    let mut rng = Rng::new(t as u64);
                    for _ in 0..ops {
                        let k = 1 + rng.below(N); // up to the whole pool: partial grants
                        let kind = rng.below(3);
                        let hold = rng.below(3);
                        let work = {
                            let pool = pool.clone();
                            async move {
                                match kind {
                                    0 => {
                                        let _p = pool.sem.acquire().await;
                                        let _in =
                                            InPool::enter(&pool.inside, &pool.high, pool.cap, 1);
                                        yields(u32::try_from(hold).expect("small")).await;
                                    }
                                    1 => {
                                        let _p = pool.sem.acquire_many(k).await;
                                        let _in =
                                            InPool::enter(&pool.inside, &pool.high, pool.cap, k);
                                        assert!(pool.sem.available_permits() <= N - k);
                                        yields(u32::try_from(hold).expect("small")).await;
                                    }
                                    _ => {
                                        // forget() then release(1) at once:
                                        // the pool keeps its N permits.
                                        let p = pool.sem.acquire().await;
                                        let in_pool =
                                            InPool::enter(&pool.inside, &pool.high, pool.cap, 1);
                                        tokio::task::yield_now().await;
                                        drop(in_pool);
                                        p.forget();
                                        pool.sem.release(1);
                                    }
                                }
                            }
                        };
                        if cancellable(rng.cancel(CANCEL_PERCENT), &stats, work)
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
            let (pool, stats) = (pool.clone(), stats.clone());
            move || {
                let mut rng = Rng::new(100);
                for _ in 0..ops / 2 {
                    let k = 1 + rng.below(N);
                    let p = pool.sem.acquire_many_blocking(k);
                    let in_pool = InPool::enter(&pool.inside, &pool.high, pool.cap, k);
                    std::thread::yield_now();
                    drop(in_pool);
                    drop(p);
                    stats.op();
                }
            }
        });
        join_all(tasks).await;
        join_threads(vec![thread]).await;
    })
    .await;

    assert_eq!(
        pool.sem.available_permits(),
        N,
        "a cancelled acquire leaked or duplicated permits"
    );
    assert_eq!(
        pool.sem.__waiter_records(),
        0,
        "a cancelled waiter left its record"
    );
    assert_eq!(Arc::strong_count(&pool), 1);
    assert!(stats.cancelled() > 0);
    stats.report(
        "cancel_storm",
        "semaphore_pool",
        started,
        &format!("permits={N} high_water={}", pool.high.load(SeqCst)),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owned_semaphore_permits_storm() {
    const N: usize = 3;
    const TASKS: usize = 4;
    let ops = 4_000 * scale();
    let started = Instant::now();
    let stats = Arc::new(Stats::default());
    let sem = Arc::new(Semaphore::new(N));
    let inside = Arc::new(AtomicUsize::new(0));
    let high = Arc::new(AtomicUsize::new(0));

    within("the owned-permit storm", async {
        let tasks: Vec<_> = (0..TASKS)
            .map(|t| {
                let (sem, inside, high, stats) =
                    (sem.clone(), inside.clone(), high.clone(), stats.clone());
                tokio::spawn(async move {
                    let mut rng = Rng::new(t as u64);
                    for _ in 0..ops {
                        let k = 1 + rng.below(N);
                        let work = {
                            let (sem, inside, high) = (sem.clone(), inside.clone(), high.clone());
                            async move {
                                let p = sem.clone().acquire_many_owned(k).await;
                                let in_pool = InPool::enter(&inside, &high, N, k);
                                tokio::task::yield_now().await;
                                drop(in_pool);
                                drop(p);
                            }
                        };
                        if cancellable(rng.cancel(CANCEL_PERCENT), &stats, work)
                            .await
                            .is_some()
                        {
                            stats.op();
                        }
                    }
                })
            })
            .collect();
        join_all(tasks).await;
    })
    .await;

    assert_eq!(sem.available_permits(), N);
    assert_eq!(sem.__waiter_records(), 0);
    assert_eq!(
        Arc::strong_count(&sem),
        1,
        "a cancelled acquire_owned kept the semaphore alive"
    );
    stats.report(
        "cancel_storm",
        "owned_permits",
        started,
        &format!("permits={N} high_water={}", high.load(SeqCst)),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bounded_semaphore_storm() {
    const BOUND: usize = 4;
    const TASKS: usize = 5;
    let ops = 5_000 * scale();
    let started = Instant::now();
    let stats = Arc::new(Stats::default());
    let pool = Arc::new(Pool {
        sem: BoundedSemaphore::new(BOUND),
        cap: BOUND,
        inside: AtomicUsize::new(0),
        high: AtomicUsize::new(0),
    });
    let forgotten_total = Arc::new(AtomicUsize::new(0));
    let accepted = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicBool::new(false));

    within("the bounded semaphore storm", async {
        let tasks: Vec<_> = (0..TASKS)
            .map(|t| {
                let (pool, stats, forgotten_total) =
                    (pool.clone(), stats.clone(), forgotten_total.clone());
                tokio::spawn(async move {
                    let mut rng = Rng::new(t as u64);
                    for _ in 0..ops {
                        let k = 1 + rng.below(BOUND);
                        let forget_it = rng.chance(25);
                        let work = {
                            let (pool, forgotten_total) = (pool.clone(), forgotten_total.clone());
                            async move {
                                let p = pool.sem.acquire_many(k).await;
                                let in_pool = InPool::enter(&pool.inside, &pool.high, pool.cap, k);
                                tokio::task::yield_now().await;
                                drop(in_pool);
                                if forget_it {
                                    p.forget();
                                    forgotten_total.fetch_add(k, SeqCst);
                                }
                            }
                        };
                        if cancellable(rng.cancel(CANCEL_PERCENT), &stats, work)
                            .await
                            .is_some()
                        {
                            stats.op();
                        }
                        assert!(
                            pool.sem.available_permits() <= BOUND,
                            "available above the bound"
                        );
                    }
                })
            })
            .collect();
        let releaser = tokio::spawn({
            let (pool, accepted, done) = (pool.clone(), accepted.clone(), done.clone());
            async move {
                while !done.load(SeqCst) {
                    assert!(
                        pool.sem.available_permits() <= BOUND,
                        "available above the bound"
                    );
                    match pool.sem.release(1) {
                        Ok(()) => {
                            accepted.fetch_add(1, SeqCst);
                        }
                        Err(TooManyReleases) => tokio::task::yield_now().await,
                    }
                }
            }
        });
        join_all(tasks).await;
        done.store(true, SeqCst);
        join_all(vec![releaser]).await;
    })
    .await;

    while pool.sem.release(1).is_ok() {
        accepted.fetch_add(1, SeqCst);
    }
    assert_eq!(
        accepted.load(SeqCst),
        forgotten_total.load(SeqCst),
        "accepted releases != forgotten_totalten permits"
    );
    assert_eq!(pool.sem.available_permits(), BOUND);
    assert_eq!(pool.sem.release(1), Err(TooManyReleases));
    assert_eq!(pool.sem.available_permits(), BOUND);
    assert_eq!(pool.sem.__waiter_records(), 0);
    assert_eq!(Arc::strong_count(&pool), 1);
    stats.report(
        "cancel_storm",
        "bounded_semaphore",
        started,
        &format!(
            "bound={BOUND} forgotten_total={} accepted={} high_water={}",
            forgotten_total.load(SeqCst),
            accepted.load(SeqCst),
            pool.high.load(SeqCst)
        ),
    );
}

// ---------------------------------------------------------------------------
// Condition: a bounded queue whose producers and consumers are cancelled.
// ---------------------------------------------------------------------------

struct Queue {
    items: VecDeque<(usize, u64)>,
    cap: usize,
    next: Vec<u64>,
    taken: u64,
    total: u64,
}

struct Channel {
    lock: Lock<Queue>,
    not_empty: Condition,
    not_full: Condition,
}

/// What a consumer's attempt ended with.
enum Took {
    Item,
    AllTaken,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines)] // one workload, read top to bottom
async fn condition_queue_storm() {
    const PRODUCERS: usize = 3;
    const CONSUMERS: usize = 3;
    let per_producer = 4_000 * scale() as u64;
    let started = Instant::now();
    let stats = Arc::new(Stats::default());
    let ch = Arc::new(Channel {
        lock: Lock::new(Queue {
            items: VecDeque::new(),
            cap: 4,
            next: vec![0; PRODUCERS + 1],
            taken: 0,
            total: per_producer * (PRODUCERS as u64 + 1),
        }),
        not_empty: Condition::new(),
        not_full: Condition::new(),
    });

    within("the condition queue storm", async {
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|p| {
                let (ch, stats) = (ch.clone(), stats.clone());
                tokio::spawn(async move {
                    let mut rng = Rng::new(p as u64);
                    let mut seq = 0;
                    while seq < per_producer {
                        let push = {
                            let ch = ch.clone();
                            async move {
                                let g = ch.lock.acquire().await;
                                let mut g =
                                    ch.not_full.wait_for(g, |q| q.items.len() < q.cap).await;
                                g.items.push_back((p, seq));
                                ch.not_empty.notify(1);
                            }
                        };
                        // Cancelled: nothing was pushed; push it again.
                        if cancellable(rng.cancel(CANCEL_PERCENT), &stats, push)
                            .await
                            .is_some()
                        {
                            seq += 1;
                        }
                    }
                })
            })
            .collect();
        let producer_thread = std::thread::spawn({
            let ch = ch.clone();
            move || {
                for seq in 0..per_producer {
                    let g = ch.lock.acquire_blocking();
                    let mut g = ch.not_full.wait_for_blocking(g, |q| q.items.len() < q.cap);
                    g.items.push_back((PRODUCERS, seq));
                    drop(g);
                    ch.not_empty.notify(1);
                }
            }
        });
        let consumers: Vec<_> = (0..CONSUMERS)
            .map(|c| {
                let (ch, stats) = (ch.clone(), stats.clone());
                tokio::spawn(async move {
                    let mut rng = Rng::new(100 + c as u64);
                    let mut mine = 0_u64;
                    loop {
                        let timed = rng.chance(20).then(|| rng.tiny_duration());
                        let take = {
                            let ch = ch.clone();
                            async move {
                                let mut g = ch.lock.acquire().await;
                                match timed {
                                    // wait_for, or a loop of wait_timeout
                                    // with tiny timeouts (a timed-out wait
                                    // withdraws; a notified one keeps it).
                                    None => {
                                        g = ch
                                            .not_empty
                                            .wait_for(g, |q| {
                                                !q.items.is_empty() || q.taken == q.total
                                            })
                                            .await;
                                    }
                                    Some(d) => {
                                        while g.items.is_empty() && g.taken < g.total {
                                            g = ch.not_empty.wait_timeout(g, d).await.0;
                                        }
                                    }
                                }
                                let Some((p, seq)) = g.items.pop_front() else {
                                    return Took::AllTaken;
                                };
                                assert_eq!(
                                    seq, g.next[p],
                                    "producer {p}: item lost, duplicated or out of order"
                                );
                                g.next[p] += 1;
                                g.taken += 1;
                                let last = g.taken == g.total;
                                drop(g);
                                ch.not_full.notify(1);
                                if last {
                                    ch.not_empty.notify_all();
                                }
                                Took::Item
                            }
                        };
                        match cancellable(rng.cancel(CANCEL_PERCENT), &stats, take).await {
                            Some(Took::Item) => {
                                mine += 1;
                                stats.op();
                            }
                            Some(Took::AllTaken) => break,
                            None => {}
                        }
                    }
                    mine
                })
            })
            .collect();
        let consumer_thread = std::thread::spawn({
            let (ch, stats) = (ch.clone(), stats.clone());
            move || {
                let mut mine = 0_u64;
                loop {
                    let g = ch.lock.acquire_blocking();
                    let mut g = ch
                        .not_empty
                        .wait_for_blocking(g, |q| !q.items.is_empty() || q.taken == q.total);
                    let Some((p, seq)) = g.items.pop_front() else {
                        break;
                    };
                    assert_eq!(
                        seq, g.next[p],
                        "producer {p}: item lost, duplicated or out of order"
                    );
                    g.next[p] += 1;
                    g.taken += 1;
                    let last = g.taken == g.total;
                    drop(g);
                    ch.not_full.notify(1);
                    if last {
                        ch.not_empty.notify_all();
                    }
                    mine += 1;
                    stats.op();
                }
                mine
            }
        });
        join_all(producers).await;
        join_threads(vec![producer_thread]).await;
        let mut counts = join_all(consumers).await;
        counts.extend(join_threads(vec![consumer_thread]).await);
        assert_eq!(
            counts.iter().sum::<u64>(),
            per_producer * (PRODUCERS as u64 + 1)
        );
    })
    .await;

    {
        let q = ch.lock.acquire().await;
        assert_eq!(q.taken, q.total);
        assert!(
            q.next.iter().all(|n| *n == per_producer),
            "an item was never delivered"
        );
    }
    assert!(!ch.lock.locked());
    assert_eq!(ch.lock.__waiter_records(), 0);
    assert_eq!(
        ch.not_empty.__waiter_records(),
        0,
        "a cancelled waiter left its record"
    );
    assert_eq!(
        ch.not_full.__waiter_records(),
        0,
        "a cancelled waiter left its record"
    );
    assert_eq!(Arc::strong_count(&ch), 1);
    stats.report(
        "cancel_storm",
        "condition_queue",
        started,
        &format!("items={}", per_producer * (PRODUCERS as u64 + 1)),
    );
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
                    yields(u32::try_from(rng.below(3)).expect("small")).await;
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
                            yields(u32::try_from(rng.below(4)).expect("small")).await;
                            tasks[i].abort();
                        }
                        Victim::Select => {
                            yields(u32::try_from(rng.below(4)).expect("small")).await;
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
        "cancel_storm",
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
// Barrier: parties cancelled while waiting withdraw; generations stay exact.
// ---------------------------------------------------------------------------

/// A party's record: (generation, index, leader) of each return seen.
type Seen = Vec<(usize, usize, bool)>;

fn record(generation: &AtomicUsize, r: BarrierWaitResult, seen: &mut Seen) {
    // Every party is needed for the next generation, this one has not
    // arrived again: the counter names the generation just passed.
    let g = generation.load(SeqCst) - 1;
    if let Some(&(last, _, _)) = seen.last() {
        assert!(g > last, "a party returned twice from one generation");
    }
    seen.push((g, r.index(), r.is_leader()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines)] // one workload, read top to bottom
async fn barrier_storm() {
    const TASKS: usize = 4;
    const PARTIES: usize = TASKS + 1; // + one OS thread, never cancelled
    let generations = 3_000 * scale();
    let started = Instant::now();
    let stats = Arc::new(Stats::default());
    let generation = Arc::new(AtomicUsize::new(0));
    // Set by the last generation's action: stragglers (parties whose
    // arrival counted in the last generation but who were cancelled before
    // they saw it, so they arrived again) leave through it.
    let stop = Arc::new(Event::new());
    let barrier = Arc::new(Barrier::with_action(PARTIES, {
        let (generation, stop) = (generation.clone(), stop.clone());
        move || {
            if generation.fetch_add(1, SeqCst) + 1 == generations {
                stop.set();
            }
        }
    }));

    let seen: Vec<Seen> = within("the barrier storm", async {
        let tasks: Vec<_> = (0..TASKS)
            .map(|t| {
                let (barrier, generation, stop, stats) = (
                    barrier.clone(),
                    generation.clone(),
                    stop.clone(),
                    stats.clone(),
                );
                tokio::spawn(async move {
                    let mut rng = Rng::new(t as u64);
                    let mut seen = Seen::new();
                    while generation.load(SeqCst) < generations {
                        let wait = {
                            let (barrier, stop) = (barrier.clone(), stop.clone());
                            async move {
                                tokio::select! {
                                    biased;
                                    r = barrier.wait() => Some(r),
                                    () = stop.wait() => None,
                                }
                            }
                        };
                        match cancellable(rng.cancel(CANCEL_PERCENT), &stats, wait).await {
                            Some(Some(Ok(r))) => {
                                record(&generation, r, &mut seen);
                                stats.op();
                            }
                            Some(Some(Err(BrokenBarrierError))) => {
                                panic!("the barrier broke, but no timeout or abort said so")
                            }
                            Some(None) => break, // stopped
                            None => {}           // cancelled: arrive again
                        }
                    }
                    seen
                })
            })
            .collect();
        let thread = std::thread::spawn({
            let (barrier, generation, stats) = (barrier.clone(), generation.clone(), stats.clone());
            move || {
                let mut seen = Seen::new();
                while generation.load(SeqCst) < generations {
                    let r = barrier
                        .wait_blocking()
                        .expect("the barrier never breaks here");
                    record(&generation, r, &mut seen);
                    stats.op();
                }
                seen
            }
        });
        let mut seen = join_all(tasks).await;
        seen.extend(join_threads(vec![thread]).await);
        seen
    })
    .await;

    assert_eq!(
        generation.load(SeqCst),
        generations,
        "the action ran once per generation"
    );
    let mut per_generation: Vec<Vec<(usize, bool)>> = vec![Vec::new(); generations];
    for party in &seen {
        for &(g, index, leader) in party {
            per_generation[g].push((index, leader));
        }
    }
    let mut unseen = 0;
    for (g, returns) in per_generation.iter().enumerate() {
        assert!(
            returns.len() <= PARTIES,
            "generation {g}: {} returns",
            returns.len()
        );
        let indices: BTreeSet<usize> = returns.iter().map(|r| r.0).collect();
        assert_eq!(
            indices.len(),
            returns.len(),
            "generation {g}: an index given twice"
        );
        assert!(indices.iter().all(|i| *i < PARTIES));
        // The leader trips the barrier inside its own poll, so its return
        // is never lost to a cancellation.
        assert_eq!(
            returns.iter().filter(|r| r.1).count(),
            1,
            "generation {g}: one leader"
        );
        unseen += PARTIES - returns.len();
    }
    // A party cancelled after its generation tripped counted in it without
    // seeing it; nothing else may go missing.
    assert!(
        unseen as u64 <= stats.cancelled(),
        "{unseen} returns missing, only {} cancellations",
        stats.cancelled()
    );
    assert!(!barrier.is_broken(), "cancellation broke the barrier");
    assert_eq!(
        barrier.n_waiting(),
        0,
        "a cancelled party is still counted as waiting"
    );
    assert_eq!(
        barrier.__waiter_records(),
        0,
        "a cancelled party left its record"
    );
    assert_eq!(stop.__waiter_records(), 0);
    assert_eq!(Arc::strong_count(&barrier), 1);
    stats.report(
        "cancel_storm",
        "barrier",
        started,
        &format!(
            "parties={PARTIES} generations={generations} returns_lost_to_cancellation={unseen}"
        ),
    );
}

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
        "cancel_storm",
        "barrier_wait_timeout",
        started,
        &format!("rounds={rounds} tripped={tripped} broken_by_timeout={broken}"),
    );
}

// ---------------------------------------------------------------------------
// Event: waiters cancelled around set()/clear().
// ---------------------------------------------------------------------------

/// Counts a waiter as finished when it leaves, however it leaves.
struct Finish(Arc<AtomicUsize>);
impl Drop for Finish {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_storm() {
    const TASKS: usize = 6;
    const WAITERS: usize = TASKS + 1; // + a spawn_blocking waiter
    let rounds = 800 * scale();
    let started = Instant::now();
    let stats = Arc::new(Stats::default());
    let gate = Arc::new(Event::new());
    let finished = Arc::new(AtomicUsize::new(0));
    let mut rng = Rng::new(0);

    within("the event storm", async {
        for round in 0..rounds {
            gate.clear();
            finished.store(0, SeqCst);
            let tasks: Vec<_> = (0..TASKS)
                .map(|_| {
                    let (gate, stats, finished) = (gate.clone(), stats.clone(), finished.clone());
                    let mode = rng.cancel(EVENT_CANCEL_PERCENT);
                    tokio::spawn(async move {
                        let _finish = Finish(finished);
                        let wait = {
                            let gate = gate.clone();
                            async move { gate.wait().await }
                        };
                        cancellable(mode, &stats, wait).await.is_some()
                    })
                })
                .collect();
            let timed = rng
                .chance(EVENT_CANCEL_PERCENT)
                .then(|| rng.tiny_duration());
            let thread = tokio::task::spawn_blocking({
                let (gate, finished) = (gate.clone(), finished.clone());
                move || {
                    let _finish = Finish(finished);
                    match timed {
                        None => {
                            gate.wait_blocking();
                            true
                        }
                        Some(d) => gate.wait_timeout_blocking(d),
                    }
                }
            });
            // Every waiter is queued or gone. Read `finished` first: a
            // waiter leaves the queue before it counts as finished, so in
            // this order none is ever counted twice (queued, then gone).
            until("every waiter queued or gone", || {
                let gone = finished.load(SeqCst);
                gone + gate.__waiter_records() == WAITERS
            })
            .await;
            yields(u32::try_from(rng.below(3)).expect("small")).await;
            gate.set();
            if rng.chance(50) {
                gate.clear(); // must not strand anyone queued before set()
            }
            let mut released = 0;
            for t in tasks {
                if t.await.expect("waiter task") {
                    released += 1;
                }
            }
            if thread.await.expect("blocking waiter") {
                released += 1;
            } else {
                stats.cancel_tries.fetch_add(1, SeqCst);
                stats.cancelled.fetch_add(1, SeqCst);
            }
            for _ in 0..released {
                stats.op();
            }
            assert_eq!(
                gate.__waiter_records(),
                0,
                "round {round}: a waiter record leaked"
            );
        }
    })
    .await;

    assert_eq!(Arc::strong_count(&gate), 1);
    stats.report(
        "cancel_storm",
        "event",
        started,
        &format!("rounds={rounds} waiters={WAITERS}"),
    );
}

// ---------------------------------------------------------------------------
// RLock: nested sections cancelled while queued or while holding.
// ---------------------------------------------------------------------------

#[derive(Default)]
struct Owned {
    owner: AtomicUsize,
    count: AtomicU64,
}

/// Clears the owner mark when the outermost section ends (or is cancelled).
struct Owning<'a>(&'a AtomicUsize);

impl Drop for Owning<'_> {
    fn drop(&mut self) {
        self.0.store(0, SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rlock_storm() {
    const TASKS: usize = 5;
    let ops = 4_000 * scale();
    let started = Instant::now();
    let stats = Arc::new(Stats::default());
    let rl = Arc::new(RLock::new(Owned::default()));

    within("the rlock storm", async {
        let tasks: Vec<_> = (0..TASKS)
            .map(|t| {
                let (rl, stats) = (rl.clone(), stats.clone());
                tokio::spawn(async move {
                    let me = t + 1;
                    let mut rng = Rng::new(t as u64);
                    for _ in 0..ops {
                        let depth = 1 + rng.below(3);
                        let section = {
                            let rl = rl.clone();
                            async move {
                                let first = rl.acquire().await;
                                assert_eq!(
                                    first.owner.swap(me, SeqCst),
                                    0,
                                    "two owners of the RLock"
                                );
                                let _owning = Owning(&first.owner);
                                let mut inner = Vec::new();
                                for _ in 1..depth {
                                    tokio::task::yield_now().await;
                                    inner.push(rl.acquire().await);
                                }
                                let c = first.count.load(SeqCst);
                                tokio::task::yield_now().await;
                                first.count.store(c + 1, SeqCst);
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
            let (rl, stats) = (rl.clone(), stats.clone());
            move || {
                for _ in 0..ops / 2 {
                    let first = rl.acquire_blocking();
                    assert_eq!(
                        first.owner.swap(usize::MAX, SeqCst),
                        0,
                        "two owners of the RLock"
                    );
                    let owning = Owning(&first.owner);
                    let again = rl.acquire_blocking();
                    first.count.fetch_add(1, SeqCst);
                    drop(again);
                    drop(owning);
                    stats.op();
                }
            }
        });
        join_all(tasks).await;
        join_threads(vec![thread]).await;
    })
    .await;

    assert_eq!(
        rl.acquire().await.count.load(SeqCst),
        stats.ops(),
        "a section completed without its update, or an update was lost"
    );
    assert!(!rl.locked(), "a cancelled owner kept the RLock");
    assert_eq!(
        rl.__waiter_records(),
        0,
        "a cancelled waiter left its record"
    );
    assert_eq!(Arc::strong_count(&rl), 1);
    stats.report("cancel_storm", "rlock", started, "");
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
    stats.report("cancel_storm", "rwlock", started, &format!("{n} writes"));
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
    stats.report("cancel_storm", "borrowed_waits", started, "");
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
    stats.report(
        "cancel_storm",
        "many_waiters",
        started,
        &format!("tasks={TASKS}"),
    );
}
