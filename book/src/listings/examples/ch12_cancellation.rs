//! Cancellation: what dropping a waiting future means for each primitive.
//!
//! Run: `cargo run -p warden-book-listings --example ch12_cancellation`

// ANCHOR: uses
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use tokio::time::timeout;
use warden::{Barrier, Condition, Lock, Semaphore};
// ANCHOR_END: uses

// ANCHOR: poll_once
/// Polls `future` once -- what `select!` or `timeout` do to a future
/// before they give up on it and drop it.
async fn poll_once<F: Future + Unpin>(future: &mut F) -> Option<F::Output> {
    poll_fn(|cx| match Pin::new(&mut *future).poll(cx) {
        Poll::Ready(output) => Poll::Ready(Some(output)),
        Poll::Pending => Poll::Ready(None),
    })
    .await
}
// ANCHOR_END: poll_once

// ANCHOR: lock
async fn lock() {
    let lock = Lock::new(());
    let held = lock.acquire().await;
    let mut first = lock.acquire();
    let mut second = lock.acquire();
    assert!(poll_once(&mut first).await.is_none()); // queued first
    assert!(poll_once(&mut second).await.is_none()); // queued second

    drop(held); // frees the lock and wakes `first`...
    drop(first); // ...which is dropped before it runs: the wake-up passes on
    let guard = poll_once(&mut second).await.expect("next in line");
    drop(guard);
}
// ANCHOR_END: lock

// ANCHOR: semaphore
async fn semaphore() {
    let sem = Semaphore::new(0);
    let mut big = sem.acquire_many(3);
    let mut small = sem.acquire();
    assert!(poll_once(&mut big).await.is_none());
    assert!(poll_once(&mut small).await.is_none());

    sem.release(2); // first come, first served: both go to `big`, which needs 3
    assert_eq!(sem.available_permits(), 0);
    assert!(poll_once(&mut small).await.is_none()); // still behind `big`

    drop(big); // gives back the two it had collected
    let permit = poll_once(&mut small).await.expect("one of them");
    assert_eq!((permit.permits(), sem.available_permits()), (1, 1));
}
// ANCHOR_END: semaphore

// ANCHOR: condition
async fn condition() {
    let (lock, cond) = (Lock::new(()), Condition::new());
    let mut a = Box::pin(cond.wait(lock.acquire().await));
    assert!(poll_once(&mut a).await.is_none()); // `a` waits; the lock is free
    let mut b = Box::pin(cond.wait(lock.acquire().await));
    assert!(poll_once(&mut b).await.is_none()); // `b` waits behind it

    let held = lock.acquire().await;
    cond.notify_one(); // wakes `a`, the oldest...
    assert!(poll_once(&mut a).await.is_none()); // ...which now waits for the lock
    drop(a); // cancelled while re-taking the lock: the notification moves to `b`
    drop(held);
    let guard = poll_once(&mut b)
        .await
        .expect("b was notified in a's place");
    drop(guard);

    // Python's cond.wait(timeout): the guard comes back either way.
    let (guard, notified) = cond
        .wait_timeout(lock.acquire().await, Duration::from_millis(10))
        .await;
    assert!(!notified);
    drop(guard);
}
// ANCHOR_END: condition

// ANCHOR: barrier
async fn barrier() {
    let barrier = Barrier::new(2);
    // Dropped (here by `timeout`): the arrival is withdrawn, as in asyncio.
    let gave_up = timeout(Duration::from_millis(10), barrier.wait())
        .await
        .is_err();
    assert!(gave_up);
    assert_eq!(barrier.n_waiting(), 0);
    assert!(!barrier.is_broken());

    // `wait_timeout`: threading's semantics, the barrier breaks for all.
    assert!(
        barrier
            .wait_timeout(Duration::from_millis(10))
            .await
            .is_err()
    );
    assert!(barrier.is_broken());
}
// ANCHOR_END: barrier

#[tokio::main]
async fn main() {
    lock().await;
    semaphore().await;
    condition().await;
    barrier().await;
    println!("every dropped wait left its primitive as if it had never waited");
}

#[cfg(test)]
mod tests {
    #[test]
    fn runs() {
        super::main();
    }
}
