//! `Lock<T>`: hand-polled readiness, FIFO hand-off, cancel safety at every
//! await point, `Debug`, and the data-owning surface (`get_mut`, unsized
//! data, owned guards). CPython ports live in `cpython_lock_tests.rs`,
//! blocking twins in `blocking.rs`.

mod support;

use std::fmt::Debug;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use support::{Probe, Rng, counting_waker, until, within};
use tokio::time::timeout;
use warden::{Lock, LockGuard, OwnedLockGuard};

// ---------------------------------------------------------------------------
// The surface
// ---------------------------------------------------------------------------

#[test]
fn new_is_const_and_unlocked() {
    static COUNTER: Lock<u64> = Lock::new(7);
    assert!(!COUNTER.locked());
    let mut g = COUNTER.try_acquire().expect("free");
    assert!(COUNTER.locked());
    *g += 1;
    drop(g);
    assert!(!COUNTER.locked());
    assert_eq!(*COUNTER.try_acquire().unwrap(), 8);
}

#[test]
fn default_from_get_mut_into_inner() {
    let mut lock: Lock<Vec<i32>> = Lock::default();
    lock.get_mut().push(1);
    assert_eq!(lock.into_inner(), vec![1]);

    let lock = Lock::from(String::from("x"));
    lock.try_acquire().unwrap().push('y');
    assert_eq!(lock.into_inner(), "xy");

    let unit: Lock = Lock::new(());
    assert!(unit.try_acquire().is_some());
}

#[test]
fn try_acquire_fails_while_held_and_succeeds_after() {
    let lock = Lock::new(0);
    let g = lock.try_acquire().unwrap();
    assert!(lock.try_acquire().is_none());
    assert!(lock.locked());
    drop(g);
    assert!(!lock.locked());
    assert!(lock.try_acquire().is_some());
    assert_eq!(lock.__waiter_records(), 0);
}

#[test]
fn guard_source_and_owned_guard_source() {
    let lock = Lock::new(1);
    let g = lock.try_acquire().unwrap();
    assert!(std::ptr::eq(
        LockGuard::source(&g),
        std::ptr::from_ref(&lock)
    ));
    drop(g);

    let lock = Arc::new(Lock::new(1));
    let g = lock.clone().try_acquire_owned().unwrap();
    assert!(Arc::ptr_eq(OwnedLockGuard::source(&g), &lock));
    assert!(lock.clone().try_acquire_owned().is_none());
    drop(g);
    assert!(lock.clone().try_acquire_owned().is_some());
}

#[test]
fn unsized_data_through_coercion() {
    let lock: Box<Lock<[i32]>> = Box::new(Lock::new([1, 2, 3]));
    lock.try_acquire().unwrap()[0] = 10;
    assert_eq!(&*lock.try_acquire().unwrap(), &[10, 2, 3]);

    let dynamic: Arc<Lock<dyn Debug + Send>> = Arc::new(Lock::new(5_u8));
    assert_eq!(format!("{dynamic:?}"), "Lock { data: 5, .. }");
    let g = dynamic.clone().try_acquire_owned().unwrap();
    assert_eq!(format!("{g:?}"), "5");
    assert_eq!(format!("{dynamic:?}"), "Lock { data: <locked>, .. }");
}

#[test]
fn guards_forward_debug_and_display() {
    let lock = Arc::new(Lock::new(String::from("hi")));
    let g = lock.try_acquire().unwrap();
    assert_eq!(format!("{g}"), "hi");
    assert_eq!(format!("{g:?}"), "\"hi\"");
    drop(g);
    let g = lock.clone().try_acquire_owned().unwrap();
    assert_eq!(format!("{g} {g:?}"), "hi \"hi\"");
}

// ---------------------------------------------------------------------------
// Debug never blocks
// ---------------------------------------------------------------------------

#[test]
fn debug_shows_data_when_free_and_locked_when_held() {
    let lock = Lock::new(vec![1, 2]);
    assert_eq!(format!("{lock:?}"), "Lock { data: [1, 2], .. }");
    let g = lock.try_acquire().unwrap();
    assert_eq!(format!("{lock:?}"), "Lock { data: <locked>, .. }");
    drop(g);
    assert!(format!("{lock:#?}").contains("data: ["));
    assert!(!lock.locked(), "Debug leaves the lock free");
}

