//! Feature `tracing`: the events warden emits, read back through
//! `tracing-subscriber`'s fmt and JSON layers, with tokio's clock paused
//! so every duration is exact. Each test names its primitives uniquely
//! (the tests of this binary run in parallel; each reads only its own
//! thread's subscriber).
#![cfg(feature = "tracing")]

mod tracing_common;

use std::sync::Arc;
use std::time::Duration;

use tokio::time::{sleep, timeout};
use tracing::Level;
use tracing_common::{at, fmt, json};
use warden::debug::{Lockdep, set_lockdep};
use warden::{Barrier, BoundedSemaphore, Event, Lock, RwLock, Semaphore};

#[tokio::test(start_paused = true)]
async fn a_wait_that_queued_is_a_debug_event_with_its_wait() {
    let (_sub, out) = fmt(Level::DEBUG);
    let lock = Arc::new(Lock::new(()).named("ev-queued"));
    let held = lock.acquire().await;
    let line = line!() + 3;
    let waiter = tokio::spawn({
        let lock = lock.clone();
        async move { drop(lock.acquire().await) }
    });
    sleep(Duration::from_millis(30)).await;
    drop(held);
    waiter.await.unwrap();
    let lines = out.lines_with(&["ev-queued", "waited_us=30000", "outcome=\"acquired\""]);
    assert_eq!(lines.len(), 1, "{}", out.text());
    assert!(lines[0].contains("DEBUG"), "{}", lines[0]);
    assert!(lines[0].contains("kind=\"Lock\""), "{}", lines[0]);
    assert!(lines[0].contains(&at(file!(), line)), "{}", lines[0]);
    // The acquisition that did not queue emitted nothing.
    assert_eq!(out.lines_with(&["ev-queued"]).len(), 1, "{}", out.text());
}

#[tokio::test(start_paused = true)]
async fn every_kind_of_wait_reports_its_queueing() {
    let (_sub, out) = fmt(Level::DEBUG);
    let sem = Arc::new(Semaphore::new(0).named("ev-sem"));
    let rw = Arc::new(RwLock::new(()).named("ev-rw"));
    let event = Arc::new(Event::new().named("ev-event"));
    let write = rw.write().await;
    let tasks = [
        tokio::spawn({
            let sem = sem.clone();
            async move { drop(sem.acquire_many(2).await) }
        }),
        tokio::spawn({
            let rw = rw.clone();
            async move { drop(rw.read().await) }
        }),
        tokio::spawn({
            let event = event.clone();
            async move { event.wait().await }
        }),
    ];
    sleep(Duration::from_millis(5)).await;
    sem.release(2);
    drop(write);
    event.set();
    for t in tasks {
        t.await.unwrap();
    }
    for (name, kind, outcome) in [
        ("ev-sem", "Semaphore", "acquired"),
        ("ev-rw", "RwLock", "acquired"),
        ("ev-event", "Event", "set"),
    ] {
        let lines = out.lines_with(&[
            name,
            &format!("kind=\"{kind}\""),
            "waited_us=5000",
            &format!("outcome=\"{outcome}\""),
        ]);
        assert_eq!(lines.len(), 1, "{name}: {}", out.text());
    }
}

#[tokio::test(start_paused = true)]
async fn a_hold_past_the_threshold_warns_at_its_release_with_the_acquire_site() {
    let (_sub, out) = fmt(Level::INFO);
    let lock = Lock::new(0).named("ev-long");
    let line = line!() + 1;
    let mut guard = lock.acquire().await;
    *guard += 1;
    sleep(Duration::from_millis(150)).await;
    drop(guard);
    let lines = out.lines_with(&["WARN", "ev-long", "held_us=150000"]);
    assert_eq!(lines.len(), 1, "{}", out.text());
    assert!(lines[0].contains(&at(file!(), line)), "{}", lines[0]);
    assert!(
        lines[0].contains("over the 100ms threshold"),
        "{}",
        lines[0]
    );
}

