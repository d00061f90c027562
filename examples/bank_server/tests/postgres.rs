//! The replicated mode (feature `postgres`): `bank_server --postgres URL`
//! processes (the binary cargo builds for the tests) against a private
//! PostgreSQL cluster (`warden-dist-bank`'s harness: `initdb` + `pg_ctl`,
//! loopback only, deleted afterwards; `WARDEN_PG_URL` names a server to use
//! instead).
//!
//! * two replicas under a bounded concurrent load through both: the total
//!   holds, and every transfer answered 200 is in the books exactly once;
//! * a replica `SIGKILL`ed under load: no committed transfer is lost, every
//!   client's retry (same `Idempotency-Key`, on the other replica) moves
//!   the money at most once, the other replica keeps serving, and a
//!   restarted replica serves the same bank;
//! * the API against the database: the same answers as in memory, a
//!   repeated key, a reused one, a write refused by a fence, and a commit
//!   whose answer is lost (a proxy in front of the server swallows it) —
//!   answered 200, never as a failure — or which never reaches the server
//!   (503, nothing moved).

#![allow(clippy::doc_markdown)] // "PostgreSQL" is a name

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use axum::http::Method;
use bank_server::load::{Answer, Client, XorShift};
use bank_server::postgres::{LOCK_NAMESPACE, account_lock};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_postgres::NoTls;
use tokio_postgres::config::Host;
use warden_dist_bank::cluster::Cluster;

/// The program under test.
const BIN: &str = env!("CARGO_BIN_EXE_bank_server");

/// Long enough for anything that should happen, so a slow machine never
/// fails a test; only a hang runs into it.
const PATIENCE: Duration = Duration::from_mins(1);

/// Opening balance of every account.
const OPENING: i64 = 1_000;

/// One test at a time: each runs a cluster and server processes, and the
/// machine may have two cores. (A warden `Lock`: it may be held across
/// awaits, and serves the tests' runtimes in turn.)
static ONE_AT_A_TIME: warden::Lock = warden::Lock::new(());

/// A fresh database on a cluster of its own (stopped and deleted when
/// dropped).
struct Database {
    url: String,
    _cluster: Cluster,
}

async fn database(name: &str) -> Database {
    let cluster = tokio::task::spawn_blocking(Cluster::start)
        .await
        .expect("the cluster's start")
        .unwrap_or_else(|e| panic!("no PostgreSQL cluster: {e}"));
    let admin = connect(&cluster.url("postgres")).await;
    // Two statements: CREATE DATABASE cannot run in a transaction.
    for sql in [
        format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        format!("CREATE DATABASE {name}"),
    ] {
        admin.batch_execute(&sql).await.expect(&sql);
    }
    Database {
        url: cluster.url(name),
        _cluster: cluster,
    }
}

async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .unwrap_or_else(|e| panic!("connect to {url}: {e:?}"));
    tokio::spawn(connection);
    client
}

/// A `bank_server --postgres` process, its stderr collected line by line.
struct Replica {
    child: Child,
    addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Replica {
    /// Starts a replica on a free port and waits until it listens (after
    /// its tables are in place). Blocking: call it from `spawn_blocking`
    /// while a load runs.
    fn start(url: &str, extra: &[&str]) -> Replica {
        let mut child = Command::new(BIN)
            .args(["--port", "0", "--postgres", url, "--max-transfers", "8"])
            .args(extra)
            .env_remove("PORT")
            .env_remove("BANK_POSTGRES_URL")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the server starts");
        let stderr = child.stderr.take().expect("piped stderr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (found, address) = mpsc::channel();
        let reader = std::thread::spawn({
            let log = log.clone();
            move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    if let Some(at) = line.find("listening on http://") {
                        let addr: String = line[at + "listening on http://".len()..]
                            .chars()
                            .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
                            .collect();
                        let _ = found.send(addr.parse::<SocketAddr>().ok());
                    }
                    log.lock().expect("log").push(line);
                }
            }
        });
        let addr = address
            .recv_timeout(PATIENCE)
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("no address logged: {:?}", log.lock().expect("log")));
        assert!(addr.ip().is_loopback(), "listens on loopback only: {addr}");
        Replica {
            child,
            addr,
            log,
            reader: Some(reader),
        }
    }

    fn lines(&self) -> Vec<String> {
        self.log.lock().expect("log").clone()
    }

    fn logged(&self, text: &str) -> bool {
        self.lines().iter().any(|l| l.contains(text))
    }

    /// `SIGKILL`: no shutdown, no settlement, sockets closed by the kernel.
    fn kill(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.wait();
    }

    /// `POST /shutdown`, then the exit status.
    async fn shut_down(mut self) -> ExitStatus {
        let answer = Client::new(self.addr)
            .send(&Method::POST, "/shutdown", Some("{}".into()))
            .await
            .expect("POST /shutdown");
        assert_eq!(answer.status, 202);
        tokio::task::spawn_blocking(move || self.wait())
            .await
            .expect("wait")
    }

    fn wait(&mut self) -> ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                if let Some(reader) = self.reader.take() {
                    reader.join().expect("the log reader");
                }
                return status;
            }
            assert!(
                start.elapsed() < PATIENCE,
                "the server did not exit: {:?}",
                self.lines()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill(); // only if a test failed half-way
        let _ = self.child.wait();
    }
}

