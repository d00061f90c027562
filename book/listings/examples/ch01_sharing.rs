//! Sharing state between tasks, in Python terms: `Arc` is a reference,
//! `.clone()` makes another, `move` gives one to the task.
//!
//! Run: `cargo run -p warden-book-listings --example ch01_sharing`

// ANCHOR: uses
use std::sync::Arc;

use warden::Lock;
// ANCHOR_END: uses

// ANCHOR: share
/// Python: `hits = Counter()`, and ten threads whose target uses `hits`.
async fn ten_tasks_share_a_counter() -> u32 {
    let hits = Arc::new(Lock::new(0)); // one shared object: a lock and its data
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let hits = hits.clone(); // another reference to the same object, not a copy
        tasks.push(tokio::spawn(async move {
            // `move`: this task owns its reference, and drops it when done
            *hits.acquire().await += 1;
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    // The tasks' references are gone; only ours is left (sys.getrefcount).
    assert_eq!(Arc::strong_count(&hits), 1);
    *hits.acquire().await
}
// ANCHOR_END: share

// ANCHOR: scoped
/// No `Arc` needed when the borrow provably ends first: `join!` runs both
/// futures inside this function, so they may borrow its locals.
async fn borrowed_by_two_futures() -> u32 {
    let hits = Lock::new(0); // a local, not an Arc
    let add_one = || async { *hits.acquire().await += 1 };
    tokio::join!(add_one(), add_one());
    hits.into_inner()
}
// ANCHOR_END: scoped

#[tokio::main]
async fn main() {
    let hits = ten_tasks_share_a_counter().await;
    println!("ten tasks, one counter: {hits}");
    assert_eq!(hits, 10);
    let joined = borrowed_by_two_futures().await;
    println!("two joined futures, a borrowed counter: {joined}");
    assert_eq!(joined, 2);
}

#[cfg(test)]
mod tests {
    #[test]
    fn runs() {
        super::main();
    }
}
