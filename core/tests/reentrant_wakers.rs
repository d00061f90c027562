//! Wakers are foreign code: a waker whose `clone`, `wake` or `drop` calls
//! back into the very primitive it waits on must not deadlock it. Every
//! primitive is driven through each path that clones, replaces, wakes or
//! drops a waiter's waker — first poll, re-poll with another waker, re-poll
//! with the same one, cancellation, notification — with wakers whose every
//! hook takes that primitive's internal lock. (The ports of tokio's
//! `notify_clones_waker_before_lock` and `release_permits_at_drop` are the
//! dedicated tests at the end.)
//!
//! A regression deadlocks the scenario's thread; the test then fails after
//! [`support::HANG`] instead of hanging (the deadline never decides a pass).

mod support;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};

use warden::{Barrier, BoundedSemaphore, Condition, Event, Lock, RLock, RwLock, Semaphore};

// ---------------------------------------------------------------------------
// A waker with hooks
// ---------------------------------------------------------------------------

/// What a [`hooked`] waker runs on clone, wake and drop, and how often.
struct Hooks {
    on_clone: Box<dyn Fn() + Send + Sync>,
    on_wake: Box<dyn Fn() + Send + Sync>,
    on_drop: Box<dyn Fn() + Send + Sync>,
    calls: AtomicUsize,
}

impl Hooks {
    /// Hooks that all run `reenter`.
    fn all(reenter: impl Fn() + Send + Sync + Clone + 'static) -> Arc<Hooks> {
        Arc::new(Hooks {
            on_clone: Box::new(reenter.clone()),
            on_wake: Box::new(reenter.clone()),
            on_drop: Box::new(reenter),
            calls: AtomicUsize::new(0),
        })
    }
}

static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake_by_ref, drop_waker);

/// A waker whose clone, wake and drop run `hooks` (besides counting).
fn hooked(hooks: &Arc<Hooks>) -> Waker {
    let raw = RawWaker::new(Arc::into_raw(hooks.clone()).cast(), &VTABLE);
    // SAFETY: `raw` owns one strong count of an `Arc<Hooks>` and `VTABLE`'s
    // functions treat its data pointer exactly so: clone adds a count, wake
    // and drop give theirs back, wake_by_ref borrows.
    unsafe { Waker::from_raw(raw) }
}

/// The hooks behind a data pointer, borrowed.
///
/// # Safety
///
/// `data` comes from `Arc::into_raw` of an `Arc<Hooks>` whose count this
/// waker owns (see [`hooked`]).
unsafe fn hooks_of<'a>(data: *const ()) -> &'a Hooks {
    // SAFETY: per this function's contract the pointer is a live `Arc`'s.
    unsafe { &*data.cast::<Hooks>() }
}

unsafe fn clone(data: *const ()) -> RawWaker {
    // SAFETY: `data` is a waker's (see `hooked`).
    let hooks = unsafe { hooks_of(data) };
    hooks.calls.fetch_add(1, SeqCst);
    (hooks.on_clone)();
    // SAFETY: the waker owns a count, so the `Arc` is alive; we add one for
    // the clone.
    unsafe { Arc::increment_strong_count(data.cast::<Hooks>()) };
    RawWaker::new(data, &VTABLE)
}

unsafe fn wake(data: *const ()) {
    // SAFETY: `data` is a waker's; `wake` consumes it, like a drop.
    unsafe {
        wake_by_ref(data);
        drop_waker(data);
    }
}

unsafe fn wake_by_ref(data: *const ()) {
    // SAFETY: `data` is a waker's (see `hooked`).
    let hooks = unsafe { hooks_of(data) };
    hooks.calls.fetch_add(1, SeqCst);
    (hooks.on_wake)();
}

unsafe fn drop_waker(data: *const ()) {
    // SAFETY: `data` is a waker's (see `hooked`).
    let hooks = unsafe { hooks_of(data) };
    hooks.calls.fetch_add(1, SeqCst);
    (hooks.on_drop)();
    // SAFETY: gives back the count this waker owned.
    unsafe { Arc::decrement_strong_count(data.cast::<Hooks>()) };
}

// ---------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------

