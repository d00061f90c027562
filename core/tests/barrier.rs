//! Barrier: generations, indices, leader, action, abort/reset, timeouts,
//! withdrawal on cancel; ports of CPython's `BarrierTests`.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use warden::{Barrier, BrokenBarrierError};

async fn run_parties(barrier: &Arc<Barrier>, n: usize, rounds: usize) -> Vec<Vec<(usize, bool)>> {
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let barrier = barrier.clone();
            tokio::spawn(async move {
                let mut results = Vec::with_capacity(rounds);
                for _ in 0..rounds {
                    let r = barrier.wait().await.expect("barrier broke");
                    results.push((r.index(), r.is_leader()));
                }
                results
            })
        })
        .collect();
    let mut all = Vec::new();
    for h in handles {
        all.push(h.await.unwrap());
    }
    all
}

fn check_generations(results: &[Vec<(usize, bool)>], parties: usize) {
    let rounds = results[0].len();
    for round in 0..rounds {
        let indices: HashSet<usize> = results.iter().map(|r| r[round].0).collect();
        assert_eq!(
            indices,
            (0..parties).collect(),
            "round {round}: distinct indices"
        );
        let leaders = results.iter().filter(|r| r[round].1).count();
        assert_eq!(leaders, 1, "round {round}: exactly one leader");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_generations_of_eight() {
    let trips = Arc::new(AtomicUsize::new(0));
    let barrier = Arc::new(Barrier::with_action(8, {
        let trips = trips.clone();
        move || {
            trips.fetch_add(1, Ordering::SeqCst);
        }
    }));
    let results = run_parties(&barrier, 8, 1000).await;
    check_generations(&results, 8);
    assert_eq!(
        trips.load(Ordering::SeqCst),
        1000,
        "the action ran once per generation"
    );
    assert_eq!(barrier.n_waiting(), 0);
    assert_eq!(barrier.__waiter_records(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn action_runs_before_anyone_is_released() {
    // CPython test_action: every party sees the action's effect.
    let ran = Arc::new(AtomicUsize::new(0));
    let barrier = Arc::new(Barrier::with_action(4, {
        let ran = ran.clone();
        move || {
            ran.fetch_add(1, Ordering::SeqCst);
        }
    }));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let (barrier, ran) = (barrier.clone(), ran.clone());
            tokio::spawn(async move {
                barrier.wait().await.unwrap();
                ran.load(Ordering::SeqCst)
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.await.unwrap(), 1);
    }
}

#[tokio::test]
async fn panicking_action_breaks_the_barrier_and_propagates() {
    let barrier = Arc::new(Barrier::with_action(3, || panic!("action exploded")));
    let others: Vec<_> = (0..2)
        .map(|_| {
            let barrier = barrier.clone();
            tokio::spawn(async move { barrier.wait().await })
        })
        .collect();
    while barrier.n_waiting() < 2 {
        tokio::task::yield_now().await;
    }
    let last = tokio::spawn({
        let barrier = barrier.clone();
        async move { barrier.wait().await }
    });
    let err = last.await.unwrap_err();
    assert!(err.is_panic(), "the action's panic propagates to its party");
    for o in others {
        assert_eq!(o.await.unwrap(), Err(BrokenBarrierError));
    }
    assert!(barrier.is_broken());
    assert_eq!(barrier.wait().await, Err(BrokenBarrierError));
    barrier.reset();
    assert!(!barrier.is_broken());
}

#[tokio::test]
async fn abort_breaks_waiters_and_later_waits_and_twice_is_harmless() {
    // CPython test_abort.
    let barrier = Arc::new(Barrier::new(3));
    let w = tokio::spawn({
        let barrier = barrier.clone();
        async move { barrier.wait().await }
    });
    while barrier.n_waiting() < 1 {
        tokio::task::yield_now().await;
    }
    barrier.abort();
    barrier.abort();
    assert_eq!(w.await.unwrap(), Err(BrokenBarrierError));
    assert!(barrier.is_broken());
    assert_eq!(barrier.wait().await, Err(BrokenBarrierError));
    assert_eq!(barrier.n_waiting(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_while_waiting_breaks_them_then_barrier_is_fresh() {
    // CPython test_reset / test_abort_and_reset.
    let barrier = Arc::new(Barrier::new(3));
    let waiting: Vec<_> = (0..2)
        .map(|_| {
            let barrier = barrier.clone();
            tokio::spawn(async move { barrier.wait().await })
        })
        .collect();
    while barrier.n_waiting() < 2 {
        tokio::task::yield_now().await;
    }
    barrier.reset();
    for w in waiting {
        assert_eq!(w.await.unwrap(), Err(BrokenBarrierError));
    }
    assert!(!barrier.is_broken());
    let results = run_parties(&barrier, 3, 5).await;
    check_generations(&results, 3);
}

#[tokio::test]
async fn wait_timeout_breaks_the_barrier_for_everyone() {
    // CPython test_timeout.
    let barrier = Arc::new(Barrier::new(3));
    let patient = tokio::spawn({
        let barrier = barrier.clone();
        async move { barrier.wait().await }
    });
    while barrier.n_waiting() < 1 {
        tokio::task::yield_now().await;
    }
    assert_eq!(
        barrier.wait_timeout(Duration::from_millis(5)).await,
        Err(BrokenBarrierError)
    );
    assert_eq!(patient.await.unwrap(), Err(BrokenBarrierError));
    assert!(barrier.is_broken());
    assert_eq!(barrier.__waiter_records(), 0);
}

#[tokio::test]
async fn dropped_wait_withdraws_its_arrival() {
    let barrier = Arc::new(Barrier::new(2));
    let r = tokio::time::timeout(Duration::from_millis(5), barrier.wait()).await;
    assert!(r.is_err());
    assert_eq!(barrier.n_waiting(), 0);
    assert!(!barrier.is_broken());
    // The barrier still needs two fresh parties.
    let results = run_parties(&barrier, 2, 3).await;
    check_generations(&results, 2);
    // Abort a task blocked in wait: same.
    let t = tokio::spawn({
        let barrier = barrier.clone();
        async move { barrier.wait().await }
    });
    while barrier.n_waiting() < 1 {
        tokio::task::yield_now().await;
    }
    t.abort();
    assert!(t.await.unwrap_err().is_cancelled());
    assert_eq!(barrier.n_waiting(), 0);
    assert!(!barrier.is_broken());
    assert_eq!(barrier.__waiter_records(), 0);
}

#[tokio::test]
async fn single_party_trips_every_time() {
    // CPython test_single_thread.
    let barrier = Barrier::new(1);
    for _ in 0..10 {
        let r = barrier.wait().await.unwrap();
        assert_eq!((r.index(), r.is_leader()), (0, true));
    }
}

#[test]
#[should_panic(expected = "a barrier needs at least one party")]
fn zero_parties_panics() {
    let _ = Barrier::new(0);
}

#[test]
fn blocking_parties_on_threads_and_timeout() {
    let barrier = Arc::new(Barrier::new(4));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                (0..100)
                    .map(|_| barrier.wait_blocking().unwrap())
                    .map(|r| (r.index(), r.is_leader()))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    check_generations(&results, 4);
    assert_eq!(
        barrier.wait_timeout_blocking(Duration::from_millis(1)),
        Err(BrokenBarrierError)
    );
    assert!(barrier.is_broken());
}

#[test]
fn parties_and_debug() {
    let b = Barrier::new(3);
    assert_eq!(b.parties(), 3);
    let dbg = format!("{b:?}");
    assert!(dbg.contains("parties: 3"), "{dbg}");
}
