//! A server restart (`pg_ctl restart -m immediate`) in the middle of
//! things: every guard reports lost, pending waits fail with
//! `Error::Connection`, new operations reconnect, fences keep growing, and
//! across processes there are never two holders.
#![cfg(feature = "postgres")]

mod dist_common;

use std::time::Duration;

use dist_common::{Cluster, HANG, Worker, client, knob, param, say, until, worker_role};
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
                "tx_incr" => tx_incr().await,
                other => panic!("unknown worker role {other}"),
            }
        });
}

/// Increments a counter under the lock, inside the guard's own
/// transaction, until `N` increments have committed; retries whatever a
/// restart breaks.
async fn tx_incr() {
    let n: u64 = param("N").parse().expect("N");
    let session = Session::connect(&param("URL"), Options::default())
        .await
        .expect("connect");
    let lock = session.lock("counter");
    let mut done = 0;
    let mut failures = 0_u64;
    while done < n {
        let attempt = async {
            let mut guard = lock.acquire().await?;
            let fence = i64::try_from(guard.fence()).expect("fence");
            let tx = guard.transaction().await?;
            let row = tx
                .query_one("SELECT n, clock_timestamp()::text FROM counter", &[])
                .await?;
            let (value, start): (i64, String) = (row.get(0), row.get(1));
            tx.execute(
                "WITH u AS (UPDATE counter SET n = $1) \
                 INSERT INTO span VALUES ($2::text::timestamptz, clock_timestamp(), $3)",
                &[&(value + 1), &start, &fence],
            )
            .await?;
            tx.commit().await?;
            // Committed: the increment counts, whatever the release says
            // (a restart right now makes it fail).
            let _ = guard.release().await;
            Ok::<(), Error>(())
        };
        if attempt.await.is_ok() {
            done += 1;
            if done % 50 == 0 {
                say(&format!("PROGRESS done={done}"));
            }
        } else {
            failures += 1;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    say(&format!("FINISHED failures={failures}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_loses_every_guard_and_fails_every_wait() {
    let pg = Cluster::start_private();
    let url = pg.database("restart_guards");
    let session = Session::connect(&url, Options::default()).await.unwrap();
    let other = Session::connect(&url, Options::default()).await.unwrap();
    let lock = session.lock("l");
    let guard = lock.acquire().await.unwrap();
    let before = guard.fence();
    let rguard = session.rlock("r").acquire().await.unwrap();
    let permit = session.semaphore("s", 1).acquire().await.unwrap();
    // Pending waits of every kind.
    let pending_lock = {
        let lock = other.lock("l");
        tokio::spawn(async move { lock.acquire().await.map(|g| g.fence()) })
    };
    let pending_sem = {
        let sem = other.semaphore("s", 1);
        tokio::spawn(async move { sem.acquire().await.map(|p| p.fence()) })
    };
    let pending_event = {
        let ev = other.event("e");
        tokio::spawn(async move { ev.wait().await })
    };
    let pending_barrier = {
        let b = other.barrier("b", 2);
        tokio::spawn(async move { b.wait().await.map(|r| r.index()) })
    };
    let db = client(&url).await;
    until("every wait is pending", || async {
        let waiting: i64 = db
            .query_one(
                "SELECT ((SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted) = 1 \
                      AND (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted) = 5 \
                      AND (SELECT count(*) FROM warden.barrier_party) = 1 \
                      AND (SELECT count(*) FROM pg_stat_activity \
                           WHERE query LIKE 'SELECT is_set%' AND state = 'idle') >= 1)::int",
                &[],
            )
            .await
            .unwrap()
            .get::<_, i32>(0)
            .into();
        waiting == 1
    })
    .await;
    drop(db);
    tokio::task::block_in_place(|| pg.restart_immediate());
    for lost in [
        tokio::time::timeout(HANG, guard.lost()).await,
        tokio::time::timeout(HANG, rguard.lost()).await,
        tokio::time::timeout(HANG, permit.lost()).await,
    ] {
        assert!(!lost.expect("lost() resolves").reason().is_empty());
    }
    assert!(matches!(
        tokio::time::timeout(HANG, pending_lock)
            .await
            .unwrap()
            .unwrap(),
        Err(Error::Connection(_))
    ));
    assert!(matches!(
        tokio::time::timeout(HANG, pending_sem)
            .await
            .unwrap()
            .unwrap(),
        Err(Error::Connection(_))
    ));
    assert!(matches!(
        tokio::time::timeout(HANG, pending_event)
            .await
            .unwrap()
            .unwrap(),
        Err(Error::Connection(_))
    ));
    assert!(matches!(
        tokio::time::timeout(HANG, pending_barrier)
            .await
            .unwrap()
            .unwrap(),
        Err(Error::Connection(_))
    ));
    assert!(matches!(guard.release().await, Err(Error::Lost(_))));
    drop((rguard, permit));
    // New operations reconnect; the fence survived the restart.
    let again = lock.acquire().await.unwrap();
    assert!(again.fence() > before);
    let ev = session.event("e");
    ev.set().await.unwrap();
    other.event("e").wait().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarts_never_make_two_holders() {
    let pg = Cluster::start_private();
    let url = pg.database("restart_holders");
    let db = client(&url).await;
    db.batch_execute(
        "CREATE TABLE counter (n bigint NOT NULL); INSERT INTO counter VALUES (0); \
         CREATE TABLE span (s timestamptz NOT NULL, e timestamptz NOT NULL, fence bigint NOT NULL)",
    )
    .await
    .unwrap();
    drop(db);
    let n = knob("RESTART_INCREMENTS", 400);
    let workers: Vec<Worker> = (0..4)
        .map(|i| {
            Worker::start(
                "worker",
                &format!("tx{i}"),
                "tx_incr",
                &[("URL", url.clone()), ("N", n.to_string())],
            )
        })
        .collect();
    for _ in 0..2 {
        // Restart while every worker is making progress.
        for w in &workers {
            w.expect("PROGRESS").await;
        }
        tokio::task::block_in_place(|| pg.restart_immediate());
    }
    for w in workers {
        while !w.line().await.starts_with("FINISHED") {}
        tokio::task::block_in_place(|| w.finish());
    }
    let db = client(&url).await;
    let row = db
        .query_one(
            "SELECT (SELECT n FROM counter), count(*), \
                    count(*) FILTER (WHERE s < prev_e), count(*) FILTER (WHERE fence <= prev_f) \
             FROM (SELECT s, fence, lag(e) OVER (ORDER BY s) AS prev_e, \
                          lag(fence) OVER (ORDER BY s) AS prev_f FROM span) x",
            &[],
        )
        .await
        .unwrap();
    let (counter, spans, overlaps, regressions): (i64, i64, i64, i64) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    // A commit whose answer a restart cut off is retried, so there may be
    // more spans than counted increments; but each committed span is one
    // increment, made alone.
    assert!(spans >= 4 * i64::try_from(n).unwrap());
    assert_eq!(counter, spans, "an increment was lost or doubled");
    assert_eq!(overlaps, 0, "two holders at once");
    assert_eq!(regressions, 0, "fence tokens went backwards");
}
