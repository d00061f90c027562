//! `dist::Lock`: `threading.Lock` across processes.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use std::pin::pin;

use tokio_postgres::NoTls;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{ToSql, Type};

use super::conn::Conn;
use super::error::{Error, Lost};
use super::held::{Held, Pending, Transaction};
use super::session::Session;
use super::sql;

/// `threading.Lock` for processes that share a PostgreSQL database.
///
/// A session-level advisory lock (`pg_advisory_lock`) on a connection the
/// guard owns. The server holds it for as long as that connection lives:
/// if the holding process crashes, the kernel closes its socket and the
/// server frees the lock at once — no timeout involved.
///
/// Like `threading.Lock` and unlike PostgreSQL's own advisory locks, it
/// is *not* re-entrant: each acquire uses a connection of its own, so a
/// task that acquires it twice waits for itself (use [`RLock`](super::RLock)
/// for re-entry). PostgreSQL stacks re-acquisitions on one session, which is
/// why warden never acquires two locks on one connection.
///
/// Every grant also bumps the key's **fence token** ([`LockGuard::fence`]),
/// in the same statement: strictly increasing per key, across processes
/// and server restarts. Writes to storage that outlives the lock carry it,
/// and storage refuses a token older than one it has seen: a holder that
/// was paused or cut off past the loss of its lock cannot overwrite its
/// successor's work.
///
/// Waiters are queued by the server: PostgreSQL grants a released advisory
/// lock to waiters in the order they asked.
///
/// ```no_run
/// use warden::dist::{Options, Session};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), warden::dist::Error> {
/// let session = Session::connect("postgres://app@127.0.0.1/app", Options::default()).await?;
/// let lock = session.lock("billing/42");
/// {
///     let guard = lock.acquire().await?; // `with lock:`
///     println!("fence {}", guard.fence());
/// } // released here, at once, on a background task
/// assert!(lock.try_acquire().await?.is_some());
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
#[allow(clippy::struct_field_names)] // `lock_key`: the advisory key, vs. `key`: the name
pub struct Lock {
    pub(crate) session: Session,
    pub(crate) key: Arc<str>,
    pub(crate) lock_key: i64,
    pub(crate) fence_key: Arc<str>,
}

impl fmt::Debug for Lock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lock")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl Lock {
    pub(crate) fn new(session: Session, key: &str) -> Lock {
        Lock {
            lock_key: session.advisory_key("lock", key),
            fence_key: format!("lock:{key}").into(),
            key: key.into(),
            session,
        }
    }

    /// The key this lock was made with.
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # fn f(session: warden::dist::Session) {
    /// assert_eq!(session.lock("billing/42").key(), "billing/42");
    /// # }
    /// ```
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Waits for the lock (Python's `acquire()`, `with lock:`).
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # async fn f(lock: warden::dist::Lock) -> Result<(), warden::dist::Error> {
    /// let guard = lock.acquire().await?;
    /// guard.release().await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Connection`] if the server cannot be reached or the
    /// connection drops while waiting (never retried behind your back).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe. Dropping the future sends the server a cancel request
    /// for the waiting statement and closes its connection, so no lock and
    /// no place in the queue is left behind — also when the lock was
    /// granted just as the future was dropped.
    pub async fn acquire(&self) -> Result<LockGuard, Error> {
        let conn = self.session.conn().await?;
        let (conn, fence) = grant(
            &self.session,
            conn,
            self.lock_key,
            &self.fence_key,
            true,
            None,
        )
        .await?
        .ok_or_else(|| Error::Lost(Lost::new("lock statement returned no row")))?;
        Ok(self.guard(conn, fence))
    }

    /// Takes the lock if it is free (Python's `acquire(blocking=False)`).
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # async fn f(lock: warden::dist::Lock) -> Result<(), warden::dist::Error> {
    /// match lock.try_acquire().await? {
    ///     Some(guard) => println!("got it: fence {}", guard.fence()),
    ///     None => println!("someone else has it"),
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`acquire`](Lock::acquire).
    pub async fn try_acquire(&self) -> Result<Option<LockGuard>, Error> {
        let conn = self.session.conn().await?;
        Ok(grant(
            &self.session,
            conn,
            self.lock_key,
            &self.fence_key,
            false,
            None,
        )
        .await?
        .map(|(conn, fence)| self.guard(conn, fence)))
    }

    /// Waits for the lock at most `d` (Python's `acquire(timeout=d)`).
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # async fn f(lock: warden::dist::Lock) -> Result<(), warden::dist::Error> {
    /// # use std::time::Duration;
    /// use warden::dist::Error;
    /// match lock.acquire_timeout(Duration::from_secs(1)).await {
    ///     Ok(guard) => drop(guard),
    ///     Err(Error::Timeout) => println!("busy"),
    ///     Err(e) => return Err(e),
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] when `d` ran out. The wait is cancelled on the
    /// server before this returns: nothing is left acquired or queued (a
    /// wait *dropped* is cleaned up in the background instead, at once).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`acquire`](Lock::acquire).
    pub async fn acquire_timeout(&self, d: Duration) -> Result<LockGuard, Error> {
        let deadline = tokio::time::Instant::now() + d;
        let conn = tokio::time::timeout_at(deadline, self.session.conn())
            .await
            .map_err(|_| Error::Timeout)??;
        let (conn, fence) = grant(
            &self.session,
            conn,
            self.lock_key,
            &self.fence_key,
            true,
            Some(deadline),
        )
        .await?
        .ok_or_else(|| Error::Lost(Lost::new("lock statement returned no row")))?;
        Ok(self.guard(conn, fence))
    }

    /// Whether some session holds the lock now (from `pg_locks`; stale as
    /// soon as it returns).
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # async fn f(lock: warden::dist::Lock) -> Result<(), warden::dist::Error> {
    /// let guard = lock.acquire().await?;
    /// assert!(lock.locked().await?);
    /// # drop(guard); Ok(())
    /// # }
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a read.
    pub async fn locked(&self) -> Result<bool, Error> {
        let control = self.session.control().await?;
        let row = control
            .client
            .query_typed_one(
                &self.session.sql(sql::HELD),
                &[(&self.lock_key, Type::INT8)],
            )
            .await?;
        Ok(row.get(0))
    }

    pub(crate) fn guard(&self, conn: Conn, fence: u64) -> LockGuard {
        LockGuard {
            held: Held::new(
                self.session.clone(),
                conn,
                format!("SELECT pg_advisory_unlock({})", self.lock_key),
                fence,
            ),
            key: self.key.clone(),
        }
    }
}

