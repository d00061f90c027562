//! `BoundedSemaphore`: the bound (over-release is `Err(TooManyReleases)`
//! and changes nothing; requests above the bound panic instead of hanging),
//! what a manual `release` may give back, and the same FIFO and cancel
//! safety as `Semaphore` (it shares the future type). CPython ports live
//! in `cpython_lock_tests.rs`.

mod support;

use std::sync::Arc;
use std::time::Duration;

use support::{Probe, until, within};
use tokio::time::timeout;
use warden::{BoundedSemaphore, Semaphore, TooManyReleases};

#[test]
fn new_bound_and_debug() {
    static SEM: BoundedSemaphore = BoundedSemaphore::new(2);
    assert_eq!(SEM.bound(), 2);
    assert_eq!(SEM.available_permits(), 2);
    let d = format!("{SEM:?}");
    assert!(
        d.starts_with("BoundedSemaphore {")
            && d.contains("available_permits: 2")
            && d.contains("bound: 2"),
        "{d}"
    );
}

#[test]
fn release_past_the_bound_is_refused_and_changes_nothing() {
    let sem = BoundedSemaphore::new(2);
    assert_eq!(sem.release(1), Err(TooManyReleases));
    assert_eq!(sem.release(5), Err(TooManyReleases));
    assert_eq!(sem.available_permits(), 2);
    // Still fully usable.
    let both = sem.try_acquire_many(2).unwrap();
    assert_eq!(both.permits(), 2);
    assert!(sem.try_acquire().is_none());
}

#[test]
fn release_gives_back_forgotten_permits_only() {
    let sem = BoundedSemaphore::new(3);
    sem.try_acquire_many(2).unwrap().forget();
    assert_eq!(sem.available_permits(), 1);
    assert_eq!(
        sem.release(3),
        Err(TooManyReleases),
        "only 2 were forgotten"
    );
    assert_eq!(sem.available_permits(), 1, "a refused release adds nothing");
    assert_eq!(sem.release(2), Ok(()));
    assert_eq!(sem.available_permits(), 3);
    assert_eq!(sem.release(1), Err(TooManyReleases));
}

#[test]
fn a_stray_release_while_a_permit_is_held_is_refused() {
    // Python accepts this release and raises later, at the holder's exit;
    // warden refuses the stray release itself (see the type's docs).
    let sem = BoundedSemaphore::new(1);
    let held = sem.try_acquire().unwrap();
    assert_eq!(sem.release(1), Err(TooManyReleases));
    assert_eq!(sem.available_permits(), 0);
    drop(held);
    assert_eq!(sem.available_permits(), 1);
}

#[test]
fn release_zero_always_succeeds_and_does_nothing() {
    let sem = BoundedSemaphore::new(1);
    assert_eq!(sem.release(0), Ok(()));
    assert_eq!(sem.available_permits(), 1);
    let _p = sem.try_acquire().unwrap();
    assert_eq!(sem.release(0), Ok(()));
    assert_eq!(sem.available_permits(), 0);
}

#[test]
fn dropped_permits_never_exceed_the_bound() {
    let sem = BoundedSemaphore::new(3);
    let permits: Vec<_> = (0..3).map(|_| sem.try_acquire().unwrap()).collect();
    assert!(sem.try_acquire().is_none());
    drop(permits);
    assert_eq!(sem.available_permits(), 3);
}

#[test]
fn owned_permits_forget_and_release() {
    let sem = Arc::new(BoundedSemaphore::new(2));
    let p = sem.clone().try_acquire_owned().unwrap();
    assert_eq!(sem.release(1), Err(TooManyReleases), "held, not forgotten");
    p.forget();
    assert_eq!(sem.available_permits(), 1);
    assert_eq!(sem.release(1), Ok(()));
    assert_eq!(sem.available_permits(), 2);
    // An owned permit handed over from acquire_many_owned is not "forgotten".
    let mut fut = Probe::new(sem.clone().acquire_many_owned(2));
    let two = fut.ready();
    assert_eq!(sem.release(1), Err(TooManyReleases));
    drop(two);
    assert_eq!(sem.available_permits(), 2);
}

#[tokio::test]
async fn a_release_serves_waiters_first() {
    let sem = BoundedSemaphore::new(2);
    sem.acquire_many(2).await.forget();
    let mut w = Probe::new(sem.acquire_many(2));
    w.pending();
    assert_eq!(sem.release(1), Ok(()));
    assert_eq!(w.wakes(), 0);
    assert_eq!(sem.release(1), Ok(()));
    assert_eq!(w.wakes(), 1);
    assert_eq!(sem.available_permits(), 0);
    assert_eq!(
        sem.release(1),
        Err(TooManyReleases),
        "the waiter holds both"
    );
    drop(w.ready());
    assert_eq!(sem.available_permits(), 2);
}

#[test]
fn concurrent_forget_and_release_never_pass_the_bound() {
    // Forgotten permits form one pool: any thread may give one back (as any
    // Python thread may `release()`), so a stray release can take the one
    // another thread forgot. What must hold: every release that succeeds
    // returns a forgotten permit, and the bound is never passed.
    let sem = Arc::new(BoundedSemaphore::new(4));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let sem = sem.clone();
            std::thread::spawn(move || {
                let mut returned = 0;
                for _ in 0..1000 {
                    sem.acquire_blocking().forget();
                    for _ in 0..2 {
                        returned += usize::from(sem.release(1).is_ok());
                        assert!(sem.available_permits() <= 4, "bound passed");
                    }
                }
                returned
            })
        })
        .collect();
    let returned: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    let still_forgotten = 4000 - returned;
    assert_eq!(sem.available_permits() + still_forgotten, 4);
    assert_eq!(sem.release(still_forgotten), Ok(()));
    assert_eq!(sem.available_permits(), 4);
    assert_eq!(sem.release(1), Err(TooManyReleases));
}

