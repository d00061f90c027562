//! Shutdown with `select!`: workers stop at a signal, and a job
//! interrupted halfway goes back to the queue, by its permit's `Drop`.
//!
//! Run: `cargo run -p warden-book-listings --example ch12_shutdown`

// ANCHOR: uses
use std::sync::Arc;
use std::time::Duration;

use warden::{Event, Semaphore};
// ANCHOR_END: uses

// ANCHOR: worker
/// One job's work: some awaiting (I/O), which a shutdown may interrupt.
async fn work() {
    tokio::time::sleep(Duration::from_millis(10)).await;
}

/// Takes jobs (a job is a permit of `jobs`) until `stop` is set; returns
/// how many it finished and how many it gave back unfinished.
async fn worker(jobs: Arc<Semaphore>, stop: Arc<Event>, finished: Arc<Semaphore>) -> [usize; 2] {
    let (mut done, mut interrupted) = (0, 0);
    loop {
        let job = tokio::select! {
            biased; // look at `stop` first
            () = stop.wait() => break,
            job = jobs.acquire() => job, // a dropped acquire() takes no job
        };
        tokio::select! {
            biased;
            () = stop.wait() => {
                // `work()` is dropped halfway. Its cleanup is `drop(job)`:
                // the permit returns, so the job is back in the queue.
                drop(job);
                interrupted += 1;
                break;
            }
            () = work() => {
                job.forget(); // finished: the job is used up
                done += 1;
                finished.release(1);
            }
        }
    }
    [done, interrupted]
}
// ANCHOR_END: worker

// ANCHOR: shutdown
async fn shutdown() -> [usize; 3] {
    let jobs = Arc::new(Semaphore::new(1_000)); // 1000 jobs queued
    let (stop, finished) = (Arc::new(Event::new()), Arc::new(Semaphore::new(0)));
    let workers: Vec<_> = (0..4)
        .map(|_| tokio::spawn(worker(jobs.clone(), stop.clone(), finished.clone())))
        .collect();
    finished.acquire_many(500).await.forget(); // wait until 500 are done...
    stop.set(); // ...then stop every worker, wherever it is
    let (mut done, mut interrupted) = (0, 0);
    for w in workers {
        let [d, i] = w.await.unwrap();
        (done, interrupted) = (done + d, interrupted + i);
    }
    [done, interrupted, jobs.available_permits()]
}
// ANCHOR_END: shutdown

// ANCHOR: main
/// One thread and tokio's paused clock (`sleep` advances it instead of
/// waiting): the schedule, and so the counts, are the same on every run.
#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    let [done, interrupted, left] = shutdown().await;
    println!("1000 jobs: {done} done, {interrupted} interrupted and put back, {left} left");
    assert_eq!(done + left, 1_000, "no job lost, none done twice");
    assert_eq!([done, interrupted, left], [500, 4, 500]);
}
// ANCHOR_END: main

#[cfg(test)]
mod tests {
    #[test]
    fn runs() {
        super::main();
    }
}
