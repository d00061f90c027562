//! Model checks of warden's state machines under loom.
//!
//! `warden_model` is warden itself, compiled with `cfg(warden_model)` so
//! every atomic, mutex and thread inside comes from loom. Each test runs its
//! body under every interleaving loom explores (preemption bound 2–3) and
//! prints how many it ran; `model!(name, bound, || body)` declares one, and
//! they are grouped by primitive. Scenarios: acquire/release races, a `Lock`
//! barged past its woken waiter, cancellation while queued, woken and
//! after being granted, partial `acquire_many`, event
//! set-then-clear, `notify(n)` against cancellation, barrier withdrawal
//! against tripping (with and without an action), `RLock` re-entry between
//! threads and against a guard moved to another thread releasing the lock.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;
use warden_model::{Barrier, Condition, Event, Lock, RLock, RwLock, Semaphore};

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

fn poll_once<T>(f: &mut BoxFuture<T>) -> Poll<T> {
    f.as_mut().poll(&mut Context::from_waker(Waker::noop()))
}

/// A waker that counts its wake-ups (std's atomic, read from outside the
/// model once the threads have joined): `Waker::from(count.clone())`.
#[allow(
    clippy::disallowed_types,
    reason = "observes the model from outside it, after a join"
)]
#[derive(Default)]
struct WakeCount(std::sync::atomic::AtomicUsize);

impl std::task::Wake for WakeCount {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Runs `body` under loom with a preemption bound, and prints the number
/// of interleavings explored.
#[allow(
    clippy::disallowed_types,
    reason = "counts the interleavings from outside the model"
)]
fn model(name: &str, bound: usize, body: impl Fn() + Send + Sync + 'static) {
    use std::sync::atomic::{AtomicUsize as StdAtomicUsize, Ordering as StdOrdering};
    let runs = Arc::new(StdAtomicUsize::new(0));
    let counter = runs.clone();
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(bound);
    builder.check(move || {
        counter.fetch_add(1, StdOrdering::Relaxed);
        body();
    });
    println!(
        "loom {name}: {} interleavings (preemption bound {bound})",
        runs.load(StdOrdering::Relaxed)
    );
}

/// `model!(name, bound, || body)`: the `#[test] fn name` that runs `body`
/// under [`model`] with that preemption bound, printing the interleavings
/// under the test's own name.
macro_rules! model {
    ($name:ident, $bound:literal, $body:expr) => {
        #[test]
        fn $name() {
            model(stringify!($name), $bound, $body);
        }
    };
}

// ---------------------------------------------------------------------------
// Lock
// ---------------------------------------------------------------------------

model!(lock_acquire_release_excludes, 3, || {
    let lock = Arc::new(Lock::new(0_usize));
    let inside = Arc::new(AtomicUsize::new(0));
    let t = {
        let (lock, inside) = (lock.clone(), inside.clone());
        thread::spawn(move || {
            loom::future::block_on(async {
                let mut g = lock.acquire().await;
                assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0);
                *g += 1;
                inside.fetch_sub(1, Ordering::SeqCst);
            });
        })
    };
    loom::future::block_on(async {
        let mut g = lock.acquire().await;
        assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0);
        *g += 1;
        inside.fetch_sub(1, Ordering::SeqCst);
    });
    t.join().unwrap();
    assert_eq!(*lock.try_acquire().unwrap(), 2);
    assert_eq!(lock.__waiter_records(), 0);
});

model!(lock_cancel_while_queued, 3, || {
    let lock = Arc::new(Lock::new(()));
    let held = lock.clone().try_acquire_owned().unwrap();
    let releaser = thread::spawn(move || drop(held));
    let mut waiter: BoxFuture<()> = {
        let lock = lock.clone();
        Box::pin(async move {
            let _g = lock.acquire().await;
        })
    };
    let _ = poll_once(&mut waiter);
    drop(waiter); // queued, granted, or done: nothing may leak
    releaser.join().unwrap();
    assert!(lock.try_acquire().is_some(), "the lock leaked");
    assert_eq!(lock.__waiter_records(), 0);
});

