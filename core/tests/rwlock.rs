//! `RwLock<T>`: hand-polled readiness, the fairness policy (strict arrival
//! order, write-preferring, runs of readers admitted together, nobody
//! overtakes a waiter — also a task that loops without yielding), cancel
//! safety at every await point, `downgrade`, `Debug`, the data-owning
//! surface, the blocking twins, and executors other than tokio.

mod support;

use std::fmt::Debug;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use support::{Probe, Rng, counting_waker, until, until_blocking, within};
#[cfg(feature = "tokio")]
use support::{panic_message, panic_on_worker};
use tokio::time::timeout;
use warden::{
    OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock, RwLockReadGuard, RwLockWriteGuard,
};

// ---------------------------------------------------------------------------
// The surface
// ---------------------------------------------------------------------------

#[test]
fn new_is_const_and_unlocked() {
    static SETTINGS: RwLock<u64> = RwLock::new(7);
    let r = SETTINGS.try_read().expect("free");
    assert!(SETTINGS.try_write().is_none());
    drop(r);
    *SETTINGS.try_write().expect("free") += 1;
    assert_eq!(*SETTINGS.try_read().unwrap(), 8);
}

#[test]
fn default_from_get_mut_into_inner() {
    let mut rw: RwLock<Vec<i32>> = RwLock::default();
    rw.get_mut().push(1);
    assert_eq!(rw.into_inner(), vec![1]);

    let rw = RwLock::from(String::from("x"));
    rw.try_write().unwrap().push('y');
    assert_eq!(rw.into_inner(), "xy");

    let unit: RwLock = RwLock::new(());
    assert!(unit.try_write().is_some());
}

#[test]
fn readers_share_and_exclude_the_writer() {
    let rw = RwLock::new(1);
    let a = rw.try_read().unwrap();
    let b = rw.try_read().unwrap();
    let c = rw.try_read().unwrap();
    assert_eq!(*a + *b + *c, 3);
    assert!(rw.try_write().is_none());
    drop((a, b));
    assert!(rw.try_write().is_none(), "one reader is still in");
    drop(c);
    let w = rw.try_write().unwrap();
    assert!(rw.try_read().is_none());
    assert!(rw.try_write().is_none());
    drop(w);
    assert!(rw.try_read().is_some());
    assert_eq!(rw.__waiter_records(), 0);
}

#[test]
fn guard_sources() {
    let rw = RwLock::new(1);
    let r = rw.try_read().unwrap();
    assert!(std::ptr::eq(RwLockReadGuard::source(&r), &raw const rw));
    drop(r);
    let w = rw.try_write().unwrap();
    assert!(std::ptr::eq(RwLockWriteGuard::source(&w), &raw const rw));
    drop(w);

    let rw = Arc::new(RwLock::new(1));
    let r = rw.clone().try_read_owned().unwrap();
    assert!(Arc::ptr_eq(OwnedRwLockReadGuard::source(&r), &rw));
    assert!(rw.clone().try_write_owned().is_none());
    drop(r);
    let w = rw.clone().try_write_owned().unwrap();
    assert!(Arc::ptr_eq(OwnedRwLockWriteGuard::source(&w), &rw));
    assert!(rw.clone().try_read_owned().is_none());
    drop(w);
    assert_eq!(Arc::strong_count(&rw), 1, "guards gave their Arcs back");
}

#[test]
fn unsized_data_through_coercion() {
    let rw: Box<RwLock<[i32]>> = Box::new(RwLock::new([1, 2, 3]));
    rw.try_write().unwrap()[0] = 10;
    assert_eq!(&*rw.try_read().unwrap(), &[10, 2, 3]);

    let dynamic: Arc<RwLock<dyn Debug + Send + Sync>> = Arc::new(RwLock::new(5_u8));
    assert_eq!(format!("{dynamic:?}"), "RwLock { data: 5, .. }");
    let r = dynamic.clone().try_read_owned().unwrap();
    assert_eq!(format!("{r:?}"), "5");
    assert_eq!(
        format!("{dynamic:?}"),
        "RwLock { data: 5, .. }",
        "readable while read"
    );
    drop(r);
    let w = dynamic.clone().try_write_owned().unwrap();
    assert_eq!(format!("{w:?}"), "5");
    assert_eq!(format!("{dynamic:?}"), "RwLock { data: <locked>, .. }");
}

#[test]
fn guards_forward_debug_and_display() {
    let rw = Arc::new(RwLock::new(String::from("hi")));
    let r = rw.try_read().unwrap();
    assert_eq!(format!("{r} {r:?}"), "hi \"hi\"");
    drop(r);
    let w = rw.try_write().unwrap();
    assert_eq!(format!("{w} {w:?}"), "hi \"hi\"");
    drop(w);
    let r = rw.clone().try_read_owned().unwrap();
    assert_eq!(format!("{r} {r:?}"), "hi \"hi\"");
    drop(r);
    let w = rw.clone().try_write_owned().unwrap();
    assert_eq!(format!("{w} {w:?}"), "hi \"hi\"");
}

// ---------------------------------------------------------------------------
// Debug never blocks
// ---------------------------------------------------------------------------

#[test]
fn debug_shows_data_when_readable_and_locked_otherwise() {
    let rw = RwLock::new(vec![1, 2]);
    assert_eq!(format!("{rw:?}"), "RwLock { data: [1, 2], .. }");
    let r = rw.try_read().unwrap();
    assert_eq!(format!("{rw:?}"), "RwLock { data: [1, 2], .. }");
    drop(r);
    let w = rw.try_write().unwrap();
    assert_eq!(format!("{rw:?}"), "RwLock { data: <locked>, .. }");
    drop(w);
    // A reader in and a writer waiting: not readable without waiting.
    let r = rw.try_read().unwrap();
    let mut writer = Probe::new(rw.write());
    writer.pending();
    assert_eq!(format!("{rw:?}"), "RwLock { data: <locked>, .. }");
    assert_eq!(writer.wakes(), 0, "Debug does not disturb the writer");
    let f = format!("{:?} {:?}", rw.read(), rw.write());
    assert!(f.starts_with("RwLockRead { queued: false"), "{f}");
    assert!(f.contains("RwLockWrite { queued: false"), "{f}");
    drop(r);
    drop(writer.ready());
    assert_eq!(rw.__waiter_records(), 0);
}

