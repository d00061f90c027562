//! Stress: every primitive under sustained load on a 2-worker multi-thread
//! runtime, with OS threads using the blocking twins on the same primitive
//! as the tasks (`Lock`, `Semaphore`, `BoundedSemaphore`, `Condition`,
//! `Barrier`, `Event`, `RLock`). The workloads are `workloads/mod.rs`'s,
//! with no cancellation (`cancel_storm.rs` runs them with it). Each checks
//! its invariant on every operation, and ends with the primitive idle:
//! nothing held, no waiter record left (`__waiter_records() == 0`), no `Arc`
//! kept alive (`strong_count == 1`).
//!
//! Counts are bounded; `WARDEN_STRESS=long` multiplies them by 10.
//! Each test prints its counters (`cargo test --test stress -- --nocapture`).
//! Timing never decides pass/fail: the only deadline turns a hang into a
//! "hung: ..." failure.

mod support;
mod workloads;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use support::{Stats, join_all, scale, within};
use warden::{Lock, LockGuard, OwnedLockGuard};
use workloads::{EVERY_TAKE, Inside, Load};

// The bank: transfers under one Lock, verify_accounts running concurrently
// (8 tasks: 10^6 transfers, long 10^7). Now and then (2 %) a task holds the
// lock across an await, so waiters queue behind it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bank_transfers_conserve_the_total_while_verify_accounts_runs() {
    workloads::bank(Load::new("bank", 8, 125_000).threads(2, 25_000), 2).await;
}

// A pool bounded by a Semaphore of 3, taken in every way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn semaphore_pool_never_holds_more_than_its_permits() {
    let load = Load::new("semaphore_pool", 6, 4_000).threads(2, 2_000);
    workloads::semaphore_pool(load, 3, EVERY_TAKE).await;
}

// A BoundedSemaphore of 4 never over-released.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bounded_semaphore_is_never_over_released() {
    let load = Load::new("bounded_semaphore", 4, 4_000).threads(1, 2_000);
    workloads::bounded_semaphore(load, 4).await;
}

// Producer/consumer over one Lock<VecDeque> of 8 with two Conditions: 3
// tasks and a thread on each side.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn producers_and_consumers_over_two_conditions_deliver_each_item_once_in_order() {
    workloads::channel(
        Load::new("producer_consumer", 3, 10_000).threads(1, 10_000),
        8,
        0,
    )
    .await;
}

// Barrier: many generations of 3 tasks and a thread, each exact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn barrier_generations_are_exact() {
    workloads::barrier(Load::new("barrier", 3, 5_000).threads(1, 5_000)).await;
}

// Event: a gate opened and closed repeatedly, nobody left behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_gates_release_every_waiter_every_time() {
    workloads::event(Load::new("event_gates", 4, 2_000)).await;
}

// RLock: nested across tasks, threads and spawn_blocking.
#[cfg(feature = "tokio")] // tasks are owners only with tokio task ids
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rlock_excludes_between_tasks_and_reenters_within_one() {
    workloads::rlock(Load::new("rlock", 4, 3_000).threads(1, 1_500)).await;
}

// ---------------------------------------------------------------------------
// Guards handed over: a guard is Send, so the lock may be released by a
// different thread or task than the one that took it.
// ---------------------------------------------------------------------------

#[test]
fn lock_guards_handed_to_another_thread_keep_exclusion() {
    const THREADS: usize = 2;
    static INSIDE: AtomicBool = AtomicBool::new(false);
    let handoffs = 5_000 * scale();
    let started = Instant::now();
    let stats = Stats::default();
    let lock = Lock::new(0_u64);
    std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<(LockGuard<'_, u64>, Inside<'_>)>(1);
        // The receiver finishes what the senders started, then releases.
        s.spawn(|| {
            for (mut g, inside) in rx {
                *g += 1;
                drop((inside, g));
                stats.op();
            }
        });
        for _ in 0..THREADS {
            let tx = tx.clone();
            let lock = &lock;
            s.spawn(move || {
                for _ in 0..handoffs {
                    // Blocks until the receiver has released the previous
                    // guard this very thread took.
                    let mut g = lock.acquire_blocking();
                    let inside = Inside::enter(&INSIDE);
                    *g += 1;
                    tx.send((g, inside)).expect("receiver alive");
                }
            });
        }
        drop(tx);
    });
    assert!(!lock.locked());
    assert_eq!(lock.__waiter_records(), 0);
    assert_eq!(lock.into_inner(), 2 * (THREADS * handoffs) as u64);
    stats.report(
        "guard_handoff_threads",
        started,
        &format!("handoffs={}", THREADS * handoffs),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owned_lock_guards_handed_to_another_task_keep_exclusion() {
    const SENDERS: usize = 3;
    static INSIDE: AtomicBool = AtomicBool::new(false);
    let handoffs = 5_000 * scale();
    let started = Instant::now();
    let stats = Arc::new(Stats::default());
    let lock = Arc::new(Lock::new(0_u64));
    within("owned guard hand-offs", async {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<(OwnedLockGuard<u64>, Inside<'_>)>(1);
        let receiver = tokio::spawn({
            let stats = stats.clone();
            async move {
                while let Some((mut g, inside)) = rx.recv().await {
                    *g += 1;
                    tokio::task::yield_now().await;
                    drop((inside, g));
                    stats.op();
                }
            }
        });
        let senders: Vec<_> = (0..SENDERS)
            .map(|_| {
                let (lock, tx) = (lock.clone(), tx.clone());
                tokio::spawn(async move {
                    for _ in 0..handoffs {
                        let mut g = lock.clone().acquire_owned().await;
                        let inside = Inside::enter(&INSIDE);
                        *g += 1;
                        tx.send((g, inside))
                            .await
                            .map_err(|_| "receiver gone")
                            .unwrap();
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
        "guard_handoff_tasks",
        started,
        &format!("handoffs={}", SENDERS * handoffs),
    );
}
