//! Feature `tracing`: lock-order checking ("lockdep") in `panic` mode, set
//! in the process with `set_lockdep` (every test of this binary wants the
//! same mode; an environment variable would be read once, by whichever
//! test came first). Each test names its locks uniquely: the order graph
//! is shared by the whole process, as it is meant to be.
#![cfg(feature = "tracing")]

mod tracing_common;

use std::sync::Arc;

use tracing_common::at;
use warden::debug::{Lockdep, set_lockdep};
use warden::{Lock, RLock, RwLock, guarded};

/// Runs `body` in a spawned task; returns its panic message, if it
/// panicked.
async fn panic_of<F>(body: F) -> Option<String>
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    set_lockdep(Lockdep::Panic);
    match tokio::spawn(body).await {
        Ok(()) => None,
        Err(e) => {
            let payload = e.into_panic();
            Some(
                payload
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_default(),
            )
        }
    }
}

#[tokio::test]
async fn an_ab_ba_pair_that_never_deadlocked_is_reported_with_both_sites() {
    let a = Arc::new(Lock::new(()).named("dep-a"));
    let b = Arc::new(Lock::new(()).named("dep-b"));
    let (a1, b1) = (a.clone(), b.clone());
    let first = (line!() + 3, line!() + 4);
    let ok = panic_of(async move {
        // One task: a then b. Nothing waits, nothing deadlocks.
        let _a = a1.acquire().await;
        let _b = b1.acquire().await;
    })
    .await;
    assert_eq!(ok, None);
    let second = (line!() + 4, line!() + 5);
    let report = panic_of(async move {
        // Later, another task: b then a. Still no deadlock in this run,
        // but two tasks doing these at once could.
        let _b = b.acquire().await;
        let _a = a.acquire().await;
    })
    .await
    .expect("the inversion is reported");
    assert!(report.contains("lock order inversion"), "{report}");
    for line in [first.0, first.1, second.0, second.1] {
        assert!(
            report.contains(&at(file!(), line)),
            "line {line} in {report}"
        );
    }
    assert!(
        report.contains("Lock `dep-a`") && report.contains("Lock `dep-b`"),
        "{report}"
    );
}

#[tokio::test]
async fn unnamed_locks_are_checked_too() {
    let a = Arc::new(Lock::new(()));
    let b = Arc::new(RwLock::new(()));
    let (a1, b1) = (a.clone(), b.clone());
    assert_eq!(
        panic_of(async move {
            let _a = a1.acquire().await;
            let _b = b1.read().await;
        })
        .await,
        None
    );
    let report = panic_of(async move {
        let _b = b.write().await;
        let _a = a.acquire().await;
    })
    .await
    .expect("reported");
    assert!(report.contains("(unnamed)"), "{report}");
}

#[tokio::test]
async fn correct_nesting_is_not_reported() {
    let outer = Arc::new(Lock::new(()).named("dep-outer"));
    let inner = Arc::new(RLock::new(()).named("dep-inner"));
    for _ in 0..3 {
        let (o, i) = (outer.clone(), inner.clone());
        let r = panic_of(async move {
            let _o = o.acquire().await;
            let _i = i.acquire().await;
            let _again = i.acquire().await; // re-entry adds no order
        })
        .await;
        assert_eq!(r, None);
        // Each alone, in any order: no nesting, no order.
        let (o, i) = (outer.clone(), inner.clone());
        let r = panic_of(async move {
            drop(i.acquire().await);
            drop(o.acquire().await);
        })
        .await;
        assert_eq!(r, None);
    }
}

#[tokio::test]
async fn a_try_acquire_adds_no_order() {
    let a = Arc::new(Lock::new(()).named("dep-try-a"));
    let b = Arc::new(Lock::new(()).named("dep-try-b"));
    let (a1, b1) = (a.clone(), b.clone());
    let r = panic_of(async move {
        let _a = a1.acquire().await;
        let _b = b1.try_acquire().expect("free"); // cannot block: no order
    })
    .await;
    assert_eq!(r, None);
    let r = panic_of(async move {
        let _b = b.acquire().await;
        let _a = a.acquire().await;
    })
    .await;
    assert_eq!(r, None, "b → a is the only order seen");
}

#[test]
fn blocking_twins_are_checked_on_threads() {
    set_lockdep(Lockdep::Panic);
    let a = Arc::new(Lock::new(()).named("dep-thread-a"));
    let b = Arc::new(Lock::new(()).named("dep-thread-b"));
    {
        let _a = a.acquire_blocking();
        let _b = b.acquire_blocking();
    }
    let report = std::thread::spawn(move || {
        let _b = b.acquire_blocking();
        let _a = a.acquire_blocking();
    })
    .join()
    .expect_err("reported");
    let report = report.downcast_ref::<String>().expect("a message");
    assert!(
        report.contains("dep-thread-a") && report.contains("thread #"),
        "{report}"
    );
}

#[guarded(order = [lock, audit])]
struct Bank {
    lock: Lock,
    #[guarded(lock)]
    accounts: Vec<i64>,
    audit: RLock,
    #[guarded(audit)]
    log: Vec<String>,
}

fn bank() -> Arc<Bank> {
    Arc::new(Bank::new(BankInit {
        lock: Lock::new(()),
        accounts: vec![100, 100],
        audit: RLock::new(()),
        log: Vec::new(),
    }))
}

#[tokio::test]
async fn guarded_locks_are_named_after_their_fields() {
    let bank = bank();
    let held = bank.lock.acquire().await;
    let report = warden::debug::dump();
    let listed = report
        .primitives()
        .iter()
        .any(|p| p.name() == "Bank.lock" && p.kind() == warden::debug::Kind::Lock);
    assert!(listed, "{report}");
    assert_eq!(held.accounts.len(), 2);
}

#[tokio::test]
async fn the_declared_order_is_checked_at_the_first_wrong_acquisition() {
    let (right, wrong) = (bank(), bank());
    let r = panic_of(async move {
        let money = right.lock.acquire().await; // rank 0
        let audit = right.audit.acquire().await; // rank 1: in order
        audit.log.len();
        drop(money);
    })
    .await;
    assert_eq!(r, None);
    let wrong_line = line!() + 3;
    let report = panic_of(async move {
        let _audit = wrong.audit.acquire().await;
        let _money = wrong.lock.acquire().await; // the first wrong one
    })
    .await
    .expect("reported at once, though no cycle exists yet");
    assert!(report.contains("declared lock order violated"), "{report}");
    assert!(report.contains(&at(file!(), wrong_line)), "{report}");
    assert!(
        report.contains("`Bank`") && report.contains("`lock` (rank 0) before `audit` (rank 1)"),
        "{report}"
    );
}

#[tokio::test]
async fn a_panic_at_the_check_releases_the_lock_it_took() {
    let a = Arc::new(Lock::new(()).named("dep-release-a"));
    let b = Arc::new(Lock::new(()).named("dep-release-b"));
    let (a1, b1) = (a.clone(), b.clone());
    assert_eq!(
        panic_of(async move {
            let _a = a1.acquire().await;
            let _b = b1.acquire().await;
        })
        .await,
        None
    );
    let (a2, b2) = (a.clone(), b.clone());
    assert!(
        panic_of(async move {
            let _b = b2.acquire().await;
            let _a = a2.acquire().await; // free: taken, then the panic
        })
        .await
        .is_some()
    );
    assert!(
        !a.locked() && !b.locked(),
        "both released as the task unwound"
    );
}