model!(lock_granted_then_dropped_passes_on, 2, || {
    let lock = Arc::new(Lock::new(()));
    let held = lock.try_acquire().unwrap();
    let mut first: BoxFuture<()> = {
        let lock = lock.clone();
        Box::pin(async move {
            let _g = lock.acquire().await;
        })
    };
    assert!(poll_once(&mut first).is_pending());
    let dropper = thread::spawn(move || drop(first));
    drop(held); // hands the lock to `first`, which may be dropping
    // A later waiter must get it: loom reports a deadlock otherwise.
    drop(loom::future::block_on(lock.acquire()));
    dropper.join().unwrap();
    assert_eq!(lock.__waiter_records(), 0);
});

model!(lock_barging_excludes_and_loses_no_wake_up, 2, || {
    // Two threads ask while the lock is held: whichever queues is woken
    // by the release, and may be overtaken by the other barging in.
    // Every acquisition must end (loom reports a deadlock on a lost
    // wake-up) and exclude the others.
    let lock = Arc::new(Lock::new(0_usize));
    let inside = Arc::new(AtomicUsize::new(0));
    let held = lock.try_acquire().unwrap();
    let spawn = |times: usize| {
        let (lock, inside) = (lock.clone(), inside.clone());
        thread::spawn(move || {
            loom::future::block_on(async {
                for _ in 0..times {
                    let mut g = lock.acquire().await;
                    assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0);
                    *g += 1;
                    inside.fetch_sub(1, Ordering::SeqCst);
                }
            });
        })
    };
    let twice = spawn(2);
    let once = spawn(1);
    drop(held);
    twice.join().unwrap();
    once.join().unwrap();
    assert_eq!(*lock.try_acquire().unwrap(), 3);
    assert_eq!(lock.__waiter_records(), 0);
});

model!(lock_overtaken_look_vs_fast_release, 3, || {
    // A woken waiter looks while the task that barged past it releases
    // without the mutex (the waiter is marked woken). Either it sees the
    // release and takes the lock, or it marks itself overtaken and the
    // release sees that and wakes it again (or, once it is due, hands it
    // the lock): it never sleeps with the lock free and no wake-up coming.
    let lock = Arc::new(Lock::new(()));
    let held = lock.try_acquire().unwrap();
    let mut waiter: BoxFuture<()> = {
        let lock = lock.clone();
        Box::pin(async move {
            let _g = lock.acquire().await;
        })
    };
    assert!(poll_once(&mut waiter).is_pending());
    drop(held); // frees the lock and wakes `waiter`
    let barger = lock.clone().try_acquire_owned().expect("barging");
    let woken = std::sync::Arc::new(WakeCount::default());
    let looker = thread::spawn({
        let waker = Waker::from(woken.clone());
        move || {
            let ready = waiter
                .as_mut()
                .poll(&mut Context::from_waker(&waker))
                .is_ready();
            (ready, waiter)
        }
    });
    drop(barger);
    let (ready, mut waiter) = looker.join().unwrap();
    if !ready {
        assert!(
            lock.locked() || woken.0.load(std::sync::atomic::Ordering::SeqCst) > 0,
            "an overtaken waiter is woken again or handed the lock, not left asleep"
        );
        assert!(poll_once(&mut waiter).is_ready());
    }
    drop(waiter);
    assert!(!lock.locked());
    assert_eq!(lock.__waiter_records(), 0);
});

model!(lock_woken_waiter_dropped_passes_the_wake_up, 2, || {
    let lock = Arc::new(Lock::new(()));
    let held = lock.try_acquire().unwrap();
    let mut first: BoxFuture<()> = {
        let lock = lock.clone();
        Box::pin(async move {
            let _g = lock.acquire().await;
        })
    };
    assert!(poll_once(&mut first).is_pending());
    let second = {
        let lock = lock.clone();
        thread::spawn(move || drop(loom::future::block_on(lock.acquire())))
    };
    let dropper = thread::spawn(move || drop(first));
    drop(held); // wakes `first` (maybe already gone) to take the lock
    second.join().unwrap(); // loom reports a deadlock if it sleeps on
    dropper.join().unwrap();
    assert!(!lock.locked());
    assert_eq!(lock.__waiter_records(), 0);
});

