//! `Event`: the flag, hand-polled readiness, set-then-clear releasing every
//! current waiter (tasks, hand-polled futures and threads alike), and
//! cancel safety. CPython ports live in `cpython_lock_tests.rs`, blocking
//! twins in `blocking.rs`.

mod support;

use std::sync::Arc;
use std::time::Duration;

use support::{Probe, counting_waker, until, until_blocking, within};
use tokio::time::timeout;
use warden::Event;

#[test]
fn starts_cleared_and_is_const() {
    static READY: Event = Event::new();
    assert!(!READY.is_set());
    assert!(!Event::default().is_set());
}

#[test]
fn set_and_clear_are_idempotent() {
    let ev = Event::new();
    ev.set();
    ev.set();
    assert!(ev.is_set());
    ev.clear();
    ev.clear();
    assert!(!ev.is_set());
}

#[test]
fn debug_shows_the_flag_and_waiters() {
    let ev = Event::new();
    assert!(format!("{ev:?}").contains("is_set: false"));
    let mut w = Probe::new(ev.wait());
    w.pending();
    let d = format!("{ev:?}");
    assert!(
        d.contains("is_set: false") && d.contains("waiters: 1"),
        "{d}"
    );
    assert!(format!("{:?}", ev.wait()).starts_with("EventWait"));
    ev.set();
    assert!(format!("{ev:?}").contains("is_set: true"));
    w.ready();
}

// ---------------------------------------------------------------------------
// Readiness, polled by hand
// ---------------------------------------------------------------------------

#[test]
fn wait_on_a_set_event_is_ready_on_first_poll() {
    let ev = Event::new();
    ev.set();
    let mut w = Probe::new(ev.wait());
    w.ready();
    assert_eq!(
        ev.__waiter_records(),
        0,
        "no record for an immediate return"
    );
}

#[test]
fn wait_is_pending_until_set_then_ready() {
    let ev = Event::new();
    let mut w = Probe::new(ev.wait());
    w.pending();
    w.pending();
    assert_eq!(w.wakes(), 0);
    assert_eq!(ev.__waiter_records(), 1);
    ev.set();
    assert_eq!(w.wakes(), 1);
    w.ready();
    assert_eq!(ev.__waiter_records(), 0);
}

#[test]
fn the_latest_waker_is_the_one_woken() {
    let ev = Event::new();
    let mut w = Probe::new(ev.wait());
    w.pending();
    let (other, count) = counting_waker();
    assert!(w.poll_with(&other).is_pending());
    ev.set();
    assert_eq!((count.count(), w.wakes()), (1, 0));
    w.ready();
}

#[test]
fn set_then_clear_releases_every_current_waiter() {
    let ev = Event::new();
    let mut ws: Vec<_> = (0..5).map(|_| Probe::new(ev.wait())).collect();
    for w in &mut ws {
        w.pending();
    }
    ev.set();
    ev.clear(); // before any waiter ran
    assert!(!ev.is_set());
    // A waiter arriving after the clear is not released.
    let mut late = Probe::new(ev.wait());
    late.pending();
    for w in &mut ws {
        assert_eq!(w.wakes(), 1);
        w.ready();
    }
    assert_eq!(late.wakes(), 0);
    late.pending();
    assert_eq!(ev.__waiter_records(), 1);
    ev.set();
    late.ready();
    assert_eq!(ev.__waiter_records(), 0);
}

#[test]
fn set_clear_set_releases_once_and_leaves_the_flag_set() {
    // asyncio's test_clear_with_waiters.
    let ev = Event::new();
    let mut w = Probe::new(ev.wait());
    w.pending();
    ev.set();
    ev.clear();
    assert!(!ev.is_set());
    ev.set();
    ev.set();
    assert_eq!(w.wakes(), 1, "released by the first set only");
    assert_eq!(ev.__waiter_records(), 1, "released, not yet picked up");
    w.ready();
    assert_eq!(ev.__waiter_records(), 0);
    assert!(ev.is_set());
}

// ---------------------------------------------------------------------------
// Cancel safety
// ---------------------------------------------------------------------------

#[test]
fn dropping_a_queued_waiter_removes_it() {
    let ev = Event::new();
    let mut a = Probe::new(ev.wait());
    let mut b = Probe::new(ev.wait());
    a.pending();
    b.pending();
    drop(a);
    assert_eq!(ev.__waiter_records(), 1);
    ev.set();
    assert_eq!(b.wakes(), 1);
    b.ready();
    assert_eq!(ev.__waiter_records(), 0);
}

