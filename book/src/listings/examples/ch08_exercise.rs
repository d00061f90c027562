//! Exercise (Condition), a solution: a countdown latch.
//!
//! Run: `cargo run -p warden-book-listings --example ch08_exercise`

// ANCHOR: solution
use std::sync::{Arc, Mutex};

use warden::{Condition, Lock};

struct Latch {
    count: Lock<usize>,
    zero: Condition,
}

impl Latch {
    fn new(count: usize) -> Latch {
        Latch {
            count: Lock::new(count),
            zero: Condition::new(),
        }
    }

    async fn count_down(&self) {
        let mut count = self.count.acquire().await;
        *count -= 1;
        if *count == 0 {
            self.zero.notify_all();
        }
    }

    async fn wait(&self) {
        let count = self.count.acquire().await;
        drop(self.zero.wait_for(count, |count| *count == 0).await);
    }
}

#[tokio::main]
async fn main() {
    let latch = Arc::new(Latch::new(3));
    let done = Arc::new(Mutex::new(Vec::new()));
    for i in 0..3 {
        let (latch, done) = (latch.clone(), done.clone());
        tokio::spawn(async move {
            done.lock().unwrap().push(i); // the work
            latch.count_down().await;
        });
    }
    latch.wait().await;
    let mut done = done.lock().unwrap().clone();
    done.sort_unstable();
    println!("all 3 workers counted down: {done:?}");
    assert_eq!(done, [0, 1, 2]);
}
// ANCHOR_END: solution

#[cfg(test)]
mod tests {
    #[test]
    fn runs() {
        super::main();
    }
}
