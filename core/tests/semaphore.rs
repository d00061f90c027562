//! `Semaphore`: hand-polled readiness, strict FIFO (a big `acquire_many` at
//! the head is overtaken by nothing), cancel safety at every await point
//! (queued, partially filled, granted), and edge inputs (`0`,
//! `MAX_PERMITS`, overflow). CPython ports live in `cpython_lock_tests.rs`,
//! blocking twins in `blocking.rs`.

mod support;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use support::{Probe, Rng, panic_message, poll_once, until, within};
use tokio::time::timeout;
use warden::{OwnedSemaphorePermit, Semaphore, SemaphorePermit};

const MAX: usize = Semaphore::MAX_PERMITS;

// ---------------------------------------------------------------------------
// The surface
// ---------------------------------------------------------------------------

#[test]
fn new_default_and_available_permits() {
    static POOL: Semaphore = Semaphore::new(3);
    assert_eq!(POOL.available_permits(), 3);
    assert_eq!(Semaphore::default().available_permits(), 1);
    assert_eq!(Semaphore::new(0).available_permits(), 0);
    assert_eq!(MAX, usize::MAX >> 2);
}

#[test]
fn permits_return_on_drop_and_count() {
    let sem = Semaphore::new(5);
    let one = sem.try_acquire().unwrap();
    let three = sem.try_acquire_many(3).unwrap();
    assert_eq!((one.permits(), three.permits()), (1, 3));
    assert_eq!(sem.available_permits(), 1);
    assert!(sem.try_acquire_many(2).is_none());
    drop(three);
    assert_eq!(sem.available_permits(), 4);
    drop(one);
    assert_eq!(sem.available_permits(), 5);
}

#[test]
fn forget_keeps_permits_taken_until_release() {
    let sem = Semaphore::new(2);
    sem.try_acquire_many(2).unwrap().forget();
    assert_eq!(sem.available_permits(), 0);
    sem.release(1);
    assert_eq!(sem.available_permits(), 1);
    sem.release(1);
    assert_eq!(sem.available_permits(), 2);
}

#[test]
fn release_may_exceed_the_initial_count() {
    // Python's Semaphore (unlike BoundedSemaphore) allows this.
    let sem = Semaphore::new(1);
    sem.release(3);
    assert_eq!(sem.available_permits(), 4);
    assert_eq!(sem.try_acquire_many(4).unwrap().permits(), 4);
}

#[test]
fn owned_permits() {
    let sem = Arc::new(Semaphore::new(3));
    let a: OwnedSemaphorePermit = sem.clone().try_acquire_owned().unwrap();
    let b = sem.clone().try_acquire_many_owned(2).unwrap();
    assert_eq!((a.permits(), b.permits()), (1, 2));
    assert!(sem.clone().try_acquire_owned().is_none());
    drop(a);
    b.forget();
    assert_eq!(sem.available_permits(), 1);
    assert!(format!("{:?}", sem.clone().try_acquire_owned().unwrap()).contains("permits: 1"));
}

#[test]
fn debug_shows_permits_and_waiters_without_blocking() {
    let sem = Semaphore::new(1);
    assert_eq!(
        format!("{sem:?}"),
        "Semaphore { available_permits: 1, waiters: 0 }"
    );
    let p = sem.try_acquire().unwrap();
    assert!(format!("{p:?}").contains("permits: 1"));
    let mut w = Probe::new(sem.acquire());
    w.pending();
    assert_eq!(
        format!("{sem:?}"),
        "Semaphore { available_permits: 0, waiters: 1 }"
    );
    let f = format!("{:?}", sem.acquire_many(2));
    assert!(
        f.contains("permits: 2") && f.contains("queued: false"),
        "{f}"
    );
    drop(p);
    drop(w.ready());
}

// ---------------------------------------------------------------------------
// Readiness and FIFO, polled by hand
// ---------------------------------------------------------------------------

#[test]
fn contended_acquire_is_pending_until_a_permit_returns() {
    let sem = Semaphore::new(1);
    let held = sem.try_acquire().unwrap();
    let mut w = Probe::new(sem.acquire());
    w.pending();
    w.pending();
    assert_eq!(w.wakes(), 0);
    assert_eq!(sem.__waiter_records(), 1);
    drop(held);
    assert_eq!(w.wakes(), 1);
    assert_eq!(sem.available_permits(), 0, "handed over, not freed");
    assert!(sem.try_acquire().is_none());
    let p = w.ready();
    assert_eq!(sem.__waiter_records(), 0);
    drop(p);
    assert_eq!(sem.available_permits(), 1);
}

