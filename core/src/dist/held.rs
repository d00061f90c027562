//! What every guard shares: a connection holding one server lock, its
//! release (now, or at once in the background on drop), its transaction,
//! and the cleanup of a wait dropped half-way.

use std::future::Future;
use std::ops::Deref;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Waker};

use tokio_postgres::{Client, SimpleQueryMessage};

use super::conn::Conn;
use super::error::{Error, Lost};
use super::session::Session;

/// A connection that holds a server lock, and how to let it go.
pub(crate) struct Held {
    pub(crate) session: Session,
    /// `None` once released or handed on (condition wait).
    pub(crate) conn: Option<Conn>,
    /// The statement that frees the lock; its first column is `t` if the
    /// lock was held.
    pub(crate) unlock: String,
    pub(crate) fence: u64,
    /// A transaction was opened on the connection: roll back whatever may
    /// be left open before the connection is reused.
    pub(crate) used_transaction: AtomicBool,
}

impl Held {
    pub(crate) fn new(session: Session, conn: Conn, unlock: String, fence: u64) -> Held {
        Held {
            session,
            conn: Some(conn),
            unlock,
            fence,
            used_transaction: AtomicBool::new(false),
        }
    }

    pub(crate) fn conn(&self) -> &Conn {
        self.conn.as_ref().expect("a live guard has its connection")
    }

    /// Owns what it watches: the returned future does not borrow the guard.
    pub(crate) fn lost(&self) -> impl Future<Output = Lost> + Send + 'static {
        let state = self.conn().state.clone();
        async move { state.wait_lost().await }
    }

    pub(crate) fn is_lost(&self) -> bool {
        self.conn().is_lost()
    }

    pub(crate) async fn transaction(&self) -> Result<Transaction<'_>, Error> {
        self.used_transaction.store(true, Ordering::Relaxed);
        let conn = self.conn.as_ref().expect("a live guard has its connection");
        if conn.is_lost() {
            return Err(conn.lost_error());
        }
        conn.client
            .batch_execute("BEGIN")
            .await
            .map_err(|e| conn.classify(e))?;
        Ok(Transaction {
            conn,
            finished: false,
        })
    }

    pub(crate) async fn release(mut self) -> Result<(), Error> {
        let conn = self.conn.take().expect("a live guard has its connection");
        unlock(&self.session, conn, &self.statement()).await
    }

    fn statement(&self) -> String {
        if self.used_transaction.load(Ordering::Relaxed) {
            format!("ROLLBACK; {}", self.unlock)
        } else {
            self.unlock.clone()
        }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            let statement = self.statement();
            let session = self.session.clone();
            self.session.spawn(async move {
                let _ = unlock(&session, conn, &statement).await;
            });
        }
    }
}

/// Runs `statement` (an unlock) on `conn`; on success the connection
/// holds nothing and goes back to the session, on any failure it is closed
/// so the server frees whatever it still held.
async fn unlock(session: &Session, conn: Conn, statement: &str) -> Result<(), Error> {
    if conn.is_lost() {
        return Err(conn.lost_error());
    }
    match conn.client.simple_query(statement).await {
        Ok(messages) => {
            let held = messages.iter().any(|m| match m {
                SimpleQueryMessage::Row(row) => row.get(0) == Some("t"),
                _ => false,
            });
            if held {
                session.put(conn);
                Ok(())
            } else {
                conn.kill("the server no longer held the lock");
                Err(conn.lost_error())
            }
        }
        Err(e) => {
            let err = conn.classify(e);
            conn.kill("unlock failed");
            Err(err)
        }
    }
}

/// A transaction on a guard's own connection.
///
/// Dereferences to the driver's [`Client`](tokio_postgres::Client), so
/// `execute`, `query`, `prepare` and friends run inside the transaction.
/// End it with [`commit`](Transaction::commit); dropped without, it rolls
/// back.
///
/// It is fenced for free: the statements run on the very session that
/// holds the lock, so if the lock was lost (the session ended), the
/// transaction cannot commit.
///
/// ```no_run
/// # #![allow(dead_code)]
/// # async fn f(session: warden::dist::Session) -> Result<(), Box<dyn std::error::Error>> {
/// let mut guard = session.lock("account/7").acquire().await?;
/// let tx = guard.transaction().await?;
/// tx.execute("UPDATE account SET balance = balance - 10 WHERE id = 7", &[]).await?;
/// tx.commit().await?; // fails if the lock was lost meanwhile
/// # Ok(())
/// # }
/// ```
#[must_use = "a transaction rolls back when dropped; call `commit`"]
pub struct Transaction<'a> {
    conn: &'a Conn,
    finished: bool,
}

