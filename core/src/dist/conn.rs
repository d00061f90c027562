//! One server connection: its driver task, its lease heartbeat, and the
//! "lost" signal every guard on it watches.
//!
//! A [`Conn`] is owned by exactly one user at a time (a guard, a pending
//! wait, or the session's idle pool), except the session's shared control
//! and listener connections, which only run short statements.
//!
//! State of a connection, as the driver task sees it:
//!
//! ```text
//!   open ──(socket EOF / error / server FATAL)──▶ lost(reason)
//!     │                                              ▲
//!     └──(kill(): lease expired, unlock failed)──────┘  (the driver drops the
//!                                                         socket: the server
//!                                                         frees every lock)
//! ```
//!
//! `lost` is set exactly once and never cleared: a connection is never
//! revived, a new one is opened instead.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tokio_postgres::{AsyncMessage, Client, NoTls};

use super::error::{Error, Lost};

/// Where notifications received on a connection go: one counter per
/// channel, bumped on every `NOTIFY` (waiters re-read the state on each
/// bump).
#[derive(Default)]
pub(crate) struct Channels {
    map: Mutex<HashMap<String, watch::Sender<u64>>>,
}

impl Channels {
    pub(crate) fn subscribe(&self, channel: &str) -> (watch::Receiver<u64>, bool) {
        let mut map = self
            .map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(tx) = map.get(channel) {
            (tx.subscribe(), false)
        } else {
            let (tx, rx) = watch::channel(0);
            map.insert(channel.to_owned(), tx);
            (rx, true)
        }
    }

    fn deliver(&self, channel: &str) {
        let map = self
            .map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(tx) = map.get(channel) {
            tx.send_modify(|n| *n = n.wrapping_add(1));
        }
    }
}

/// What the driver task and the heartbeat share with the connection's
/// users.
pub(crate) struct ConnState {
    /// `None` while the connection is open; the reason once it ended. Set
    /// once.
    lost: watch::Sender<Option<Lost>>,
    /// Wakes the driver to drop the socket.
    kill: Notify,
    /// A blocking statement (a lock wait) is running: the server does not
    /// count the session idle, and a heartbeat would queue behind the wait.
    waiting: AtomicBool,
    /// Send time of the last heartbeat (or end of the last wait) the server
    /// answered. The server's idle clock started no earlier, so it cannot
    /// end the session before `last_ok + lease`.
    last_ok: Mutex<Instant>,
}

impl ConnState {
    pub(crate) fn mark_lost(&self, reason: &str) {
        self.lost.send_if_modified(|v| {
            if v.is_none() {
                *v = Some(Lost::new(reason));
                true
            } else {
                false
            }
        });
    }

    pub(crate) fn lost(&self) -> Option<Lost> {
        self.lost.borrow().clone()
    }

    pub(crate) async fn wait_lost(&self) -> Lost {
        let mut rx = self.lost.subscribe();
        match rx.wait_for(Option::is_some).await {
            Ok(v) => v.clone().unwrap_or_else(|| Lost::new("connection closed")),
            // The sender lives in `self`, which outlives this borrow.
            Err(_) => Lost::new("connection closed"),
        }
    }

    fn touch(&self, at: Instant) {
        let mut last = self
            .last_ok
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if at > *last {
            *last = at;
        }
    }
}

/// One connection to the server.
pub(crate) struct Conn {
    pub(crate) client: Arc<Client>,
    pub(crate) state: Arc<ConnState>,
    heartbeat: Option<JoinHandle<()>>,
}

impl Conn {
    /// Opens a connection; `channels` receives its notifications.
    pub(crate) async fn open(
        config: &tokio_postgres::Config,
        lease: Option<Duration>,
        channels: Option<Arc<Channels>>,
    ) -> Result<Conn, Error> {
        let (client, mut connection) = config.connect(NoTls).await?;
        let (lost, _) = watch::channel(None);
        let state = Arc::new(ConnState {
            lost,
            kill: Notify::new(),
            waiting: AtomicBool::new(false),
            last_ok: Mutex::new(Instant::now()),
        });
        let driver_state = state.clone();
        tokio::spawn(async move {
            let reason = loop {
                tokio::select! {
                    biased;
                    () = driver_state.kill.notified() => {
                        // Dropping `connection` closes the socket.
                        break None;
                    }
                    msg = std::future::poll_fn(|cx| connection.poll_message(cx)) => match msg {
                        None => break Some("connection closed".to_owned()),
                        Some(Err(e)) => break Some(describe(&e)),
                        Some(Ok(AsyncMessage::Notification(n))) => {
                            if let Some(channels) = &channels {
                                channels.deliver(n.channel());
                            }
                        }
                        Some(Ok(_)) => {}
                    }
                }
            };
            if let Some(reason) = reason {
                driver_state.mark_lost(&reason);
            }
        });
        let client = Arc::new(client);
        let heartbeat = lease
            .map(|lease| tokio::spawn(heartbeat(Arc::downgrade(&client), state.clone(), lease)));
        Ok(Conn {
            client,
            state,
            heartbeat,
        })
    }

    pub(crate) fn is_lost(&self) -> bool {
        self.client.is_closed() || self.state.lost.borrow().is_some()
    }

    pub(crate) fn lost_error(&self) -> Error {
        Error::Lost(
            self.state
                .lost()
                .unwrap_or_else(|| Lost::new("connection closed")),
        )
    }

    /// Ends the connection: the server frees everything it held.
    pub(crate) fn kill(&self, reason: &str) {
        self.state.mark_lost(reason);
        self.state.kill.notify_one();
    }

    /// Marks a blocking statement as running (heartbeats pause) or done.
    pub(crate) fn set_waiting(&self, waiting: bool) {
        if !waiting {
            self.state.touch(Instant::now());
        }
        self.state.waiting.store(waiting, Ordering::SeqCst);
    }

    /// Turns an error of a statement on this connection into `Lost` when the
    /// connection is gone, `Connection` otherwise.
    pub(crate) fn classify(&self, e: tokio_postgres::Error) -> Error {
        if e.is_closed() || self.client.is_closed() {
            self.kill(&describe(&e));
            self.lost_error()
        } else {
            Error::from(e)
        }
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        if let Some(h) = self.heartbeat.take() {
            h.abort();
        }
    }
}

pub(crate) fn describe(e: &tokio_postgres::Error) -> String {
    match std::error::Error::source(e) {
        Some(cause) => format!("{e}: {cause}"),
        None => e.to_string(),
    }
}

/// Keeps a leased session alive: a Sync message every `lease / 3`. If the
/// server has not answered for a whole lease (this process was paused, the
/// network is cut), the server may already have ended the session: the
/// connection is declared lost and closed.
async fn heartbeat(client: Weak<Client>, state: Arc<ConnState>, lease: Duration) {
    let period = lease / 3;
    loop {
        tokio::time::sleep(period).await;
        if state.lost.borrow().is_some() {
            return;
        }
        if state.waiting.load(Ordering::SeqCst) {
            continue;
        }
        let last = *state
            .last_ok
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if last.elapsed() >= lease {
            state.mark_lost("lease expired: the server did not answer for a whole lease");
            state.kill.notify_one();
            return;
        }
        let Some(client) = client.upgrade() else {
            return;
        };
        let sent = Instant::now();
        // Any answer, even an error (a failed transaction), shows the
        // session alive.
        let answered = tokio::time::timeout(period, client.check_connection()).await;
        drop(client);
        match answered {
            Ok(Ok(())) => state.touch(sent),
            Ok(Err(e)) if !e.is_closed() => state.touch(sent),
            Ok(Err(_)) | Err(_) => {}
        }
    }
}