#[test]
fn release_n_wakes_a_waiter() {
    let sem = Semaphore::new(0);
    let mut w = Probe::new(sem.acquire_many(2));
    w.pending();
    sem.release(1);
    assert_eq!(w.wakes(), 0, "one permit is not enough");
    w.pending();
    sem.release(1);
    assert_eq!(w.wakes(), 1);
    assert_eq!(w.ready().permits(), 2);
    assert_eq!(sem.available_permits(), 2);
}

#[test]
fn single_waiters_are_served_in_order() {
    let sem = Semaphore::new(0);
    let mut ws: Vec<_> = (0..4).map(|_| Probe::new(sem.acquire())).collect();
    for w in &mut ws {
        w.pending();
    }
    for i in 0..4 {
        sem.release(1);
        for (j, w) in ws.iter().enumerate() {
            assert_eq!(w.wakes(), usize::from(j <= i), "after {} releases", i + 1);
        }
    }
    for w in &mut ws {
        w.ready().forget();
    }
    assert_eq!(sem.available_permits(), 0);
    assert_eq!(sem.__waiter_records(), 0);
}

#[test]
fn a_big_acquire_many_at_the_head_is_not_overtaken() {
    let sem = Semaphore::new(0);
    let mut big = Probe::new(sem.acquire_many(5));
    let mut small = Probe::new(sem.acquire());
    big.pending();
    small.pending();
    for _ in 0..4 {
        sem.release(1);
        // Each permit goes to the head: nothing for `small`, nothing free.
        assert_eq!((big.wakes(), small.wakes()), (0, 0));
        assert_eq!(sem.available_permits(), 0);
        assert!(sem.try_acquire().is_none(), "try_acquire must not overtake");
        small.pending();
        big.pending();
    }
    let mut late = Probe::new(sem.acquire());
    late.pending();
    sem.release(1);
    assert_eq!((big.wakes(), small.wakes(), late.wakes()), (1, 0, 0));
    let five = big.ready();
    assert_eq!(five.permits(), 5);
    drop(five);
    assert_eq!((small.wakes(), late.wakes()), (1, 1));
    drop(small.ready());
    drop(late.ready());
    assert_eq!(sem.available_permits(), 5);
    assert_eq!(sem.__waiter_records(), 0);
}

#[test]
fn try_acquire_fails_while_waiters_queue_even_with_permits_released() {
    let sem = Semaphore::new(3);
    let mut big = Probe::new(sem.acquire_many(5));
    big.pending(); // takes the 3 free permits and waits for 2 more
    assert_eq!(sem.available_permits(), 0);
    sem.release(1); // a permit exists that try_acquire could use ...
    assert!(sem.try_acquire().is_none()); // ... but the waiter comes first
    assert!(sem.try_acquire_many(1).is_none());
    assert!(Arc::new(Semaphore::new(0)).try_acquire_owned().is_none());
    sem.release(1);
    assert_eq!(big.wakes(), 1);
    drop(big.ready());
    assert_eq!(sem.available_permits(), 5);
}

#[test]
fn release_n_serves_several_waiters_in_order_and_frees_the_rest() {
    let sem = Semaphore::new(0);
    let mut one = Probe::new(sem.acquire());
    let mut two = Probe::new(sem.acquire_many(2));
    let mut three = Probe::new(sem.acquire_many(3));
    one.pending();
    two.pending();
    three.pending();
    sem.release(4); // 1 + 2 served; 1 collected by `three`
    assert_eq!((one.wakes(), two.wakes(), three.wakes()), (1, 1, 0));
    assert_eq!(sem.available_permits(), 0);
    sem.release(4); // 2 complete `three`; 2 left over go to the pool
    assert_eq!(three.wakes(), 1);
    assert_eq!(sem.available_permits(), 2);
    let held: Vec<_> = vec![one.ready(), two.ready(), three.ready()];
    assert_eq!(held.iter().map(SemaphorePermit::permits).sum::<usize>(), 6);
    drop(held);
    assert_eq!(sem.available_permits(), 8);
}

