//! The bank as an HTTP service: axum and tokio outside, warden inside.
//!
//! * the balances are `#[guarded(books)]` fields of [`Bank`]: no code can
//!   touch one without holding the `books` lock;
//! * a [`Semaphore`] bounds the transfers in progress; a bounded number
//!   more wait, and past that the server answers 503 with `Retry-After`;
//! * an [`Event`] drives graceful shutdown: Ctrl-C or `POST /shutdown`
//!   (from loopback) sets it; the server stops accepting, finishes the
//!   requests in flight, settles what is pending and exits 0;
//! * a [`Condition`](warden::Condition) on the `books` lock wakes the
//!   settlement task when `settle_batch` transfers are pending.
//!
//! ```text
//! POST /accounts      {"balance": 1000}                  → 201 {"id": 1, "balance": 1000}
//! GET  /accounts/1                                       → 200 {"id": 1, "balance": 990}
//! POST /transfer      {"from": 1, "to": 2, "amount": 10} → 200 {"from": {..}, "to": {..}}
//! GET  /audit                                            → 200 {"accounts": 2, "total": 2000, "transfers": 1}
//! POST /shutdown                                         → 202, then graceful shutdown
//! ```
//!
//! Errors are `{"error": "..."}` with 400 (malformed input, zero or negative
//! amounts, transfer to self, negative opening balance, overflow), 404
//! (unknown account or route), 405, 409 (insufficient funds), 413 (body too
//! large), 403 (`/shutdown` from elsewhere than loopback), 503 (transfer
//! queue full).
//!
//! Run: `cargo run --example bank_server -- --port 3000` (`--help` for the
//! options; `RUST_LOG=debug` logs every request).

use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use std::{fmt, io};

use tokio::net::TcpListener;
use warden::{Event, Semaphore, SemaphorePermit};

#[path = "bank_server/bank.rs"]
pub mod bank;
#[path = "bank_server/http.rs"]
pub mod http;
// Used by the `bank_server_tokio` comparison and the tests, which include
// this file as a module; the server itself runs on warden's `Bank`.
#[allow(dead_code)]
#[path = "bank_server/tokio_bank.rs"]
pub mod tokio_bank;

use bank::{Audit, Bank, Settlement, Store};
use http::ApiError;

/// The port used when neither `--port` nor `PORT` is given.
pub const DEFAULT_PORT: u16 = 3000;

// ANCHOR: config
/// The server's knobs (each has a command-line flag).
#[derive(Debug, Clone)]
pub struct Config {
    /// Transfers in progress at once: the [`Semaphore`]'s permits.
    pub max_transfers: usize,
    /// Transfers that may wait for a permit; one more is answered 503.
    pub transfer_queue: usize,
    /// Pending transfers that wake the settlement task.
    pub settle_batch: usize,
    /// Largest request body accepted, in bytes; larger is 413.
    pub body_limit: usize,
    /// How long shutdown waits for requests in flight before giving up.
    pub shutdown_grace: Duration,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            max_transfers: 64,
            transfer_queue: 1024,
            settle_batch: 100,
            body_limit: 1024,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}
// ANCHOR_END: config

// ANCHOR: app
/// Everything the handlers share: the bank, and the warden primitives that
/// run the service around it.
pub struct App<S = Bank> {
    /// The state: [`Bank`] (warden, `#[guarded]`) in the real server.
    pub bank: S,
    /// The knobs.
    pub config: Config,
    /// One permit per transfer in progress.
    pub transfer_slots: Semaphore,
    /// Transfers waiting for a permit.
    queued: AtomicUsize,
    /// Set once, by Ctrl-C or `POST /shutdown`: the server winds down.
    pub shutdown: Event,
}
// ANCHOR_END: app

impl<S: Store> App<S> {
    /// The shared state of a server over `bank`.
    pub fn new(bank: S, config: Config) -> Arc<App<S>> {
        Arc::new(App {
            bank,
            transfer_slots: Semaphore::new(config.max_transfers.max(1)),
            queued: AtomicUsize::new(0),
            shutdown: Event::new(),
            config,
        })
    }

