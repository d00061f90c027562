//! The `bank_server` program, run as a child process (the binary cargo
//! builds for this package's tests) and driven over loopback: graceful
//! shutdown by `POST /shutdown`, SIGINT and SIGTERM (under load, with every
//! accepted transfer settled), idle connections at shutdown, the command
//! line, and the logs (levels, `RUST_LOG`, JSON, a stderr nobody reads).

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use bank_server::cli::Cli;
use bank_server::load::{self, Client, Load};
use bank_server::{Config, DEFAULT_PORT};
use clap::Parser;
use serde_json::{Value, json};

/// Long enough for anything that should happen, so a slow machine never
/// fails a test; only a hang runs into it.
const PATIENCE: Duration = Duration::from_mins(1);

/// The program under test.
const BIN: &str = env!("CARGO_BIN_EXE_bank_server");

/// `bank_server` with `args` and `env` (no `PORT` unless `env` sets it;
/// `RUST_LOG=info` unless `env` sets it).
fn command(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .env_remove("PORT")
        .env("RUST_LOG", "info")
        .stdin(Stdio::null());
    for (name, value) in env {
        command.env(name, value);
    }
    command
}

/// The server as a child process, its stderr collected line by line.
struct Process {
    child: Child,
    addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
    reader: Option<std::thread::JoinHandle<()>>,
    /// While `Some`, the log reader has stopped reading (see `spawn_undrained`).
    gate: Option<mpsc::Sender<()>>,
}

impl Process {
    /// Starts the server and reads its log as it comes.
    fn spawn(args: &[&str], env: &[(&str, &str)]) -> Process {
        Process::start(args, env, false)
    }

    /// Starts the server and reads its log only up to the line that says
    /// where it listens; the rest waits in the pipe until [`drain`].
    fn spawn_undrained(args: &[&str], env: &[(&str, &str)]) -> Process {
        Process::start(args, env, true)
    }

