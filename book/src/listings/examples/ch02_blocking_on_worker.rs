//! A blocking twin called where it would stall the runtime panics, and
//! says what to use instead.
//!
//! Run: `cargo run -p warden-book-listings --example ch02_blocking_on_worker`

// ANCHOR: uses
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use warden::Lock;
// ANCHOR_END: uses

/// The message this listing prints, as the book shows it.
const EXPECTED: &str = include_str!("../output/blocking-on-worker.txt");

// ANCHOR: refuse
/// A blocking twin where it would stall the runtime: refused.
async fn on_the_runtime() -> String {
    let lock = Lock::new(0);
    let held = lock.acquire().await;
    // This thread runs the runtime: waiting here would stall every task,
    // including the one that would release the lock.
    let refused = catch_unwind(AssertUnwindSafe(|| drop(lock.acquire_blocking())));
    drop(held);
    *refused.unwrap_err().downcast::<String>().unwrap()
}

/// Where blocking is fine: `spawn_blocking` (or a plain thread).
async fn in_spawn_blocking() -> i32 {
    let lock = Arc::new(Lock::new(0));
    let held = lock.clone().acquire_owned().await;
    let blocking = tokio::task::spawn_blocking({
        let lock = lock.clone();
        move || *lock.acquire_blocking() + 1 // waits for `held`, blocking only its thread
    });
    tokio::task::yield_now().await;
    drop(held);
    blocking.await.unwrap()
}
// ANCHOR_END: refuse

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let message = on_the_runtime().await;
    println!("{message}");
    assert_eq!(message, EXPECTED.trim_end());
    assert_eq!(in_spawn_blocking().await, 1);
}

#[cfg(test)]
#[path = "shared/quiet.rs"]
mod quiet;

#[cfg(test)]
mod tests {
    #[test]
    fn runs() {
        // warden's refusal panics on purpose: keep it out of the test
        // output (any other panic still prints).
        super::quiet::expecting(&["runs async tasks"], super::main);
    }
}
