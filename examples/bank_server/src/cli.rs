//! The program around the server: the command line (clap), logging,
//! signals, and the exit status.

use std::net::Ipv4Addr;
use std::num::NonZeroUsize;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use tokio::net::TcpListener;

use crate::bank::{Bank, Store};
use crate::telemetry::{self, LogFormat};
use crate::{App, Config, DEFAULT_PORT, serve};

/// The longest timeout a flag takes, in seconds (a day).
const MAX_SECS: u64 = 24 * 60 * 60;

// ANCHOR: cli
/// A bank over HTTP/JSON on 127.0.0.1, built on warden.
#[derive(Debug, Clone, PartialEq, Eq, Parser)]
#[command(name = "bank_server", version)]
#[cfg_attr(
    not(feature = "debug-locks"),
    command(
        after_help = "Stop it with Ctrl-C, SIGTERM, or `curl --json '{}' 127.0.0.1:PORT/shutdown`.\n\
                      RUST_LOG=debug logs every request (default level: info)."
    )
)]
#[cfg_attr(
    feature = "debug-locks",
    command(
        after_help = "Stop it with Ctrl-C, SIGTERM, or `curl --json '{}' 127.0.0.1:PORT/shutdown`.\n\
                      RUST_LOG=debug logs every request (default level: info).\n\
                      Which lock is held by whom: `curl 127.0.0.1:PORT/debug/locks`, or \
                      `kill -USR1 PID` (the report goes to the log)."
    )
)]
pub struct Cli {
    /// Port on 127.0.0.1 (0: any free port, logged at start)
    #[arg(long, env = "PORT", default_value_t = DEFAULT_PORT)]
    pub port: u16,
    /// Transfers in progress at once
    #[arg(long, value_name = "N", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_transfers: u32,
    /// Transfers that may wait for one of those; one more is answered 503
    #[arg(long, value_name = "N", default_value_t = 1024)]
    pub transfer_queue: u32,
    /// Pending transfers that wake the settlement task
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    pub settle_batch: u32,
    /// Largest request body; larger is 413
    #[arg(long, value_name = "BYTES", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..))]
    pub body_limit: u32,
    /// Connections open at once; more wait to be accepted
    #[arg(long, value_name = "N", default_value_t = 512, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,
    /// Seconds a client has to send a request's headers; also how long an
    /// idle keep-alive connection stays open
    #[arg(long, value_name = "SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=MAX_SECS))]
    pub header_timeout: u64,
    /// Seconds a client has to send a request's body; later is 408
    #[arg(long, value_name = "SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=MAX_SECS))]
    pub body_timeout: u64,
    /// Seconds shutdown waits for requests in flight (more than the two
    /// timeouts together, so a slow client cannot outlast it)
    #[arg(long, value_name = "SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(0..=MAX_SECS))]
    pub shutdown_grace: u64,
    /// Log lines as text or as JSON objects
    #[arg(long, value_enum, default_value_t)]
    pub log_format: LogFormat,
    /// Keep the accounts in PostgreSQL (a postgres:// URL or key=value
    /// string), shared by every replica given the same database. Each
    /// transfer in progress holds two connections
    #[cfg(feature = "postgres")]
    #[allow(clippy::doc_markdown)] // help text: no backticks
    #[arg(
        long,
        value_name = "URL",
        env = "BANK_POSTGRES_URL",
        hide_env_values = true
    )]
    pub postgres: Option<String>,
    /// Seconds after which the database frees the locks of a replica that
    /// stopped answering (with --postgres)
    #[cfg(feature = "postgres")]
    #[arg(long, value_name = "SECS", default_value_t = 10, requires = "postgres", value_parser = clap::value_parser!(u64).range(1..=MAX_SECS))]
    pub lease: u64,
    /// Seconds a transfer waits for an account's lock before it is answered
    /// 503 (with --postgres)
    #[cfg(feature = "postgres")]
    #[arg(long, value_name = "SECS", default_value_t = 5, requires = "postgres", value_parser = clap::value_parser!(u64).range(1..=MAX_SECS))]
    pub lock_timeout: u64,
}
// ANCHOR_END: cli

impl Cli {
    /// The server's knobs, as the flags set them.
    pub fn config(&self) -> Config {
        let count = |n: u32| usize::try_from(n).unwrap_or(usize::MAX);
        let non_zero = |n: u32| NonZeroUsize::new(count(n)).unwrap_or(NonZeroUsize::MIN);
        Config {
            max_transfers: non_zero(self.max_transfers),
            transfer_queue: count(self.transfer_queue),
            settle_batch: non_zero(self.settle_batch),
            body_limit: count(self.body_limit),
            max_connections: non_zero(self.max_connections),
            header_timeout: Duration::from_secs(self.header_timeout),
            body_timeout: Duration::from_secs(self.body_timeout),
            shutdown_grace: Duration::from_secs(self.shutdown_grace),
        }
    }

