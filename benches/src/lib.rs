//! # warden-benches
//!
//! Benchmarks of warden against its peers, measured side by side in the
//! same run, plus a size table and a ratio report. Not published.
//!
//! This library is the shared harness: the runtimes, a one-poll driver, and
//! one small adapter per contender so every benchmark runs the *same* code
//! against each primitive. The criterion targets in `benches/` only loop
//! over these adapters; `tests/sizes.rs` prints and checks `size_of`; the
//! `ratios` binary turns criterion's estimates into a one-screen table.
//!
//! | group (criterion id)                  | bench target  | what it measures                                |
//! |----------------------------------------|---------------|-------------------------------------------------|
//! | `lock_uncontended`                     | `uncontended` | acquire + drop, one poll, no-op waker           |
//! | `semaphore_uncontended`                | `uncontended` | the same for a 4-permit semaphore               |
//! | `lock_uncontended_rt`, `semaphore_uncontended_rt` | `uncontended` | the same awaited in a current-thread task |
//! | `rlock`, `rlock_rt`                    | `uncontended` | `RLock` acquire and nested re-acquire           |
//! | `lock_contended/N`                     | `contended`   | N tasks, 2 workers, tight increment loops       |
//! | `lock_contended_yield/N`               | `contended`   | the same with a yield after each increment      |
//! | `lock_handoff_ct/N`                    | `contended`   | lock held across a yield: every release a hand-off, one thread |
//! | `semaphore_contended`                  | `contended`   | 4 permits, 64 tasks, acquire → yield + work → release |
//! | `rwlock_read_mostly/N`                 | `contended`   | 1 writer and N readers, the same number of acquisitions each, tight loops |
//! | `rwlock_read_mostly_yield/N`           | `contended`   | the same with a yield after each release        |
//! | `rwlock_uncontended`                   | `uncontended` | `read` / `write`: acquire + drop, one poll, no-op waker |
//! | `event_pingpong`, `event_pingpong_ct`  | `wakeups`     | set/wait round trips between two tasks          |
//! | `barrier`, `barrier_ct`                | `wakeups`     | 8 tasks × 200 generations                       |
//! | `condition_pingpong`, `condition_pingpong_ct` | `wakeups` | producer/consumer over one lock             |
//!
//! Groups ending in `_ct` run on a current-thread runtime (no parked
//! workers, no stealing: the primitives' own cost plus the scheduler's);
//! the others on a 2-worker multi-thread runtime.
//!
//! Contender names are the criterion function ids: `warden`, `tokio`,
//! `async-lock`, `saa`, `futures-intrusive` (fair) and
//! `futures-intrusive-unfair`, `maitake-sync`, `futures-util`, and the
//! references `parking_lot` (blocking) and `floor` (one `compare_exchange`
//! and one `store`). `saa` spins inside `poll` before it queues; the report
//! shows the best peer both with and without it.
//!
//! See `benches/README.md` for the commands.

pub mod barrier;
pub mod condition;
pub mod lock;
pub mod report;
pub mod rwlock;
pub mod semaphore;
pub mod signal;

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Waker};

use tokio::runtime::Runtime;

/// Worker threads of the multi-thread runtime the contended groups use:
/// the machine this suite is tuned for has two cores.
pub const WORKERS: usize = 2;

/// Polls `future` once with [`Waker::noop`] and returns its output.
///
/// For the uncontended groups: no runtime, no waker clone, only the
/// primitive's own fast path.
///
/// # Panics
///
/// If the future is not ready on its first poll (the primitive was
/// contended after all).
// `always`: whether LLVM inlines this harness function must not decide a
// contender's time (it declined for some futures and not others, which
// cost those a call and a stack frame per iteration).
#[inline(always)]
#[allow(clippy::inline_always)]
pub fn poll_ready<F: Future>(future: F) -> F::Output {
    let future = pin!(future);
    match future.poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("an uncontended acquire returned Pending"),
    }
}

/// A multi-thread tokio runtime with [`WORKERS`] workers.
///
/// # Panics
///
/// If the runtime cannot be built (no threads).
pub fn multi_thread() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKERS)
        .build()
        .expect("build a multi-thread runtime")
}

/// A current-thread tokio runtime.
///
/// # Panics
///
/// If the runtime cannot be built.
pub fn current_thread() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("build a current-thread runtime")
}

/// About `units` × 1 ns of CPU work the optimizer cannot remove: what a
/// task does while it holds a permit.
#[inline]
pub fn work(units: u32) {
    let mut acc = 0_u32;
    for i in 0..units {
        acc = black_box(acc.wrapping_add(i));
    }
    black_box(acc);
}

/// Spawns `tasks` tasks on `rt`, each running `body(task_index)`, and waits
/// for all of them; returns their outputs in spawn order.
///
/// The bodies start together: each task first yields until all are
/// spawned. Without that start line the first task spawned often finishes
/// before a parked worker wakes for the second, and a "contended" round
/// runs uncontended — a bimodal time whose median means little.
///
/// # Panics
///
/// If a task panics.
pub fn run_tasks<F, Fut>(rt: &Runtime, tasks: usize, body: F) -> Vec<Fut::Output>
where
    F: Fn(usize) -> Fut,
    Fut: Future + Send + 'static,
    Fut::Output: Send + 'static,
{
    let go = Arc::new(AtomicBool::new(false));
    rt.block_on(async {
        let handles: Vec<_> = (0..tasks)
            .map(|i| {
                let (body, go) = (body(i), Arc::clone(&go));
                tokio::spawn(async move {
                    while !go.load(Ordering::Acquire) {
                        tokio::task::yield_now().await;
                    }
                    body.await
                })
            })
            .collect();
        go.store(true, Ordering::Release);
        let mut outputs = Vec::with_capacity(tasks);
        for handle in handles {
            outputs.push(handle.await.expect("benchmark task panicked"));
        }
        outputs
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poll_ready_returns_the_output() {
        assert_eq!(poll_ready(async { 7 }), 7);
    }

    #[test]
    #[should_panic(expected = "Pending")]
    fn poll_ready_refuses_pending() {
        poll_ready(std::future::pending::<()>());
    }

    #[test]
    fn run_tasks_keeps_order() {
        let rt = multi_thread();
        assert_eq!(run_tasks(&rt, 4, |i| async move { i * 2 }), [0, 2, 4, 6]);
    }
}
