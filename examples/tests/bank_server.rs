//! The bank server (`examples/bank_server.rs`), tested for real: the
//! server runs on 127.0.0.1:0 inside the test (or as its own process, for
//! shutdown) and a real HTTP client drives it. Every endpoint, every error
//! status, the 503 of a full transfer queue, the settlement `Condition`, a
//! load test, and graceful shutdown.
//!
//! The server file is compiled into this test as a module, so the tests
//! call its `serve` directly; the shutdown tests spawn the built example
//! binary (`target/<profile>/examples/bank_server`, which `cargo test`
//! builds before running tests) and fall back to re-running this test
//! binary as the server when that binary is missing or older than the
//! sources (as after `cargo test --test bank_server`, which does not build
//! examples).

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant, SystemTime};

use axum::body::Body;
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{Method, Request};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tower::ServiceExt;

#[allow(dead_code)] // the test uses the server, not all of the program around it
#[path = "../bank_server.rs"]
mod bank_server;
#[allow(dead_code)]
#[path = "../bank_server/load.rs"]
mod load;

use bank_server::bank::{Bank, Store};
use bank_server::tokio_bank::TokioBank;
use bank_server::{App, Config, Options, Summary, serve};
use load::Client;

/// Long enough for anything that should happen, so a slow machine never
/// fails a test; only a hang runs into it.
const PATIENCE: Duration = Duration::from_mins(1);

// ---------------------------------------------------------------------------
// An in-process server and a client.

struct Server<S: Store> {
    app: Arc<App<S>>,
    addr: SocketAddr,
    task: JoinHandle<io::Result<Summary>>,
}

/// What came back: status, `Retry-After`, and the JSON body.
#[derive(Debug)]
struct Answer {
    status: u16,
    retry_after: Option<String>,
    json: Value,
}

async fn start<S: Store>(bank: S, config: Config) -> Server<S> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("bound address");
    let app = App::new(bank, config);
    let task = tokio::spawn(serve(app.clone(), listener));
    Server { app, addr, task }
}

impl<S: Store> Server<S> {
    /// Sends `method path` with `body` (raw, so malformed bodies can be
    /// sent), on a new connection.
    async fn send(&self, method: &str, path: &str, body: Option<&str>) -> Answer {
        let method = Method::from_bytes(method.as_bytes()).expect("a method");
        let answer = Client::new(self.addr)
            .send(&method, path, body.map(str::to_owned))
            .await
            .expect("the server answers");
        let json = answer.json().expect("a JSON body");
        Answer {
            status: answer.status,
            retry_after: answer.retry_after,
            json,
        }
    }

    async fn get(&self, path: &str) -> Answer {
        self.send("GET", path, None).await
    }

    async fn post(&self, path: &str, body: &Value) -> Answer {
        self.send("POST", path, Some(&body.to_string())).await
    }

    /// Sets the shutdown event and waits for `serve` to return.
    async fn stop(self) -> Summary {
        self.app.shutdown.set();
        finish(self.task).await
    }
}

async fn finish(task: JoinHandle<io::Result<Summary>>) -> Summary {
    tokio::time::timeout(PATIENCE, task)
        .await
        .expect("the server stops")
        .expect("the server task did not panic")
        .expect("serve returned Ok")
}

/// Polls `done` until it holds (or panics after [`PATIENCE`]).
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < PATIENCE, "gave up waiting until {what}");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

fn assert_error(answer: &Answer, status: u16, what: &str) {
    assert_eq!(answer.status, status, "{what}: {answer:?}");
    let object = answer.json.as_object().expect("an object");
    assert_eq!(object.len(), 1, "{what}: only `error` in {answer:?}");
    let message = object["error"].as_str().expect("`error` is a string");
    assert!(message.len() > 10, "{what}: a real sentence: {message}");
}

// ---------------------------------------------------------------------------
// Every endpoint.

