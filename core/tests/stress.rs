//! Stress: every primitive under sustained load on a 2-worker multi-thread
//! runtime, with OS threads using the blocking twins on the same primitive
//! as the tasks (`Lock`, `Semaphore`, `BoundedSemaphore`, `Condition`,
//! `Barrier`, `Event`, `RLock`). Each workload checks its invariant on every operation,
//! and ends with the primitive idle: nothing held, no waiter record left
//! (`__waiter_records() == 0`), no `Arc` kept alive (`strong_count == 1`).
//!
//! Counts are bounded; `WARDEN_STRESS=long` multiplies them by 10.
//! Each test prints its counters (`cargo test --test stress -- --nocapture`).
//! Timing never decides pass/fail: the only deadline turns a hang into a
//! "hung: ..." failure.

mod support;

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::time::{Duration, Instant};

use support::{Rng, Stats, join_all, join_threads, scale, until, within};
#[cfg(feature = "tokio")]
use warden::RLock;
use warden::{
    Barrier, BoundedSemaphore, Condition, Event, Lock, LockGuard, OwnedLockGuard, Semaphore,
    TooManyReleases,
};

// ---------------------------------------------------------------------------
// The bank: transfers under one Lock, verify_accounts running concurrently.
// ---------------------------------------------------------------------------

const ACCOUNTS: usize = 16;
const INITIAL: i64 = 1_000;
const TOTAL: i64 = 16 * INITIAL;

/// Moves a random amount between two random accounts if the payer can
/// afford it; returns whether money moved.
fn transfer(balances: &mut [i64], rng: &mut Rng) -> bool {
    let (from, to) = (rng.below(ACCOUNTS), rng.below(ACCOUNTS));
    let amount = i64::try_from(rng.below(100)).expect("small") + 1;
    if from == to || balances[from] < amount {
        return false;
    }
    balances[from] -= amount;
    balances[to] += amount;
    true
}

/// Marks the critical section; fails if two holders are ever inside.
struct Inside(AtomicBool);