#[test]
fn debug_does_not_block_while_another_thread_writes() {
    let rw = Arc::new(RwLock::new(0));
    let (hold_tx, hold_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let holder = std::thread::spawn({
        let rw = rw.clone();
        move || {
            let _g = rw.write_blocking();
            hold_tx.send(()).unwrap();
            release_rx.recv().unwrap();
        }
    });
    hold_rx.recv().unwrap();
    // Would deadlock if Debug waited for the lock.
    assert_eq!(format!("{rw:?}"), "RwLock { data: <locked>, .. }");
    release_tx.send(()).unwrap();
    holder.join().unwrap();
    assert_eq!(format!("{rw:?}"), "RwLock { data: 0, .. }");
}

// ---------------------------------------------------------------------------
// Readiness, polled by hand
// ---------------------------------------------------------------------------

#[test]
fn uncontended_read_and_write_are_ready_on_first_poll() {
    let rw = RwLock::new(1);
    let mut a = Probe::new(rw.read());
    let mut b = Probe::new(rw.read());
    let (ga, gb) = (a.ready(), b.ready());
    assert_eq!(*ga + *gb, 2);
    drop((ga, gb));
    let mut w = Probe::new(rw.write());
    *w.ready() += 1;
    assert_eq!(*rw.try_read().unwrap(), 2);
    assert_eq!(rw.__waiter_records(), 0, "the fast path allocates nothing");
}

#[test]
fn a_writer_waits_for_every_reader_and_is_woken_once() {
    let rw = RwLock::new(0);
    let r1 = rw.try_read().unwrap();
    let r2 = rw.try_read().unwrap();
    let mut w = Probe::new(rw.write());
    w.pending();
    w.pending(); // polling again neither completes nor wakes itself
    assert_eq!(rw.__waiter_records(), 1);
    drop(r1);
    assert_eq!(w.wakes(), 0, "one reader is still in");
    w.pending();
    drop(r2);
    assert_eq!(w.wakes(), 1, "the last reader out hands the lock over");
    assert!(rw.try_read().is_none(), "handed over: nobody else gets in");
    *w.ready() += 1;
    assert_eq!(rw.__waiter_records(), 0);
    assert_eq!(*rw.try_read().unwrap(), 1);
}

#[test]
fn readers_wait_for_the_writer_and_are_admitted_together() {
    let rw = RwLock::new(0);
    let mut w = rw.try_write().unwrap();
    let mut readers: Vec<_> = (0..4).map(|_| Probe::new(rw.read())).collect();
    for r in &mut readers {
        r.pending();
    }
    assert_eq!(rw.__waiter_records(), 4);
    *w = 5;
    drop(w);
    for r in &readers {
        assert_eq!(r.wakes(), 1, "every queued reader is admitted at once");
    }
    let guards: Vec<_> = readers.iter_mut().map(Probe::ready).collect();
    assert!(guards.iter().all(|g| **g == 5));
    assert!(rw.try_write().is_none());
    assert!(
        rw.try_read().is_some(),
        "nobody waits: a newcomer reads too"
    );
    drop(guards);
    assert!(rw.try_write().is_some());
    assert_eq!(rw.__waiter_records(), 0);
}

#[test]
fn the_latest_waker_is_the_one_woken() {
    let rw = RwLock::new(());
    let held = rw.try_write().unwrap();
    let mut r = Probe::new(rw.read());
    r.pending();
    let (other, other_count) = counting_waker();
    assert!(r.poll_with(&other).is_pending());
    drop(held);
    assert_eq!(other_count.count(), 1);
    assert_eq!(r.wakes(), 0, "the stale waker is not woken");
    drop(r.ready());
}

#[test]
fn owned_read_and_write_readiness() {
    let rw = Arc::new(RwLock::new(0));
    let held = rw.clone().try_write_owned().unwrap();
    let mut r = Probe::new(rw.clone().read_owned());
    let mut w = Probe::new(rw.clone().write_owned());
    r.pending();
    w.pending();
    assert_eq!(rw.__waiter_records(), 2);
    drop(held);
    assert_eq!((r.wakes(), w.wakes()), (1, 0));
    let g = r.ready();
    w.pending();
    drop(g);
    assert_eq!(w.wakes(), 1);
    *w.ready() = 5;
    assert_eq!(*rw.try_read().unwrap(), 5);
    assert_eq!(rw.__waiter_records(), 0);
    assert_eq!(Arc::strong_count(&rw), 1);
}

// ---------------------------------------------------------------------------
// The fairness policy
// ---------------------------------------------------------------------------

#[test]
fn write_preferring_a_reader_arriving_after_a_waiting_writer_queues_behind_it() {
    let rw = RwLock::new(Vec::new());
    let reading = rw.try_read().unwrap();
    let mut writer = Probe::new(rw.write());
    writer.pending();
    // Readers still hold the lock, but a writer waits: newcomers queue.
    assert!(rw.try_read().is_none(), "try_read fails behind a writer");
    let mut late = Probe::new(rw.read());
    late.pending();
    assert!(rw.try_write().is_none());

    drop(reading);
    assert_eq!((writer.wakes(), late.wakes()), (1, 0));
    late.pending(); // still behind the writer
    writer.ready().push("writer");
    assert_eq!(late.wakes(), 1);
    assert_eq!(late.ready().len(), 1);
    assert_eq!(rw.__waiter_records(), 0);
    assert_eq!(*rw.try_read().unwrap(), ["writer"]);
}

#[test]
fn waiters_are_served_in_arrival_order_with_runs_of_readers_together() {
    // Queue (in the order of first polls): W1 R1 R2 W2 R3, behind a held
    // write lock.
    let rw = RwLock::new(Vec::<&str>::new());
    let held = rw.try_write().unwrap();
    let mut w1 = Probe::new(rw.write());
    w1.pending();
    let mut r1 = Probe::new(rw.read());
    r1.pending();
    let mut r2 = Probe::new(rw.read());
    r2.pending();
    let mut w2 = Probe::new(rw.write());
    w2.pending();
    let mut r3 = Probe::new(rw.read());
    r3.pending();
    assert_eq!(rw.__waiter_records(), 5);

    drop(held);
    assert_eq!(
        [w1.wakes(), r1.wakes(), r2.wakes(), w2.wakes(), r3.wakes()],
        [1, 0, 0, 0, 0]
    );
    let mut g = w1.ready();
    g.push("w1");
    drop(g);
    assert_eq!(
        [r1.wakes(), r2.wakes(), w2.wakes(), r3.wakes()],
        [1, 1, 0, 0],
        "the run R1 R2 is admitted together, R3 waits behind W2"
    );
    let (g1, g2) = (r1.ready(), r2.ready());
    w2.pending();
    r3.pending();
    drop(g1);
    assert_eq!(w2.wakes(), 0);
    drop(g2);
    assert_eq!(w2.wakes(), 1);
    w2.ready().push("w2");
    assert_eq!(r3.wakes(), 1);
    assert_eq!(*r3.ready(), ["w1", "w2"]);
    assert_eq!(rw.__waiter_records(), 0);
}

#[test]
fn a_stream_of_writers_does_not_starve_a_reader() {
    let rw = RwLock::new(0);
    let held = rw.try_write().unwrap();
    let mut reader = Probe::new(rw.read());
    reader.pending();
    // More writers keep coming, but they queue behind the reader.
    let mut writers: Vec<_> = (0..3).map(|_| Probe::new(rw.write())).collect();
    for w in &mut writers {
        w.pending();
    }
    drop(held);
    assert_eq!(reader.wakes(), 1);
    assert!(writers.iter().all(|w| w.wakes() == 0));
    let g = reader.ready();
    for w in &mut writers {
        w.pending();
    }
    drop(g);
    for (i, w) in writers.iter_mut().enumerate() {
        assert_eq!(w.wakes(), 1, "writer {i} in order");
        *w.ready() += 1;
    }
    assert_eq!(*rw.try_read().unwrap(), 3);
}

#[test]
fn a_stream_of_readers_does_not_starve_a_writer() {
    let rw = RwLock::new(0);
    let inside = rw.try_read().unwrap();
    let mut writer = Probe::new(rw.write());
    writer.pending();
    // Readers keep coming while one is inside, but none gets in past the
    // waiting writer: the lock is not kept busy by overlapping readers.
    let mut newcomers: Vec<_> = (0..3).map(|_| Probe::new(rw.read())).collect();
    for r in &mut newcomers {
        assert!(rw.try_read().is_none());
        r.pending();
    }
    drop(inside);
    assert_eq!(writer.wakes(), 1, "the last reader in hands over");
    assert!(newcomers.iter().all(|r| r.wakes() == 0));
    *writer.ready() += 1;
    for r in &mut newcomers {
        assert_eq!(*r.ready(), 1);
    }
    assert_eq!(rw.__waiter_records(), 0);
}

#[test]
fn the_releasing_task_cannot_overtake_the_waiter_it_served() {
    // Write → read: the writer's release hands the lock to the reader,
    // before the reader runs; the writer asking again waits.
    let rw = RwLock::new(());
    let w = rw.try_write().unwrap();
    let mut reader = Probe::new(rw.read());
    reader.pending();
    drop(w);
    assert!(rw.try_write().is_none(), "handed to the reader, not free");
    let mut again = Probe::new(rw.write());
    again.pending();
    drop(reader.ready());
    assert_eq!(again.wakes(), 1);
    drop(again.ready());

    // Read → write: the last reader's release hands it to the writer.
    let r = rw.try_read().unwrap();
    let mut writer = Probe::new(rw.write());
    writer.pending();
    drop(r);
    assert!(rw.try_read().is_none());
    let mut again = Probe::new(rw.read());
    again.pending();
    drop(writer.ready());
    drop(again.ready());
    assert_eq!(rw.__waiter_records(), 0);
}

// ---------------------------------------------------------------------------
// downgrade
// ---------------------------------------------------------------------------

#[test]
fn downgrade_admits_the_readers_at_the_front_and_keeps_the_writer_waiting() {
    let rw = RwLock::new(0);
    let mut w = rw.try_write().unwrap();
    let mut r1 = Probe::new(rw.read());
    r1.pending();
    let mut writer = Probe::new(rw.write());
    writer.pending();
    let mut r2 = Probe::new(rw.read());
    r2.pending();
    *w = 1;
    let r = RwLockWriteGuard::downgrade(w);
    assert_eq!(*r, 1);
    assert_eq!(
        [r1.wakes(), writer.wakes(), r2.wakes()],
        [1, 0, 0],
        "the reader at the front gets in; the writer waits; R2 behind it"
    );
    let g1 = r1.ready();
    drop(r);
    assert_eq!(writer.wakes(), 0, "R1 still reads");
    drop(g1);
    assert_eq!(writer.wakes(), 1);
    *writer.ready() += 1;
    assert_eq!(*r2.ready(), 2);
    assert_eq!(rw.__waiter_records(), 0);
}

#[test]
fn owned_downgrade() {
    let rw = Arc::new(RwLock::new(String::from("a")));
    let mut w = rw.clone().try_write_owned().unwrap();
    w.push('b');
    let r = OwnedRwLockWriteGuard::downgrade(w);
    assert_eq!(&*r, "ab");
    assert_eq!(&*rw.try_read().unwrap(), "ab");
    assert!(rw.try_write().is_none());
    drop(r);
    assert!(rw.try_write().is_some());
    assert_eq!(Arc::strong_count(&rw), 1, "the Arc moved, not cloned");
}

// ---------------------------------------------------------------------------
// Cancel safety, polled by hand: drop at every await point
// ---------------------------------------------------------------------------

#[test]
fn dropping_unpolled_futures_changes_nothing() {
    let rw = RwLock::new(());
    drop(rw.read());
    drop(rw.write());
    let held = rw.try_write().unwrap();
    drop(rw.read());
    drop(rw.write());
    assert_eq!(rw.__waiter_records(), 0);
    drop(held);
    assert!(rw.try_write().is_some());
}

#[test]
fn dropping_a_queued_reader_or_writer_withdraws_it() {
    let rw = RwLock::new(());
    let held = rw.try_write().unwrap();
    let mut r = Probe::new(rw.read());
    let mut w = Probe::new(rw.write());
    r.pending();
    w.pending();
    drop(r);
    drop(w);
    assert_eq!(rw.__waiter_records(), 0);
    drop(held);
    assert!(rw.try_write().is_some(), "handed to nobody");
}

#[test]
fn a_dropped_waiting_writer_lets_the_readers_behind_it_in() {
    let rw = RwLock::new(0);
    let reading = rw.try_read().unwrap();
    let mut writer = Probe::new(rw.write());
    writer.pending(); // collects what the readers leave
    let mut r1 = Probe::new(rw.read());
    let mut r2 = Probe::new(rw.read());
    r1.pending();
    r2.pending();
    drop(writer); // gives up: R1 and R2 may share with `reading`
    assert_eq!((r1.wakes(), r2.wakes()), (1, 1));
    let (g1, g2) = (r1.ready(), r2.ready());
    assert!(rw.try_read().is_some(), "nobody waits any more");
    drop((reading, g1, g2));
    assert!(rw.try_write().is_some());
    assert_eq!(rw.__waiter_records(), 0);
}

#[test]
fn a_dropped_waiting_writer_passes_what_it_collected_to_the_writer_behind_it() {
    let rw = RwLock::new(0);
    let r1 = rw.try_read().unwrap();
    let r2 = rw.try_read().unwrap();
    let mut first = Probe::new(rw.write());
    first.pending();
    let mut second = Probe::new(rw.write());
    second.pending();
    drop(r1); // collected by `first`
    drop(first);
    assert_eq!(second.wakes(), 0, "r2 still reads");
    drop(r2);
    assert_eq!(second.wakes(), 1);
    *second.ready() += 1;
    assert_eq!(*rw.try_read().unwrap(), 1);
    assert_eq!(rw.__waiter_records(), 0);
}

#[test]
fn a_writer_handed_the_lock_and_dropped_passes_it_to_the_readers_behind() {
    let rw = RwLock::new(0);
    let r = rw.try_read().unwrap();
    let mut writer = Probe::new(rw.write());
    writer.pending();
    let mut r1 = Probe::new(rw.read());
    let mut r2 = Probe::new(rw.read());
    r1.pending();
    r2.pending();
    drop(r); // hands the lock to `writer`
    assert_eq!(writer.wakes(), 1);
    drop(writer); // never polled again
    assert_eq!((r1.wakes(), r2.wakes()), (1, 1));
    drop((r1.ready(), r2.ready()));
    assert!(rw.try_write().is_some());
    assert_eq!(rw.__waiter_records(), 0);
}

#[test]
fn a_reader_handed_the_lock_and_dropped_passes_it_to_the_writer_behind() {
    let rw = RwLock::new(0);
    let w = rw.try_write().unwrap();
    let mut reader = Probe::new(rw.read());
    reader.pending();
    let mut writer = Probe::new(rw.write());
    writer.pending();
    drop(w); // hands a read lock to `reader`
    assert_eq!((reader.wakes(), writer.wakes()), (1, 0));
    drop(reader); // never polled again: its read lock goes to `writer`
    assert_eq!(writer.wakes(), 1);
    *writer.ready() += 1;
    assert_eq!(*rw.try_read().unwrap(), 1);
    assert_eq!(rw.__waiter_records(), 0);
}

#[test]
fn dropping_owned_futures_queued_and_granted() {
    let rw = Arc::new(RwLock::new(0));
    let held = rw.clone().try_write_owned().unwrap();
    let mut a = Probe::new(rw.clone().write_owned());
    let mut b = Probe::new(rw.clone().read_owned());
    let mut c = Probe::new(rw.clone().write_owned());
    a.pending();
    b.pending();
    c.pending();
    drop(b); // queued
    drop(held);
    drop(a); // granted
    assert_eq!(c.wakes(), 1);
    *c.ready() += 1;
    assert_eq!(rw.__waiter_records(), 0);
    assert_eq!(
        Arc::strong_count(&rw),
        1,
        "dropped futures release their Arc"
    );
}

#[test]
fn a_completed_future_dropped_later_does_not_release_twice() {
    let rw = RwLock::new(());
    let mut w = Probe::new(rw.write());
    let g = w.ready();
    drop(w);
    assert!(rw.try_read().is_none(), "still held by the guard");
    drop(g);
    let mut r = Probe::new(rw.read());
    let g = r.ready();
    drop(r);
    assert!(rw.try_write().is_none(), "still read by the guard");
    drop(g);
    assert!(rw.try_write().is_some());
}

#[test]
#[should_panic(expected = "RwLockWrite polled after it returned its guard")]
fn polling_a_completed_future_again_panics() {
    let rw = RwLock::new(());
    let mut w = Probe::new(rw.write());
    let _g = w.ready();
    let _ = w.poll();
}

// ---------------------------------------------------------------------------
// Cancel safety, tasks: timeouts, select, abort
// ---------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn timeout_on_a_write_gives_up_cleanly_and_readers_behind_it_get_in() {
    let rw = Arc::new(RwLock::new(0));
    let reading = rw.clone().read_owned().await;
    let writer = tokio::spawn({
        let rw = rw.clone();
        async move { timeout(Duration::from_millis(50), rw.write()).await.is_ok() }
    });
    until("the writer queued", || rw.__waiter_records() == 1).await;
    let reader = tokio::spawn({
        let rw = rw.clone();
        async move { *rw.read().await }
    });
    until("the reader queued", || rw.__waiter_records() == 2).await;
    assert!(!writer.await.unwrap(), "timed out");
    assert_eq!(within("the reader", reader).await.unwrap(), 0);
    drop(reading);
    assert_eq!(rw.__waiter_records(), 0);
    assert!(rw.try_write().is_some());
}