/// Runs `scenario` on its own thread; a deadlock there fails the test.
fn no_deadlock(what: &str, scenario: impl FnOnce() + Send + 'static) {
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        scenario();
        let _ = done_tx.send(());
    });
    match done_rx.recv_timeout(support::HANG) {
        Ok(()) => thread.join().unwrap(),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            std::panic::resume_unwind(thread.join().unwrap_err())
        }
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => panic!(
            "{what}: deadlocked — a waker that re-enters the primitive was \
             cloned, woken or dropped under its internal lock"
        ),
    }
}

fn poll_with<F: Future + ?Sized>(fut: Pin<&mut F>, waker: &Waker) -> Poll<F::Output> {
    fut.poll(&mut Context::from_waker(waker))
}

/// Drives one wait through every waker path, each waker re-entering the
/// primitive through `reenter` on clone, wake and drop:
///
/// 1. first poll with waker A (registers a clone of A);
/// 2. re-poll with waker B (replaces A's clone with one of B);
/// 3. re-poll with B again (nothing to replace);
/// 4. drop the queued wait (its clone of B goes);
/// 5. a second wait polled with A, then `notify` (wakes A's clone), then
///    polled to completion.
fn every_waker_path<F: Future>(
    make: impl Fn() -> F,
    notify: impl FnOnce(),
    reenter: impl Fn() + Send + Sync + Clone + 'static,
) {
    let hooks_a = Hooks::all(reenter.clone());
    let hooks_b = Hooks::all(reenter);
    let (a, b) = (hooked(&hooks_a), hooked(&hooks_b));
    {
        let mut wait = Box::pin(make());
        assert!(poll_with(wait.as_mut(), &a).is_pending(), "1: registers");
        assert!(
            poll_with(wait.as_mut(), &b).is_pending(),
            "2: another waker"
        );
        assert!(poll_with(wait.as_mut(), &b).is_pending(), "3: the same one");
    } // 4: dropped while queued
    let mut wait = Box::pin(make());
    assert!(poll_with(wait.as_mut(), &a).is_pending(), "5: registers");
    notify();
    assert!(poll_with(wait.as_mut(), &a).is_ready(), "5: notified");
    drop(wait);
    assert!(hooks_a.calls.load(SeqCst) >= 3, "A's hooks ran");
    assert!(hooks_b.calls.load(SeqCst) >= 2, "B's hooks ran");
}

#[test]
fn lock_wakers_may_reenter_the_lock() {
    no_deadlock("Lock", || {
        let lock = Arc::new(Lock::new(()));
        let held = Mutex::new(Some(lock.clone().try_acquire_owned().unwrap()));
        let probe = lock.clone();
        every_waker_path(
            || lock.acquire(),
            || drop(held.lock().unwrap().take()),
            move || {
                // Takes the lock's internal mutex.
                let _ = probe.__waiter_records();
                let _ = probe.try_acquire();
            },
        );
        assert_eq!(lock.__waiter_records(), 0);
    });
}

#[test]
fn rlock_wakers_may_reenter_the_rlock() {
    no_deadlock("RLock", || {
        let rl: &'static RLock<()> = Box::leak(Box::new(RLock::new(())));
        // Held by another owner (a thread), then handed to this one to drop.
        let held = std::thread::spawn(|| rl.acquire_blocking()).join().unwrap();
        let held = Mutex::new(Some(held));
        every_waker_path(
            || rl.acquire(),
            || drop(held.lock().unwrap().take()),
            move || {
                let _ = rl.__waiter_records();
            },
        );
        assert!(!rl.locked());
        assert_eq!(rl.__waiter_records(), 0);
    });
}

/// Readers waiting behind a writer, and a writer waiting behind readers:
/// every hook tries both kinds of acquisition (which take the lock's
/// internal mutex when they must queue) and reads the records.
#[test]
fn rwlock_read_wakers_may_reenter_the_rwlock() {
    no_deadlock("RwLock::read", || {
        let rw = Arc::new(RwLock::new(()));
        let held = Mutex::new(Some(rw.clone().try_write_owned().unwrap()));
        let probe = rw.clone();
        every_waker_path(
            || rw.read(),
            || drop(held.lock().unwrap().take()),
            move || {
                let _ = probe.__waiter_records();
                let _ = probe.try_read();
                let _ = probe.try_write();
            },
        );
        assert_eq!(rw.__waiter_records(), 0);
        assert!(rw.try_write().is_some());
    });
}