// The starvation bound, kept where the barging happens: a woken waiter
// (on its own thread) races a thread that releases and re-acquires in a
// loop without yielding between laps. Whatever the schedule — including
// the waiter not running at all until the looper blocks — at most the
// bound's number of the loop's acquisitions come between the release that
// woke the waiter and the waiter's own (`Lock`'s Fairness). The model is
// built with a bound of 2 (`raw::lock`'s `HAND_OFF_AFTER` under loom): the
// state machine is the same for every bound of 2 or more, and a small one
// keeps the model's schedules few enough to explore them all.
model!(lock_looping_barger_is_bounded, 2, || {
    let lock = Arc::new(Lock::new(Vec::new()));
    let held = lock.try_acquire().unwrap();
    let mut waiter: BoxFuture<()> = {
        let lock = lock.clone();
        Box::pin(async move { lock.acquire().await.push("waiter") })
    };
    assert!(poll_once(&mut waiter).is_pending()); // queued
    let w = thread::spawn(move || loom::future::block_on(waiter));
    drop(held); // wakes the waiter
    // Past the bound, and one lap more.
    let bound = Lock::<()>::__MAX_OVERTAKES;
    loom::future::block_on(async {
        for _ in 0..bound + 2 {
            lock.acquire().await.push("loop");
        }
    });
    w.join().unwrap();
    let order = lock.try_acquire().unwrap().clone();
    let overtakes = order.iter().position(|&who| who == "waiter").unwrap();
    assert!(overtakes <= bound, "overtaken {overtakes} times: {order:?}");
    assert_eq!(lock.__waiter_records(), 0);
});

// ---------------------------------------------------------------------------
// RLock
// ---------------------------------------------------------------------------

model!(rlock_reentry_between_threads, 2, || {
    let rl = Arc::new(RLock::new(AtomicUsize::new(0)));
    let t = {
        let rl = rl.clone();
        thread::spawn(move || {
            let outer = rl.acquire_blocking();
            let inner = rl.acquire_blocking();
            assert_eq!(inner.fetch_add(1, Ordering::SeqCst), 0);
            inner.fetch_sub(1, Ordering::SeqCst);
            drop((inner, outer));
        })
    };
    let g = rl.acquire_blocking();
    assert_eq!(g.fetch_add(1, Ordering::SeqCst), 0);
    g.fetch_sub(1, Ordering::SeqCst);
    drop(g);
    t.join().unwrap();
    assert!(!rl.locked());
});

// The owner moves its second guard to another thread and drops its own;
// that thread drops the moved guard (the last: it releases) while the owner
// tries to re-enter and a third thread takes the lock. The owner's view of
// "I own it" may be stale: it must re-enter only while the moved guard
// still holds the lock, never into the third thread's ownership.
model!(rlock_moved_guard_released_vs_owner_reentry, 2, || {
    const C: usize = 2;
    const A: usize = 1;
    // Leaked (one small lock per run) so a guard can move to a thread.
    let rl: &'static RLock<AtomicUsize> = Box::leak(Box::new(RLock::new(AtomicUsize::new(0))));
    let outer = rl.acquire_blocking();
    let moved = rl.acquire_blocking();
    let b = thread::spawn(move || drop(moved));
    let c = {
        thread::spawn(move || {
            let g = rl.acquire_blocking();
            g.store(C, Ordering::SeqCst);
            assert_eq!(g.load(Ordering::SeqCst), C, "the old owner re-entered");
            g.store(0, Ordering::SeqCst);
            drop(g);
        })
    };
    drop(outer);
    if let Some(g) = rl.try_acquire() {
        // Only sound while the moved guard still held the lock.
        assert_ne!(g.swap(A, Ordering::SeqCst), C, "re-entered C's lock");
        g.store(0, Ordering::SeqCst);
    }
    b.join().unwrap();
    c.join().unwrap();
    assert!(!rl.locked());
    assert_eq!(rl.__waiter_records(), 0);
});

