//! `dist::Event`: `threading.Event` across processes.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tokio_postgres::types::Type;

use super::error::Error;
use super::session::Session;

/// `threading.Event` for processes that share a PostgreSQL database.
///
/// A row (`is_set`, `generation`) and a `NOTIFY` channel. `set()` makes
/// the flag true and, if it was false, bumps the generation and notifies,
/// in one transaction. A waiter first `LISTEN`s, then reads the row, then
/// waits for notifications, re-reading on each: it returns when the flag
/// is set **or the generation has moved** since its first read — so a
/// `set()` followed at once by `clear()` still releases every process that
/// was waiting, as Python promises.
///
/// The flag lives in a table, so it survives restarts of the server and of
/// every client: a process that starts (or reconnects) after a `set()` sees
/// it set.
///
/// ```no_run
/// # #![allow(dead_code)]
/// # async fn f(session: warden::dist::Session) -> Result<(), warden::dist::Error> {
/// let ready = session.event("cache-warm");
/// // in the warming process:
/// ready.set().await?;
/// // in every other process:
/// ready.wait().await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Event {
    session: Session,
    key: Arc<str>,
    channel: Arc<str>,
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl Event {
    pub(crate) fn new(session: Session, key: &str) -> Event {
        let channel = format!(
            "{}_e_{:016x}",
            session.options().get_namespace(),
            session.advisory_key("event-channel", key)
        );
        Event {
            session,
            key: key.into(),
            channel: channel.into(),
        }
    }

    /// The key this event was made with.
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # fn f(session: warden::dist::Session) {
    /// assert_eq!(session.event("cache-warm").key(), "cache-warm");
    /// # }
    /// ```
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Sets the flag and wakes every process waiting (Python's `set()`).
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # async fn f(ev: warden::dist::Event) -> Result<(), warden::dist::Error> {
    /// ev.set().await?;
    /// assert!(ev.is_set().await?);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: one statement, which either committed or did not.
    pub async fn set(&self) -> Result<(), Error> {
        let control = self.session.control().await?;
        control
            .client
            .query_typed(
                &self.session.sql("SELECT {ns}.event_set($1, $2)"),
                &[(&&*self.key, Type::TEXT), (&&*self.channel, Type::TEXT)],
            )
            .await?;
        Ok(())
    }

    /// Clears the flag (Python's `clear()`). Processes waiting when an
    /// earlier `set()` happened are released all the same.
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # async fn f(ev: warden::dist::Event) -> Result<(), warden::dist::Error> {
    /// ev.clear().await?;
    /// assert!(!ev.is_set().await?);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: one statement.
    pub async fn clear(&self) -> Result<(), Error> {
        let control = self.session.control().await?;
        control
            .client
            .query_typed(
                &self
                    .session
                    .sql("UPDATE {ns}.event SET is_set = false WHERE key = $1"),
                &[(&&*self.key, Type::TEXT)],
            )
            .await?;
        Ok(())
    }

    /// Whether the flag is set (Python's `is_set()`).
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # async fn f(ev: warden::dist::Event) -> Result<(), warden::dist::Error> {
    /// if ev.is_set().await? { /* ... */ }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a read.
    pub async fn is_set(&self) -> Result<bool, Error> {
        Ok(self.read().await?.0)
    }

    async fn read(&self) -> Result<(bool, i64), Error> {
        let control = self.session.control().await?;
        let row = control
            .client
            .query_typed_opt(
                &self
                    .session
                    .sql("SELECT is_set, generation FROM {ns}.event WHERE key = $1"),
                &[(&&*self.key, Type::TEXT)],
            )
            .await?;
        Ok(row.map_or((false, 0), |r| (r.get(0), r.get(1))))
    }

    /// Waits until the flag is set (Python's `wait()`); returns at once if
    /// it is.
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # async fn f(ev: warden::dist::Event) -> Result<(), warden::dist::Error> {
    /// ev.wait().await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Connection`] if the listening connection drops while
    /// waiting: a `set()` made then would not be heard, so the wait ends
    /// rather than hang. Waiting again reconnects and reads the flag
    /// afresh.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a waiter holds nothing on the server.
    pub async fn wait(&self) -> Result<(), Error> {
        let (listener, mut woken) = self.session.listen(&self.channel).await?;
        woken.borrow_and_update();
        let (set, first) = self.read().await?;
        if set {
            return Ok(());
        }
        loop {
            tokio::select! {
                changed = woken.changed() => {
                    if changed.is_err() {
                        return Err(Error::connection("the listening connection closed"));
                    }
                }
                why = listener.conn.state.wait_lost() => {
                    return Err(Error::connection(&format!("the listening connection ended: {why}")));
                }
            }
            woken.borrow_and_update();
            let (set, generation) = self.read().await?;
            if set || generation != first {
                return Ok(());
            }
        }
    }

    /// Waits at most `d` (Python's `wait(timeout=d)`): `Ok(true)` if the
    /// flag was set, `Ok(false)` on timeout.
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # async fn f(ev: warden::dist::Event) -> Result<(), warden::dist::Error> {
    /// if !ev.wait_timeout(std::time::Duration::from_secs(5)).await? {
    ///     eprintln!("still not set");
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`wait`](Event::wait).
    pub async fn wait_timeout(&self, d: Duration) -> Result<bool, Error> {
        match tokio::time::timeout(d, self.wait()).await {
            Ok(r) => r.map(|()| true),
            Err(_) => Ok(false),
        }
    }
}
