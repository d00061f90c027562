//! Memory: `size_of` of every warden primitive, guard and wait future next
//! to its peers', printed as a table (`cargo test -p warden-benches --test
//! sizes -- --nocapture`), and checked: warden's is no larger than
//! async-lock's wherever async-lock has the same thing, except for the
//! rows in [`LARGER_THAN_ASYNC_LOCK`] (tracked in issue 11).
//!
//! The sizes are those of warden's default build: with the `tracing`
//! feature (`--features tracing`) every primitive carries its name and
//! number and every wait its call site, so this file checks nothing then.
//!
//! Futures are measured with `size_of_val` on a future created and dropped
//! unpolled; `async fn` futures have no nameable type.
#![cfg(not(feature = "tracing"))]

use std::mem::{size_of, size_of_val};
use std::sync::Arc;
use std::time::Duration;

/// Rows where warden is larger than async-lock, each with the reason. Each
/// stays checked the other way round: once warden is no larger, this test
/// fails until the row is removed here (so the assertion comes back on for
/// good).
const LARGER_THAN_ASYNC_LOCK: &[(&str, &str)] = &[
    (
        "SemaphorePermit",
        "it holds a permit count (`acquire_many`); async-lock's guard is \
         always one permit. Two words, as tokio's.",
    ),
    (
        "Semaphore::acquire_owned() future",
        "an `Arc` to a `Semaphore` *or* a `BoundedSemaphore` (one \
         `OwnedSemaphorePermit` type for both, as the contract has it) plus \
         the acquire state; async-lock's is an `Arc` and a lazily boxed \
         listener.",
    ),
    (
        "OwnedSemaphorePermit",
        "the same `Arc` of either semaphore plus the permit count; \
         async-lock's is one `Arc` (one permit).",
    ),
    (
        "BarrierWaitResult",
        "Python's `wait()` returns the arrival index, a `usize` (the leader \
         flag rides in its top bit); async-lock's result is only the bool.",
    ),
];

/// One line of the table: a warden type and its peers' counterparts.
#[derive(Default)]
struct Row {
    what: &'static str,
    warden: usize,
    async_lock: Option<usize>,
    tokio: Option<usize>,
    saa: Option<usize>,
    intrusive: Option<usize>,
    maitake: Option<usize>,
    futures_util: Option<usize>,
    parking_lot: Option<usize>,
}

fn rows() -> Vec<Row> {
    let mut rows = Vec::new();
    lock_rows(&mut rows);
    semaphore_rows(&mut rows);
    rlock_rows(&mut rows);
    rwlock_rows(&mut rows);
    event_rows(&mut rows);
    condition_rows(&mut rows);
    barrier_rows(&mut rows);
    rows
}

#[allow(clippy::too_many_lines)]
fn lock_rows(rows: &mut Vec<Row>) {
    let w = Arc::new(warden::Lock::new(()));
    let al = Arc::new(async_lock::Mutex::new(()));
    let tk = Arc::new(tokio::sync::Mutex::new(()));
    let sa = saa::Mutex::new(());
    let fi = futures_intrusive::sync::Mutex::new((), true);
    let mt = Arc::new(maitake_sync::Mutex::new(()));
    let fu = futures_util::lock::Mutex::new(());
    let pl = parking_lot::Mutex::new(());

    rows.push(Row {
        what: "Lock<()>",
        warden: size_of::<warden::Lock<()>>(),
        async_lock: Some(size_of::<async_lock::Mutex<()>>()),
        tokio: Some(size_of::<tokio::sync::Mutex<()>>()),
        saa: Some(size_of::<saa::Mutex<()>>()),
        intrusive: Some(size_of::<futures_intrusive::sync::Mutex<()>>()),
        maitake: Some(size_of::<maitake_sync::Mutex<()>>()),
        futures_util: Some(size_of::<futures_util::lock::Mutex<()>>()),
        parking_lot: Some(size_of::<parking_lot::Mutex<()>>()),
    });
    rows.push(Row {
        what: "Lock::acquire() future",
        warden: size_of_val(&w.acquire()),
        async_lock: Some(size_of_val(&al.lock())),
        tokio: Some(size_of_val(&tk.lock())),
        saa: Some(size_of_val(&saa::lock_async(&sa))),
        intrusive: Some(size_of_val(&fi.lock())),
        maitake: Some(size_of_val(&mt.lock())),
        futures_util: Some(size_of_val(&fu.lock())),
        ..Row::default()
    });
    rows.push(Row {
        what: "LockGuard",
        warden: size_of_val(&w.try_acquire().unwrap()),
        async_lock: Some(size_of_val(&al.try_lock().unwrap())),
        tokio: Some(size_of_val(&tk.try_lock().unwrap())),
        saa: Some(size_of_val(&sa.try_lock().unwrap())),
        intrusive: Some(size_of_val(&fi.try_lock().unwrap())),
        maitake: Some(size_of_val(&mt.try_lock().unwrap())),
        futures_util: Some(size_of_val(&fu.try_lock().unwrap())),
        parking_lot: Some(size_of_val(&pl.lock())),
    });
    rows.push(Row {
        what: "Lock::acquire_owned() future",
        warden: size_of_val(&Arc::clone(&w).acquire_owned()),
        async_lock: Some(size_of_val(&al.lock_arc())),
        tokio: Some(size_of_val(&Arc::clone(&tk).lock_owned())),
        maitake: Some(size_of_val(&Arc::clone(&mt).lock_owned())),
        ..Row::default()
    });
    rows.push(Row {
        what: "OwnedLockGuard",
        warden: size_of::<warden::OwnedLockGuard<()>>(),
        async_lock: Some(size_of::<async_lock::MutexGuardArc<()>>()),
        tokio: Some(size_of::<tokio::sync::OwnedMutexGuard<()>>()),
        maitake: Some(size_of_val(&Arc::clone(&mt).try_lock_owned().ok().unwrap())),
        ..Row::default()
    });
}

