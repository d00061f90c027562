//! Cancellation: what dropping a waiting future means for each primitive.
//!
//! Run: `cargo run -p warden-book-listings --example ch12_cancellation`

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use tokio::time::timeout;
use warden::{Barrier, Condition, Event, Lock, Semaphore};

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

async fn lock() {
    // ANCHOR: lock
    let lock = Lock::new(());
    let held = lock.acquire().await;
    let mut first = lock.acquire();
    let mut second = lock.acquire();
    assert!(poll_once(&mut first).await.is_none()); // queued first
    assert!(poll_once(&mut second).await.is_none()); // queued second

    drop(held); // frees the lock and wakes `first`...
    drop(first); // ...which is dropped before it runs: the wake-up passes on
    let guard = poll_once(&mut second).await.expect("next in line");
    // ANCHOR_END: lock
    drop(guard);
}

async fn semaphore() {
    // ANCHOR: semaphore
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
    // ANCHOR_END: semaphore
}

async fn condition() {
    // ANCHOR: condition
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
    // ANCHOR_END: condition
    drop(guard);
}

async fn barrier() {
    // ANCHOR: barrier
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
    // ANCHOR_END: barrier
}

// ANCHOR: worker
/// Takes jobs until shutdown. Each turn, `select!` drops the loser:
/// an `acquire` dropped this way never eats a job.
async fn worker(jobs: Arc<Semaphore>, shutdown: Arc<Event>, finished: Arc<Semaphore>) -> usize {
    let mut done = 0;
    loop {
        tokio::select! {
            job = jobs.acquire() => {
                job.forget(); // the job is ours: its permit is not returned
                done += 1;
                finished.release(1);
            }
            () = shutdown.wait() => return done,
        }
    }
}

async fn shutdown() -> (usize, usize) {
    let jobs = Arc::new(Semaphore::new(0));
    let (stop, finished) = (Arc::new(Event::new()), Arc::new(Semaphore::new(0)));
    let workers: Vec<_> = (0..4)
        .map(|_| tokio::spawn(worker(jobs.clone(), stop.clone(), finished.clone())))
        .collect();
    jobs.release(1_000);
    finished.acquire_many(500).await.forget(); // half of them are done
    stop.set(); // workers stop wherever they are; some jobs may be left
    let mut done = 0;
    for w in workers {
        done += w.await.unwrap();
    }
    (done, jobs.available_permits())
}
// ANCHOR_END: worker

#[tokio::main]
async fn main() {
    lock().await;
    semaphore().await;
    condition().await;
    barrier().await;
    let (done, left) = shutdown().await;
    println!("1000 jobs: {done} done + {left} left = {}", done + left);
    assert!(done >= 500);
    assert_eq!(done + left, 1_000, "no job lost to a dropped acquire");
}

#[cfg(test)]
mod tests {
    #[test]
    fn runs() {
        super::main();
    }
}
