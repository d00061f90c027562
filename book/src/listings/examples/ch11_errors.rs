//! What Python raises at run time, and what warden does instead: typed
//! errors, documented panics, and the one thing nobody detects.
//!
//! Run: `cargo run -p warden-book-listings --example ch11_errors`

// ANCHOR: uses
use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::timeout;
use warden::{Barrier, BoundedSemaphore, BrokenBarrierError, Condition, Lock, TooManyReleases};
// ANCHOR_END: uses

const BARRIER_ZERO: &str = include_str!("../output/barrier-zero.txt");
const TWO_LOCKS: &str = include_str!("../output/condition-two-locks.txt");
const OVER_BOUND: &str = include_str!("../output/acquire-many-over-bound.txt");

/// The message of a caught panic.
fn message(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default()
}

// ANCHOR: over_release
fn over_release() {
    let sem = BoundedSemaphore::new(1);
    let err: TooManyReleases = sem.release(1).unwrap_err(); // Python: ValueError
    println!("{err}");
}
// ANCHOR_END: over_release

// ANCHOR: broken
async fn broken() {
    let barrier = Barrier::new(2);
    barrier.abort();
    match barrier.wait().await {
        Ok(_) => unreachable!("an aborted barrier never trips"),
        Err(BrokenBarrierError) => println!("{BrokenBarrierError}"), // Python: raises
    }
}
// ANCHOR_END: broken

// ANCHOR: notify_unlocked
async fn notify_without_lock() {
    let (ready, changed) = (Lock::new(false), Condition::new());
    tokio::join!(biased;
        async {
            let guard = ready.acquire().await;
            let guard = changed.wait_for(guard, |ready| *ready).await;
            assert!(*guard);
        },
        async {
            *ready.acquire().await = true; // the change: made under the lock
            changed.notify_all(); //          the notification: after it is released
        },
    );
}
// ANCHOR_END: notify_unlocked

// ANCHOR: reacquire
async fn reacquire() {
    let lock = Lock::new(());
    let held = lock.acquire().await;
    // Waiting for a lock you hold never ends (Python hangs too). A timeout
    // shows it here; in a program it is a hang.
    let never = timeout(Duration::from_millis(50), lock.acquire()).await;
    assert!(never.is_err());
    drop((never, held));
}
// ANCHOR_END: reacquire

// ANCHOR: not_deadlocks
async fn not_deadlocks() {
    let lock = Arc::new(Lock::new(0));

    // 1. The guard moved to another task, which releases it: this task's
    //    second `acquire` is a wait, not a deadlock.
    let guard = lock.clone().acquire_owned().await;
    let worker = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(10)).await;
        drop(guard);
    });
    *lock.acquire().await += 1;
    worker.await.unwrap();

    // 2. Two branches of one task: one holds the guard across an `.await`,
    //    the other waits for it. Same task, no deadlock.
    tokio::join!(
        async {
            let _guard = lock.acquire().await;
            tokio::time::sleep(Duration::from_millis(10)).await;
        },
        async { *lock.acquire().await += 1 },
    );
    assert_eq!(*lock.acquire().await, 2);
}
// ANCHOR_END: not_deadlocks

// ANCHOR: barrier_zero
fn barrier_zero() -> String {
    let zero = catch_unwind(|| Barrier::new(0)).unwrap_err(); // Python: ValueError
    message(&*zero)
}
// ANCHOR_END: barrier_zero

// ANCHOR: two_locks
async fn two_locks() -> String {
    let (a, b, cond) = (
        Arc::new(Lock::new(())),
        Arc::new(Lock::new(())),
        Arc::new(Condition::new()),
    );
    let first = tokio::spawn({
        let (a, cond) = (a.clone(), cond.clone());
        async move { drop(cond.wait(a.acquire().await).await) } // `cond` belongs to `a`
    });
    while cond.waiters() == 0 {
        tokio::task::yield_now().await;
    }
    let second = tokio::spawn({
        let (b, cond) = (b.clone(), cond.clone());
        async move { drop(cond.wait(b.acquire().await).await) } // a second lock: panics
    });
    let panic = second.await.unwrap_err().into_panic();
    first.abort();
    message(&*panic)
}
// ANCHOR_END: two_locks

// ANCHOR: over_bound
fn over_bound() -> String {
    let sem = BoundedSemaphore::new(2);
    let over = catch_unwind(AssertUnwindSafe(|| drop(sem.acquire_many(3)))).unwrap_err();
    message(&*over)
}
// ANCHOR_END: over_bound

#[tokio::main]
async fn main() {
    over_release();
    broken().await;
    notify_without_lock().await;
    reacquire().await;
    not_deadlocks().await;
    let [zero, two_locks, over] = [barrier_zero(), two_locks().await, over_bound()];
    for panic in [&zero, &two_locks, &over] {
        println!("panicked: {panic}");
    }
    assert_eq!(zero, BARRIER_ZERO.trim_end());
    assert_eq!(two_locks, TWO_LOCKS.trim_end());
    assert_eq!(over, OVER_BOUND.trim_end());
}

#[cfg(test)]
#[path = "shared/quiet.rs"]
mod quiet;

#[cfg(test)]
mod tests {
    #[test]
    fn runs() {
        super::quiet::expecting(
            &[
                "Barrier::new(0)",
                "two different locks",
                "can never succeed",
            ],
            super::main,
        );
    }
}
