//! The workloads `stress.rs` and `cancel_storm.rs` share: each primitive
//! under load on a multi-thread runtime, async tasks and OS threads (the
//! blocking twins) on the same primitive, every operation checking its
//! invariant. A [`Load`] says how many tasks and threads, how many
//! operations each, and what share of the tasks' waits runs under a
//! cancelling mode (`support::cancellable`): 0 for `stress`, 45 % for
//! `cancel_storm`.
//!
//! Every workload ends with the primitive idle, exactly as if the cancelled
//! callers had never waited: nothing held, all permits back, no waiter
//! record left (`__waiter_records() == 0`), no `Arc` kept alive
//! (`strong_count == 1`), the barrier unbroken; it prints its counters
//! (`-- --nocapture`) and returns them.

use std::collections::{BTreeSet, VecDeque};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::time::{Duration, Instant};

use crate::support::{
    Rng, Stats, cancellable, join_all, join_threads, scale, until, within, yields,
};
#[cfg(feature = "tokio")]
use warden::RLock;
use warden::{
    Barrier, BarrierWaitResult, BoundedSemaphore, BrokenBarrierError, Condition, Event, Lock,
    Semaphore, TooManyReleases,
};

/// Who runs a workload, and how hard.
#[derive(Clone, Copy, Debug)]
pub struct Load {
    /// Its name in the printed report.
    name: &'static str,
    /// Async tasks, and the operations each runs.
    tasks: usize,
    ops: usize,
    /// OS threads on the blocking twins, and the operations each runs.
    threads: usize,
    thread_ops: usize,
    /// Percentage of the tasks' operations run under a cancelling mode.
    cancel: usize,
}

impl Load {
    /// `tasks` tasks running `ops` operations each ([`scale`]d), no
    /// threads, no cancellation.
    pub fn new(name: &'static str, tasks: usize, ops: usize) -> Self {
        Load {
            name,
            tasks,
            ops: ops * scale(),
            threads: 0,
            thread_ops: 0,
            cancel: 0,
        }
    }

    /// Plus `threads` OS threads running `ops` operations each ([`scale`]d).
    pub fn threads(self, threads: usize, ops: usize) -> Self {
        Load {
            threads,
            thread_ops: ops * scale(),
            ..self
        }
    }

    /// With `percent` % of the tasks' operations run under a cancelling mode.
    #[allow(dead_code)] // `stress.rs` cancels nothing
    pub fn cancel(self, percent: usize) -> Self {
        Load {
            cancel: percent,
            ..self
        }
    }

    /// Operations started by the tasks and threads together.
    fn total(&self) -> u64 {
        (self.tasks * self.ops + self.threads * self.thread_ops) as u64
    }
}

/// Spawns `load.tasks` tasks; task `t` runs `load.ops` operations, each the
/// future `op(t, rng)` makes, under a random cancelling mode. A completed
/// operation counts in `stats.ops`, a cancelled one in `stats.cancelled`.
fn spawn_tasks<F, Fut>(load: &Load, stats: &Arc<Stats>, op: F) -> Vec<tokio::task::JoinHandle<()>>
where
    F: Fn(usize, &mut Rng) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    (0..load.tasks)
        .map(|t| {
            let (op, stats, load) = (op.clone(), stats.clone(), *load);
            tokio::spawn(async move {
                let mut rng = Rng::new(t as u64);
                for _ in 0..load.ops {
                    let work = op(t, &mut rng);
                    if cancellable(rng.cancel(load.cancel), &stats, work)
                        .await
                        .is_some()
                    {
                        stats.op();
                    }
                }
            })
        })
        .collect()
}

/// Spawns `load.threads` OS threads; thread `t` runs `op(t, rng)`
/// `load.thread_ops` times, each counted in `stats.ops`.
fn spawn_threads<F>(load: &Load, stats: &Arc<Stats>, op: F) -> Vec<std::thread::JoinHandle<()>>
where
    F: Fn(usize, &mut Rng) + Clone + Send + 'static,
{
    (0..load.threads)
        .map(|t| {
            let (op, stats, ops) = (op.clone(), stats.clone(), load.thread_ops);
            std::thread::spawn(move || {
                let mut rng = Rng::new(100 + t as u64);
                for _ in 0..ops {
                    op(t, &mut rng);
                    stats.op();
                }
            })
        })
        .collect()
}

/// Every operation started either completed or was cancelled.
#[track_caller]
fn assert_all_accounted(load: &Load, stats: &Stats) {
    assert_eq!(
        stats.ops() + stats.cancelled(),
        load.total(),
        "an operation neither completed nor was cancelled"
    );
}

/// The end of every workload: no waiter record left on any of the
/// primitives, and the `Arc` the tasks shared not kept alive by any of them.
macro_rules! assert_idle {
    ($shared:expr; $($primitive:expr),+) => {{
        $(assert_eq!(
            $primitive.__waiter_records(),
            0,
            "{}: a waiter record leaked",
            stringify!($primitive)
        );)+
        assert_eq!(Arc::strong_count(&$shared), 1, "a task kept {} alive", stringify!($shared));
    }};
}

