//! `Condition` with a `#[guarded]` lock: `wait` takes and gives back the
//! `LockGuard<'_, QueueLock>`, and the predicate sees the guarded fields.

use std::collections::VecDeque;
use std::sync::Arc;
use warden::{Condition, Lock, guarded};

#[guarded]
pub struct Queue {
    lock: Lock,
    #[guarded(lock)]
    items: VecDeque<u32>,
    #[guarded(lock)]
    closed: bool,
    not_empty: Condition,
}

impl Queue {
    async fn push(&self, item: u32) {
        self.lock.acquire().await.items.push_back(item);
        self.not_empty.notify_one();
    }

    async fn close(&self) {
        self.lock.acquire().await.closed = true;
        self.not_empty.notify_all();
    }

    async fn pop(&self) -> Option<u32> {
        let mut g = self.lock.acquire().await;
        while g.items.is_empty() && !g.closed {
            g = self.not_empty.wait(g).await;
        }
        g.items.pop_front()
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    rt.block_on(async {
        let queue = Arc::new(Queue::new(QueueInit {
            lock: Lock::new(()),
            items: VecDeque::new(),
            closed: false,
            not_empty: Condition::new(),
        }));
        let consumer = tokio::spawn({
            let queue = queue.clone();
            async move {
                let mut sum = 0;
                while let Some(item) = queue.pop().await {
                    sum += item;
                }
                sum
            }
        });
        for i in 1..=100 {
            queue.push(i).await;
        }
        queue.close().await;
        assert_eq!(consumer.await.unwrap(), 5050);
    });
}
