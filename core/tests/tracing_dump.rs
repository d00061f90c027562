//! Feature `tracing`: `warden::debug::dump()`, the hang report. A
//! deliberately stuck program's report names the lock, the holder's line
//! and the waiter's line. Each test names its primitives uniquely and
//! reads only their paragraphs (the tests run in parallel).
#![cfg(feature = "tracing")]

mod tracing_common;

use std::sync::Arc;
use std::time::Duration;

use tokio::time::sleep;
use tracing_common::at;
use warden::debug::{Kind, Mode, PrimitiveState, Who, dump};
use warden::{Condition, Lock, RLock, RwLock, Semaphore, guarded};

/// The report's state of the primitive called `name`, if it is listed.
fn state_of(name: &str) -> Option<PrimitiveState> {
    dump()
        .primitives()
        .iter()
        .find(|p| p.name() == name)
        .cloned()
}

/// The paragraph of the report about `name`.
fn paragraph(name: &str) -> String {
    state_of(name).map(|p| p.to_string()).unwrap_or_default()
}

#[tokio::test(start_paused = true)]
async fn a_stuck_program_is_named_with_the_holder_and_the_waiter() {
    let accounts = Arc::new(Lock::new(vec![100_i64]).named("dump-accounts"));
    let (unstick, release) = tokio::sync::oneshot::channel::<()>();
    let holder_line = line!() + 4;
    let holder = tokio::spawn({
        let accounts = accounts.clone();
        async move {
            let guard = accounts.acquire().await;
            let _ = release.await; // stuck here, holding the lock
            drop(guard);
        }
    });
    let waiter_line = line!() + 3;
    let waiter = tokio::spawn({
        let accounts = accounts.clone();
        async move { accounts.acquire().await[0] }
    });
    sleep(Duration::from_secs(3)).await;

    let report = dump().to_string();
    let text = paragraph("dump-accounts");
    assert!(report.contains(&text), "{report}");
    assert!(text.starts_with("Lock `dump-accounts`\n"), "{text}");
    let holder_id = holder.id().to_string();
    let waiter_id = waiter.id().to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    let holder_says = format!(
        "  held by task {holder_id} for 3s (exclusive), acquired at {}",
        at(file!(), holder_line)
    );
    assert!(lines[1].starts_with(&holder_says), "{text}");
    let waiter_says = format!(
        "  waited on by task {waiter_id} for 3s (exclusive), at {}",
        at(file!(), waiter_line)
    );
    assert!(lines[2].starts_with(&waiter_says), "{text}");
    let state = state_of("dump-accounts").unwrap();
    assert_eq!(state.kind(), Kind::Lock);
    assert_eq!(
        state.holders()[0].who().task_id().unwrap().to_string(),
        holder_id
    );
    assert_eq!(state.holders()[0].elapsed(), Duration::from_secs(3));
    assert_eq!(state.waiters()[0].site().line(), waiter_line);

    drop(unstick);
    assert_eq!(waiter.await.unwrap(), 100);
    holder.await.unwrap();
    assert!(
        state_of("dump-accounts").is_none(),
        "released: no longer listed"
    );
}

#[tokio::test(start_paused = true)]
async fn holders_of_every_kind_are_listed_with_their_mode() {
    let sem = Semaphore::new(3).named("dump-sem");
    let rw = RwLock::new(()).named("dump-rw");
    let rl = RLock::new(()).named("dump-rl");
    let permits = sem.acquire_many(2).await;
    let r1 = rw.read().await;
    let r2 = rw.read().await;
    let outer = rl.acquire().await;
    let inner = rl.acquire().await; // re-entry: a second level
    sleep(Duration::from_millis(5)).await;

    let sem_state = state_of("dump-sem").unwrap();
    assert_eq!(sem_state.holders().len(), 1);
    assert_eq!(sem_state.holders()[0].mode(), Mode::Permits(2));
    assert_eq!(sem_state.kind(), Kind::Semaphore);
    let rw_state = state_of("dump-rw").unwrap();
    assert!(rw_state.holders().iter().all(|h| h.mode() == Mode::Read));
    assert_eq!(rw_state.holders().len(), 2);
    let reentrant = state_of("dump-rl").unwrap();
    assert_eq!(reentrant.holders().len(), 2);
    assert!(
        reentrant
            .holders()
            .iter()
            .all(|h| h.who() == Who::current())
    );
    assert!(
        paragraph("dump-sem").contains("(2 permits)"),
        "{}",
        paragraph("dump-sem")
    );

    drop((permits, r1, r2, inner, outer));
    for name in ["dump-sem", "dump-rw", "dump-rl"] {
        assert!(state_of(name).is_none(), "{name} released");
    }
}

