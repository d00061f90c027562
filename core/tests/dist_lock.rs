//! `dist::Lock` and `dist::RLock` against a real server, with workers in
//! separate OS processes: mutual exclusion, fencing, crash handover, a
//! paused holder with and without a lease, cancel safety.
#![cfg(feature = "postgres")]

mod dist_common;

use std::time::Duration;

use dist_common::{
    HANG, Worker, advisory_locks, advisory_waiters, client, cluster, fields, hear, knob, param,
    say, until, worker_role,
};
use warden::dist::{Error, Options, Session};

/// The entry point of worker processes (`WARDEN_DIST_WORKER=<role>`); in
/// the normal test run it has nothing to do.
#[test]
fn worker() {
    let Some(role) = worker_role() else { return };
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(async move {
            match role.as_str() {
                "incr" => incr().await,
                "hold" => hold().await,
                "acquire_once" => acquire_once().await,
                "fenced_writer" => fenced_writer().await,
                other => panic!("unknown worker role {other}"),
            }
        });
}

fn options() -> Options {
    match std::env::var("WARDEN_DIST_LEASE_MS") {
        Ok(ms) => Options::default().lease(Duration::from_millis(ms.parse().expect("lease"))),
        Err(_) => Options::default(),
    }
}

/// `N` increments of a shared counter under the lock: read, then write
/// (a lost update if two held it at once), stamping the interval with the
/// server's clock.
async fn incr() {
    let url = param("URL");
    let n: u64 = param("N").parse().expect("N");
    let session = Session::connect(&url, options()).await.expect("connect");
    let db = client(&url).await;
    let lock = session.lock("counter");
    for _ in 0..n {
        let guard = lock.acquire().await.expect("acquire");
        let row = db
            .query_one("SELECT n, clock_timestamp()::text FROM counter", &[])
            .await
            .expect("read");
        let value: i64 = row.get(0);
        let start: String = row.get(1);
        let fence = i64::try_from(guard.fence()).expect("fence");
        db.execute(
            "WITH u AS (UPDATE counter SET n = $1) \
             INSERT INTO span VALUES ($2::text::timestamptz, clock_timestamp(), $3)",
            &[&(value + 1), &start, &fence],
        )
        .await
        .expect("write");
        guard.release().await.expect("release");
    }
}

/// Acquires, reports, then on "go": reports whether the lock was lost,
/// tries a stale fenced write and a transaction, reports both.
async fn hold() {
    let url = param("URL");
    let session = Session::connect(&url, options()).await.expect("connect");
    let db = client(&url).await;
    let mut guard = session.lock("doc").acquire().await.expect("acquire");
    say(&format!("HELD fence={}", guard.fence()));
    assert_eq!(hear().await, "go");
    if std::env::var("WARDEN_DIST_EXPECT_LOST").is_ok() {
        let why = tokio::time::timeout(HANG, guard.lost())
            .await
            .expect("lost() resolves");
        say(&format!("LOST {why}"));
        let fence = i64::try_from(guard.fence()).expect("fence");
        let rows = db
            .execute(
                "UPDATE doc SET body = 'stale', fence = $1 WHERE id = 1 AND fence <= $1",
                &[&fence],
            )
            .await
            .expect("fenced write");
        say(&format!("STALE rows={rows}"));
        let committed = match guard.transaction().await {
            Ok(tx) => {
                let wrote = tx
                    .execute("UPDATE doc SET body = 'stale-tx' WHERE id = 1", &[])
                    .await
                    .is_ok();
                wrote && tx.commit().await.is_ok()
            }
            Err(_) => false,
        };
        say(&format!("TX committed={committed}"));
        assert!(matches!(guard.release().await, Err(Error::Lost(_))));
    } else {
        say(&format!("ALIVE lost={}", guard.is_lost()));
        guard.release().await.expect("release");
        say("RELEASED");
    }
}

/// Acquires once (no timeout), reports the fence, releases.
async fn acquire_once() {
    let session = Session::connect(&param("URL"), options())
        .await
        .expect("connect");
    let guard = session.lock("doc").acquire().await.expect("acquire");
    say(&format!("ACQUIRED fence={}", guard.fence()));
    guard.release().await.expect("release");
}

/// Acquires, writes `body = <name>` fenced, reports, releases.
async fn fenced_writer() {
    let url = param("URL");
    let session = Session::connect(&url, options()).await.expect("connect");
    let db = client(&url).await;
    let guard = session.lock("doc").acquire().await.expect("acquire");
    let fence = i64::try_from(guard.fence()).expect("fence");
    let rows = db
        .execute(
            "UPDATE doc SET body = $2, fence = $1 WHERE id = 1 AND fence <= $1",
            &[&fence, &param("NAME")],
        )
        .await
        .expect("fenced write");
    say(&format!("WROTE fence={fence} rows={rows}"));
    guard.release().await.expect("release");
}