async fn endpoints_answer_as_documented<S: Store>(bank: S) {
    let server = start(bank, Config::default()).await;
    let a = server.post("/accounts", &json!({"balance": 1000})).await;
    assert_eq!((a.status, a.json), (201, json!({"id": 1, "balance": 1000})));
    let b = server.post("/accounts", &json!({"balance": 1000})).await;
    assert_eq!((b.status, b.json), (201, json!({"id": 2, "balance": 1000})));

    let t = server
        .post("/transfer", &json!({"from": 1, "to": 2, "amount": 10}))
        .await;
    assert_eq!(t.status, 200);
    assert_eq!(
        t.json,
        json!({"from": {"id": 1, "balance": 990}, "to": {"id": 2, "balance": 1010}})
    );

    let one = server.get("/accounts/1").await;
    assert_eq!(
        (one.status, one.json),
        (200, json!({"id": 1, "balance": 990}))
    );
    let audit = server.get("/audit").await;
    assert_eq!(
        (audit.status, audit.json),
        (200, json!({"accounts": 2, "total": 2000, "transfers": 1}))
    );

    let bye = server.send("POST", "/shutdown", None).await;
    assert_eq!(bye.status, 202);
    let summary = finish(server.task).await;
    assert!(summary.graceful);
    assert_eq!(summary.audit.transfers, 1);
    assert_eq!(summary.settlement.settled, 1, "settled at shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoints_answer_as_documented_warden() {
    endpoints_answer_as_documented(Bank::empty(100)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoints_answer_as_documented_tokio_mutex() {
    endpoints_answer_as_documented(TokioBank::empty(100)).await;
}

// ---------------------------------------------------------------------------
// Every error: the status, `{"error": ...}`, and nothing changed.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines)] // one table of cases
async fn every_error_has_its_status_and_changes_nothing() {
    let server = start(Bank::empty(100), Config::default()).await;
    let big = i64::MAX - 100;
    for balance in [100, 0, big] {
        assert_eq!(
            server
                .post("/accounts", &json!({ "balance": balance }))
                .await
                .status,
            201
        );
    }
    // Accounts: 1 holds 100, 2 holds 0, 3 holds i64::MAX - 100; the bank's
    // total is i64::MAX.
    let snapshot = async || {
        let mut all = vec![server.get("/audit").await.json];
        for id in 1..=3 {
            all.push(server.get(&format!("/accounts/{id}")).await.json);
        }
        all
    };
    let before = snapshot().await;
    assert_eq!(
        before[0],
        json!({"accounts": 3, "total": i64::MAX, "transfers": 0})
    );

    let oversized = format!(r#"{{"balance": 1, "memo": "{}"}}"#, "x".repeat(2000));
    let cases: &[(&str, &str, Option<&str>, u16, &str)] = &[
        // Malformed bodies: 400.
        ("POST", "/accounts", Some("{"), 400, "truncated JSON"),
        ("POST", "/accounts", Some(""), 400, "empty body"),
        ("POST", "/accounts", None, 400, "no body"),
        ("POST", "/accounts", Some("[1000]"), 400, "not an object"),
        (
            "POST",
            "/accounts",
            Some(r#"{"balance": "ten"}"#),
            400,
            "a string",
        ),
        (
            "POST",
            "/accounts",
            Some(r#"{"balance": 1.5}"#),
            400,
            "a fraction",
        ),
        (
            "POST",
            "/accounts",
            Some(r#"{"balanse": 10}"#),
            400,
            "a misspelt field",
        ),
        (
            "POST",
            "/accounts",
            Some(r#"{"balance": 1, "x": 2}"#),
            400,
            "an unknown field",
        ),
        (
            "POST",
            "/transfer",
            Some(r#"{"from": 1, "to": 2}"#),
            400,
            "no amount",
        ),
        (
            "POST",
            "/transfer",
            Some(r#"{"from": -1, "to": 2, "amount": 1}"#),
            400,
            "negative id",
        ),
        ("GET", "/accounts/abc", None, 400, "a word for an id"),
        ("GET", "/accounts/-1", None, 400, "a negative id"),
        // Oversized: 413.
        ("POST", "/accounts", Some(&oversized), 413, "a 2 KB body"),
        // Unknown accounts and routes: 404.
        ("GET", "/accounts/4", None, 404, "no account 4"),
        ("GET", "/accounts/0", None, 404, "no account 0"),
        (
            "GET",
            "/accounts/18446744073709551615",
            None,
            404,
            "no account u64::MAX",
        ),
        (
            "POST",
            "/transfer",
            Some(r#"{"from": 9, "to": 1, "amount": 1}"#),
            404,
            "from nowhere",
        ),
        (
            "POST",
            "/transfer",
            Some(r#"{"from": 1, "to": 9, "amount": 1}"#),
            404,
            "to nowhere",
        ),
        ("GET", "/balance", None, 404, "no such route"),
        // Wrong method: 405.
        ("DELETE", "/audit", None, 405, "DELETE /audit"),
        ("GET", "/transfer", None, 405, "GET /transfer"),
        // Rules of the bank: 400.
        (
            "POST",
            "/transfer",
            Some(r#"{"from": 1, "to": 2, "amount": 0}"#),
            400,
            "zero",
        ),
        (
            "POST",
            "/transfer",
            Some(r#"{"from": 1, "to": 2, "amount": -5}"#),
            400,
            "negative",
        ),
        (
            "POST",
            "/transfer",
            Some(r#"{"from": 1, "to": 1, "amount": 5}"#),
            400,
            "to self",
        ),
        (
            "POST",
            "/accounts",
            Some(r#"{"balance": -1}"#),
            400,
            "negative opening",
        ),
        // Insufficient funds: 409.
        (
            "POST",
            "/transfer",
            Some(r#"{"from": 1, "to": 2, "amount": 101}"#),
            409,
            "overdraft",
        ),
        (
            "POST",
            "/transfer",
            Some(r#"{"from": 2, "to": 1, "amount": 1}"#),
            409,
            "from empty",
        ),
        // Overflow: 400.
        (
            "POST",
            "/transfer",
            Some(r#"{"from": 1, "to": 3, "amount": 101}"#),
            400,
            "credit overflow",
        ),
        (
            "POST",
            "/accounts",
            Some(r#"{"balance": 1}"#),
            400,
            "total overflow",
        ),
        (
            "POST",
            "/transfer",
            Some(r#"{"from": 1, "to": 2, "amount": 9223372036854775808}"#),
            400,
            "amount past i64",
        ),
        (
            "POST",
            "/transfer",
            Some(r#"{"from": 1, "to": 2, "amount": 1e40}"#),
            400,
            "amount past i128",
        ),
        (
            "POST",
            "/accounts",
            Some(r#"{"balance": 99999999999999999999999999}"#),
            400,
            "opening past i64",
        ),
    ];
    for &(method, path, body, status, what) in cases {
        let answer = server.send(method, path, body).await;
        assert_error(&answer, status, what);
    }
    assert_eq!(
        snapshot().await,
        before,
        "a refused request changed nothing"
    );

    // Still serving, and the rules still allow what they should.
    let ok = server
        .post("/transfer", &json!({"from": 1, "to": 2, "amount": 100}))
        .await;
    assert_eq!(ok.status, 200, "{ok:?}");
    let summary = server.stop().await;
    assert_eq!(summary.audit.total, i64::MAX);
    assert_eq!(summary.audit.transfers, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_queue_past_the_semaphore_is_bounded_503_with_retry_after() {
    let config = Config {
        max_transfers: 1,
        transfer_queue: 1,
        ..Config::default()
    };
    let server = Arc::new(start(Bank::empty(100), config).await);
    for _ in 0..2 {
        server.post("/accounts", &json!({"balance": 100})).await;
    }
    let transfer = json!({"from": 1, "to": 2, "amount": 1});
    // Hold the books: a transfer that gets the one permit then waits for
    // the lock, holding the permit.
    let books = server.app.bank.books.acquire().await;
    let first = tokio::spawn({
        let (server, transfer) = (server.clone(), transfer.clone());
        async move { server.post("/transfer", &transfer).await }
    });
    until("the first transfer holds the permit", || {
        server.app.transfer_slots.available_permits() == 0
    })
    .await;
    let second = tokio::spawn({
        let (server, transfer) = (server.clone(), transfer.clone());
        async move { server.post("/transfer", &transfer).await }
    });
    until("the second transfer waits in the queue", || {
        server.app.queued() == 1
    })
    .await;

    let third = server.post("/transfer", &transfer).await;
    assert_error(&third, 503, "queue full");
    assert_eq!(third.retry_after.as_deref(), Some("1"));

    drop(books);
    assert_eq!(first.await.expect("first").status, 200);
    assert_eq!(second.await.expect("second").status, 200);
    assert_eq!(server.app.queued(), 0);
    assert_eq!(server.app.transfer_slots.available_permits(), 1);
    let audit = server.get("/audit").await.json;
    assert_eq!(audit, json!({"accounts": 2, "total": 200, "transfers": 2}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_is_accepted_only_from_loopback() {
    for (peer, status, set) in [
        (SocketAddr::from(([192, 0, 2, 7], 40000)), 403, false),
        (SocketAddr::from(([127, 0, 0, 1], 40000)), 202, true),
    ] {
        // No network here: the router is called in memory, with the peer
        // address it would have got from the connection.
        let app = App::new(Bank::empty(100), Config::default());
        let router = bank_server::http::router(app.clone()).layer(MockConnectInfo(peer));
        let request = Request::post("/shutdown")
            .body(Body::empty())
            .expect("a request");
        let response = router.oneshot(request).await.expect("infallible");
        assert_eq!(response.status().as_u16(), status, "from {peer}");
        assert_eq!(app.shutdown.is_set(), set, "from {peer}");
        let body = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .expect("body");
        let json: Value = serde_json::from_slice(&body).expect("JSON");
        if status == 403 {
            assert!(json["error"].as_str().expect("error").contains("loopback"));
        }
    }
}

// ---------------------------------------------------------------------------
// The settlement task, woken by the Condition.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settlement_runs_each_time_a_batch_is_pending() {
    let server = start(Bank::empty(5), Config::default()).await;
    for _ in 0..2 {
        server.post("/accounts", &json!({"balance": 1000})).await;
    }
    let transfer = json!({"from": 1, "to": 2, "amount": 1});
    for batch in 1..=2_u64 {
        for _ in 0..5 {
            assert_eq!(server.post("/transfer", &transfer).await.status, 200);
        }
        // Five pending: the transfer that made them five notified the
        // Condition, and the settlement task takes the batch.
        let start = Instant::now();
        loop {
            let books = server.app.bank.books.acquire().await;
            if books.settled() == 5 * batch {
                assert_eq!(books.pending(), 0);
                break;
            }
            drop(books);
            assert!(start.elapsed() < PATIENCE, "batch {batch} never settled");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    for _ in 0..2 {
        assert_eq!(server.post("/transfer", &transfer).await.status, 200);
    }
    // Two pending, less than a batch: shutdown settles them.
    let summary = server.stop().await;
    assert_eq!(summary.audit.transfers, 12);
    assert_eq!(summary.settlement.settled, 12);
    assert_eq!(summary.settlement.batches, 3);
}

// ---------------------------------------------------------------------------
// Load.

fn env_count(name: &str, default: usize, minimum: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
        .max(minimum)
}

/// 64 clients, 20 000 random transfers (more with `BANK_LOAD_TRANSFERS`,
/// never fewer), an audit every 20 transfers per client. Prints the
/// throughput and latency; asserts only on what the bank must guarantee.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_conserves_money_and_loses_nothing() {
    let config = Config {
        max_transfers: 16, // fewer permits than clients: the semaphore queues
        transfer_queue: 1024,
        ..Config::default()
    };
    let server = start(Bank::empty(100), config).await;
    let load = load::Load {
        clients: env_count("BANK_LOAD_CLIENTS", 64, 50),
        transfers: env_count("BANK_LOAD_TRANSFERS", 20_000, 20_000),
        ..load::Load::default()
    };
    let report = load::run(server.addr, &load).await.expect("the load ran");
    println!(
        "load ({} build): {report}",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );

    assert!(
        report.problems.is_empty(),
        "{} problems, the first: {:?}",
        report.problems.len(),
        report.problems.first()
    );
    assert_eq!(report.sent, load.transfers);
    assert_eq!(
        report.succeeded + report.refused,
        report.sent,
        "every transfer answered 200 or 409"
    );
    assert!(
        report.succeeded > 0 && report.refused > 0,
        "both outcomes exercised: {report}"
    );
    assert!(report.audits >= (load.transfers / load.audit_every).saturating_sub(load.clients));
    let (before, after) = report.server_transfers;
    assert_eq!(
        after - before,
        report.succeeded as u64,
        "the server counted every success"
    );

    // Still answering, with the money where it was.
    let audit = server.get("/audit").await;
    assert_eq!(audit.status, 200);
    assert_eq!(audit.json["total"], json!(report.expected_total));
    let mut sum = 0;
    for id in 1..=load.accounts {
        sum += server.get(&format!("/accounts/{id}")).await.json["balance"]
            .as_i64()
            .expect("a balance");
    }
    assert_eq!(sum, report.expected_total);
    let summary = server.stop().await;
    assert!(summary.graceful);
    assert_eq!(
        summary.settlement.settled, report.succeeded as u64,
        "every transfer settled"
    );
}

// ---------------------------------------------------------------------------
// Graceful shutdown, in process.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_requests_in_flight_and_refuses_new_connections() {
    let server = start(Bank::empty(100), Config::default()).await;
    for _ in 0..2 {
        server.post("/accounts", &json!({"balance": 100})).await;
    }
    // A transfer in flight: inside its handler, waiting for the books.
    let books = server.app.bank.books.acquire().await;
    let in_flight = tokio::spawn({
        let mut client = Client::new(server.addr);
        async move {
            client
                .post("/transfer", &json!({"from": 1, "to": 2, "amount": 30}))
                .await
                .expect("an answer, not a dropped connection")
        }
    });
    until("the transfer is in its handler", || {
        server.app.transfer_slots.available_permits() < Config::default().max_transfers
    })
    .await;

    let bye = server.send("POST", "/shutdown", None).await;
    assert_eq!(bye.status, 202);
    assert_eq!(bye.json, json!({"status": "shutting down"}));
    let addr = server.addr;
    let start = Instant::now();
    loop {
        match tokio::net::TcpStream::connect(addr).await {
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => break,
            _ => assert!(start.elapsed() < PATIENCE, "new connections still accepted"),
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    assert!(
        !in_flight.is_finished(),
        "the transfer is still waiting for the books"
    );
    assert!(
        !server.task.is_finished(),
        "serve waits for the request in flight"
    );

    drop(books);
    let (status, receipt) = in_flight.await.expect("the client task");
    assert_eq!(status, 200);
    assert_eq!(
        receipt,
        json!({"from": {"id": 1, "balance": 70}, "to": {"id": 2, "balance": 130}})
    );
    let summary = finish(server.task).await;
    assert!(summary.graceful);
    assert_eq!(summary.audit.transfers, 1);
    assert_eq!(summary.settlement.settled, 1);
    let refused = tokio::net::TcpStream::connect(addr).await;
    assert!(refused.is_err(), "the listener stays closed");
}

// ---------------------------------------------------------------------------
// Graceful shutdown of the real program: exit status 0.

/// The example binary with `args` if `cargo test` built it from the current
/// sources, else this test binary re-run as the server (see
/// `child_server_entry`), with `args` passed in `BANK_SERVER_ARGS`.
fn server_command(args: &[&str]) -> Command {
    let me = std::env::current_exe().expect("the test binary's path");
    let example = me
        .parent() // deps/
        .and_then(Path::parent) // target/<profile>/
        .map(|dir| {
            dir.join("examples")
                .join(format!("bank_server{}", std::env::consts::EXE_SUFFIX))
        });
    let modified = |p: &Path| p.metadata().and_then(|m| m.modified()).ok();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let newest_source = [
        "bank_server.rs",
        "bank_server/bank.rs",
        "bank_server/http.rs",
    ]
    .iter()
    .filter_map(|f| modified(&root.join(f)))
    .max()
    .unwrap_or(SystemTime::UNIX_EPOCH);
    match example {
        Some(example) if modified(&example).is_some_and(|built| built >= newest_source) => {
            let mut command = Command::new(example);
            command.args(args);
            command
        }
        _ => {
            eprintln!(
                "examples/bank_server not built (or stale): running the server in this test binary"
            );
            let mut command = Command::new(me);
            command
                .args([
                    "child_server_entry",
                    "--exact",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env("BANK_SERVER_CHILD", "1")
                .env("BANK_SERVER_ARGS", args.join(" "));
            command
        }
    }
}

/// Not a test: the server's `main`, when `server_command` falls back to
/// this binary. Does nothing in a normal test run.
#[test]
fn child_server_entry() {
    if std::env::var_os("BANK_SERVER_CHILD").is_some() {
        let args = std::env::var("BANK_SERVER_ARGS").unwrap_or_default();
        let code = bank_server::cli(
            args.split_whitespace().map(str::to_owned),
            std::env::var("PORT").ok(),
        );
        std::process::exit(code.into());
    }
}

/// The server as a child process, its stderr collected.
struct Process {
    child: Child,
    addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Process {
    fn spawn(args: &[&str], port_env: Option<&str>) -> Process {
        let mut command = server_command(args);
        command
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        match port_env {
            Some(port) => command.env("PORT", port),
            None => command.env_remove("PORT"),
        };
        let mut child = command.spawn().expect("the server starts");
        let stderr = child.stderr.take().expect("piped stderr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        let reader = std::thread::spawn({
            let log = log.clone();
            move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    if let Some(at) = line.find("listening on http://") {
                        let addr = line[at + "listening on http://".len()..]
                            .split_whitespace()
                            .next()
                            .and_then(|a| a.parse::<SocketAddr>().ok());
                        let _ = tx.send(addr);
                    }
                    log.lock().expect("log").push(line);
                }
            }
        });
        let addr = rx
            .recv_timeout(PATIENCE)
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("no address logged: {:?}", log.lock().expect("log")));
        assert!(addr.ip().is_loopback(), "listens on loopback only: {addr}");
        Process {
            child,
            addr,
            log,
            reader: Some(reader),
        }
    }

    fn wait(&mut self) -> ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                // The child is gone, so its stderr ends: read all of it.
                if let Some(reader) = self.reader.take() {
                    reader.join().expect("the log reader");
                }
                return status;
            }
            if start.elapsed() > PATIENCE {
                let _ = self.child.kill();
                panic!(
                    "the server did not exit: {:?}",
                    self.log.lock().expect("log")
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn logged(&self, text: &str) -> bool {
        self.log
            .lock()
            .expect("log")
            .iter()
            .any(|l| l.contains(text))
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill(); // only if a test failed half-way
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 exchange on a fresh connection (`Connection: close`).
fn http(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, Value) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("send");
    read_response(&mut stream)
}

fn read_response(stream: &mut TcpStream) -> (u16, Value) {
    stream.set_read_timeout(Some(PATIENCE)).expect("timeout");
    let mut text = String::new();
    stream.read_to_string(&mut text).expect("a response");
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not HTTP: {text:?}"));
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

fn refused(addr: SocketAddr) -> bool {
    matches!(TcpStream::connect(addr), Err(e) if e.kind() == io::ErrorKind::ConnectionRefused)
}

#[test]
fn process_exits_0_after_post_shutdown_having_finished_requests_in_flight() {
    // A long grace period: on a slow machine the test must not outrun it.
    let args = [
        "--port",
        "0",
        "--settle-batch",
        "2",
        "--shutdown-grace",
        "120",
    ];
    let mut server = Process::spawn(&args, None);
    let addr = server.addr;
    for _ in 0..2 {
        assert_eq!(
            http(addr, "POST", "/accounts", r#"{"balance": 500}"#).0,
            201
        );
    }
    assert_eq!(
        http(
            addr,
            "POST",
            "/transfer",
            r#"{"from": 1, "to": 2, "amount": 1}"#
        )
        .0,
        200
    );

    // A transfer in flight: its headers are in, and the server has asked for
    // its body (`100 Continue` is sent when the handler starts reading it).
    let body = r#"{"from": 2, "to": 1, "amount": 300}"#;
    let mut slow = TcpStream::connect(addr).expect("connect");
    write!(
        slow,
        "POST /transfer HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nExpect: 100-continue\r\n\r\n",
        body.len()
    )
    .expect("send headers");
    slow.set_read_timeout(Some(PATIENCE)).expect("timeout");
    let mut interim = [0_u8; 25];
    slow.read_exact(&mut interim).expect("100 Continue");
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");

    let (status, answer) = http(addr, "POST", "/shutdown", "");
    assert_eq!((status, answer), (202, json!({"status": "shutting down"})));
    let start = Instant::now();
    while !refused(addr) {
        assert!(start.elapsed() < PATIENCE, "new connections still accepted");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(
        server.child.try_wait().expect("try_wait").is_none(),
        "still finishing"
    );

    slow.write_all(body.as_bytes()).expect("send the body");
    let (status, receipt) = read_response(&mut slow);
    assert_eq!(status, 200);
    assert_eq!(
        receipt,
        json!({"from": {"id": 2, "balance": 201}, "to": {"id": 1, "balance": 799}})
    );
    let exit = server.wait();
    assert!(exit.success(), "exit status {exit:?}");
    assert_eq!(exit.code(), Some(0));
    assert!(
        server.logged("stopped"),
        "{:?}",
        server.log.lock().expect("log")
    );
    assert!(
        server.logged("transfers=2"),
        "the final audit saw both transfers"
    );
    assert!(refused(addr));
}

#[cfg(unix)]
#[test]
fn process_exits_0_on_ctrl_c() {
    let mut server = Process::spawn(&[], Some("0")); // PORT=0, no --port
    let addr = server.addr;
    assert_eq!(http(addr, "POST", "/accounts", r#"{"balance": 5}"#).0, 201);
    let sent = Command::new("kill")
        .args(["-INT", &server.child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success());
    let exit = server.wait();
    assert_eq!(exit.code(), Some(0), "exit status {exit:?}");
    assert!(server.logged("Ctrl-C"));
    assert!(refused(addr));
}

// ---------------------------------------------------------------------------
// The command line.

fn parse(args: &[&str], port: Option<&str>) -> Result<Options, String> {
    Options::parse(args.iter().map(|&a| a.to_owned()), port.map(str::to_owned))
        .map_err(|e| e.to_string())
}

#[test]
fn options_come_from_flags_then_port_then_defaults() {
    let defaults = parse(&[], None).expect("no arguments");
    assert_eq!(defaults.port, bank_server::DEFAULT_PORT);
    assert_eq!(defaults.port, 3000);
    assert_eq!(parse(&[], Some("8080")).expect("PORT").port, 8080);
    assert_eq!(
        parse(&["--port", "0"], Some("8080"))
            .expect("flag wins")
            .port,
        0
    );
    let all = parse(
        &[
            "--port=4000",
            "--max-transfers",
            "8",
            "--transfer-queue=9",
            "--settle-batch",
            "10",
            "--body-limit",
            "11",
            "--shutdown-grace",
            "12",
        ],
        None,
    )
    .expect("every flag");
    assert_eq!(all.port, 4000);
    assert_eq!(
        (
            all.config.max_transfers,
            all.config.transfer_queue,
            all.config.settle_batch
        ),
        (8, 9, 10)
    );
    assert_eq!(all.config.body_limit, 11);
    assert_eq!(all.config.shutdown_grace, Duration::from_secs(12));
    assert!(parse(&["--help"], None).expect("help").help);

    for (args, port, says) in [
        (&["--port"][..], None, "needs a value"),
        (&["--port", "http"][..], None, "whole number"),
        (&["--port", "70000"][..], None, "whole number"),
        (&[][..], Some("x"), "PORT"),
        (&["--verbose"][..], None, "unknown argument `--verbose`"),
    ] {
        let error = parse(args, port).expect_err("refused");
        assert!(error.contains(says), "{args:?}: {error}");
    }
}
