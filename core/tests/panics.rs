//! Panics: a guard or permit dropped while unwinding is released like any
//! other (no poisoning, as Python's `with lock:` on an exception); a wait
//! dropped while unwinding is withdrawn, and passes on what it had been
//! handed; a panicking `Barrier` action breaks its generation for every
//! waiter; a panicking `wait_for` predicate leaves the lock released and the
//! `Condition` usable.
//!
//! Already covered elsewhere, not repeated here: a task panicking with an
//! owned `Lock` guard (`lock.rs`), a thread panicking with a `Lock` guard
//! (`lock.rs`), a panicking action with three task parties (`barrier.rs`),
//! a predicate panicking on its first evaluation (`condition.rs`).

mod support;

use std::future::{Future, poll_fn};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, OnceLock, Weak};
use std::task::Poll;
use std::time::Duration;

use support::{join_panic, until, until_blocking, within};
use warden::{
    Barrier, BoundedSemaphore, BrokenBarrierError, Condition, Event, Lock, RLock, Semaphore,
    TooManyReleases,
};

// ---------------------------------------------------------------------------
// Guards and permits released by unwinding.
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_borrowed_lock_guard_held_across_await_is_released_when_its_task_panics() {
    let lock = Arc::new(Lock::new(vec![0]));
    let holding = Arc::new(Event::new());
    let crash = tokio::spawn({
        let (lock, holding) = (lock.clone(), holding.clone());
        async move {
            let mut g = lock.acquire().await;
            g.push(1);
            holding.set();
            // Hold across awaits until the waiter queues behind us.
            until("the waiter queued", || lock.__waiter_records() == 1).await;
            g.push(2); // half-done work stays, as in Python: no poisoning
            panic!("boom while holding a borrowed guard");
        }
    });
    holding.wait().await;
    let waiter = tokio::spawn({
        let lock = lock.clone();
        async move {
            let mut g = lock.acquire().await;
            g.push(3);
        }
    });
    assert_eq!(
        join_panic(crash.await.unwrap_err()),
        "boom while holding a borrowed guard"
    );
    within("the waiter after the panic", waiter).await.unwrap();
    assert_eq!(
        *lock.try_acquire().expect("free: no poisoning"),
        [0, 1, 2, 3]
    );
    assert!(!lock.locked());
    assert_eq!(lock.__waiter_records(), 0);
    assert_eq!(Arc::strong_count(&lock), 1);
}

#[cfg(feature = "tokio")] // tasks are owners only with tokio task ids
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nested_rlock_guards_are_all_released_when_the_owner_task_panics() {
    let rl = Arc::new(RLock::new(AtomicUsize::new(0)));
    let holding = Arc::new(Event::new());
    let crash = tokio::spawn({
        let (rl, holding) = (rl.clone(), holding.clone());
        async move {
            let a = rl.acquire().await;
            tokio::task::yield_now().await;
            let b = rl.acquire().await;
            let c = rl.try_acquire().expect("re-entry");
            c.fetch_add(1, SeqCst);
            holding.set();
            until("the waiter queued", || rl.__waiter_records() == 1).await;
            let _keep = (a, b, c);
            panic!("boom three levels deep");
        }
    });
    holding.wait().await;
    // Another task waits; it must get the lock, fresh, at depth 1.
    let waiter = tokio::spawn({
        let rl = rl.clone();
        async move {
            let g = rl.acquire().await;
            let again = rl.try_acquire().expect("the new owner re-enters");
            again.fetch_add(1, SeqCst);
            drop(again);
            assert!(rl.locked());
            drop(g);
        }
    });
    assert_eq!(
        join_panic(crash.await.unwrap_err()),
        "boom three levels deep"
    );
    within("the waiter after the panic", waiter).await.unwrap();
    assert!(!rl.locked(), "the panicking owner's depth was not unwound");
    assert_eq!(rl.try_acquire().expect("free").load(SeqCst), 2);
    assert_eq!(rl.__waiter_records(), 0);
    assert_eq!(Arc::strong_count(&rl), 1);
}

