//! Threads and tasks: Python's `threading` vocabulary in tokio.
//!
//! `threading.Thread` → `tokio::spawn`, `join()` → awaiting the
//! `JoinHandle`, `ThreadPoolExecutor` → `JoinSet` bounded by a warden
//! `Semaphore`, `threading.local` → `tokio::task_local!`,
//! `threading.Timer` → a task that sleeps, cancelled with `abort()`.
//!
//! Run: `cargo run -p warden-book-listings --example ch02_tasks`

// ANCHOR: uses
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::task::JoinSet;
use warden::Semaphore;
// ANCHOR_END: uses

// ANCHOR: spawn
async fn greet(name: &'static str) -> String {
    tokio::time::sleep(Duration::from_millis(10)).await; // time.sleep(0.01)
    format!("hello, {name}")
}

async fn spawn_and_join() {
    // t = threading.Thread(target=greet, args=("ada",)); t.start()
    let handle = tokio::spawn(greet("ada"));
    // t.join() -- and unlike a Thread, a task hands back its result
    let greeting = handle.await.expect("the task panicked");
    println!("{greeting}");
    assert_eq!(greeting, "hello, ada");
}
// ANCHOR_END: spawn

// ANCHOR: pool
async fn square(n: usize) -> usize {
    tokio::time::sleep(Duration::from_millis(1)).await; // some I/O
    n * n
}

/// `ThreadPoolExecutor(max_workers=3).map(square, range(10))`
async fn pool_map() -> Vec<usize> {
    let workers = Arc::new(Semaphore::new(3)); // max_workers=3
    let busy = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let mut set = JoinSet::new();
    for n in 0..10 {
        let (workers, busy, peak) = (workers.clone(), busy.clone(), peak.clone());
        set.spawn(async move {
            let _worker = workers.acquire().await; // wait for a free "worker"
            let now = busy.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            let result = square(n).await;
            busy.fetch_sub(1, Ordering::SeqCst);
            (n, result)
        }); // the permit returns here, when `_worker` drops
    }
    // Results arrive in completion order; put them back in input order,
    // as `pool.map` does.
    let mut results = vec![0; 10];
    while let Some(joined) = set.join_next().await {
        let (n, result) = joined.expect("a task panicked");
        results[n] = result;
    }
    let peak = peak.load(Ordering::SeqCst);
    println!(
        "squares: {results:?}, never more than 3 at once: {}",
        peak <= 3
    );
    assert!(peak <= 3);
    results
}
// ANCHOR_END: pool

// ANCHOR: local
tokio::task_local! {
    // local = threading.local(); local.request_id = ...
    static REQUEST_ID: u32;
}

async fn log(message: &str) -> String {
    tokio::task::yield_now().await; // other tasks run here; the value stays ours
    REQUEST_ID.with(|id| format!("[request {id}] {message}"))
}

async fn task_locals() {
    let first = tokio::spawn(REQUEST_ID.scope(1, async { log("started").await }));
    let second = tokio::spawn(REQUEST_ID.scope(2, async { log("started").await }));
    let (first, second) = (first.await.unwrap(), second.await.unwrap());
    println!("{first}\n{second}");
    assert_eq!(first, "[request 1] started");
    assert_eq!(second, "[request 2] started");
    // Outside any scope there is no value (Python: AttributeError).
    assert!(REQUEST_ID.try_with(|id| *id).is_err());
}
// ANCHOR_END: local

// ANCHOR: timer
async fn timers() {
    // t = threading.Timer(0.05, fire); t.start()
    let fires = tokio::spawn(async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        "fired"
    });
    let cancelled = tokio::spawn(async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        "fired"
    });
    cancelled.abort(); // t.cancel()

    assert_eq!(fires.await.unwrap(), "fired");
    let err = cancelled.await.unwrap_err();
    assert!(err.is_cancelled());
    println!("first timer fired, second cancelled");
}
// ANCHOR_END: timer

#[tokio::main]
async fn main() {
    spawn_and_join().await;
    let squares = pool_map().await;
    assert_eq!(squares, (0..10).map(|n| n * n).collect::<Vec<_>>());
    task_locals().await;
    timers().await;
}

#[cfg(test)]
mod tests {
    #[test]
    fn runs() {
        super::main();
    }
}