// Branches of one owner that both queued behind another owner: when the
// lock is granted to one, the other re-enters instead of waiting behind
// its own owner (a deadlock loom would report). The branches are two
// futures joined on one thread (its owner), as `tokio::join!` joins them
// in one task.
model!(rlock_queued_branches_of_one_owner_reenter, 2, || {
    let rl: &'static RLock<AtomicUsize> = Box::leak(Box::new(RLock::new(AtomicUsize::new(0))));
    let held = rl.acquire_blocking();
    let branches = thread::spawn(move || {
        let mut b1 = Some(Box::pin(rl.acquire()));
        let mut b2 = Some(Box::pin(rl.acquire()));
        let mut guards = Vec::new();
        // A join of the two that polls both on every wake-up.
        loom::future::block_on(std::future::poll_fn(|cx| {
            for branch in [&mut b1, &mut b2] {
                if let Some(fut) = branch
                    && let Poll::Ready(g) = fut.as_mut().poll(cx)
                {
                    guards.push(g);
                    *branch = None;
                }
            }
            if guards.len() == 2 {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        }));
        assert_eq!(guards[0].fetch_add(1, Ordering::SeqCst), 0);
        drop(guards.pop());
        assert!(rl.locked(), "one level still held");
        drop(guards);
    });
    drop(held);
    branches.join().unwrap();
    assert!(!rl.locked());
    assert_eq!(rl.__waiter_records(), 0);
});

// ---------------------------------------------------------------------------
// Semaphore and BoundedSemaphore
// ---------------------------------------------------------------------------

model!(semaphore_partial_acquire_many_cancelled, 3, || {
    let sem = Arc::new(Semaphore::new(0));
    let mut many: BoxFuture<()> = {
        let sem = sem.clone();
        Box::pin(async move {
            sem.acquire_many(2).await.forget();
        })
    };
    assert!(poll_once(&mut many).is_pending());
    let releaser = {
        let sem = sem.clone();
        thread::spawn(move || sem.release(1))
    };
    drop(many); // holds 0 or 1 collected permit: both must come back
    releaser.join().unwrap();
    assert_eq!(sem.available_permits(), 1);
    assert_eq!(sem.__waiter_records(), 0);
});

model!(semaphore_fifo_release_vs_try_acquire, 3, || {
    let sem = Arc::new(Semaphore::new(0));
    let mut waiter: BoxFuture<()> = {
        let sem = sem.clone();
        Box::pin(async move {
            sem.acquire().await.forget();
        })
    };
    assert!(poll_once(&mut waiter).is_pending());
    let releaser = {
        let sem = sem.clone();
        thread::spawn(move || sem.release(1))
    };
    // A newcomer must never take the permit from the queued waiter.
    let stolen = sem.try_acquire().map(warden_model::SemaphorePermit::forget);
    releaser.join().unwrap();
    assert!(stolen.is_none(), "try_acquire overtook a queued waiter");
    assert!(poll_once(&mut waiter).is_ready());
    assert_eq!(sem.available_permits(), 0);
});

model!(semaphore_granted_many_then_dropped_passes_on, 2, || {
    let sem = Arc::new(Semaphore::new(0));
    let mut first: BoxFuture<()> = {
        let sem = sem.clone();
        Box::pin(async move { sem.acquire_many(2).await.forget() })
    };
    assert!(poll_once(&mut first).is_pending());
    let releaser = {
        let sem = sem.clone();
        thread::spawn(move || sem.release(2))
    };
    drop(first); // queued, or granted both permits: they must come back
    releaser.join().unwrap();
    assert_eq!(sem.available_permits(), 2);
    assert_eq!(sem.__waiter_records(), 0);
});

model!(bounded_release_vs_forget_never_passes_the_bound, 3, || {
    let sem = Arc::new(warden_model::BoundedSemaphore::new(1));
    let t = {
        let sem = sem.clone();
        thread::spawn(move || sem.release(1).is_ok())
    };
    sem.try_acquire().unwrap().forget();
    let mine = sem.release(1).is_ok();
    let theirs = t.join().unwrap();
    assert!(mine || theirs, "the forgotten permit was returned");
    assert!(!(mine && theirs), "released past the bound");
    assert_eq!(sem.available_permits(), 1);
});

// ---------------------------------------------------------------------------
// Event
// ---------------------------------------------------------------------------

model!(event_set_then_clear_releases_waiter, 3, || {
    let ev = Arc::new(Event::new());
    let waiter = {
        let ev = ev.clone();
        thread::spawn(move || loom::future::block_on(ev.wait()))
    };
    ev.set();
    ev.clear();
    // Whether the waiter registered before `set` or came after it and
    // saw the flag, it must finish (loom reports a deadlock otherwise)
    // — except if it arrived after `clear`: then only a new set frees it.
    thread::yield_now();
    ev.set();
    waiter.join().unwrap();
    assert_eq!(ev.__waiter_records(), 0);
});

model!(
    event_waiter_registered_before_set_is_released_despite_clear,
    3,
    || {
        let ev = Arc::new(Event::new());
        let mut waiter: BoxFuture<()> = {
            let ev = ev.clone();
            Box::pin(async move { ev.wait().await })
        };
        assert!(poll_once(&mut waiter).is_pending());
        let setter = {
            let ev = ev.clone();
            thread::spawn(move || {
                ev.set();
                ev.clear();
            })
        };
        // Poll while the setter runs: pending or released, never lost.
        let early = poll_once(&mut waiter).is_ready();
        setter.join().unwrap();
        if early {
            return;
        }
        assert!(
            poll_once(&mut waiter).is_ready(),
            "set-then-clear lost a waiter"
        );
    }
);

model!(event_waiter_cancelled_while_set, 3, || {
    let ev = Arc::new(Event::new());
    let mut waiter: BoxFuture<()> = {
        let ev = ev.clone();
        Box::pin(async move { ev.wait().await })
    };
    assert!(poll_once(&mut waiter).is_pending());
    let setter = {
        let ev = ev.clone();
        thread::spawn(move || ev.set())
    };
    drop(waiter);
    setter.join().unwrap();
    assert!(ev.is_set());
    assert_eq!(ev.__waiter_records(), 0);
});

// ---------------------------------------------------------------------------
// Condition
// ---------------------------------------------------------------------------

model!(condition_notify_vs_cancel_passes_on, 2, || {
    let shared = Arc::new((Lock::new(()), Condition::new()));
    let waiter = |shared: Arc<(Lock<()>, Condition)>| -> BoxFuture<()> {
        Box::pin(async move {
            let (lock, cond) = &*shared;
            let _g = cond.wait(lock.acquire().await).await;
        })
    };
    let mut first = waiter(shared.clone());
    let mut second = waiter(shared.clone());
    assert!(poll_once(&mut first).is_pending());
    assert!(poll_once(&mut second).is_pending());
    let canceller = thread::spawn(move || drop(first));
    shared.1.notify(1);
    canceller.join().unwrap();
    // `first` was notified and passed it on, or withdrew before the
    // notify reached it: either way `second` holds the notification.
    assert!(poll_once(&mut second).is_ready(), "a notification was lost");
    assert_eq!(shared.1.__waiter_records(), 0);
});

model!(condition_cancel_while_relocking_passes_on, 2, || {
    let shared = Arc::new((Lock::new(()), Condition::new()));
    let waiter = |shared: Arc<(Lock<()>, Condition)>| -> BoxFuture<()> {
        Box::pin(async move {
            let (lock, cond) = &*shared;
            let _g = cond.wait(lock.acquire().await).await;
        })
    };
    let mut first = waiter(shared.clone());
    let mut second = waiter(shared.clone());
    assert!(poll_once(&mut first).is_pending());
    assert!(poll_once(&mut second).is_pending());
    // Hold the lock: a notified `first` gets stuck re-taking it.
    let held = shared.0.try_acquire().unwrap();
    shared.1.notify(1);
    assert!(poll_once(&mut first).is_pending(), "re-taking a held lock");
    let canceller = thread::spawn(move || drop(first));
    drop(held);
    canceller.join().unwrap();
    // The cancelled waiter's notification went to `second`.
    assert!(poll_once(&mut second).is_ready(), "a notification was lost");
    assert!(shared.0.try_acquire().is_some(), "the lock leaked");
    assert_eq!(shared.1.__waiter_records(), 0);
    assert_eq!(shared.0.__waiter_records(), 0);
});

// ---------------------------------------------------------------------------
// Barrier
// ---------------------------------------------------------------------------

model!(barrier_withdraw_vs_trip, 3, || {
    let barrier = Arc::new(Barrier::new(2));
    let mut first: BoxFuture<bool> = {
        let barrier = barrier.clone();
        Box::pin(async move { barrier.wait().await.is_ok() })
    };
    assert!(poll_once(&mut first).is_pending());
    let withdrawer = thread::spawn(move || drop(first));
    let mut second: BoxFuture<bool> = {
        let barrier = barrier.clone();
        Box::pin(async move { barrier.wait().await.is_ok() })
    };
    let tripped = poll_once(&mut second);
    withdrawer.join().unwrap();
    match tripped {
        Poll::Ready(ok) => assert!(ok, "tripped with the first party"),
        Poll::Pending => {
            assert_eq!(barrier.n_waiting(), 1, "the first arrival was withdrawn");
            drop(second);
        }
    }
    assert!(!barrier.is_broken());
    assert_eq!(barrier.n_waiting(), 0);
    assert_eq!(barrier.__waiter_records(), 0);
});

// As `barrier_withdraw_vs_trip`, with an action: the generation is then
// decided in one critical section and released in a second, after the
// action, so the withdrawer can also drop its future in between (the
// leader must free that abandoned arrival).
model!(barrier_withdraw_vs_trip_with_action, 3, || {
    let trips = Arc::new(AtomicUsize::new(0));
    let barrier = Arc::new(Barrier::with_action(2, {
        let trips = trips.clone();
        move || {
            trips.fetch_add(1, Ordering::SeqCst);
        }
    }));
    let mut first: BoxFuture<bool> = {
        let barrier = barrier.clone();
        Box::pin(async move { barrier.wait().await.is_ok() })
    };
    assert!(poll_once(&mut first).is_pending());
    let withdrawer = thread::spawn(move || drop(first));
    let mut second: BoxFuture<bool> = {
        let barrier = barrier.clone();
        Box::pin(async move { barrier.wait().await.is_ok() })
    };
    let tripped = poll_once(&mut second);
    withdrawer.join().unwrap();
    match tripped {
        Poll::Ready(ok) => {
            assert!(ok, "tripped with the first party");
            assert_eq!(trips.load(Ordering::SeqCst), 1);
        }
        Poll::Pending => {
            assert_eq!(barrier.n_waiting(), 1, "the first arrival was withdrawn");
            assert_eq!(trips.load(Ordering::SeqCst), 0);
            drop(second);
        }
    }
    assert!(!barrier.is_broken());
    assert_eq!(barrier.n_waiting(), 0);
    assert_eq!(barrier.__waiter_records(), 0);
});

model!(barrier_abort_vs_arrival, 3, || {
    let barrier = Arc::new(Barrier::new(2));
    let mut first: BoxFuture<bool> = {
        let barrier = barrier.clone();
        Box::pin(async move { barrier.wait().await.is_ok() })
    };
    assert!(poll_once(&mut first).is_pending());
    let aborter = {
        let barrier = barrier.clone();
        thread::spawn(move || barrier.abort())
    };
    let mut second: BoxFuture<bool> = {
        let barrier = barrier.clone();
        Box::pin(async move { barrier.wait().await.is_ok() })
    };
    let second_result = poll_once(&mut second);
    aborter.join().unwrap();
    let first_result = poll_once(&mut first);
    // Either the generation tripped before the abort (both Ok) or the
    // abort came first (both broken): never one of each.
    match (first_result, second_result) {
        (Poll::Ready(a), Poll::Ready(b)) => assert_eq!(a, b),
        other => panic!(
            "a party was left waiting: {:?}",
            (other.0.is_ready(), other.1.is_ready())
        ),
    }
    assert!(barrier.is_broken());
    assert_eq!(barrier.__waiter_records(), 0);
});

// Parties arriving while the action runs are deferred to the next
// generation: four arrivals at a barrier of two — one on a thread, three
// polled by hand here — make two generations whose actions never run at
// once (without the deferral, the two polled here could trip a second
// generation, and run its action, during the thread's), and every party is
// released only after an action ran.
model!(
    barrier_arrivals_during_the_action_wait_for_the_next_generation,
    2,
    || {
        let running = Arc::new(AtomicUsize::new(0));
        let actions = Arc::new(AtomicUsize::new(0));
        let barrier = Arc::new(Barrier::with_action(2, {
            let (running, actions) = (running.clone(), actions.clone());
            move || {
                assert_eq!(running.fetch_add(1, Ordering::SeqCst), 0, "actions overlap");
                actions.fetch_add(1, Ordering::SeqCst);
                running.fetch_sub(1, Ordering::SeqCst);
            }
        }));
        let party = || -> BoxFuture<bool> {
            let (barrier, actions) = (barrier.clone(), actions.clone());
            Box::pin(async move {
                let r = barrier.wait().await.unwrap();
                assert!(
                    actions.load(Ordering::SeqCst) >= 1,
                    "released before an action"
                );
                r.is_leader()
            })
        };
        let mut first = party();
        assert!(poll_once(&mut first).is_pending());
        let thread_party = {
            let mut fut = party();
            thread::spawn(move || loom::future::block_on(&mut fut))
        };
        let mut later = [Some(party()), Some(party())];
        let mut results = Vec::new();
        // Polled once here (maybe during the thread's action), then
        // joined: a deferred party must be polled again to arrive for
        // the next generation, as its executor does when it is woken.
        let mut join = std::future::poll_fn(|cx| {
            for slot in &mut later {
                if let Some(fut) = slot
                    && let Poll::Ready(leader) = fut.as_mut().poll(cx)
                {
                    results.push(leader);
                    *slot = None;
                }
            }
            if later.iter().all(Option::is_none) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        });
        let _ = std::pin::Pin::new(&mut join).poll(&mut Context::from_waker(Waker::noop()));
        loom::future::block_on(join);
        results.push(loom::future::block_on(first));
        results.push(thread_party.join().unwrap());
        let leaders = results;
        assert_eq!(
            leaders.iter().filter(|&&l| l).count(),
            2,
            "one leader a generation"
        );
        assert_eq!(actions.load(Ordering::SeqCst), 2);
        assert_eq!(barrier.__waiter_records(), 0);
    }
);

// ---------------------------------------------------------------------------
// RwLock
// ---------------------------------------------------------------------------

/// Who is inside an `RwLock` model: readers count up, a writer sets a flag.
#[derive(Default)]
struct Inside {
    readers: AtomicUsize,
    writer: AtomicUsize,
}

impl Inside {
    fn read(&self) {
        assert_eq!(self.writer.load(Ordering::SeqCst), 0, "read during a write");
        self.readers.fetch_add(1, Ordering::SeqCst);
    }
    fn read_done(&self) {
        self.readers.fetch_sub(1, Ordering::SeqCst);
    }
    fn write(&self) {
        assert_eq!(
            self.readers.load(Ordering::SeqCst),
            0,
            "write during a read"
        );
        assert_eq!(self.writer.swap(1, Ordering::SeqCst), 0, "two writers");
    }
    fn write_done(&self) {
        self.writer.store(0, Ordering::SeqCst);
    }
}

// A writer on a thread (the blocking twin: the parking path), a reader on
// another (async), and a reader here: readers may overlap, the writer
// never overlaps anyone, the data a reader sees is never half written,
// and everyone gets in (loom reports a deadlock on a lost hand-off).
model!(rwlock_readers_share_and_the_writer_excludes, 2, || {
    let rw = Arc::new(RwLock::new((0_usize, 0_usize)));
    let inside = Arc::new(Inside::default());
    let writer = {
        let (rw, inside) = (rw.clone(), inside.clone());
        thread::spawn(move || {
            let mut g = rw.write_blocking();
            inside.write();
            g.0 += 1;
            g.1 += 1;
            inside.write_done();
        })
    };
    let reader = {
        let (rw, inside) = (rw.clone(), inside.clone());
        thread::spawn(move || {
            loom::future::block_on(async {
                let g = rw.read().await;
                inside.read();
                assert_eq!(g.0, g.1, "a half-done write");
                inside.read_done();
            });
        })
    };
    let g = loom::future::block_on(rw.read());
    inside.read();
    assert_eq!(g.0, g.1, "a half-done write");
    inside.read_done();
    drop(g);
    writer.join().unwrap();
    reader.join().unwrap();
    assert_eq!(*rw.try_write().unwrap(), (1, 1));
    assert_eq!(rw.__waiter_records(), 0);
});

// A writer queued behind a reader (collecting its permits as they come
// back) is dropped while that reader releases; a reader queued behind the
// writer must get in either way, and nothing may leak: whether the writer
// gave back a partial collection or the whole lock it had been handed.
model!(
    rwlock_writer_withdrawn_while_collecting_lets_the_readers_in,
    3,
    || {
        let rw = Arc::new(RwLock::new(()));
        let reading = rw.clone().try_read_owned().unwrap();
        let mut writer: BoxFuture<()> = {
            let rw = rw.clone();
            Box::pin(async move { drop(rw.write().await) })
        };
        assert!(poll_once(&mut writer).is_pending());
        let mut late: BoxFuture<()> = {
            let rw = rw.clone();
            Box::pin(async move { drop(rw.read().await) })
        };
        assert!(poll_once(&mut late).is_pending(), "behind the writer");
        let dropper = thread::spawn(move || drop(writer));
        let releaser = thread::spawn(move || drop(reading));
        loom::future::block_on(late); // loom reports a deadlock if stuck
        dropper.join().unwrap();
        releaser.join().unwrap();
        assert!(rw.try_write().is_some(), "permits leaked");
        assert_eq!(rw.__waiter_records(), 0);
    }
);

// `downgrade` races a reader queued at the front and a writer behind it:
// the reader gets in beside the downgraded guard, the writer only after
// both have left.
model!(rwlock_downgrade_admits_readers_not_writers, 2, || {
    let rw = Arc::new(RwLock::new(0_usize));
    let inside = Arc::new(Inside::default());
    let mut w = rw.clone().try_write_owned().unwrap();
    inside.write();
    let mut reader: BoxFuture<()> = {
        let (rw, inside) = (rw.clone(), inside.clone());
        Box::pin(async move {
            let g = rw.read().await;
            inside.read();
            assert_eq!(*g, 1);
            inside.read_done();
        })
    };
    assert!(poll_once(&mut reader).is_pending());
    let writer = {
        let (rw, inside) = (rw.clone(), inside.clone());
        thread::spawn(move || {
            loom::future::block_on(async {
                let mut g = rw.write().await;
                inside.write();
                *g += 1;
                inside.write_done();
            });
        })
    };
    let downgrader = {
        let inside = inside.clone();
        thread::spawn(move || {
            *w = 1;
            inside.write_done();
            let r = warden_model::OwnedRwLockWriteGuard::downgrade(w);
            inside.read();
            assert_eq!(*r, 1);
            inside.read_done();
        })
    };
    loom::future::block_on(reader);
    downgrader.join().unwrap();
    writer.join().unwrap();
    assert_eq!(*rw.try_read().unwrap(), 2);
    assert_eq!(rw.__waiter_records(), 0);
});

// No overtaking, kept at the release: a reader queued behind a held write
// lock (polled on its own thread) races this thread, which releases and
// takes the write lock again in a loop without yielding between laps.
// Whatever the schedule — including the reader not running at all until
// the loop blocks — none of the loop's acquisitions comes between the
// release and the reader's (`RwLock`'s Fairness: nobody overtakes a
// waiter).
model!(
    rwlock_looping_writer_never_overtakes_a_waiting_reader,
    2,
    || {
        let rw = Arc::new(RwLock::new(Vec::new()));
        let held = rw.try_write().unwrap();
        let mut reader: BoxFuture<usize> = {
            let rw = rw.clone();
            Box::pin(async move { rw.read().await.len() })
        };
        assert!(poll_once(&mut reader).is_pending()); // queued
        let r = thread::spawn(move || loom::future::block_on(reader));
        drop(held); // hands a read lock to the reader
        loom::future::block_on(async {
            for _ in 0..3 {
                rw.write().await.push("loop");
            }
        });
        let overtakes = r.join().unwrap();
        assert_eq!(overtakes, 0, "the loop wrote {overtakes} times first");
        assert_eq!(rw.__waiter_records(), 0);
    }
);
