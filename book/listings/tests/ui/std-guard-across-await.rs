// A `std::sync::MutexGuard` held across an `.await` in a spawned task:
// the guard is not `Send` (it must be unlocked by the thread that locked
// it), so neither is the task, and `tokio::spawn` refuses it. A warden
// guard is `Send`, and may be held there.
use std::sync::{Arc, Mutex};

fn main() {
    let counter = Arc::new(Mutex::new(0));
    tokio::spawn(async move {
        let mut n = counter.lock().unwrap();
        tokio::task::yield_now().await;
        *n += 1;
    });
}