#[tokio::test(start_paused = true)]
async fn an_info_subscriber_sees_nothing_of_ordinary_contention() {
    let (_sub, out) = fmt(Level::INFO);
    let lock = Arc::new(Lock::new(0_u32).named("ev-quiet"));
    let sem = Arc::new(Semaphore::new(1).named("ev-quiet-sem"));
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (lock, sem) = (lock.clone(), sem.clone());
            tokio::spawn(async move {
                let _permit = sem.acquire().await;
                let mut g = lock.acquire().await;
                sleep(Duration::from_millis(10)).await; // under the threshold
                *g += 1;
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(*lock.acquire().await, 8);
    assert!(out.lines_with(&["ev-quiet"]).is_empty(), "{}", out.text());
}

#[tokio::test(start_paused = true)]
async fn the_json_layer_gets_the_fields() {
    let (_sub, out) = json(Level::DEBUG);
    let lock = Lock::new(()).named("ev-json");
    let guard = lock.acquire().await;
    sleep(Duration::from_millis(120)).await;
    drop(guard);
    let lines = out.lines_with(&["\"primitive\":\"ev-json\""]);
    assert_eq!(lines.len(), 1, "{}", out.text());
    for part in [
        "\"level\":\"WARN\"",
        "\"target\":\"warden\"",
        "\"kind\":\"Lock\"",
        "\"held_us\":120000",
        "\"site\":\"core/tests/tracing_events.rs:",
    ] {
        assert!(lines[0].contains(part), "{part} in {}", lines[0]);
    }
}

#[tokio::test(start_paused = true)]
async fn a_barrier_broken_by_a_timeout_warns_why_and_where() {
    let (_sub, out) = fmt(Level::INFO);
    let barrier = Barrier::new(2).named("ev-barrier");
    let line = line!() + 1;
    let broken = barrier.wait_timeout(Duration::from_millis(50)).await;
    assert!(broken.is_err());
    let lines = out.lines_with(&["WARN", "ev-barrier", "a wait timed out"]);
    assert_eq!(lines.len(), 1, "{}", out.text());
    assert!(lines[0].contains(&at(file!(), line)), "{}", lines[0]);
}

#[tokio::test(start_paused = true)]
async fn a_barrier_aborted_on_purpose_is_only_a_debug_event() {
    let (info, out) = fmt(Level::INFO);
    let barrier = Barrier::new(2).named("ev-abort");
    barrier.abort();
    assert!(barrier.wait().await.is_err());
    assert!(out.lines_with(&["ev-abort"]).is_empty(), "{}", out.text());
    drop(info);
    let (_sub, out) = fmt(Level::DEBUG);
    let again = Barrier::new(2).named("ev-abort-2");
    let line = line!() + 1;
    again.abort();
    let lines = out.lines_with(&["DEBUG", "ev-abort-2", "abort() was called"]);
    assert_eq!(lines.len(), 1, "{}", out.text());
    assert!(lines[0].contains(&at(file!(), line)), "{}", lines[0]);
}

#[tokio::test(start_paused = true)]
async fn a_barrier_whose_action_panics_warns() {
    let (_sub, out) = fmt(Level::WARN);
    let barrier = Barrier::with_action(1, || panic!("action failed")).named("ev-action");
    let outcome = tokio::spawn(async move { barrier.wait().await }).await;
    assert!(outcome.unwrap_err().is_panic());
    // The spawned task ran on this thread (a current-thread runtime).
    let lines = out.lines_with(&["WARN", "ev-action", "its action panicked"]);
    assert_eq!(lines.len(), 1, "{}", out.text());
}

#[test]
fn a_refused_release_warns_with_its_site() {
    let (_sub, out) = fmt(Level::WARN);
    let sem = BoundedSemaphore::new(1).named("ev-bounded");
    let line = line!() + 1;
    assert!(sem.release(1).is_err());
    let lines = out.lines_with(&["WARN", "ev-bounded", "permits=1"]);
    assert_eq!(lines.len(), 1, "{}", out.text());
    assert!(lines[0].contains(&at(file!(), line)), "{}", lines[0]);
    // A release that is allowed says nothing.
    sem.try_acquire().unwrap().forget();
    assert_eq!(sem.release(1), Ok(()));
    assert_eq!(out.lines_with(&["ev-bounded"]).len(), 1);
}

// ---- self-deadlock ---------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn a_task_waiting_for_a_lock_it_holds_is_warned_about_once() {
    let (_sub, out) = fmt(Level::WARN);
    let lock = Arc::new(Lock::new(()).named("sd-true"));
    let (held_line, again_line) = tokio::spawn({
        let lock = lock.clone();
        async move {
            let held_line = line!() + 1;
            let _held = lock.acquire().await;
            let again_line = line!() + 1;
            let again = timeout(Duration::from_secs(2), lock.acquire()).await;
            assert!(again.is_err(), "it never gets it: it holds it");
            (held_line, again_line)
        }
    })
    .await
    .unwrap();
    let lines = out.lines_with(&["possible self-deadlock", "sd-true"]);
    assert_eq!(lines.len(), 1, "{}", out.text());
    let line = &lines[0];
    for part in [
        "WARN",
        "has waited 100ms",
        "unless that guard was handed to another task",
        "task=task ",
        "waited_us=100000",
        &at(file!(), held_line),
        &at(file!(), again_line),
    ] {
        assert!(line.contains(part), "{part} in {line}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_join_branch_that_releases_in_time_is_no_self_deadlock() {
    let (_sub, out) = fmt(Level::WARN);
    let lock = Arc::new(Lock::new(0).named("sd-join"));
    tokio::spawn({
        let lock = lock.clone();
        async move {
            let held = lock.acquire().await;
            tokio::join!(
                async move {
                    sleep(Duration::from_millis(60)).await;
                    drop(held);
                },
                async { *lock.acquire().await += 1 },
            );
        }
    })
    .await
    .unwrap();
    assert_eq!(*lock.acquire().await, 1);
    assert!(out.lines_with(&["sd-join"]).is_empty(), "{}", out.text());
}

#[tokio::test(start_paused = true)]
async fn a_timed_out_reacquire_within_the_threshold_is_no_self_deadlock() {
    let (_sub, out) = fmt(Level::WARN);
    let lock = Arc::new(Lock::new(()).named("sd-timeout"));
    tokio::spawn({
        let lock = lock.clone();
        async move {
            let _held = lock.acquire().await;
            let again = timeout(Duration::from_millis(60), lock.acquire()).await;
            assert!(again.is_err());
        }
    })
    .await
    .unwrap();
    assert!(out.lines_with(&["sd-timeout"]).is_empty(), "{}", out.text());
}

#[tokio::test(start_paused = true)]
async fn waiting_behind_another_task_is_no_self_deadlock() {
    let (_sub, out) = fmt(Level::WARN);
    let lock = Arc::new(RwLock::new(()).named("sd-other"));
    let held = lock.write().await; // held by the test's own thread
    let waiter = tokio::spawn({
        let lock = lock.clone();
        async move { drop(lock.read().await) }
    });
    sleep(Duration::from_millis(90)).await; // under the hold threshold
    drop(held);
    waiter.await.unwrap();
    assert!(out.lines_with(&["sd-other"]).is_empty(), "{}", out.text());
}

// ---- lock order, `warn` mode --------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn in_warn_mode_an_inversion_is_an_error_event() {
    set_lockdep(Lockdep::Warn);
    let (_sub, out) = fmt(Level::ERROR);
    let a = Lock::new(()).named("ev-dep-a");
    let b = Lock::new(()).named("ev-dep-b");
    {
        let _a = a.acquire().await;
        let _b = b.acquire().await;
    }
    {
        let _b = b.acquire().await;
        let _a = a.acquire().await; // the inversion: reported, not fatal
    }
    let lines = out.lines_with(&["ERROR", "lock order inversion", "ev-dep-a", "ev-dep-b"]);
    assert_eq!(lines.len(), 1, "{}", out.text());
    // Seen once, reported once.
    {
        let _b = b.acquire().await;
        let _a = a.acquire().await;
    }
    assert_eq!(out.lines_with(&["lock order inversion"]).len(), 1);
}