fn num(line: &str, key: &str) -> i64 {
    fields(line)[key].parse().expect("number")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_excludes_across_processes_and_fences_increase() {
    let url = cluster().database("lock_excludes");
    let db = client(&url).await;
    db.batch_execute(
        "CREATE TABLE counter (n bigint NOT NULL); INSERT INTO counter VALUES (0); \
         CREATE TABLE span (s timestamptz NOT NULL, e timestamptz NOT NULL, fence bigint NOT NULL)",
    )
    .await
    .unwrap();
    let n = knob("INCREMENTS", 2000);
    let workers: Vec<Worker> = (0..8)
        .map(|i| {
            Worker::start(
                "worker",
                &format!("incr{i}"),
                "incr",
                &[("URL", url.clone()), ("N", n.to_string())],
            )
        })
        .collect();
    tokio::task::block_in_place(|| workers.into_iter().for_each(Worker::finish));
    let total: i64 = db
        .query_one("SELECT n FROM counter", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        total,
        8 * i64::try_from(n).unwrap(),
        "lost updates: two holders at once"
    );
    // Server-clock intervals, sorted by start, never overlap; fences grow
    // in the same order.
    let row = db
        .query_one(
            "SELECT count(*) FILTER (WHERE s < prev_e), count(*) FILTER (WHERE fence <= prev_f), count(*) \
             FROM (SELECT s, fence, lag(e) OVER (ORDER BY s) AS prev_e, \
                          lag(fence) OVER (ORDER BY s) AS prev_f FROM span) x",
            &[],
        )
        .await
        .unwrap();
    let (overlaps, fence_regressions, spans): (i64, i64, i64) =
        (row.get(0), row.get(1), row.get(2));
    assert_eq!(spans, total);
    assert_eq!(overlaps, 0, "two holders' intervals overlap");
    assert_eq!(fence_regressions, 0, "fence tokens not strictly increasing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crashed_holder_hands_over_without_any_timeout() {
    let url = cluster().database("lock_crash");
    let db = client(&url).await;
    let mut holder = Worker::start("worker", "holder", "hold", &[("URL", url.clone())]);
    let held = holder.expect("HELD").await;
    let waiter = Worker::start("worker", "waiter", "acquire_once", &[("URL", url.clone())]);
    until("the waiter queues on the server", || async {
        advisory_waiters(&db).await >= 1
    })
    .await;
    holder.kill();
    let acquired = waiter.expect("ACQUIRED").await;
    assert!(num(&acquired, "fence") > num(&held, "fence"));
    tokio::task::block_in_place(|| waiter.finish());
}

async fn doc_table(url: &str) -> tokio_postgres::Client {
    let db = client(url).await;
    db.batch_execute(
        "CREATE TABLE doc (id int PRIMARY KEY, body text NOT NULL, fence bigint NOT NULL); \
         INSERT INTO doc VALUES (1, 'initial', 0)",
    )
    .await
    .unwrap();
    db
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paused_holder_past_its_lease_is_fenced_off() {
    let url = cluster().database("lock_pause_lease");
    let db = doc_table(&url).await;
    let lease = ("LEASE_MS", "1000".to_owned());
    let mut holder = Worker::start(
        "worker",
        "paused",
        "hold",
        &[
            ("URL", url.clone()),
            lease.clone(),
            ("EXPECT_LOST", "1".into()),
        ],
    );
    let held = holder.expect("HELD").await;
    holder.stop();
    // The server ends the silent session after the lease; the next holder
    // gets the lock and writes with a newer token.
    let writer = Worker::start(
        "worker",
        "writer",
        "fenced_writer",
        &[("URL", url.clone()), lease],
    );
    let wrote = writer.expect("WROTE").await;
    assert!(num(&wrote, "fence") > num(&held, "fence"));
    assert_eq!(num(&wrote, "rows"), 1);
    tokio::task::block_in_place(|| writer.finish());
    holder.cont();
    holder.send("go");
    holder.expect("LOST").await;
    assert_eq!(
        num(&holder.expect("STALE").await, "rows"),
        0,
        "stale write landed"
    );
    assert_eq!(
        holder.expect("TX").await,
        "committed=false",
        "stale transaction committed"
    );
    tokio::task::block_in_place(|| holder.finish());
    let body: String = db
        .query_one("SELECT body FROM doc", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(body, "writer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paused_holder_without_lease_keeps_the_lock() {
    let url = cluster().database("lock_pause_nolease");
    let _db = doc_table(&url).await;
    let mut holder = Worker::start("worker", "paused", "hold", &[("URL", url.clone())]);
    holder.expect("HELD").await;
    holder.stop();
    let session = Session::connect(&url, Options::default()).await.unwrap();
    let lock = session.lock("doc");
    assert!(matches!(
        lock.acquire_timeout(Duration::from_secs(3)).await,
        Err(Error::Timeout)
    ));
    assert!(lock.try_acquire().await.unwrap().is_none());
    assert!(lock.locked().await.unwrap());
    holder.cont();
    holder.send("go");
    assert_eq!(holder.expect("ALIVE").await, "lost=false");
    holder.expect("RELEASED").await;
    tokio::task::block_in_place(|| holder.finish());
    let guard = lock.acquire().await.unwrap();
    guard.release().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_waits_leave_no_lock_and_no_queue_place() {
    let url = cluster().database("lock_cancel");
    let db = client(&url).await;
    let session = Session::connect(&url, Options::default()).await.unwrap();
    let lock = session.lock("k");
    let guard = lock.acquire().await.unwrap();
    // A wait dropped while queued on the server.
    for _ in 0..20 {
        let other = session.lock("k");
        let wait = tokio::spawn(async move { other.acquire().await.map(|g| g.fence()) });
        until("the wait queues", || async {
            advisory_waiters(&db).await == 1
        })
        .await;
        wait.abort();
        assert!(wait.await.unwrap_err().is_cancelled());
        until("the dropped wait leaves the queue", || async {
            advisory_waiters(&db).await == 0
        })
        .await;
    }
    assert_eq!(advisory_locks(&db).await, 1);
    // A wait dropped just as the lock is granted.
    let racer = {
        let lock = session.lock("k");
        tokio::spawn(async move { lock.acquire().await.map(|g| g.fence()) })
    };
    until("the racer queues", || async {
        advisory_waiters(&db).await == 1
    })
    .await;
    drop(guard);
    racer.abort();
    let _ = racer.await;
    until("nothing is left held", || async {
        advisory_locks(&db).await == 0
    })
    .await;
    // Dropping a guard unlocks at once, without a later use of the session.
    let g = lock.acquire().await.unwrap();
    assert_eq!(advisory_locks(&db).await, 1);
    drop(g);
    until("the dropped guard unlocks", || async {
        advisory_locks(&db).await == 0
    })
    .await;
    // Timeouts are cancellations too.
    let g = lock.acquire().await.unwrap();
    for _ in 0..10 {
        let r = lock.acquire_timeout(Duration::from_millis(20)).await;
        assert!(matches!(r, Err(Error::Timeout)), "{r:?}");
    }
    until("timed-out waits leave the queue", || async {
        advisory_waiters(&db).await == 0
    })
    .await;
    g.release().await.unwrap();
    assert_eq!(advisory_locks(&db).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_is_not_reentrant_and_fences_increase() {
    let url = cluster().database("lock_basics");
    let session = Session::connect(&url, Options::default()).await.unwrap();
    let lock = session.lock("k");
    let g1 = lock.acquire().await.unwrap();
    assert!(lock.locked().await.unwrap());
    // PostgreSQL would stack a second acquire on one session; a dist Lock
    // never shares a connection, so this task waits for itself.
    assert!(lock.try_acquire().await.unwrap().is_none());
    assert!(matches!(
        lock.acquire_timeout(Duration::from_millis(200)).await,
        Err(Error::Timeout)
    ));
    let f1 = g1.fence();
    g1.release().await.unwrap();
    assert!(!lock.locked().await.unwrap());
    let g2 = lock.try_acquire().await.unwrap().expect("free");
    assert!(g2.fence() > f1);
    // Another key is another lock.
    let other = session.lock("k2").try_acquire().await.unwrap();
    assert!(other.is_some());
    // A second session (another process, as far as the server knows).
    let session2 = Session::connect(&url, Options::default()).await.unwrap();
    assert!(session2.lock("k").try_acquire().await.unwrap().is_none());
    drop(g2);
    let g3 = session2.lock("k").acquire().await.unwrap();
    assert!(g3.fence() > f1 + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transaction_commits_on_the_guards_session() {
    let url = cluster().database("lock_tx");
    let db = doc_table(&url).await;
    let session = Session::connect(&url, Options::default()).await.unwrap();
    let mut guard = session.lock("doc").acquire().await.unwrap();
    let tx = guard.transaction().await.unwrap();
    tx.execute("UPDATE doc SET body = 'committed'", &[])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let tx = guard.transaction().await.unwrap();
    tx.execute("UPDATE doc SET body = 'rolled back'", &[])
        .await
        .unwrap();
    drop(tx); // rolls back
    let tx = guard.transaction().await.unwrap();
    tx.execute("UPDATE doc SET body = 'left open'", &[])
        .await
        .unwrap();
    std::mem::forget(tx); // never ended: the release rolls it back
    guard.release().await.unwrap();
    let body: String = db
        .query_one("SELECT body FROM doc", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(body, "committed");
    // The connection went back to the pool clean: a new guard's
    // transaction is not nested in the old one.
    let mut guard = session.lock("doc").acquire().await.unwrap();
    let tx = guard.transaction().await.unwrap();
    tx.execute("UPDATE doc SET body = 'second'", &[])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let body: String = db
        .query_one("SELECT body FROM doc", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(body, "second");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminated_backend_makes_the_guard_lost() {
    let url = cluster().database("lock_terminate");
    let db = client(&url).await;
    let session = Session::connect(&url, Options::default()).await.unwrap();
    let mut guard = session.lock("k").acquire().await.unwrap();
    let killed: i64 = db
        .query_one(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_locks \
             WHERE locktype = 'advisory' AND granted \
               AND database = (SELECT oid FROM pg_database WHERE datname = current_database())) t",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(killed, 1);
    let why = tokio::time::timeout(HANG, guard.lost())
        .await
        .expect("lost resolves");
    assert!(!why.reason().is_empty());
    assert!(guard.is_lost());
    assert!(matches!(guard.transaction().await, Err(Error::Lost(_))));
    assert!(matches!(guard.release().await, Err(Error::Lost(_))));
    // New operations reconnect.
    let g = session.lock("k").acquire().await.unwrap();
    g.release().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lease_heartbeats_keep_a_live_idle_holder() {
    let url = cluster().database("lock_lease_alive");
    let db = client(&url).await;
    let lease = Duration::from_secs(3);
    let session = Session::connect(&url, Options::default().lease(lease))
        .await
        .unwrap();
    let guard = session.lock("k").acquire().await.unwrap();
    // Idle for several leases: the heartbeats keep the session (and so the
    // lock) alive; without them the server would end it after 3 s.
    tokio::time::sleep(lease * 3).await;
    assert!(!guard.is_lost());
    assert_eq!(advisory_locks(&db).await, 1);
    guard.release().await.unwrap();
    // The idle connections are kept alive too.
    tokio::time::sleep(lease * 2).await;
    let again = session
        .lock("k")
        .try_acquire()
        .await
        .unwrap()
        .expect("free");
    again.release().await.unwrap();
    let ended: i64 = db
        .query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'warden' \
               AND datname = current_database()",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(
        ended >= 2,
        "the session's connections were ended: {ended} left"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rlock_reenters_per_task_and_excludes_others() {
    let url = cluster().database("rlock");
    let db = client(&url).await;
    let session = Session::connect(&url, Options::default()).await.unwrap();
    let rlock = session.rlock("r");
    let outer = rlock.acquire().await.unwrap();
    let inner = rlock.acquire().await.unwrap();
    let tried = rlock.try_acquire().await.unwrap().expect("re-entry");
    assert_eq!(inner.fence(), outer.fence());
    assert_eq!(
        advisory_locks(&db).await,
        1,
        "one server lock for all levels"
    );
    // Another task is another owner: it waits.
    let other = {
        let rlock = session.rlock("r");
        tokio::spawn(async move { rlock.acquire().await.map(|g| g.fence()) })
    };
    until("the other task queues", || async {
        advisory_waiters(&db).await == 1
    })
    .await;
    // An RLock and a Lock of one key exclude each other.
    assert!(session.lock("r").try_acquire().await.unwrap().is_none());
    drop(tried);
    drop(inner);
    assert_eq!(
        advisory_waiters(&db).await,
        1,
        "still held by the outer level"
    );
    let first = outer.fence();
    outer.release().await.unwrap();
    let next = other.await.unwrap().unwrap();
    assert!(next > first);
    // join! branches of one task share ownership, also when one was already
    // waiting on the server when the other became the owner.
    let blocker = session.lock("r").acquire().await.unwrap();
    let (a, b, ()) = tokio::join!(rlock.acquire(), rlock.acquire(), async {
        until("both branches queue", || async {
            advisory_waiters(&db).await == 2
        })
        .await;
        drop(blocker);
    });
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.fence(), b.fence());
    drop((a, b));
    until("released", || async { advisory_locks(&db).await == 0 }).await;
    until("no waiter left", || async {
        advisory_waiters(&db).await == 0
    })
    .await;
}