async fn post(client: &mut Client, path: &str, key: Option<&str>, body: &Value) -> Answer {
    let headers: Vec<(&str, &str)> = key.map(|k| ("idempotency-key", k)).into_iter().collect();
    client
        .send_with(&Method::POST, path, &headers, Some(body.to_string()))
        .await
        .unwrap_or_else(|e| panic!("POST {path} {body}: {e}"))
}

fn json_of(answer: &Answer) -> Value {
    answer.json().expect("a JSON body")
}

/// Opens `n` accounts of [`OPENING`] through `addr`; their ids.
async fn open_accounts(addr: SocketAddr, n: usize) -> Vec<i64> {
    let mut client = Client::new(addr);
    let mut ids = Vec::new();
    for _ in 0..n {
        let answer = post(&mut client, "/accounts", None, &json!({"balance": OPENING})).await;
        assert_eq!(answer.status, 201, "{}", json_of(&answer));
        ids.push(json_of(&answer)["id"].as_i64().expect("an id"));
    }
    ids
}

/// A transfer a client sent, and the receipt of its 200.
#[derive(Debug, Clone)]
struct Moved {
    key: Option<String>,
    from: i64,
    to: i64,
    amount: i64,
    receipt: Value,
}

/// What the clients saw.
#[derive(Debug, Default)]
struct Tally {
    moved: Vec<Moved>,
    refused: usize,
    /// 503s (retried: nothing was done).
    unavailable: usize,
    /// Requests left without an answer (the replica was killed): retried
    /// with the same key on the other replica.
    unanswered: usize,
    /// Of those, the ones sent before the replica died (the others found
    /// it gone when they connected).
    in_flight: usize,
    problems: Vec<String>,
}

impl Tally {
    fn absorb(&mut self, other: Tally) {
        self.moved.extend(other.moved);
        self.refused += other.refused;
        self.unavailable += other.unavailable;
        self.unanswered += other.unanswered;
        self.in_flight += other.in_flight;
        self.problems.extend(other.problems);
    }
}

