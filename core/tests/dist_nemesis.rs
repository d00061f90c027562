//! The seeded nemesis run: bank transfers by several worker processes
//! under `dist` locks with fenced writes, while a nemesis kills and pauses
//! workers, terminates their backends, restarts the server and blackholes
//! connections through an in-test TCP proxy. A checker over the storage
//! and the workers' logs asserts: the total is kept, every transfer is
//! applied exactly once, no committed transfer was logged lost, and per
//! account the fence tokens of applied writes strictly increase (every
//! stale token was refused).
//!
//! `WARDEN_DIST_NEMESIS_SECS` (default 30, at most 60) sets the length,
//! `WARDEN_DIST_SEED` the seed (printed on every run): the seed replays the
//! nemesis's schedule and the workers' choices (the OS scheduling is not
//! replayed). Loopback only; everything it starts ends with the test.
#![cfg(feature = "postgres")]

mod dist_common;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use dist_common::{Cluster, Rng, Worker, client, knob, param, say, worker_role};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Mutex, watch};
use warden::dist::{Error, Options, Session};

const ACCOUNTS: i64 = 8;
const INITIAL: i64 = 1_000;

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
                "banker" => banker().await,
                other => panic!("unknown worker role {other}"),
            }
        });
}

/// Transfers between random accounts until told to stop. Each account is
/// guarded by a `dist::Lock`; the storage (a plain connection, not through
/// the proxy) is written with the fence protocol: claim the account's fence
/// (`fence < mine` → `mine`), read, then write only where `fence = mine`.
async fn banker() {
    let name = param("NAME");
    let seed: u64 = param("SEED").parse().expect("SEED");
    let session = Session::connect(
        &format!("{} application_name={name}", param("PROXY_URL")),
        Options::default()
            .lease(Duration::from_millis(1500))
            .poll_interval(Duration::from_millis(50)),
    )
    .await
    .expect("connect");
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        tokio::spawn(async move {
            let _ = dist_common::hear().await;
            stop.store(true, Ordering::SeqCst);
        });
    }
    let mut rng = Rng::new(seed);
    let mut db: Option<tokio_postgres::Client> = None;
    let mut n = 0_u64;
    while !stop.load(Ordering::SeqCst) {
        n += 1;
        let from = i64::try_from(rng.below(8)).expect("account");
        let to = (from + 1 + i64::try_from(rng.below(7)).expect("account")) % ACCOUNTS;
        let amount = i64::try_from(rng.below(20)).expect("amount") + 1;
        let id = format!("{name}-{n}");
        if db.as_ref().is_none_or(tokio_postgres::Client::is_closed) {
            db = tokio_postgres::connect(&param("URL"), tokio_postgres::NoTls)
                .await
                .ok()
                .map(|(c, conn)| {
                    tokio::spawn(conn);
                    c
                });
        }
        let Some(storage) = db.as_mut() else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        match transfer(&session, storage, &id, from, to, amount).await {
            Ok(Outcome::Done) => say(&format!("T {id}")),
            Ok(Outcome::Refused) => say("R"),
            Ok(Outcome::Skipped) => {}
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
    say("DONE");
}

enum Outcome {
    Done,
    /// A fence check refused a write: this holder's lock had been lost.
    Refused,
    /// Not enough money.
    Skipped,
}

/// One transfer.
async fn transfer(
    session: &Session,
    storage: &mut tokio_postgres::Client,
    id: &str,
    from: i64,
    to: i64,
    amount: i64,
) -> Result<Outcome, Error> {
    let (lo, hi) = (from.min(to), from.max(to));
    let d = Duration::from_secs(3);
    let g_lo = session
        .lock(&format!("acct/{lo}"))
        .acquire_timeout(d)
        .await?;
    let g_hi = session
        .lock(&format!("acct/{hi}"))
        .acquire_timeout(d)
        .await?;
    let (f_lo, f_hi) = (
        i64::try_from(g_lo.fence()).expect("fence"),
        i64::try_from(g_hi.fence()).expect("fence"),
    );
    let fence_of = |acct: i64| if acct == lo { f_lo } else { f_hi };
    let tx = storage.transaction().await?;
    for (acct, fence) in [(lo, f_lo), (hi, f_hi)] {
        let claimed = tx
            .execute(
                "UPDATE account SET fence = $2 WHERE id = $1 AND fence < $2",
                &[&acct, &fence],
            )
            .await?;
        if claimed == 0 {
            return Ok(Outcome::Refused);
        }
    }
    let balance: i64 = tx
        .query_one("SELECT balance FROM account WHERE id = $1", &[&from])
        .await?
        .get(0);
    if balance < amount {
        return Ok(Outcome::Skipped);
    }
    for (acct, delta) in [(from, -amount), (to, amount)] {
        let current: i64 = tx
            .query_one("SELECT balance FROM account WHERE id = $1", &[&acct])
            .await?
            .get(0);
        let wrote = tx
            .execute(
                "UPDATE account SET balance = $2 WHERE id = $1 AND fence = $3",
                &[&acct, &(current + delta), &fence_of(acct)],
            )
            .await?;
        if wrote == 0 {
            return Ok(Outcome::Refused);
        }
    }
    tx.execute(
        "INSERT INTO transfer (id, src, dst, amount, fence_src, fence_dst) VALUES ($1, $2, $3, $4, $5, $6)",
        &[&id, &from, &to, &amount, &fence_of(from), &fence_of(to)],
    )
    .await?;
    tx.commit().await?;
    drop((g_lo, g_hi));
    Ok(Outcome::Done)
}

// ---- the proxy ----

/// A loopback TCP proxy whose connections can be blackholed (bytes held,
/// nothing delivered either way) or cut.
struct Proxy {
    port: u16,
    conns: Mutex<Vec<Link>>,
}

struct Link {
    hole: watch::Sender<bool>,
    tasks: [tokio::task::JoinHandle<()>; 2],
}

impl Proxy {
    async fn start(upstream: u16) -> Arc<Proxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let proxy = Arc::new(Proxy {
            port: listener.local_addr().expect("addr").port(),
            conns: Mutex::new(Vec::new()),
        });
        let p = proxy.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)).await else {
                    continue;
                };
                let (hole, _) = watch::channel(false);
                let (cr, cw) = client.into_split();
                let (sr, sw) = server.into_split();
                let tasks = [
                    tokio::spawn(pump(cr, sw, hole.subscribe())),
                    tokio::spawn(pump(sr, cw, hole.subscribe())),
                ];
                let mut conns = p.conns.lock().await;
                conns.retain(|l| !l.tasks.iter().all(tokio::task::JoinHandle::is_finished));
                conns.push(Link { hole, tasks });
            }
        });
        proxy
    }

    /// Blackholes about a third of the live links for `d`.
    async fn blackhole(&self, rng: &mut Rng, d: Duration) -> usize {
        let mut holed = Vec::new();
        for link in self.conns.lock().await.iter() {
            if rng.below(3) == 0 {
                link.hole.send_replace(true);
                holed.push(link.hole.clone());
            }
        }
        let n = holed.len();
        tokio::spawn(async move {
            tokio::time::sleep(d).await;
            for h in holed {
                h.send_replace(false);
            }
        });
        n
    }
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut hole: watch::Receiver<bool>,
) {
    let mut buf = vec![0_u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => 0,
            Ok(n) => n,
        };
        // Held while blackholed, EOF included: a partition delivers nothing.
        if hole.wait_for(|h| !*h).await.is_err() {
            return;
        }
        if n == 0 || to.write_all(&buf[..n]).await.is_err() {
            let _ = to.shutdown().await;
            return;
        }
    }
}