    /// Transfers waiting for a permit right now.
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::SeqCst)
    }

    // ANCHOR: slot
    /// A permit to run one transfer: at once if one is free, after waiting
    /// in line if fewer than `transfer_queue` already wait, else 503.
    pub async fn transfer_slot(&self) -> Result<SemaphorePermit<'_>, ApiError> {
        if let Some(permit) = self.transfer_slots.try_acquire() {
            return Ok(permit);
        }
        let place = InLine::join(&self.queued); // leaves the line on drop
        if place.ahead >= self.config.transfer_queue {
            return Err(ApiError::busy(
                format!(
                    "too many transfers in progress ({} running, {} waiting): retry in a second",
                    self.config.max_transfers, place.ahead
                ),
                1,
            ));
        }
        // Cancel safe: if the client goes away, the future is dropped here
        // and the semaphore is left as if this request never waited.
        Ok(self.transfer_slots.acquire().await)
    }
    // ANCHOR_END: slot
}

/// A place in the transfer queue, counted in `queued` while it lives.
struct InLine<'a> {
    queued: &'a AtomicUsize,
    ahead: usize,
}

impl<'a> InLine<'a> {
    fn join(queued: &'a AtomicUsize) -> InLine<'a> {
        let ahead = queued.fetch_add(1, Ordering::SeqCst);
        InLine { queued, ahead }
    }
}

impl Drop for InLine<'_> {
    fn drop(&mut self) {
        self.queued.fetch_sub(1, Ordering::SeqCst);
    }
}

/// How the server ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// The final audit.
    pub audit: Audit,
    /// What the settlement task settled.
    pub settlement: Settlement,
    /// `false` if requests were still in flight when `shutdown_grace` ran out.
    pub graceful: bool,
}

// ANCHOR: serve
/// Serves `app` on `listener` until `app.shutdown` is set, then shuts down
/// gracefully: stops accepting (the listener is closed), lets the requests
/// in flight finish (for at most `shutdown_grace`), settles what is
/// pending, and returns the final audit.
pub async fn serve<S: Store>(app: Arc<App<S>>, listener: TcpListener) -> io::Result<Summary> {
    let addr = listener.local_addr()?;
    tracing::info!("listening on http://{addr}");
    let settlement = tokio::spawn({
        let app = app.clone();
        async move { app.bank.settle().await }
    });

    let service = http::router(app.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let stop = app.clone();
    let server = axum::serve(listener, service).with_graceful_shutdown(async move {
        stop.shutdown.wait().await;
        tracing::info!("shutting down: not accepting; finishing the requests in flight");
    });
    let deadline = async {
        app.shutdown.wait().await;
        tokio::time::sleep(app.config.shutdown_grace).await;
    };
    let outcome = tokio::select! {
        result = server.into_future() => result.map(|()| true),
        () = deadline => {
            tracing::warn!(grace = ?app.config.shutdown_grace, "requests still in flight after the grace period; stopping anyway");
            Ok(false)
        }
    };

    app.bank.close().await; // settle the last, partial batch
    let settlement = settlement.await.map_err(io::Error::other)?;
    let graceful = outcome?;
    let audit = app.bank.audit().await.map_err(io::Error::other)?;
    tracing::info!(
        accounts = audit.accounts,
        total = audit.total,
        transfers = audit.transfers,
        settled = settlement.settled,
        "stopped"
    );
    Ok(Summary {
        audit,
        settlement,
        graceful,
    })
}
// ANCHOR_END: serve

/// Command-line options.
#[derive(Debug, Clone)]
pub struct Options {
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// Server knobs.
    pub config: Config,
    /// `--help` was asked for.
    pub help: bool,
}

/// The `--help` text.
pub const USAGE: &str = "\
bank_server: a bank over HTTP/JSON on 127.0.0.1, built on warden

usage: bank_server [--port N] [--max-transfers N] [--transfer-queue N]
                   [--settle-batch N] [--body-limit BYTES] [--shutdown-grace SECS]

  --port N             port on 127.0.0.1 (default: $PORT, else 3000; 0 = any free port)
  --max-transfers N    transfers in progress at once (default 64)
  --transfer-queue N   transfers that may wait; more are answered 503 (default 1024)
  --settle-batch N     pending transfers that wake the settlement task (default 100)
  --body-limit BYTES   largest request body; larger is 413 (default 1024)
  --shutdown-grace S   seconds shutdown waits for requests in flight (default 10)

Stop it with Ctrl-C or `curl -X POST http://127.0.0.1:PORT/shutdown`.
RUST_LOG=debug logs one line per request (default level: info).";

/// A command-line mistake, explained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError(String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Options {
    /// Reads the arguments (without the program name) and the `PORT`
    /// variable; `--port` wins over `PORT`.
    pub fn parse(
        args: impl IntoIterator<Item = String>,
        port_env: Option<String>,
    ) -> Result<Options, UsageError> {
        fn number<T: std::str::FromStr>(
            flag: &str,
            value: Option<String>,
        ) -> Result<T, UsageError> {
            let value = value.ok_or_else(|| UsageError(format!("{flag} needs a value")))?;
            value
                .parse()
                .map_err(|_| UsageError(format!("{flag} takes a whole number, not `{value}`")))
        }
        let mut port = match port_env {
            Some(p) => number("PORT", Some(p))?,
            None => DEFAULT_PORT,
        };
        let mut config = Config::default();
        let mut help = false;
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((f, v)) => (f.to_owned(), Some(v.to_owned())),
                None => (arg, None),
            };
            let mut value = || inline.clone().or_else(|| args.next());
            match flag.as_str() {
                "-h" | "--help" => help = true,
                "--port" => port = number(&flag, value())?,
                "--max-transfers" => config.max_transfers = number(&flag, value())?,
                "--transfer-queue" => config.transfer_queue = number(&flag, value())?,
                "--settle-batch" => config.settle_batch = number(&flag, value())?,
                "--body-limit" => config.body_limit = number(&flag, value())?,
                "--shutdown-grace" => {
                    config.shutdown_grace = Duration::from_secs(number(&flag, value())?);
                }
                _ => return Err(UsageError(format!("unknown argument `{flag}`"))),
            }
        }
        Ok(Options { port, config, help })
    }
}

