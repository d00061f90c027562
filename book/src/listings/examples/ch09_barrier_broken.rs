//! A broken barrier: `abort`, a timeout, `reset`.
//!
//! Run: `cargo run -p warden-book-listings --example ch09_barrier_broken`

// ANCHOR: uses
use std::sync::Arc;
use std::time::Duration;

use warden::{Barrier, BrokenBarrierError};
// ANCHOR_END: uses

// ANCHOR: abort
async fn abort_and_reset() {
    let barrier = Arc::new(Barrier::new(3));
    let waiter = tokio::spawn({
        let barrier = barrier.clone();
        async move { barrier.wait().await }
    });
    while barrier.n_waiting() < 1 {
        tokio::task::yield_now().await; // let the waiter arrive
    }
    barrier.abort(); // b.abort(): a party gave up
    assert_eq!(waiter.await.unwrap(), Err(BrokenBarrierError)); // raised in the waiter
    assert_eq!(barrier.wait().await, Err(BrokenBarrierError)); // and in later arrivals
    barrier.reset(); // b.reset(): usable again
    assert!(!barrier.is_broken());
}
// ANCHOR_END: abort

// ANCHOR: timeout
/// b.wait(timeout=0.01): as in `threading`, a timeout breaks the barrier
/// for everyone -- the others would wait for us forever.
async fn timeout_breaks_it() {
    let pair = Barrier::new(2);
    let alone = pair.wait_timeout(Duration::from_millis(10)).await;
    assert_eq!(alone, Err(BrokenBarrierError));
    assert!(pair.is_broken());
    println!("{}", alone.unwrap_err());
}
// ANCHOR_END: timeout

#[tokio::main]
async fn main() {
    abort_and_reset().await;
    timeout_breaks_it().await;
}

#[cfg(test)]
mod tests {
    #[test]
    fn runs() {
        super::main();
    }
}
