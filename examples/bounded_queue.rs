//! CPython's `queue.Queue`, ported: one lock, three conditions.
//!
//! CPython's `Queue` keeps its deque under one mutex and waits on three
//! `Condition`s sharing it — `not_empty`, `not_full`, `all_tasks_done`.
//! warden's `Condition` is used with a `Lock`'s guard, so the port keeps
//! that shape exactly; `#[guarded]` makes the deque and the unfinished
//! count unreachable without the lock.
//!
//! Producers and consumers run on a multi-thread runtime; the program
//! checks that every item is delivered exactly once, in order per
//! producer, and that `join` returns only when every item was processed.
//!
//! Run: `cargo run --example bounded_queue`

use std::collections::VecDeque;
use std::sync::Arc;

use warden::{Condition, Lock, guarded};

// ANCHOR: queue
/// A FIFO queue of at most `maxsize` items (0: unbounded), as `queue.Queue`.
#[guarded]
pub struct Queue<T> {
    /// Guards the items and the count of unfinished tasks.
    mutex: Lock,
    #[guarded(mutex)]
    items: VecDeque<T>,
    #[guarded(mutex)]
    unfinished_tasks: usize,
    /// Notified when an item is added.
    not_empty: Condition,
    /// Notified when an item is removed.
    not_full: Condition,
    /// Notified when the count of unfinished tasks drops to zero.
    all_tasks_done: Condition,
    maxsize: usize,
}

impl<T> Queue<T> {
    /// An empty queue holding at most `maxsize` items (0: no limit).
    pub fn with_maxsize(maxsize: usize) -> Self {
        Queue::new(QueueInit {
            mutex: Lock::default(),
            items: VecDeque::new(),
            unfinished_tasks: 0,
            not_empty: Condition::new(),
            not_full: Condition::new(),
            all_tasks_done: Condition::new(),
            maxsize,
        })
    }

    /// `q.put(item)`: waits while the queue is full.
    pub async fn put(&self, item: T) {
        let guard = self.mutex.acquire().await;
        let mut guard = if self.maxsize > 0 {
            self.not_full
                .wait_for(guard, |q| q.items.len() < self.maxsize)
                .await
        } else {
            guard
        };
        guard.items.push_back(item);
        guard.unfinished_tasks += 1;
        self.not_empty.notify_one();
    }

    /// `q.get()`: waits while the queue is empty.
    pub async fn get(&self) -> T {
        let guard = self.mutex.acquire().await;
        let mut guard = self
            .not_empty
            .wait_for(guard, |q| !q.items.is_empty())
            .await;
        let item = guard.items.pop_front().expect("not empty");
        self.not_full.notify_one();
        item
    }

    /// `q.task_done()`: one fetched item was processed.
    ///
    /// # Panics
    ///
    /// If called more times than items were put (Python: `ValueError`).
    pub async fn task_done(&self) {
        let mut guard = self.mutex.acquire().await;
        guard.unfinished_tasks = guard
            .unfinished_tasks
            .checked_sub(1)
            .expect("task_done() called too many times");
        if guard.unfinished_tasks == 0 {
            self.all_tasks_done.notify_all();
        }
    }

    /// `q.join()`: waits until every item put has been marked done.
    pub async fn join(&self) {
        let guard = self.mutex.acquire().await;
        drop(
            self.all_tasks_done
                .wait_for(guard, |q| q.unfinished_tasks == 0)
                .await,
        );
    }
}
// ANCHOR_END: queue

const PRODUCERS: usize = 4;
const CONSUMERS: usize = 4;
const ITEMS: usize = 10_000;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let queue = Arc::new(Queue::with_maxsize(16));
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let queue = queue.clone();
            tokio::spawn(async move {
                for seq in 0..ITEMS {
                    queue.put(Some((p, seq))).await;
                }
            })
        })
        .collect();
    let consumers: Vec<_> = (0..CONSUMERS)
        .map(|_| {
            let queue = queue.clone();
            tokio::spawn(async move {
                let mut got = Vec::new();
                while let Some(item) = queue.get().await {
                    got.push(item);
                    queue.task_done().await;
                }
                queue.task_done().await; // the sentinel
                got
            })
        })
        .collect();

    for p in producers {
        p.await.expect("producer panicked");
    }
    queue.join().await; // every item put so far was processed
    for _ in 0..CONSUMERS {
        queue.put(None).await; // one sentinel per consumer
    }

    let mut seen = vec![vec![false; ITEMS]; PRODUCERS];
    let mut delivered = 0;
    for c in consumers {
        let got = c.await.expect("consumer panicked");
        // Each consumer sees each producer's items in the order put.
        for p in 0..PRODUCERS {
            let mine: Vec<usize> = got.iter().filter(|i| i.0 == p).map(|i| i.1).collect();
            assert!(mine.windows(2).all(|w| w[0] < w[1]), "out of order");
        }
        for (p, seq) in got {
            assert!(!seen[p][seq], "item {p}/{seq} delivered twice");
            seen[p][seq] = true;
            delivered += 1;
        }
    }
    assert!(seen.iter().flatten().all(|&s| s), "an item was lost");
    queue.join().await;
    println!(
        "{delivered} items from {PRODUCERS} producers to {CONSUMERS} consumers \
         through a queue of 16: none lost, none duplicated, in order per producer"
    );
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_item_delivered_exactly_once() {
        super::main();
    }
}
