//! Leaks: after every kind of wait has been abandoned — aborted, timed out,
//! dropped in bursts larger than the wait list's reuse threshold — no waiter
//! record stays allocated (`__waiter_records() == 0`), no `Arc` is kept
//! alive (`Arc::strong_count == 1` once every task is joined), and the
//! primitive still works. (Every workload in `stress.rs` and
//! `cancel_storm.rs` ends with the same checks.)

mod support;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

#[cfg(feature = "tokio")]
use support::Rng;
use support::{join_all, until, until_blocking, within};
use warden::{Barrier, BoundedSemaphore, Condition, Event, Lock, RLock, RwLock, Semaphore};

/// More waiters than the wait list keeps allocated after a burst (64).
const BURST: usize = 100;

/// Spawns `BURST` waiters, waits until `registered()` counts them all,
/// aborts every other one, lets `finish` release the rest, and joins.
async fn burst<F, Fut>(
    what: &str,
    registered: impl Fn() -> usize,
    mut spawn_one: F,
    finish: impl Future<Output = ()>,
) where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let handles: Vec<_> = (0..BURST).map(|i| tokio::spawn(spawn_one(i))).collect();
    until(what, || registered() == BURST).await;
    for h in handles.iter().step_by(2) {
        h.abort();
    }
    finish.await;
    within(what, async {
        for h in handles {
            match h.await {
                Ok(()) => {}
                Err(e) if e.is_cancelled() => {}
                Err(e) => std::panic::resume_unwind(e.into_panic()),
            }
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_bursts_of_aborted_waiters_leave_nothing() {
    let lock = Arc::new(Lock::new(0_usize));
    for _ in 0..2 {
        let held = lock.clone().acquire_owned().await;
        let l = lock.clone();
        burst(
            "lock waiters",
            || lock.__waiter_records(),
            move |_| {
                let l = l.clone();
                async move { *l.acquire().await += 1 }
            },
            async move { drop(held) },
        )
        .await;
        assert_eq!(lock.__waiter_records(), 0);
        assert!(!lock.locked());
    }
    // The aborted half never ran (they were idle in the queue when
    // aborted); the other half each ran once per round.
    assert_eq!(*lock.acquire().await, BURST);
    assert_eq!(Arc::strong_count(&lock), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn semaphore_bursts_of_aborted_partial_waiters_leave_nothing() {
    let sem = Arc::new(Semaphore::new(0));
    let bounded = Arc::new(BoundedSemaphore::new(3));
    for _ in 0..2 {
        let s = sem.clone();
        let sem2 = sem.clone();
        burst(
            "semaphore waiters",
            || sem.__waiter_records(),
            move |i| {
                let s = s.clone();
                async move { drop(s.acquire_many(1 + i % 3).await) }
            },
            async move {
                // Partial grants first, then plenty.
                sem2.release(1);
                tokio::task::yield_now().await;
                sem2.release(3 * BURST);
            },
        )
        .await;
        assert_eq!(sem.__waiter_records(), 0);
        // Drain back to zero for the next round (no waiter is left).
        let left = sem.available_permits();
        sem.acquire_many(left).await.forget();

        let held = bounded.clone().acquire_many_owned(3).await;
        let b = bounded.clone();
        burst(
            "bounded semaphore waiters",
            || bounded.__waiter_records(),
            move |i| {
                let b = b.clone();
                async move { drop(b.acquire_many(1 + i % 3).await) }
            },
            async move { drop(held) },
        )
        .await;
        assert_eq!(bounded.__waiter_records(), 0);
        assert_eq!(bounded.available_permits(), 3);
    }
    assert_eq!(sem.available_permits(), 0);
    assert_eq!(Arc::strong_count(&sem), 1);
    assert_eq!(Arc::strong_count(&bounded), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_bursts_of_aborted_waiters_leave_nothing() {
    let event = Arc::new(Event::new());
    for _ in 0..2 {
        event.clear();
        let e = event.clone();
        let e2 = event.clone();
        burst(
            "event waiters",
            || event.__waiter_records(),
            move |_| {
                let e = e.clone();
                async move { e.wait().await }
            },
            async move {
                e2.set();
                e2.clear();
            },
        )
        .await;
        assert_eq!(event.__waiter_records(), 0);
    }
    assert_eq!(Arc::strong_count(&event), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn condition_bursts_of_aborted_and_notified_waiters_leave_nothing() {
    let shared = Arc::new((Lock::new(0_usize), Condition::new()));
    for _ in 0..2 {
        let s = shared.clone();
        let s2 = shared.clone();
        burst(
            "condition waiters",
            || shared.1.__waiter_records(),
            move |_| {
                let s = s.clone();
                async move {
                    let (lock, cond) = &*s;
                    let mut g = cond.wait(lock.acquire().await).await;
                    *g += 1;
                }
            },
            async move {
                // Some notified while aborts land, then everyone.
                s2.1.notify(BURST / 4);
                tokio::task::yield_now().await;
                s2.1.notify_all();
            },
        )
        .await;
        assert_eq!(shared.1.__waiter_records(), 0);
        assert!(!shared.0.locked());
    }
    assert_eq!(shared.0.__waiter_records(), 0);
    assert_eq!(Arc::strong_count(&shared), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn barrier_bursts_of_aborted_parties_withdraw_and_leave_nothing() {
    let barrier = Arc::new(Barrier::new(BURST + 1));
    let passed = Arc::new(AtomicUsize::new(0));
    for _ in 0..2 {
        let b = barrier.clone();
        let p = passed.clone();
        let b2 = barrier.clone();
        let p2 = passed.clone();
        burst(
            "barrier parties",
            || barrier.__waiter_records(),
            move |_| {
                let (b, p) = (b.clone(), p.clone());
                async move {
                    b.wait().await.expect("not broken");
                    p.fetch_add(1, SeqCst);
                }
            },
            async move {
                // The aborted half withdrew: exactly the rest still count.
                until("aborted parties withdrawn", || b2.n_waiting() == BURST / 2).await;
                assert!(!b2.is_broken(), "withdrawing is not breaking");
                // Make up the generation with fresh parties.
                let more: Vec<_> = (0..=BURST / 2)
                    .map(|_| {
                        let (b, p) = (b2.clone(), p2.clone());
                        tokio::spawn(async move {
                            b.wait().await.expect("not broken");
                            p.fetch_add(1, SeqCst);
                        })
                    })
                    .collect();
                join_all(more).await;
            },
        )
        .await;
        assert_eq!(barrier.__waiter_records(), 0);
        assert_eq!(barrier.n_waiting(), 0);
        assert!(!barrier.is_broken());
    }
    assert_eq!(passed.load(SeqCst), 2 * (BURST + 1));
    assert_eq!(Arc::strong_count(&barrier), 1);
}

#[cfg(feature = "tokio")] // tasks are owners only with tokio task ids
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rlock_bursts_of_aborted_waiters_leave_nothing() {
    let rl = Arc::new(RLock::new(AtomicUsize::new(0)));
    for _ in 0..2 {
        let r = rl.clone();
        // A holder task keeps the RLock until told to let go.
        let release = Arc::new(Event::new());
        let holder = tokio::spawn({
            let (r, release) = (rl.clone(), release.clone());
            async move {
                let _g = r.acquire().await;
                release.wait().await;
            }
        });
        until("the holder", || rl.locked()).await;
        let release2 = release.clone();
        burst(
            "rlock waiters",
            || rl.__waiter_records(),
            move |_| {
                let r = r.clone();
                async move {
                    r.acquire().await.fetch_add(1, SeqCst);
                }
            },
            async move { release2.set() },
        )
        .await;
        join_all(vec![holder]).await;
        assert_eq!(rl.__waiter_records(), 0);
        assert!(!rl.locked());
    }
    assert_eq!(Arc::strong_count(&rl), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rwlock_bursts_of_aborted_readers_and_writers_leave_nothing() {
    let rw = Arc::new(RwLock::new(0_usize));
    for round in 0..2 {
        // Round 0 queues everyone behind a held write lock. Round 1 holds
        // two read locks and queues a writer first (so the burst queues
        // behind it): that writer collects the readers' permits, and the
        // writers of the burst behind it wait their turn.
        let held: Box<dyn Send> = if round == 0 {
            Box::new(rw.clone().write_owned().await)
        } else {
            Box::new((rw.clone().read_owned().await, rw.clone().read_owned().await))
        };
        let first_writer = (round == 1).then(|| {
            let rw = rw.clone();
            tokio::spawn(async move { *rw.write().await += 1 })
        });
        let ahead = usize::from(round == 1);
        until("the first writer", || rw.__waiter_records() == ahead).await;
        let r = rw.clone();
        burst(
            "rwlock waiters",
            || rw.__waiter_records() - ahead,
            move |i| {
                let r = r.clone();
                async move {
                    if i % 5 == 1 {
                        *r.write().await += 1;
                    } else if i % 5 == 3 {
                        *r.clone().write_owned().await += 1;
                    } else if i % 2 == 0 {
                        drop(r.read().await);
                    } else {
                        drop(r.clone().read_owned().await);
                    }
                }
            },
            async move { drop(held) },
        )
        .await;
        join_all(first_writer.into_iter().collect()).await;
        assert_eq!(rw.__waiter_records(), 0);
        assert!(rw.try_write().is_some(), "nothing held");
    }
    // Writers are i % 5 in {1, 3}; `burst` aborts the even ones, which
    // never ran (they were queued); the odd ones each wrote once a round,
    // and round 1's first writer once.
    let writes = (0..BURST)
        .filter(|i| i % 2 == 1 && matches!(i % 5, 1 | 3))
        .count();
    assert_eq!(*rw.read().await, 2 * writes + 1);
    assert_eq!(Arc::strong_count(&rw), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owned_guards_and_permits_of_aborted_tasks_release_their_arcs() {
    let lock = Arc::new(Lock::new(()));
    let sem = Arc::new(Semaphore::new(2));
    let bounded = Arc::new(BoundedSemaphore::new(2));
    let cond = Arc::new(Condition::new());
    let cond_lock = Arc::new(Lock::new(0));
    let mut handles = Vec::new();
    // Holders, aborted while holding.
    handles.push(tokio::spawn({
        let (lock, sem, bounded) = (lock.clone(), sem.clone(), bounded.clone());
        async move {
            let _g = lock.acquire_owned().await;
            let _p = sem.acquire_many_owned(2).await;
            let _b = bounded.acquire_owned().await;
            std::future::pending::<()>().await;
        }
    }));
    until("the holder", || {
        lock.locked() && sem.available_permits() == 0
    })
    .await;
    // Waiters behind them, aborted while queued.
    for _ in 0..10 {
        handles.push(tokio::spawn({
            let (lock, sem, bounded) = (lock.clone(), sem.clone(), bounded.clone());
            async move {
                let _g = lock.acquire_owned().await;
                let _p = sem.acquire_owned().await;
                let _b = bounded.acquire_many_owned(2).await;
            }
        }));
    }
    // Condition waits holding an owned guard's Arc while they wait.
    for _ in 0..10 {
        handles.push(tokio::spawn({
            let (cond, cond_lock) = (cond.clone(), cond_lock.clone());
            async move {
                let g = cond_lock.acquire_owned().await;
                let _g = cond.wait(g).await;
            }
        }));
    }
    until("everyone queued", || {
        lock.__waiter_records() == 10 && cond.__waiter_records() == 10
    })
    .await;
    // Waiters first, the holder last: a waiter aborted after the holder
    // could be handed the lock before its abort lands, and finish.
    for h in handles.iter().rev() {
        h.abort();
    }
    for h in handles {
        assert!(h.await.unwrap_err().is_cancelled());
    }
    assert!(!lock.locked());
    assert_eq!(sem.available_permits(), 2);
    assert_eq!(bounded.available_permits(), 2);
    assert!(!cond_lock.locked());
    for records in [
        lock.__waiter_records(),
        sem.__waiter_records(),
        bounded.__waiter_records(),
        cond.__waiter_records(),
        cond_lock.__waiter_records(),
    ] {
        assert_eq!(records, 0);
    }
    assert_eq!(Arc::strong_count(&lock), 1);
    assert_eq!(Arc::strong_count(&sem), 1);
    assert_eq!(Arc::strong_count(&bounded), 1);
    assert_eq!(Arc::strong_count(&cond), 1);
    assert_eq!(Arc::strong_count(&cond_lock), 1);
}

#[cfg(feature = "tokio")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tiny_timeouts_on_every_wait_leave_nothing() {
    let lock = Arc::new(Lock::new(()));
    let rl = Arc::new(RLock::new(()));
    let sem = Arc::new(Semaphore::new(1));
    let event = Arc::new(Event::new());
    let cond = Arc::new(Condition::new());
    let cond_lock = Arc::new(Lock::new(()));
    let barrier = Arc::new(Barrier::new(2));
    // Hold everything from another task, so every wait has to wait.
    let release = Arc::new(Event::new());
    let holder = tokio::spawn({
        let (lock, rl, sem, release) = (lock.clone(), rl.clone(), sem.clone(), release.clone());
        async move {
            let _g = lock.acquire().await;
            let _r = rl.acquire().await;
            let _p = sem.acquire().await;
            release.wait().await;
        }
    });
    until("the holder", || {
        lock.locked() && rl.locked() && sem.available_permits() == 0
    })
    .await;
    let mut rng = Rng::new(0);
    let mut timed_out = 0;
    for _ in 0..300 {
        let d = rng.tiny_duration();
        timed_out += usize::from(tokio::time::timeout(d, lock.acquire()).await.is_err());
        timed_out += usize::from(tokio::time::timeout(d, rl.acquire()).await.is_err());
        timed_out += usize::from(tokio::time::timeout(d, sem.acquire_many(1)).await.is_err());
        timed_out += usize::from(tokio::time::timeout(d, event.wait()).await.is_err());
        timed_out += usize::from(tokio::time::timeout(d, barrier.wait()).await.is_err());
        let (g, notified) = cond.wait_timeout(cond_lock.acquire().await, d).await;
        drop(g);
        timed_out += usize::from(!notified);
        timed_out += usize::from(
            tokio::time::timeout(d, cond.wait(cond_lock.acquire().await))
                .await
                .is_err(),
        );
    }
    assert_eq!(
        timed_out,
        300 * 7,
        "nothing was ever free, so every wait timed out"
    );
    for records in [
        lock.__waiter_records(),
        rl.__waiter_records(),
        sem.__waiter_records(),
        event.__waiter_records(),
        cond.__waiter_records(),
        cond_lock.__waiter_records(),
        barrier.__waiter_records(),
    ] {
        assert_eq!(records, 0);
    }
    assert_eq!(barrier.n_waiting(), 0);
    assert!(
        !barrier.is_broken(),
        "a dropped wait withdraws; it does not break"
    );
    release.set();
    join_all(vec![holder]).await;
    assert!(!lock.locked() && !rl.locked());
    assert_eq!(sem.available_permits(), 1);
    assert_eq!(Arc::strong_count(&lock), 1);
    assert_eq!(Arc::strong_count(&rl), 1);
    assert_eq!(Arc::strong_count(&sem), 1);
}

#[test]
fn blocking_timeouts_leave_nothing() {
    let event = Arc::new(Event::new());
    let cond = Arc::new(Condition::new());
    let lock = Arc::new(Lock::new(()));
    let barrier = Arc::new(Barrier::new(3));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (event, cond, lock) = (event.clone(), cond.clone(), lock.clone());
            std::thread::spawn(move || {
                for _ in 0..50 {
                    assert!(!event.wait_timeout_blocking(Duration::from_micros(50)));
                    let (g, notified) = cond
                        .wait_timeout_blocking(lock.acquire_blocking(), Duration::from_micros(50));
                    assert!(!notified);
                    drop(g);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(event.__waiter_records(), 0);
    assert_eq!(cond.__waiter_records(), 0);
    assert_eq!(lock.__waiter_records(), 0);
    // A barrier timeout breaks it for everyone (Python), and frees its record.
    let other = std::thread::spawn({
        let barrier = barrier.clone();
        move || barrier.wait_blocking()
    });
    until_blocking("the first party", || barrier.n_waiting() == 1);
    assert!(
        barrier
            .wait_timeout_blocking(Duration::from_millis(1))
            .is_err()
    );
    assert!(other.join().unwrap().is_err());
    assert!(barrier.is_broken());
    assert_eq!(barrier.__waiter_records(), 0);
    barrier.reset();
    assert_eq!(Arc::strong_count(&barrier), 1);
}

// ---------------------------------------------------------------------------
// A leaked wait is only a leak: `mem::forget` of a registered future, then
// dropping the primitive, never panics (a panic in `Drop` while unwinding
// would abort the process).
// ---------------------------------------------------------------------------

/// Polls `fut` once (it must register and return `Pending`), then forgets it.
fn register_and_forget<F: Future>(fut: F) {
    let mut fut = Box::pin(fut);
    let waker = std::task::Waker::noop();
    assert!(
        fut.as_mut()
            .poll(&mut std::task::Context::from_waker(waker))
            .is_pending(),
        "the wait must be registered"
    );
    std::mem::forget(fut);
}

#[test]
fn a_forgotten_lock_acquire_then_dropping_the_lock_is_only_a_leak() {
    let lock = Lock::new(());
    let held = lock.try_acquire().unwrap();
    register_and_forget(lock.acquire());
    assert_eq!(lock.__waiter_records(), 1);
    drop(held); // wakes the forgotten waiter, which never comes
    drop(lock);
    let lock = Arc::new(Lock::new(()));
    let held = lock.clone().try_acquire_owned().unwrap();
    register_and_forget(lock.clone().acquire_owned());
    drop(held);
    std::mem::forget(lock); // the forgotten future holds an Arc: leaked too
}

#[test]
fn a_forgotten_rlock_acquire_then_dropping_the_rlock_is_only_a_leak() {
    let rl = Arc::new(RLock::new(()));
    let holder = std::thread::spawn({
        let rl = rl.clone();
        move || std::mem::forget(rl.acquire_blocking()) // held forever
    });
    holder.join().unwrap();
    register_and_forget(rl.acquire());
    assert_eq!(rl.__waiter_records(), 1);
    drop(rl);
}

#[test]
fn forgotten_rwlock_waits_then_dropping_the_rwlock_is_only_a_leak() {
    // Queued behind readers: a writer that collected permits, a reader
    // behind it; then the readers leave (the writer is handed the lock and
    // never picks it up).
    let rw = RwLock::new(());
    let reading = rw.try_read().unwrap();
    register_and_forget(rw.write());
    register_and_forget(rw.read());
    assert_eq!(rw.__waiter_records(), 2);
    drop(reading);
    drop(rw);
    // Owned futures hold an `Arc`: leaked with them.
    let rw = Arc::new(RwLock::new(()));
    let writing = rw.clone().try_write_owned().unwrap();
    register_and_forget(rw.clone().read_owned());
    register_and_forget(rw.clone().write_owned());
    drop(writing);
    std::mem::forget(rw);
    // A forgotten guard keeps its permits: the lock stays taken, no panic.
    let rw = RwLock::new(1);
    std::mem::forget(rw.try_read().unwrap());
    register_and_forget(rw.write());
    assert!(rw.try_read().is_none());
    drop(rw);
}

#[test]
fn forgotten_semaphore_acquires_then_dropping_the_semaphore_is_only_a_leak() {
    let sem = Semaphore::new(1);
    let held = sem.try_acquire().unwrap();
    register_and_forget(sem.acquire_many(2)); // collects the permit...
    drop(held);
    register_and_forget(sem.acquire()); // ...while this one queues behind
    assert_eq!(sem.__waiter_records(), 2);
    drop(sem);
    let bounded = BoundedSemaphore::new(1);
    std::mem::forget(bounded.try_acquire().unwrap());
    register_and_forget(bounded.acquire());
    drop(bounded);
}

#[test]
fn a_forgotten_event_wait_then_dropping_the_event_is_only_a_leak() {
    let ev = Event::new();
    register_and_forget(ev.wait());
    assert_eq!(ev.__waiter_records(), 1);
    drop(ev);
    let ev = Event::new();
    register_and_forget(ev.wait());
    ev.set(); // notified, never picked up
    drop(ev);
}

#[test]
fn a_forgotten_condition_wait_then_dropping_both_is_only_a_leak() {
    let (lock, cond) = (Lock::new(0), Condition::new());
    // `wait` registers and releases the lock at the call; the forgotten
    // future never takes it back.
    std::mem::forget(cond.wait(lock.try_acquire().unwrap()));
    assert_eq!(cond.__waiter_records(), 1);
    assert!(!lock.locked());
    cond.notify_all();
    drop(cond);
    drop(lock);
}

#[test]
fn a_forgotten_barrier_wait_then_dropping_the_barrier_is_only_a_leak() {
    let barrier = Barrier::new(3);
    register_and_forget(barrier.wait());
    register_and_forget(barrier.wait());
    assert_eq!(barrier.n_waiting(), 2);
    drop(barrier);
    let barrier = Barrier::new(2);
    register_and_forget(barrier.wait());
    barrier.abort(); // decided, never picked up
    drop(barrier);
}