fn semaphore_rows(rows: &mut Vec<Row>) {
    let w = Arc::new(warden::Semaphore::new(1));
    let al = Arc::new(async_lock::Semaphore::new(1));
    let tk = Arc::new(tokio::sync::Semaphore::new(1));
    let sa = saa::Semaphore::with_permits(1);
    let fi = futures_intrusive::sync::Semaphore::new(true, 1);
    let mt = maitake_sync::Semaphore::new(1);

    rows.push(Row {
        what: "Semaphore",
        warden: size_of::<warden::Semaphore>(),
        async_lock: Some(size_of::<async_lock::Semaphore>()),
        tokio: Some(size_of::<tokio::sync::Semaphore>()),
        saa: Some(size_of::<saa::Semaphore>()),
        intrusive: Some(size_of::<futures_intrusive::sync::Semaphore>()),
        maitake: Some(size_of::<maitake_sync::Semaphore>()),
        ..Row::default()
    });
    // No peer has a bounded semaphore; printed beside the plain ones, not
    // checked (the bound and the forgotten-permit count are extra state).
    rows.push(Row {
        what: "BoundedSemaphore (no peer)",
        warden: size_of::<warden::BoundedSemaphore>(),
        ..Row::default()
    });
    rows.push(Row {
        what: "Semaphore::acquire() future",
        warden: size_of_val(&w.acquire()),
        async_lock: Some(size_of_val(&al.acquire())),
        tokio: Some(size_of_val(&tk.acquire())),
        saa: Some(size_of_val(&sa.acquire_async())),
        intrusive: Some(size_of_val(&fi.acquire(1))),
        maitake: Some(size_of_val(&mt.acquire(1))),
        ..Row::default()
    });
    rows.push(Row {
        what: "SemaphorePermit",
        warden: size_of_val(&w.try_acquire().unwrap()),
        async_lock: Some(size_of_val(&al.try_acquire().unwrap())),
        tokio: Some(size_of_val(&tk.try_acquire().unwrap())),
        intrusive: Some(size_of_val(&fi.try_acquire(1).unwrap())),
        maitake: Some(size_of_val(&mt.try_acquire(1).unwrap())),
        ..Row::default()
    });
    rows.push(Row {
        what: "Semaphore::acquire_owned() future",
        warden: size_of_val(&Arc::clone(&w).acquire_owned()),
        async_lock: Some(size_of_val(&al.acquire_arc())),
        tokio: Some(size_of_val(&Arc::clone(&tk).acquire_owned())),
        ..Row::default()
    });
    rows.push(Row {
        what: "OwnedSemaphorePermit",
        warden: size_of::<warden::OwnedSemaphorePermit>(),
        async_lock: Some(size_of::<async_lock::SemaphoreGuardArc>()),
        tokio: Some(size_of::<tokio::sync::OwnedSemaphorePermit>()),
        ..Row::default()
    });
}

fn rlock_rows(rows: &mut Vec<Row>) {
    let w = warden::RLock::new(());
    let pl = parking_lot::ReentrantMutex::new(());
    rows.push(Row {
        what: "RLock<()>",
        warden: size_of::<warden::RLock<()>>(),
        parking_lot: Some(size_of::<parking_lot::ReentrantMutex<()>>()),
        ..Row::default()
    });
    rows.push(Row {
        what: "RLock::acquire() future",
        warden: size_of_val(&w.acquire()),
        ..Row::default()
    });
    rows.push(Row {
        what: "RLockGuard",
        warden: size_of_val(&w.try_acquire().unwrap()),
        parking_lot: Some(size_of_val(&pl.lock())),
        ..Row::default()
    });
}