/// Sets a flag back to false when dropped: marks a critical section that
/// a cancellation may end at any await.
pub struct Inside<'a>(&'a AtomicBool);

impl<'a> Inside<'a> {
    pub fn enter(flag: &'a AtomicBool) -> Self {
        assert!(!flag.swap(true, SeqCst), "two holders inside at once");
        Inside(flag)
    }
}

impl Drop for Inside<'_> {
    fn drop(&mut self) {
        self.0.store(false, SeqCst);
    }
}

// ---------------------------------------------------------------------------
// Lock: the bank. Transfers under one Lock, verify_accounts running
// concurrently (a task and a thread); tasks now and then hold the lock
// across an await, so waiters queue behind it (and cancellations strike
// while it is held).
// ---------------------------------------------------------------------------

const ACCOUNTS: usize = 16;
const INITIAL: i64 = 1_000;
const TOTAL: i64 = 16 * INITIAL;

struct Bank {
    balances: Lock<Vec<i64>>,
    inside: AtomicBool,
    moved: AtomicU64,
}

impl Bank {
    /// Moves a random amount between two random accounts if the payer can
    /// afford it.
    fn transfer(&self, balances: &mut [i64], (from, to, amount): (usize, usize, i64)) {
        if from != to && balances[from] >= amount {
            balances[from] -= amount;
            balances[to] += amount;
            self.moved.fetch_add(1, SeqCst);
        }
    }

    fn verify_accounts(balances: &[i64]) {
        assert_eq!(
            balances.iter().sum::<i64>(),
            TOTAL,
            "verify_accounts saw money appear or vanish"
        );
        assert!(balances.iter().all(|b| *b >= 0), "an account went negative");
    }
}

fn random_transfer(rng: &mut Rng) -> (usize, usize, i64) {
    let amount = i64::try_from(rng.below(100)).expect("small") + 1;
    (rng.below(ACCOUNTS), rng.below(ACCOUNTS), amount)
}

/// The bank; tasks hold the lock across an await with `hold_percent` %
/// chance.
#[allow(clippy::too_many_lines)] // one workload, read top to bottom
pub async fn bank(load: Load, hold_percent: usize) -> Arc<Stats> {
    let started = Instant::now();
    let stats = Arc::new(Stats::default());
    // verify_accounts' own counts: its checks are not transfers.
    let verify_stats = Arc::new(Stats::default());
    let bank = Arc::new(Bank {
        balances: Lock::new(vec![INITIAL; ACCOUNTS]),
        inside: AtomicBool::new(false),
        moved: AtomicU64::new(0),
    });
    let done = Arc::new(AtomicBool::new(false));

    within("the bank", async {
        let tasks = spawn_tasks(&load, &stats, {
            let bank = bank.clone();
            move |_, rng| {
                let (bank, transfer) = (bank.clone(), random_transfer(rng));
                let hold = rng.chance(hold_percent);
                async move {
                    let mut g = bank.balances.acquire().await;
                    let _inside = Inside::enter(&bank.inside);
                    bank.transfer(&mut g, transfer);
                    if hold {
                        // The books balance already.
                        tokio::task::yield_now().await;
                    }
                }
            }
        });
        let threads = spawn_threads(&load, &stats, {
            let bank = bank.clone();
            move |_, rng| {
                let mut g = bank.balances.acquire_blocking();
                let _inside = Inside::enter(&bank.inside);
                bank.transfer(&mut g, random_transfer(rng));
            }
        });
        let verify_task = tokio::spawn({
            let (bank, done, verify_stats) = (bank.clone(), done.clone(), verify_stats.clone());
            async move {
                let mut rng = Rng::new(200);
                loop {
                    let finished = done.load(SeqCst);
                    let check = {
                        let bank = bank.clone();
                        async move {
                            let g = bank.balances.acquire().await;
                            let _inside = Inside::enter(&bank.inside);
                            Bank::verify_accounts(&g);
                        }
                    };
                    if cancellable(rng.cancel(load.cancel), &verify_stats, check)
                        .await
                        .is_some()
                    {
                        verify_stats.op();
                    }
                    if finished {
                        break;
                    }
                    tokio::task::yield_now().await;
                }
            }
        });
        let verify_thread = std::thread::spawn({
            let (bank, done, verify_stats) = (bank.clone(), done.clone(), verify_stats.clone());
            move || {
                loop {
                    let finished = done.load(SeqCst);
                    let g = bank.balances.acquire_blocking();
                    let inside = Inside::enter(&bank.inside);
                    Bank::verify_accounts(&g);
                    drop((inside, g));
                    verify_stats.op();
                    if finished {
                        break;
                    }
                    std::thread::sleep(Duration::from_micros(50));
                }
            }
        });
        join_all(tasks).await;
        join_threads(threads).await;
        done.store(true, SeqCst);
        join_all(vec![verify_task]).await;
        join_threads(vec![verify_thread]).await;
    })
    .await;

    assert_all_accounted(&load, &stats);
    stats
        .cancel_tries
        .fetch_add(verify_stats.cancel_tries(), SeqCst);
    stats.cancelled.fetch_add(verify_stats.cancelled(), SeqCst);
    Bank::verify_accounts(&bank.balances.acquire().await);
    assert!(!bank.balances.locked(), "a cancelled holder kept the lock");
    assert_idle!(bank; bank.balances);
    stats.report(
        load.name,
        started,
        &format!(
            "transfers={} moved_money={} verifications={}",
            stats.ops(),
            bank.moved.load(SeqCst),
            verify_stats.ops()
        ),
    );
    stats
}