#[test]
fn newcomers_queue_behind_a_partially_filled_head() {
    let sem = Semaphore::new(2);
    let mut big = Probe::new(sem.acquire_many(3));
    big.pending();
    let mut one = Probe::new(sem.acquire());
    one.pending(); // would fit if the 2 collected permits were free: they are not
    sem.release(2); // 1 completes `big`, 1 serves `one`
    assert_eq!((big.wakes(), one.wakes()), (1, 1));
    assert_eq!(sem.available_permits(), 0);
    drop(one.ready());
    drop(big.ready());
    assert_eq!(sem.available_permits(), 4);
}

#[test]
fn acquire_many_zero_is_ready_at_once_even_behind_a_queue() {
    let sem = Semaphore::new(0);
    let mut w = Probe::new(sem.acquire());
    w.pending();
    let mut zero = sem.acquire_many(0);
    let p = match poll_once(&mut zero) {
        std::task::Poll::Ready(p) => p,
        std::task::Poll::Pending => panic!("acquire_many(0) takes nothing: never waits"),
    };
    assert_eq!(p.permits(), 0);
    drop(p);
    assert_eq!(w.wakes(), 0, "an empty permit returns nothing");
    assert_eq!(sem.try_acquire_many(0).unwrap().permits(), 0);
    assert_eq!(sem.__waiter_records(), 1);
    sem.release(1);
    drop(w.ready());
}

#[test]
fn owned_acquire_readiness_and_order() {
    let sem = Arc::new(Semaphore::new(1));
    let held = sem.clone().try_acquire_owned().unwrap();
    let mut a = Probe::new(sem.clone().acquire_many_owned(2));
    let mut b = Probe::new(sem.clone().acquire_owned());
    a.pending();
    b.pending();
    drop(held); // 1 of 2 for `a`
    assert_eq!((a.wakes(), b.wakes()), (0, 0));
    sem.release(2); // 1 completes `a`, 1 for `b`
    assert_eq!((a.wakes(), b.wakes()), (1, 1));
    assert_eq!(a.ready().permits(), 2);
    assert_eq!(b.ready().permits(), 1);
    assert_eq!(sem.available_permits(), 3);
}

// ---------------------------------------------------------------------------
// Cancel safety, polled by hand
// ---------------------------------------------------------------------------

#[test]
fn dropping_a_queued_waiter_changes_nothing() {
    let sem = Semaphore::new(1);
    let held = sem.try_acquire().unwrap();
    let mut w = Probe::new(sem.acquire());
    w.pending();
    drop(w);
    assert_eq!(sem.__waiter_records(), 0);
    assert_eq!(sem.available_permits(), 0);
    drop(held);
    assert_eq!(
        sem.available_permits(),
        1,
        "not handed to the dropped waiter"
    );
    assert!(sem.try_acquire().is_some(), "the queued bit was cleared");
}

#[test]
fn dropping_a_partially_filled_acquire_many_gives_its_permits_back() {
    let sem = Semaphore::new(3);
    let mut big = Probe::new(sem.acquire_many(5));
    big.pending();
    assert_eq!(sem.available_permits(), 0);
    drop(big);
    assert_eq!(sem.available_permits(), 3);
    assert_eq!(sem.__waiter_records(), 0);
    assert_eq!(sem.try_acquire_many(3).unwrap().permits(), 3);
}

#[test]
fn dropping_a_partially_filled_acquire_many_serves_the_next_waiter() {
    let sem = Semaphore::new(3);
    let mut big = Probe::new(sem.acquire_many(5));
    let mut two = Probe::new(sem.acquire_many(2));
    let mut one = Probe::new(sem.acquire());
    big.pending();
    two.pending();
    one.pending();
    drop(big); // its 3 collected permits: 2 to `two`, 1 to `one`
    assert_eq!((two.wakes(), one.wakes()), (1, 1));
    assert_eq!(sem.available_permits(), 0);
    drop(two.ready());
    drop(one.ready());
    assert_eq!(sem.available_permits(), 3);
    assert_eq!(sem.__waiter_records(), 0);
}