fn rwlock_rows(rows: &mut Vec<Row>) {
    let w = Arc::new(warden::RwLock::new(()));
    let al = Arc::new(async_lock::RwLock::new(()));
    let tk = Arc::new(tokio::sync::RwLock::new(()));
    let mt = Arc::new(maitake_sync::RwLock::new(()));
    let pl = parking_lot::RwLock::new(());

    rows.push(Row {
        what: "RwLock<()>",
        warden: size_of::<warden::RwLock<()>>(),
        async_lock: Some(size_of::<async_lock::RwLock<()>>()),
        tokio: Some(size_of::<tokio::sync::RwLock<()>>()),
        maitake: Some(size_of::<maitake_sync::RwLock<()>>()),
        parking_lot: Some(size_of::<parking_lot::RwLock<()>>()),
        ..Row::default()
    });
    rows.push(Row {
        what: "RwLock::read() future",
        warden: size_of_val(&w.read()),
        async_lock: Some(size_of_val(&al.read())),
        tokio: Some(size_of_val(&tk.read())),
        maitake: Some(size_of_val(&mt.read())),
        ..Row::default()
    });
    rows.push(Row {
        what: "RwLock::write() future",
        warden: size_of_val(&w.write()),
        async_lock: Some(size_of_val(&al.write())),
        tokio: Some(size_of_val(&tk.write())),
        maitake: Some(size_of_val(&mt.write())),
        ..Row::default()
    });
    rows.push(Row {
        what: "RwLockReadGuard",
        warden: size_of_val(&w.try_read().unwrap()),
        async_lock: Some(size_of_val(&al.try_read().unwrap())),
        tokio: Some(size_of_val(&tk.try_read().unwrap())),
        maitake: Some(size_of_val(&mt.try_read().unwrap())),
        parking_lot: Some(size_of_val(&pl.read())),
        ..Row::default()
    });
    rows.push(Row {
        what: "RwLockWriteGuard",
        warden: size_of_val(&w.try_write().unwrap()),
        async_lock: Some(size_of_val(&al.try_write().unwrap())),
        tokio: Some(size_of_val(&tk.try_write().unwrap())),
        maitake: Some(size_of_val(&mt.try_write().unwrap())),
        parking_lot: Some(size_of_val(&pl.write())),
        ..Row::default()
    });
    rows.push(Row {
        what: "RwLock::read_owned() future",
        warden: size_of_val(&Arc::clone(&w).read_owned()),
        async_lock: Some(size_of_val(&al.read_arc())),
        tokio: Some(size_of_val(&Arc::clone(&tk).read_owned())),
        ..Row::default()
    });
    rows.push(Row {
        what: "RwLock::write_owned() future",
        warden: size_of_val(&Arc::clone(&w).write_owned()),
        async_lock: Some(size_of_val(&al.write_arc())),
        tokio: Some(size_of_val(&Arc::clone(&tk).write_owned())),
        ..Row::default()
    });
    rows.push(Row {
        what: "OwnedRwLockReadGuard",
        warden: size_of::<warden::OwnedRwLockReadGuard<()>>(),
        async_lock: Some(size_of::<async_lock::RwLockReadGuardArc<()>>()),
        tokio: Some(size_of::<tokio::sync::OwnedRwLockReadGuard<()>>()),
        ..Row::default()
    });
    rows.push(Row {
        what: "OwnedRwLockWriteGuard",
        warden: size_of::<warden::OwnedRwLockWriteGuard<()>>(),
        async_lock: Some(size_of::<async_lock::RwLockWriteGuardArc<()>>()),
        tokio: Some(size_of::<tokio::sync::OwnedRwLockWriteGuard<()>>()),
        ..Row::default()
    });
}

fn event_rows(rows: &mut Vec<Row>) {
    let w = warden::Event::new();
    let tk = tokio::sync::Notify::new();
    let fi = futures_intrusive::sync::ManualResetEvent::new(false);
    rows.push(Row {
        what: "Event (tokio: Notify)",
        warden: size_of::<warden::Event>(),
        tokio: Some(size_of::<tokio::sync::Notify>()),
        intrusive: Some(size_of::<futures_intrusive::sync::ManualResetEvent>()),
        ..Row::default()
    });
    rows.push(Row {
        what: "Event::wait() future",
        warden: size_of_val(&w.wait()),
        tokio: Some(size_of_val(&tk.notified())),
        intrusive: Some(size_of_val(&fi.wait())),
        ..Row::default()
    });
}

