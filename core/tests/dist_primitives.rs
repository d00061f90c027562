//! `dist::Semaphore`, `BoundedSemaphore`, `Event`, `Condition` and
//! `Barrier` against a real server, with workers in separate OS processes.
#![cfg(feature = "postgres")]

mod dist_common;

use std::time::Duration;

use dist_common::{
    HANG, Worker, advisory_locks, client, cluster, fields, knob, param, say, until, worker_role,
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
                "sem_cycle" => sem_cycle().await,
                "sem_hold" => sem_hold().await,
                "event_waiter" => event_waiter().await,
                "cond_waiter" => cond_waiter().await,
                "barrier_party" => barrier_party().await,
                other => panic!("unknown worker role {other}"),
            }
        });
}

fn fast() -> Options {
    Options::default().poll_interval(Duration::from_millis(50))
}

/// The worker's URL, with its name as `application_name` (so the test can
/// find its backends in `pg_stat_activity`).
fn worker_url() -> String {
    format!("{} application_name={}", param("URL"), param("NAME"))
}

async fn sem_cycle() {
    let url = param("URL");
    let n: u64 = param("N").parse().expect("N");
    let session = Session::connect(&url, fast()).await.expect("connect");
    let db = client(&url).await;
    let sem = session.semaphore("pool", 3);
    for _ in 0..n {
        let permit = sem.acquire().await.expect("acquire");
        let start: String = db
            .query_one("SELECT clock_timestamp()::text", &[])
            .await
            .expect("clock")
            .get(0);
        // How many permits the server shows held, seen by a holder.
        let free = sem.available_permits().await.expect("available");
        db.execute(
            "INSERT INTO span VALUES ($1::text::timestamptz, clock_timestamp(), $2)",
            &[&start, &(3 - i64::try_from(free).expect("free"))],
        )
        .await
        .expect("stamp");
        permit.release().await.expect("release");
    }
}

async fn sem_hold() {
    let session = Session::connect(&param("URL"), fast())
        .await
        .expect("connect");
    let permit = session
        .semaphore("pool", 1)
        .acquire()
        .await
        .expect("acquire");
    say(&format!("HELD fence={}", permit.fence()));
    std::future::pending::<()>().await;
}

async fn event_waiter() {
    let url = worker_url();
    let rounds: u64 = param("ROUNDS").parse().expect("ROUNDS");
    let session = Session::connect(&url, fast()).await.expect("connect");
    let clock = client(&param("URL")).await;
    let ev = session.event("go");
    for r in 0..rounds {
        let t: String = clock
            .query_one("SELECT clock_timestamp()::text", &[])
            .await
            .expect("clock")
            .get(0);
        say(&format!("WAITING round={r} t={}", t.replace(' ', "T")));
        ev.wait().await.expect("wait");
        say(&format!("WOKE round={r}"));
        // The next round starts after the test's clear().
        assert_eq!(dist_common::hear().await, "next");
    }
}

async fn cond_waiter() {
    let session = Session::connect(&worker_url(), fast())
        .await
        .expect("connect");
    let lock = session.lock("queue");
    let cond = session.condition(&lock);
    let guard = lock.acquire().await.expect("acquire");
    let guard = cond.wait(guard).await.expect("wait");
    say(&format!("WOKE fence={}", guard.fence()));
    guard.release().await.expect("release");
}

async fn barrier_party() {
    let session = Session::connect(&param("URL"), fast())
        .await
        .expect("connect");
    let parties: usize = param("PARTIES").parse().expect("PARTIES");
    let generations: u64 = param("GENERATIONS").parse().expect("GENERATIONS");
    let barrier = session.barrier("b", parties);
    for g in 0..generations {
        match barrier.wait().await {
            Ok(r) => say(&format!(
                "PASSED gen={g} index={} leader={}",
                r.index(),
                r.is_leader()
            )),
            Err(Error::BrokenBarrier) => {
                say(&format!("BROKEN gen={g}"));
                return;
            }
            Err(e) => panic!("barrier wait: {e}"),
        }
    }
}