#[tokio::test]
async fn select_drops_the_losing_waits() {
    let rw = Arc::new(RwLock::new(0));
    let held = rw.clone().write_owned().await;
    let got = tokio::select! {
        _g = rw.read() => true,
        _g = rw.write() => true,
        () = tokio::task::yield_now() => false,
    };
    assert!(!got);
    assert_eq!(rw.__waiter_records(), 0);
    drop(held);
    assert!(rw.try_write().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aborting_tasks_blocked_in_read_and_write() {
    let rw = Arc::new(RwLock::new(0));
    let held = rw.clone().write_owned().await;
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let rw = rw.clone();
            tokio::spawn(async move {
                if i % 3 == 0 {
                    *rw.write().await += 1;
                } else {
                    let _ = *rw.read().await;
                }
            })
        })
        .collect();
    until("eight waiters", || rw.__waiter_records() == 8).await;
    let mut kept = Vec::new();
    for (i, t) in tasks.into_iter().enumerate() {
        if i % 2 == 0 {
            t.abort();
            assert!(t.await.unwrap_err().is_cancelled());
        } else {
            kept.push(t);
        }
    }
    assert_eq!(rw.__waiter_records(), 4);
    drop(held);
    for t in kept {
        within("a kept task", t).await.unwrap();
    }
    // Writers were tasks 0, 3, 6; of those only 3 was kept.
    assert_eq!(*rw.read().await, 1);
    assert_eq!(rw.__waiter_records(), 0);
}