#[tokio::test(start_paused = true)]
async fn a_downgraded_writer_is_listed_as_a_reader() {
    let rw = RwLock::new(()).named("dump-downgrade");
    let w = rw.write().await;
    assert_eq!(
        state_of("dump-downgrade").unwrap().holders()[0].mode(),
        Mode::Write
    );
    let r = warden::RwLockWriteGuard::downgrade(w);
    assert_eq!(
        state_of("dump-downgrade").unwrap().holders()[0].mode(),
        Mode::Read
    );
    drop(r);
    assert!(state_of("dump-downgrade").is_none());
}

#[tokio::test(start_paused = true)]
async fn a_condition_waiter_is_listed_and_retakes_the_lock_at_its_own_line() {
    let state = Arc::new((
        Lock::new(false).named("dump-cv-lock"),
        Condition::new().named("dump-cv"),
    ));
    let wait_line = line!() + 6;
    let waiter = tokio::spawn({
        let state = state.clone();
        async move {
            let (lock, cond) = &*state;
            let guard = lock.acquire().await;
            let mut guard = cond.wait_for(guard, |ready| *ready).await;
            *guard = false;
            sleep(Duration::from_millis(1)).await; // holding the lock again
        }
    });
    sleep(Duration::from_millis(10)).await;
    let cv = state_of("dump-cv").expect("waiting on the condition");
    assert_eq!(cv.kind(), Kind::Condition);
    assert_eq!(cv.waiters()[0].mode(), Mode::Signal);
    assert_eq!(cv.waiters()[0].site().line(), wait_line);
    assert!(state_of("dump-cv-lock").is_none(), "released while waiting");
    *state.0.acquire().await = true;
    state.1.notify_all();
    sleep(Duration::from_micros(500)).await;
    let lock = state_of("dump-cv-lock").expect("held again by the waiter");
    assert_eq!(
        lock.holders()[0].site().line(),
        wait_line,
        "re-taken for the wait's line"
    );
    assert!(state_of("dump-cv").is_none());
    waiter.await.unwrap();
}

#[guarded]
struct Flag {
    lock: Lock,
    #[guarded(lock)]
    ready: bool,
    #[condition(lock)]
    changed: Condition,
}

/// A `#[condition(lock)]` field's waits are reported at the caller's line
/// too, not inside warden.
#[tokio::test(start_paused = true)]
async fn a_bound_condition_waiter_is_listed_at_its_own_line() {
    let flag = Arc::new(Flag::new(FlagInit {
        lock: Lock::new(()),
        ready: false,
        changed: Condition::new().named("dump-bound-cv"),
    }));
    let lines = [line!() + 6, line!() + 8];
    let waiter = tokio::spawn({
        let flag = flag.clone();
        async move {
            let guard = flag.lock.acquire().await;
            // `wait_for`, then `wait`, each from its own line.
            let guard = flag.changed.wait_for(guard, |data| data.ready).await;
            drop(guard);
            let _guard = flag.changed.wait(flag.lock.acquire().await).await;
        }
    });
    for line in lines {
        sleep(Duration::from_millis(10)).await;
        let cv = state_of("dump-bound-cv").expect("waiting on the condition");
        assert_eq!(cv.waiters()[0].site().line(), line);
        assert!(cv.waiters()[0].site().file().ends_with("tracing_dump.rs"));
        flag.lock.acquire().await.ready = true;
        flag.changed.notify_all();
    }
    waiter.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn unnamed_primitives_are_counted_not_listed() {
    let lock = Lock::new(());
    let _held = lock.acquire().await;
    let report = dump();
    assert!(report.unnamed() >= 1);
    assert!(report.primitives().iter().all(|p| !p.name().is_empty()));
    assert!(report.to_string().contains("unnamed primitive"), "{report}");
}

#[test]
fn a_forgotten_permit_is_no_longer_listed() {
    let sem = Semaphore::new(1).named("dump-forget");
    let permit = sem.try_acquire().unwrap();
    assert!(state_of("dump-forget").is_some());
    permit.forget();
    assert!(state_of("dump-forget").is_none());
}

#[test]
fn threads_are_holders_too() {
    let lock = Arc::new(Lock::new(()).named("dump-thread"));
    let guard = lock.acquire_blocking();
    let holder = state_of("dump-thread").unwrap().holders()[0];
    assert!(holder.who().task_id().is_none());
    assert!(
        holder.who().to_string().starts_with("thread #"),
        "{}",
        holder.who()
    );
    drop(guard);
}