impl Transaction<'_> {
    /// Commits the transaction.
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # async fn f(mut guard: warden::dist::LockGuard) -> Result<(), warden::dist::Error> {
    /// let tx = guard.transaction().await?;
    /// tx.commit().await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Lost`] if the guard's session ended (nothing was
    /// committed); [`Error::Connection`] if the server refused the commit
    /// (a deferred constraint, a serialization failure).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future after the `COMMIT` was sent leaves the outcome
    /// unknown to the caller (as with any database client); the guard rolls
    /// back whatever is left open before its connection is reused.
    pub async fn commit(mut self) -> Result<(), Error> {
        self.finished = true;
        let conn = self.conn;
        conn.client
            .batch_execute("COMMIT")
            .await
            .map_err(|e| conn.classify(e))
    }

    /// Rolls the transaction back.
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # async fn f(mut guard: warden::dist::LockGuard) -> Result<(), warden::dist::Error> {
    /// let tx = guard.transaction().await?;
    /// tx.rollback().await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: the guard rolls back whatever is left open before its
    /// connection is reused.
    pub async fn rollback(mut self) -> Result<(), Error> {
        self.finished = true;
        let conn = self.conn;
        conn.client
            .batch_execute("ROLLBACK")
            .await
            .map_err(|e| conn.classify(e))
    }
}

impl Deref for Transaction<'_> {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.conn.client
    }
}

impl std::fmt::Debug for Transaction<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction").finish_non_exhaustive()
    }
}

impl Drop for Transaction<'_> {
    fn drop(&mut self) {
        if !self.finished {
            // The driver queues a request on the first poll of its future,
            // so one poll puts the ROLLBACK ahead of anything sent later on
            // this connection; its answer is not needed.
            let fut = self.conn.client.batch_execute("ROLLBACK");
            let mut fut = pin!(fut);
            let _ = fut.as_mut().poll(&mut Context::from_waker(Waker::noop()));
        }
    }
}

/// A connection on which a wait is in progress. Dropped before
/// [`finish`](Pending::finish) (the wait was cancelled, or failed):
///
/// * while a *blocking* statement may run ([`Pending::new`]), it is
///   abandoned: a cancel request for the statement, then closed, so no
///   lock or queue place it may hold survives;
/// * while only short statements run ([`Pending::tidy`]), the given
///   clean-up SQL and `pg_advisory_unlock_all()` run on the same
///   connection — after whatever statement is still in flight, so they see
///   its effects — and the connection is reused; if that fails, it is
///   closed.
pub(crate) struct Pending {
    session: Session,
    conn: Option<Conn>,
    /// `None`: abandon; `Some(sql)`: tidy with `sql`.
    tidy: Option<String>,
}

impl Pending {
    pub(crate) fn new(session: &Session, conn: Conn) -> Pending {
        Pending {
            session: session.clone(),
            conn: Some(conn),
            tidy: None,
        }
    }

    pub(crate) fn tidy(session: &Session, conn: Conn, cleanup: String) -> Pending {
        Pending {
            session: session.clone(),
            conn: Some(conn),
            tidy: Some(cleanup),
        }
    }

    pub(crate) fn conn(&self) -> &Conn {
        self.conn.as_ref().expect("pending wait has its connection")
    }

    pub(crate) fn finish(mut self) -> Conn {
        self.conn.take().expect("pending wait has its connection")
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else { return };
        match self.tidy.take() {
            None => self.session.abandon(conn),
            Some(cleanup) => {
                let session = self.session.clone();
                self.session.spawn(async move {
                    let statement = format!("{cleanup}; SELECT pg_advisory_unlock_all()");
                    match conn.client.simple_query(&statement).await {
                        Ok(_) => session.put(conn),
                        Err(_) => conn.kill("clean-up failed"),
                    }
                });
            }
        }
    }
}
