//! The Condition chapter's bounded queue, replaced by `tokio::sync::mpsc`:
//! the same producers and consumers, no queue to write.
//!
//! Run: `cargo run -p warden-book-listings --example ch14_queue_mpsc`

// ANCHOR: uses
use std::collections::BTreeSet;
use std::sync::Arc;

use tokio::sync::mpsc;
use warden::Lock;
// ANCHOR_END: uses

// ANCHOR: main
#[tokio::main]
async fn main() {
    let (tx, rx) = mpsc::channel(5); // BoundedQueue::new(5)
    // mpsc has one receiver; two consumers take turns with it under a Lock.
    let rx = Arc::new(Lock::new(rx));
    for p in 0..3 {
        let tx = tx.clone();
        tokio::spawn(async move {
            for i in 0..100 {
                tx.send(p * 100 + i).await.unwrap(); // queue.put(item).await
            }
        });
    }
    drop(tx); // when the producers are done, the channel closes: no `None`s to send

    let task_consumer = tokio::spawn({
        let rx = rx.clone();
        async move {
            let mut got = Vec::new();
            while let Some(item) = rx.acquire().await.recv().await {
                got.push(item);
            }
            got
        }
    });
    let thread_consumer = std::thread::spawn({
        let rx = rx.clone();
        move || {
            let mut got = Vec::new();
            while let Some(item) = rx.acquire_blocking().blocking_recv() {
                got.push(item);
            }
            got
        }
    });

    let mut all = task_consumer.await.unwrap();
    all.extend(thread_consumer.join().unwrap());
    let distinct: BTreeSet<_> = all.iter().copied().collect();
    println!(
        "300 items put, {} got, {} distinct",
        all.len(),
        distinct.len()
    );
    assert_eq!(distinct, (0..300).collect());
    assert_eq!(all.len(), 300);
}
// ANCHOR_END: main

#[cfg(test)]
mod tests {
    #[test]
    fn runs() {
        super::main();
    }
}