#[test]
fn dropping_a_granted_acquire_many_passes_all_its_permits_on() {
    let sem = Semaphore::new(0);
    let mut a = Probe::new(sem.acquire_many(3));
    let mut b = Probe::new(sem.acquire_many(2));
    let mut c = Probe::new(sem.acquire_many(2));
    a.pending();
    b.pending();
    c.pending();
    sem.release(3);
    assert_eq!((a.wakes(), b.wakes(), c.wakes()), (1, 0, 0));
    drop(a); // granted, never polled again: 2 to `b`, 1 collected by `c`
    assert_eq!((b.wakes(), c.wakes()), (1, 0));
    b.ready().forget();
    sem.release(1);
    assert_eq!(c.wakes(), 1);
    drop(c.ready());
    assert_eq!(sem.available_permits(), 2);
    assert_eq!(sem.__waiter_records(), 0);
}

#[test]
fn dropping_the_last_granted_waiter_frees_its_permits() {
    let sem = Semaphore::new(0);
    let mut a = Probe::new(sem.acquire_many(2));
    a.pending();
    sem.release(2);
    assert_eq!(a.wakes(), 1);
    drop(a);
    assert_eq!(sem.available_permits(), 2);
    assert_eq!(sem.__waiter_records(), 0);
    assert!(sem.try_acquire_many(2).is_some());
}

#[test]
fn dropping_a_waiter_in_the_middle_keeps_the_order() {
    let sem = Semaphore::new(0);
    let mut a = Probe::new(sem.acquire());
    let mut b = Probe::new(sem.acquire_many(2));
    let mut c = Probe::new(sem.acquire());
    a.pending();
    b.pending();
    c.pending();
    drop(b);
    sem.release(2);
    assert_eq!((a.wakes(), c.wakes()), (1, 1));
    drop(a.ready());
    drop(c.ready());
    assert_eq!(sem.available_permits(), 2);
}

#[test]
fn dropping_owned_acquires_queued_partial_and_granted() {
    let sem = Arc::new(Semaphore::new(1));
    let mut big = Probe::new(sem.clone().acquire_many_owned(3)); // collects 1
    let mut queued = Probe::new(sem.clone().acquire_owned());
    let mut last = Probe::new(sem.clone().acquire_many_owned(2));
    big.pending();
    queued.pending();
    last.pending();
    drop(queued);
    drop(big); // its 1 goes to `last`
    sem.release(1);
    assert_eq!(last.wakes(), 1);
    drop(last.ready());
    assert_eq!(sem.available_permits(), 2);
    assert_eq!(sem.__waiter_records(), 0);
    assert_eq!(Arc::strong_count(&sem), 1);
}

// ---------------------------------------------------------------------------
// Cancel safety under a runtime
// ---------------------------------------------------------------------------

#[tokio::test]
async fn zero_timeout_succeeds_when_permits_are_free() {
    let sem = Semaphore::new(2);
    let p = timeout(Duration::ZERO, sem.acquire_many(2)).await.unwrap();
    assert_eq!(p.permits(), 2);
    assert!(timeout(Duration::ZERO, sem.acquire()).await.is_err());
    assert_eq!(sem.__waiter_records(), 0);
}

#[tokio::test]
async fn zero_timeout_on_a_partial_acquire_many_gives_the_permits_back() {
    let sem = Semaphore::new(2);
    assert!(timeout(Duration::ZERO, sem.acquire_many(3)).await.is_err());
    assert_eq!(sem.available_permits(), 2);
    assert_eq!(sem.__waiter_records(), 0);
}

#[tokio::test(start_paused = true)]
async fn tiny_timeouts_leave_nothing_behind() {
    let sem = Semaphore::new(1);
    for micros in [0, 1, 10, 100, 1000] {
        let r = timeout(Duration::from_micros(micros), sem.acquire_many(2)).await;
        assert!(r.is_err());
        assert_eq!(sem.available_permits(), 1);
        assert_eq!(sem.__waiter_records(), 0);
    }
}

