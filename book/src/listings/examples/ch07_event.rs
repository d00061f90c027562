//! `threading.Event`: a start gate, timeouts, and set-then-clear.
//!
//! Run: `cargo run -p warden-book-listings --example ch07_event`

// ANCHOR: uses
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::time::timeout;
use warden::{Event, Semaphore};
// ANCHOR_END: uses

// ANCHOR: gate
const RUNNERS: usize = 3;

async fn race() {
    let gate = Arc::new(Event::new()); // gate = threading.Event()
    let ready = Arc::new(Semaphore::new(0)); // each runner adds one when ready
    let started = Arc::new(AtomicUsize::new(0));
    let runners: Vec<_> = (0..RUNNERS)
        .map(|_| {
            let (gate, ready, started) = (gate.clone(), ready.clone(), started.clone());
            tokio::spawn(async move {
                // ... warm up: open connections, load data ...
                ready.release(1);
                gate.wait().await; // gate.wait()
                started.fetch_add(1, Ordering::SeqCst);
            })
        })
        .collect();

    ready.acquire_many(RUNNERS).await.forget(); // every runner is at the gate
    assert_eq!(started.load(Ordering::SeqCst), 0); // and nobody went early
    gate.set(); // gate.set(): everyone waiting is released
    for runner in runners {
        runner.await.unwrap();
    }
    println!("{RUNNERS} runners waited at the gate; all started after it opened");
    assert_eq!(started.load(Ordering::SeqCst), RUNNERS);
}
// ANCHOR_END: gate

// ANCHOR: timeout
async fn timeouts() {
    let ev = Event::new();
    // ev.wait(timeout=0.01) -> False
    let set_in_time = timeout(Duration::from_millis(10), ev.wait()).await.is_ok();
    assert!(!set_in_time);
    ev.set();
    ev.wait().await; // set already: returns at once, as often as you like
    ev.wait().await;
    assert!(ev.is_set());
}
// ANCHOR_END: timeout

// ANCHOR: set_clear
async fn set_then_clear() -> &'static str {
    let ev = Event::new();
    let (outcome, ()) = tokio::join!(biased;
        async {
            ev.wait().await; // waiting when set() is called...
            "released"
        },
        async {
            ev.set();
            ev.clear(); // ...so released, though the flag is down again
        },
    );
    assert!(!ev.is_set());
    outcome
}
// ANCHOR_END: set_clear

#[tokio::main]
async fn main() {
    race().await;
    timeouts().await;
    assert_eq!(set_then_clear().await, "released");
}

#[cfg(test)]
mod tests {
    #[test]
    fn runs() {
        super::main();
    }
}
