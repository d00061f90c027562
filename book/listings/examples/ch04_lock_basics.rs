//! `threading.Lock`'s surface, in warden.
//!
//! Run: `cargo run -p warden-book-listings --example ch04_lock_basics`

// ANCHOR: uses
use std::sync::Arc;
use std::time::Duration;

use tokio::time::timeout;
use warden::Lock;
// ANCHOR_END: uses

// ANCHOR: basics
async fn basics() -> Lock<Vec<&'static str>> {
    let lock = Lock::new(Vec::new()); // lock = threading.Lock(); items = []
    {
        let mut items = lock.acquire().await; // with lock:
        items.push("first");
        assert!(lock.locked()); //                   lock.locked()
    } // the guard's scope ends: released
    assert!(!lock.locked());
    lock
}
// ANCHOR_END: basics

// ANCHOR: try_and_timeout
async fn try_and_timeout(lock: &Lock<Vec<&str>>) {
    let guard = lock.try_acquire().expect("free"); // lock.acquire(blocking=False)
    assert!(lock.try_acquire().is_none()); //          held: refused at once

    // lock.acquire(timeout=0.05) -> False
    let timed_out = timeout(Duration::from_millis(50), lock.acquire())
        .await
        .is_err();
    assert!(timed_out); // gave up after 50 ms, and left no trace

    drop(guard); // lock.release()
    let mut items = timeout(Duration::from_millis(50), lock.acquire())
        .await
        .expect("free again");
    items.push("second");
}
// ANCHOR_END: try_and_timeout

// ANCHOR: other_task
async fn released_by_another_task(lock: Arc<Lock<Vec<&'static str>>>) {
    // Python lets another thread release a Lock. Here the guard moves:
    let guard = lock.clone().acquire_owned().await; // a guard that owns an Arc
    let releaser = tokio::spawn(async move {
        println!("releasing a lock another task acquired");
        drop(guard);
    });
    releaser.await.unwrap();
    assert!(!lock.locked());
}
// ANCHOR_END: other_task

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let lock = Arc::new(basics().await);
    try_and_timeout(&lock).await;
    released_by_another_task(lock.clone()).await;
    println!("{:?}", *lock.acquire().await);
}

#[cfg(test)]
mod tests {
    #[test]
    fn runs() {
        super::main();
    }
}
