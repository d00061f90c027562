// `Condition::wait` takes the guard and gives it back: keep the one it
// returns (`guard = cond.wait(guard).await`). Python's `cond.wait()`
// re-acquires behind your back; here the old guard is gone.
use warden::{Condition, Lock, guarded};

#[guarded]
pub struct Queue {
    pub lock: Lock,
    #[guarded(lock)]
    pub items: Vec<u32>,
    pub not_empty: Condition,
}

async fn pop(queue: &Queue) -> Option<u32> {
    let mut guard = queue.lock.acquire().await;
    if guard.items.is_empty() {
        queue.not_empty.wait(guard).await;
    }
    guard.items.pop()
}

fn main() {}
