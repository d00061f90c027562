//! Phased workers with a `Barrier`: every phase reads what the previous
//! phase wrote, so no worker may start phase `p + 1` before all finished `p`.
//!
//! Run: `cargo run -p warden-book-listings --example ch09_barrier_phases`

// ANCHOR: uses
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering::Relaxed};

use warden::Barrier;
// ANCHOR_END: uses

const WORKERS: usize = 4;
const PHASES: usize = 5;

// ANCHOR: worker
/// A ring of cells, one per worker, in two buffers: phase `p` reads
/// buffer `p % 2` and writes buffer `(p + 1) % 2`.
struct Ring {
    buffers: [Vec<AtomicI64>; 2],
}

async fn worker(i: usize, ring: &Ring, barrier: &Barrier) -> usize {
    let mut led = 0;
    for phase in 0..PHASES {
        let (read, write) = (&ring.buffers[phase % 2], &ring.buffers[(phase + 1) % 2]);
        let left = read[(i + WORKERS - 1) % WORKERS].load(Relaxed);
        let right = read[(i + 1) % WORKERS].load(Relaxed);
        write[i].store(left + read[i].load(Relaxed) + right, Relaxed);

        let arrived = barrier.wait().await.expect("nobody breaks this barrier");
        led += usize::from(arrived.is_leader()); // one leader per phase
    }
    led
}
// ANCHOR_END: worker

/// The same computation, one thread, no barrier: the reference.
fn sequential(mut cells: Vec<i64>) -> Vec<i64> {
    for _ in 0..PHASES {
        cells = (0..WORKERS)
            .map(|i| cells[(i + WORKERS - 1) % WORKERS] + cells[i] + cells[(i + 1) % WORKERS])
            .collect();
    }
    cells
}

// ANCHOR: main
#[tokio::main]
async fn main() {
    let start = vec![1, 0, 0, 0];
    let ring = Arc::new(Ring {
        buffers: [
            start.iter().map(|&c| AtomicI64::new(c)).collect(),
            (0..WORKERS).map(|_| AtomicI64::new(0)).collect(),
        ],
    });
    let phases_done = Arc::new(AtomicUsize::new(0));
    let barrier = Arc::new(Barrier::with_action(WORKERS, {
        let phases_done = phases_done.clone();
        move || {
            phases_done.fetch_add(1, Relaxed); // runs once per phase, before anyone goes on
        }
    }));
    let workers: Vec<_> = (0..WORKERS)
        .map(|i| {
            let (ring, barrier) = (ring.clone(), barrier.clone());
            tokio::spawn(async move { worker(i, &ring, &barrier).await })
        })
        .collect();
    let mut leaders = 0;
    for w in workers {
        leaders += w.await.unwrap();
    }
    let result: Vec<i64> = ring.buffers[PHASES % 2]
        .iter()
        .map(|c| c.load(Relaxed))
        .collect();
    println!("after {PHASES} phases: {result:?}");
    assert_eq!(result, sequential(start));
    assert_eq!((phases_done.load(Relaxed), leaders), (PHASES, PHASES));
}
// ANCHOR_END: main

#[cfg(test)]
mod tests {
    #[test]
    fn runs() {
        super::main();
    }
}
