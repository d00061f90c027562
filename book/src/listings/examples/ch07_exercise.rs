//! Exercise (Event), a solution: a ticker stopped by an `Event`.
//!
//! Run: `cargo run -p warden-book-listings --example ch07_exercise`

// ANCHOR: solution
use std::sync::Arc;
use std::time::Duration;

use tokio::time::timeout;
use warden::Event;

async fn ticker(stop: Arc<Event>, five_ticks: Arc<Event>) -> u32 {
    let mut ticks = 0;
    // stop.wait(timeout=0.01) is False  <=>  the timeout elapsed: Err
    while timeout(Duration::from_millis(10), stop.wait())
        .await
        .is_err()
    {
        ticks += 1;
        if ticks == 5 {
            five_ticks.set();
        }
    }
    ticks
}

/// One thread and the paused clock: the ticks are counted exactly.
#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    let (stop, five_ticks) = (Arc::new(Event::new()), Arc::new(Event::new()));
    let ticking = tokio::spawn(ticker(stop.clone(), five_ticks.clone()));
    five_ticks.wait().await;
    stop.set();
    let ticks = ticking.await.unwrap();
    println!("{ticks} ticks, then stopped");
    assert_eq!(ticks, 5);
}
// ANCHOR_END: solution

#[cfg(test)]
mod tests {
    #[test]
    fn runs() {
        super::main();
    }
}
