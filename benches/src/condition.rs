//! Condition-variable ping-pong: a producer and a consumer hand items over
//! through a one-slot buffer behind one lock, with "not empty" and "not
//! full" wake-ups (CPython's `queue.Queue` with `maxsize=1`).
//!
//! warden writes this with two [`warden::Condition`]s on one
//! [`warden::Lock`]; tokio has no condition variable, so its contender is
//! the usual hand-rolled equivalent: a `tokio::sync::Mutex` and two
//! `Notify`s, re-checking the slot after each wake-up. Both notify after
//! releasing the lock, so the woken task does not find it still held.

use std::sync::Arc;

use tokio::runtime::Runtime;

/// Items handed over in one round.
pub const ITEMS: u64 = 1_000;

/// The warden contender: `Lock<Option<u64>>` + two `Condition`s.
#[derive(Default)]
pub struct WardenQueue {
    slot: warden::Lock<Option<u64>>,
    not_empty: warden::Condition,
    not_full: warden::Condition,
}

impl WardenQueue {
    async fn put(&self, item: u64) {
        let guard = self.slot.acquire().await;
        let mut guard = self.not_full.wait_for(guard, |s| s.is_none()).await;
        *guard = Some(item);
        drop(guard);
        self.not_empty.notify_one();
    }

    async fn get(&self) -> u64 {
        let guard = self.slot.acquire().await;
        let mut guard = self.not_empty.wait_for(guard, |s| s.is_some()).await;
        let item = guard.take().expect("checked by wait_for");
        drop(guard);
        self.not_full.notify_one();
        item
    }
}

/// The tokio contender: `Mutex<Option<u64>>` + two `Notify`s.
#[derive(Default)]
pub struct TokioQueue {
    slot: tokio::sync::Mutex<Option<u64>>,
    not_empty: tokio::sync::Notify,
    not_full: tokio::sync::Notify,
}

impl TokioQueue {
    async fn put(&self, item: u64) {
        loop {
            let mut guard = self.slot.lock().await;
            if guard.is_none() {
                *guard = Some(item);
                drop(guard);
                self.not_empty.notify_one();
                return;
            }
            drop(guard);
            // `notify_one` stores a permit when nobody waits yet, so a
            // wake-up sent between the unlock and here is not lost.
            self.not_full.notified().await;
        }
    }

    async fn get(&self) -> u64 {
        loop {
            let mut guard = self.slot.lock().await;
            if let Some(item) = guard.take() {
                drop(guard);
                self.not_full.notify_one();
                return item;
            }
            drop(guard);
            self.not_empty.notified().await;
        }
    }
}

macro_rules! round {
    ($(#[$doc:meta])* $name:ident, $queue:ty) => {
        $(#[$doc])*
        ///
        /// # Panics
        ///
        /// If an item was lost or duplicated.
        pub fn $name(rt: &Runtime, queue: &Arc<$queue>) {
            let sums = crate::run_tasks(rt, 2, |i| {
                let queue = Arc::clone(queue);
                async move {
                    let mut sum = 0;
                    for item in 0..ITEMS {
                        if i == 0 {
                            queue.put(item).await;
                        } else {
                            sum += queue.get().await;
                        }
                    }
                    sum
                }
            });
            assert_eq!(sums[1], ITEMS * (ITEMS - 1) / 2, "every item once");
        }
    };
}

round!(
    /// One round of the warden contender: [`ITEMS`] items, producer to consumer.
    warden_round,
    WardenQueue
);
round!(
    /// One round of the tokio contender: [`ITEMS`] items, producer to consumer.
    tokio_round,
    TokioQueue
);