/// Logs to stderr, at the level `RUST_LOG` names (`info` when unset), in
/// colour only on a terminal (and not with `NO_COLOR` set).
fn init_tracing() {
    use std::io::IsTerminal;
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::prelude::*;

    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|spec| spec.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(LevelFilter::INFO));
    let colour =
        io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(io::stderr)
                .with_ansi(colour),
        )
        .with(filter)
        .init();
}

// ANCHOR: main
/// The program: parse the options, bind 127.0.0.1, serve until Ctrl-C or
/// `POST /shutdown`, exit 0 after a clean shutdown.
pub fn main() -> ExitCode {
    ExitCode::from(cli(std::env::args().skip(1), std::env::var("PORT").ok()))
}

/// `main` with its inputs and exit status spelled out (the tests run it
/// in a child process when the example binary is not built).
pub fn cli(args: impl IntoIterator<Item = String>, port_env: Option<String>) -> u8 {
    let options = match Options::parse(args, port_env) {
        Ok(options) => options,
        Err(e) => {
            eprintln!("bank_server: {e}\n\n{USAGE}");
            return 2;
        }
    };
    if options.help {
        println!("{USAGE}");
        return 0;
    }
    init_tracing();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            tracing::error!("cannot start the tokio runtime: {e}");
            return 1;
        }
    };
    runtime.block_on(run(options))
}

async fn run(options: Options) -> u8 {
    let listener = match TcpListener::bind((Ipv4Addr::LOCALHOST, options.port)).await {
        Ok(listener) => listener,
        Err(e) => {
            tracing::error!("cannot listen on 127.0.0.1:{}: {e}", options.port);
            return 1;
        }
    };
    let app = App::new(Bank::empty(options.config.settle_batch), options.config);
    // Ctrl-C sets the same Event as `POST /shutdown`; a second one exits now.
    tokio::spawn({
        let app = app.clone();
        async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                tracing::info!("Ctrl-C: shutting down (Ctrl-C again to exit at once)");
                app.shutdown.set();
                if tokio::signal::ctrl_c().await.is_ok() {
                    std::process::exit(130);
                }
            }
        }
    });
    match serve(app, listener).await {
        Ok(summary) if summary.graceful => 0,
        Ok(_) => 1,
        Err(e) => {
            tracing::error!("server failed: {e}");
            1
        }
    }
}
// ANCHOR_END: main