/// Runs the lock statement on `conn`; `Some((conn, fence))` when granted.
/// Dropped half-way, the connection is abandoned (cancel + close). With a
/// `deadline`, a wait still pending then is cancelled before this returns
/// [`Error::Timeout`]: the server holds nothing for it any more.
pub(crate) async fn grant(
    session: &Session,
    conn: Conn,
    lock_key: i64,
    fence_key: &str,
    wait: bool,
    deadline: Option<tokio::time::Instant>,
) -> Result<Option<(Conn, u64)>, Error> {
    enum Outcome {
        Done(Result<Vec<tokio_postgres::Row>, tokio_postgres::Error>),
        /// Timed out; the statement's own result after the cancel request.
        TimedOut(Result<Vec<tokio_postgres::Row>, tokio_postgres::Error>),
    }
    let pending = Pending::new(session, conn);
    let statement = session.sql(if wait { sql::LOCK } else { sql::TRY_LOCK });
    let outcome = {
        let c = pending.conn();
        c.set_waiting(true);
        let params: [(&(dyn ToSql + Sync), Type); 2] =
            [(&lock_key, Type::INT8), (&fence_key, Type::TEXT)];
        let query = c.client.query_typed(&statement, &params);
        let mut query = pin!(query);
        let outcome = match deadline {
            None => Outcome::Done(query.await),
            Some(at) => tokio::select! {
                r = &mut query => Outcome::Done(r),
                () = tokio::time::sleep_until(at) => {
                    let _ = c.client.cancel_token().cancel_query(NoTls).await;
                    Outcome::TimedOut(query.await)
                }
            },
        };
        c.set_waiting(false);
        outcome
    };
    match outcome {
        Outcome::Done(rows) => {
            let rows = rows?;
            if let Some(row) = rows.first() {
                let token: i64 = row.get(0);
                Ok(Some((pending.finish(), u64::try_from(token).unwrap_or(0))))
            } else {
                session.put(pending.finish());
                Ok(None)
            }
        }
        Outcome::TimedOut(Err(e)) if e.code() == Some(&SqlState::QUERY_CANCELED) => {
            // The wait was cancelled: nothing is held. The connection is not
            // reused all the same: the server signals a cancel to the
            // backend and to its process group, and a second delivery can
            // cancel whatever the connection runs next.
            pending.finish().kill("timed out");
            Err(Error::Timeout)
        }
        Outcome::TimedOut(Ok(_)) => {
            // Granted just before the cancel landed: give it back, then
            // close the connection (the cancel request may still arrive).
            let conn = pending.finish();
            let _ = conn
                .client
                .simple_query(&format!("SELECT pg_advisory_unlock({lock_key})"))
                .await;
            conn.kill("timed out");
            Err(Error::Timeout)
        }
        // Anything else: abandon the connection (dropping `pending`).
        Outcome::TimedOut(Err(_)) => Err(Error::Timeout),
    }
}

