//! Exercise (Barrier), a solution: partial sums, a leader, and a second
//! wait so that everyone sees the total.
//!
//! Run: `cargo run -p warden-book-listings --example ch09_exercise`

// ANCHOR: solution
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use warden::Barrier;

struct Sum {
    data: Vec<u64>,
    parts: [AtomicU64; 4],
    total: AtomicU64,
    barrier: Barrier,
}

async fn worker(sum: Arc<Sum>, i: usize) -> u64 {
    let part = sum.data[i * 25..(i + 1) * 25].iter().sum();
    sum.parts[i].store(part, Relaxed);
    if sum.barrier.wait().await.expect("not broken").is_leader() {
        let total = sum.parts.iter().map(|p| p.load(Relaxed)).sum();
        sum.total.store(total, Relaxed); // exactly one worker does this
    }
    sum.barrier.wait().await.expect("not broken"); // the total is there now
    sum.total.load(Relaxed)
}

#[tokio::main]
async fn main() {
    let sum = Arc::new(Sum {
        data: (1..=100).collect(),
        parts: Default::default(),
        total: AtomicU64::new(0),
        barrier: Barrier::new(4),
    });
    let workers: Vec<_> = (0..4)
        .map(|i| tokio::spawn(worker(sum.clone(), i)))
        .collect();
    let mut seen = Vec::new();
    for w in workers {
        seen.push(w.await.unwrap());
    }
    println!("sum of 1..100 by 4 workers: {seen:?}");
    assert_eq!(seen, [5050; 4]);
}
// ANCHOR_END: solution

#[cfg(test)]
mod tests {
    #[test]
    fn runs() {
        super::main();
    }
}
