//! The bank server, tested for real in this process: `serve` runs on
//! 127.0.0.1:0 and a real HTTP client drives it (hyper's, and raw TCP for
//! what no polite client sends). Every endpoint, every error status and its
//! JSON body, money at the limits of `i64`, the 503 of a full transfer
//! queue, the settlement `Condition`, the timeouts and the connection cap,
//! a load test, and graceful shutdown. The program itself (signals, exit
//! status, command line, logs) is tested in `tests/process.rs`.

use std::io;
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{Method, Request};
use bank_server::bank::{Bank, Store};
use bank_server::load::{self, Client};
use bank_server::tokio_bank::TokioBank;
use bank_server::{App, Config, Summary, serve};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tower::ServiceExt;

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
    let listener = TcpListener::bind("127.0.0.1:0")
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

    let bye = server.send("POST", "/shutdown", Some("")).await;
    assert_eq!(bye.status, 202);
    let summary = finish(server.task).await;
    assert!(summary.graceful);
    assert_eq!(summary.audit.transfers, 1);
    assert_eq!(summary.settlement.settled, 1, "settled at shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoints_answer_as_documented_warden() {
    endpoints_answer_as_documented(Bank::empty(nz(100))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoints_answer_as_documented_tokio_mutex() {
    endpoints_answer_as_documented(TokioBank::empty(nz(100))).await;
}

// ---------------------------------------------------------------------------
// Every error: the status, `{"error": ...}`, and nothing changed.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines)] // one table of cases
async fn every_error_has_its_status_and_changes_nothing() {
    let server = start(Bank::empty(nz(100)), Config::default()).await;
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
        ("POST", "/accounts", None, 415, "no body, no Content-Type"),
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
        (
            "POST",
            "/transfer",
            Some(r#"{"from": 99, "to": 99, "amount": 1}"#),
            404,
            "from nowhere to itself",
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
            "a huge float",
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
        max_transfers: nz(1),
        transfer_queue: 1,
        ..Config::default()
    };
    let server = Arc::new(start(Bank::empty(nz(100)), config).await);
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
        let app = App::new(Bank::empty(nz(100)), Config::default());
        let router = bank_server::http::router(app.clone()).layer(MockConnectInfo(peer));
        let request = Request::post("/shutdown")
            .header("host", "127.0.0.1:3000")
            .header("content-type", "application/json")
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
    let server = start(Bank::empty(nz(5)), Config::default()).await;
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
        max_transfers: nz(16), // fewer permits than clients: the semaphore queues
        transfer_queue: 1024,
        ..Config::default()
    };
    let server = start(Bank::empty(nz(100)), config).await;
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
    let server = start(Bank::empty(nz(100)), Config::default()).await;
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
        server.app.transfer_slots.available_permits() < Config::default().max_transfers.get()
    })
    .await;

    let bye = server.send("POST", "/shutdown", Some("")).await;
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
// Money at the limits of i64: 400, nothing changes, nothing panics.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines)] // one table of cases
async fn money_at_the_limits_of_i64_is_refused_and_changes_nothing() {
    let server = start(Bank::empty(nz(100)), Config::default()).await;
    // 1 holds 100, 2 holds 50 (a funded receiver), 3 holds the rest of
    // i64::MAX: the bank's total is i64::MAX.
    for balance in [100, 50, i64::MAX - 150] {
        let opened = server
            .post("/accounts", &json!({ "balance": balance }))
            .await;
        assert_eq!(opened.status, 201, "{opened:?}");
    }
    let snapshot = async || {
        let mut all = vec![server.get("/audit").await.json];
        for id in 1..=3 {
            all.push(server.get(&format!("/accounts/{id}")).await.json);
        }
        all
    };
    let before = snapshot().await;
    let max = i64::MAX.to_string();
    let past = "9223372036854775808"; // i64::MAX + 1
    let cases = [
        (
            "/accounts",
            format!(r#"{{"balance": {max}}}"#),
            "total past i64::MAX",
        ),
        (
            "/accounts",
            r#"{"balance": 1}"#.to_owned(),
            "total past i64::MAX by 1",
        ),
        (
            "/accounts",
            format!(r#"{{"balance": {past}}}"#),
            "a balance past i64",
        ),
        ("/accounts", r#"{"balance": 1e300}"#.to_owned(), "1e300"),
        ("/accounts", r#"{"balance": -1e300}"#.to_owned(), "-1e300"),
        ("/accounts", r#"{"balance": 9.9e18}"#.to_owned(), "9.9e18"),
        (
            "/transfer",
            r#"{"from": 1, "to": 3, "amount": 151}"#.to_owned(),
            "a credit past i64::MAX by 1",
        ),
        (
            "/transfer",
            format!(r#"{{"from": 1, "to": 2, "amount": {max}}}"#),
            "i64::MAX to a funded receiver",
        ),
        (
            "/transfer",
            format!(r#"{{"from": 3, "to": 2, "amount": {max}}}"#),
            "i64::MAX from the richest",
        ),
        (
            "/transfer",
            format!(r#"{{"from": 1, "to": 2, "amount": {past}}}"#),
            "an amount past i64",
        ),
        (
            "/transfer",
            r#"{"from": 1, "to": 2, "amount": 1e300}"#.to_owned(),
            "1e300 to a funded receiver",
        ),
        (
            "/transfer",
            r#"{"from": 1, "to": 2, "amount": -1e300}"#.to_owned(),
            "-1e300",
        ),
        (
            "/transfer",
            r#"{"from": 1, "to": 2, "amount": 9.9e18}"#.to_owned(),
            "9.9e18",
        ),
    ];
    for (path, body, what) in &cases {
        let answer = server.send("POST", path, Some(body)).await;
        assert_error(&answer, 400, what);
    }
    assert_eq!(
        snapshot().await,
        before,
        "a refused request changed nothing"
    );

    // Up to the limit exactly is allowed.
    let to_max = server
        .post("/transfer", &json!({"from": 1, "to": 3, "amount": 100}))
        .await;
    assert_eq!(to_max.status, 200, "{to_max:?}");
    let to_max = server
        .post("/transfer", &json!({"from": 2, "to": 3, "amount": 50}))
        .await;
    assert_eq!(to_max.json["to"], json!({"id": 3, "balance": i64::MAX}));
    let summary = server.stop().await;
    assert_eq!(summary.audit.total, i64::MAX);

    // An empty bank takes a first account of i64::MAX, and then nothing.
    let server = start(Bank::empty(nz(100)), Config::default()).await;
    let richest = server
        .send(
            "POST",
            "/accounts",
            Some(&format!(r#"{{"balance": {max}}}"#)),
        )
        .await;
    assert_eq!(richest.json, json!({"id": 1, "balance": i64::MAX}));
    assert_eq!(
        server
            .post("/accounts", &json!({"balance": 0}))
            .await
            .status,
        201
    );
    assert_error(
        &server.post("/accounts", &json!({"balance": 1})).await,
        400,
        "one more",
    );
    assert_eq!(server.stop().await.audit.total, i64::MAX);
}

// ---------------------------------------------------------------------------
// Raw HTTP: what the layers and hyper answer, and what no polite client sends.

/// Writes `request` on a new connection and reads until the server closes
/// it (bounded by [`PATIENCE`]): the status and the body as JSON
/// (`Value::Null` if empty or not JSON), and the raw head.
async fn raw(addr: SocketAddr, request: &[u8]) -> (u16, Value, String) {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request).await.expect("send");
    read_all(&mut stream).await
}

async fn read_all(stream: &mut TcpStream) -> (u16, Value, String) {
    let mut bytes = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut bytes))
        .await
        .expect("the server closes the connection")
        .expect("read");
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not HTTP: {text:?}"));
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let json = serde_json::from_str(body).unwrap_or(Value::Null);
    (status, json, head.to_owned())
}

/// A request with `Connection: close`: `headers` are extra header lines.
fn request(method: &str, path: &str, headers: &str, body: &str) -> Vec<u8> {
    format!(
        "{method} {path} HTTP/1.1\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

const LOCAL: &str = "Host: 127.0.0.1\r\n";
const JSON: &str = "Host: 127.0.0.1\r\nContent-Type: application/json\r\n";

fn assert_json_error(status: u16, json: &Value, expected: u16, what: &str) {
    assert_eq!(status, expected, "{what}: {json}");
    let message = json["error"]
        .as_str()
        .unwrap_or_else(|| panic!("{what}: {json}"));
    assert!(message.len() > 10, "{what}: a real sentence: {message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_the_layers_make_is_json_too() {
    let config = Config {
        body_timeout: Duration::from_millis(300),
        ..Config::default()
    };
    let server = start(Bank::empty(nz(100)), config).await;
    server.post("/accounts", &json!({"balance": 100})).await;
    server.post("/accounts", &json!({"balance": 100})).await;
    let before = server.get("/audit").await.json;
    let addr = server.addr;
    let big = format!(r#"{{"balance": 1, "memo": "{}"}}"#, "x".repeat(2000));
    let chunk = format!("{:x}\r\n{big}\r\n0\r\n\r\n", big.len());
    let chunked = format!(
        "POST /accounts HTTP/1.1\r\n{JSON}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n{chunk}"
    );
    let cases: Vec<(Vec<u8>, u16, &str)> = vec![
        (request("POST", "/accounts", JSON, &big), 413, "too large, by Content-Length"),
        (chunked.into_bytes(), 413, "too large, chunked"),
        (request("POST", "/transfer", LOCAL, r#"{"from": 1, "to": 2, "amount": 5}"#), 415, "no Content-Type"),
        (
            request("POST", "/transfer", "Host: 127.0.0.1\r\nContent-Type: text/plain\r\n", r#"{"from": 1, "to": 2, "amount": 5}"#),
            415,
            "text/plain: what a page can send without a preflight",
        ),
        (
            request("POST", "/shutdown", "Host: 127.0.0.1\r\nContent-Type: text/plain\r\n", ""),
            415,
            "a text/plain shutdown",
        ),
        (request("GET", "/audit", "Host: evil.example:3000\r\n", ""), 403, "a Host that is not loopback"),
        (request("GET", "http://evil.example/audit", LOCAL, ""), 403, "an absolute URI elsewhere"),
        (request("GET", "/audit", "", ""), 400, "no Host"),
        (
            request(
                "POST",
                "/transfer",
                "Host: 127.0.0.1\r\nContent-Type: application/json\r\nOrigin: http://evil.example\r\nSec-Fetch-Site: cross-site\r\n",
                r#"{"from": 1, "to": 2, "amount": 5}"#,
            ),
            403,
            "a browser's cross-site request",
        ),
        (request("GET", "/nowhere", LOCAL, ""), 404, "no route"),
        (request("PUT", "/accounts/1", JSON, "{}"), 405, "wrong method"),
        (
            // The headers promise 36 bytes; none come: 408 after 300 ms.
            b"POST /transfer HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 36\r\n\r\n".to_vec(),
            408,
            "a body that never arrives",
        ),
    ];
    for (bytes, status, what) in cases {
        let (got, json, _) = raw(addr, &bytes).await;
        assert_json_error(got, &json, status, what);
    }
    // Nothing changed, and the server is still up.
    assert_eq!(server.get("/audit").await.json, before);
    assert!(
        !server.app.shutdown.is_set(),
        "the text/plain shutdown did nothing"
    );
    // Loopback names all pass.
    for host in ["localhost:1", "127.0.0.2", "[::1]:3000", "LOCALHOST"] {
        let (status, json, _) = raw(
            addr,
            &request("GET", "/audit", &format!("Host: {host}\r\n"), ""),
        )
        .await;
        assert_eq!((status, json), (200, before.clone()), "Host: {host}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hyper_answers_malformed_requests_itself_without_a_body() {
    let server = start(Bank::empty(nz(100)), Config::default()).await;
    let long_uri = format!("/{}", "a".repeat(70_000));
    let many_headers = "X-H: v\r\n".repeat(200);
    let cases: Vec<(Vec<u8>, u16, &str)> = vec![
        (b"NOT HTTP AT ALL\r\n\r\n".to_vec(), 400, "garbage"),
        (
            b"GET /audit HTTP/1.1\r\nHost 127.0.0.1\r\n\r\n".to_vec(),
            400,
            "a header without a colon",
        ),
        (request("GET", &long_uri, LOCAL, ""), 414, "a 70 KB URI"),
        (
            request("GET", "/audit", &format!("{LOCAL}{many_headers}"), ""),
            431,
            "200 headers",
        ),
    ];
    for (bytes, status, what) in cases {
        let (got, json, _) = raw(server.addr, &bytes).await;
        assert_eq!(got, status, "{what}");
        assert_eq!(json, Value::Null, "{what}: hyper's answers have no body");
    }
    assert_eq!(server.get("/audit").await.status, 200, "still serving");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_carries_a_request_id() {
    let server = start(Bank::empty(nz(100)), Config::default()).await;
    let (_, _, head) = raw(server.addr, &request("GET", "/audit", LOCAL, "")).await;
    let id = head
        .lines()
        .find_map(|l| l.strip_prefix("x-request-id: "))
        .unwrap_or_else(|| panic!("no x-request-id in {head}"));
    assert_eq!(id.len(), 36, "a UUID: {id}");
    let (_, _, head) = raw(
        server.addr,
        &request(
            "GET",
            "/nowhere",
            "Host: 127.0.0.1\r\nX-Request-Id: trace-42\r\n",
            "",
        ),
    )
    .await;
    assert!(
        head.contains("x-request-id: trace-42"),
        "the client's id comes back: {head}"
    );
    server.stop().await;
}

// ---------------------------------------------------------------------------
// Timeouts and the connection cap.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_whose_body_is_in_never_times_out() {
    let config = Config {
        body_timeout: Duration::from_millis(100),
        ..Config::default()
    };
    let server = Arc::new(start(Bank::empty(nz(100)), config).await);
    for _ in 0..2 {
        server.post("/accounts", &json!({"balance": 100})).await;
    }
    // The transfer has its body and waits for the books, past the body
    // deadline: it must commit and answer 200, never 408 (a client would
    // retry a 408, moving the money twice).
    let books = server.app.bank.books.acquire().await;
    let transfer = tokio::spawn({
        let server = server.clone();
        async move {
            server
                .post("/transfer", &json!({"from": 1, "to": 2, "amount": 5}))
                .await
        }
    });
    until("the transfer is in its handler", || {
        server.app.transfer_slots.available_permits() < Config::default().max_transfers.get()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(400)).await; // well past 100 ms
    drop(books);
    let answer = transfer.await.expect("the client task");
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(server.get("/audit").await.json["transfers"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slowloris_client_is_cut_off_after_the_header_timeout() {
    let config = Config {
        header_timeout: Duration::from_millis(300),
        ..Config::default()
    };
    let server = start(Bank::empty(nz(100)), config).await;
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    stream
        .write_all(b"GET /audit HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .await
        .expect("send");
    // One header byte every 20 ms, for as long as the server listens (at
    // most PATIENCE): the server must hang up, though bytes keep coming.
    let start = Instant::now();
    let mut buf = [0_u8; 64];
    loop {
        assert!(
            start.elapsed() < PATIENCE,
            "the slow client was never cut off"
        );
        if stream.write_all(b"X").await.is_err() {
            break;
        }
        let heard = tokio::time::timeout(Duration::from_millis(20), stream.read(&mut buf)).await;
        if let Ok(Ok(0) | Err(_)) = heard {
            break; // closed
        }
    }
    until_all_connections_closed(&server).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_connection_is_closed_after_the_header_timeout() {
    let config = Config {
        header_timeout: Duration::from_millis(300),
        ..Config::default()
    };
    let server = start(Bank::empty(nz(100)), config).await;
    // Keep-alive (no `Connection: close`): the server answers, then closes
    // the connection once it has been idle for the header timeout.
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    stream
        .write_all(b"GET /audit HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .expect("send");
    let (status, json, _) = read_all(&mut stream).await;
    assert_eq!((status, json["total"].clone()), (200, json!(0)));
    // And a client that connects and says nothing at all.
    let mut silent = TcpStream::connect(server.addr).await.expect("connect");
    let (mut bytes, mut buf) = (0, [0_u8; 64]);
    loop {
        let read = tokio::time::timeout(PATIENCE, silent.read(&mut buf))
            .await
            .expect("the silent connection is closed");
        match read {
            Ok(0) | Err(_) => break,
            Ok(n) => bytes += n,
        }
    }
    assert_eq!(bytes, 0, "nothing is answered to nothing");
    until_all_connections_closed(&server).await;
    server.stop().await;
}

async fn until_all_connections_closed<S: Store>(server: &Server<S>) {
    until("every connection is closed", || {
        server.app.open_connections() == 0
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_connection_cap_a_client_waits_until_one_closes() {
    let config = Config {
        max_connections: nz(2),
        header_timeout: Duration::from_mins(2),
        ..Config::default()
    };
    let server = start(Bank::empty(nz(100)), config).await;
    let first = TcpStream::connect(server.addr).await.expect("connect");
    let _second = TcpStream::connect(server.addr).await.expect("connect");
    until("both connections are accepted", || {
        server.app.open_connections() == 2 && server.app.connections.available_permits() == 0
    })
    .await;
    // The third completes its TCP handshake (the kernel queues it) and
    // sends a request, but the server does not accept it yet.
    let mut third = TcpStream::connect(server.addr).await.expect("connect");
    third
        .write_all(&request("GET", "/audit", LOCAL, ""))
        .await
        .expect("send");
    tokio::time::sleep(Duration::from_millis(200)).await; // time a wrong server would take to answer
    let mut buf = [0_u8; 16];
    assert!(
        matches!(third.try_read(&mut buf), Err(e) if e.kind() == io::ErrorKind::WouldBlock),
        "no answer past the cap"
    );
    drop(first);
    let (status, _, _) = read_all(&mut third).await;
    assert_eq!(status, 200, "answered once a connection closed");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_50_idle_connections_at_once() {
    // Timeouts far longer than PATIENCE: serve must return because the
    // idle connections are closed, not because a timeout ran out.
    let config = Config {
        header_timeout: Duration::from_hours(1),
        shutdown_grace: Duration::from_hours(1),
        ..Config::default()
    };
    let server = start(Bank::empty(nz(100)), config).await;
    let mut idle = Vec::new();
    for i in 0..50 {
        let mut stream = TcpStream::connect(server.addr).await.expect("connect");
        if i % 2 == 0 {
            // Half have been served once and wait, kept alive.
            stream
                .write_all(b"GET /audit HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                .await
                .expect("send");
            let mut buf = [0_u8; 1024];
            let n = stream.read(&mut buf).await.expect("the answer");
            assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
        }
        // The other half never sent a byte.
        idle.push(stream);
    }
    until("all 50 are accepted", || {
        server.app.open_connections() == 50
    })
    .await;
    let summary = server.stop().await;
    assert!(summary.graceful);
    for mut stream in idle {
        let mut rest = Vec::new();
        let closed = tokio::time::timeout(PATIENCE, stream.read_to_end(&mut rest)).await;
        assert!(closed.is_ok(), "closed by the server");
    }
}

fn nz(n: usize) -> NonZeroUsize {
    NonZeroUsize::new(n).expect("not 0")
}

// ---------------------------------------------------------------------------
// Feature `debug-locks`: warden's hang report at `GET /debug/locks`.

#[cfg(feature = "debug-locks")]
mod debug_locks {
    use super::*;

    /// The report names the bank's lock, who holds it and from which line,
    /// and the transfer waiting for it with its line; it answers while the
    /// lock is stuck, and forgets the lock once it is free.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_report_names_the_stuck_lock_its_holder_and_its_waiter() {
        let server = start(Bank::empty(nz(100)), Config::default()).await;
        for _ in 0..2 {
            assert_eq!(
                server
                    .post("/accounts", &json!({"balance": 100}))
                    .await
                    .status,
                201
            );
        }

        let held_at = line!() + 1;
        let books = server.app.bank.books.acquire().await;
        let transfer = tokio::spawn({
            let addr = server.addr;
            async move {
                let body = json!({"from": 1, "to": 2, "amount": 10}).to_string();
                Client::new(addr)
                    .send(&Method::POST, "/transfer", Some(body))
                    .await
                    .expect("the server answers")
                    .status
            }
        });
        until("the transfer waits for the books", || {
            warden::debug::dump()
                .primitives()
                .iter()
                .any(|p| p.name() == "Bank.books" && !p.waiters().is_empty())
        })
        .await;

        let answer = Client::new(server.addr)
            .send(&Method::GET, "/debug/locks", None)
            .await
            .expect("the report comes while the lock is stuck");
        assert_eq!(answer.status, 200);
        let report = String::from_utf8_lossy(&answer.body).into_owned();
        eprintln!("{report}");
        let books_paragraph = paragraph(&report, "Lock `Bank.books`")
            .unwrap_or_else(|| panic!("the books are listed: {report}"));
        assert!(
            books_paragraph.contains(&format!("acquired at {}:{held_at}:", file!())),
            "the holder's line: {report}"
        );
        assert!(
            books_paragraph.contains("waited on by") && books_paragraph.contains("bank.rs:"),
            "the waiting transfer, at its line in bank.rs: {report}"
        );
        assert!(
            report.contains("`transfer_slots`"),
            "the transfer's permit: {report}"
        );
        assert!(
            report.contains("`connections`"),
            "the open connections: {report}"
        );

        drop(books);
        assert_eq!(transfer.await.expect("no panic"), 200);
        let answer = Client::new(server.addr)
            .send(&Method::GET, "/debug/locks", None)
            .await
            .expect("the report");
        let report = String::from_utf8_lossy(&answer.body).into_owned();
        assert!(
            !report.contains("Bank.books"),
            "free now, not listed: {report}"
        );
        server.stop().await;
    }

    /// The paragraph of `report` that begins with `title` (its lines up to
    /// the next one that is not indented).
    fn paragraph(report: &str, title: &str) -> Option<String> {
        let mut lines = report.lines().skip_while(|l| !l.starts_with(title));
        let first = lines.next()?;
        let rest = lines.take_while(|l| l.starts_with(' '));
        Some(
            std::iter::once(first)
                .chain(rest)
                .collect::<Vec<_>>()
                .join("\n"),
        )
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_report_is_given_only_to_loopback() {
        for (peer, status) in [
            (SocketAddr::from(([192, 0, 2, 7], 40000)), 403),
            (SocketAddr::from(([127, 0, 0, 1], 40000)), 200),
        ] {
            let app = App::new(Bank::empty(nz(100)), Config::default());
            let router = bank_server::http::router(app).layer(MockConnectInfo(peer));
            let request = Request::get("/debug/locks")
                .header("host", "127.0.0.1:3000")
                .body(Body::empty())
                .expect("a request");
            let response = router.oneshot(request).await.expect("infallible");
            assert_eq!(response.status().as_u16(), status, "from {peer}");
            if status == 403 {
                let body = axum::body::to_bytes(response.into_body(), 4096)
                    .await
                    .expect("body");
                let json: Value = serde_json::from_slice(&body).expect("JSON");
                let message = json["error"].as_str().expect("error");
                assert!(message.contains("GET /debug/locks") && message.contains("loopback"));
            }
        }
    }
}