// ---------------------------------------------------------------------------
// Semaphore and BoundedSemaphore: a pool never holds more than its permits.
// ---------------------------------------------------------------------------

/// A semaphore, and the holders inside the pool it bounds.
struct Pool<S> {
    sem: Arc<S>,
    cap: usize,
    inside: AtomicUsize,
    high: AtomicUsize,
}

impl<S> Pool<S> {
    fn new(sem: S, cap: usize) -> Arc<Self> {
        Arc::new(Pool {
            sem: Arc::new(sem),
            cap,
            inside: AtomicUsize::new(0),
            high: AtomicUsize::new(0),
        })
    }

    /// Counts `k` holders in (and out again when the result is dropped, so
    /// a cancellation leaves too); fails if the pool overflows.
    fn enter(&self, k: usize) -> InPool<'_> {
        let now = self.inside.fetch_add(k, SeqCst) + k;
        assert!(
            now <= self.cap,
            "{now} holders inside a pool of {} permits",
            self.cap
        );
        self.high.fetch_max(now, SeqCst);
        InPool {
            inside: &self.inside,
            k,
        }
    }
}

struct InPool<'a> {
    inside: &'a AtomicUsize,
    k: usize,
}

impl Drop for InPool<'_> {
    fn drop(&mut self) {
        self.inside.fetch_sub(self.k, SeqCst);
    }
}

/// How a task takes its permits from the semaphore pool.
#[derive(Clone, Copy, Debug)]
pub enum Take {
    /// `acquire()`.
    One,
    /// `acquire_many(k)`, `k` up to the whole pool (partial grants).
    Many,
    /// `acquire_owned()`.
    Owned,
    /// `acquire_many_owned(k)`.
    ManyOwned,
    /// `try_acquire()`, taking nothing if no permit is free.
    Try,
    /// `acquire()`, then `forget()` and `release(1)` at once: the pool
    /// keeps its permits.
    ForgetRelease,
}

/// Every way to take permits.
pub const EVERY_TAKE: &[Take] = &[
    Take::One,
    Take::Many,
    Take::Owned,
    Take::ManyOwned,
    Take::Try,
    Take::ForgetRelease,
];

/// A pool of `permits` behind a `Semaphore`: tasks take permits in one of
/// the `takes` ways and hold them for 0–2 yields; threads take 1 to
/// `permits` with `acquire_many_blocking`.
pub async fn semaphore_pool(load: Load, permits: usize, takes: &'static [Take]) -> Arc<Stats> {
    let started = Instant::now();
    let stats = Arc::new(Stats::default());
    let pool = Pool::new(Semaphore::new(permits), permits);

    within("the semaphore pool", async {
        let tasks = spawn_tasks(&load, &stats, {
            let pool = pool.clone();
            move |_, rng| {
                let pool = pool.clone();
                let k = 1 + rng.below(permits);
                let take = takes[rng.below(takes.len())];
                let hold = rng.yields(3);
                async move {
                    match take {
                        Take::One => {
                            let _p = pool.sem.acquire().await;
                            let _in = pool.enter(1);
                            yields(hold).await;
                        }
                        Take::Many => {
                            let p = pool.sem.acquire_many(k).await;
                            assert_eq!(p.permits(), k);
                            let _in = pool.enter(k);
                            assert!(pool.sem.available_permits() <= permits - k);
                            yields(hold).await;
                        }
                        Take::Owned => {
                            let _p = pool.sem.clone().acquire_owned().await;
                            let _in = pool.enter(1);
                            yields(hold).await;
                        }
                        Take::ManyOwned => {
                            let _p = pool.sem.clone().acquire_many_owned(k).await;
                            let _in = pool.enter(k);
                            yields(hold).await;
                        }
                        Take::Try => {
                            if let Some(_p) = pool.sem.try_acquire() {
                                let _in = pool.enter(1);
                            }
                        }
                        Take::ForgetRelease => {
                            let p = pool.sem.acquire().await;
                            let in_pool = pool.enter(1);
                            yields(hold).await;
                            drop(in_pool);
                            p.forget();
                            pool.sem.release(1);
                        }
                    }
                }
            }
        });
        let threads = spawn_threads(&load, &stats, {
            let pool = pool.clone();
            move |_, rng| {
                let k = 1 + rng.below(permits);
                let _p = pool.sem.acquire_many_blocking(k);
                let _in = pool.enter(k);
                std::thread::yield_now();
            }
        });
        join_all(tasks).await;
        join_threads(threads).await;
    })
    .await;

    assert_all_accounted(&load, &stats);
    let high = pool.high.load(SeqCst);
    assert_eq!(
        pool.sem.available_permits(),
        permits,
        "a permit leaked or was duplicated"
    );
    assert_idle!(pool.sem; pool.sem); // owned permits and waits hold it
    assert_idle!(pool; pool.sem);
    stats.report(
        load.name,
        started,
        &format!("permits={permits} high_water={high}"),
    );
    stats
}