#[tokio::test]
async fn select_dropping_a_partial_acquire_many() {
    let sem = Semaphore::new(1);
    tokio::select! {
        biased;
        _ = sem.acquire_many(2) => panic!("only one permit exists"),
        () = tokio::task::yield_now() => {}
    }
    assert_eq!(sem.available_permits(), 1);
    assert_eq!(sem.__waiter_records(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aborting_tasks_blocked_in_acquire_many() {
    let sem = Arc::new(Semaphore::new(2));
    let done = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..6)
        .map(|i| {
            let (sem, done) = (sem.clone(), done.clone());
            tokio::spawn(async move {
                let _p = sem.acquire_many(3 + i % 2).await;
                done.fetch_add(1, Ordering::SeqCst);
            })
        })
        .collect();
    // The first one collects both permits and waits; the rest queue.
    until("six waiters", || sem.__waiter_records() == 6).await;
    assert_eq!(sem.available_permits(), 0);
    let mut kept = Vec::new();
    for (i, t) in tasks.into_iter().enumerate() {
        if i % 3 == 0 {
            t.abort(); // including the partially filled head
            assert!(t.await.unwrap_err().is_cancelled());
        } else {
            kept.push(t);
        }
    }
    assert_eq!(sem.__waiter_records(), 4);
    sem.release(2); // 4 permits: enough for each remaining task in turn
    for t in kept {
        within("a kept task", t).await.unwrap();
    }
    assert_eq!(done.load(Ordering::SeqCst), 4);
    assert_eq!(sem.available_permits(), 4);
    assert_eq!(sem.__waiter_records(), 0);
}

#[tokio::test]
async fn aborting_a_task_granted_permits_before_it_ran() {
    let sem = Arc::new(Semaphore::new(0));
    let spawn = |n: usize| {
        let sem = sem.clone();
        tokio::spawn(async move { sem.acquire_many(n).await.forget() })
    };
    let a = spawn(2);
    let b = spawn(1);
    let c = spawn(1);
    until("all queued", || sem.__waiter_records() == 3).await;
    sem.release(2); // granted to `a`, which has not run yet
    a.abort();
    assert!(a.await.unwrap_err().is_cancelled());
    within("b", b).await.unwrap();
    within("c", c).await.unwrap();
    assert_eq!(sem.available_permits(), 0, "b and c forgot one each");
    assert_eq!(sem.__waiter_records(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancellation_stress_never_leaks_or_overcommits() {
    const PERMITS: usize = 4;
    let sem = Arc::new(Semaphore::new(PERMITS));
    let inside = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..8_u64)
        .map(|seed| {
            let (sem, inside) = (sem.clone(), inside.clone());
            tokio::spawn(async move {
                let mut rng = Rng::new(seed + 100);
                for _ in 0..300 {
                    let n = 1 + rng.below(3);
                    let d = rng.micros(40);
                    let permit = match rng.below(3) {
                        0 => timeout(d, sem.acquire_many(n)).await.ok(),
                        1 => tokio::select! {
                            p = sem.acquire_many(n) => Some(p),
                            () = tokio::task::yield_now() => None,
                        },
                        _ => Some(sem.acquire_many(n).await),
                    };
                    if let Some(p) = permit {
                        let now = inside.fetch_add(n, Ordering::SeqCst) + n;
                        assert!(now <= PERMITS, "{now} permits in use");
                        tokio::task::yield_now().await;
                        inside.fetch_sub(n, Ordering::SeqCst);
                        drop(p);
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        within("a stress task", t).await.unwrap();
    }
    assert_eq!(sem.available_permits(), PERMITS);
    assert_eq!(sem.__waiter_records(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permits_held_across_await_in_spawned_tasks() {
    let sem = Arc::new(Semaphore::new(3));
    let inside = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..12)
        .map(|_| {
            let (sem, inside, peak) = (sem.clone(), inside.clone(), peak.clone());
            tokio::spawn(async move {
                for _ in 0..50 {
                    let _p = sem.acquire().await;
                    let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    tokio::task::yield_now().await;
                    inside.fetch_sub(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    for t in tasks {
        within("a task", t).await.unwrap();
    }
    assert!(peak.load(Ordering::SeqCst) <= 3);
    assert_eq!(sem.available_permits(), 3);
}

// ---------------------------------------------------------------------------
// Edge inputs
// ---------------------------------------------------------------------------

#[test]
fn release_zero_does_nothing_even_with_waiters() {
    let sem = Semaphore::new(0);
    sem.release(0);
    assert_eq!(sem.available_permits(), 0);
    let mut w = Probe::new(sem.acquire());
    w.pending();
    sem.release(0);
    assert_eq!(w.wakes(), 0);
    assert_eq!(sem.__waiter_records(), 1);
    sem.release(1);
    drop(w.ready());
}

#[test]
fn max_permits_can_be_held_and_taken() {
    let sem = Semaphore::new(MAX);
    assert_eq!(sem.available_permits(), MAX);
    let all = sem.try_acquire_many(MAX).unwrap();
    assert_eq!(sem.available_permits(), 0);
    assert_eq!(all.permits(), MAX);
    drop(all);
    assert_eq!(sem.available_permits(), MAX);
    let mut fut = sem.acquire_many(MAX);
    assert!(poll_once(&mut fut).is_ready());
}

#[test]
#[should_panic(expected = "a semaphore holds at most usize::MAX >> 2 permits")]
fn new_above_max_permits_panics() {
    let _ = Semaphore::new(MAX + 1);
}

#[test]
#[should_panic(expected = "would exceed the maximum of usize::MAX >> 2 permits")]
fn release_overflowing_max_permits_panics() {
    Semaphore::new(MAX).release(1);
}

#[test]
#[should_panic(expected = "would exceed the maximum of usize::MAX >> 2 permits")]
fn release_of_usize_max_panics() {
    Semaphore::new(0).release(usize::MAX);
}

#[test]
fn release_overflow_on_the_fast_path_changes_nothing() {
    let sem = Semaphore::new(MAX - 1);
    let r = catch_unwind(AssertUnwindSafe(|| sem.release(2)));
    let msg = panic_message(&*r.unwrap_err());
    assert!(msg.contains("would exceed the maximum"), "{msg}");
    assert_eq!(sem.available_permits(), MAX - 1);
    sem.release(1);
    assert_eq!(sem.available_permits(), MAX);
}

#[test]
fn release_overflow_while_waiters_queue_changes_nothing() {
    // The slow path (permits handed to waiters) checks the bound too.
    let sem = Semaphore::new(3);
    let mut w = Probe::new(sem.acquire_many(5)); // holds 3 of 5 while queued
    w.pending();
    let r = catch_unwind(AssertUnwindSafe(|| sem.release(MAX - 2)));
    let msg = panic_message(&*r.unwrap_err());
    assert!(msg.contains("would exceed the maximum"), "{msg}");
    assert_eq!(w.wakes(), 0);
    assert_eq!(sem.available_permits(), 0);
    assert_eq!(sem.__waiter_records(), 1);
    sem.release(2); // the semaphore still works after the refused release
    assert_eq!(w.wakes(), 1);
    drop(w.ready());
    assert_eq!(sem.available_permits(), 5);
}

#[test]
#[should_panic(expected = "acquire_many(4611686018427387904) can never succeed")]
fn acquire_many_above_max_permits_panics() {
    let sem = Semaphore::new(1);
    drop(sem.acquire_many(MAX + 1));
}

#[test]
#[should_panic(expected = "can never succeed")]
fn acquire_many_usize_max_panics() {
    drop(Semaphore::new(1).acquire_many(usize::MAX));
}

#[tokio::test]
#[should_panic(expected = "can never succeed")]
async fn acquire_many_owned_above_max_permits_panics() {
    let sem = Arc::new(Semaphore::new(1));
    drop(sem.acquire_many_owned(MAX + 1).await);
}

#[test]
fn try_acquire_many_above_max_permits_is_none() {
    let sem = Arc::new(Semaphore::new(MAX));
    assert!(sem.try_acquire_many(MAX + 1).is_none());
    assert!(sem.try_acquire_many(usize::MAX).is_none());
    assert!(sem.clone().try_acquire_many_owned(usize::MAX).is_none());
    assert_eq!(sem.available_permits(), MAX);
}

#[test]
#[should_panic(expected = "SemaphoreAcquire polled after it returned its permit")]
fn polling_after_completion_panics() {
    let sem = Semaphore::new(1);
    let mut a = Probe::new(sem.acquire());
    let _p = a.ready();
    let _ = a.poll();
}

#[test]
#[should_panic(expected = "SemaphoreAcquireOwned polled after it returned its permit")]
fn polling_an_owned_acquire_after_completion_panics() {
    let sem = Arc::new(Semaphore::new(1));
    let mut a = Probe::new(sem.acquire_owned());
    let _p = a.ready();
    let _ = a.poll();
}

#[test]
fn polling_a_granted_acquire_after_completion_panics_too() {
    // Granted through the queue (not the fast path): the same message.
    let sem = Semaphore::new(1);
    let held = sem.try_acquire().unwrap();
    let mut a = Probe::new(sem.acquire());
    a.pending();
    drop(held);
    let p = a.ready();
    assert_eq!(p.permits(), 1);
    let err = catch_unwind(AssertUnwindSafe(|| a.poll())).unwrap_err();
    assert!(panic_message(&*err).contains("polled after it returned its permit"));
}
