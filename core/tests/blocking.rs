//! The blocking twins (`acquire_blocking`, `acquire_many_blocking`,
//! `wait_blocking`, `wait_timeout_blocking`) of `Lock`, `Semaphore`,
//! `BoundedSemaphore` and `Event`: they share the FIFO with async waiters, work
//! on plain threads and in `spawn_blocking`, and panic — naming the async
//! method to use — when they would have to wait on a runtime worker.

mod support;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[cfg(feature = "tokio")]
use support::panic_on_worker;
use support::{panic_message, until, until_blocking, within};
use warden::{BoundedSemaphore, Event, Lock, Semaphore};

// ---------------------------------------------------------------------------
// On a runtime worker: panic if it would wait, with the async alternative.
// Refusing needs the `tokio` feature: without it, warden cannot tell a
// runtime worker from a plain thread (the docs say so).
// ---------------------------------------------------------------------------

#[cfg(feature = "tokio")]
#[track_caller]
fn assert_names(msg: &str, blocking: &str, use_instead: &str) {
    assert!(
        msg.contains(blocking),
        "message does not name {blocking}: {msg}"
    );
    assert!(
        msg.contains(use_instead),
        "message does not point to {use_instead}: {msg}"
    );
}

#[cfg(feature = "tokio")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_acquire_blocking_on_a_worker_panics_when_it_would_wait() {
    let lock = Arc::new(Lock::new(0));
    let held = lock.acquire().await;
    let msg = panic_on_worker({
        let lock = lock.clone();
        move || drop(lock.acquire_blocking())
    })
    .await;
    assert_names(&msg, "Lock::acquire_blocking", "`lock.acquire().await`");
    assert_eq!(lock.__waiter_records(), 0, "the refused call did not queue");
    drop(held);
    assert!(!lock.locked());
}

#[cfg(feature = "tokio")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn semaphore_blocking_twins_on_a_worker_panic_when_they_would_wait() {
    let sem = Arc::new(Semaphore::new(1));
    let msg = panic_on_worker({
        let sem = sem.clone();
        move || drop(sem.acquire_many_blocking(2))
    })
    .await;
    assert_names(
        &msg,
        "Semaphore::acquire_many_blocking",
        "`sem.acquire_many(n).await`",
    );
    let held = sem.acquire().await;
    let msg = panic_on_worker({
        let sem = sem.clone();
        move || drop(sem.acquire_blocking())
    })
    .await;
    assert_names(&msg, "Semaphore::acquire_blocking", "`sem.acquire().await`");
    assert_eq!(sem.__waiter_records(), 0);
    drop(held);
    assert_eq!(sem.available_permits(), 1);
}

#[cfg(feature = "tokio")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bounded_semaphore_blocking_twins_on_a_worker_panic_when_they_would_wait() {
    let sem = Arc::new(BoundedSemaphore::new(2));
    let held = sem.acquire().await;
    let msg = panic_on_worker({
        let sem = sem.clone();
        move || drop(sem.acquire_many_blocking(2))
    })
    .await;
    assert_names(
        &msg,
        "BoundedSemaphore::acquire_many_blocking",
        "`sem.acquire_many(n).await`",
    );
    let _second = sem.acquire().await;
    let msg = panic_on_worker({
        let sem = sem.clone();
        move || drop(sem.acquire_blocking())
    })
    .await;
    assert_names(
        &msg,
        "BoundedSemaphore::acquire_blocking",
        "`sem.acquire().await`",
    );
    assert_eq!(sem.__waiter_records(), 0);
    drop(held);
    assert_eq!(sem.available_permits(), 1);
}

#[cfg(feature = "tokio")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_wait_blocking_on_a_worker_panics_when_it_would_wait() {
    let ev = Arc::new(Event::new());
    let msg = panic_on_worker({
        let ev = ev.clone();
        move || ev.wait_blocking()
    })
    .await;
    assert_names(&msg, "Event::wait_blocking", "`event.wait().await`");
    assert_eq!(ev.__waiter_records(), 0);
}

#[cfg(feature = "tokio")]
/// There is no async `Event::wait_timeout`: the async twin of
/// `wait_timeout_blocking(d)` is `tokio::time::timeout(d, ev.wait())`, so
/// the message must point to `Event::wait`, not to a method that does not
/// exist.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_wait_timeout_blocking_on_a_worker_names_an_existing_async_method() {
    let ev = Arc::new(Event::new());
    let msg = panic_on_worker({
        let ev = ev.clone();
        move || {
            ev.wait_timeout_blocking(Duration::from_secs(1));
        }
    })
    .await;
    assert!(msg.contains("Event::wait_timeout_blocking"), "{msg}");
    assert!(
        !msg.contains("`Event::wait_timeout(..).await`"),
        "names a method that does not exist: {msg}"
    );
    assert!(
        msg.contains("`tokio::time::timeout(d, event.wait()).await`"),
        "{msg}"
    );
    assert_eq!(ev.__waiter_records(), 0);
}

