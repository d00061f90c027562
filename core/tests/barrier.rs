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
#[should_panic(expected = "at most isize::MAX parties")]
fn more_than_isize_max_parties_panics() {
    let _ = Barrier::new(usize::MAX);
}

#[test]
fn isize_max_parties_is_accepted() {
    let barrier = Barrier::new(isize::MAX as usize);
    assert_eq!(barrier.parties(), isize::MAX as usize);
    assert_eq!(barrier.n_waiting(), 0);
}

#[tokio::test]
async fn wait_result_debug_shows_index_and_leader() {
    let r = Barrier::new(1).wait().await.unwrap();
    assert_eq!(
        format!("{r:?}"),
        "BarrierWaitResult { index: 0, leader: true }"
    );
}

/// More parties than a generation releases without allocating (17): the
/// wake handles spill to the heap, with and without an action.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forty_parties_with_and_without_an_action() {
    for with_action in [false, true] {
        let trips = Arc::new(AtomicUsize::new(0));
        let barrier = Arc::new(if with_action {
            let trips = trips.clone();
            Barrier::with_action(40, move || {
                trips.fetch_add(1, Ordering::SeqCst);
            })
        } else {
            Barrier::new(40)
        });
        let results = run_parties(&barrier, 40, 30).await;
        check_generations(&results, 40);
        assert_eq!(
            trips.load(Ordering::SeqCst),
            if with_action { 30 } else { 0 }
        );
        assert_eq!(barrier.n_waiting(), 0);
        assert_eq!(barrier.__waiter_records(), 0);
    }
}

/// A party whose future is dropped while the action runs still counts in
/// that generation (it was decided); the leader frees its record after the
/// action, whether the action returns or panics.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_dropped_while_the_action_runs() {
    for panics in [false, true] {
        let (started_tx, started_rx) = std::sync::mpsc::channel::<()>();
        let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
        let go_rx = std::sync::Mutex::new(go_rx);
        let started_tx = std::sync::Mutex::new(started_tx);
        let barrier = Arc::new(Barrier::with_action(3, move || {
            started_tx.lock().unwrap().send(()).unwrap();
            go_rx.lock().unwrap().recv().unwrap();
            assert!(!panics, "the action panics");
        }));
        let kept = tokio::spawn({
            let barrier = barrier.clone();
            async move { barrier.wait().await }
        });
        let dropped = tokio::spawn({
            let barrier = barrier.clone();
            async move { barrier.wait().await }
        });
        while barrier.n_waiting() < 2 {
            tokio::task::yield_now().await;
        }
        // The leader runs the (blocking) action on a thread of its own.
        let leader = std::thread::spawn({
            let barrier = barrier.clone();
            move || barrier.wait_blocking()
        });
        tokio::task::spawn_blocking(move || started_rx.recv().unwrap())
            .await
            .unwrap();
        assert_eq!(barrier.n_waiting(), 0, "the generation is decided");
        dropped.abort();
        assert!(dropped.await.unwrap_err().is_cancelled());
        assert_eq!(barrier.__waiter_records(), 2, "freed only after the action");
        go_tx.send(()).unwrap();
        let leader = tokio::task::spawn_blocking(move || leader.join())
            .await
            .unwrap();
        let kept = kept.await.unwrap();
        if panics {
            assert!(leader.is_err(), "the action's panic reached the leader");
            assert_eq!(kept, Err(BrokenBarrierError));
            assert!(barrier.is_broken());
        } else {
            let leader = leader.unwrap().unwrap();
            assert_eq!((leader.index(), leader.is_leader()), (2, true));
            let kept = kept.unwrap();
            assert!(kept.index() < 2 && !kept.is_leader());
            assert!(!barrier.is_broken());
        }
        assert_eq!(barrier.n_waiting(), 0);
        assert_eq!(barrier.__waiter_records(), 0);
    }
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
    assert!(dbg.contains("n_waiting: 0"), "{dbg}");
    assert!(dbg.contains("broken: false"), "{dbg}");
}
