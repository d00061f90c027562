//! Barrier: generations, indices, leader, action, abort/reset, timeouts,
//! withdrawal on cancel; ports of CPython's `BarrierTests`.

mod support;

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

#[cfg(feature = "tokio")]
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

// ---------------------------------------------------------------------------
// Generations do not overlap
// ---------------------------------------------------------------------------

/// Generation 1 trips on two threads and its action blocks until the test
/// lets it go. Meanwhile two tasks arrive: they must neither trip the
/// barrier (a second action would run at the same time) nor be released,
/// until the first action has finished; then they form generation 2.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arrivals_during_an_action_wait_for_it_and_form_the_next_generation() {
    let running = Arc::new(AtomicUsize::new(0));
    let most_at_once = Arc::new(AtomicUsize::new(0));
    let actions_done = Arc::new(AtomicUsize::new(0));
    let (gate_tx, gate_rx) = std::sync::mpsc::channel::<()>();
    let gate = Arc::new(std::sync::Mutex::new(gate_rx));
    let barrier = Arc::new(Barrier::with_action(2, {
        let (running, most, done) = (running.clone(), most_at_once.clone(), actions_done.clone());
        move || {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            gate.lock().unwrap().recv_timeout(support::HANG).unwrap(); // until the test says so
            running.fetch_sub(1, Ordering::SeqCst);
            done.fetch_add(1, Ordering::SeqCst);
        }
    }));
    let first_generation: Vec<_> = (0..2)
        .map(|_| {
            let barrier = barrier.clone();
            std::thread::spawn(move || barrier.wait_blocking())
        })
        .collect();
    support::until("the first action running", || {
        running.load(Ordering::SeqCst) == 1
    })
    .await;

    let second_generation: Vec<_> = (0..2)
        .map(|_| {
            let (barrier, done) = (barrier.clone(), actions_done.clone());
            tokio::spawn(async move {
                let r = barrier.wait().await;
                // Released only after the first action finished.
                (r, done.load(Ordering::SeqCst))
            })
        })
        .collect();
    // Generation 1's follower and both newcomers hold records; nobody is
    // counted for the next generation while the action runs.
    support::until("the newcomers queued", || barrier.__waiter_records() == 3).await;
    assert_eq!(barrier.n_waiting(), 0);
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert_eq!(
        running.load(Ordering::SeqCst),
        1,
        "no second action started"
    );
    assert!(second_generation.iter().all(|h| !h.is_finished()));

    gate_tx.send(()).unwrap(); // the first action finishes
    gate_tx.send(()).unwrap(); // and lets the second through when it runs
    for h in first_generation {
        support::until_blocking("the first generation", || h.is_finished());
        h.join().unwrap().unwrap();
    }
    let mut leaders = 0;
    for h in second_generation {
        let (r, done_before) = support::within("the second generation", h).await.unwrap();
        let r = r.expect("the second generation trips normally");
        assert!(
            done_before >= 1,
            "released before the first action finished"
        );
        leaders += usize::from(r.is_leader());
    }
    assert_eq!(leaders, 1);
    assert_eq!(actions_done.load(Ordering::SeqCst), 2);
    assert_eq!(most_at_once.load(Ordering::SeqCst), 1, "actions overlapped");
    assert_eq!(barrier.__waiter_records(), 0);
}

/// The same, with more newcomers than one generation: while the action
/// runs, five parties arrive at a barrier of two; afterwards two
/// generations trip (one action each, never at once) and the fifth waits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crowd_arriving_during_an_action_splits_into_generations() {
    let running = Arc::new(AtomicUsize::new(0));
    let most_at_once = Arc::new(AtomicUsize::new(0));
    let actions = Arc::new(AtomicUsize::new(0));
    let (gate_tx, gate_rx) = std::sync::mpsc::channel::<()>();
    let gate = Arc::new(std::sync::Mutex::new(Some(gate_rx)));
    let barrier = Arc::new(Barrier::with_action(2, {
        let (running, most, actions) = (running.clone(), most_at_once.clone(), actions.clone());
        move || {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            // Only the first action blocks (on the gate, taken once).
            let first = gate.lock().unwrap().take();
            if let Some(rx) = first {
                rx.recv_timeout(support::HANG).unwrap();
            }
            running.fetch_sub(1, Ordering::SeqCst);
            actions.fetch_add(1, Ordering::SeqCst);
        }
    }));
    let first_generation: Vec<_> = (0..2)
        .map(|_| {
            let barrier = barrier.clone();
            std::thread::spawn(move || barrier.wait_blocking())
        })
        .collect();
    support::until("the first action running", || {
        running.load(Ordering::SeqCst) == 1
    })
    .await;
    let crowd: Vec<_> = (0..5)
        .map(|_| {
            let barrier = barrier.clone();
            tokio::spawn(async move { barrier.wait().await })
        })
        .collect();
    support::until("the crowd queued", || barrier.__waiter_records() == 6).await;
    gate_tx.send(()).unwrap();
    for h in first_generation {
        support::until_blocking("the first generation", || h.is_finished());
        h.join().unwrap().unwrap();
    }
    support::until("two more generations", || {
        actions.load(Ordering::SeqCst) == 3
    })
    .await;
    support::until("the fifth waiting alone", || barrier.n_waiting() == 1).await;
    barrier.abort(); // release the fifth, with BrokenBarrierError
    let mut ok = 0;
    let mut broken = 0;
    for h in crowd {
        match support::within("the crowd", h).await.unwrap() {
            Ok(_) => ok += 1,
            Err(BrokenBarrierError) => broken += 1,
        }
    }
    assert_eq!((ok, broken), (4, 1));
    assert_eq!(most_at_once.load(Ordering::SeqCst), 1, "actions overlapped");
    assert_eq!(barrier.__waiter_records(), 0);
}

/// A party that arrived while the action ran and is dropped before the
/// action finishes withdraws (it was never counted); one told to arrive
/// again and dropped before it did, too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deferred_arrival_dropped_withdraws() {
    let (gate_tx, gate_rx) = std::sync::mpsc::channel::<()>();
    let gate = std::sync::Mutex::new(gate_rx);
    let action_started = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let barrier = Arc::new(Barrier::with_action(2, {
        let started = action_started.clone();
        move || {
            started.store(true, Ordering::SeqCst);
            gate.lock().unwrap().recv_timeout(support::HANG).unwrap();
        }
    }));
    let first_generation: Vec<_> = (0..2)
        .map(|_| {
            let barrier = barrier.clone();
            std::thread::spawn(move || barrier.wait_blocking())
        })
        .collect();
    support::until("the action running", || {
        action_started.load(Ordering::SeqCst)
    })
    .await;
    let mut late = support::Probe::new(barrier.wait());
    late.pending();
    let mut later = support::Probe::new(barrier.wait());
    later.pending();
    assert_eq!(barrier.__waiter_records(), 3);
    drop(late); // withdrawn while deferred
    gate_tx.send(()).unwrap();
    for h in first_generation {
        support::until_blocking("the first generation", || h.is_finished());
        h.join().unwrap().unwrap();
    }
    assert_eq!(later.wakes(), 1, "told to arrive again");
    drop(later); // dropped before it arrived again
    assert_eq!(barrier.__waiter_records(), 0);
    assert_eq!(barrier.n_waiting(), 0);
    assert!(!barrier.is_broken());
}
