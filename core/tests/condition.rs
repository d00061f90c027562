//! Condition: notify(n) semantics, pass-on of cancelled notifications, the
//! two-locks panic, and ports of CPython's `ConditionTests`.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use warden::{Condition, Lock};

type Shared = Arc<(Lock<usize>, Condition)>;

/// Spawns `n` tasks that each wait once, then count themselves woken.
async fn spawn_waiters(
    shared: &Shared,
    woken: &Arc<AtomicUsize>,
    n: usize,
) -> Vec<tokio::task::JoinHandle<()>> {
    let before = shared.1.waiters();
    let handles = (0..n)
        .map(|_| {
            let (shared, woken) = (shared.clone(), woken.clone());
            tokio::spawn(async move {
                let (lock, cond) = &*shared;
                let g = cond.wait(lock.acquire().await).await;
                woken.fetch_add(1, Ordering::SeqCst);
                drop(g);
            })
        })
        .collect();
    while shared.1.waiters() < before + n {
        tokio::task::yield_now().await;
    }
    handles
}

async fn settle() {
    for _ in 0..50 {
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn notify_n_wakes_exactly_min_n_waiting() {
    // CPython ConditionTests._check_notify: notify(1), notify(3), notify_all.
    let shared: Shared = Arc::new((Lock::new(0), Condition::new()));
    let woken = Arc::new(AtomicUsize::new(0));
    let handles = spawn_waiters(&shared, &woken, 5).await;
    shared.1.notify(0);
    settle().await;
    assert_eq!(woken.load(Ordering::SeqCst), 0, "notify(0) wakes nobody");
    shared.1.notify(1);
    settle().await;
    assert_eq!(woken.load(Ordering::SeqCst), 1);
    shared.1.notify(3);
    settle().await;
    assert_eq!(woken.load(Ordering::SeqCst), 4);
    shared.1.notify(10);
    settle().await;
    assert_eq!(
        woken.load(Ordering::SeqCst),
        5,
        "notify(10) with one waiting wakes one"
    );
    for h in handles {
        h.await.unwrap();
    }
    // Notifications are not stored for later waiters.
    let handles = spawn_waiters(&shared, &woken, 2).await;
    shared.1.notify_all();
    for h in handles {
        h.await.unwrap();
    }
    assert_eq!(woken.load(Ordering::SeqCst), 7);
    assert_eq!(shared.1.__waiter_records(), 0);
}

#[tokio::test]
async fn notify_counts_only_waiters_not_yet_notified() {
    let shared: Shared = Arc::new((Lock::new(0), Condition::new()));
    let woken = Arc::new(AtomicUsize::new(0));
    let handles = spawn_waiters(&shared, &woken, 3).await;
    // Hold the lock so notified waiters cannot finish re-taking it.
    let hold = shared.0.acquire().await;
    shared.1.notify(1);
    settle().await;
    shared.1.notify(1); // the first notified is not counted again
    assert_eq!(shared.1.waiters(), 1);
    drop(hold);
    settle().await;
    assert_eq!(woken.load(Ordering::SeqCst), 2);
    shared.1.notify_all();
    for h in handles {
        h.await.unwrap();
    }
}

#[tokio::test]
async fn waiter_notified_then_cancelled_passes_it_on() {
    let shared: Shared = Arc::new((Lock::new(0), Condition::new()));
    let woken = Arc::new(AtomicUsize::new(0));
    let victim = {
        let shared = shared.clone();
        tokio::spawn(async move {
            let (lock, cond) = &*shared;
            let _g = cond.wait(lock.acquire().await).await;
            unreachable!("aborted before it could run");
        })
    };
    while shared.1.waiters() < 1 {
        tokio::task::yield_now().await;
    }
    let others = spawn_waiters(&shared, &woken, 2).await;
    // Notify the victim (first in line), then cancel it before it runs.
    shared.1.notify(1);
    victim.abort();
    assert!(victim.await.unwrap_err().is_cancelled());
    settle().await;
    assert_eq!(
        woken.load(Ordering::SeqCst),
        1,
        "the notification went to the next waiter"
    );
    shared.1.notify(1);
    for h in others {
        h.await.unwrap();
    }
    assert_eq!(shared.1.__waiter_records(), 0);
}

#[tokio::test]
async fn waiter_cancelled_while_retaking_the_lock_passes_it_on() {
    let shared: Shared = Arc::new((Lock::new(0), Condition::new()));
    let woken = Arc::new(AtomicUsize::new(0));
    let victim = {
        let shared = shared.clone();
        tokio::spawn(async move {
            let (lock, cond) = &*shared;
            let _g = cond.wait(lock.acquire().await).await;
            unreachable!("aborted while re-taking the lock");
        })
    };
    while shared.1.waiters() < 1 {
        tokio::task::yield_now().await;
    }
    let others = spawn_waiters(&shared, &woken, 1).await;
    let hold = shared.0.acquire().await;
    shared.1.notify(1); // victim notified, now queued on the lock we hold
    settle().await;
    victim.abort();
    assert!(victim.await.unwrap_err().is_cancelled());
    drop(hold);
    settle().await;
    assert_eq!(woken.load(Ordering::SeqCst), 1);
    for h in others {
        h.await.unwrap();
    }
    assert!(!shared.0.locked());
}

#[tokio::test]
async fn waiter_cancelled_before_notify_is_withdrawn() {
    let shared: Shared = Arc::new((Lock::new(0), Condition::new()));
    let g = shared.0.acquire().await;
    let r = tokio::time::timeout(Duration::from_millis(5), shared.1.wait(g)).await;
    assert!(r.is_err());
    assert_eq!(shared.1.waiters(), 0);
    assert!(!shared.0.locked(), "the guard was dropped with the future");
    assert_eq!(shared.1.__waiter_records(), 0);
}

#[tokio::test]
async fn wait_for_checks_first_and_never_returns_with_pred_false() {
    // CPython test_waitfor: a waiter on `state == 4`, the state stepped 0..=4.
    let shared: Shared = Arc::new((Lock::new(0), Condition::new()));
    let waiter = tokio::spawn({
        let shared = shared.clone();
        async move {
            let (lock, cond) = &*shared;
            let mut checks = 0;
            let g = cond
                .wait_for(lock.acquire().await, |s| {
                    checks += 1;
                    *s == 4
                })
                .await;
            assert_eq!(*g, 4);
            checks
        }
    });
    for _ in 0..4 {
        tokio::task::yield_now().await;
        *shared.0.acquire().await += 1;
        shared.1.notify_all();
    }
    let checks = waiter.await.unwrap();
    assert!(
        checks >= 2,
        "the predicate is checked first and after wake-ups"
    );
}

#[cfg(feature = "tokio")]
#[tokio::test]
async fn wait_timeout_reports_timeout_and_notification() {
    // CPython test_timeout: wait(timeout) returns False on timeout, with
    // the lock held again.
    let lock = Lock::new(0);
    let cond = Condition::new();
    let (g, notified) = cond
        .wait_timeout(lock.acquire().await, Duration::from_millis(5))
        .await;
    assert!(!notified);
    assert!(lock.locked(), "the lock is held again after a timeout");
    drop(g);

    let shared: Shared = Arc::new((Lock::new(0), Condition::new()));
    let waiter = tokio::spawn({
        let shared = shared.clone();
        async move {
            let (lock, cond) = &*shared;
            let (g, notified) = cond
                .wait_timeout(lock.acquire().await, Duration::from_mins(1))
                .await;
            drop(g);
            notified
        }
    });
    while shared.1.waiters() < 1 {
        tokio::task::yield_now().await;
    }
    shared.1.notify_one();
    assert!(waiter.await.unwrap());
}

#[tokio::test]
async fn owned_guards_work_with_wait() {
    let lock = Arc::new(Lock::new(VecDeque::new()));
    let cond = Arc::new(Condition::new());
    let consumer = tokio::spawn({
        let (lock, cond) = (lock.clone(), cond.clone());
        async move {
            let g = lock.acquire_owned().await;
            let mut g = cond.wait_for(g, |q| !q.is_empty()).await;
            g.pop_front()
        }
    });
    tokio::task::yield_now().await;
    lock.acquire().await.push_back(42);
    cond.notify_one();
    assert_eq!(consumer.await.unwrap(), Some(42));
}

#[tokio::test]
#[should_panic(expected = "this Condition was used with two different locks")]
async fn one_condition_with_two_locks_panics() {
    let (a, b) = (Lock::new(()), Lock::new(()));
    let cond = Condition::new();
    let _ = tokio::time::timeout(Duration::from_millis(1), cond.wait(a.acquire().await)).await;
    drop(cond.wait(b.acquire().await));
}

#[tokio::test]
async fn predicate_panic_releases_the_lock_and_condition_stays_usable() {
    let shared: Shared = Arc::new((Lock::new(0), Condition::new()));
    let panicker = tokio::spawn({
        let shared = shared.clone();
        async move {
            let (lock, cond) = &*shared;
            let _g = cond
                .wait_for(lock.acquire().await, |_| panic!("predicate exploded"))
                .await;
        }
    });
    assert!(panicker.await.unwrap_err().is_panic());
    assert!(!shared.0.locked());
    let woken = Arc::new(AtomicUsize::new(0));
    let h = spawn_waiters(&shared, &woken, 1).await;
    shared.1.notify_all();
    for h in h {
        h.await.unwrap();
    }
    assert_eq!(woken.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_future_is_send_and_runs_on_a_multi_thread_runtime() {
    let shared: Shared = Arc::new((Lock::new(0), Condition::new()));
    let t = tokio::spawn({
        let shared = shared.clone();
        async move {
            let (lock, cond) = &*shared;
            let g = cond.wait_for(lock.acquire().await, |n| *n == 1).await;
            *g
        }
    });
    tokio::time::sleep(Duration::from_millis(5)).await;
    *shared.0.acquire().await = 1;
    shared.1.notify_all();
    assert_eq!(t.await.unwrap(), 1);
}

#[test]
fn blocking_twins_between_threads() {
    let shared: Shared = Arc::new((Lock::new(0), Condition::new()));
    let consumers: Vec<_> = (0..3)
        .map(|_| {
            let shared = shared.clone();
            std::thread::spawn(move || {
                let (lock, cond) = &*shared;
                let mut g = cond.wait_for_blocking(lock.acquire_blocking(), |n| *n > 0);
                *g -= 1;
            })
        })
        .collect();
    for _ in 0..3 {
        *shared.0.acquire_blocking() += 1;
        shared.1.notify_one();
    }
    for c in consumers {
        c.join().unwrap();
    }
    assert_eq!(*shared.0.acquire_blocking(), 0);
    let (g, notified) = shared
        .1
        .wait_timeout_blocking(shared.0.acquire_blocking(), Duration::from_millis(1));
    assert!(!notified);
    drop(g);
    assert_eq!(shared.1.__waiter_records(), 0);
}

// ---------------------------------------------------------------------------
// The same lock wherever it lives
// ---------------------------------------------------------------------------

/// A lock and its condition, kept together as users do.
struct Pair {
    lock: Lock<u32>,
    changed: Condition,
}

impl Pair {
    fn new() -> Self {
        Pair {
            lock: Lock::new(0),
            changed: Condition::new(),
        }
    }

    /// A wait, given up at once: `wait` registers (binding the condition to
    /// the lock on first use, checking it on every later one) when called.
    async fn wait_once(&self) {
        drop(self.changed.wait(self.lock.acquire().await));
        assert!(!self.lock.locked());
        assert_eq!(self.changed.waiters(), 0, "withdrawn");
    }
}

fn returned(pair: Pair) -> Pair {
    pair
}

#[tokio::test(start_paused = true)]
async fn a_lock_moved_with_its_condition_is_still_the_same_lock() {
    // Boxed, moved out of the box, returned by value: the same lock.
    let pair = Box::new(Pair::new());
    pair.wait_once().await;
    let pair = returned(*pair);
    pair.wait_once().await;
    let boxed = Box::new(pair);
    boxed.wait_once().await;

    // In a `Vec` that reallocates between waits (every element moves).
    let mut pairs = vec![Pair::new()];
    pairs[0].wait_once().await;
    let before = pairs.as_ptr();
    pairs.extend((0..100).map(|_| Pair::new()));
    assert_ne!(before, pairs.as_ptr(), "the Vec reallocated");
    pairs[0].wait_once().await;
    for pair in &pairs {
        pair.wait_once().await;
    }
}

#[tokio::test(start_paused = true)]
#[should_panic(expected = "this Condition was used with two different locks")]
async fn a_condition_used_with_another_lock_after_a_move_still_panics() {
    let pair = Pair::new();
    pair.wait_once().await;
    let moved = returned(pair);
    let other = Lock::new(0_u32);
    drop(moved.changed.wait(other.acquire().await));
}

#[test]
fn lock_identity_costs_no_size_and_new_stays_const() {
    // Allocated with the wait queue on first use: `Lock::new` stays a
    // `const fn` (this `static` compiles) and the lock two words.
    static LOCK: Lock<()> = Lock::new(());
    assert!(!LOCK.locked());
    // With the `tracing` feature each primitive carries its name and
    // number too (that build is not the one whose size is promised).
    #[cfg(not(feature = "tracing"))]
    {
        assert!(std::mem::size_of::<Lock<()>>() <= 16);
        assert!(std::mem::size_of::<Condition>() <= 16);
    }
}

// ---------------------------------------------------------------------------
// wait_for_timeout: Python's wait_for(predicate, timeout)
// ---------------------------------------------------------------------------

#[cfg(feature = "tokio")]
#[tokio::test(start_paused = true)]
async fn wait_for_timeout_returns_at_once_when_the_predicate_holds() {
    let (lock, cond) = (Lock::new(1_u32), Condition::new());
    let start = tokio::time::Instant::now();
    let (g, ok) = cond
        .wait_for_timeout(lock.acquire().await, Duration::from_secs(5), |n| *n == 1)
        .await;
    assert!(ok);
    assert_eq!(*g, 1);
    assert_eq!(start.elapsed(), Duration::ZERO);
}

#[cfg(feature = "tokio")]
#[tokio::test(start_paused = true)]
async fn wait_for_timeout_gives_the_guard_back_when_time_runs_out() {
    let shared = Arc::new((Lock::new(0_usize), Condition::new()));
    // Notifications that leave the predicate false do not restart the
    // clock: the timeout is for the whole wait, as in Python.
    let nudger = tokio::spawn({
        let shared = shared.clone();
        async move {
            for _ in 0..3 {
                tokio::time::sleep(Duration::from_millis(20)).await;
                *shared.0.acquire().await += 1; // never reaches 10
                shared.1.notify_all();
            }
        }
    });
    let start = tokio::time::Instant::now();
    let (lock, cond) = &*shared;
    let (mut g, ok) = cond
        .wait_for_timeout(lock.acquire().await, Duration::from_millis(50), |n| {
            *n >= 10
        })
        .await;
    assert!(!ok, "the predicate never held");
    assert_eq!(start.elapsed(), Duration::from_millis(50));
    assert!(lock.locked(), "the guard came back: the lock is held");
    *g += 100;
    drop(g);
    nudger.await.unwrap();
    assert_eq!(*lock.acquire().await, 103);
    assert_eq!(cond.__waiter_records(), 0);
}

#[cfg(feature = "tokio")]
#[tokio::test(start_paused = true)]
async fn wait_for_timeout_returns_true_once_a_notification_makes_it_hold() {
    let shared = Arc::new((Lock::new(false), Condition::new()));
    let setter = tokio::spawn({
        let shared = shared.clone();
        async move {
            tokio::time::sleep(Duration::from_millis(10)).await;
            *shared.0.acquire().await = true;
            shared.1.notify_one();
        }
    });
    let (lock, cond) = &*shared;
    let (g, ok) = cond
        .wait_for_timeout(lock.acquire().await, Duration::from_mins(1), |ready| *ready)
        .await;
    assert!(ok && *g);
    drop(g);
    setter.await.unwrap();
}

#[cfg(feature = "tokio")]
#[tokio::test(start_paused = true)]
async fn wait_for_timeout_cancelled_passes_a_taken_notification_on() {
    let shared = Arc::new((Lock::new(0_u32), Condition::new()));
    let (lock, cond) = &*shared;
    let first = tokio::spawn({
        let shared = shared.clone();
        async move {
            let (lock, cond) = &*shared;
            cond.wait_for_timeout(lock.acquire().await, Duration::from_mins(1), |n| *n > 0)
                .await
                .1
        }
    });
    while cond.waiters() < 1 {
        tokio::task::yield_now().await; // `first` is the oldest waiter
    }
    let second = tokio::spawn({
        let shared = shared.clone();
        async move {
            let (lock, cond) = &*shared;
            cond.wait_for_timeout(lock.acquire().await, Duration::from_mins(1), |n| *n > 0)
                .await
                .1
        }
    });
    while cond.waiters() < 2 {
        tokio::task::yield_now().await;
    }
    let mut g = lock.acquire().await; // the notified one cannot relock yet
    cond.notify_one(); // taken by `first`...
    first.abort(); // ...which is cancelled before it re-took the lock
    assert!(first.await.unwrap_err().is_cancelled());
    *g = 1;
    drop(g);
    // The notification passed on to `second`, which sees the predicate hold.
    assert!(second.await.unwrap());
    assert_eq!(cond.__waiter_records(), 0);
}

#[test]
fn wait_for_timeout_blocking_between_threads() {
    let pair = Arc::new((Lock::new(0_u32), Condition::new()));
    let (g, ok) = pair.1.wait_for_timeout_blocking(
        pair.0.acquire_blocking(),
        Duration::from_millis(5),
        |n| *n > 0,
    );
    assert!(
        !ok && *g == 0,
        "nobody made it hold: timed out with the lock"
    );
    drop(g);
    let setter = std::thread::spawn({
        let pair = pair.clone();
        move || {
            while pair.1.waiters() == 0 {
                std::thread::yield_now();
            }
            *pair.0.acquire_blocking() = 7;
            pair.1.notify_all();
        }
    });
    let (g, ok) =
        pair.1
            .wait_for_timeout_blocking(pair.0.acquire_blocking(), Duration::from_mins(1), |n| {
                *n > 0
            });
    assert!(ok && *g == 7);
    drop(g);
    setter.join().unwrap();
}

/// A method's name, the line that called it, and a poll of its future.
#[cfg(feature = "tokio")]
type Case<'a> = (&'static str, u32, Box<dyn FnOnce() + 'a>);

/// A `*_timeout` wait needs tokio's clock: polled outside a runtime it
/// panics at its first poll, naming itself and the line that called it
/// (tokio's own panic would point inside warden).
#[cfg(feature = "tokio")]
#[test]
fn timeout_waits_outside_a_runtime_name_the_method_and_the_callers_line() {
    let (lock, cond) = (Lock::new(0_u32), Condition::new());
    let barrier = warden::Barrier::new(2);
    let cases: [Case<'_>; 3] = [
        ("Condition::wait_timeout", line!() + 1, {
            let fut = cond.wait_timeout(lock.try_acquire().unwrap(), Duration::from_millis(1));
            Box::new(move || drop(futures::executor::block_on(fut)))
        }),
        ("Condition::wait_for_timeout", line!() + 2, {
            let g = lock.try_acquire().unwrap();
            let fut = cond.wait_for_timeout(g, Duration::ZERO, |n| *n > 0);
            Box::new(move || drop(futures::executor::block_on(fut)))
        }),
        ("Barrier::wait_timeout", line!() + 1, {
            let fut = barrier.wait_timeout(Duration::from_millis(1));
            Box::new(move || {
                let _ = futures::executor::block_on(fut);
            })
        }),
    ];
    for (method, line, poll) in cases {
        let payload = std::panic::catch_unwind(std::panic::AssertUnwindSafe(poll)).unwrap_err();
        let msg = payload
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_default();
        let at = format!("{method} (called at {}:{line}:", file!());
        assert!(msg.contains(&at), "expected {at:?} in: {msg}");
        assert!(msg.contains("needs a tokio runtime"), "{msg}");
        assert!(msg.contains("feature `tokio`"), "{msg}");
    }
    assert!(!lock.locked(), "the guards dropped with the futures");
    assert_eq!(cond.__waiter_records(), 0);
    assert_eq!(barrier.n_waiting(), 0);
}