#[test]
fn nested_rlock_guards_are_released_when_the_owner_thread_panics() {
    let rl = Arc::new(RLock::new(()));
    let r = std::thread::spawn({
        let rl = rl.clone();
        move || {
            let _a = rl.acquire_blocking();
            let _b = rl.acquire_blocking();
            panic!("boom on a thread");
        }
    })
    .join();
    assert!(r.is_err());
    // Another thread (not the dead owner) takes it.
    std::thread::spawn({
        let rl = rl.clone();
        move || {
            let g = rl.try_acquire().expect("released by unwinding");
            drop(g);
        }
    })
    .join()
    .unwrap();
    assert!(!rl.locked());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn semaphore_permits_return_when_their_task_panics() {
    let sem = Arc::new(Semaphore::new(3));
    let holding = Arc::new(Event::new());
    let crash = tokio::spawn({
        let (sem, holding) = (sem.clone(), holding.clone());
        async move {
            let two = sem.acquire_many(2).await;
            let one = sem.clone().acquire_owned().await;
            holding.set();
            until("the big waiter queued", || sem.__waiter_records() == 1).await;
            let _keep = (two, one);
            panic!("boom holding three permits");
        }
    });
    holding.wait().await;
    let waiter = tokio::spawn({
        let sem = sem.clone();
        async move { sem.acquire_many(3).await.permits() }
    });
    assert!(crash.await.unwrap_err().is_panic());
    assert_eq!(
        within("the waiter after the panic", waiter).await.unwrap(),
        3
    );
    assert_eq!(sem.available_permits(), 3);
    assert_eq!(sem.__waiter_records(), 0);
    assert_eq!(Arc::strong_count(&sem), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bounded_semaphore_permits_return_on_panic_and_the_bound_still_holds() {
    let sem = Arc::new(BoundedSemaphore::new(2));
    let crash = tokio::spawn({
        let sem = sem.clone();
        async move {
            let _a = sem.acquire().await;
            let _b = sem.clone().acquire_owned().await;
            assert_eq!(sem.available_permits(), 0);
            panic!("boom holding the whole bound");
        }
    });
    assert!(crash.await.unwrap_err().is_panic());
    assert_eq!(sem.available_permits(), 2);
    assert_eq!(
        sem.release(1),
        Err(TooManyReleases),
        "unwinding must not count as forgetting"
    );
    assert_eq!(sem.available_permits(), 2);
    assert_eq!(Arc::strong_count(&sem), 1);
}

// ---------------------------------------------------------------------------
// Waits dropped by unwinding: withdrawn, or passed on if already handed over.
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_panicking_while_it_waits_on_every_primitive_leaves_no_trace() {
    let lock = Arc::new(Lock::new(()));
    let sem = Arc::new(Semaphore::new(1));
    let event = Arc::new(Event::new());
    let cond = Arc::new(Condition::new());
    let cond_lock = Arc::new(Lock::new(()));
    let barrier = Arc::new(Barrier::new(2));
    let held = lock.clone().try_acquire_owned().unwrap();
    let permit = sem.try_acquire().unwrap();
    let crash = tokio::spawn({
        let (lock, sem, event, cond, cond_lock, barrier) = (
            lock.clone(),
            sem.clone(),
            event.clone(),
            cond.clone(),
            cond_lock.clone(),
            barrier.clone(),
        );
        async move {
            let g = cond_lock.acquire().await;
            let mut lock_wait = pin!(lock.acquire());
            let mut sem_wait = pin!(sem.acquire());
            let mut event_wait = pin!(event.wait());
            let mut cond_wait = pin!(cond.wait(g));
            let mut barrier_wait = pin!(barrier.wait());
            let mut polls = 0;
            poll_fn(|cx| {
                // Register all five waits, then panic on the next poll.
                polls += 1;
                assert!(polls == 1, "boom while waiting on everything");
                assert!(lock_wait.as_mut().poll(cx).is_pending());
                assert!(sem_wait.as_mut().poll(cx).is_pending());
                assert!(event_wait.as_mut().poll(cx).is_pending());
                assert!(cond_wait.as_mut().poll(cx).is_pending());
                assert!(barrier_wait.as_mut().poll(cx).is_pending());
                cx.waker().wake_by_ref();
                Poll::<()>::Pending
            })
            .await;
        }
    });
    assert!(join_panic(crash.await.unwrap_err()).contains("boom while waiting on everything"));
    assert_eq!(lock.__waiter_records(), 0);
    assert_eq!(sem.__waiter_records(), 0);
    assert_eq!(event.__waiter_records(), 0);
    assert_eq!(cond.__waiter_records(), 0);
    assert_eq!(barrier.__waiter_records(), 0);
    assert_eq!(barrier.n_waiting(), 0, "the arrival was withdrawn");
    assert!(
        !barrier.is_broken(),
        "unwinding is a cancellation, not a break"
    );
    assert!(!cond_lock.locked());
    drop((held, permit));
    assert!(!lock.locked());
    assert_eq!(sem.available_permits(), 1);
    for n in [
        Arc::strong_count(&lock),
        Arc::strong_count(&sem),
        Arc::strong_count(&event),
        Arc::strong_count(&cond),
        Arc::strong_count(&barrier),
    ] {
        assert_eq!(n, 1);
    }
}

/// Polls `wait` until `boom` is set, then panics before polling it again:
/// the wait is dropped by unwinding after whatever happened meanwhile.
async fn panic_once_set<F: Future>(boom: &AtomicBool, wait: F) -> F::Output {
    let mut wait = pin!(wait);
    poll_fn(|cx| {
        assert!(!boom.load(SeqCst), "boom after being handed over");
        wait.as_mut().poll(cx)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_waiter_woken_then_panicking_before_it_looks_passes_on() {
    let lock = Arc::new(Lock::new(0));
    let boom = Arc::new(AtomicBool::new(false));
    let held = lock.clone().try_acquire_owned().unwrap();
    let first = tokio::spawn({
        let (lock, boom) = (lock.clone(), boom.clone());
        async move {
            *panic_once_set(&boom, lock.acquire()).await += 1;
        }
    });
    until("the first waiter queued", || lock.__waiter_records() == 1).await;
    let second = tokio::spawn({
        let lock = lock.clone();
        async move { *lock.acquire().await += 10 }
    });
    until("the second waiter queued", || lock.__waiter_records() == 2).await;
    boom.store(true, SeqCst);
    drop(held); // wakes `first` to take the lock; it panics when polled
    assert!(first.await.unwrap_err().is_panic());
    within("the second waiter", second).await.unwrap();
    assert_eq!(*lock.try_acquire().unwrap(), 10);
    assert_eq!(lock.__waiter_records(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permits_handed_to_a_task_that_panics_before_taking_them_pass_on() {
    let sem = Arc::new(Semaphore::new(0));
    let boom = Arc::new(AtomicBool::new(false));
    let first = tokio::spawn({
        let (sem, boom) = (sem.clone(), boom.clone());
        async move { panic_once_set(&boom, sem.acquire_many(2)).await.permits() }
    });
    until("the first waiter queued", || sem.__waiter_records() == 1).await;
    let second = tokio::spawn({
        let sem = sem.clone();
        async move { sem.acquire_many(2).await.forget() }
    });
    until("the second waiter queued", || sem.__waiter_records() == 2).await;
    boom.store(true, SeqCst);
    sem.release(2); // all of it to `first`, which panics when polled
    assert!(first.await.unwrap_err().is_panic());
    within("the second waiter", second).await.unwrap();
    assert_eq!(
        sem.available_permits(),
        0,
        "the second waiter forgot the two permits"
    );
    assert_eq!(sem.__waiter_records(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_condition_waiter_notified_then_panicking_passes_the_notification_on() {
    let lock = Arc::new(Lock::new(0));
    let cond = Arc::new(Condition::new());
    let boom = Arc::new(AtomicBool::new(false));
    let first = tokio::spawn({
        let (lock, cond, boom) = (lock.clone(), cond.clone(), boom.clone());
        async move {
            let g = lock.acquire().await;
            drop(panic_once_set(&boom, cond.wait(g)).await);
        }
    });
    until("the first waiter", || cond.__waiter_records() == 1).await;
    let second = tokio::spawn({
        let (lock, cond) = (lock.clone(), cond.clone());
        async move {
            let g = lock.acquire().await;
            *cond.wait(g).await += 1;
        }
    });
    until("the second waiter", || cond.__waiter_records() == 2).await;
    boom.store(true, SeqCst);
    cond.notify(1); // wakes `first`, which panics: the second must get it
    assert!(first.await.unwrap_err().is_panic());
    within("the notification passed on", second).await.unwrap();
    assert_eq!(*lock.try_acquire().unwrap(), 1);
    assert_eq!(cond.__waiter_records(), 0);
}

// ---------------------------------------------------------------------------
// Barrier actions that panic.
// ---------------------------------------------------------------------------

/// How one party's wait ended.
#[derive(Debug, PartialEq, Eq)]
enum Party {
    Passed { leader: bool },
    Broken,
    Panicked(String),
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_action_breaks_only_its_generation_for_tasks_and_threads() {
    const PARTIES: usize = 3; // two tasks and a blocking thread
    const BAD: usize = 3;
    let generation = Arc::new(AtomicUsize::new(0));
    let barrier = Arc::new(Barrier::with_action(PARTIES, {
        let generation = generation.clone();
        move || {
            let g = generation.fetch_add(1, SeqCst);
            assert!(g != BAD, "action exploded in generation {g}");
        }
    }));
    for round in 0..6 {
        let mut handles: Vec<_> = (0..PARTIES - 1)
            .map(|_| {
                let barrier = barrier.clone();
                tokio::spawn(async move { barrier.wait().await })
            })
            .collect();
        handles.push(tokio::task::spawn_blocking({
            let barrier = barrier.clone();
            move || barrier.wait_blocking()
        }));
        let mut outcomes = Vec::new();
        for h in handles {
            outcomes.push(match within("a party", h).await {
                Ok(Ok(r)) => Party::Passed {
                    leader: r.is_leader(),
                },
                Ok(Err(BrokenBarrierError)) => Party::Broken,
                Err(e) => Party::Panicked(join_panic(e)),
            });
        }
        let panicked: Vec<_> = outcomes
            .iter()
            .filter(|o| matches!(o, Party::Panicked(_)))
            .collect();
        if round == BAD {
            // The party that ran the action gets its panic; every other
            // waiter of that generation gets BrokenBarrierError.
            assert_eq!(
                panicked,
                [&Party::Panicked(format!(
                    "action exploded in generation {BAD}"
                ))]
            );
            assert_eq!(
                outcomes.iter().filter(|o| **o == Party::Broken).count(),
                PARTIES - 1
            );
            assert!(barrier.is_broken());
            assert_eq!(
                barrier.wait().await,
                Err(BrokenBarrierError),
                "stays broken"
            );
            barrier.reset();
        } else {
            assert!(panicked.is_empty(), "round {round}: {outcomes:?}");
            let leaders = outcomes
                .iter()
                .filter(|o| **o == Party::Passed { leader: true })
                .count();
            assert_eq!(leaders, 1, "round {round}: {outcomes:?}");
            assert!(!barrier.is_broken());
        }
        assert_eq!(barrier.__waiter_records(), 0);
    }
    assert_eq!(
        generation.load(SeqCst),
        6,
        "the action ran once per generation"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_action_also_breaks_parties_that_arrived_while_it_ran() {
    // Two parties: a task waits, then a thread arrives last and runs the
    // action. While the action runs, a third party arrives (for the next
    // generation); then the action panics. Every waiter gets
    // BrokenBarrierError, the thread gets the panic.
    let me: Arc<OnceLock<Weak<Barrier>>> = Arc::new(OnceLock::new());
    let action_running = Arc::new(AtomicBool::new(false));
    let barrier = Arc::new(Barrier::with_action(2, {
        let (me, running) = (me.clone(), action_running.clone());
        move || {
            let barrier = me.get().and_then(Weak::upgrade).expect("the barrier");
            running.store(true, SeqCst);
            // The first party's record and the late one's: a party that
            // arrives while the action runs waits, uncounted (n_waiting is
            // 0 meanwhile, as Python's), for the next generation.
            until_blocking("a party of the next generation", || {
                barrier.__waiter_records() == 2
            });
            panic!("action exploded mid-trip");
        }
    }));
    me.set(Arc::downgrade(&barrier)).unwrap();

    let first = tokio::spawn({
        let barrier = barrier.clone();
        async move { barrier.wait().await }
    });
    until("the first party", || barrier.n_waiting() == 1).await;
    let leader = std::thread::spawn({
        let barrier = barrier.clone();
        move || barrier.wait_blocking()
    });
    until("the action running", || action_running.load(SeqCst)).await;
    let late = tokio::spawn({
        let barrier = barrier.clone();
        async move { barrier.wait().await }
    });
    assert_eq!(
        within("the first party", first).await.unwrap(),
        Err(BrokenBarrierError)
    );
    assert_eq!(
        within("the late party", late).await.unwrap(),
        Err(BrokenBarrierError)
    );
    until("the leader thread", || leader.is_finished()).await;
    let payload = leader
        .join()
        .expect_err("the leader ran the action: its panic propagates");
    assert_eq!(
        payload.downcast_ref::<&str>(),
        Some(&"action exploded mid-trip")
    );
    assert!(barrier.is_broken());
    assert_eq!(barrier.__waiter_records(), 0);
    barrier.reset();
    // Usable again; the action still panics, so use a plain wait count:
    // one party alone does not trip it, and its dropped wait withdraws.
    assert!(
        tokio::time::timeout(Duration::from_millis(5), barrier.wait())
            .await
            .is_err()
    );
    assert_eq!(barrier.n_waiting(), 0);
    assert!(!barrier.is_broken());
}

// ---------------------------------------------------------------------------
// Condition predicates that panic.
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_predicate_panicking_after_a_notification_releases_the_lock() {
    let lock = Arc::new(Lock::new(0));
    let cond = Arc::new(Condition::new());
    let crash = tokio::spawn({
        let (lock, cond) = (lock.clone(), cond.clone());
        async move {
            let g = lock.acquire().await;
            // False first (so it waits), then panics on the re-check.
            let _g = cond
                .wait_for(g, |n| {
                    assert!(*n == 0, "predicate exploded on the re-check");
                    false
                })
                .await;
        }
    });
    until("the waiter", || cond.__waiter_records() == 1).await;
    *lock.acquire().await = 1;
    cond.notify_all();
    assert_eq!(
        join_panic(crash.await.unwrap_err()),
        "predicate exploded on the re-check"
    );
    assert!(
        !lock.locked(),
        "the panicking predicate's guard was released"
    );
    assert_eq!(cond.__waiter_records(), 0);
    // The Condition still works.
    let waiter = tokio::spawn({
        let (lock, cond) = (lock.clone(), cond.clone());
        async move { *cond.wait_for(lock.acquire().await, |n| *n == 2).await }
    });
    until("the next waiter", || cond.__waiter_records() == 1).await;
    *lock.acquire().await = 2;
    cond.notify_one();
    assert_eq!(within("the next waiter", waiter).await.unwrap(), 2);
    assert_eq!(Arc::strong_count(&lock), 1);
}

#[cfg(feature = "tokio")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_predicate_panicking_with_an_owned_guard_releases_the_lock_and_its_arc() {
    let lock = Arc::new(Lock::new(0));
    let cond = Arc::new(Condition::new());
    let crash = tokio::spawn({
        let (lock, cond) = (lock.clone(), cond.clone());
        async move {
            let g = lock.acquire_owned().await;
            let _g = cond
                .wait_for(g, |n| {
                    assert!(*n == 0, "owned predicate exploded");
                    false
                })
                .await;
        }
    });
    until("the waiter", || cond.__waiter_records() == 1).await;
    *lock.acquire().await = 1;
    cond.notify_one();
    assert!(crash.await.unwrap_err().is_panic());
    assert!(!lock.locked());
    assert_eq!(
        Arc::strong_count(&lock),
        1,
        "the owned guard's Arc was released"
    );
    let g = lock.clone().acquire_owned().await;
    let (g, notified) = cond.wait_timeout(g, Duration::ZERO).await;
    assert!(!notified);
    drop(g);
    assert_eq!(cond.__waiter_records(), 0);
}

#[test]
fn a_predicate_panicking_in_wait_for_blocking_releases_the_lock() {
    let lock = Arc::new(Lock::new(0));
    let cond = Arc::new(Condition::new());
    let crash = std::thread::spawn({
        let (lock, cond) = (lock.clone(), cond.clone());
        move || {
            let g = lock.acquire_blocking();
            let _g = cond.wait_for_blocking(g, |n| {
                assert!(*n == 0, "blocking predicate exploded");
                false
            });
        }
    });
    until_blocking("the waiter", || cond.__waiter_records() == 1);
    *lock.acquire_blocking() = 1;
    cond.notify_one();
    assert!(crash.join().is_err());
    assert!(!lock.locked());
    // Usable by threads afterwards.
    let waiter = std::thread::spawn({
        let (lock, cond) = (lock.clone(), cond.clone());
        move || *cond.wait_for_blocking(lock.acquire_blocking(), |n| *n == 2)
    });
    until_blocking("the next waiter", || cond.__waiter_records() == 1);
    *lock.acquire_blocking() = 2;
    cond.notify_all();
    assert_eq!(waiter.join().unwrap(), 2);
    assert_eq!(cond.__waiter_records(), 0);
}