#[test]
fn rwlock_write_wakers_may_reenter_the_rwlock() {
    no_deadlock("RwLock::write", || {
        let rw = Arc::new(RwLock::new(()));
        let held = Mutex::new(Some(rw.clone().try_read_owned().unwrap()));
        let probe = rw.clone();
        every_waker_path(
            || rw.write(),
            || drop(held.lock().unwrap().take()),
            move || {
                let _ = probe.__waiter_records();
                let _ = probe.try_read();
                let _ = probe.try_write();
            },
        );
        assert_eq!(rw.__waiter_records(), 0);
        assert!(rw.try_write().is_some());
    });
}

/// A waker that owns a read guard of the lock it waits on (tokio's
/// `release_permits_at_drop`, for a writer): when the stored copy is
/// replaced and dropped, the read lock is released, which hands the lock
/// to this very writer — under the lock's mutex, had the drop happened
/// there.
#[test]
fn an_rwlock_writer_whose_waker_owns_a_read_guard() {
    no_deadlock("a read guard dropped with the waker", || {
        let rw = Arc::new(RwLock::new(0));
        let reading = Mutex::new(Some(rw.clone().try_read_owned().unwrap()));
        let hooks = Arc::new(Hooks {
            on_clone: Box::new(|| {}),
            on_wake: Box::new(|| {}),
            on_drop: Box::new(move || drop(reading.lock().unwrap().take())),
            calls: AtomicUsize::new(0),
        });
        let waker = hooked(&hooks);
        let mut write = Box::pin(rw.write());
        assert!(poll_with(write.as_mut(), &waker).is_pending());
        // Re-polled with another waker: the stored copy is replaced and
        // dropped after the mutex is released, and with it the read guard,
        // whose release hands the lock to this writer (waking the new
        // waker); the next poll picks it up.
        let other = Waker::noop();
        assert!(poll_with(write.as_mut(), other).is_pending());
        assert!(rw.try_read().is_none(), "handed to the writer");
        assert!(poll_with(write.as_mut(), other).is_ready());
        drop(write);
        drop(waker);
        assert_eq!(rw.__waiter_records(), 0);
        assert!(rw.try_write().is_some());
    });
}

#[test]
fn semaphore_wakers_may_reenter_the_semaphore() {
    no_deadlock("Semaphore", || {
        let sem = Arc::new(Semaphore::new(0));
        let probe = sem.clone();
        every_waker_path(
            || sem.acquire(),
            || sem.release(1),
            move || {
                // Takes the internal mutex.
                let _ = probe.__waiter_records();
                let _ = probe.try_acquire();
            },
        );
        assert_eq!(sem.available_permits(), 1, "the permit came back");
        assert_eq!(sem.__waiter_records(), 0);
    });
}

#[test]
fn bounded_semaphore_wakers_may_reenter_the_semaphore() {
    no_deadlock("BoundedSemaphore", || {
        let sem = Arc::new(BoundedSemaphore::new(1));
        sem.try_acquire().unwrap().forget();
        let probe = sem.clone();
        every_waker_path(
            || sem.acquire(),
            || sem.release(1).unwrap(),
            move || {
                let _ = probe.__waiter_records();
                let _ = probe.try_acquire();
            },
        );
        assert_eq!(sem.__waiter_records(), 0);
    });
}

#[test]
fn event_wakers_may_reenter_the_event() {
    no_deadlock("Event", || {
        let ev = Arc::new(Event::new());
        let probe = ev.clone();
        every_waker_path(
            || ev.wait(),
            || ev.set(),
            move || {
                let _ = probe.__waiter_records();
                let _ = probe.is_set();
            },
        );
        assert_eq!(ev.__waiter_records(), 0);
    });
}