// ---- Semaphore ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn semaphore_bounds_holders_across_processes() {
    let url = cluster().database("sem_bounds");
    let db = client(&url).await;
    db.batch_execute(
        "CREATE TABLE span (s timestamptz NOT NULL, e timestamptz NOT NULL, held bigint NOT NULL)",
    )
    .await
    .unwrap();
    let n = knob("SEM_CYCLES", 150);
    let workers: Vec<Worker> = (0..6)
        .map(|i| {
            Worker::start(
                "worker",
                &format!("sem{i}"),
                "sem_cycle",
                &[("URL", url.clone()), ("N", n.to_string())],
            )
        })
        .collect();
    tokio::task::block_in_place(|| workers.into_iter().for_each(Worker::finish));
    let row = db
        .query_one("SELECT count(*), max(held), min(held) FROM span", &[])
        .await
        .unwrap();
    let (count, max_held, min_held): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
    assert_eq!(count, 6 * i64::try_from(n).unwrap());
    assert!(
        max_held <= 3,
        "a holder saw {max_held} permits held in pg_locks"
    );
    assert!(min_held >= 1, "a holder did not see its own permit");
    // Server-clock intervals: at no instant more than 3 holders.
    let overlap: i64 = db
        .query_one(
            "SELECT coalesce(max(depth), 0) FROM ( \
               SELECT sum(d) OVER (ORDER BY t, d) AS depth FROM ( \
                 SELECT s AS t, 1 AS d FROM span UNION ALL SELECT e, -1 FROM span) x) y",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(overlap <= 3, "{overlap} holders at once");
    let session = Session::connect(&url, fast()).await.unwrap();
    assert_eq!(
        session
            .semaphore("pool", 3)
            .available_permits()
            .await
            .unwrap(),
        3
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crashed_permit_holder_returns_its_permit() {
    let url = cluster().database("sem_crash");
    let mut holder = Worker::start("worker", "holder", "sem_hold", &[("URL", url.clone())]);
    holder.expect("HELD").await;
    let session = Session::connect(&url, fast()).await.unwrap();
    let sem = session.semaphore("pool", 1);
    assert!(sem.try_acquire().await.unwrap().is_none());
    let waiter = {
        let sem = sem.clone();
        tokio::spawn(async move { sem.acquire().await.map(|p| p.fence()) })
    };
    let db = client(&url).await;
    until("the waiter queues", || async {
        advisory_locks(&db).await == 2
    })
    .await;
    holder.kill();
    let fence = tokio::time::timeout(HANG, waiter)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(fence >= 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn semaphore_is_fifo_cancel_safe_and_counts_releases() {
    let url = cluster().database("sem_fifo");
    let db = client(&url).await;
    let session = Session::connect(&url, fast()).await.unwrap();
    let sem = session.semaphore("s", 2);
    let a = sem.acquire().await.unwrap();
    let b = sem.try_acquire().await.unwrap().expect("second permit");
    assert!(b.fence() > a.fence());
    assert_eq!(sem.available_permits().await.unwrap(), 0);
    let first = {
        let sem = sem.clone();
        tokio::spawn(async move { sem.acquire().await.map(|p| p.fence()) })
    };
    until("the waiter holds the queue", || async {
        advisory_locks(&db).await == 3
    })
    .await;
    // Nobody overtakes a waiter: not try_acquire, even after a release.
    assert!(sem.try_acquire().await.unwrap().is_none());
    drop(a);
    let got = tokio::time::timeout(HANG, first)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(got > b.fence());
    until("the waiter's permit is dropped", || async {
        advisory_locks(&db).await == 1
    })
    .await;
    // Dropped waits leave nothing behind.
    let c = sem.acquire().await.unwrap();
    for _ in 0..10 {
        let sem = sem.clone();
        let w = tokio::spawn(async move { sem.acquire().await.map(|p| p.fence()) });
        tokio::time::sleep(Duration::from_millis(5)).await;
        w.abort();
        let _ = w.await;
    }
    assert!(matches!(
        sem.acquire_timeout(Duration::from_millis(50)).await,
        Err(Error::Timeout)
    ));
    until("dropped waits leave", || async {
        advisory_locks(&db).await == 2
    })
    .await;
    // release(n) adds permits for good (Python's release() without acquire).
    sem.release(1).await.unwrap();
    let d = sem.try_acquire().await.unwrap().expect("the added permit");
    assert_eq!(sem.available_permits().await.unwrap(), 0);
    // forget() takes one away for good.
    d.forget().await.unwrap();
    drop((b, c));
    until("released", || async { advisory_locks(&db).await == 0 }).await;
    assert_eq!(sem.available_permits().await.unwrap(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bounded_semaphore_refuses_over_release() {
    let url = cluster().database("bsem");
    let session = Session::connect(&url, fast()).await.unwrap();
    let sem = session.bounded_semaphore("b", 2);
    assert!(matches!(sem.release(1).await, Err(Error::OverRelease)));
    let p = sem.acquire().await.unwrap();
    // Held permits are owned by guards: a release without a forget is
    // still over the bound.
    assert!(matches!(sem.release(1).await, Err(Error::OverRelease)));
    p.forget().await.unwrap();
    assert_eq!(sem.available_permits().await.unwrap(), 1);
    assert!(matches!(sem.release(2).await, Err(Error::OverRelease)));
    sem.release(1).await.unwrap();
    assert_eq!(sem.available_permits().await.unwrap(), 2);
    assert!(matches!(sem.release(1).await, Err(Error::OverRelease)));
}

// ---- Event ----

/// Has the worker `name`'s session finished reading the event state after
/// server time `t` (and so is waiting)?
async fn event_waiting(db: &tokio_postgres::Client, name: &str, t: &str) -> bool {
    db.query_one(
        "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = $1 \
           AND state = 'idle' AND query LIKE 'SELECT is_set, generation FROM%' \
           AND query_start > $2::text::timestamptz)",
        &[&name, &t.replace('T', " ")],
    )
    .await
    .unwrap()
    .get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_set_then_clear_releases_every_waiting_process() {
    let url = cluster().database("event_rounds");
    let db = client(&url).await;
    let rounds = knob("EVENT_ROUNDS", 10);
    let session = Session::connect(&url, fast()).await.unwrap();
    let ev = session.event("go");
    let mut workers: Vec<Worker> = (0..8)
        .map(|i| {
            Worker::start(
                "worker",
                &format!("ev{i}"),
                "event_waiter",
                &[("URL", url.clone()), ("ROUNDS", rounds.to_string())],
            )
        })
        .collect();
    for r in 0..rounds {
        for w in &mut workers {
            let line = w.expect("WAITING").await;
            let f = fields(&line);
            assert_eq!(f["round"], r.to_string());
            let name = w.name.clone();
            let t = f["t"].clone();
            until("the worker waits", || event_waiting(&db, &name, &t)).await;
        }
        // Set and clear at once: everyone who was waiting is released.
        ev.set().await.unwrap();
        ev.clear().await.unwrap();
        for w in &workers {
            assert_eq!(w.expect("WOKE").await, format!("round={r}"));
        }
        for w in &mut workers {
            w.send("next");
        }
    }
    tokio::task::block_in_place(|| workers.into_iter().for_each(Worker::finish));
    assert!(!ev.is_set().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_waiter_that_loses_its_connection_fails_then_sees_the_set() {
    let url = cluster().database("event_reconnect");
    let db = client(&url).await;
    let waiter_session = Session::connect(&format!("{url} application_name=ev_recon"), fast())
        .await
        .unwrap();
    let setter = Session::connect(&url, fast()).await.unwrap();
    let ev = waiter_session.event("flag");
    assert!(
        ev.wait_timeout(Duration::from_millis(50))
            .await
            .is_ok_and(|set| !set)
    );
    let wait = {
        let ev = ev.clone();
        tokio::spawn(async move { ev.wait().await })
    };
    until("the waiter listens", || async {
        db.query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = 'ev_recon' \
               AND query LIKE 'LISTEN%')",
            &[],
        )
        .await
        .unwrap()
        .get(0)
    })
    .await;
    // The outage: every backend of the waiter's session ends.
    db.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'ev_recon'",
        &[],
    )
    .await
    .unwrap();
    let r = tokio::time::timeout(HANG, wait).await.unwrap().unwrap();
    assert!(matches!(r, Err(Error::Connection(_))), "{r:?}");
    // A set made during the outage is seen by the next wait.
    setter.event("flag").set().await.unwrap();
    tokio::time::timeout(HANG, ev.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(ev.is_set().await.unwrap());
}

// ---- Condition ----

async fn tickets(db: &tokio_postgres::Client) -> i64 {
    db.query_one("SELECT count(*) FROM warden.ticket", &[])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn condition_notify_skips_a_crashed_waiter() {
    let url = cluster().database("cond_crash");
    let db = client(&url).await;
    let session = Session::connect(&url, fast()).await.unwrap();
    let lock = session.lock("queue");
    let cond = session.condition(&lock);
    let mut dead = Worker::start(
        "worker",
        "cond_dead",
        "cond_waiter",
        &[("URL", url.clone())],
    );
    until("the first waiter's ticket", || async {
        tickets(&db).await == 1
    })
    .await;
    let live = Worker::start(
        "worker",
        "cond_live",
        "cond_waiter",
        &[("URL", url.clone())],
    );
    until("the second waiter's ticket", || async {
        tickets(&db).await == 2
    })
    .await;
    dead.kill();
    until("the dead waiter's backends end", || async {
        db.query_one(
            "SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = 'cond_dead')",
            &[],
        )
        .await
        .unwrap()
        .get(0)
    })
    .await;
    // notify(1) goes to the live waiter, not to the dead one's older ticket.
    assert_eq!(cond.notify(1).await.unwrap(), 1);
    live.expect("WOKE").await;
    tokio::task::block_in_place(|| live.finish());
    until("no ticket left", || async { tickets(&db).await == 0 }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn condition_waiter_cancelled_after_notify_passes_it_on() {
    let url = cluster().database("cond_pass_on");
    let db = client(&url).await;
    let session = Session::connect(&url, fast()).await.unwrap();
    let lock = session.lock("queue");
    let cond = session.condition(&lock);
    let spawn_waiter = || {
        let (lock, cond) = (lock.clone(), cond.clone());
        tokio::spawn(async move {
            let g = lock.acquire().await?;
            let g = cond.wait(g).await?;
            Ok::<u64, Error>(g.fence())
        })
    };
    let first = spawn_waiter();
    until("first ticket", || async { tickets(&db).await == 1 }).await;
    let second = spawn_waiter();
    until("second ticket", || async { tickets(&db).await == 2 }).await;
    // Hold the lock so the notified waiter blocks re-taking it, then drop
    // that waiter: its wake-up must go to the second one.
    let guard = lock.acquire().await.unwrap();
    assert_eq!(cond.notify(1).await.unwrap(), 1);
    until("the first waiter is notified", || async {
        db.query_one("SELECT count(*) FROM warden.ticket WHERE notified", &[])
            .await
            .unwrap()
            .get::<_, i64>(0)
            == 1
    })
    .await;
    first.abort();
    let _ = first.await;
    until("the wake-up is passed on", || async {
        db.query_one("SELECT count(*) FROM warden.ticket WHERE notified", &[])
            .await
            .unwrap()
            .get::<_, i64>(0)
            == 1
            && tickets(&db).await == 1
    })
    .await;
    guard.release().await.unwrap();
    let fence = tokio::time::timeout(HANG, second)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(fence > 0);
    until("no ticket and no lock left", || async {
        tickets(&db).await == 0 && advisory_locks(&db).await == 0
    })
    .await;
    // wait_timeout without a notify: the lock comes back, `false`.
    let g = lock.acquire().await.unwrap();
    let (g, notified) = cond
        .wait_timeout(g, Duration::from_millis(100))
        .await
        .unwrap();
    assert!(!notified);
    assert!(lock.locked().await.unwrap());
    drop(g);
    until("no ticket left", || async { tickets(&db).await == 0 }).await;
    assert_eq!(cond.notify_all().await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[should_panic(expected = "bound to lock")]
async fn condition_with_another_lock_panics() {
    let url = cluster().database("cond_wrong_lock");
    let session = Session::connect(&url, fast()).await.unwrap();
    let cond = session.condition(&session.lock("a"));
    let other = session.lock("b").acquire().await.unwrap();
    let _ = cond.wait(other).await;
}

// ---- Barrier ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn barrier_releases_generations_across_processes() {
    let url = cluster().database("barrier_gens");
    let generations = knob("BARRIER_GENERATIONS", 5);
    let workers: Vec<Worker> = (0..3)
        .map(|i| {
            Worker::start(
                "worker",
                &format!("party{i}"),
                "barrier_party",
                &[
                    ("URL", url.clone()),
                    ("PARTIES", "3".into()),
                    ("GENERATIONS", generations.to_string()),
                ],
            )
        })
        .collect();
    for g in 0..generations {
        let mut indexes = Vec::new();
        let mut leaders = 0;
        for w in &workers {
            let f = fields(&w.expect("PASSED").await);
            assert_eq!(f["gen"], g.to_string());
            indexes.push(f["index"].parse::<usize>().unwrap());
            leaders += usize::from(f["leader"] == "true");
        }
        indexes.sort_unstable();
        assert_eq!(indexes, [0, 1, 2]);
        assert_eq!(leaders, 1);
    }
    tokio::task::block_in_place(|| workers.into_iter().for_each(Worker::finish));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn barrier_party_crash_breaks_the_barrier() {
    let url = cluster().database("barrier_crash");
    let session = Session::connect(&url, fast()).await.unwrap();
    let barrier = session.barrier("b", 3);
    let params = [
        ("URL", url.clone()),
        ("PARTIES", "3".to_owned()),
        ("GENERATIONS", "1".to_owned()),
    ];
    let mut doomed = Worker::start("worker", "doomed", "barrier_party", &params);
    let survivor = Worker::start("worker", "survivor", "barrier_party", &params);
    until("two parties wait", || async {
        barrier.n_waiting().await.unwrap() == 2
    })
    .await;
    doomed.kill();
    assert_eq!(survivor.expect("BROKEN").await, "gen=0");
    tokio::task::block_in_place(|| survivor.finish());
    assert!(barrier.is_broken().await.unwrap());
    assert!(matches!(barrier.wait().await, Err(Error::BrokenBarrier)));
    barrier.reset().await.unwrap();
    assert!(!barrier.is_broken().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn barrier_wait_dropped_withdraws_and_timeout_breaks() {
    let url = cluster().database("barrier_cancel");
    let db = client(&url).await;
    let session = Session::connect(&url, fast()).await.unwrap();
    let barrier = session.barrier("b", 2);
    for _ in 0..5 {
        let b = barrier.clone();
        let w = tokio::spawn(async move { b.wait().await });
        until("one party waits", || async {
            barrier.n_waiting().await.unwrap() == 1
        })
        .await;
        w.abort();
        let _ = w.await;
        until("the arrival is withdrawn", || async {
            barrier.n_waiting().await.unwrap() == 0
        })
        .await;
    }
    // Withdrawals broke nothing: two parties pass.
    let (a, b) = tokio::join!(barrier.wait(), barrier.wait());
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_ne!(a.index(), b.index());
    assert!(a.is_leader() ^ b.is_leader());
    // A timeout breaks the barrier for everyone (Python).
    let three = session.barrier("t", 3);
    let other = {
        let b = three.clone();
        tokio::spawn(async move { b.wait().await })
    };
    until("one party waits", || async {
        three.n_waiting().await.unwrap() == 1
    })
    .await;
    assert!(matches!(
        three.wait_timeout(Duration::from_millis(200)).await,
        Err(Error::BrokenBarrier)
    ));
    assert!(matches!(other.await.unwrap(), Err(Error::BrokenBarrier)));
    assert!(three.is_broken().await.unwrap());
    let lone = session.barrier("t", 3);
    // abort() and reset().
    lone.reset().await.unwrap();
    lone.abort().await.unwrap();
    assert!(matches!(lone.wait().await, Err(Error::BrokenBarrier)));
    lone.reset().await.unwrap();
    until("no party lock left", || async {
        advisory_locks(&db).await == 0
    })
    .await;
}
