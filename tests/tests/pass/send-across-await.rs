//! Futures holding a `#[guarded]` lock's guard across `.await` are `Send`,
//! so they run on a multi-thread runtime with `tokio::spawn`.

use std::sync::Arc;
use std::time::Duration;
use warden::{Lock, RLock, guarded};

#[guarded]
pub struct Counter {
    lock: Lock,
    #[guarded(lock)]
    value: u64,
    #[guarded(lock)]
    history: Vec<u64>,
    audit: RLock,
    #[guarded(audit)]
    reads: std::sync::atomic::AtomicU64,
}

fn assert_send<T: Send>(t: T) -> T {
    t
}

async fn bump(counter: Arc<Counter>) {
    let mut g = counter.lock.acquire().await;
    let seen = g.value;
    tokio::time::sleep(Duration::from_millis(1)).await; // guard held across .await
    g.value = seen + 1;
    g.history.push(seen);
}

async fn read(counter: Arc<Counter>) -> u64 {
    let g = counter.audit.acquire().await;
    tokio::task::yield_now().await; // RLockGuard across .await: data is Sync
    g.reads.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_time()
        .build()
        .unwrap();
    rt.block_on(async {
        let counter = Arc::new(Counter::new(CounterInit {
            lock: Lock::new(()),
            value: 0,
            history: Vec::new(),
            audit: RLock::new(()),
            reads: 0.into(),
        }));
        let tasks: Vec<_> = (0..32)
            .map(|_| tokio::spawn(assert_send(bump(counter.clone()))))
            .chain((0..8).map(|_| {
                let counter = counter.clone();
                tokio::spawn(async move {
                    assert_send(read(counter)).await;
                })
            }))
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        let g = counter.lock.acquire().await;
        assert_eq!(g.value, 32);
        assert_eq!(g.history, (0..32).collect::<Vec<_>>());
    });
}
