//! `threading.RLock`'s surface, and who the owner is in async Rust.
//!
//! Run: `cargo run -p warden-book-listings --example ch05_rlock_basics`

// ANCHOR: uses
use std::sync::Arc;

use warden::RLock;
// ANCHOR_END: uses

// ANCHOR: reentry
async fn reentry() {
    let rl = Arc::new(RLock::new(())); // rl = threading.RLock()
    let outer = rl.acquire().await; //     with rl:
    let inner = rl.acquire().await; //         with rl:   (the same task: re-enters)

    let other = tokio::spawn({
        let rl = rl.clone();
        async move { rl.try_acquire().is_some() } // rl.acquire(blocking=False)
    });
    assert!(!other.await.unwrap()); // another task is refused

    drop(inner);
    assert!(rl.locked()); // still held: one level left
    drop(outer);
    assert!(!rl.locked()); // the last guard released it
}
// ANCHOR_END: reentry

// ANCHOR: branches
/// The branches of one `join!` are one task, so they share ownership:
/// while one holds the lock, the other re-enters at once.
async fn branches() -> bool {
    let rl = RLock::new(());
    let ((), reentered) = tokio::join!(biased;
        async {
            let _held = rl.acquire().await;
            tokio::task::yield_now().await;
        },
        async { rl.try_acquire().is_some() },
    );
    reentered
}
// ANCHOR_END: branches

#[tokio::main]
async fn main() {
    reentry().await;
    assert!(branches().await);
    println!("re-entered by the owner, refused to another task, shared by join! branches");
}

#[cfg(test)]
mod tests {
    #[test]
    fn runs() {
        super::main();
    }
}