fn condition_rows(rows: &mut Vec<Row>) {
    let lock = warden::Lock::new(());
    let cond = warden::Condition::new();
    let tk = tokio::sync::Notify::new();
    rows.push(Row {
        what: "Condition (tokio: Notify)",
        warden: size_of::<warden::Condition>(),
        tokio: Some(size_of::<tokio::sync::Notify>()),
        ..Row::default()
    });
    rows.push(Row {
        what: "Condition::wait() future",
        warden: size_of_val(&cond.wait(lock.try_acquire().unwrap())),
        tokio: Some(size_of_val(&tk.notified())),
        ..Row::default()
    });
    rows.push(Row {
        what: "Condition::wait_for() future",
        warden: size_of_val(&cond.wait_for(lock.try_acquire().unwrap(), |()| true)),
        ..Row::default()
    });
    rows.push(Row {
        what: "Condition::wait_timeout() future",
        warden: size_of_val(&cond.wait_timeout(lock.try_acquire().unwrap(), Duration::ZERO)),
        ..Row::default()
    });
}

fn barrier_rows(rows: &mut Vec<Row>) {
    let w = warden::Barrier::new(2);
    let al = async_lock::Barrier::new(2);
    let tk = tokio::sync::Barrier::new(2);
    let sa = saa::Barrier::with_count(2);
    rows.push(Row {
        what: "Barrier",
        warden: size_of::<warden::Barrier>(),
        async_lock: Some(size_of::<async_lock::Barrier>()),
        tokio: Some(size_of::<tokio::sync::Barrier>()),
        saa: Some(size_of::<saa::Barrier>()),
        ..Row::default()
    });
    rows.push(Row {
        what: "Barrier::wait() future",
        warden: size_of_val(&w.wait()),
        async_lock: Some(size_of_val(&al.wait())),
        tokio: Some(size_of_val(&tk.wait())),
        saa: Some(size_of_val(&sa.wait_async())),
        ..Row::default()
    });
    rows.push(Row {
        what: "Barrier::wait_timeout() future",
        warden: size_of_val(&w.wait_timeout(Duration::ZERO)),
        ..Row::default()
    });
    rows.push(Row {
        what: "BarrierWaitResult",
        warden: size_of::<warden::BarrierWaitResult>(),
        async_lock: Some(size_of::<async_lock::BarrierWaitResult>()),
        tokio: Some(size_of::<tokio::sync::BarrierWaitResult>()),
        ..Row::default()
    });
}

fn cell(size: Option<usize>) -> String {
    size.map_or_else(|| "-".to_owned(), |s| s.to_string())
}

#[test]
fn sizes_versus_peers() {
    let rows = rows();
    println!(
        "{:<34} {:>6} {:>10} {:>6} {:>5} {:>9} {:>7} {:>7} {:>7}",
        "size_of (bytes)",
        "warden",
        "async-lock",
        "tokio",
        "saa",
        "f-intrus.",
        "maitake",
        "f-util",
        "p_lot"
    );
    for r in &rows {
        println!(
            "{:<34} {:>6} {:>10} {:>6} {:>5} {:>9} {:>7} {:>7} {:>7}",
            r.what,
            r.warden,
            cell(r.async_lock),
            cell(r.tokio),
            cell(r.saa),
            cell(r.intrusive),
            cell(r.maitake),
            cell(r.futures_util),
            cell(r.parking_lot),
        );
    }

    println!("\nlarger than async-lock's, and why:");
    for (what, why) in LARGER_THAN_ASYNC_LOCK {
        println!("  {what}: {why}");
    }

    let mut failures = Vec::new();
    for r in &rows {
        let Some(peer) = r.async_lock else { continue };
        let exempt = LARGER_THAN_ASYNC_LOCK
            .iter()
            .any(|(what, _)| *what == r.what);
        match (r.warden <= peer, exempt) {
            (true, false) | (false, true) => {}
            (false, false) => failures.push(format!(
                "{}: warden {} B > async-lock {peer} B",
                r.what, r.warden
            )),
            (true, true) => failures.push(format!(
                "{}: warden {} B is no longer larger than async-lock's {peer} B: \
                 remove it from LARGER_THAN_ASYNC_LOCK",
                r.what, r.warden
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Issue 11's required sizes (the goal is one word, as saa).
#[test]
fn lock_and_semaphore_fit_in_two_words() {
    assert!(size_of::<warden::Lock<()>>() <= 16);
    assert!(size_of::<warden::Semaphore>() <= 16);
}

/// The `RwLock` is a fair semaphore: two words too, and its futures and
/// guards as small as the `Lock`'s.
#[test]
fn rwlock_fits_in_two_words() {
    assert!(size_of::<warden::RwLock<()>>() <= 16);
    let rw = warden::RwLock::new(());
    assert!(size_of_val(&rw.read()) <= 16);
    assert!(size_of_val(&rw.write()) <= 16);
    assert!(size_of_val(&rw.try_read().unwrap()) <= 8);
}