/// Releases given back to a `BoundedSemaphore`: accepted, or refused with
/// `TooManyReleases`.
#[derive(Default)]
struct Releases {
    forgot: AtomicUsize,
    accepted: AtomicUsize,
    refused: AtomicUsize,
}

impl Releases {
    /// `release(1)`; whether it was accepted.
    fn try_release(&self, sem: &BoundedSemaphore) -> bool {
        if sem.release(1) == Err(TooManyReleases) {
            self.refused.fetch_add(1, SeqCst);
            false
        } else {
            self.accepted.fetch_add(1, SeqCst);
            true
        }
    }
}

/// A `BoundedSemaphore` of `bound` permits: tasks and threads take 1 to
/// `bound`, forget them 30 % of the time; tasks and a releaser race
/// `release(1)`. Releases accepted must equal permits forgotten, and
/// `available_permits()` never passes the bound.
#[allow(clippy::too_many_lines)] // one workload, read top to bottom
pub async fn bounded_semaphore(load: Load, bound: usize) -> Arc<Stats> {
    let started = Instant::now();
    let stats = Arc::new(Stats::default());
    let pool = Pool::new(BoundedSemaphore::new(bound), bound);
    let releases = Arc::new(Releases::default());
    let done = Arc::new(AtomicBool::new(false));

    // Nothing forgotten yet: any release is one too many.
    assert_eq!(pool.sem.release(1), Err(TooManyReleases));
    assert_eq!(pool.sem.available_permits(), bound);

    within("the bounded semaphore", async {
        let tasks = spawn_tasks(&load, &stats, {
            let (pool, releases) = (pool.clone(), releases.clone());
            move |_, rng| {
                let (pool, releases) = (pool.clone(), releases.clone());
                let k = 1 + rng.below(bound);
                let (forget, release) = (rng.chance(30), rng.chance(20));
                async move {
                    let p = pool.sem.acquire_many(k).await;
                    let in_pool = pool.enter(k);
                    tokio::task::yield_now().await;
                    drop(in_pool);
                    if forget {
                        p.forget();
                        releases.forgot.fetch_add(k, SeqCst);
                    } else {
                        drop(p);
                    }
                    if release {
                        releases.try_release(&pool.sem);
                    }
                    assert!(
                        pool.sem.available_permits() <= bound,
                        "available above the bound"
                    );
                }
            }
        });
        let threads = spawn_threads(&load, &stats, {
            let (pool, releases) = (pool.clone(), releases.clone());
            move |_, rng| {
                let k = 1 + rng.below(bound);
                let p = pool.sem.acquire_many_blocking(k);
                drop(pool.enter(k));
                if rng.chance(30) {
                    p.forget();
                    releases.forgot.fetch_add(k, SeqCst);
                }
            }
        });
        // The releaser gives forgotten permits back as fast as it can,
        // checking the bound all along.
        let release_task = tokio::spawn({
            let (pool, releases, done) = (pool.clone(), releases.clone(), done.clone());
            async move {
                while !done.load(SeqCst) {
                    assert!(
                        pool.sem.available_permits() <= bound,
                        "available above the bound"
                    );
                    if !releases.try_release(&pool.sem) {
                        tokio::task::yield_now().await;
                    }
                }
            }
        });
        join_all(tasks).await;
        join_threads(threads).await;
        done.store(true, SeqCst);
        join_all(vec![release_task]).await;
    })
    .await;

    // Give back what is still forgotten; then one more is refused.
    while pool.sem.release(1).is_ok() {
        releases.accepted.fetch_add(1, SeqCst);
    }
    assert_all_accounted(&load, &stats);
    assert_eq!(
        releases.accepted.load(SeqCst),
        releases.forgot.load(SeqCst),
        "releases accepted must equal permits forgotten"
    );
    assert_eq!(pool.sem.available_permits(), bound);
    assert_eq!(pool.sem.release(1), Err(TooManyReleases));
    assert_eq!(pool.sem.release(0), Ok(()));
    assert_eq!(
        pool.sem.available_permits(),
        bound,
        "a refused release added a permit"
    );
    assert_idle!(pool; pool.sem);
    stats.report(
        load.name,
        started,
        &format!(
            "bound={bound} forgot={} accepted={} refused={} high_water={}",
            releases.forgot.load(SeqCst),
            releases.accepted.load(SeqCst),
            releases.refused.load(SeqCst),
            pool.high.load(SeqCst)
        ),
    );
    stats
}

