//! Cancellation storm: 10^4 waits (`WARDEN_DIST_STORM`) of every kind,
//! dropped at random points by several processes, while locks and permits
//! change hands; afterwards no advisory lock, no condition ticket and no
//! barrier arrival is left on the server.
#![cfg(feature = "postgres")]

mod dist_common;

use std::time::Duration;

use dist_common::{
    Rng, Worker, advisory_locks, client, cluster, hear, knob, param, say, until, worker_role,
};
use warden::dist::{Options, Session};

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
                "storm" => storm().await,
                other => panic!("unknown worker role {other}"),
            }
        });
}

async fn storm() {
    let url = param("URL");
    let waits: u64 = param("WAITS").parse().expect("WAITS");
    let seed: u64 = param("SEED").parse().expect("SEED");
    let session = Session::connect(
        &url,
        Options::default().poll_interval(Duration::from_millis(20)),
    )
    .await
    .expect("connect");
    // Churn: locks and permits change hands all the time, so some dropped
    // waits are granted in the very race with their drop.
    let churn = {
        let session = session.clone();
        tokio::spawn(async move {
            let (lock, sem) = (session.lock("l"), session.semaphore("s", 2));
            loop {
                if let Ok(g) = lock.acquire().await {
                    tokio::time::sleep(Duration::from_micros(300)).await;
                    drop(g);
                }
                if let Ok(p) = sem.acquire().await {
                    tokio::time::sleep(Duration::from_micros(300)).await;
                    drop(p);
                }
            }
        })
    };
    let mut rng = Rng::new(seed);
    let (lock, rlock, sem) = (
        session.lock("l"),
        session.rlock("l"),
        session.semaphore("s", 2),
    );
    let cond_lock = session.lock("c");
    let cond = session.condition(&cond_lock);
    let event = session.event("never");
    let barrier = session.barrier("b", 1000);
    let mut completed = 0_u64;
    for _ in 0..waits {
        let budget = Duration::from_micros(rng.below(4000));
        let kind = rng.below(7);
        let op = async {
            match kind {
                0 => lock.acquire().await.map(drop),
                1 => rlock.acquire().await.map(drop),
                2 => sem.acquire().await.map(drop),
                3 => event.wait().await,
                4 => barrier.wait().await.map(drop),
                5 => {
                    let g = cond_lock.acquire().await?;
                    cond.wait(g).await.map(drop)
                }
                _ => cond.notify(1).await.map(drop),
            }
        };
        if let Ok(Ok(())) = tokio::time::timeout(budget, op).await {
            completed += 1;
        }
    }
    churn.abort();
    let _ = churn.await;
    say(&format!("DONE completed={completed}"));
    // Stay connected while the test looks for leftovers.
    assert_eq!(hear().await, "exit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_waits_leave_nothing_on_the_server() {
    let url = cluster().database("storm");
    let total = knob("STORM", 10_000);
    let seed = knob("SEED", 0x5eed);
    println!("storm: {total} waits, WARDEN_DIST_SEED={seed}");
    let processes = 4;
    let mut workers: Vec<Worker> = (0..processes)
        .map(|i| {
            Worker::start(
                "worker",
                &format!("storm{i}"),
                "storm",
                &[
                    ("URL", url.clone()),
                    ("WAITS", (total / processes).to_string()),
                    ("SEED", (seed + i).to_string()),
                ],
            )
        })
        .collect();
    let mut completed = 0;
    for w in &workers {
        let done = w.expect("DONE").await;
        completed += dist_common::fields(&done)["completed"]
            .parse::<u64>()
            .unwrap();
    }
    println!(
        "storm: {completed} waits completed, {} dropped",
        total - completed
    );
    // Most waits must really have been dropped while pending.
    assert!(
        completed < total / 2,
        "only {completed} of {total} waits completed: too few drops"
    );
    // Every worker is still connected: anything left was leaked.
    let db = client(&url).await;
    until("no advisory lock is left", || async {
        advisory_locks(&db).await == 0
    })
    .await;
    until("no ticket or barrier arrival is left", || async {
        db.query_one(
            "SELECT (SELECT count(*) FROM warden.ticket) + (SELECT count(*) FROM warden.barrier_party)",
            &[],
        )
        .await
        .unwrap()
        .get::<_, i64>(0)
            == 0
    })
    .await;
    let waiting: i64 = db
        .query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' \
               AND datname = current_database()",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(waiting, 0, "a backend still waits for a lock");
    for w in &mut workers {
        w.send("exit");
    }
    tokio::task::block_in_place(|| workers.into_iter().for_each(Worker::finish));
}