#[cfg(feature = "tokio")]
#[tokio::test]
async fn blocking_twins_panic_on_the_thread_running_block_on() {
    // `#[tokio::test]` runs this body in a current-thread runtime's
    // `block_on`: waiting here would stall every task of the runtime.
    let lock = Lock::new(());
    let held = lock.acquire().await;
    let line = line!() + 1;
    let r = catch_unwind(AssertUnwindSafe(|| drop(lock.acquire_blocking())));
    let msg = panic_message(&*r.unwrap_err());
    assert_names(&msg, "Lock::acquire_blocking", "`lock.acquire().await`");
    assert!(
        msg.contains(&format!("called at {}:{line}:", file!())),
        "the message names the caller's line: {msg}"
    );
    assert_eq!(lock.__waiter_records(), 0);
    drop(held);

    let ev = Event::new();
    let r = catch_unwind(AssertUnwindSafe(|| ev.wait_blocking()));
    assert_names(
        &panic_message(&*r.unwrap_err()),
        "Event::wait_blocking",
        "`event.wait().await`",
    );
    assert_eq!(ev.__waiter_records(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_twins_that_need_not_wait_work_on_a_worker() {
    tokio::spawn(async {
        let lock = Lock::new(1);
        assert_eq!(*lock.acquire_blocking(), 1);
        let sem = Semaphore::new(2);
        assert_eq!(sem.acquire_blocking().permits(), 1);
        let _held = sem.acquire_many_blocking(2);
        assert_eq!(sem.acquire_many_blocking(0).permits(), 0, "0 never waits");
        let bounded = BoundedSemaphore::new(1);
        assert_eq!(bounded.acquire_blocking().permits(), 1);
        assert_eq!(bounded.acquire_many_blocking(1).permits(), 1);
        let ev = Event::new();
        ev.set();
        ev.wait_blocking();
        assert!(ev.wait_timeout_blocking(Duration::from_secs(1)));
    })
    .await
    .unwrap();
}

/// `wait_timeout_blocking(Duration::ZERO)` never waits — it is Python's
/// `ev.wait(0)`, a non-blocking check — so it may be called anywhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_wait_timeout_blocking_zero_never_waits_so_works_on_a_worker() {
    let ev = Arc::new(Event::new());
    let got = tokio::spawn({
        let ev = ev.clone();
        async move { ev.wait_timeout_blocking(Duration::ZERO) }
    })
    .await;
    assert!(!got.expect("a zero timeout never waits: it must not panic"));
    assert_eq!(ev.__waiter_records(), 0);
}

// ---------------------------------------------------------------------------
// In spawn_blocking and on plain threads: they block, sharing the FIFO
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_twins_work_inside_spawn_blocking() {
    let lock = Arc::new(Lock::new(0));
    let sem = Arc::new(Semaphore::new(0));
    let bounded = Arc::new(BoundedSemaphore::new(2));
    let ev = Arc::new(Event::new());
    let held_lock = lock.acquire().await;
    let held_bounded = bounded.acquire_many(2).await;

    let jobs = [
        tokio::task::spawn_blocking({
            let lock = lock.clone();
            move || *lock.acquire_blocking() += 1
        }),
        tokio::task::spawn_blocking({
            let sem = sem.clone();
            move || assert_eq!(sem.acquire_many_blocking(2).permits(), 2)
        }),
        tokio::task::spawn_blocking({
            let bounded = bounded.clone();
            move || drop(bounded.acquire_blocking())
        }),
        tokio::task::spawn_blocking({
            let ev = ev.clone();
            move || ev.wait_blocking()
        }),
        tokio::task::spawn_blocking({
            let ev = ev.clone();
            move || assert!(ev.wait_timeout_blocking(support::HANG))
        }),
    ];
    until("every blocking call queued", || {
        lock.__waiter_records() == 1
            && sem.__waiter_records() == 1
            && bounded.__waiter_records() == 1
            && ev.__waiter_records() == 2
    })
    .await;
    drop(held_lock);
    sem.release(2);
    drop(held_bounded);
    ev.set();
    for job in jobs {
        within("a spawn_blocking job", job).await.unwrap();
    }
    assert_eq!(*lock.acquire().await, 1);
    assert_eq!(sem.available_permits(), 2);
    assert_eq!(bounded.available_permits(), 2);
    for records in [
        lock.__waiter_records(),
        sem.__waiter_records(),
        bounded.__waiter_records(),
        ev.__waiter_records(),
    ] {
        assert_eq!(records, 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn threads_and_tasks_share_one_fifo_on_a_lock() {
    let lock = Arc::new(Lock::new(()));
    let order = Arc::new(Mutex::new(Vec::new()));
    let held = lock.acquire().await;
    let thread = |tag: &'static str| {
        let (lock, order) = (lock.clone(), order.clone());
        std::thread::spawn(move || {
            let _g = lock.acquire_blocking();
            order.lock().unwrap().push(tag);
        })
    };
    let task = |tag: &'static str| {
        let (lock, order) = (lock.clone(), order.clone());
        tokio::spawn(async move {
            let _g = lock.acquire().await;
            order.lock().unwrap().push(tag);
        })
    };
    let t1 = thread("thread 1");
    until("thread 1 queued", || lock.__waiter_records() == 1).await;
    let a = task("task a");
    until("task a queued", || lock.__waiter_records() == 2).await;
    let t2 = thread("thread 2");
    until("thread 2 queued", || lock.__waiter_records() == 3).await;
    let b = task("task b");
    until("task b queued", || lock.__waiter_records() == 4).await;
    drop(held);
    within("task a", a).await.unwrap();
    within("task b", b).await.unwrap();
    t1.join().unwrap();
    t2.join().unwrap();
    assert_eq!(
        *order.lock().unwrap(),
        ["thread 1", "task a", "thread 2", "task b"]
    );
    assert_eq!(lock.__waiter_records(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_thread_at_the_head_is_not_overtaken_by_tasks() {
    let sem = Arc::new(Semaphore::new(1));
    let big = std::thread::spawn({
        let sem = sem.clone();
        move || sem.acquire_many_blocking(3).forget()
    });
    until("the thread queued", || sem.__waiter_records() == 1).await;
    assert_eq!(sem.available_permits(), 0, "it collected the free permit");
    let small = tokio::spawn({
        let sem = sem.clone();
        async move { sem.acquire().await.forget() }
    });
    until("the task queued", || sem.__waiter_records() == 2).await;
    sem.release(1);
    assert!(sem.try_acquire().is_none());
    sem.release(1); // completes the thread's 3
    big.join().unwrap();
    assert_eq!(sem.__waiter_records(), 1, "the task still waits");
    sem.release(1);
    within("the task", small).await.unwrap();
    assert_eq!(sem.available_permits(), 0);
    assert_eq!(sem.__waiter_records(), 0);
}

#[test]
fn plain_threads_contend_on_every_primitive() {
    let lock = Arc::new(Lock::new(0_u64));
    let sem = Arc::new(Semaphore::new(2));
    let bounded = Arc::new(BoundedSemaphore::new(3));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (lock, sem, bounded) = (lock.clone(), sem.clone(), bounded.clone());
            std::thread::spawn(move || {
                for i in 0..200 {
                    let _s = sem.acquire_blocking();
                    let _b = bounded.acquire_many_blocking(1 + i % 2);
                    let mut g = lock.acquire_blocking();
                    let v = *g;
                    std::thread::yield_now();
                    *g = v + 1;
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(*lock.acquire_blocking(), 800);
    assert_eq!(sem.available_permits(), 2);
    assert_eq!(bounded.available_permits(), 3);
    assert_eq!(lock.__waiter_records() + sem.__waiter_records(), 0);
}

/// Python's `test_different_thread`, on plain threads: the guard taken on
/// the main thread moves to another thread, which now holds the lock; the
/// main thread waiting for it is an ordinary wait, not a re-entry (in debug
/// builds, too, where `acquire_blocking` refuses to wait for a lock its own
/// thread holds).
#[test]
fn waiting_for_a_guard_moved_to_another_thread_is_not_a_reentry() {
    let lock = Lock::new(0);
    let guard = lock.acquire_blocking();
    let main_done = AtomicBool::new(false);
    let (lock_ref, done) = (&lock, &main_done);
    std::thread::scope(|s| {
        let holder = s.spawn(move || {
            let mut guard = guard; // this thread holds the lock now
            *guard += 1;
            until_blocking("the main thread queued", || {
                lock_ref.__waiter_records() == 1 || done.load(Ordering::SeqCst)
            });
            drop(guard);
        });
        let waited = catch_unwind(AssertUnwindSafe(|| *lock.acquire_blocking() += 1));
        main_done.store(true, Ordering::SeqCst);
        holder.join().unwrap();
        if let Err(payload) = waited {
            panic!(
                "refused to wait for a lock held by another thread: {}",
                panic_message(&*payload)
            );
        }
    });
    assert_eq!(*lock.try_acquire().unwrap(), 2);
    assert_eq!(lock.__waiter_records(), 0);
}