    fn start(args: &[&str], env: &[(&str, &str)], stall: bool) -> Process {
        let mut child = command(args, env)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the server starts");
        let stderr = child.stderr.take().expect("piped stderr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (found, address) = mpsc::channel();
        let (gate, opened) = mpsc::channel::<()>();
        let reader = std::thread::spawn({
            let log = log.clone();
            move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    let addr = line.find("listening on http://").map(|at| {
                        line[at + "listening on http://".len()..]
                            .chars()
                            .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
                            .collect::<String>()
                            .parse::<SocketAddr>()
                            .ok()
                    });
                    log.lock().expect("log").push(line);
                    if let Some(addr) = addr {
                        let _ = found.send(addr);
                        if stall {
                            let _ = opened.recv(); // until `drain` (or drop)
                        }
                    }
                }
            }
        });
        let addr = address
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
            gate: stall.then_some(gate),
        }
    }

    /// Lets the log reader go on reading.
    fn drain(&mut self) {
        if let Some(gate) = self.gate.take() {
            let _ = gate.send(());
        }
    }

    fn wait(&mut self) -> ExitStatus {
        self.drain();
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

    fn lines(&self) -> Vec<String> {
        self.log.lock().expect("log").clone()
    }

    fn logged(&self, text: &str) -> bool {
        self.lines().iter().any(|l| l.contains(text))
    }

    fn signal(&self, name: &str) {
        let sent = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success());
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.drain();
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
        "--body-timeout",
        "120",
    ];
    let mut server = Process::spawn(&args, &[]);
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
    let mut server = Process::spawn(&[], &[("PORT", "0")]); // PORT=0, no --port
    let addr = server.addr;
    assert_eq!(http(addr, "POST", "/accounts", r#"{"balance": 5}"#).0, 201);
    server.signal("INT");
    let exit = server.wait();
    assert_eq!(exit.code(), Some(0), "exit status {exit:?}");
    assert!(server.logged("Ctrl-C"));
    assert!(refused(addr));
}

/// The numbers of the final `stopped ...` log line.
fn stopped(server: &Process) -> (i64, u64, u64) {
    let lines = server.lines();
    let line = lines
        .iter()
        .find(|l| l.contains("stopped"))
        .unwrap_or_else(|| panic!("no final audit: {lines:?}"));
    let number = |name: &str| {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(&format!("{name}=")))
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or_else(|| panic!("no {name} in {line}"))
    };
    let count = |name: &str| u64::try_from(number(name)).expect("a count");
    (number("total"), count("transfers"), count("settled"))
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_exits_0_having_settled_every_accepted_transfer() {
    let mut server = Process::spawn(&["--port", "0", "--settle-batch", "7"], &[]);
    let addr = server.addr;
    let load = Load {
        clients: 32,
        transfers: 4_000,
        accounts: 16,
        ..Load::default()
    };
    let running = tokio::spawn({
        let load = load.clone();
        async move { load::run(addr, &load).await }
    });
    // SIGTERM once the load is well under way.
    let mut client = Client::new(addr);
    let start = Instant::now();
    loop {
        assert!(start.elapsed() < PATIENCE, "the load never got going");
        if let Ok((200, audit)) = client.get("/audit").await
            && audit["transfers"].as_u64() >= Some(300)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.signal("TERM");
    let report = running.await.expect("the load task").expect("the load ran");
    let exit = tokio::task::spawn_blocking(move || (server.wait(), server))
        .await
        .expect("wait");
    let (exit, server) = exit;
    assert_eq!(
        exit.code(),
        Some(0),
        "exit status {exit:?}: {:?}",
        server.lines()
    );
    assert!(server.logged("SIGTERM"));

    // Requests after the signal fail to connect; none is answered wrongly.
    for problem in &report.problems {
        assert!(
            !problem.contains("answered") && !problem.starts_with("POST /transfer {"),
            "a wrong answer, not a refused connection: {problem}"
        );
    }
    let (total, transfers, settled) = stopped(&server);
    assert!(report.succeeded >= 300, "{report}");
    assert_eq!(total, report.expected_total, "the money is all there");
    assert_eq!(
        transfers,
        report.server_transfers.0 + report.succeeded as u64,
        "every transfer the clients saw accepted, and no other"
    );
    assert_eq!(settled, transfers, "every accepted transfer settled");
}

#[test]
fn post_shutdown_with_50_idle_connections_open_exits_0_promptly() {
    // Timeouts an hour long: the process can only exit within PATIENCE
    // because shutdown closes the idle connections at once.
    let args = [
        "--port",
        "0",
        "--header-timeout",
        "3600",
        "--shutdown-grace",
        "3600",
    ];
    let mut server = Process::spawn(&args, &[]);
    let addr = server.addr;
    let mut idle = Vec::new();
    for i in 0..50 {
        let mut stream = TcpStream::connect(addr).expect("connect");
        if i % 2 == 0 {
            // Served once, then kept alive.
            write!(stream, "GET /audit HTTP/1.1\r\nHost: {addr}\r\n\r\n").expect("send");
            stream.set_read_timeout(Some(PATIENCE)).expect("timeout");
            let mut buf = [0_u8; 1024];
            let n = stream.read(&mut buf).expect("the answer");
            assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
        }
        idle.push(stream); // the other half never send a byte
    }
    let (status, _) = http(addr, "POST", "/shutdown", "");
    assert_eq!(status, 202);
    let exit = server.wait();
    assert_eq!(
        exit.code(),
        Some(0),
        "exit status {exit:?}: {:?}",
        server.lines()
    );
    assert!(!server.logged("still in flight"), "{:?}", server.lines());
}

// ---------------------------------------------------------------------------
// The command line.

fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let child = command(args, env)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    child.wait_with_output().expect("exits")
}

#[test]
fn options_come_from_flags_then_port_then_defaults() {
    // Flags, parsed as `main` parses them (`--port` given, so `PORT` in
    // this test's own environment cannot matter).
    let parse = |args: &[&str]| {
        Cli::try_parse_from(["bank_server"].iter().chain(args)).map_err(|e| e.to_string())
    };
    let defaults = parse(&["--port", "3000"]).expect("defaults");
    assert_eq!(
        defaults.config(),
        Config::default(),
        "the flags' defaults are Config's"
    );
    assert_eq!(DEFAULT_PORT, 3000);
    let all = parse(&[
        "--port=4000",
        "--max-transfers",
        "8",
        "--transfer-queue=9",
        "--settle-batch",
        "10",
        "--body-limit",
        "11",
        "--max-connections",
        "12",
        "--header-timeout",
        "13",
        "--body-timeout",
        "14",
        "--shutdown-grace",
        "15",
        "--log-format",
        "json",
    ])
    .expect("every flag");
    assert_eq!(all.port, 4000);
    let config = all.config();
    assert_eq!(
        (
            config.max_transfers.get(),
            config.transfer_queue,
            config.settle_batch.get(),
            config.body_limit,
            config.max_connections.get()
        ),
        (8, 9, 10, 11, 12)
    );
    assert_eq!(
        (
            config.header_timeout,
            config.body_timeout,
            config.shutdown_grace
        ),
        (
            Duration::from_secs(13),
            Duration::from_secs(14),
            Duration::from_secs(15)
        )
    );

    // `PORT` when there is no `--port`; `--port` wins (even over a `PORT`
    // that is not a port).
    let mut from_env = Process::spawn(&[], &[("PORT", "0")]);
    assert_ne!(from_env.addr.port(), DEFAULT_PORT);
    assert_eq!(http(from_env.addr, "POST", "/shutdown", "").0, 202);
    assert_eq!(from_env.wait().code(), Some(0));
    let mut flag_wins = Process::spawn(&["--port", "0"], &[("PORT", "not-a-port")]);
    assert_eq!(http(flag_wins.addr, "POST", "/shutdown", "").0, 202);
    assert_eq!(flag_wins.wait().code(), Some(0));
}

#[test]
fn help_and_version_always_work() {
    for env in [&[][..], &[("PORT", "not-a-port")][..]] {
        let help = run(&["--help"], env);
        assert_eq!(help.status.code(), Some(0), "{env:?}");
        let text = String::from_utf8_lossy(&help.stdout);
        assert!(text.contains("Usage: bank_server"), "{text}");
        assert!(text.contains("--header-timeout"), "{text}");
    }
    let version = run(&["--version"], &[]);
    assert_eq!(version.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("bank_server {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn command_line_mistakes_are_one_error_line_and_exit_2() {
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);
    let cases: &[Case<'_>] = &[
        (&["--port", "70000"], &[], "70000 is not in 0..=65535"),
        (&["--port", "http"], &[], "invalid digit"),
        (
            &[],
            &[("PORT", "x")],
            "invalid value 'x' for '--port <PORT>'",
        ),
        (&["--port"], &[], "a value is required for '--port <PORT>'"),
        (&["--max-transfers", "0"], &[], "0 is not in 1.."),
        (&["--settle-batch", "0"], &[], "0 is not in 1.."),
        (&["--max-connections", "0"], &[], "0 is not in 1.."),
        (&["--header-timeout", "0"], &[], "0 is not in 1..=86400"),
        (
            &["--body-timeout", "86401"],
            &[],
            "86401 is not in 1..=86400",
        ),
        (&["--log-format", "xml"], &[], "invalid value 'xml'"),
        (&["--verbose"], &[], "unexpected argument '--verbose'"),
    ];
    for (args, env, says) in cases {
        let out = run(args, env);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        let errors: Vec<_> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(errors.len(), 1, "{args:?}: one error line: {stderr}");
        assert!(errors[0].contains(says), "{args:?}: {stderr}");
        assert!(
            !stderr.contains("--shutdown-grace"),
            "{args:?}: not the whole usage: {stderr}"
        );
    }
}

// ---------------------------------------------------------------------------
// Logs.

/// Opens two accounts, then sends `n` transfers of which most are refused
/// (409: insufficient funds) and a few name no account (404).
async fn refused_requests(addr: SocketAddr, n: usize) {
    let mut client = Client::new(addr);
    for _ in 0..2 {
        client
            .post("/accounts", &json!({"balance": 10}))
            .await
            .expect("open");
    }
    for i in 0..n {
        let to = if i % 10 == 0 { 99 } else { 2 };
        let (status, _) = client
            .post("/transfer", &json!({"from": 1, "to": to, "amount": 1000}))
            .await
            .expect("an answer");
        assert!(status == 409 || status == 404, "{status}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_errors_are_not_logged_at_the_default_level() {
    let server = Process::spawn(&["--port", "0"], &[]); // RUST_LOG=info
    refused_requests(server.addr, 200).await;
    let (status, _) = Client::new(server.addr)
        .post("/shutdown", &json!({}))
        .await
        .expect("an answer");
    assert_eq!(status, 202);
    let (exit, server) = tokio::task::spawn_blocking(move || {
        let mut server = server;
        (server.wait(), server)
    })
    .await
    .expect("wait");
    assert_eq!(exit.code(), Some(0));
    let lines = server.lines();
    assert!(
        lines.len() < 12,
        "a few lines (start, shutdown, final audit), not one per request: {lines:#?}"
    );
    assert!(
        !lines
            .iter()
            .any(|l| l.contains("WARN") || l.contains("ERROR")),
        "{lines:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_carry_the_request_span_and_log_client_errors_at_debug() {
    let server = Process::spawn(
        &["--port", "0", "--log-format", "json"],
        &[("RUST_LOG", "debug")],
    );
    refused_requests(server.addr, 3).await;
    Client::new(server.addr)
        .post("/shutdown", &json!({}))
        .await
        .expect("an answer");
    let (exit, server) = tokio::task::spawn_blocking(move || {
        let mut server = server;
        (server.wait(), server)
    })
    .await
    .expect("wait");
    assert_eq!(exit.code(), Some(0));
    let lines: Vec<Value> = server
        .lines()
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let refused: Vec<&Value> = lines
        .iter()
        .filter(|l| matches!(l["fields"]["status"].as_u64(), Some(404 | 409)))
        .collect();
    assert_eq!(refused.len(), 3, "one 404, two 409s: {lines:#?}");
    for line in refused {
        assert_eq!(line["level"], "DEBUG", "{line}");
        let error = line["fields"]["error"].as_str().unwrap_or_default();
        assert!(
            error.contains("not enough") || error.contains("does not exist"),
            "{line}"
        );
        let span = &line["span"];
        assert_eq!(span["name"], "request");
        assert_eq!(span["method"], "POST");
        assert_eq!(span["uri"], "/transfer");
        assert_eq!(
            span["id"].as_str().map(str::len),
            Some(36),
            "a UUID: {span}"
        );
        assert!(
            span["client"]
                .as_str()
                .is_some_and(|c| c.starts_with("127.0.0.1:")),
            "{span}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_rust_log_is_reported_at_start_and_info_is_used() {
    let server = Process::spawn(&["--port", "0"], &[("RUST_LOG", "bank_server=loud")]);
    Client::new(server.addr)
        .post("/shutdown", &json!({}))
        .await
        .expect("an answer");
    let (exit, server) = tokio::task::spawn_blocking(move || {
        let mut server = server;
        (server.wait(), server)
    })
    .await
    .expect("wait");
    assert_eq!(exit.code(), Some(0));
    let lines = server.lines();
    assert!(
        lines[0].contains("RUST_LOG=\"bank_server=loud\" is not a valid filter"),
        "{lines:#?}"
    );
    assert!(server.logged("stopped"), "info is on: {lines:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_pipe_nobody_reads_never_stalls_the_server() {
    // Debug logs: several hundred kilobytes for this load, far past what a
    // pipe holds (64 KiB on Linux), and nobody reads them until the end.
    let server = Process::spawn_undrained(&["--port", "0"], &[("RUST_LOG", "debug")]);
    let load = Load {
        clients: 16,
        transfers: 3_000,
        accounts: 8,
        ..Load::default()
    };
    let report = load::run(server.addr, &load).await.expect("the load ran");
    assert!(
        report.problems.is_empty(),
        "{} problems, the first: {:?}",
        report.problems.len(),
        report.problems.first()
    );
    assert_eq!(report.succeeded + report.refused, load.transfers);
    Client::new(server.addr)
        .post("/shutdown", &json!({}))
        .await
        .expect("an answer");
    let exit = tokio::task::spawn_blocking(move || {
        let mut server = server;
        server.wait()
    })
    .await
    .expect("wait");
    assert_eq!(exit.code(), Some(0));
}

#[test]
fn a_body_that_never_comes_gets_408_and_does_not_hold_up_shutdown() {
    let args = [
        "--port",
        "0",
        "--body-timeout",
        "1",
        "--shutdown-grace",
        "120",
    ];
    let mut server = Process::spawn(&args, &[]);
    let addr = server.addr;
    let mut stalled = TcpStream::connect(addr).expect("connect");
    write!(
        stalled,
        "POST /transfer HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: 36\r\n\r\n"
    )
    .expect("send the headers, and never the body");
    let (status, _) = http(addr, "POST", "/shutdown", "");
    assert_eq!(status, 202);
    let (status, answer) = read_response(&mut stalled);
    assert_eq!(status, 408, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .is_some_and(|e| e.contains("nothing was done"))
    );
    let exit = server.wait();
    assert_eq!(
        exit.code(),
        Some(0),
        "exit status {exit:?}: {:?}",
        server.lines()
    );
    let (_, transfers, _) = stopped(&server);
    assert_eq!(transfers, 0);
}

/// Feature `debug-locks`: SIGUSR1 logs warden's hang report, as often as it
/// is sent, and the server serves on; `--help` says so.
#[cfg(all(unix, feature = "debug-locks"))]
#[test]
fn sigusr1_logs_the_lock_report_and_the_server_serves_on() {
    let mut server = Process::spawn(&["--port", "0"], &[]);
    let addr = server.addr;
    for round in 1..=2 {
        server.signal("USR1");
        let start = Instant::now();
        // The accept loop holds a permit of the named `connections`
        // semaphore while it waits for the next client.
        while server
            .lines()
            .iter()
            .filter(|l| l.contains("SIGUSR1: warden:"))
            .count()
            < round
            || !server.logged("Semaphore `connections`")
        {
            assert!(
                start.elapsed() < PATIENCE,
                "no report: {:?}",
                server.lines()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    assert_eq!(http(addr, "POST", "/accounts", r#"{"balance": 5}"#).0, 201);
    assert_eq!(http(addr, "POST", "/shutdown", "{}").0, 202);
    let exit = server.wait();
    assert_eq!(exit.code(), Some(0), "exit status {exit:?}");

    let help = run(&["--help"], &[]);
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(
        text.contains("/debug/locks") && text.contains("kill -USR1"),
        "{text}"
    );
}
