//! A handler that panics (here: a bank with a bug) answers
//! `500 {"error": ...}`, the server goes on serving, and the panic is logged
//! through `tracing` at ERROR inside the request's span (with its request
//! id), not printed on stderr. Its own test binary: it installs the
//! process-wide panic hook and log subscriber.

use std::io;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use bank_server::bank::{Account, Audit, Bank, BankError, Receipt, Settlement, Store};
use bank_server::{App, Config, serve, telemetry};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The real bank, but looking up account 13 panics.
struct Faulty(Bank);

impl Store for Faulty {
    async fn open(&self, balance: i64) -> Result<Account, BankError> {
        self.0.open(balance).await
    }
    async fn account(&self, id: u64) -> Result<Account, BankError> {
        assert_ne!(id, 13, "account 13 is cursed");
        self.0.account(id).await
    }
    async fn transfer(&self, from: u64, to: u64, amount: i64) -> Result<Receipt, BankError> {
        self.0.transfer(from, to, amount).await
    }
    async fn audit(&self) -> Result<Audit, BankError> {
        self.0.audit().await
    }
    async fn settle(&self) -> Settlement {
        self.0.settle().await
    }
    async fn close(&self) {
        self.0.close().await;
    }
}

/// The log, as the subscriber wrote it.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().expect("log").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// `GET path` on a new connection: the status, the `x-request-id`, the body.
async fn get(addr: std::net::SocketAddr, path: &str) -> (u16, String, Value) {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut text = String::new();
    stream.read_to_string(&mut text).await.expect("an answer");
    let (head, body) = text.split_once("\r\n\r\n").expect("a response");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status");
    let id = head
        .lines()
        .find_map(|l| l.strip_prefix("x-request-id: "))
        .expect("a request id")
        .to_owned();
    (status, id, serde_json::from_str(body).expect("a JSON body"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_answers_500_and_is_logged_in_its_span() {
    let log = Captured::default();
    tracing_subscriber::fmt()
        .json()
        .with_current_span(true)
        .with_writer({
            let log = log.clone();
            move || log.clone()
        })
        .init();
    telemetry::log_panics();

    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let app = App::new(
        Faulty(Bank::empty(NonZeroUsize::new(10).expect("not 0"))),
        Config::default(),
    );
    let server = tokio::spawn(serve(app.clone(), listener));

    let (status, id, body) = get(addr, "/accounts/13").await;
    // Back to the default hook, so that a failing assertion below is
    // printed as usual.
    drop(std::panic::take_hook());
    assert_eq!(status, 500, "{body}");
    let object = body.as_object().expect("an object");
    assert_eq!(object.len(), 1, "{body}");
    assert!(
        object["error"].as_str().is_some_and(|e| e.contains("bug")),
        "{body}"
    );
    let (status, _, audit) = get(addr, "/audit").await;
    assert_eq!(
        (status, audit["total"].as_i64()),
        (200, Some(0)),
        "still serving"
    );

    let text = String::from_utf8(log.0.lock().expect("log").clone()).expect("UTF-8");
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON lines"))
        .collect();
    let in_span = |line: &&Value| line["span"]["id"] == id.as_str();
    let panicked = lines
        .iter()
        .filter(in_span)
        .find(|l| {
            l["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("panicked") && m.contains("account 13 is cursed"))
        })
        .unwrap_or_else(|| panic!("the panic, logged in the request's span: {text}"));
    assert_eq!(panicked["level"], "ERROR");
    assert!(
        panicked["fields"]["location"]
            .as_str()
            .is_some_and(|l| l.contains("panic.rs")),
        "{panicked}"
    );
    assert_eq!(panicked["span"]["uri"], "/accounts/13");
    let answered = lines
        .iter()
        .filter(in_span)
        .find(|l| l["fields"]["status"] == 500)
        .unwrap_or_else(|| panic!("the 500, logged: {text}"));
    assert_eq!(answered["level"], "ERROR");

    app.shutdown.set();
    let summary = server.await.expect("the server task").expect("serve");
    assert!(summary.graceful);
}