    /// The replicated mode's options, if `--postgres` is given.
    #[cfg(feature = "postgres")]
    pub fn postgres(&self) -> Option<crate::postgres::PgOptions> {
        let config = self.config();
        self.postgres
            .as_ref()
            .map(|url| crate::postgres::PgOptions {
                url: url.clone(),
                lease: Duration::from_secs(self.lease),
                lock_timeout: Duration::from_secs(self.lock_timeout),
                settle_batch: config.settle_batch,
                max_transfers: config.max_transfers,
            })
    }
}

// ANCHOR: main
/// The program: parse the command line (clap exits 2 on a mistake, 0 for
/// `--help` and `--version`), start logging, serve on 127.0.0.1 until a
/// signal or `POST /shutdown`, and exit 0 after a clean shutdown.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let _flush_on_exit = telemetry::init(cli.log_format);
    telemetry::log_panics();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            tracing::error!("cannot start the tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    ExitCode::from(runtime.block_on(run(&cli)))
}

/// Serves until shut down; the exit status: 0 after a graceful shutdown,
/// 1 if the server could not start or requests were cut off.
pub async fn run(cli: &Cli) -> u8 {
    let config = cli.config();
    let signals = match Signals::new() {
        Ok(signals) => signals,
        Err(e) => {
            tracing::error!("cannot watch for signals: {e}");
            return 1;
        }
    };
    let listener = match TcpListener::bind((Ipv4Addr::LOCALHOST, cli.port)).await {
        Ok(listener) => listener,
        Err(e) => {
            tracing::error!("cannot listen on 127.0.0.1:{}: {e}", cli.port);
            return 1;
        }
    };
    #[cfg(feature = "postgres")]
    if let Some(options) = cli.postgres() {
        return match crate::postgres::PgBank::connect(&options).await {
            Ok(bank) => serve_until_done(App::new(bank, config), signals, listener).await,
            Err(e) => {
                tracing::error!("cannot use the database: {e}");
                1
            }
        };
    }
    let app = App::new(Bank::empty(config.settle_batch), config);
    serve_until_done(app, signals, listener).await
}

/// Serves `app` until a signal or `POST /shutdown`; the exit status.
async fn serve_until_done<S: Store>(
    app: Arc<App<S>>,
    signals: Signals,
    listener: TcpListener,
) -> u8 {
    tokio::spawn(signals.shut_down(app.clone()));
    #[cfg(all(unix, feature = "debug-locks"))]
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::user_defined1()) {
        Ok(dumps) => drop(tokio::spawn(dump_on_signal(dumps))),
        Err(e) => tracing::error!("cannot watch for SIGUSR1 (no lock reports): {e}"),
    }
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

// ANCHOR: signals
/// SIGINT (Ctrl-C) and SIGTERM (what `kill`, systemd and Kubernetes send),
/// watched from before the server starts.
struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> std::io::Result<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Signals {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Signals {})
    }

    /// The next signal: its name and the exit status of a process it ends.
    async fn next(&mut self) -> (&'static str, u8) {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.interrupt.recv() => ("SIGINT (Ctrl-C)", 130),
                _ = self.terminate.recv() => ("SIGTERM", 143),
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            ("Ctrl-C", 130)
        }
    }

    /// The first signal sets the shutdown [`Event`](warden::Event), as
    /// `POST /shutdown` does; a second one exits at once.
    async fn shut_down<S: Store>(mut self, app: Arc<App<S>>) {
        let (first, _) = self.next().await;
        tracing::info!("{first}: shutting down (send it again to exit at once)");
        app.shutdown.set();
        let (second, status) = self.next().await;
        tracing::warn!("{second} during shutdown: exiting at once");
        std::process::exit(i32::from(status));
    }
}
// ANCHOR_END: signals

// ANCHOR: sigusr1
/// Feature `debug-locks`: on each SIGUSR1, warden's hang report in the log
/// (as `kill -USR1` makes a JVM print its threads, or `py-spy dump` a
/// Python program's stacks). The report reads warden's records, never the
/// locks, so a server stuck on one still answers.
#[cfg(all(unix, feature = "debug-locks"))]
async fn dump_on_signal(mut signals: tokio::signal::unix::Signal) {
    while signals.recv().await.is_some() {
        tracing::info!("SIGUSR1: {}", warden::debug::dump());
    }
}
// ANCHOR_END: sigusr1