// ---------------------------------------------------------------------------
// Requests the bound can never satisfy: a clear panic, never a hang
// ---------------------------------------------------------------------------

#[test]
#[should_panic(expected = "acquire_many(4) on a BoundedSemaphore of 3 permits can never succeed")]
fn acquire_many_above_the_bound_panics() {
    let sem = BoundedSemaphore::new(3);
    drop(sem.acquire_many(4));
}

#[test]
#[should_panic(expected = "can never succeed")]
fn acquire_many_blocking_above_the_bound_panics() {
    let sem = BoundedSemaphore::new(1);
    drop(sem.acquire_many_blocking(2));
}

#[tokio::test]
#[should_panic(expected = "can never succeed")]
async fn acquire_many_owned_above_the_bound_panics() {
    let sem = Arc::new(BoundedSemaphore::new(1));
    drop(sem.acquire_many_owned(2).await);
}

#[test]
#[should_panic(expected = "can never succeed")]
fn acquire_many_above_max_permits_panics() {
    drop(BoundedSemaphore::new(1).acquire_many(usize::MAX));
}

/// `acquire()` is `acquire_many(1)`: on a semaphore bounded at 0 it can
/// never succeed either, and must say so rather than wait forever.
#[test]
#[should_panic(expected = "can never succeed")]
fn acquire_on_a_zero_bound_panics_instead_of_hanging() {
    let sem = BoundedSemaphore::new(0);
    drop(sem.acquire());
}

#[test]
fn a_zero_bound_still_grants_zero_permits() {
    let sem = BoundedSemaphore::new(0);
    let mut zero = Probe::new(sem.acquire_many(0));
    assert_eq!(zero.ready().permits(), 0);
    assert_eq!(sem.try_acquire_many(0).unwrap().permits(), 0);
    assert!(sem.try_acquire().is_none());
    assert_eq!(sem.release(0), Ok(()));
}

#[test]
fn try_acquire_many_above_the_bound_is_none() {
    let sem = BoundedSemaphore::new(2);
    assert!(sem.try_acquire_many(3).is_none());
    assert!(sem.try_acquire_many(usize::MAX).is_none());
    assert_eq!(sem.available_permits(), 2);
}

#[test]
fn max_permits_bound() {
    let sem = BoundedSemaphore::new(Semaphore::MAX_PERMITS);
    assert_eq!(sem.bound(), Semaphore::MAX_PERMITS);
    assert_eq!(sem.release(1), Err(TooManyReleases));
    sem.try_acquire().unwrap().forget();
    assert_eq!(sem.release(1), Ok(()));
    assert_eq!(sem.available_permits(), Semaphore::MAX_PERMITS);
}

// ---------------------------------------------------------------------------
// FIFO and cancel safety (the future is Semaphore's; spot checks)
// ---------------------------------------------------------------------------

#[test]
fn fifo_and_no_overtaking() {
    let sem = BoundedSemaphore::new(3);
    let all = sem.try_acquire_many(3).unwrap();
    let mut big = Probe::new(sem.acquire_many(3));
    let mut small = Probe::new(sem.acquire());
    big.pending();
    small.pending();
    drop(all);
    assert_eq!((big.wakes(), small.wakes()), (1, 0));
    assert!(sem.try_acquire().is_none());
    drop(big.ready());
    assert_eq!(small.wakes(), 1);
    drop(small.ready());
    assert_eq!(sem.available_permits(), 3);
}

#[test]
fn dropping_queued_partial_and_granted_waiters() {
    let sem = BoundedSemaphore::new(3);
    let one = sem.try_acquire().unwrap();
    let mut big = Probe::new(sem.acquire_many(3)); // collects 2
    let mut mid = Probe::new(sem.acquire());
    let mut last = Probe::new(sem.acquire_many(2));
    big.pending();
    mid.pending();
    last.pending();
    drop(mid); // queued
    drop(one); // completes `big`
    assert_eq!(big.wakes(), 1);
    drop(big); // granted: all 3 go on, 2 to `last`, 1 free
    assert_eq!(last.wakes(), 1);
    assert_eq!(sem.available_permits(), 1);
    drop(last.ready());
    assert_eq!(sem.available_permits(), 3);
    assert_eq!(sem.__waiter_records(), 0);
    assert_eq!(
        sem.release(1),
        Err(TooManyReleases),
        "nothing was forgotten"
    );
}

#[tokio::test]
async fn timeouts_and_abort_leave_the_bound_intact() {
    let sem = Arc::new(BoundedSemaphore::new(2));
    let held = sem.acquire().await;
    assert!(timeout(Duration::ZERO, sem.acquire_many(2)).await.is_err());
    assert_eq!(sem.available_permits(), 1);
    let blocked = tokio::spawn({
        let sem = sem.clone();
        async move { drop(sem.acquire_many(2).await) }
    });
    until("a waiter queued", || sem.__waiter_records() == 1).await;
    blocked.abort();
    assert!(blocked.await.unwrap_err().is_cancelled());
    drop(held);
    assert_eq!(sem.available_permits(), 2);
    assert_eq!(sem.__waiter_records(), 0);
    assert_eq!(sem.release(1), Err(TooManyReleases));
    let p = within("acquire after cancellations", sem.acquire_many(2)).await;
    assert_eq!(p.permits(), 2);
}
