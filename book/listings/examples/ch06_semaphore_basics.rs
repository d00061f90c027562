//! `threading.Semaphore` and `BoundedSemaphore`'s surface, in warden.
//!
//! Run: `cargo run -p warden-book-listings --example ch06_semaphore_basics`

// ANCHOR: uses
use std::time::Duration;

use tokio::time::timeout;
use warden::{BoundedSemaphore, Semaphore, TooManyReleases};
// ANCHOR_END: uses

// ANCHOR: basics
async fn basics() {
    let sem = Semaphore::new(2); // sem = threading.Semaphore(2)
    let first = sem.acquire().await; // with sem:  /  sem.acquire()
    let second = sem.try_acquire().expect("one left"); // sem.acquire(blocking=False)
    assert!(sem.try_acquire().is_none());
    let timed_out = timeout(Duration::from_millis(10), sem.acquire())
        .await
        .is_err(); // sem.acquire(timeout=0.01) -> False
    assert!(timed_out);

    drop(first); // sem.release(): the permit goes back when dropped
    assert_eq!(sem.available_permits(), 1);
    second.forget(); // acquire() with no release(): the permit stays taken
    sem.release(3); // sem.release(3): adds three, past the initial two
    assert_eq!(sem.available_permits(), 4);

    let four = sem.acquire_many(4).await; // no Python equivalent
    assert_eq!((four.permits(), sem.available_permits()), (4, 0));
}
// ANCHOR_END: basics

// ANCHOR: bounded
async fn bounded() {
    let bounded = BoundedSemaphore::new(2); // threading.BoundedSemaphore(2)
    drop(bounded.acquire().await); // with bounded: ... (fine, as ever)

    // A stray release(): Python raises ValueError, warden returns an error
    // and changes nothing.
    assert_eq!(bounded.release(1), Err(TooManyReleases));
    assert_eq!(bounded.available_permits(), 2);

    bounded.acquire().await.forget(); // bounded.acquire()
    assert_eq!(bounded.release(1), Ok(())); // bounded.release()
    println!("{}", bounded.release(1).unwrap_err());
}
// ANCHOR_END: bounded

#[tokio::main(flavor = "current_thread")]
async fn main() {
    basics().await;
    bounded().await;
}

#[cfg(test)]
mod tests {
    #[test]
    fn runs() {
        super::main();
    }
}