// ---- the run ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines)] // the run, top to bottom
async fn nemesis_run_keeps_the_bank_consistent() {
    let secs = knob("NEMESIS_SECS", 30).min(60);
    let seed = knob(
        "SEED",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_secs()),
    );
    println!("nemesis: {secs} s, WARDEN_DIST_SEED={seed}");
    eprintln!("nemesis: {secs} s, WARDEN_DIST_SEED={seed}");
    let pg = Cluster::start_private();
    let url = pg.database("nemesis");
    let db = client(&url).await;
    db.batch_execute(&format!(
        "CREATE TABLE account (id bigint PRIMARY KEY, balance bigint NOT NULL, fence bigint NOT NULL); \
         INSERT INTO account SELECT g, {INITIAL}, 0 FROM generate_series(0, {}) g; \
         CREATE TABLE transfer (seq bigserial, id text PRIMARY KEY, src bigint, dst bigint, \
                                amount bigint, fence_src bigint, fence_dst bigint)",
        ACCOUNTS - 1
    ))
    .await
    .unwrap();
    drop(db);
    let proxy = Proxy::start(pg.port()).await;
    let proxy_url = format!(
        "host=127.0.0.1 port={} user=postgres dbname=t_nemesis",
        proxy.port
    );
    let mut rng = Rng::new(seed);
    let mut spawned = 0_u64;
    let mut start_worker = |rng: &mut Rng| {
        spawned += 1;
        Worker::start(
            "worker",
            &format!("bank{spawned}"),
            "banker",
            &[
                ("URL", url.clone()),
                ("PROXY_URL", proxy_url.clone()),
                ("SEED", rng.next().to_string()),
            ],
        )
    };
    let mut workers: Vec<Worker> = (0..4).map(|_| start_worker(&mut rng)).collect();
    let mut finished: Vec<Worker> = Vec::new();
    let mut log: Vec<String> = Vec::new();
    let mut actions: HashMap<&str, u32> = HashMap::new();
    let end = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < end {
        tokio::time::sleep(Duration::from_millis(300 + rng.below(1200))).await;
        let victim = usize::try_from(rng.below(workers.len() as u64)).unwrap();
        let action = match rng.below(6) {
            0 => {
                let mut w = workers.swap_remove(victim);
                w.kill();
                drain(&w, &mut log).await;
                workers.push(start_worker(&mut rng));
                "kill"
            }
            1 => {
                let w = &workers[victim];
                w.stop();
                tokio::time::sleep(Duration::from_millis(200 + rng.below(2800))).await;
                w.cont();
                "pause"
            }
            2 => {
                let admin = client(&url).await;
                let _ = admin
                    .execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                         WHERE application_name LIKE 'bank%' AND random() < 0.3",
                        &[],
                    )
                    .await;
                "terminate"
            }
            3 if rng.below(3) == 0 => {
                tokio::task::block_in_place(|| pg.restart_immediate());
                "restart"
            }
            _ => {
                let d = Duration::from_millis(300 + rng.below(2700));
                proxy.blackhole(&mut rng, d).await;
                "blackhole"
            }
        };
        *actions.entry(action).or_default() += 1;
        for w in &workers {
            drain(w, &mut log).await;
        }
    }
    // Stop: every worker finishes its transfer and says DONE.
    tokio::time::sleep(Duration::from_secs(3)).await; // let blackholes lapse
    for w in &mut workers {
        w.cont();
        w.send("stop");
    }
    for w in workers {
        loop {
            let line = w.line().await;
            if line == "DONE" {
                break;
            }
            log.push(line);
        }
        finished.push(w);
    }
    for w in finished {
        tokio::task::block_in_place(|| w.finish());
    }
    println!("nemesis actions: {actions:?}");
    check(&url, &log).await;
}