impl Inside {
    fn enter(&self) {
        assert!(
            !self.0.swap(true, SeqCst),
            "two holders inside the Lock at once"
        );
    }
    fn leave(&self) {
        self.0.store(false, SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines)] // one workload, read top to bottom
async fn bank_transfers_conserve_the_total_while_verify_accounts_runs() {
    const TASKS: usize = 8;
    const THREADS: usize = 2;
    let task_transfers = 125_000 * scale(); // 8 tasks: 10^6, long 10^7
    let thread_transfers = 25_000 * scale();
    let started = Instant::now();
    let stats = Arc::new(Stats::default());
    let bank = Arc::new(Lock::new(vec![INITIAL; ACCOUNTS]));
    let inside = Arc::new(Inside(AtomicBool::new(false)));
    let moved = Arc::new(AtomicU64::new(0));
    let verifications = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));

    within("the bank", async {
        let tasks: Vec<_> = (0..TASKS)
            .map(|t| {
                let (bank, inside, moved, stats) =
                    (bank.clone(), inside.clone(), moved.clone(), stats.clone());
                tokio::spawn(async move {
                    let mut rng = Rng::new(t as u64);
                    for i in 0..task_transfers {
                        let mut g = bank.acquire().await;
                        inside.enter();
                        if transfer(&mut g, &mut rng) {
                            moved.fetch_add(1, SeqCst);
                        }
                        if i % 64 == 0 {
                            // Hold the lock across an await now and then,
                            // so waiters queue behind it.
                            tokio::task::yield_now().await;
                        }
                        inside.leave();
                        drop(g);
                        stats.op();
                    }
                })
            })
            .collect();
        let threads: Vec<_> = (0..THREADS)
            .map(|t| {
                let (bank, inside, moved, stats) =
                    (bank.clone(), inside.clone(), moved.clone(), stats.clone());
                std::thread::spawn(move || {
                    let mut rng = Rng::new(100 + t as u64);
                    for _ in 0..thread_transfers {
                        let mut g = bank.acquire_blocking();
                        inside.enter();
                        if transfer(&mut g, &mut rng) {
                            moved.fetch_add(1, SeqCst);
                        }
                        inside.leave();
                        drop(g);
                        stats.op();
                    }
                })
            })
            .collect();
        // verify_accounts, twice: a task and a thread, until the transfers end.
        let verify_task = tokio::spawn({
            let (bank, inside, verifications, done) = (
                bank.clone(),
                inside.clone(),
                verifications.clone(),
                done.clone(),
            );
            async move {
                loop {
                    let finished = done.load(SeqCst);
                    let g = bank.acquire().await;
                    inside.enter();
                    assert_eq!(
                        g.iter().sum::<i64>(),
                        TOTAL,
                        "verify_accounts saw money appear or vanish"
                    );
                    assert!(g.iter().all(|b| *b >= 0), "an account went negative");
                    inside.leave();
                    drop(g);
                    verifications.fetch_add(1, SeqCst);
                    if finished {
                        break;
                    }
                    tokio::task::yield_now().await;
                }
            }
        });
        let verify_thread = std::thread::spawn({
            let (bank, inside, verifications, done) = (
                bank.clone(),
                inside.clone(),
                verifications.clone(),
                done.clone(),
            );
            move || {
                loop {
                    let finished = done.load(SeqCst);
                    let g = bank.acquire_blocking();
                    inside.enter();
                    assert_eq!(
                        g.iter().sum::<i64>(),
                        TOTAL,
                        "verify_accounts (thread) saw a broken total"
                    );
                    inside.leave();
                    drop(g);
                    verifications.fetch_add(1, SeqCst);
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

    let transfers = stats.ops();
    assert_eq!(
        transfers,
        (TASKS * task_transfers + THREADS * thread_transfers) as u64
    );
    assert_eq!(bank.acquire().await.iter().sum::<i64>(), TOTAL);
    assert!(!bank.locked());
    assert_eq!(bank.__waiter_records(), 0, "a waiter record leaked");
    assert_eq!(Arc::strong_count(&bank), 1, "a task kept the bank alive");
    stats.report(
        "stress",
        "bank",
        started,
        &format!(
            "transfers={transfers} moved_money={} verifications={}",
            moved.load(SeqCst),
            verifications.load(SeqCst)
        ),
    );
}

// ---------------------------------------------------------------------------
// A pool bounded by a Semaphore; a BoundedSemaphore never over-released.
// ---------------------------------------------------------------------------

/// Counts holders inside a pool of `cap` permits and its high-water mark.
struct Pool {
    cap: usize,
    inside: AtomicUsize,
    high: AtomicUsize,
}

impl Pool {
    fn new(cap: usize) -> Arc<Self> {
        Arc::new(Pool {
            cap,
            inside: AtomicUsize::new(0),
            high: AtomicUsize::new(0),
        })
    }
    fn enter(&self, k: usize) {
        let now = self.inside.fetch_add(k, SeqCst) + k;
        assert!(
            now <= self.cap,
            "{now} holders inside a pool of {} permits",
            self.cap
        );
        self.high.fetch_max(now, SeqCst);
    }
    fn leave(&self, k: usize) {
        self.inside.fetch_sub(k, SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn semaphore_pool_never_holds_more_than_its_permits() {
    const N: usize = 3;
    const TASKS: usize = 6;
    const THREADS: usize = 2;
    let ops = 4_000 * scale();
    let started = Instant::now();
    let stats = Arc::new(Stats::default());
    let sem = Arc::new(Semaphore::new(N));
    let pool = Pool::new(N);

    within("the semaphore pool", async {
        let tasks: Vec<_> = (0..TASKS)
            .map(|t| {
                let (sem, pool, stats) = (sem.clone(), pool.clone(), stats.clone());
                tokio::spawn(async move {
                    let mut rng = Rng::new(t as u64);
                    for _ in 0..ops {
                        match rng.below(5) {
                            0 => {
                                let p = sem.acquire().await;
                                pool.enter(1);
                                tokio::task::yield_now().await;
                                pool.leave(1);
                                drop(p);
                            }
                            1 => {
                                let p = sem.acquire_many(2).await;
                                assert_eq!(p.permits(), 2);
                                pool.enter(2);
                                tokio::task::yield_now().await;
                                pool.leave(2);
                                drop(p);
                            }
                            2 => {
                                let p = sem.clone().acquire_owned().await;
                                pool.enter(1);
                                tokio::task::yield_now().await;
                                pool.leave(1);
                                drop(p);
                            }
                            3 => {
                                if let Some(p) = sem.try_acquire() {
                                    pool.enter(1);
                                    pool.leave(1);
                                    drop(p);
                                }
                            }
                            _ => {
                                // forget() then release(1): the pool keeps N.
                                let p = sem.acquire().await;
                                pool.enter(1);
                                tokio::task::yield_now().await;
                                pool.leave(1);
                                p.forget();
                                sem.release(1);
                            }
                        }
                        stats.op();
                    }
                })
            })
            .collect();
        let threads: Vec<_> = (0..THREADS)
            .map(|t| {
                let (sem, pool, stats) = (sem.clone(), pool.clone(), stats.clone());
                std::thread::spawn(move || {
                    let mut rng = Rng::new(100 + t as u64);
                    for _ in 0..ops / 2 {
                        let k = 1 + rng.below(2);
                        let p = sem.acquire_many_blocking(k);
                        pool.enter(k);
                        std::thread::yield_now();
                        pool.leave(k);
                        drop(p);
                        stats.op();
                    }
                })
            })
            .collect();
        join_all(tasks).await;
        join_threads(threads).await;
    })
    .await;

    let high = pool.high.load(SeqCst);
    assert!(high <= N);
    assert_eq!(
        sem.available_permits(),
        N,
        "a permit leaked or was duplicated"
    );
    assert_eq!(sem.__waiter_records(), 0, "a waiter record leaked");
    assert_eq!(Arc::strong_count(&sem), 1);
    stats.report(
        "stress",
        "semaphore_pool",
        started,
        &format!("permits={N} high_water={high}"),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines)] // one workload, read top to bottom
async fn bounded_semaphore_is_never_over_released() {
    const BOUND: usize = 4;
    const TASKS: usize = 4;
    let ops = 4_000 * scale();
    let started = Instant::now();
    let stats = Arc::new(Stats::default());
    let sem = Arc::new(BoundedSemaphore::new(BOUND));
    let pool = Pool::new(BOUND);
    let forgot = Arc::new(AtomicUsize::new(0));
    let accepted = Arc::new(AtomicUsize::new(0));
    let refused = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicBool::new(false));

    // Nothing forgotten yet: any release is one too many.
    assert_eq!(sem.release(1), Err(TooManyReleases));
    assert_eq!(sem.available_permits(), BOUND);

    within("the bounded semaphore", async {
        let try_release = {
            let (sem, accepted, refused) = (sem.clone(), accepted.clone(), refused.clone());
            move || {
                if sem.release(1) == Err(TooManyReleases) {
                    refused.fetch_add(1, SeqCst);
                    false
                } else {
                    accepted.fetch_add(1, SeqCst);
                    true
                }
            }
        };
        let tasks: Vec<_> = (0..TASKS)
            .map(|t| {
                let (sem, pool, forgot, stats, try_release) = (
                    sem.clone(),
                    pool.clone(),
                    forgot.clone(),
                    stats.clone(),
                    try_release.clone(),
                );
                tokio::spawn(async move {
                    let mut rng = Rng::new(t as u64);
                    for _ in 0..ops {
                        let k = 1 + rng.below(2);
                        let p = sem.acquire_many(k).await;
                        pool.enter(k);
                        tokio::task::yield_now().await;
                        pool.leave(k);
                        if rng.chance(30) {
                            p.forget();
                            forgot.fetch_add(k, SeqCst);
                        } else {
                            drop(p);
                        }
                        if rng.chance(20) {
                            try_release();
                        }
                        assert!(
                            sem.available_permits() <= BOUND,
                            "available above the bound"
                        );
                        stats.op();
                    }
                })
            })
            .collect();
        let thread = std::thread::spawn({
            let (sem, pool, forgot, stats) =
                (sem.clone(), pool.clone(), forgot.clone(), stats.clone());
            move || {
                let mut rng = Rng::new(100);
                for _ in 0..ops / 2 {
                    let p = sem.acquire_blocking();
                    pool.enter(1);
                    pool.leave(1);
                    if rng.chance(30) {
                        p.forget();
                        forgot.fetch_add(1, SeqCst);
                    } else {
                        drop(p);
                    }
                    stats.op();
                }
            }
        });
        // The releaser gives forgotten permits back as fast as it can,
        // checking the bound all along.
        let releaser = tokio::spawn({
            let (sem, done, try_release) = (sem.clone(), done.clone(), try_release.clone());
            async move {
                while !done.load(SeqCst) {
                    assert!(
                        sem.available_permits() <= BOUND,
                        "available above the bound"
                    );
                    if !try_release() {
                        tokio::task::yield_now().await;
                    }
                }
            }
        });
        join_all(tasks).await;
        join_threads(vec![thread]).await;
        done.store(true, SeqCst);
        join_all(vec![releaser]).await;
    })
    .await;

    // Give back what is still forgotten; then one more is refused.
    while sem.release(1).is_ok() {
        accepted.fetch_add(1, SeqCst);
    }
    assert_eq!(
        accepted.load(SeqCst),
        forgot.load(SeqCst),
        "releases accepted must equal permits forgotten"
    );
    assert_eq!(sem.available_permits(), BOUND);
    assert_eq!(sem.release(1), Err(TooManyReleases));
    assert_eq!(sem.release(0), Ok(()));
    assert_eq!(
        sem.available_permits(),
        BOUND,
        "a refused release added a permit"
    );
    assert_eq!(sem.__waiter_records(), 0);
    assert_eq!(Arc::strong_count(&sem), 1);
    stats.report(
        "stress",
        "bounded_semaphore",
        started,
        &format!(
            "bound={BOUND} forgot={} accepted={} refused={} high_water={}",
            forgot.load(SeqCst),
            accepted.load(SeqCst),
            refused.load(SeqCst),
            pool.high.load(SeqCst)
        ),
    );
}

// ---------------------------------------------------------------------------
// Producer/consumer over one Lock<VecDeque> with two Conditions.
// ---------------------------------------------------------------------------

struct Queue {
    items: VecDeque<(usize, u64)>,
    cap: usize,
    /// Next sequence number expected from each producer.
    next: Vec<u64>,
    taken: u64,
    total: u64,
}

struct Channel {
    lock: Lock<Queue>,
    not_empty: Condition,
    not_full: Condition,
}

/// Takes one item, checking its order; `None` once all are taken.
fn take(q: &mut Queue) -> Option<bool> {
    let (p, seq) = q.items.pop_front()?;
    assert_eq!(
        seq, q.next[p],
        "producer {p}: item delivered twice, lost or out of order"
    );
    q.next[p] += 1;
    q.taken += 1;
    Some(q.taken == q.total)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines)] // one workload, read top to bottom
async fn producers_and_consumers_over_two_conditions_deliver_each_item_once_in_order() {
    const PRODUCER_TASKS: usize = 3;
    const PRODUCER_THREADS: usize = 1;
    const CONSUMER_TASKS: usize = 3;
    const CONSUMER_THREADS: usize = 1;
    const PRODUCERS: usize = PRODUCER_TASKS + PRODUCER_THREADS;
    let per_producer = 10_000 * scale() as u64;
    let started = Instant::now();
    let stats = Arc::new(Stats::default());
    let ch = Arc::new(Channel {
        lock: Lock::new(Queue {
            items: VecDeque::new(),
            cap: 8,
            next: vec![0; PRODUCERS],
            taken: 0,
            total: per_producer * PRODUCERS as u64,
        }),
        not_empty: Condition::new(),
        not_full: Condition::new(),
    });

    let per_consumer = within("producers and consumers", async {
        let producers: Vec<_> = (0..PRODUCER_TASKS)
            .map(|p| {
                let ch = ch.clone();
                tokio::spawn(async move {
                    let mut rng = Rng::new(p as u64);
                    for seq in 0..per_producer {
                        let g = ch.lock.acquire().await;
                        let mut g = ch.not_full.wait_for(g, |q| q.items.len() < q.cap).await;
                        g.items.push_back((p, seq));
                        // Notify with or without the lock held: both are allowed.
                        if rng.chance(50) {
                            ch.not_empty.notify(1);
                            drop(g);
                        } else {
                            drop(g);
                            ch.not_empty.notify(1);
                        }
                    }
                })
            })
            .collect();
        let producer_threads: Vec<_> = (PRODUCER_TASKS..PRODUCERS)
            .map(|p| {
                let ch = ch.clone();
                std::thread::spawn(move || {
                    for seq in 0..per_producer {
                        let g = ch.lock.acquire_blocking();
                        let mut g = ch.not_full.wait_for_blocking(g, |q| q.items.len() < q.cap);
                        g.items.push_back((p, seq));
                        drop(g);
                        ch.not_empty.notify_one();
                    }
                })
            })
            .collect();
        let consumers: Vec<_> = (0..CONSUMER_TASKS)
            .map(|_| {
                let (ch, stats) = (ch.clone(), stats.clone());
                tokio::spawn(async move {
                    let mut mine = 0_u64;
                    loop {
                        let g = ch.lock.acquire().await;
                        let mut g = ch
                            .not_empty
                            .wait_for(g, |q| !q.items.is_empty() || q.taken == q.total)
                            .await;
                        let Some(last) = take(&mut g) else { break };
                        drop(g);
                        ch.not_full.notify(1);
                        if last {
                            ch.not_empty.notify_all();
                        }
                        mine += 1;
                        stats.op();
                    }
                    mine
                })
            })
            .collect();
        let consumer_threads: Vec<_> = (0..CONSUMER_THREADS)
            .map(|_| {
                let (ch, stats) = (ch.clone(), stats.clone());
                std::thread::spawn(move || {
                    let mut mine = 0_u64;
                    loop {
                        let g = ch.lock.acquire_blocking();
                        let mut g = ch
                            .not_empty
                            .wait_for_blocking(g, |q| !q.items.is_empty() || q.taken == q.total);
                        let Some(last) = take(&mut g) else { break };
                        drop(g);
                        ch.not_full.notify_one();
                        if last {
                            ch.not_empty.notify_all();
                        }
                        mine += 1;
                        stats.op();
                    }
                    mine
                })
            })
            .collect();
        join_all(producers).await;
        join_threads(producer_threads).await;
        let mut counts = join_all(consumers).await;
        counts.extend(join_threads(consumer_threads).await);
        counts
    })
    .await;

    let total = per_producer * PRODUCERS as u64;
    assert_eq!(per_consumer.iter().sum::<u64>(), total);
    {
        let q = ch.lock.acquire().await;
        assert_eq!(q.taken, total);
        assert!(q.items.is_empty());
        assert!(
            q.next.iter().all(|n| *n == per_producer),
            "an item was never delivered"
        );
    }
    assert!(!ch.lock.locked());
    assert_eq!(ch.lock.__waiter_records(), 0);
    assert_eq!(ch.not_empty.__waiter_records(), 0);
    assert_eq!(ch.not_full.__waiter_records(), 0);
    assert_eq!(Arc::strong_count(&ch), 1);
    stats.report(
        "stress",
        "producer_consumer",
        started,
        &format!("items={total} per_consumer={per_consumer:?}"),
    );
}

// ---------------------------------------------------------------------------
// Barrier: many generations, each exact.
// ---------------------------------------------------------------------------

/// Records one return: the generation it belongs to must be exactly
/// the next one (the action ran before the release; nobody skipped).
fn record(
    k: usize,
    r: warden::BarrierWaitResult,
    generation: &AtomicUsize,
    passed: &AtomicUsize,
    seen: &mut Vec<(usize, bool)>,
) {
    assert_eq!(
        generation.load(SeqCst),
        k + 1,
        "released into the wrong generation, or before the action ran"
    );
    seen.push((r.index(), r.is_leader()));
    passed.fetch_add(1, SeqCst);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines)] // one workload, read top to bottom
async fn barrier_generations_are_exact() {
    const TASKS: usize = 3;
    const PARTIES: usize = TASKS + 1; // + one OS thread
    let generations = 5_000 * scale();
    let started = Instant::now();
    let stats = Arc::new(Stats::default());
    // Generations completed (written by the action) and returns seen.
    let generation = Arc::new(AtomicUsize::new(0));
    let passed = Arc::new(AtomicUsize::new(0));
    let action_violations = Arc::new(AtomicUsize::new(0));
    let barrier = Arc::new(Barrier::with_action(PARTIES, {
        let (generation, passed, violations) = (
            generation.clone(),
            passed.clone(),
            action_violations.clone(),
        );
        move || {
            // Every party of the previous generation has returned (it had
            // to, to arrive again), none of this one has: exactly
            // `PARTIES` per generation, the action before any release.
            let g = generation.load(SeqCst);
            if passed.load(SeqCst) != g * PARTIES {
                violations.fetch_add(1, SeqCst);
            }
            generation.store(g + 1, SeqCst);
        }
    }));

    let seen = within("the barrier generations", async {
        let tasks: Vec<_> = (0..TASKS)
            .map(|_| {
                let (barrier, generation, passed, stats) = (
                    barrier.clone(),
                    generation.clone(),
                    passed.clone(),
                    stats.clone(),
                );
                tokio::spawn(async move {
                    let mut seen = Vec::with_capacity(generations);
                    for k in 0..generations {
                        let r = barrier.wait().await.expect("nothing breaks this barrier");
                        record(k, r, &generation, &passed, &mut seen);
                        stats.op();
                    }
                    seen
                })
            })
            .collect();
        let thread = std::thread::spawn({
            let (barrier, generation, passed, stats) = (
                barrier.clone(),
                generation.clone(),
                passed.clone(),
                stats.clone(),
            );
            move || {
                let mut seen = Vec::with_capacity(generations);
                for k in 0..generations {
                    let r = barrier
                        .wait_blocking()
                        .expect("nothing breaks this barrier");
                    record(k, r, &generation, &passed, &mut seen);
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
    assert_eq!(
        action_violations.load(SeqCst),
        0,
        "a generation tripped with the wrong arrivals"
    );
    for k in 0..generations {
        let mut indices: Vec<usize> = seen.iter().map(|s| s[k].0).collect();
        indices.sort_unstable();
        assert_eq!(
            indices,
            (0..PARTIES).collect::<Vec<_>>(),
            "generation {k}: indices"
        );
        let leaders = seen.iter().filter(|s| s[k].1).count();
        assert_eq!(leaders, 1, "generation {k}: exactly one leader");
    }
    assert!(!barrier.is_broken());
    assert_eq!(barrier.n_waiting(), 0);
    assert_eq!(barrier.__waiter_records(), 0);
    assert_eq!(Arc::strong_count(&barrier), 1);
    stats.report(
        "stress",
        "barrier",
        started,
        &format!("parties={PARTIES} generations={generations}"),
    );
}

// ---------------------------------------------------------------------------
// Event: gates opened and closed repeatedly, nobody left behind.
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_gates_release_every_waiter_every_time() {
    const TASKS: usize = 4;
    const WAITERS: usize = TASKS + 1; // + one OS thread
    let rounds = 2_000 * scale();
    let started = Instant::now();
    let stats = Arc::new(Stats::default());
    // Round r waits on gates[r % 2]; the other gate is closed before this
    // one opens, so a waiter that passes cannot run through the next round.
    let gates = Arc::new([Event::new(), Event::new()]);
    let passed = Arc::new(AtomicUsize::new(0));
    let mut rng = Rng::new(0);
    let mut cleared_at_once = 0_usize;

    within("the event gates", async {
        let tasks: Vec<_> = (0..TASKS)
            .map(|_| {
                let (gates, passed, stats) = (gates.clone(), passed.clone(), stats.clone());
                tokio::spawn(async move {
                    for r in 0..rounds {
                        gates[r % 2].wait().await;
                        passed.fetch_add(1, SeqCst);
                        stats.op();
                    }
                })
            })
            .collect();
        let thread = std::thread::spawn({
            let (gates, passed, stats) = (gates.clone(), passed.clone(), stats.clone());
            move || {
                for r in 0..rounds {
                    if r % 2 == 0 {
                        gates[r % 2].wait_blocking();
                    } else {
                        assert!(gates[r % 2].wait_timeout_blocking(Duration::from_hours(1)));
                    }
                    passed.fetch_add(1, SeqCst);
                    stats.op();
                }
            }
        });
        for r in 0..rounds {
            let gate = &gates[r % 2];
            until("every waiter queued at the gate", || {
                gate.__waiter_records() == WAITERS
            })
            .await;
            gates[(r + 1) % 2].clear();
            gate.set();
            if rng.chance(50) {
                // Python guarantees it: set() releases everyone waiting,
                // even if clear() follows at once.
                gate.clear();
                cleared_at_once += 1;
            }
            until("every waiter through the gate", || {
                passed.load(SeqCst) == WAITERS * (r + 1)
            })
            .await;
        }
        join_all(tasks).await;
        join_threads(vec![thread]).await;
    })
    .await;

    for gate in gates.iter() {
        assert_eq!(gate.__waiter_records(), 0);
    }
    assert_eq!(Arc::strong_count(&gates), 1);
    stats.report(
        "stress",
        "event_gates",
        started,
        &format!("waiters={WAITERS} rounds={rounds} set_then_clear={cleared_at_once}"),
    );
}

// ---------------------------------------------------------------------------
// RLock: nested across tasks, threads and spawn_blocking.
// ---------------------------------------------------------------------------

/// Data behind the `RLock`: who owns it (0: nobody), and a counter updated
/// non-atomically (load, yield, store) so lost updates would show.
#[derive(Default)]
#[cfg(feature = "tokio")]
struct Owned {
    owner: AtomicUsize,
    count: AtomicU64,
}

/// One blocking critical section (threads and `spawn_blocking`).
#[cfg(feature = "tokio")]
fn blocking_section(rl: &RLock<Owned>, me: usize, rng: &mut Rng, max_depth: &AtomicUsize) {
    let depth = 1 + rng.below(4);
    let first = rl.acquire_blocking();
    assert_eq!(first.owner.swap(me, SeqCst), 0, "two owners of the RLock");
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
    first.owner.store(0, SeqCst);
}

#[cfg(feature = "tokio")] // tasks are owners only with tokio task ids
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines)] // one workload, read top to bottom
async fn rlock_excludes_between_tasks_and_reenters_within_one() {
    const TASKS: usize = 4;
    let ops = 3_000 * scale();
    let started = Instant::now();
    let stats = Arc::new(Stats::default());
    let rl = Arc::new(RLock::new(Owned::default()));
    let max_depth = Arc::new(AtomicUsize::new(0));

    within("the rlock", async {
        let tasks: Vec<_> = (0..TASKS)
            .map(|t| {
                let (rl, stats, max_depth) = (rl.clone(), stats.clone(), max_depth.clone());
                tokio::spawn(async move {
                    let me = t + 1;
                    let mut rng = Rng::new(t as u64);
                    for _ in 0..ops {
                        let depth = 1 + rng.below(4);
                        let first = rl.acquire().await;
                        assert_eq!(first.owner.swap(me, SeqCst), 0, "two owners of the RLock");
                        let mut inner = Vec::new();
                        for _ in 1..depth {
                            tokio::task::yield_now().await; // re-entry across awaits
                            let g = if rng.chance(50) {
                                rl.acquire().await
                            } else {
                                rl.try_acquire()
                                    .expect("the owner re-enters without waiting")
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
                        first.owner.store(0, SeqCst);
                        drop(first);
                        stats.op();
                    }
                })
            })
            .collect();
        let thread = std::thread::spawn({
            let (rl, stats, max_depth) = (rl.clone(), stats.clone(), max_depth.clone());
            move || {
                let mut rng = Rng::new(100);
                for _ in 0..ops / 2 {
                    blocking_section(&rl, 100, &mut rng, &max_depth);
                    stats.op();
                }
            }
        });
        let blocking_task = tokio::task::spawn_blocking({
            let (rl, stats, max_depth) = (rl.clone(), stats.clone(), max_depth.clone());
            move || {
                let mut rng = Rng::new(200);
                for _ in 0..ops / 2 {
                    blocking_section(&rl, 200, &mut rng, &max_depth);
                    stats.op();
                }
            }
        });
        join_all(tasks).await;
        join_threads(vec![thread]).await;
        join_all(vec![blocking_task]).await;
    })
    .await;

    let total = TASKS * ops + 2 * (ops / 2);
    assert_eq!(stats.ops(), total as u64);
    assert_eq!(
        rl.acquire().await.count.load(SeqCst),
        total as u64,
        "an update was lost"
    );
    assert!(!rl.locked());
    assert_eq!(rl.__waiter_records(), 0);
    assert_eq!(Arc::strong_count(&rl), 1);
    stats.report(
        "stress",
        "rlock",
        started,
        &format!("sections={total} max_depth={}", max_depth.load(SeqCst)),
    );
}

// ---------------------------------------------------------------------------
// Guards handed over: a guard is Send, so the lock may be released by a
// different thread or task than the one that took it.
// ---------------------------------------------------------------------------

#[test]
fn lock_guards_handed_to_another_thread_keep_exclusion() {
    const THREADS: usize = 2;
    let handoffs = 5_000 * scale();
    let started = Instant::now();
    let stats = Stats::default();
    let lock = Lock::new(0_u64);
    let inside = Inside(AtomicBool::new(false));
    std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<LockGuard<'_, u64>>(1);
        // The receiver finishes what the senders started, then releases.
        s.spawn(|| {
            for mut g in rx {
                *g += 1;
                inside.leave();
                drop(g);
                stats.op();
            }
        });
        for _ in 0..THREADS {
            let tx = tx.clone();
            let (lock, inside) = (&lock, &inside);
            s.spawn(move || {
                for _ in 0..handoffs {
                    // Blocks until the receiver has released the previous
                    // guard this very thread took.
                    let mut g = lock.acquire_blocking();
                    inside.enter();
                    *g += 1;
                    tx.send(g).expect("receiver alive");
                }
            });
        }
        drop(tx);
    });
    assert!(!lock.locked());
    assert_eq!(lock.__waiter_records(), 0);
    assert_eq!(lock.into_inner(), 2 * (THREADS * handoffs) as u64);
    stats.report(
        "stress",
        "guard_handoff_threads",
        started,
        &format!("handoffs={}", THREADS * handoffs),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owned_lock_guards_handed_to_another_task_keep_exclusion() {
    const SENDERS: usize = 3;
    let handoffs = 5_000 * scale();
    let started = Instant::now();
    let stats = Arc::new(Stats::default());
    let lock = Arc::new(Lock::new(0_u64));
    let inside = Arc::new(Inside(AtomicBool::new(false)));
    within("owned guard hand-offs", async {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<OwnedLockGuard<u64>>(1);
        let receiver = tokio::spawn({
            let (inside, stats) = (inside.clone(), stats.clone());
            async move {
                while let Some(mut g) = rx.recv().await {
                    *g += 1;
                    tokio::task::yield_now().await;
                    inside.leave();
                    drop(g);
                    stats.op();
                }
            }
        });
        let senders: Vec<_> = (0..SENDERS)
            .map(|_| {
                let (lock, inside, tx) = (lock.clone(), inside.clone(), tx.clone());
                tokio::spawn(async move {
                    for _ in 0..handoffs {
                        let mut g = lock.clone().acquire_owned().await;
                        inside.enter();
                        *g += 1;
                        tx.send(g).await.map_err(|_| "receiver gone").unwrap();
                    }
                })
            })
            .collect();
        drop(tx);
        join_all(senders).await;
        join_all(vec![receiver]).await;
    })
    .await;
    assert!(!lock.locked());
    assert_eq!(lock.__waiter_records(), 0);
    assert_eq!(Arc::strong_count(&lock), 1);
    assert_eq!(*lock.acquire().await, 2 * (SENDERS * handoffs) as u64);
    stats.report(
        "stress",
        "guard_handoff_tasks",
        started,
        &format!("handoffs={}", SENDERS * handoffs),
    );
}