// ---------------------------------------------------------------------------
// Condition: producers and consumers over one Lock<VecDeque> with two
// Conditions (not_empty, not_full).
// ---------------------------------------------------------------------------

struct Queue {
    items: VecDeque<(usize, u64)>,
    cap: usize,
    /// Next sequence number expected from each producer.
    next: Vec<u64>,
    taken: u64,
    total: u64,
}

impl Queue {
    fn has_room(&self) -> bool {
        self.items.len() < self.cap
    }

    fn ready_to_take(&self) -> bool {
        !self.items.is_empty() || self.taken == self.total
    }

    /// Takes one item, checking its order; whether it was the last one, or
    /// `None` once all are taken.
    fn take(&mut self) -> Option<bool> {
        let (p, seq) = self.items.pop_front()?;
        assert_eq!(
            seq, self.next[p],
            "producer {p}: item delivered twice, lost or out of order"
        );
        self.next[p] += 1;
        self.taken += 1;
        Some(self.taken == self.total)
    }
}

struct Channel {
    lock: Lock<Queue>,
    not_empty: Condition,
    not_full: Condition,
}

impl Channel {
    /// After an item was taken (the lock released): room for a producer,
    /// and after the last item, every consumer may leave.
    fn taken(&self, last: bool) {
        self.not_full.notify(1);
        if last {
            self.not_empty.notify_all();
        }
    }
}

/// The channel: `load.tasks` producer tasks pushing `load.ops` items each
/// and as many consumer tasks, `load.threads` producer threads pushing
/// `load.thread_ops` items each and as many consumer threads, over a queue
/// of `cap`. A cancelled push pushed nothing and is tried again.
/// `timed_percent` % of the consumer tasks' waits are a loop of
/// `wait_timeout` with tiny timeouts (a timed-out wait withdraws; a
/// notified one keeps it).
#[allow(clippy::too_many_lines)] // one workload, read top to bottom
pub async fn channel(load: Load, cap: usize, timed_percent: usize) -> Arc<Stats> {
    let started = Instant::now();
    let stats = Arc::new(Stats::default());
    let producers = load.tasks + load.threads;
    let per_producer = move |p: usize| {
        (if p < load.tasks {
            load.ops
        } else {
            load.thread_ops
        }) as u64
    };
    let total = load.total();
    let ch = Arc::new(Channel {
        lock: Lock::new(Queue {
            items: VecDeque::new(),
            cap,
            next: vec![0; producers],
            taken: 0,
            total,
        }),
        not_empty: Condition::new(),
        not_full: Condition::new(),
    });

    let per_consumer = within("producers and consumers", async {
        let producer_tasks: Vec<_> = (0..load.tasks)
            .map(|p| {
                let (ch, stats) = (ch.clone(), stats.clone());
                tokio::spawn(async move {
                    let mut rng = Rng::new(p as u64);
                    let mut seq = 0;
                    while seq < per_producer(p) {
                        let notify_holding_the_lock = rng.chance(50);
                        let push = {
                            let ch = ch.clone();
                            async move {
                                let g = ch.lock.acquire().await;
                                let mut g = ch.not_full.wait_for(g, |q| q.has_room()).await;
                                g.items.push_back((p, seq));
                                // With or without the lock held: both are allowed.
                                if notify_holding_the_lock {
                                    ch.not_empty.notify(1);
                                    drop(g);
                                } else {
                                    drop(g);
                                    ch.not_empty.notify(1);
                                }
                            }
                        };
                        if cancellable(rng.cancel(load.cancel), &stats, push)
                            .await
                            .is_some()
                        {
                            seq += 1;
                        }
                    }
                })
            })
            .collect();
        let producer_threads: Vec<_> = (load.tasks..producers)
            .map(|p| {
                let ch = ch.clone();
                std::thread::spawn(move || {
                    for seq in 0..per_producer(p) {
                        let g = ch.lock.acquire_blocking();
                        let mut g = ch.not_full.wait_for_blocking(g, |q| q.has_room());
                        g.items.push_back((p, seq));
                        drop(g);
                        ch.not_empty.notify_one();
                    }
                })
            })
            .collect();
        let consumer_tasks: Vec<_> = (0..load.tasks)
            .map(|c| {
                let (ch, stats) = (ch.clone(), stats.clone());
                tokio::spawn(async move {
                    let mut rng = Rng::new(100 + c as u64);
                    let mut mine = 0_u64;
                    loop {
                        let timed = rng.chance(timed_percent).then(|| rng.tiny_duration());
                        let take = {
                            let ch = ch.clone();
                            async move {
                                let g = ch.lock.acquire().await;
                                let mut g = match timed {
                                    None => ch.not_empty.wait_for(g, |q| q.ready_to_take()).await,
                                    #[cfg(feature = "tokio")]
                                    Some(d) => {
                                        let mut g = g;
                                        while !g.ready_to_take() {
                                            g = ch.not_empty.wait_timeout(g, d).await.0;
                                        }
                                        g
                                    }
                                    #[cfg(not(feature = "tokio"))]
                                    Some(_) => unreachable!("timed waits need the tokio feature"),
                                };
                                let last = g.take();
                                drop(g);
                                if let Some(last) = last {
                                    ch.taken(last);
                                }
                                last.is_some()
                            }
                        };
                        match cancellable(rng.cancel(load.cancel), &stats, take).await {
                            Some(true) => {
                                mine += 1;
                                stats.op();
                            }
                            Some(false) => break,
                            None => {}
                        }
                    }
                    mine
                })
            })
            .collect();
        let consumer_threads: Vec<_> = (0..load.threads)
            .map(|_| {
                let (ch, stats) = (ch.clone(), stats.clone());
                std::thread::spawn(move || {
                    let mut mine = 0_u64;
                    loop {
                        let g = ch.lock.acquire_blocking();
                        let mut g = ch.not_empty.wait_for_blocking(g, |q| q.ready_to_take());
                        let Some(last) = g.take() else { break };
                        drop(g);
                        ch.taken(last);
                        mine += 1;
                        stats.op();
                    }
                    mine
                })
            })
            .collect();
        join_all(producer_tasks).await;
        join_threads(producer_threads).await;
        let mut counts = join_all(consumer_tasks).await;
        counts.extend(join_threads(consumer_threads).await);
        counts
    })
    .await;

    assert_eq!(per_consumer.iter().sum::<u64>(), total);
    {
        let q = ch.lock.acquire().await;
        assert_eq!(q.taken, total);
        assert!(q.items.is_empty());
        assert!(
            q.next
                .iter()
                .enumerate()
                .all(|(p, n)| *n == per_producer(p)),
            "an item was never delivered"
        );
    }
    assert!(!ch.lock.locked());
    assert_idle!(ch; ch.lock, ch.not_empty, ch.not_full);
    stats.report(
        load.name,
        started,
        &format!("items={total} per_consumer={per_consumer:?}"),
    );
    stats
}

