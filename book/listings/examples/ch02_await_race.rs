//! Where tasks switch: only at `.await`, within one thread — and anywhere
//! at all between worker threads.
//!
//! Run: `cargo run -p warden-book-listings --example ch02_await_race`

// ANCHOR: uses
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use warden::Lock;
// ANCHOR_END: uses

// ANCHOR: no_await
/// Two increments, run as two branches of one task. `join!(biased; ..)`
/// polls its branches in order, so the schedule is the same on every run.
async fn without_await() -> u64 {
    let counter = AtomicU64::new(0);
    let add_one = || async {
        let n = counter.load(Relaxed); // read...
        counter.store(n + 1, Relaxed); // ...write: no `.await` in between
    };
    tokio::join!(biased; add_one(), add_one());
    counter.load(Relaxed)
}
// ANCHOR_END: no_await

// ANCHOR: with_await
async fn with_await() -> u64 {
    let counter = AtomicU64::new(0);
    let add_one = || async {
        let n = counter.load(Relaxed);
        tokio::task::yield_now().await; // the other branch runs here...
        counter.store(n + 1, Relaxed); // ...and this overwrites its update
    };
    tokio::join!(biased; add_one(), add_one());
    counter.load(Relaxed)
}
// ANCHOR_END: with_await

// ANCHOR: threads
/// Spawned tasks on a multi-thread runtime run in parallel: here no
/// `.await` separates the read from the write, and updates may still be
/// lost, exactly as with Python threads.
async fn across_threads(increments: u64) -> u64 {
    let counter = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = (0..2)
        .map(|_| {
            let counter = counter.clone();
            tokio::spawn(async move {
                for _ in 0..increments {
                    let n = counter.load(Relaxed);
                    counter.store(n + 1, Relaxed);
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    counter.load(Relaxed)
}
// ANCHOR_END: threads

// ANCHOR: fetch_add
/// One atomic read-modify-write instead of a load and a store: no update
/// is lost, on any number of threads.
async fn with_fetch_add(increments: u64) -> u64 {
    let counter = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = (0..2)
        .map(|_| {
            let counter = counter.clone();
            tokio::spawn(async move {
                for _ in 0..increments {
                    counter.fetch_add(1, Relaxed); // read, add and write as one step
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    counter.load(Relaxed)
}
// ANCHOR_END: fetch_add

// ANCHOR: fixed
/// The fix: hold a lock across the read, the `.await` and the write.
async fn with_lock() -> u64 {
    let counter = Lock::new(0_u64);
    let add_one = || async {
        let mut n = counter.acquire().await;
        let read = *n;
        tokio::task::yield_now().await; // the other branch waits for the lock
        *n = read + 1;
    };
    tokio::join!(biased; add_one(), add_one());
    counter.into_inner()
}
// ANCHOR_END: fixed

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let no_await = without_await().await;
    println!("two increments, no await between read and write: {no_await}");
    assert_eq!(no_await, 2);

    let awaited = with_await().await;
    println!("two increments, an await between read and write: {awaited}");
    assert_eq!(awaited, 1, "the second write overwrote the first");

    let parallel = across_threads(100_000).await;
    println!("200000 increments on two worker threads: {parallel}");
    assert!(parallel <= 200_000); // how many were lost depends on the run

    let atomic = with_fetch_add(100_000).await;
    println!("200000 fetch_adds on two worker threads: {atomic}");
    assert_eq!(atomic, 200_000);

    let locked = with_lock().await;
    println!("two increments under a Lock: {locked}");
    assert_eq!(locked, 2);
}

#[cfg(test)]
mod tests {
    #[test]
    fn runs() {
        super::main();
    }
}
