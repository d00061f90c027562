//! The bank as an HTTP service: axum, hyper and tower outside, warden inside.
//!
//! * the balances are `#[guarded(books)]` fields of [`Bank`]: no code can
//!   touch one without holding the `books` lock;
//! * a [`Semaphore`] bounds the transfers in progress; a bounded number
//!   more wait, and past that the server answers 503 with `Retry-After`;
//!   another caps the open connections;
//! * an [`Event`] drives graceful shutdown: SIGINT (Ctrl-C), SIGTERM or
//!   `POST /shutdown` (from loopback) sets it; the server stops accepting,
//!   finishes the requests in flight, closes idle connections, settles what
//!   is pending and exits 0;
//! * a [`Condition`](warden::Condition) on the `books` lock wakes the
//!   settlement task when `settle_batch` transfers are pending.
//!
//! Everything else is the field's standard kit: axum's router and `Json`
//! extractor, hyper's HTTP/1 connection with hyper-util's timer and graceful
//! shutdown in our own accept loop, tower-http's layers (request ids,
//! tracing, panics, body limit and deadline, cross-site checks), clap,
//! thiserror, and tracing-subscriber with a non-blocking writer.
//!
//! ```text
//! POST /accounts      {"balance": 1000}                  → 201 {"id": 1, "balance": 1000}
//! GET  /accounts/1                                       → 200 {"id": 1, "balance": 990}
//! POST /transfer      {"from": 1, "to": 2, "amount": 10} → 200 {"from": {..}, "to": {..}}
//! GET  /audit                                            → 200 {"accounts": 2, "total": 2000, "transfers": 1}
//! POST /shutdown                                         → 202, then graceful shutdown
//! ```
//!
//! Every error the application makes is `{"error": "..."}`: see
//! [`http`] for the statuses. Run: `cargo run --example bank_server --
//! --port 3000` (`--help` for the options).
//!
//! With the cargo feature `postgres`, `--postgres URL` keeps the accounts
//! in a Postgres database instead, so several `bank_server` processes
//! serve one bank, under `warden::dist` locks with fenced writes (the module
//! `postgres`; off by default).
//!
//! With the cargo feature `debug-locks` (warden's `tracing` feature; off by
//! default), `GET /debug/locks` (from loopback only) and the signal SIGUSR1
//! print warden's hang report, `warden::debug::dump()`: which lock or
//! semaphore is held, by which task, since when, acquired at which line,
//! and who waits for it. warden's own warnings (a lock held past 100 ms, a
//! lock-order inversion, a possible self-deadlock) then reach the log.

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use warden::{Event, Semaphore, SemaphorePermit};

pub mod bank;
pub mod cli;
pub mod http;
pub mod load;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod server;
pub mod telemetry;
pub mod tokio_bank;

pub use bank::{Bank, Store};
pub use server::{Summary, serve};

use http::ApiError;

/// The port used when neither `--port` nor `PORT` is given.
pub const DEFAULT_PORT: u16 = 3000;

// ANCHOR: config
/// The server's knobs (each has a command-line flag; see [`cli::Cli`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Transfers in progress at once: the transfer [`Semaphore`]'s permits.
    pub max_transfers: NonZeroUsize,
    /// Transfers that may wait for a permit; one more is answered 503.
    pub transfer_queue: usize,
    /// Pending transfers that wake the settlement task.
    pub settle_batch: NonZeroUsize,
    /// Largest request body accepted, in bytes; larger is 413.
    pub body_limit: usize,
    /// Connections open at once: the connection [`Semaphore`]'s permits.
    /// Past it the server stops accepting until one closes.
    pub max_connections: NonZeroUsize,
    /// How long a client has to send a request's headers, counted from the
    /// connection's start or the end of its previous response; so also how
    /// long an idle keep-alive connection stays open.
    pub header_timeout: Duration,
    /// How long a client has to send a request's body once its headers are
    /// in; later is 408, and nothing has happened.
    pub body_timeout: Duration,
    /// How long shutdown waits for requests in flight before giving up.
    /// A request that has just begun may take `header_timeout` plus
    /// `body_timeout` to fail for want of its client, so the default is
    /// longer than those two together.
    pub shutdown_grace: Duration,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            max_transfers: NonZeroUsize::new(64).expect("not 0"),
            transfer_queue: 1024,
            settle_batch: NonZeroUsize::new(100).expect("not 0"),
            body_limit: 1024,
            max_connections: NonZeroUsize::new(512).expect("not 0"),
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(30),
        }
    }
}
// ANCHOR_END: config

// ANCHOR: app
/// Everything the handlers and the accept loop share: the bank, and the
/// warden primitives that run the service around it.
pub struct App<S = Bank> {
    /// The state: [`Bank`] (warden, `#[guarded]`) in the real server.
    pub bank: S,
    /// The knobs.
    pub config: Config,
    /// One permit per transfer in progress.
    pub transfer_slots: Semaphore,
    /// Transfers waiting for a permit.
    queued: AtomicUsize,
    /// One permit per open connection, held by the connection's task (and
    /// one by the accept loop while it waits for the next connection).
    pub connections: Arc<Semaphore>,
    /// Connections open right now.
    open: AtomicUsize,
    /// Set once, by a signal or `POST /shutdown`: the server winds down.
    pub shutdown: Event,
}
// ANCHOR_END: app

impl<S: Store> App<S> {
    /// The shared state of a server over `bank`.
    pub fn new(bank: S, config: Config) -> Arc<App<S>> {
        Arc::new(App {
            bank,
            // Named for warden's reports (`GET /debug/locks`, feature
            // `debug-locks`); the names cost nothing in the default build.
            transfer_slots: Semaphore::new(config.max_transfers.get()).named("transfer_slots"),
            queued: AtomicUsize::new(0),
            connections: Arc::new(
                Semaphore::new(config.max_connections.get()).named("connections"),
            ),
            open: AtomicUsize::new(0),
            shutdown: Event::new().named("shutdown"),
            config,
        })
    }

    /// Transfers waiting for a permit right now.
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::SeqCst)
    }

    /// Connections open right now.
    pub fn open_connections(&self) -> usize {
        self.open.load(Ordering::SeqCst)
    }

    /// Counts a connection open until the returned guard drops.
    pub(crate) fn connection_opened(&self) -> InLine<'_> {
        InLine::join(&self.open)
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

/// A place in the transfer queue (or an open connection), counted while it
/// lives.
pub(crate) struct InLine<'a> {
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