#[tokio::test]
async fn aborting_a_task_handed_the_lock_before_it_ran() {
    // On a current-thread runtime nothing runs until we yield, so the
    // abort lands between the hand-off and the task's next poll.
    let rw = Arc::new(RwLock::new(Vec::new()));
    let held = rw.clone().write_owned().await;
    let spawn = |tag: char| {
        let rw = rw.clone();
        tokio::spawn(async move { rw.write().await.push(tag) })
    };
    let a = spawn('a');
    let b = spawn('b');
    until("both queued", || rw.__waiter_records() == 2).await;
    drop(held); // hands the lock to `a` ...
    a.abort(); // ... which is cancelled before it can run
    assert!(a.await.unwrap_err().is_cancelled());
    within("b", b).await.unwrap();
    assert_eq!(*rw.read().await, vec!['b']);
    assert_eq!(rw.__waiter_records(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_and_select_stress_leave_the_lock_consistent() {
    const TASKS: u64 = 8;
    const ROUNDS: usize = 300;
    // Two counters always written together: a reader seeing them differ
    // would be reading during a write.
    let rw = Arc::new(RwLock::new((0_usize, 0_usize)));
    let writes = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..TASKS)
        .map(|seed| {
            let (rw, writes) = (rw.clone(), writes.clone());
            tokio::spawn(async move {
                let mut rng = Rng::new(seed);
                for _ in 0..ROUNDS {
                    let d = Duration::from_micros(u64::try_from(rng.below(40)).unwrap());
                    if rng.below(4) == 0 {
                        let guard = match rng.below(3) {
                            0 => timeout(d, rw.write()).await.ok(),
                            1 => tokio::select! {
                                g = rw.write() => Some(g),
                                () = tokio::task::yield_now() => None,
                            },
                            _ => Some(rw.write().await),
                        };
                        if let Some(mut g) = guard {
                            g.0 += 1;
                            if rng.below(2) == 0 {
                                tokio::task::yield_now().await;
                            }
                            g.1 += 1;
                            writes.fetch_add(1, Ordering::Relaxed);
                        }
                    } else {
                        let guard = match rng.below(3) {
                            0 => timeout(d, rw.read()).await.ok(),
                            1 => tokio::select! {
                                g = rw.read() => Some(g),
                                () = tokio::task::yield_now() => None,
                            },
                            _ => Some(rw.read().await),
                        };
                        if let Some(g) = guard {
                            let (a, b) = *g;
                            tokio::task::yield_now().await;
                            assert_eq!(a, b, "read during a write");
                            assert_eq!(*g, (a, b), "written while read");
                        }
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(rw.__waiter_records(), 0);
    let n = writes.load(Ordering::Relaxed);
    assert_eq!(*rw.write().await, (n, n));
}

// ---------------------------------------------------------------------------
// Guards across tasks, panics, threads
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_and_writers_across_await_keep_exclusion() {
    let rw = Arc::new(RwLock::new((0_u64, 0_u64)));
    let inside_readers = Arc::new(AtomicUsize::new(0));
    let writers: Vec<_> = (0..4)
        .map(|_| {
            let (rw, inside) = (rw.clone(), inside_readers.clone());
            tokio::spawn(async move {
                for _ in 0..100 {
                    let mut g = rw.write().await;
                    assert_eq!(inside.load(Ordering::SeqCst), 0, "a reader inside");
                    g.0 += 1;
                    tokio::task::yield_now().await; // lost updates would show
                    g.1 += 1;
                }
            })
        })
        .collect();
    let readers: Vec<_> = (0..8)
        .map(|_| {
            let (rw, inside) = (rw.clone(), inside_readers.clone());
            tokio::spawn(async move {
                for _ in 0..100 {
                    let g = rw.read().await;
                    inside.fetch_add(1, Ordering::SeqCst);
                    let seen = *g;
                    tokio::task::yield_now().await;
                    assert_eq!(seen.0, seen.1);
                    assert_eq!(*g, seen);
                    inside.fetch_sub(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    for t in writers.into_iter().chain(readers) {
        t.await.unwrap();
    }
    assert_eq!(*rw.read().await, (400, 400));
    assert_eq!(rw.__waiter_records(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_really_overlap() {
    // Every reader waits inside for all the others: only possible if they
    // hold the lock at the same time.
    let rw = Arc::new(RwLock::new(()));
    let inside = Arc::new(AtomicUsize::new(0));
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let (rw, inside) = (rw.clone(), inside.clone());
            tokio::spawn(async move {
                let _g = rw.read().await;
                inside.fetch_add(1, Ordering::SeqCst);
                until("all four inside", || inside.load(Ordering::SeqCst) == 4).await;
            })
        })
        .collect();
    for r in readers {
        within("a reader", r).await.unwrap();
    }
}

#[tokio::test]
async fn a_panic_while_holding_a_guard_releases_it_without_poisoning() {
    let rw = Arc::new(RwLock::new(vec![1]));
    let held = rw.clone().write_owned().await;
    let reader = tokio::spawn({
        let rw = rw.clone();
        async move { rw.read().await.len() }
    });
    until("reader queued", || rw.__waiter_records() == 1).await;
    let crash = tokio::spawn(async move {
        let mut held = held;
        held.push(2);
        panic!("boom while writing");
    });
    assert!(crash.await.unwrap_err().is_panic());
    assert_eq!(within("reader", reader).await.unwrap(), 2);

    let r = rw.clone().read_owned().await;
    let crash = tokio::spawn(async move {
        let _r = r;
        panic!("boom while reading");
    });
    assert!(crash.await.unwrap_err().is_panic());
    rw.write().await.push(3);
    assert_eq!(*rw.read().await, [1, 2, 3]);
}

#[test]
fn threads_read_and_write_with_the_blocking_twins() {
    let rw = Arc::new(RwLock::new((0_u64, 0_u64)));
    let threads: Vec<_> = (0..4)
        .map(|i| {
            let rw = rw.clone();
            std::thread::spawn(move || {
                for _ in 0..300 {
                    if i == 0 {
                        let mut g = rw.write_blocking();
                        g.0 += 1;
                        std::thread::yield_now();
                        g.1 += 1;
                    } else {
                        let g = rw.read_blocking();
                        let seen = *g;
                        std::thread::yield_now();
                        assert_eq!(seen.0, seen.1);
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(*rw.read_blocking(), (300, 300));
    assert_eq!(rw.__waiter_records(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn threads_and_tasks_share_one_queue() {
    let rw = Arc::new(RwLock::new(Vec::new()));
    let held = rw.clone().write_owned().await;
    let thread_writer = std::thread::spawn({
        let rw = rw.clone();
        move || rw.write_blocking().push("thread")
    });
    until("the thread queued", || rw.__waiter_records() == 1).await;
    let task_reader = tokio::spawn({
        let rw = rw.clone();
        async move { rw.read().await.clone() }
    });
    until("the task queued", || rw.__waiter_records() == 2).await;
    drop(held);
    thread_writer.join().unwrap();
    assert_eq!(
        within("the reader", task_reader).await.unwrap(),
        ["thread"],
        "the thread queued first, so it wrote first"
    );
    assert_eq!(rw.__waiter_records(), 0);
}

// ---------------------------------------------------------------------------
// The blocking twins refuse to wait on a runtime worker
// ---------------------------------------------------------------------------

#[cfg(feature = "tokio")] // refusing needs the feature
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_twins_on_a_worker_panic_when_they_would_wait() {
    let rw = Arc::new(RwLock::new(0));
    let held = rw.clone().write_owned().await;
    let msg = panic_on_worker({
        let rw = rw.clone();
        move || drop(rw.read_blocking())
    })
    .await;
    assert!(msg.contains("RwLock::read_blocking"), "{msg}");
    assert!(msg.contains("`rwlock.read().await`"), "{msg}");
    let msg = panic_on_worker({
        let rw = rw.clone();
        move || drop(rw.write_blocking())
    })
    .await;
    assert!(msg.contains("RwLock::write_blocking"), "{msg}");
    assert!(msg.contains("`rwlock.write().await`"), "{msg}");
    assert_eq!(rw.__waiter_records(), 0, "the refused calls did not queue");
    drop(held);
    assert!(rw.try_write().is_some());
}

#[cfg(feature = "tokio")] // refusing needs the feature
#[tokio::test]
async fn blocking_twins_panic_at_the_callers_line_on_the_block_on_thread() {
    let rw = RwLock::new(());
    let held = rw.write().await;
    let line = line!() + 1;
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(rw.read_blocking())));
    let msg = panic_message(&*r.unwrap_err());
    assert!(
        msg.contains(&format!("called at {}:{line}:", file!())),
        "the message names the caller's line: {msg}"
    );
    drop(held);
    let held = rw.read().await;
    let line = line!() + 1;
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(rw.write_blocking())));
    let msg = panic_message(&*r.unwrap_err());
    assert!(msg.contains("RwLock::write_blocking"), "{msg}");
    assert!(
        msg.contains(&format!("called at {}:{line}:", file!())),
        "{msg}"
    );
    drop(held);
    assert_eq!(rw.__waiter_records(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_twins_that_need_not_wait_work_on_a_worker_and_in_spawn_blocking() {
    let rw = Arc::new(RwLock::new(0));
    tokio::spawn({
        let rw = rw.clone();
        async move {
            *rw.write_blocking() += 1; // free: no waiting, no refusal
            let a = rw.read_blocking();
            let b = rw.read_blocking(); // shared: no waiting either
            assert_eq!(*a + *b, 2);
        }
    })
    .await
    .unwrap();
    let held = rw.clone().write_owned().await;
    let blocked = tokio::task::spawn_blocking({
        let rw = rw.clone();
        move || *rw.read_blocking()
    });
    until("spawn_blocking queued", || rw.__waiter_records() == 1).await;
    drop(held);
    assert_eq!(within("spawn_blocking", blocked).await.unwrap(), 1);
}

// ---------------------------------------------------------------------------
// No waiter is overtaken, also by a task that never yields
// ---------------------------------------------------------------------------

/// How often a waiter may be overtaken once it queued: never (the lock is
/// strictly first-come first-served).
const OVERTAKES: usize = 0;

/// Laps at which the looping tests fail rather than hang.
const GIVE_UP: usize = 100 * (OVERTAKES + 1);

/// Which side loops and which one waits, and how the loop asks.
#[derive(Clone, Copy, Debug)]
enum Looper {
    /// Loops on `write().await`; a reader waits.
    WriteVsReader,
    /// Loops on `write().await`; a writer waits.
    WriteVsWriter,
    /// Loops on `read().await`; a writer waits.
    ReadVsWriter,
    /// Loops on `write_owned().await`; a reader waits.
    WriteOwnedVsReader,
    /// Loops on `read_owned().await`; a writer waits.
    ReadOwnedVsWriter,
    /// Loops on `try_write()`, yielding only when it fails; a reader waits.
    TryWriteVsReader,
    /// Loops on `try_read()`, yielding only when it fails; a writer waits.
    TryReadVsWriter,
}

/// A task holds the lock, a spawned waiter queues behind it; then the task
/// releases and takes the lock again in a loop that never yields while it
/// gets the lock at once. The waiter must get in within `OVERTAKES + 1`
/// laps (the loop fails at [`GIVE_UP`] laps instead of hanging).
async fn looping_task_lets_the_waiter_in(how: Looper) {
    use Looper::*;
    let rw = Arc::new(RwLock::new(()));
    let got_in = Arc::new(AtomicBool::new(false));
    let loops_on_write = matches!(
        how,
        WriteVsReader | WriteVsWriter | WriteOwnedVsReader | TryWriteVsReader
    );
    let waiter_writes = matches!(
        how,
        WriteVsWriter | ReadVsWriter | ReadOwnedVsWriter | TryReadVsWriter
    );
    // What the looping task holds first: what it loops on.
    let first: Box<dyn Send> = if loops_on_write {
        Box::new(rw.clone().write_owned().await)
    } else {
        Box::new(rw.clone().read_owned().await)
    };
    let waiter = tokio::spawn({
        let (rw, got_in) = (rw.clone(), got_in.clone());
        async move {
            if waiter_writes {
                let _g = rw.write().await;
                got_in.store(true, Ordering::SeqCst);
            } else {
                let _g = rw.read().await;
                got_in.store(true, Ordering::SeqCst);
            }
        }
    });
    until("the waiter queued", || rw.__waiter_records() == 1).await;
    drop(first);
    // Laps: times this task got the lock before the waiter did (a refused
    // `try_*` is not a lap: the task yields and asks again).
    let mut laps = 0;
    let started = std::time::Instant::now();
    while !got_in.load(Ordering::SeqCst) {
        let got = match how {
            WriteVsReader | WriteVsWriter => {
                drop(rw.write().await);
                true
            }
            ReadVsWriter => {
                drop(rw.read().await);
                true
            }
            WriteOwnedVsReader => {
                drop(rw.clone().write_owned().await);
                true
            }
            ReadOwnedVsWriter => {
                drop(rw.clone().read_owned().await);
                true
            }
            TryWriteVsReader | TryReadVsWriter => {
                let got = if matches!(how, TryWriteVsReader) {
                    rw.try_write().is_some()
                } else {
                    rw.try_read().is_some()
                };
                if !got {
                    // Handed to the waiter: only now does this task yield.
                    assert!(started.elapsed() < support::HANG, "hung");
                    tokio::task::yield_now().await;
                }
                got
            }
        };
        laps += usize::from(got);
        assert!(
            laps <= GIVE_UP,
            "{how:?}: the waiter is still waiting after {laps} laps"
        );
    }
    assert!(
        laps <= OVERTAKES + 1,
        "{how:?}: the waiter got in after {laps} laps, more than {}",
        OVERTAKES + 1
    );
    waiter.await.unwrap();
    assert!(rw.try_write().is_some());
    assert_eq!(rw.__waiter_records(), 0);
}

macro_rules! looping_tests {
    ($($ct:ident, $mt:ident: $how:ident;)*) => {$(
        #[tokio::test(flavor = "current_thread")]
        async fn $ct() {
            looping_task_lets_the_waiter_in(Looper::$how).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $mt() {
            looping_task_lets_the_waiter_in(Looper::$how).await;
        }
    )*};
}

looping_tests! {
    a_looping_writer_lets_a_waiting_reader_in_current_thread,
    a_looping_writer_lets_a_waiting_reader_in_multi_thread: WriteVsReader;
    a_looping_writer_lets_a_waiting_writer_in_current_thread,
    a_looping_writer_lets_a_waiting_writer_in_multi_thread: WriteVsWriter;
    a_looping_reader_lets_a_waiting_writer_in_current_thread,
    a_looping_reader_lets_a_waiting_writer_in_multi_thread: ReadVsWriter;
    a_looping_owned_writer_lets_a_waiting_reader_in_current_thread,
    a_looping_owned_writer_lets_a_waiting_reader_in_multi_thread: WriteOwnedVsReader;
    a_looping_owned_reader_lets_a_waiting_writer_in_current_thread,
    a_looping_owned_reader_lets_a_waiting_writer_in_multi_thread: ReadOwnedVsWriter;
    a_looping_try_write_fails_once_a_reader_waits_current_thread,
    a_looping_try_write_fails_once_a_reader_waits_multi_thread: TryWriteVsReader;
    a_looping_try_read_fails_once_a_writer_waits_current_thread,
    a_looping_try_read_fails_once_a_writer_waits_multi_thread: TryReadVsWriter;
}

/// The same with the blocking twins looping on a plain thread, while the
/// waiter is a task: a looping writer against a waiting reader, and a
/// looping reader against a waiting writer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn looping_blocking_twins_let_the_waiter_in() {
    for loop_writes in [true, false] {
        let rw = Arc::new(RwLock::new(()));
        let got_in = Arc::new(AtomicBool::new(false));
        let first: Box<dyn Send> = if loop_writes {
            Box::new(rw.clone().write_owned().await)
        } else {
            Box::new(rw.clone().read_owned().await)
        };
        let waiter = tokio::spawn({
            let (rw, got_in) = (rw.clone(), got_in.clone());
            async move {
                if loop_writes {
                    let _g = rw.read().await;
                    got_in.store(true, Ordering::SeqCst);
                } else {
                    let _g = rw.write().await;
                    got_in.store(true, Ordering::SeqCst);
                }
            }
        });
        until("the waiter queued", || rw.__waiter_records() == 1).await;
        let looper = std::thread::spawn({
            let (rw, got_in) = (rw.clone(), got_in.clone());
            move || {
                drop(first);
                let mut laps = 0;
                while !got_in.load(Ordering::SeqCst) {
                    if loop_writes {
                        drop(rw.write_blocking());
                    } else {
                        drop(rw.read_blocking());
                    }
                    laps += 1;
                    assert!(laps <= GIVE_UP, "still waiting after {laps} laps");
                }
                laps
            }
        });
        waiter.await.unwrap();
        until("the looping thread", || looper.is_finished()).await;
        let laps = looper.join().unwrap();
        assert!(
            laps <= OVERTAKES + 1,
            "loop_writes {loop_writes}: the waiter got in after {laps} laps"
        );
        assert_eq!(rw.__waiter_records(), 0);
    }
}

// ---------------------------------------------------------------------------
// Other executors: no tokio runtime needed
// ---------------------------------------------------------------------------

#[test]
fn runs_on_a_local_pool() {
    use futures::task::LocalSpawnExt;
    let rw = std::rc::Rc::new(RwLock::new(Vec::new()));
    let gate = std::rc::Rc::new(warden::Event::new());
    let mut pool = futures::executor::LocalPool::new();
    let spawner = pool.spawner();
    // A reader holds the lock across an await; a writer and a second
    // reader queue in that order.
    spawner
        .spawn_local({
            let (rw, gate) = (rw.clone(), gate.clone());
            async move {
                let g = rw.read().await;
                gate.wait().await;
                assert!(g.is_empty());
            }
        })
        .unwrap();
    spawner
        .spawn_local({
            let rw = rw.clone();
            async move { rw.write().await.push("writer") }
        })
        .unwrap();
    spawner
        .spawn_local({
            let (rw, gate) = (rw.clone(), gate.clone());
            async move {
                // Yield until the writer has queued.
                std::future::poll_fn(|cx| {
                    if rw.__waiter_records() == 1 {
                        std::task::Poll::Ready(())
                    } else {
                        cx.waker().wake_by_ref();
                        std::task::Poll::Pending
                    }
                })
                .await;
                gate.set();
                assert_eq!(*rw.read().await, ["writer"], "queued behind it");
            }
        })
        .unwrap();
    pool.run();
    assert_eq!(rw.__waiter_records(), 0);
    assert_eq!(*rw.try_read().unwrap(), ["writer"]);
}

#[test]
fn runs_on_a_thread_pool() {
    use futures::task::SpawnExt;
    let pool = futures::executor::ThreadPool::builder()
        .pool_size(2)
        .create()
        .unwrap();
    let rw = Arc::new(RwLock::new((0_u32, 0_u32)));
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let rw = rw.clone();
            pool.spawn_with_handle(async move {
                for _ in 0..200 {
                    if i % 4 == 0 {
                        let mut g = rw.write().await;
                        g.0 += 1;
                        g.1 += 1;
                    } else {
                        let g = rw.read().await;
                        assert_eq!(g.0, g.1);
                    }
                }
            })
            .unwrap()
        })
        .collect();
    futures::executor::block_on(futures::future::join_all(handles));
    assert_eq!(*rw.try_read().unwrap(), (400, 400));
    assert_eq!(rw.__waiter_records(), 0);
}

/// The blocking twins on plain threads against tasks of `futures`' thread
/// pool, to the end of a burst: nothing is left queued.
#[test]
fn blocking_threads_and_a_foreign_pool_share_the_lock() {
    use futures::task::SpawnExt;
    let pool = futures::executor::ThreadPool::builder()
        .pool_size(2)
        .create()
        .unwrap();
    let rw = Arc::new(RwLock::new(0_u64));
    let task = pool
        .spawn_with_handle({
            let rw = rw.clone();
            async move {
                for _ in 0..500 {
                    *rw.write().await += 1;
                }
            }
        })
        .unwrap();
    let thread = std::thread::spawn({
        let rw = rw.clone();
        move || {
            for _ in 0..500 {
                *rw.write_blocking() += 1;
                drop(rw.read_blocking());
            }
        }
    });
    futures::executor::block_on(task);
    thread.join().unwrap();
    until_blocking("idle", || rw.__waiter_records() == 0);
    assert_eq!(*rw.try_read().unwrap(), 1000);
}