/// Takes the lines a worker has said so far.
async fn drain(w: &Worker, log: &mut Vec<String>) {
    while let Some(line) = w.try_line().await {
        log.push(line);
    }
}

async fn check(url: &str, log: &[String]) {
    let db = client(url).await;
    let balances: HashMap<i64, i64> = db
        .query("SELECT id, balance FROM account", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let total: i64 = balances.values().sum();
    assert_eq!(total, ACCOUNTS * INITIAL, "money was created or destroyed");
    let transfers = db
        .query(
            "SELECT id, src, dst, amount, fence_src, fence_dst FROM transfer ORDER BY seq",
            &[],
        )
        .await
        .unwrap();
    // Every applied transfer, applied once, explains the balances.
    let mut expect: HashMap<i64, i64> = (0..ACCOUNTS).map(|a| (a, INITIAL)).collect();
    let mut last_fence: HashMap<i64, i64> = HashMap::new();
    let mut applied = HashSet::new();
    for t in &transfers {
        let (id, src, dst, amount, fs, fd): (String, i64, i64, i64, i64, i64) =
            (t.get(0), t.get(1), t.get(2), t.get(3), t.get(4), t.get(5));
        *expect.get_mut(&src).unwrap() -= amount;
        *expect.get_mut(&dst).unwrap() += amount;
        for (acct, fence) in [(src, fs), (dst, fd)] {
            let last = last_fence.insert(acct, fence).unwrap_or(0);
            assert!(
                fence > last,
                "account {acct}: a write with fence {fence} landed after one with {last}"
            );
        }
        applied.insert(id);
    }
    assert_eq!(
        balances, expect,
        "balances differ from the applied transfers"
    );
    // Nothing a worker saw committed is missing.
    let mut committed = 0;
    let mut refused = 0;
    for line in log {
        if let Some(id) = line.strip_prefix("T ") {
            committed += 1;
            assert!(
                applied.contains(id),
                "transfer {id} was committed but is lost"
            );
        } else if line == "R" {
            refused += 1;
        }
    }
    println!(
        "nemesis checker: {} transfers applied ({committed} seen committed), {refused} refused by fences",
        transfers.len()
    );
    assert!(!transfers.is_empty(), "no transfer went through at all");
}