// ---------------------------------------------------------------------------
// Barrier: many generations, each exact; a party cancelled while waiting
// withdraws its arrival, and arrives again.
// ---------------------------------------------------------------------------

/// A party's record: (generation, index, leader) of each return seen.
type Seen = Vec<(usize, usize, bool)>;

fn record(generation: &AtomicUsize, r: BarrierWaitResult, seen: &mut Seen) {
    // Every party is needed for the next generation, this one has not
    // arrived again: the counter names the generation just passed (so its
    // action ran before the release).
    let g = generation.load(SeqCst) - 1;
    if let Some(&(last, _, _)) = seen.last() {
        assert!(
            g > last,
            "a party returned twice from one generation, or before the action ran"
        );
    }
    seen.push((g, r.index(), r.is_leader()));
}

/// A barrier of `load.tasks + load.threads` parties through `load.ops`
/// generations (so `load.thread_ops` is `load.ops` too); the threads are
/// never cancelled.
#[allow(clippy::too_many_lines)] // one workload, read top to bottom
pub async fn barrier(load: Load) -> Arc<Stats> {
    let parties = load.tasks + load.threads;
    let generations = load.ops;
    assert_eq!(
        load.thread_ops, generations,
        "every party waits every generation"
    );
    let started = Instant::now();
    let stats = Arc::new(Stats::default());
    let generation = Arc::new(AtomicUsize::new(0));
    // Set by the first party to return from the last generation (not by
    // its action: while the action runs, that generation's parties are not
    // released yet, and one that saw `stop` first would drop its wait and
    // lose its return). Stragglers (parties whose arrival counted in the
    // last generation but who were cancelled before they saw it, so they
    // arrived again) leave through it.
    let stop = Arc::new(Event::new());
    let barrier = Arc::new(Barrier::with_action(parties, {
        let generation = generation.clone();
        move || {
            generation.fetch_add(1, SeqCst);
        }
    }));

    let seen: Vec<Seen> = within("the barrier generations", async {
        let tasks: Vec<_> = (0..load.tasks)
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
                        match cancellable(rng.cancel(load.cancel), &stats, wait).await {
                            Some(Some(Ok(r))) => {
                                record(&generation, r, &mut seen);
                                stats.op();
                                if generation.load(SeqCst) == generations {
                                    stop.set();
                                }
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
        let threads: Vec<_> = (0..load.threads)
            .map(|_| {
                let (barrier, generation, stop, stats) = (
                    barrier.clone(),
                    generation.clone(),
                    stop.clone(),
                    stats.clone(),
                );
                std::thread::spawn(move || {
                    let mut seen = Seen::new();
                    while generation.load(SeqCst) < generations {
                        let r = barrier
                            .wait_blocking()
                            .expect("nothing breaks this barrier");
                        record(&generation, r, &mut seen);
                        stats.op();
                        if generation.load(SeqCst) == generations {
                            stop.set();
                        }
                    }
                    seen
                })
            })
            .collect();
        let mut seen = join_all(tasks).await;
        seen.extend(join_threads(threads).await);
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
            returns.len() <= parties,
            "generation {g}: {} returns",
            returns.len()
        );
        let indices: BTreeSet<usize> = returns.iter().map(|r| r.0).collect();
        assert_eq!(
            indices.len(),
            returns.len(),
            "generation {g}: an index given twice"
        );
        assert!(indices.iter().all(|i| *i < parties));
        // The leader trips the barrier inside its own poll, so its return
        // is never lost to a cancellation.
        assert_eq!(
            returns.iter().filter(|r| r.1).count(),
            1,
            "generation {g}: one leader"
        );
        unseen += parties - returns.len();
    }
    // A party cancelled after its generation tripped counted in it without
    // seeing it; nothing else may go missing (without cancellation, every
    // party sees every generation).
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
    assert_idle!(barrier; barrier, stop);
    stats.report(
        load.name,
        started,
        &format!(
            "parties={parties} generations={generations} returns_lost_to_cancellation={unseen}"
        ),
    );
    stats
}

// ---------------------------------------------------------------------------
// Event: a gate opened and closed round after round, nobody left behind.
// ---------------------------------------------------------------------------

/// Counts a waiter as finished when it leaves, however it leaves.
struct Finish(Arc<AtomicUsize>);

impl Drop for Finish {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// `load.ops` rounds: `load.tasks` tasks and one blocking waiter (a
/// `spawn_blocking` thread, which times out at once in `load.cancel` % of
/// the rounds, else waits with `wait_blocking` or a `wait_timeout_blocking`
/// that never fires) wait on a gate; once each is queued or gone, the gate
/// is set, and in half of the rounds cleared at once: every waiter not
/// cancelled must be released.
pub async fn event(load: Load) -> Arc<Stats> {
    let waiters = load.tasks + 1;
    let rounds = load.ops;
    let started = Instant::now();
    let stats = Arc::new(Stats::default());
    let gate = Arc::new(Event::new());
    let finished = Arc::new(AtomicUsize::new(0));
    let mut rng = Rng::new(0);
    let mut cleared_at_once = 0_usize;

    within("the event gates", async {
        for round in 0..rounds {
            gate.clear();
            finished.store(0, SeqCst);
            let tasks: Vec<_> = (0..load.tasks)
                .map(|_| {
                    let (gate, stats, finished) = (gate.clone(), stats.clone(), finished.clone());
                    let mode = rng.cancel(load.cancel);
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
            let tiny = rng.chance(load.cancel).then(|| rng.tiny_duration());
            let thread = tokio::task::spawn_blocking({
                let (gate, finished) = (gate.clone(), finished.clone());
                move || {
                    let _finish = Finish(finished);
                    if let Some(d) = tiny {
                        gate.wait_timeout_blocking(d)
                    } else if round % 2 == 0 {
                        gate.wait_blocking();
                        true
                    } else {
                        assert!(gate.wait_timeout_blocking(Duration::from_hours(1)));
                        true
                    }
                }
            });
            // Every waiter is queued or gone. Read `finished` first: a
            // waiter leaves the queue before it counts as finished, so in
            // this order none is ever counted twice (queued, then gone).
            until("every waiter queued at the gate or gone", || {
                let gone = finished.load(SeqCst);
                gone + gate.__waiter_records() == waiters
            })
            .await;
            yields(rng.yields(3)).await;
            gate.set();
            if rng.chance(50) {
                // Python guarantees it: set() releases everyone waiting,
                // even if clear() follows at once.
                gate.clear();
                cleared_at_once += 1;
            }
            for t in tasks {
                if t.await.expect("waiter task") {
                    stats.op();
                }
            }
            if thread.await.expect("blocking waiter") {
                stats.op();
            } else {
                stats.cancel_tries.fetch_add(1, SeqCst);
                stats.cancelled.fetch_add(1, SeqCst);
            }
            assert_eq!(
                gate.__waiter_records(),
                0,
                "round {round}: a waiter record leaked"
            );
        }
    })
    .await;

    assert_eq!(
        stats.ops() + stats.cancelled(),
        (waiters * rounds) as u64,
        "a waiter not cancelled was not released"
    );
    assert_idle!(gate; gate);
    stats.report(
        load.name,
        started,
        &format!("waiters={waiters} rounds={rounds} set_then_clear={cleared_at_once}"),
    );
    stats
}

// ---------------------------------------------------------------------------
// RLock: nested sections across tasks, threads and spawn_blocking.
// ---------------------------------------------------------------------------

/// Data behind the `RLock`: who owns it (0: nobody), and a counter
/// updated non-atomically (load, yield, store) so lost updates would show.
#[cfg(feature = "tokio")]
#[derive(Default)]
struct Owned {
    owner: AtomicUsize,
    count: AtomicU64,
}

/// Clears the owner mark when the outermost section ends (or is
/// cancelled).
#[cfg(feature = "tokio")]
struct Owning<'a>(&'a AtomicUsize);

#[cfg(feature = "tokio")]
impl<'a> Owning<'a> {
    fn enter(owner: &'a AtomicUsize, me: usize) -> Self {
        assert_eq!(owner.swap(me, SeqCst), 0, "two owners of the RLock");
        Owning(owner)
    }
}

#[cfg(feature = "tokio")]
impl Drop for Owning<'_> {
    fn drop(&mut self) {
        self.0.store(0, SeqCst);
    }
}

/// One blocking critical section (threads and `spawn_blocking`).
#[cfg(feature = "tokio")]
fn blocking_section(rl: &RLock<Owned>, me: usize, rng: &mut Rng, max_depth: &AtomicUsize) {
    let depth = 1 + rng.below(4);
    let first = rl.acquire_blocking();
    let _owning = Owning::enter(&first.owner, me);
    let mut inner = Vec::new();
    for _ in 1..depth {
        let g = if rng.chance(50) {
            rl.acquire_blocking()
        } else {
            rl.try_acquire()
                .expect("the owner re-enters without waiting")
        };
        assert_eq!(g.owner.load(SeqCst), me);
        inner.push(g);
    }
    max_depth.fetch_max(depth, SeqCst);
    let c = first.count.load(SeqCst);
    std::thread::yield_now();
    first.count.store(c + 1, SeqCst);
    drop(inner);
    assert!(rl.locked(), "released before the outermost guard dropped");
    assert_eq!(first.owner.load(SeqCst), me);
}

/// Tasks run sections nested 1 to 4 deep (re-entering with `acquire`
/// or `try_acquire` across `.await`s); `load.threads` OS threads and as
/// many `spawn_blocking` closures run blocking ones.
#[cfg(feature = "tokio")] // tasks are owners only with tokio task ids
#[allow(clippy::too_many_lines)] // one workload, read top to bottom
pub async fn rlock(load: Load) -> Arc<Stats> {
    let started = Instant::now();
    let stats = Arc::new(Stats::default());
    let rl = Arc::new(RLock::new(Owned::default()));
    let max_depth = Arc::new(AtomicUsize::new(0));

    within("the rlock", async {
        let tasks = spawn_tasks(&load, &stats, {
            let (rl, max_depth) = (rl.clone(), max_depth.clone());
            move |t, rng| {
                let (rl, max_depth) = (rl.clone(), max_depth.clone());
                let me = t + 1;
                let depth = 1 + rng.below(4);
                let try_again: Vec<bool> = (1..depth).map(|_| rng.chance(50)).collect();
                async move {
                    let first = rl.acquire().await;
                    let _owning = Owning::enter(&first.owner, me);
                    let mut inner = Vec::new();
                    for try_it in try_again {
                        tokio::task::yield_now().await; // re-entry across awaits
                        let g = if try_it {
                            rl.try_acquire()
                                .expect("the owner re-enters without waiting")
                        } else {
                            rl.acquire().await
                        };
                        assert_eq!(g.owner.load(SeqCst), me);
                        inner.push(g);
                    }
                    max_depth.fetch_max(depth, SeqCst);
                    let c = first.count.load(SeqCst);
                    tokio::task::yield_now().await;
                    first.count.store(c + 1, SeqCst);
                    while let Some(g) = inner.pop() {
                        drop(g);
                        assert!(rl.locked(), "released before the outermost guard dropped");
                    }
                    assert_eq!(first.owner.load(SeqCst), me);
                }
            }
        });
        let blocking = {
            let (rl, max_depth) = (rl.clone(), max_depth.clone());
            move |me: usize, rng: &mut Rng| blocking_section(&rl, me, rng, &max_depth)
        };
        let threads = spawn_threads(&load, &stats, {
            let blocking = blocking.clone();
            move |t, rng| blocking(100 + t, rng)
        });
        let blocking_tasks: Vec<_> = (0..load.threads)
            .map(|t| {
                let (blocking, stats) = (blocking.clone(), stats.clone());
                tokio::task::spawn_blocking(move || {
                    let mut rng = Rng::new(200 + t as u64);
                    for _ in 0..load.thread_ops {
                        blocking(200 + t, &mut rng);
                        stats.op();
                    }
                })
            })
            .collect();
        drop(blocking);
        join_all(tasks).await;
        join_threads(threads).await;
        join_all(blocking_tasks).await;
    })
    .await;

    let sections = stats.ops();
    // The spawn_blocking closures count as threads too.
    assert_eq!(
        sections + stats.cancelled(),
        load.total() + (load.threads * load.thread_ops) as u64,
        "a section neither completed nor was cancelled"
    );
    assert_eq!(
        rl.acquire().await.count.load(SeqCst),
        sections,
        "a section completed without its update, or an update was lost"
    );
    assert!(!rl.locked(), "a cancelled owner kept the RLock");
    assert_idle!(rl; rl);
    stats.report(
        load.name,
        started,
        &format!("sections={sections} max_depth={}", max_depth.load(SeqCst)),
    );
    stats
}