#[test]
fn dropping_a_released_waiter_takes_nothing_from_the_others() {
    let ev = Event::new();
    let mut a = Probe::new(ev.wait());
    let mut b = Probe::new(ev.wait());
    a.pending();
    b.pending();
    ev.set();
    ev.clear();
    drop(a); // released but never polled again
    assert_eq!(b.wakes(), 1);
    b.ready(); // still released although the flag is clear
    assert_eq!(ev.__waiter_records(), 0);
}

#[tokio::test]
async fn zero_timeout_returns_at_once_when_set() {
    let ev = Event::new();
    assert!(timeout(Duration::ZERO, ev.wait()).await.is_err());
    assert_eq!(ev.__waiter_records(), 0);
    ev.set();
    assert!(timeout(Duration::ZERO, ev.wait()).await.is_ok());
}

#[tokio::test(start_paused = true)]
async fn tiny_timeouts_leave_nothing_behind() {
    let ev = Event::new();
    for micros in [1, 10, 100, 500_000] {
        assert!(
            timeout(Duration::from_micros(micros), ev.wait())
                .await
                .is_err()
        );
        assert_eq!(ev.__waiter_records(), 0);
    }
    ev.set();
    assert!(timeout(Duration::from_secs(1), ev.wait()).await.is_ok());
}

#[tokio::test]
async fn select_and_abort_leave_nothing_behind() {
    let ev = Arc::new(Event::new());
    tokio::select! {
        biased;
        () = ev.wait() => panic!("not set"),
        () = tokio::task::yield_now() => {}
    }
    assert_eq!(ev.__waiter_records(), 0);
    let t = tokio::spawn({
        let ev = ev.clone();
        async move { ev.wait().await }
    });
    until("the waiter registered", || ev.__waiter_records() == 1).await;
    t.abort();
    assert!(t.await.unwrap_err().is_cancelled());
    assert_eq!(ev.__waiter_records(), 0);
}

#[tokio::test]
async fn aborting_a_released_task_before_it_ran() {
    let ev = Arc::new(Event::new());
    let spawn = || {
        let ev = ev.clone();
        tokio::spawn(async move { ev.wait().await })
    };
    let (a, b) = (spawn(), spawn());
    until("both registered", || ev.__waiter_records() == 2).await;
    ev.set();
    ev.clear();
    a.abort();
    assert!(a.await.unwrap_err().is_cancelled());
    within("b, released by the set", b).await.unwrap();
    assert_eq!(ev.__waiter_records(), 0);
}

// ---------------------------------------------------------------------------
// Tasks and threads together
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_then_clear_releases_tasks_and_threads_alike() {
    for _round in 0..20 {
        let ev = Arc::new(Event::new());
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let ev = ev.clone();
                tokio::spawn(async move { ev.wait().await })
            })
            .collect();
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let ev = ev.clone();
                std::thread::spawn(move || ev.wait_blocking())
            })
            .collect();
        let timed: Vec<_> = (0..2)
            .map(|_| {
                let ev = ev.clone();
                std::thread::spawn(move || ev.wait_timeout_blocking(support::HANG))
            })
            .collect();
        until("eight waiters", || ev.__waiter_records() == 8).await;
        ev.set();
        ev.clear();
        for t in tasks {
            within("a task waiter", t).await.unwrap();
        }
        for t in threads {
            t.join().unwrap();
        }
        for t in timed {
            assert!(t.join().unwrap(), "released by set, not timed out");
        }
        assert!(!ev.is_set());
        assert_eq!(ev.__waiter_records(), 0);
    }
}

#[test]
fn set_from_another_thread_wakes_a_blocked_thread() {
    let ev = Arc::new(Event::new());
    let waiter = std::thread::spawn({
        let ev = ev.clone();
        move || ev.wait_timeout_blocking(Duration::MAX)
    });
    until_blocking("the thread registered", || ev.__waiter_records() == 1);
    ev.set();
    assert!(waiter.join().unwrap());
    assert_eq!(ev.__waiter_records(), 0);
}

#[test]
fn blocking_timeouts_leave_nothing_behind() {
    let ev = Event::new();
    assert!(!ev.wait_timeout_blocking(Duration::ZERO));
    assert!(!ev.wait_timeout_blocking(Duration::from_millis(1)));
    assert_eq!(ev.__waiter_records(), 0);
    ev.set();
    assert!(ev.wait_timeout_blocking(Duration::ZERO));
    ev.wait_blocking();
}
