//! A blocking twin called where it would stall the runtime panics, and
//! says what to use instead.
//!
//! Run: `cargo run -p warden-book-listings --example ch02_blocking_on_worker`

use std::panic::{AssertUnwindSafe, catch_unwind};

use warden::Lock;

/// The message this listing prints, as the book shows it.
const EXPECTED: &str = include_str!("../output/blocking-on-worker.txt");

// ANCHOR: refuse
#[tokio::main(flavor = "current_thread")]
async fn main() {
    let lock = Lock::new(0);
    let held = lock.acquire().await;
    // This thread runs the runtime: waiting here would stall every task,
    // including the one that would release the lock.
    let refused = catch_unwind(AssertUnwindSafe(|| drop(lock.acquire_blocking())));
    let message = *refused.unwrap_err().downcast::<String>().unwrap();
    println!("{message}");
    drop(held);

    // Where blocking is fine: `spawn_blocking` (or a plain thread).
    let lock = std::sync::Arc::new(lock);
    let from_blocking = tokio::task::spawn_blocking({
        let lock = lock.clone();
        move || *lock.acquire_blocking() + 1
    });
    assert_eq!(from_blocking.await.unwrap(), 1);
    // ANCHOR_END: refuse
    assert_eq!(message, EXPECTED.trim_end());
}

#[cfg(test)]
#[path = "shared/quiet.rs"]
mod quiet;

#[cfg(test)]
mod tests {
    #[test]
    fn runs() {
        // tokio's probe and warden's refusal panic on purpose: keep them
        // out of the test output (any other panic still prints).
        super::quiet::expecting(&["Cannot block", "runs async tasks"], super::main);
    }
}