/// Holds a [`Lock`]; releases it when dropped.
///
/// The lock lives in the guard's own server session. If that session ends
/// — the connection drops, the server restarts, the lease expires — the
/// server has freed the lock and another process may hold it:
/// [`lost`](LockGuard::lost) resolves, and writes fenced with
/// [`fence`](LockGuard::fence) or made in [`transaction`](LockGuard::transaction)
/// are refused.
///
/// Dropping the guard unlocks at once on a background task (not at the
/// connection's next use); if the unlock fails the connection is closed,
/// so the server frees the lock anyway. [`release`](LockGuard::release)
/// does the same and tells you how it went.
///
/// ```no_run
/// # #![allow(dead_code)]
/// # async fn f(lock: warden::dist::Lock) -> Result<(), warden::dist::Error> {
/// let guard = lock.acquire().await?;
/// tokio::select! {
///     why = guard.lost() => eprintln!("lost the lock: {why}"),
///     () = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
/// }
/// guard.release().await?;
/// # Ok(())
/// # }
/// ```
#[must_use = "the lock is released when the guard is dropped"]
#[clippy::has_significant_drop]
pub struct LockGuard {
    pub(crate) held: Held,
    key: Arc<str>,
}

impl fmt::Debug for LockGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockGuard")
            .field("key", &self.key)
            .field("fence", &self.held.fence)
            .finish_non_exhaustive()
    }
}

impl LockGuard {
    /// The fence token of this grant: strictly greater than that of every
    /// earlier grant of the same key, by any process.
    ///
    /// Carry it with every write the lock protects, and have the storage
    /// refuse a token smaller than the largest it has seen:
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # async fn f(lock: warden::dist::Lock, db: tokio_postgres::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// let guard = lock.acquire().await?;
    /// let fence = i64::try_from(guard.fence())?;
    /// let written = db
    ///     .execute(
    ///         "UPDATE report SET body = $1, fence = $2 WHERE id = 1 AND fence <= $2",
    ///         &[&"new body", &fence],
    ///     )
    ///     .await?;
    /// if written == 0 {
    ///     // a newer holder has written: this guard's lock was lost
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn fence(&self) -> u64 {
        self.held.fence
    }

    /// The key of the lock this guard holds.
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # async fn f(lock: warden::dist::Lock) -> Result<(), warden::dist::Error> {
    /// assert_eq!(lock.acquire().await?.key(), lock.key());
    /// # Ok(())
    /// # }
    /// ```
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Resolves when the guard's session has ended (connection closed or
    /// broken, server restarted, lease expired): from then on the server no
    /// longer holds the lock for it. Never resolves while the lock is held.
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # async fn f(lock: warden::dist::Lock) -> Result<(), warden::dist::Error> {
    /// let guard = lock.acquire().await?;
    /// let why = guard.lost().await; // e.g. the server restarted
    /// eprintln!("{why}");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// The future owns what it watches (it does not borrow the guard), so
    /// it can race work that uses the guard, as in `tokio::select!`.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it only watches.
    pub fn lost(&self) -> impl Future<Output = Lost> + Send + 'static {
        self.held.lost()
    }

    /// Whether [`lost`](LockGuard::lost) has resolved.
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # async fn f(lock: warden::dist::Lock) -> Result<(), warden::dist::Error> {
    /// let guard = lock.acquire().await?;
    /// assert!(!guard.is_lost());
    /// # Ok(())
    /// # }
    /// ```
    pub fn is_lost(&self) -> bool {
        self.held.is_lost()
    }

    /// Begins a transaction on the guard's own connection: it can commit
    /// only while the session — and so the lock — is alive.
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # async fn f(lock: warden::dist::Lock) -> Result<(), Box<dyn std::error::Error>> {
    /// let mut guard = lock.acquire().await?;
    /// let tx = guard.transaction().await?;
    /// tx.execute("UPDATE account SET balance = balance + 1 WHERE id = 1", &[]).await?;
    /// tx.commit().await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Lost`] if the session has ended.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a transaction left open is rolled back before the
    /// connection is reused.
    pub async fn transaction(&mut self) -> Result<Transaction<'_>, Error> {
        self.held.transaction().await
    }

    /// Releases the lock now and reports how it went (Python's
    /// `release()`); dropping the guard does the same in the background.
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # async fn f(lock: warden::dist::Lock) -> Result<(), warden::dist::Error> {
    /// let guard = lock.acquire().await?;
    /// guard.release().await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Lost`] if the lock had already been lost (the server had
    /// freed it).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropped half-way, the connection is closed and the
    /// server frees the lock.
    pub async fn release(self) -> Result<(), Error> {
        self.held.release().await
    }
}