/// One load client: `n` random transfers through replica `home`, each
/// retried until it has an answer that settles it (200 or 409). A 503 is
/// retried as is; a request left without an answer is retried on the
/// other replica, with the same `Idempotency-Key` (only keyed clients can:
/// without a key, the outcome of an unanswered transfer is unknown).
#[allow(clippy::too_many_arguments)]
async fn client(
    addrs: [SocketAddr; 2],
    home: usize,
    ids: Vec<i64>,
    n: usize,
    keyed: bool,
    seed: u64,
    name: usize,
    answered: Arc<AtomicUsize>,
) -> Tally {
    let mut rng = XorShift::new(seed);
    let mut tally = Tally::default();
    let mut at = home;
    let mut http = Client::new(addrs[at]);
    let count = ids.len() as u64;
    for i in 0..n {
        let pick = rng.below(count);
        let other = (pick + 1 + rng.below(count - 1)) % count;
        #[allow(clippy::cast_possible_truncation)] // below the length of `ids`
        let (from, to) = (ids[pick as usize], ids[other as usize]);
        let amount = i64::try_from(1 + rng.below(600)).expect("small");
        let key = keyed.then(|| format!("client-{name}-transfer-{i}"));
        let headers: Vec<(&str, &str)> = key
            .as_deref()
            .map(|k| ("idempotency-key", k))
            .into_iter()
            .collect();
        let body = json!({"from": from, "to": to, "amount": amount}).to_string();
        let mut tries = 0;
        loop {
            tries += 1;
            if tries > 100 {
                tally
                    .problems
                    .push(format!("{body}: no settling answer in 100 tries"));
                break;
            }
            match http
                .send_with(&Method::POST, "/transfer", &headers, Some(body.clone()))
                .await
            {
                Ok(answer) if answer.status == 200 => {
                    tally.moved.push(Moved {
                        key: key.clone(),
                        from,
                        to,
                        amount,
                        receipt: json_of(&answer),
                    });
                    answered.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                Ok(answer) if answer.status == 409 => {
                    tally.refused += 1;
                    answered.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                Ok(answer) if answer.status == 503 => {
                    if answer.retry_after.as_deref() != Some("1") {
                        tally
                            .problems
                            .push(format!("503 without Retry-After: 1: {answer:?}"));
                    }
                    tally.unavailable += 1;
                    // Retry-After says a second; a test need not wait that long.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Ok(answer) => {
                    tally
                        .problems
                        .push(format!("{body}: {} {:?}", answer.status, answer.json()));
                    break;
                }
                Err(e) if keyed => {
                    tally.unanswered += 1;
                    if !e.contains(": connect: ") {
                        tally.in_flight += 1;
                    }
                    at = 1 - at;
                    http = Client::new(addrs[at]);
                }
                Err(e) => {
                    tally
                        .problems
                        .push(format!("{body}: no answer, outcome unknown: {e}"));
                    break;
                }
            }
        }
    }
    tally
}

/// Runs `clients` clients, alternately homed on the two replicas, `n`
/// transfers each, keyed if `keyed(client)`.
fn spawn_load(
    addrs: [SocketAddr; 2],
    ids: &[i64],
    clients: usize,
    n: usize,
    keyed: impl Fn(usize) -> bool,
    answered: &Arc<AtomicUsize>,
) -> Vec<tokio::task::JoinHandle<Tally>> {
    (0..clients)
        .map(|c| {
            tokio::spawn(client(
                addrs,
                c % 2,
                ids.to_vec(),
                n,
                keyed(c),
                0x5EED_0000 + c as u64,
                c,
                answered.clone(),
            ))
        })
        .collect()
}

async fn gather(tasks: Vec<tokio::task::JoinHandle<Tally>>) -> Tally {
    let mut tally = Tally::default();
    for task in tasks {
        tally.absorb(task.await.expect("a load client"));
    }
    tally
}

/// The books against what the clients saw: the total holds; the transfer
/// rows are exactly the 200 answers (by key for keyed ones, by receipt for
/// the others); and every balance is its opening balance plus what the
/// rows moved — so each 200 moved the money exactly once.
async fn check_books(url: &str, ids: &[i64], tally: &Tally) {
    let db = connect(url).await;
    let n = i64::try_from(ids.len()).expect("few");
    let row = db
        .query_one(
            "SELECT (SELECT sum(balance)::bigint FROM bank.account), \
                    (SELECT total FROM bank.vault), (SELECT count(*) FROM bank.account)",
            &[],
        )
        .await
        .expect("totals");
    let (sum, total, accounts): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
    assert_eq!(accounts, n);
    assert_eq!(sum, n * OPENING, "the balances add up to the money put in");
    assert_eq!(total, n * OPENING, "the vault holds the money put in");

    let rows = db
        .query(
            "SELECT key, from_id, to_id, amount, from_balance, to_balance FROM bank.transfer",
            &[],
        )
        .await
        .expect("transfers");
    assert_eq!(
        rows.len(),
        tally.moved.len(),
        "one row per transfer answered 200, and no other"
    );
    let receipt = |from: i64, fb: i64, to: i64, tb: i64| json!({"from": {"id": from, "balance": fb}, "to": {"id": to, "balance": tb}});
    let mut keyed: HashMap<String, (i64, i64, i64, Value)> = HashMap::new();
    let mut unkeyed: Vec<String> = Vec::new();
    let mut balance: HashMap<i64, i64> = ids.iter().map(|&id| (id, OPENING)).collect();
    for row in &rows {
        let key: String = row.get(0);
        let (from, to, amount, fb, tb): (i64, i64, i64, i64, i64) =
            (row.get(1), row.get(2), row.get(3), row.get(4), row.get(5));
        *balance.get_mut(&from).expect("a known account") -= amount;
        *balance.get_mut(&to).expect("a known account") += amount;
        let stored = receipt(from, fb, to, tb);
        if let Some(client_key) = key.strip_prefix("key:") {
            keyed.insert(client_key.to_owned(), (from, to, amount, stored));
        } else {
            assert!(key.starts_with("auto:"), "{key}");
            unkeyed.push(format!("{from} {to} {amount} {stored}"));
        }
    }
    let mut answered_unkeyed = Vec::new();
    for moved in &tally.moved {
        match &moved.key {
            Some(key) => {
                let (from, to, amount, stored) = keyed
                    .get(key)
                    .unwrap_or_else(|| panic!("{moved:?} answered 200 but is not in the books"));
                assert_eq!(
                    (*from, *to, *amount, stored),
                    (moved.from, moved.to, moved.amount, &moved.receipt),
                    "the books hold the transfer and the receipt the client got"
                );
            }
            None => answered_unkeyed.push(format!(
                "{} {} {} {}",
                moved.from, moved.to, moved.amount, moved.receipt
            )),
        }
    }
    unkeyed.sort();
    answered_unkeyed.sort();
    assert_eq!(
        unkeyed, answered_unkeyed,
        "the server-keyed rows are the unkeyed 200s"
    );
    for row in db
        .query("SELECT id, balance FROM bank.account", &[])
        .await
        .expect("balances")
    {
        let (id, stored): (i64, i64) = (row.get(0), row.get(1));
        assert_eq!(
            stored, balance[&id],
            "account {id}: its balance is its opening plus what the rows moved"
        );
    }
}

/// After every replica shut down gracefully: every transfer settled, once.
async fn check_settled(url: &str) {
    let db = connect(url).await;
    let row = db
        .query_one(
            "SELECT (SELECT count(*) FROM bank.transfer WHERE batch IS NULL), \
                    (SELECT count(*) FROM bank.transfer), \
                    (SELECT coalesce(sum(transfers), 0)::bigint FROM bank.settlement)",
            &[],
        )
        .await
        .expect("settlement");
    let (unsettled, transfers, settled): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
    assert_eq!(unsettled, 0, "every transfer settled at shutdown");
    assert_eq!(settled, transfers, "each in exactly one batch");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_under_load_conserve_the_total_and_move_each_transfer_once() {
    let _one = ONE_AT_A_TIME.acquire().await;
    let db = database("bank_load").await;
    // Both start at once against an empty database: the schema is created
    // once, under its lock.
    let (a, b) = {
        let (u1, u2) = (db.url.clone(), db.url.clone());
        let a = tokio::task::spawn_blocking(move || Replica::start(&u1, &["--settle-batch", "25"]));
        let b = tokio::task::spawn_blocking(move || Replica::start(&u2, &["--settle-batch", "25"]));
        (a.await.expect("replica a"), b.await.expect("replica b"))
    };
    let ids = open_accounts(a.addr, 16).await;
    let addrs = [a.addr, b.addr];
    let answered = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    // 16 clients x 75 transfers; half of them send an Idempotency-Key.
    let tally = gather(spawn_load(addrs, &ids, 16, 75, |c| c % 4 < 2, &answered)).await;
    let elapsed = start.elapsed();
    println!(
        "2 replicas: {} transfers ({} ok, {} refused with 409, {} retried after 503) in {:.2} s",
        tally.moved.len() + tally.refused,
        tally.moved.len(),
        tally.refused,
        tally.unavailable,
        elapsed.as_secs_f64()
    );
    assert!(tally.problems.is_empty(), "{:#?}", tally.problems);
    assert_eq!(tally.moved.len() + tally.refused, 16 * 75);
    assert!(!tally.moved.is_empty() && tally.refused > 0, "{tally:?}");

    // Both replicas see the same bank.
    for addr in addrs {
        let (status, audit) = Client::new(addr).get("/audit").await.expect("audit");
        assert_eq!(status, 200);
        assert_eq!(
            audit,
            json!({"accounts": 16, "total": 16 * OPENING, "transfers": tally.moved.len()})
        );
    }
    check_books(&db.url, &ids, &tally).await;

    let (a_log, b_log) = (a.lines(), b.lines());
    assert_eq!(a.shut_down().await.code(), Some(0), "{a_log:#?}");
    assert_eq!(b.shut_down().await.code(), Some(0), "{b_log:#?}");
    check_settled(&db.url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_killed_under_load_loses_no_transfer_and_the_other_serves_on() {
    let _one = ONE_AT_A_TIME.acquire().await;
    let db = database("bank_kill").await;
    let url = db.url.clone();
    let mut a =
        tokio::task::spawn_blocking(move || Replica::start(&url, &["--settle-batch", "25"]))
            .await
            .expect("replica a");
    let url = db.url.clone();
    let b = tokio::task::spawn_blocking(move || Replica::start(&url, &["--settle-batch", "25"]))
        .await
        .expect("replica b");
    let ids = open_accounts(b.addr, 16).await;
    let addrs = [a.addr, b.addr];
    let answered = Arc::new(AtomicUsize::new(0));
    // Every client keys its transfers, so that one left without an answer
    // can be retried on the other replica.
    let load = spawn_load(addrs, &ids, 16, 75, |_| true, &answered);

    // Kill A once a quarter of the transfers are answered: it has
    // transfers in flight (its clients are sending all the time).
    let start = Instant::now();
    while answered.load(Ordering::Relaxed) < 16 * 75 / 4 {
        assert!(start.elapsed() < PATIENCE, "the load does not progress");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let a_log = a.lines();
    tokio::task::spawn_blocking(move || a.kill())
        .await
        .expect("kill");

    let tally = gather(load).await;
    println!(
        "A killed after {} answers: {} transfers ({} ok, {} refused), {} requests left \
         unanswered ({} of them in flight) and retried on B, {} retried after 503",
        16 * 75 / 4,
        tally.moved.len() + tally.refused,
        tally.moved.len(),
        tally.refused,
        tally.unanswered,
        tally.in_flight,
        tally.unavailable
    );
    assert!(tally.problems.is_empty(), "{:#?}", tally.problems);
    assert_eq!(
        tally.moved.len() + tally.refused,
        16 * 75,
        "B served them all"
    );
    assert!(tally.unanswered > 0, "A's clients noticed it was gone");
    assert!(!a_log.is_empty());
    check_books(&db.url, &ids, &tally).await;

    // A again: the tables are there (the schema step is idempotent), and it
    // serves the same bank.
    let url = db.url.clone();
    let a = tokio::task::spawn_blocking(move || Replica::start(&url, &["--settle-batch", "25"]))
        .await
        .expect("replica a, again");
    let (status, audit) = Client::new(a.addr).get("/audit").await.expect("audit");
    assert_eq!(status, 200);
    assert_eq!(
        audit,
        json!({"accounts": 16, "total": 16 * OPENING, "transfers": tally.moved.len()})
    );
    assert_eq!(a.shut_down().await.code(), Some(0));
    assert_eq!(b.shut_down().await.code(), Some(0));
    // B's and A's final settlements took what the killed A left pending.
    check_settled(&db.url).await;
}

/// The one cut the proxy is armed for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cut {
    /// Nothing.
    Nothing,
    /// Drops the next `COMMIT` and closes its connection: the server never
    /// commits.
    BeforeCommit,
    /// Swallows the server's next answer that carries this command tag
    /// (`COMMIT`: the transaction committed; `INSERT 0 1`: the row went
    /// in) and closes its connection: the client never hears so. Then,
    /// with `outage`, an outage begins, so the client cannot ask either
    /// until [`Proxy::outage`]`(false)`.
    Answer { tag: &'static [u8], outage: bool },
}

/// The simple-protocol message `COMMIT` (tokio-postgres sends it so).
const COMMIT: &[u8] = b"Q\0\0\0\x0bCOMMIT\0";

/// The server's `CommandComplete` for a `COMMIT` that committed.
const COMMITTED: &[u8] = b"C\0\0\0\x0bCOMMIT\0";

/// The server's `CommandComplete` for an `INSERT` of one row.
const INSERTED: &[u8] = b"C\0\0\0\x0fINSERT 0 1\0";

/// A TCP proxy in front of the database that cuts one connection where
/// armed, or all of them during an outage.
struct Proxy {
    addr: SocketAddr,
    rules: Arc<Rules>,
}

/// What the proxy does, shared with its relays.
struct Rules {
    armed: Mutex<Cut>,
    /// Connections cut so far.
    cuts: AtomicUsize,
    /// While `true`: every connection is closed, and new ones at once.
    outage: tokio::sync::watch::Sender<bool>,
}

impl Rules {
    /// Disarms and returns the cut, if `fits` it.
    fn take(&self, fits: impl Fn(Cut) -> bool) -> Option<Cut> {
        let mut armed = self.armed.lock().expect("armed");
        if !fits(*armed) {
            return None;
        }
        self.cuts.fetch_add(1, Ordering::SeqCst);
        Some(std::mem::replace(&mut *armed, Cut::Nothing))
    }
}

fn contains(chunk: &[u8], message: &[u8]) -> bool {
    chunk.windows(message.len()).any(|w| w == message)
}

impl Proxy {
    async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let proxy = Proxy {
            addr: listener.local_addr().expect("addr"),
            rules: Arc::new(Rules {
                armed: Mutex::new(Cut::Nothing),
                cuts: AtomicUsize::new(0),
                outage: tokio::sync::watch::Sender::new(false),
            }),
        };
        let rules = proxy.rules.clone();
        tokio::spawn(async move {
            while let Ok((down, _)) = listener.accept().await {
                if *rules.outage.borrow() {
                    continue; // closed at once
                }
                let Ok(up) = TcpStream::connect(upstream).await else {
                    continue;
                };
                tokio::spawn(relay(down, up, rules.clone()));
            }
        });
        proxy
    }

    fn arm(&self, cut: Cut) {
        *self.rules.armed.lock().expect("armed") = cut;
    }

    fn cuts(&self) -> usize {
        self.rules.cuts.load(Ordering::SeqCst)
    }

    /// Starts (`true`) or ends an outage of the database.
    fn outage(&self, on: bool) {
        self.rules.outage.send_replace(on);
    }
}

/// Relays one connection both ways; cuts it where armed, or in an outage
/// (both sockets close when this returns).
async fn relay(down: TcpStream, up: TcpStream, rules: Arc<Rules>) {
    let (mut down_read, mut down_write) = down.into_split();
    let (mut up_read, mut up_write) = up.into_split();
    let mut outage = rules.outage.subscribe();
    let to_server = {
        let rules = rules.clone();
        async move {
            let mut buf = vec![0_u8; 64 * 1024];
            loop {
                let n = match down_read.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                let chunk = &buf[..n];
                if contains(chunk, COMMIT) && rules.take(|cut| cut == Cut::BeforeCommit).is_some() {
                    return; // the COMMIT, dropped
                }
                if up_write.write_all(chunk).await.is_err() {
                    return;
                }
            }
        }
    };
    let to_client = async move {
        let mut buf = vec![0_u8; 64 * 1024];
        loop {
            let n = match up_read.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            let chunk = &buf[..n];
            let cut = rules.take(|cut| match cut {
                Cut::Answer { tag, .. } => contains(chunk, tag),
                _ => false,
            });
            if let Some(Cut::Answer { outage, .. }) = cut {
                if outage {
                    rules.outage.send_replace(true);
                }
                return; // the answer, dropped
            }
            if down_write.write_all(chunk).await.is_err() {
                return;
            }
        }
    };
    tokio::select! {
        () = to_server => {}
        () = to_client => {}
        _ = outage.wait_for(|&on| on) => {}
    }
}

/// The server's address, from a libpq key=value URL.
fn server_addr(url: &str) -> (SocketAddr, tokio_postgres::Config) {
    let config: tokio_postgres::Config = url.parse().expect("a URL");
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(host)) => host.clone(),
        other => panic!("a TCP host, not {other:?}"),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let addr = format!("{host}:{port}")
        .parse()
        .unwrap_or_else(|_| panic!("an IP address: {host}"));
    (addr, config)
}

/// `url` with its host and port replaced by `addr`.
fn through(config: &tokio_postgres::Config, addr: SocketAddr) -> String {
    let mut url = format!("host={} port={}", addr.ip(), addr.port());
    if let Some(user) = config.get_user() {
        let _ = write!(url, " user={user}");
    }
    if let Some(password) = config.get_password() {
        let _ = write!(url, " password={}", String::from_utf8_lossy(password));
    }
    if let Some(dbname) = config.get_dbname() {
        let _ = write!(url, " dbname={dbname}");
    }
    url
}

async fn balances(client: &mut Client, ids: &[i64]) -> Vec<i64> {
    let mut found = Vec::new();
    for id in ids {
        let (status, account) = client
            .get(&format!("/accounts/{id}"))
            .await
            .expect("GET /accounts");
        assert_eq!(status, 200, "{account}");
        found.push(account["balance"].as_i64().expect("a balance"));
    }
    found
}

async fn transfers_in_books(db: &tokio_postgres::Client) -> i64 {
    db.query_one("SELECT count(*) FROM bank.transfer", &[])
        .await
        .expect("count")
        .get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_over_postgres_keys_fences_and_lost_commits() {
    let _one = ONE_AT_A_TIME.acquire().await;
    let db = database("bank_api").await;
    let (server, config) = server_addr(&db.url);
    let proxy = Proxy::start(server).await;
    let url = through(&config, proxy.addr);
    // No settlement during the test: only transfers send COMMIT. A lock
    // timeout of a second: a replica that cannot reach the database gives
    // up asking about a lost commit after two.
    let replica = tokio::task::spawn_blocking(move || {
        Replica::start(&url, &["--settle-batch", "1000", "--lock-timeout", "1"])
    })
    .await
    .expect("replica");
    let books = connect(&db.url).await;
    let mut http = Client::new(replica.addr);
    let ids = open_accounts(replica.addr, 2).await;
    assert_eq!(ids, [1, 2], "ids start at 1, as in memory");

    answers_as_in_memory(&mut http).await;
    repeated_and_reused_keys(&mut http, &books).await;
    a_stale_token_is_refused(&mut http, &books, &db.url).await;
    lost_commits(&mut http, &books, &proxy, &replica).await;
    an_outage(&mut http, &books, &proxy).await;
    an_unknown_outcome(&mut http, &books, &proxy).await;

    assert_eq!(replica.shut_down().await.code(), Some(0));
    check_settled(&db.url).await;
}

/// The answers of the in-memory bank (two accounts of 1000 to start).
async fn answers_as_in_memory(http: &mut Client) {
    let ids = [1, 2];
    let transfer = json!({"from": 1, "to": 2, "amount": 10});
    let answer = post(http, "/transfer", None, &transfer).await;
    assert_eq!(
        (answer.status, json_of(&answer)),
        (
            200,
            json!({"from": {"id": 1, "balance": 990}, "to": {"id": 2, "balance": 1010}})
        )
    );
    assert_eq!(
        http.get("/accounts/1").await.expect("GET"),
        (200, json!({"id": 1, "balance": 990}))
    );
    assert_eq!(
        http.get("/audit").await.expect("GET"),
        (200, json!({"accounts": 2, "total": 2000, "transfers": 1}))
    );
    for (body, status, says) in [
        (
            json!({"from": 1, "to": 2, "amount": 5000}),
            409,
            "account 1 holds 990",
        ),
        (json!({"from": 1, "to": 1, "amount": 5}), 400, "to itself"),
        (
            json!({"from": 99, "to": 99, "amount": 5}),
            404,
            "account 99 does not exist",
        ),
        (
            json!({"from": 1, "to": 7, "amount": 5}),
            404,
            "account 7 does not exist",
        ),
        (json!({"from": 1, "to": 2, "amount": 0}), 400, "positive"),
        (json!({"from": 1, "to": 2, "amount": -3}), 400, "positive"),
    ] {
        let answer = post(http, "/transfer", None, &body).await;
        let error = json_of(&answer)["error"].as_str().unwrap_or("").to_owned();
        assert_eq!(answer.status, status, "{body}: {error}");
        assert!(error.contains(says), "{body}: {error}");
    }
    let answer = post(http, "/accounts", None, &json!({"balance": i64::MAX})).await;
    assert_eq!(answer.status, 400, "the total would pass i64::MAX");
    assert_eq!(
        http.get("/accounts/3").await.expect("GET").0,
        404,
        "and no account was opened"
    );
    assert_eq!(balances(http, &ids).await, [990, 1010]);
}

/// A repeated `Idempotency-Key` moves the money once; a reused one is 422.
async fn repeated_and_reused_keys(http: &mut Client, books: &tokio_postgres::Client) {
    let ids = [1, 2];
    // A repeated key moves the money once and answers the first receipt.
    let once = json!({"from": 2, "to": 1, "amount": 100});
    let first = post(http, "/transfer", Some("pay-42"), &once).await;
    assert_eq!(first.status, 200);
    let again = post(http, "/transfer", Some("pay-42"), &once).await;
    assert_eq!((again.status, json_of(&again)), (200, json_of(&first)));
    assert_eq!(balances(http, &ids).await, [1090, 910]);
    // The same key for another transfer: 422, nothing moved.
    let answer = post(
        http,
        "/transfer",
        Some("pay-42"),
        &json!({"from": 2, "to": 1, "amount": 101}),
    )
    .await;
    assert_eq!(answer.status, 422, "{}", json_of(&answer));
    assert!(
        json_of(&answer)["error"]
            .as_str()
            .unwrap_or("")
            .contains("pay-42")
    );
    let long = "k".repeat(256);
    let answer = post(http, "/transfer", Some(&long), &once).await;
    assert_eq!(answer.status, 400, "{}", json_of(&answer));
    assert_eq!(balances(http, &ids).await, [1090, 910]);
    assert_eq!(transfers_in_books(books).await, 2);
}

/// A write with a stale fence token is refused (503), and its retry is not.
async fn a_stale_token_is_refused(http: &mut Client, books: &tokio_postgres::Client, url: &str) {
    let ids = [1, 2];
    // A write refused by a fence: a newer holder of account 1's lock (this
    // test) has claimed the account. The replica's next grant of the lock
    // has a token no greater than the claim: refused, 503, nothing moved;
    // its retry gets a newer token and goes through.
    let session = warden::dist::Session::connect(
        url,
        warden::dist::Options::default().namespace(LOCK_NAMESPACE),
    )
    .await
    .expect("a dist session");
    let guard = session
        .lock(&account_lock(1))
        .acquire()
        .await
        .expect("account 1's lock");
    let claim = i64::try_from(guard.fence()).expect("a token") + 1;
    guard.release().await.expect("released");
    books
        .execute("UPDATE bank.account SET fence = $1 WHERE id = 1", &[&claim])
        .await
        .expect("claim account 1");
    let fenced = json!({"from": 1, "to": 2, "amount": 5});
    let answer = post(http, "/transfer", None, &fenced).await;
    assert_eq!(answer.status, 503, "{}", json_of(&answer));
    assert_eq!(answer.retry_after.as_deref(), Some("1"));
    let error = json_of(&answer)["error"].as_str().unwrap_or("").to_owned();
    assert!(error.contains("refused by a fence"), "{error}");
    assert!(error.contains("nothing was done"), "{error}");
    assert_eq!(balances(http, &ids).await, [1090, 910]);
    let answer = post(http, "/transfer", None, &fenced).await;
    assert_eq!(answer.status, 200, "{}", json_of(&answer));
    assert_eq!(balances(http, &ids).await, [1085, 915]);
    assert_eq!(transfers_in_books(books).await, 3);
}

/// A commit whose answer is lost is answered 200; a commit that never
/// reaches the server is answered 503.
async fn lost_commits(
    http: &mut Client,
    books: &tokio_postgres::Client,
    proxy: &Proxy,
    replica: &Replica,
) {
    let ids = [1, 2];
    // A commit whose answer is lost: the transfer happened, so the answer
    // is 200 with its receipt (the replica asks the database, under the
    // account's lock, before answering).
    proxy.arm(Cut::Answer {
        tag: COMMITTED,
        outage: false,
    });
    let answer = post(
        http,
        "/transfer",
        None,
        &json!({"from": 1, "to": 2, "amount": 85}),
    )
    .await;
    assert_eq!(proxy.cuts(), 1, "the answer was cut");
    assert_eq!(
        (answer.status, json_of(&answer)),
        (
            200,
            json!({"from": {"id": 1, "balance": 1000}, "to": {"id": 2, "balance": 1000}})
        )
    );
    assert!(replica.logged("a commit went unanswered"));
    assert_eq!(balances(http, &ids).await, [1000, 1000]);
    assert_eq!(transfers_in_books(books).await, 4);

    // A COMMIT that never reaches the server: 503, nothing moved; the
    // retry with the same key moves it once.
    proxy.arm(Cut::BeforeCommit);
    let lost = json!({"from": 2, "to": 1, "amount": 7});
    let answer = post(http, "/transfer", Some("pay-43"), &lost).await;
    assert_eq!(proxy.cuts(), 2, "the COMMIT was cut");
    assert_eq!(answer.status, 503, "{}", json_of(&answer));
    assert_eq!(answer.retry_after.as_deref(), Some("1"));
    let error = json_of(&answer)["error"].as_str().unwrap_or("").to_owned();
    assert!(error.contains("did not happen"), "{error}");
    assert_eq!(balances(http, &ids).await, [1000, 1000]);
    assert_eq!(transfers_in_books(books).await, 4);
    let answer = post(http, "/transfer", Some("pay-43"), &lost).await;
    assert_eq!(
        (answer.status, json_of(&answer)),
        (
            200,
            json!({"from": {"id": 2, "balance": 993}, "to": {"id": 1, "balance": 1007}})
        )
    );
    assert_eq!(transfers_in_books(books).await, 5);
    assert_eq!(
        http.get("/audit").await.expect("GET"),
        (200, json!({"accounts": 2, "total": 2000, "transfers": 5}))
    );
}

/// While the database cannot be reached: 503 with `Retry-After: 1`, for
/// reads too, and nothing moves; once it is back, the replica serves again
/// (its connections are opened anew), and the retried transfer moves once.
async fn an_outage(http: &mut Client, books: &tokio_postgres::Client, proxy: &Proxy) {
    let ids = [1, 2];
    let before = transfers_in_books(books).await;
    proxy.outage(true);
    let transfer = json!({"from": 1, "to": 2, "amount": 3});
    let answer = post(http, "/transfer", Some("pay-44"), &transfer).await;
    assert_eq!(answer.status, 503, "{}", json_of(&answer));
    assert_eq!(answer.retry_after.as_deref(), Some("1"));
    let error = json_of(&answer)["error"].as_str().unwrap_or("").to_owned();
    assert!(error.contains("the database is unavailable"), "{error}");
    assert!(error.contains("nothing was done"), "{error}");
    let answer = http
        .send(&Method::GET, "/audit", None)
        .await
        .expect("GET /audit");
    assert_eq!(answer.status, 503);
    assert_eq!(transfers_in_books(books).await, before, "nothing moved");
    proxy.outage(false);
    // The replica may still be noticing that its old connections are gone.
    let answer = until_not_503(http, Some("pay-44"), &transfer).await;
    assert_eq!(answer.status, 200, "{}", json_of(&answer));
    assert_eq!(transfers_in_books(books).await, before + 1);
    assert_eq!(balances(http, &ids).await, [1004, 996]);
}

/// Retries `body` (with `key`) while the answer is 503, as a client does
/// (a test need not wait the second `Retry-After` says).
async fn until_not_503(http: &mut Client, key: Option<&str>, body: &Value) -> Answer {
    for _ in 0..100 {
        let answer = post(http, "/transfer", key, body).await;
        if answer.status != 503 {
            return answer;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{body}: 503 a hundred times");
}

/// A commit whose answer is lost in an outage that outlasts the replica's
/// asking: the outcome is unknown. With a key: 503, and the retry answers
/// the transfer's receipt without moving it again. Without: 500, "check
/// the balances". Either way the transfer committed once.
async fn an_unknown_outcome(http: &mut Client, books: &tokio_postgres::Client, proxy: &Proxy) {
    let ids = [1, 2];
    let before = transfers_in_books(books).await;
    let cuts = proxy.cuts();

    proxy.arm(Cut::Answer {
        tag: COMMITTED,
        outage: true,
    });
    let keyed = json!({"from": 1, "to": 2, "amount": 4});
    let answer = post(http, "/transfer", Some("pay-45"), &keyed).await;
    assert_eq!(proxy.cuts(), cuts + 1, "the answer was cut");
    assert_eq!(answer.status, 503, "{}", json_of(&answer));
    assert_eq!(answer.retry_after.as_deref(), Some("1"));
    let error = json_of(&answer)["error"].as_str().unwrap_or("").to_owned();
    assert!(
        error.contains("outcome of this request is unknown"),
        "{error}"
    );
    assert!(
        error.contains("retry with the same Idempotency-Key"),
        "{error}"
    );
    proxy.outage(false);
    assert_eq!(transfers_in_books(books).await, before + 1, "it committed");
    let answer = until_not_503(http, Some("pay-45"), &keyed).await;
    assert_eq!(
        (answer.status, json_of(&answer)),
        (
            200,
            json!({"from": {"id": 1, "balance": 1000}, "to": {"id": 2, "balance": 1000}})
        ),
        "the receipt of the transfer that committed"
    );
    assert_eq!(transfers_in_books(books).await, before + 1, "moved once");

    proxy.arm(Cut::Answer {
        tag: COMMITTED,
        outage: true,
    });
    let unkeyed = json!({"from": 1, "to": 2, "amount": 1});
    let answer = post(http, "/transfer", None, &unkeyed).await;
    assert_eq!(proxy.cuts(), cuts + 2, "the answer was cut");
    assert_eq!(answer.status, 500, "{}", json_of(&answer));
    let error = json_of(&answer)["error"].as_str().unwrap_or("").to_owned();
    assert!(
        error.contains("outcome of this request is unknown"),
        "{error}"
    );
    assert!(
        error.contains("check the balances before retrying"),
        "{error}"
    );
    proxy.outage(false);
    assert_eq!(transfers_in_books(books).await, before + 2, "it committed");
    // The replica's own connections come back with the database.
    let mut tries = 0;
    let found = loop {
        let (status, account) = http.get("/accounts/1").await.expect("GET");
        tries += 1;
        if status != 503 || tries == 100 {
            break (status, account);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(found, (200, json!({"id": 1, "balance": 999})));
    assert_eq!(balances(http, &ids).await, [999, 1001]);

    // Opening an account takes no key: a lost answer is 500, "it may
    // have been opened" — and it was.
    proxy.arm(Cut::Answer {
        tag: INSERTED,
        outage: false,
    });
    let answer = post(http, "/accounts", None, &json!({"balance": 500})).await;
    assert_eq!(proxy.cuts(), cuts + 3, "the answer was cut");
    assert_eq!(answer.status, 500, "{}", json_of(&answer));
    let error = json_of(&answer)["error"].as_str().unwrap_or("").to_owned();
    assert!(
        error.contains("the account may have been opened"),
        "{error}"
    );
    let mut tries = 0;
    let audit = loop {
        let (status, audit) = http.get("/audit").await.expect("GET");
        tries += 1;
        if status != 503 || tries == 100 {
            break (status, audit);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(
        audit,
        (
            200,
            json!({"accounts": 3, "total": 2500, "transfers": before + 2})
        )
    );
}

#[test]
fn the_replicated_mode_on_the_command_line() {
    let run = |args: &[&str]| {
        Command::new(BIN)
            .args(args)
            .env_remove("PORT")
            .env_remove("BANK_POSTGRES_URL")
            .stdin(Stdio::null())
            .output()
            .expect("runs")
    };
    // Its knobs need the mode.
    let out = run(&["--lease", "5"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--postgres <URL>"));
    // A database that cannot be reached: exit 1, saying so.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port(); // nobody listens once the listener is dropped
    let out = run(&[
        "--port",
        "0",
        "--postgres",
        &format!("host=127.0.0.1 port={port} user=nobody"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot use the database"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The URL may hold a password: --help never shows the variable's value.
    let out = Command::new(BIN)
        .arg("--help")
        .env("BANK_POSTGRES_URL", "postgres://bank:s3cret@db/bank")
        .output()
        .expect("runs");
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("--postgres <URL>") && help.contains("[env: BANK_POSTGRES_URL]"));
    assert!(!help.contains("s3cret"), "{help}");
}