#[test]
fn debug_with_queued_waiters_does_not_disturb_them() {
    let lock = Lock::new(3);
    let held = lock.try_acquire().unwrap();
    let mut w = Probe::new(lock.acquire());
    w.pending();
    assert_eq!(format!("{lock:?}"), "Lock { data: <locked>, .. }");
    assert_eq!(w.wakes(), 0);
    assert_eq!(lock.__waiter_records(), 1);
    let f = format!("{:?}", lock.acquire());
    assert!(f.starts_with("LockAcquire"), "{f}");
    drop(held);
    assert_eq!(w.wakes(), 1);
    assert_eq!(*w.ready(), 3);
}

#[test]
fn debug_does_not_block_while_another_thread_holds_the_lock() {
    let lock = Arc::new(Lock::new(0));
    let (hold_tx, hold_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let holder = std::thread::spawn({
        let lock = lock.clone();
        move || {
            let _g = lock.acquire_blocking();
            hold_tx.send(()).unwrap();
            release_rx.recv().unwrap();
        }
    });
    hold_rx.recv().unwrap();
    // Would deadlock if Debug waited for the lock.
    assert_eq!(format!("{lock:?}"), "Lock { data: <locked>, .. }");
    release_tx.send(()).unwrap();
    holder.join().unwrap();
    assert_eq!(format!("{lock:?}"), "Lock { data: 0, .. }");
}

// ---------------------------------------------------------------------------
// Readiness, polled by hand
// ---------------------------------------------------------------------------

#[test]
fn uncontended_acquire_is_ready_on_first_poll() {
    let lock = Lock::new(1);
    let mut a = Probe::new(lock.acquire());
    let g = a.ready();
    assert_eq!(*g, 1);
    assert_eq!(
        lock.__waiter_records(),
        0,
        "the fast path allocates nothing"
    );
}

#[test]
fn contended_acquire_is_pending_until_release_then_ready() {
    let lock = Lock::new(0);
    let held = lock.try_acquire().unwrap();
    let mut w = Probe::new(lock.acquire());
    w.pending();
    w.pending(); // polling again neither completes nor wakes itself
    assert_eq!(w.wakes(), 0);
    assert_eq!(lock.__waiter_records(), 1);

    drop(held);
    assert_eq!(w.wakes(), 1, "release wakes the waiter exactly once");
    assert!(
        !lock.locked(),
        "the lock was freed for the woken waiter, not handed over"
    );

    let mut g = w.ready();
    *g += 1;
    assert_eq!(lock.__waiter_records(), 0);
    drop(g);
    assert!(!lock.locked());
    assert_eq!(*lock.try_acquire().unwrap(), 1);
}

#[test]
fn the_latest_waker_is_the_one_woken() {
    let lock = Lock::new(());
    let held = lock.try_acquire().unwrap();
    let mut w = Probe::new(lock.acquire());
    w.pending();
    let (other, other_count) = counting_waker();
    assert!(w.poll_with(&other).is_pending());
    drop(held);
    assert_eq!(other_count.count(), 1);
    assert_eq!(w.wakes(), 0, "the stale waker is not woken");
    drop(w.ready());
}

#[test]
fn waiters_are_served_first_come_first_served() {
    let lock = Lock::new(Vec::new());
    let held = lock.try_acquire().unwrap();
    let mut ws: Vec<_> = (0..4).map(|_| Probe::new(lock.acquire())).collect();
    for w in &mut ws {
        w.pending();
    }
    assert_eq!(lock.__waiter_records(), 4);
    drop(held);
    for i in 0..4 {
        for (j, w) in ws.iter().enumerate() {
            let expect = usize::from(j <= i);
            assert_eq!(w.wakes(), expect, "after {i} hand-offs, waiter {j}");
        }
        // Later waiters stay pending even when polled.
        for w in &mut ws[i + 1..] {
            w.pending();
        }
        let mut g = ws[i].ready();
        g.push(i);
        drop(g); // hands the lock to waiter i + 1
    }
    assert!(!lock.locked());
    assert_eq!(lock.__waiter_records(), 0);
    assert_eq!(*lock.try_acquire().unwrap(), vec![0, 1, 2, 3]);
}

#[test]
fn a_newcomer_may_take_a_freed_lock_but_then_the_overtaken_waiter_is_handed_it() {
    let lock = Lock::new(Vec::new());
    let held = lock.try_acquire().unwrap();
    let mut first = Probe::new(lock.acquire());
    first.pending();
    drop(held); // frees the lock and wakes `first`, which has not run yet
    assert_eq!(first.wakes(), 1);

    // Barging: the running task takes the free lock before `first` runs.
    let mut barger = lock.try_acquire().expect("a freed lock can be taken");
    barger.push("barger");
    first.pending(); // `first` runs, finds it taken: overtaken once
    let mut late = Probe::new(lock.acquire());
    late.pending(); // a newcomer finding it held queues behind `first`
    drop(barger); // frees the lock again and wakes `first` again

    // Up to the bound, running tasks may do the same; the release that
    // ends the last overtake hands the lock over.
    for overtake in 2..=OVERTAKES {
        assert!(
            !lock.locked(),
            "free after overtake {} of {OVERTAKES}",
            overtake - 1
        );
        let barger = lock.try_acquire().expect("within the bound");
        first.pending(); // runs, finds it taken
        drop(barger);
    }
    assert_eq!(first.wakes(), OVERTAKES + 1, "woken at each release");
    assert!(
        lock.locked(),
        "an overtaken waiter is handed the lock directly"
    );
    assert!(lock.try_acquire().is_none(), "so nobody can barge again");
    let mut l = Probe::new(lock.acquire());
    l.pending();
    drop(l);
    first.ready().push("first");

    // `late` was woken, not handed the lock: it is free until `late` runs.
    assert_eq!(late.wakes(), 1);
    assert!(!lock.locked());
    late.ready().push("late");
    assert!(!lock.locked());
    assert_eq!(lock.__waiter_records(), 0);
    assert_eq!(*lock.try_acquire().unwrap(), ["barger", "first", "late"]);
}

#[test]
fn a_woken_waiter_that_finds_the_lock_free_takes_it_even_if_it_was_overtaken_before() {
    let lock = Lock::new(());
    let held = lock.try_acquire().unwrap();
    let mut w = Probe::new(lock.acquire());
    w.pending();
    drop(held);
    drop(lock.try_acquire().unwrap()); // barge and release before `w` runs
    assert_eq!(w.wakes(), 1, "one wake-up while it is on its way");
    drop(w.ready());
    assert!(!lock.locked());
    assert_eq!(lock.__waiter_records(), 0);
}

#[test]
fn only_the_first_waiter_may_take_a_freed_lock() {
    let lock = Lock::new(());
    let held = lock.try_acquire().unwrap();
    let mut a = Probe::new(lock.acquire());
    let mut b = Probe::new(lock.acquire());
    a.pending();
    b.pending();
    drop(held);
    assert_eq!((a.wakes(), b.wakes()), (1, 0));
    b.pending(); // polled without a wake-up: waits its turn
    assert!(!lock.locked());
    let g = a.ready();
    b.pending();
    drop(g);
    assert_eq!(b.wakes(), 1);
    drop(b.ready());
    assert_eq!(lock.__waiter_records(), 0);
}

#[test]
fn owned_acquire_readiness() {
    let lock = Arc::new(Lock::new(0));
    let held = lock.clone().try_acquire_owned().unwrap();
    let mut w = Probe::new(lock.clone().acquire_owned());
    w.pending();
    assert_eq!(lock.__waiter_records(), 1);
    drop(held);
    assert_eq!(w.wakes(), 1);
    let mut g = w.ready();
    *g = 5;
    drop(g);
    assert_eq!(*lock.try_acquire().unwrap(), 5);
    assert_eq!(lock.__waiter_records(), 0);
}

// ---------------------------------------------------------------------------
// Cancel safety, polled by hand: drop at every await point
// ---------------------------------------------------------------------------

#[test]
fn dropping_an_unpolled_future_changes_nothing() {
    let lock = Lock::new(());
    let fut = lock.acquire();
    drop(fut);
    assert!(!lock.locked());
    let held = lock.try_acquire().unwrap();
    drop(lock.acquire());
    assert!(lock.locked());
    assert_eq!(lock.__waiter_records(), 0);
    drop(held);
    assert!(!lock.locked());
}

#[test]
fn dropping_a_queued_waiter_withdraws_it() {
    let lock = Lock::new(());
    let held = lock.try_acquire().unwrap();
    let mut w = Probe::new(lock.acquire());
    w.pending();
    drop(w);
    assert_eq!(lock.__waiter_records(), 0);
    assert!(lock.locked(), "still held by `held`");
    drop(held);
    assert!(!lock.locked(), "not handed to the dropped waiter");
    assert!(lock.try_acquire().is_some());
}

#[test]
fn dropping_a_waiter_in_the_middle_keeps_the_order() {
    let lock = Lock::new(Vec::new());
    let held = lock.try_acquire().unwrap();
    let mut a = Probe::new(lock.acquire());
    let mut b = Probe::new(lock.acquire());
    let mut c = Probe::new(lock.acquire());
    a.pending();
    b.pending();
    c.pending();
    drop(b);
    assert_eq!(lock.__waiter_records(), 2);
    drop(held);
    assert_eq!((a.wakes(), c.wakes()), (1, 0));
    a.ready().push('a');
    assert_eq!(c.wakes(), 1);
    c.ready().push('c');
    assert_eq!(lock.__waiter_records(), 0);
    assert_eq!(*lock.try_acquire().unwrap(), vec!['a', 'c']);
}

#[test]
fn dropping_a_woken_waiter_passes_its_wake_up_to_the_next() {
    let lock = Lock::new(0);
    let held = lock.try_acquire().unwrap();
    let mut a = Probe::new(lock.acquire());
    let mut b = Probe::new(lock.acquire());
    a.pending();
    b.pending();
    drop(held);
    assert_eq!((a.wakes(), b.wakes()), (1, 0));
    drop(a); // woken to take the free lock, never polled again
    assert_eq!(b.wakes(), 1, "the wake-up moved on to b");
    assert!(!lock.locked());
    *b.ready() += 1;
    assert!(!lock.locked());
    assert_eq!(lock.__waiter_records(), 0);
    assert_eq!(*lock.try_acquire().unwrap(), 1);
}

/// Overtakes the woken `waiter` as often as the bound allows, letting it
/// run (and find the lock taken) each time: every release but the last
/// frees the lock and wakes it again; the last hands the lock to it.
fn overtake_until_handed<T, F: Future>(lock: &Lock<T>, waiter: &mut Probe<F>) {
    for overtake in 1..=OVERTAKES {
        let barger = lock.try_acquire().expect("a woken waiter may be overtaken");
        waiter.pending(); // runs, finds the lock taken
        drop(barger);
        assert_eq!(
            lock.locked(),
            overtake == OVERTAKES,
            "handed over at overtake {OVERTAKES}, not {overtake}"
        );
    }
}

#[test]
fn dropping_a_handed_over_waiter_passes_the_lock_to_the_next() {
    let lock = Lock::new(0);
    let held = lock.try_acquire().unwrap();
    let mut a = Probe::new(lock.acquire());
    let mut b = Probe::new(lock.acquire());
    a.pending();
    b.pending();
    drop(held);
    overtake_until_handed(&lock, &mut a);
    drop(a); // handed the lock, never polled again
    assert_eq!(b.wakes(), 1, "the lock moved on to b");
    assert!(!lock.locked(), "freed for b (b was never overtaken)");
    *b.ready() += 1;
    assert_eq!(lock.__waiter_records(), 0);
    assert_eq!(*lock.try_acquire().unwrap(), 1);
}

#[test]
fn dropping_the_last_waiter_frees_the_lock_whether_woken_or_handed_it() {
    let lock = Lock::new(());
    let held = lock.try_acquire().unwrap();
    let mut a = Probe::new(lock.acquire());
    a.pending();
    drop(held);
    assert!(!lock.locked());
    drop(a); // woken
    assert!(!lock.locked());
    assert_eq!(lock.__waiter_records(), 0);

    let held = lock.try_acquire().unwrap();
    let mut a = Probe::new(lock.acquire());
    a.pending();
    drop(held);
    overtake_until_handed(&lock, &mut a);
    drop(a); // handed the lock
    assert!(!lock.locked());
    assert_eq!(lock.__waiter_records(), 0);
    assert!(lock.try_acquire().is_some());
}

#[test]
fn dropping_owned_acquires_queued_and_granted() {
    let lock = Arc::new(Lock::new(0));
    let held = lock.clone().try_acquire_owned().unwrap();
    let mut a = Probe::new(lock.clone().acquire_owned());
    let mut b = Probe::new(lock.clone().acquire_owned());
    let mut c = Probe::new(lock.clone().acquire_owned());
    a.pending();
    b.pending();
    c.pending();
    drop(b); // queued
    drop(held);
    drop(a); // granted
    assert_eq!(c.wakes(), 1);
    *c.ready() += 1;
    assert!(!lock.locked());
    assert_eq!(lock.__waiter_records(), 0);
    assert_eq!(
        Arc::strong_count(&lock),
        1,
        "dropped futures release their Arc"
    );
}

#[test]
fn a_completed_future_dropped_later_does_not_release_twice() {
    let lock = Lock::new(());
    let mut a = Probe::new(lock.acquire());
    let g = a.ready();
    drop(a);
    assert!(
        lock.locked(),
        "dropping the finished future keeps the guard's hold"
    );
    drop(g);
    assert!(!lock.locked());
}

#[test]
#[should_panic(expected = "polled after it returned its guard")]
fn polling_after_completion_panics() {
    let lock = Lock::new(());
    let mut a = Probe::new(lock.acquire());
    let _g = a.ready();
    let _ = a.poll();
}

#[test]
#[should_panic(expected = "LockAcquireOwned polled after it returned its guard")]
fn polling_an_owned_acquire_after_completion_panics() {
    let lock = Arc::new(Lock::new(()));
    let mut a = Probe::new(lock.acquire_owned());
    let _g = a.ready();
    let _ = a.poll();
}

// ---------------------------------------------------------------------------
// Cancel safety under a runtime: timeout, select!, abort
// ---------------------------------------------------------------------------

#[tokio::test]
async fn zero_timeout_on_a_free_lock_succeeds() {
    // tokio polls the inner future before the deadline: a free lock is
    // taken even with a zero timeout (Python: acquire(timeout=0) -> True).
    let lock = Lock::new(1);
    let g = timeout(Duration::ZERO, lock.acquire()).await.expect("free");
    assert_eq!(*g, 1);
}

#[tokio::test]
async fn zero_timeout_on_a_held_lock_fails_and_leaves_nothing_behind() {
    let lock = Lock::new(());
    let held = lock.acquire().await;
    for _ in 0..10 {
        assert!(timeout(Duration::ZERO, lock.acquire()).await.is_err());
    }
    assert_eq!(lock.__waiter_records(), 0);
    drop(held);
    assert!(!lock.locked());
}

#[tokio::test(start_paused = true)]
async fn tiny_timeouts_on_a_held_lock_leave_nothing_behind() {
    let lock = Lock::new(());
    let held = lock.acquire().await;
    for micros in [1, 10, 100, 1000] {
        let r = timeout(Duration::from_micros(micros), lock.acquire()).await;
        assert!(r.is_err());
        assert_eq!(lock.__waiter_records(), 0);
    }
    drop(held);
    assert!(lock.try_acquire().is_some());
}

#[tokio::test(start_paused = true)]
async fn timeout_while_queued_behind_others_keeps_their_order() {
    let lock = Arc::new(Lock::new(Vec::new()));
    let held = lock.acquire().await;
    let first = tokio::spawn({
        let lock = lock.clone();
        async move { lock.acquire().await.push(1) }
    });
    until("first queued", || lock.__waiter_records() == 1).await;
    // A second caller gives up while queued behind `first`.
    assert!(
        timeout(Duration::from_millis(50), lock.acquire())
            .await
            .is_err()
    );
    assert_eq!(lock.__waiter_records(), 1);
    let third = tokio::spawn({
        let lock = lock.clone();
        async move { lock.acquire().await.push(3) }
    });
    until("third queued", || lock.__waiter_records() == 2).await;
    drop(held);
    within("first", first).await.unwrap();
    within("third", third).await.unwrap();
    assert_eq!(*lock.acquire().await, vec![1, 3]);
    assert_eq!(lock.__waiter_records(), 0);
}

#[tokio::test]
async fn select_dropping_a_queued_acquire() {
    let lock = Lock::new(());
    let held = lock.acquire().await;
    let mut polls = 0;
    tokio::select! {
        biased;
        _ = lock.acquire() => panic!("the lock is held"),
        () = async { polls += 1; tokio::task::yield_now().await } => {}
    }
    assert_eq!(polls, 1);
    assert_eq!(lock.__waiter_records(), 0);
    drop(held);
    assert!(!lock.locked());
}

#[tokio::test]
async fn select_dropping_a_granted_acquire_passes_the_lock_on() {
    // The lock is handed to the select's acquire while the other branch,
    // polled later in the same pass, completes: the granted acquire is
    // dropped and must hand the lock to the next waiter.
    let lock = Arc::new(Lock::new(0));
    let held = lock.clone().acquire_owned().await;
    let next = tokio::spawn({
        let lock = lock.clone();
        async move { *lock.acquire().await += 10 }
    });
    let mut held = Some(held);
    let mut queued_next = false;
    let got = tokio::select! {
        biased;
        _g = lock.acquire() => true,
        () = async {
            // Let `next` queue behind us, then release: our acquire is
            // granted but this branch finishes first in this poll.
            tokio::task::yield_now().await;
            until("next queued", || lock.__waiter_records() == 2).await;
            queued_next = true;
            drop(held.take());
        } => false,
    };
    assert!(queued_next);
    assert!(!got, "the release happens inside the winning branch");
    within("next", next).await.unwrap();
    assert_eq!(*lock.acquire().await, 10);
    assert_eq!(lock.__waiter_records(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aborting_tasks_blocked_in_acquire() {
    let lock = Arc::new(Lock::new(0));
    let held = lock.acquire().await;
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let lock = lock.clone();
            tokio::spawn(async move { *lock.acquire().await += 1 })
        })
        .collect();
    until("six waiters", || lock.__waiter_records() == 6).await;
    let mut kept = Vec::new();
    for (i, t) in tasks.into_iter().enumerate() {
        if i % 2 == 0 {
            t.abort();
            assert!(t.await.unwrap_err().is_cancelled());
        } else {
            kept.push(t);
        }
    }
    assert_eq!(lock.__waiter_records(), 3);
    drop(held);
    for t in kept {
        within("a kept task", t).await.unwrap();
    }
    assert_eq!(*lock.acquire().await, 3);
    assert!(!lock.locked());
    assert_eq!(lock.__waiter_records(), 0);
}

#[tokio::test]
async fn aborting_a_task_woken_for_the_lock_before_it_ran() {
    // On a current-thread runtime nothing runs until we yield, so the
    // abort lands between the release and the woken task's next poll.
    let lock = Arc::new(Lock::new(Vec::new()));
    let held = lock.clone().acquire_owned().await;
    let spawn = |tag: char| {
        let lock = lock.clone();
        tokio::spawn(async move { lock.acquire().await.push(tag) })
    };
    let a = spawn('a');
    let b = spawn('b');
    until("both queued", || lock.__waiter_records() == 2).await;
    drop(held); // frees the lock and wakes `a` to take it ...
    a.abort(); // ... which is cancelled before it can run
    assert!(a.await.unwrap_err().is_cancelled());
    within("b", b).await.unwrap();
    assert_eq!(*lock.acquire().await, vec!['b']);
    assert_eq!(lock.__waiter_records(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_and_select_stress_leave_the_lock_consistent() {
    const TASKS: u64 = 8;
    const ROUNDS: usize = 300;
    let lock = Arc::new(Lock::new(0_usize));
    let wins = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..TASKS)
        .map(|seed| {
            let (lock, wins) = (lock.clone(), wins.clone());
            tokio::spawn(async move {
                let mut rng = Rng::new(seed);
                for _ in 0..ROUNDS {
                    let d = rng.micros(40);
                    let guard = match rng.below(3) {
                        0 => timeout(d, lock.acquire()).await.ok(),
                        1 => tokio::select! {
                            g = lock.acquire() => Some(g),
                            () = tokio::task::yield_now() => None,
                        },
                        _ => Some(lock.acquire().await),
                    };
                    if let Some(mut g) = guard {
                        let v = *g;
                        if rng.below(2) == 0 {
                            tokio::task::yield_now().await;
                        }
                        *g = v + 1;
                        wins.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert!(!lock.locked());
    assert_eq!(lock.__waiter_records(), 0);
    assert_eq!(*lock.acquire().await, wins.load(Ordering::Relaxed));
}

// ---------------------------------------------------------------------------
// Guards across tasks, panics, many tasks
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guard_held_across_await_in_spawned_tasks_keeps_mutual_exclusion() {
    let lock = Arc::new(Lock::new(0_u64));
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let lock = lock.clone();
            tokio::spawn(async move {
                for _ in 0..200 {
                    let mut g = lock.acquire().await;
                    let v = *g;
                    tokio::task::yield_now().await; // lost updates would show
                    *g = v + 1;
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(*lock.acquire().await, 16 * 200);
    assert_eq!(lock.__waiter_records(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owned_guard_moves_to_another_task_and_releases_there() {
    let lock = Arc::new(Lock::new(String::new()));
    let mut g = lock.clone().acquire_owned().await;
    g.push_str("main ");
    let waiter = tokio::spawn({
        let lock = lock.clone();
        async move { lock.acquire().await.push_str("waiter") }
    });
    until("waiter queued", || lock.__waiter_records() == 1).await;
    tokio::spawn(async move {
        tokio::task::yield_now().await;
        g.push_str("elsewhere ");
        // dropped here, on another task
    })
    .await
    .unwrap();
    within("waiter", waiter).await.unwrap();
    assert_eq!(*lock.acquire().await, "main elsewhere waiter");
}

#[tokio::test]
async fn a_panic_while_holding_the_guard_releases_it_without_poisoning() {
    let lock = Arc::new(Lock::new(vec![1]));
    let waiter = {
        let held = lock.clone().acquire_owned().await;
        let waiter = tokio::spawn({
            let lock = lock.clone();
            async move { lock.acquire().await.push(3) }
        });
        until("waiter queued", || lock.__waiter_records() == 1).await;
        let crash = tokio::spawn(async move {
            let mut held = held;
            held.push(2);
            panic!("boom while holding the lock");
        });
        assert!(crash.await.unwrap_err().is_panic());
        waiter
    };
    within("waiter", waiter).await.unwrap();
    assert_eq!(*lock.acquire().await, vec![1, 2, 3]);
    assert!(!lock.locked());
}

#[test]
fn a_panic_on_a_thread_releases_the_guard() {
    let lock = Arc::new(Lock::new(0));
    let r = std::thread::spawn({
        let lock = lock.clone();
        move || {
            let mut g = lock.acquire_blocking();
            *g += 1;
            panic!("boom");
        }
    })
    .join();
    assert!(r.is_err());
    assert_eq!(*lock.try_acquire().expect("released by unwinding"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn threads_and_tasks_share_one_lock() {
    let lock = Arc::new(Lock::new(0_u64));
    let threads: Vec<_> = (0..3)
        .map(|_| {
            let lock = lock.clone();
            std::thread::spawn(move || {
                for _ in 0..300 {
                    let mut g = lock.acquire_blocking();
                    let v = *g;
                    std::thread::yield_now();
                    *g = v + 1;
                }
            })
        })
        .collect();
    let tasks: Vec<_> = (0..3)
        .map(|_| {
            let lock = lock.clone();
            tokio::spawn(async move {
                for _ in 0..300 {
                    let mut g = lock.acquire().await;
                    let v = *g;
                    tokio::task::yield_now().await;
                    *g = v + 1;
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(*lock.acquire().await, 6 * 300);
    assert_eq!(lock.__waiter_records(), 0);
}

// ---------------------------------------------------------------------------
// No waiter starves, also when the releasing task never yields
// ---------------------------------------------------------------------------

/// How often the first waiter may be overtaken before the lock is handed to
/// it (`Lock`'s Fairness: the bound, 32).
const OVERTAKES: usize = Lock::<()>::__MAX_OVERTAKES;

/// How a looping task takes the lock again after releasing it.
#[derive(Clone, Copy, Debug)]
enum Barge {
    Acquire,
    AcquireOwned,
    TryAcquire,
}

/// A task holds the lock, a spawned waiter queues behind it; then the task
/// releases and re-acquires in a loop that never yields while it gets the
/// lock at once. The waiter must be let in within `OVERTAKES + 1` laps
/// (the loop fails at `100 * OVERTAKES` laps instead of hanging).
async fn looping_releaser_lets_the_waiter_in(how: Barge) {
    let lock = Arc::new(Lock::new(()));
    let got_in = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let first = lock.acquire().await;
    let waiter = tokio::spawn({
        let (lock, got_in) = (lock.clone(), got_in.clone());
        async move {
            let _guard = lock.acquire().await;
            got_in.store(true, Ordering::SeqCst);
        }
    });
    until("the waiter queued", || lock.__waiter_records() == 1).await;
    drop(first);
    // Laps: times this task got the lock before the waiter did (a refused
    // `try_acquire` is not a lap: the task yields and asks again).
    let mut laps = 0;
    let started = std::time::Instant::now();
    while !got_in.load(Ordering::SeqCst) {
        let got = match how {
            Barge::Acquire => {
                drop(lock.acquire().await);
                true
            }
            Barge::AcquireOwned => {
                drop(lock.clone().acquire_owned().await);
                true
            }
            Barge::TryAcquire => {
                if let Some(guard) = lock.try_acquire() {
                    drop(guard);
                    true
                } else {
                    // Handed to the waiter: only now does this task yield.
                    assert!(started.elapsed() < support::HANG, "hung");
                    tokio::task::yield_now().await;
                    false
                }
            }
        };
        laps += usize::from(got);
        assert!(
            laps <= 100 * OVERTAKES,
            "{how:?}: the waiter is still waiting after {laps} laps"
        );
    }
    assert!(
        laps <= OVERTAKES + 1,
        "{how:?}: the waiter got in after {laps} laps, more than {}",
        OVERTAKES + 1
    );
    waiter.await.unwrap();
    assert!(!lock.locked());
    assert_eq!(lock.__waiter_records(), 0);
}

#[tokio::test(flavor = "current_thread")]
async fn a_looping_acquire_lets_the_waiter_in_current_thread() {
    looping_releaser_lets_the_waiter_in(Barge::Acquire).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_looping_acquire_lets_the_waiter_in_multi_thread() {
    looping_releaser_lets_the_waiter_in(Barge::Acquire).await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_looping_acquire_owned_lets_the_waiter_in_current_thread() {
    looping_releaser_lets_the_waiter_in(Barge::AcquireOwned).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_looping_acquire_owned_lets_the_waiter_in_multi_thread() {
    looping_releaser_lets_the_waiter_in(Barge::AcquireOwned).await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_looping_try_acquire_fails_once_the_waiter_is_due_current_thread() {
    looping_releaser_lets_the_waiter_in(Barge::TryAcquire).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_looping_try_acquire_fails_once_the_waiter_is_due_multi_thread() {
    looping_releaser_lets_the_waiter_in(Barge::TryAcquire).await;
}

/// The same with the blocking twin looping on a plain thread, while the
/// waiter is a task.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_looping_acquire_blocking_lets_the_waiter_in() {
    let lock = Arc::new(Lock::new(()));
    let got_in = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let first = lock.clone().acquire_owned().await;
    let waiter = tokio::spawn({
        let (lock, got_in) = (lock.clone(), got_in.clone());
        async move {
            let _guard = lock.acquire().await;
            got_in.store(true, Ordering::SeqCst);
        }
    });
    until("the waiter queued", || lock.__waiter_records() == 1).await;
    let looper = std::thread::spawn({
        let (lock, got_in) = (lock.clone(), got_in.clone());
        move || {
            drop(first);
            let mut laps = 0;
            while !got_in.load(Ordering::SeqCst) {
                laps += 1;
                assert!(laps <= 100 * OVERTAKES, "still waiting after {laps} laps");
                drop(lock.acquire_blocking());
            }
            laps
        }
    });
    waiter.await.unwrap();
    until("the looping thread", || looper.is_finished()).await;
    let laps = looper.join().unwrap();
    assert!(laps <= OVERTAKES + 1, "the waiter got in after {laps} laps");
    assert_eq!(lock.__waiter_records(), 0);
}

#[test]
fn the_release_after_the_last_allowed_overtake_hands_over_even_if_the_waiter_never_ran() {
    let lock = Lock::new(());
    let held = lock.try_acquire().unwrap();
    let mut waiter = Probe::new(lock.acquire());
    waiter.pending();
    drop(held); // frees the lock and wakes `waiter`, which does not run yet
    for overtake in 1..OVERTAKES {
        drop(lock.try_acquire().expect("an overtake within the bound"));
        assert!(
            !lock.locked(),
            "freed after overtake {overtake} of {OVERTAKES}"
        );
    }
    let barger = lock.try_acquire().expect("the last overtake allowed");
    drop(barger); // ends it: hands the lock to `waiter`
    assert!(lock.locked(), "handed over, never free");
    assert!(lock.try_acquire().is_none(), "try_acquire fails");
    let mut newcomer = Probe::new(lock.acquire());
    newcomer.pending(); // an acquire waits its turn
    assert_eq!(waiter.wakes(), 1, "woken once: the first wake-up stands");
    let guard = waiter.ready();
    drop(guard); // now `newcomer`'s turn
    drop(newcomer.ready());
    assert!(!lock.locked());
    assert_eq!(lock.__waiter_records(), 0);
}

#[test]
fn a_dropped_waiter_that_was_handed_the_lock_releases_it_and_the_count_starts_over() {
    let lock = Lock::new(());
    let held = lock.try_acquire().unwrap();
    let mut a = Probe::new(lock.acquire());
    let mut b = Probe::new(lock.acquire());
    a.pending();
    b.pending();
    drop(held);
    for _ in 0..OVERTAKES {
        drop(lock.try_acquire().unwrap()); // overtakes `a`; the last hands it over
    }
    assert!(lock.locked(), "handed to `a`");
    drop(a); // `a` gives up: its release frees the lock and wakes `b`
    assert!(!lock.locked());
    assert_eq!(b.wakes(), 1);
    let g = b.ready();
    drop(g);
    // Nobody waits: the count of overtakes is gone with them.
    let g = lock.try_acquire().unwrap();
    let mut c = Probe::new(lock.acquire());
    c.pending();
    drop(g);
    for _ in 0..OVERTAKES {
        drop(
            lock.try_acquire()
                .expect("the overtakes of `c` are allowed again"),
        );
    }
    assert!(
        lock.try_acquire().is_none(),
        "and only as many as the bound"
    );
    drop(c.ready());
    assert_eq!(lock.__waiter_records(), 0);
}
