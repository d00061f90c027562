// An `RLock` guard is shared by re-entrant acquires, so it may cross tasks
// only if the data is `Sync`: a `Cell` field cannot be held across an
// `.await` in a spawned task.
use std::cell::Cell;
use std::sync::Arc;
use warden::{RLock, guarded};

#[guarded]
pub struct Counter {
    lock: RLock,
    #[guarded(lock)]
    hits: Cell<u64>,
}

fn spawn_bump(counter: Arc<Counter>) {
    tokio::spawn(async move {
        let guard = counter.lock.acquire().await;
        tokio::task::yield_now().await;
        guard.hits.set(guard.hits.get() + 1);
    });
}

fn main() {}
