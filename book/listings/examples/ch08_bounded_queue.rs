//! A bounded queue -- CPython's `queue.Queue(maxsize)` in miniature: one
//! `Lock`, two `Condition`s. Tasks produce; a task and a plain thread
//! consume.
//!
//! Run: `cargo run -p warden-book-listings --example ch08_bounded_queue`

// ANCHOR: uses
use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;

use warden::{Condition, Lock};
// ANCHOR_END: uses

// ANCHOR: queue
struct BoundedQueue<T> {
    items: Lock<VecDeque<T>>,
    not_empty: Condition, // both conditions wait with `items`' guard
    not_full: Condition,
    capacity: usize,
}

impl<T> BoundedQueue<T> {
    fn new(capacity: usize) -> Self {
        BoundedQueue {
            items: Lock::new(VecDeque::new()),
            not_empty: Condition::new(),
            not_full: Condition::new(),
            capacity,
        }
    }

    async fn put(&self, item: T) {
        let mut items = self.items.acquire().await; // with self.lock:
        while items.len() == self.capacity {
            items = self.not_full.wait(items).await; //     self.not_full.wait()
        }
        items.push_back(item);
        self.not_empty.notify_one(); //                     self.not_empty.notify()
    }

    async fn get(&self) -> T {
        let items = self.items.acquire().await;
        let mut items = self // self.not_empty.wait_for(lambda: len(self.items))
            .not_empty
            .wait_for(items, |items| !items.is_empty())
            .await;
        let item = items.pop_front().expect("not empty");
        self.not_full.notify_one();
        item
    }

    /// `get` for a plain thread: the blocking twins.
    fn get_blocking(&self) -> T {
        let items = self.items.acquire_blocking();
        let mut items = self
            .not_empty
            .wait_for_blocking(items, |items| !items.is_empty());
        let item = items.pop_front().expect("not empty");
        self.not_full.notify_one();
        item
    }
}
// ANCHOR_END: queue

// ANCHOR: main
#[tokio::main]
async fn main() {
    let queue = Arc::new(BoundedQueue::new(5));
    let producers: Vec<_> = (0..3)
        .map(|p| {
            let queue = queue.clone();
            tokio::spawn(async move {
                for i in 0..100 {
                    queue.put(Some(p * 100 + i)).await;
                }
            })
        })
        .collect();
    let task_consumer = tokio::spawn({
        let queue = queue.clone();
        async move {
            let mut got = Vec::new();
            while let Some(item) = queue.get().await {
                got.push(item);
            }
            got
        }
    });
    let thread_consumer = std::thread::spawn({
        let queue = queue.clone();
        move || {
            let mut got = Vec::new();
            while let Some(item) = queue.get_blocking() {
                got.push(item);
            }
            got
        }
    });

    for producer in producers {
        producer.await.unwrap();
    }
    queue.put(None).await; // one "stop" per consumer
    queue.put(None).await;

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