#[test]
fn condition_wakers_may_reenter_the_condition() {
    no_deadlock("Condition", || {
        let pair = Arc::new((Lock::new(0), Condition::new()));
        let probe = pair.clone();
        every_waker_path(
            || {
                pair.1
                    .wait(pair.0.try_acquire().expect("free between waits"))
            },
            || pair.1.notify_one(),
            move || {
                let _ = probe.1.__waiter_records();
                probe.1.notify(0);
            },
        );
        assert_eq!(pair.1.__waiter_records(), 0);
    });
}

#[test]
fn barrier_wakers_may_reenter_the_barrier() {
    no_deadlock("Barrier", || {
        let barrier = Arc::new(Barrier::new(2));
        let probe = barrier.clone();
        every_waker_path(
            || barrier.wait(),
            || {
                barrier.wait_blocking().unwrap(); // the second party: trips
            },
            move || {
                let _ = probe.n_waiting();
                let _ = probe.is_broken();
            },
        );
        assert_eq!(barrier.__waiter_records(), 0);
    });
}

// ---------------------------------------------------------------------------
// The cases named in the issue, as tokio's own tests put them
// ---------------------------------------------------------------------------

/// tokio's `notify_clones_waker_before_lock`: a waker whose `clone` sets
/// the event it is about to wait on.
#[test]
fn an_event_waker_whose_clone_sets_the_event() {
    no_deadlock("Event::set from clone", || {
        let ev = Arc::new(Event::new());
        let setter = ev.clone();
        let hooks = Arc::new(Hooks {
            on_clone: Box::new(move || setter.set()),
            on_wake: Box::new(|| {}),
            on_drop: Box::new(|| {}),
            calls: AtomicUsize::new(0),
        });
        let waker = hooked(&hooks);
        let mut wait = Box::pin(ev.wait());
        // The clone (made before the lock) sets the event; the wait then
        // sees it under the lock and is ready at once.
        assert!(poll_with(wait.as_mut(), &waker).is_ready());
        assert_eq!(ev.__waiter_records(), 0);
    });
}

/// A waker whose `clone` notifies the condition it waits on.
#[test]
fn a_condition_waker_whose_clone_notifies() {
    no_deadlock("Condition::notify_one from clone", || {
        let pair = Arc::new((Lock::new(()), Condition::new()));
        let notifier = pair.clone();
        let hooks = Arc::new(Hooks {
            on_clone: Box::new(move || notifier.1.notify_one()),
            on_wake: Box::new(|| {}),
            on_drop: Box::new(|| {}),
            calls: AtomicUsize::new(0),
        });
        let waker = hooked(&hooks);
        let mut wait = Box::pin(pair.1.wait(pair.0.try_acquire().unwrap()));
        // Registered at the call; the first poll clones the waker, which
        // notifies this very waiter: the wait then re-takes the lock.
        assert!(poll_with(wait.as_mut(), &waker).is_ready());
        assert_eq!(pair.1.__waiter_records(), 0);
    });
}

/// tokio's `release_permits_at_drop`: a waker that owns a permit of the
/// semaphore it waits on, released when the waker is dropped.
#[test]
fn a_semaphore_waker_that_owns_a_permit_of_it() {
    no_deadlock("a permit dropped with the waker", || {
        let sem = Arc::new(Semaphore::new(1));
        let permit = Mutex::new(Some(sem.clone().try_acquire_owned().unwrap()));
        let hooks = Arc::new(Hooks {
            on_clone: Box::new(|| {}),
            on_wake: Box::new(|| {}),
            // The first drop of a copy of this waker releases the permit.
            on_drop: Box::new(move || drop(permit.lock().unwrap().take())),
            calls: AtomicUsize::new(0),
        });
        let waker = hooked(&hooks);
        let mut wait = Box::pin(sem.acquire_many(2));
        assert!(poll_with(wait.as_mut(), &waker).is_pending());
        // Re-polled with another waker: the stored copy is replaced and
        // dropped, which releases the permit into the semaphore whose lock
        // was just taken (so it must be dropped after that lock is released).
        let other = Waker::noop();
        assert!(poll_with(wait.as_mut(), other).is_pending());
        assert_eq!(sem.__waiter_records(), 1, "still one permit short");
        sem.release(1);
        assert!(poll_with(wait.as_mut(), other).is_ready());
        drop(waker);
        assert_eq!(sem.__waiter_records(), 0);
    });
}
