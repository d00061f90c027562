//! `dist::Condition`: `threading.Condition` across processes.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tokio_postgres::types::Type;

use super::error::Error;
use super::held::Pending;
use super::lock::{Lock, LockGuard, grant};
use super::session::Session;

/// `threading.Condition` for processes that share a PostgreSQL database,
/// bound to one [`Lock`].
///
/// A waiter writes a **ticket** (a row) naming the backend that listens for
/// it (its process id and start time), releases the lock, and waits for a
/// `NOTIFY`. [`notify(n)`](Condition::notify) marks the `n` oldest tickets
/// whose backend is still alive, so a crashed waiter cannot swallow a
/// wake-up: its ticket is skipped (and deleted). A waiter woken and then
/// cancelled — also while it re-takes the lock — passes its wake-up on to
/// the next waiter. After waking, `wait` takes the lock again (a new
/// grant, with a new fence token).
///
/// As in-process, `wait` has no spurious wake-ups, and `notify` may be
/// called without holding the lock: a waiter re-checks its predicate
/// under the lock.
///
/// ```no_run
/// # #![allow(dead_code)]
/// # async fn f(session: warden::dist::Session) -> Result<(), warden::dist::Error> {
/// let lock = session.lock("jobs");
/// let has_jobs = session.condition(&lock);
/// // consumer:
/// let mut guard = lock.acquire().await?;
/// guard = has_jobs.wait(guard).await?; // lock released while waiting
/// // ... take a job, under the lock ...
/// # drop(guard);
/// // producer (another process):
/// has_jobs.notify(1).await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Condition {
    session: Session,
    lock: Lock,
    channel: Arc<str>,
}

impl fmt::Debug for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condition")
            .field("lock", &self.lock.key)
            .finish_non_exhaustive()
    }
}

/// A waiter's ticket; dropped armed (the wait was cancelled or failed), it
/// is deleted and a wake-up it had taken is passed on.
struct Ticket {
    session: Session,
    id: i64,
    channel: Arc<str>,
    armed: bool,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if self.armed {
            let (session, id, channel) = (self.session.clone(), self.id, self.channel.clone());
            self.session.spawn(async move {
                if let Ok(control) = session.control().await {
                    let _ = control
                        .client
                        .query_typed(
                            &session.sql("SELECT {ns}.cond_leave($1, $2)"),
                            &[(&id, Type::INT8), (&&*channel, Type::TEXT)],
                        )
                        .await;
                }
            });
        }
    }
}

impl Condition {
    pub(crate) fn new(session: Session, lock: Lock) -> Condition {
        let channel = format!(
            "{}_c_{:016x}",
            session.options().get_namespace(),
            session.advisory_key("condition-channel", &lock.key)
        );
        Condition {
            session,
            lock,
            channel: channel.into(),
        }
    }

    /// Releases `guard`'s lock, waits for a notification, takes the lock
    /// again and returns the new guard (Python's `wait()`).
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # async fn f(lock: warden::dist::Lock, cond: warden::dist::Condition) -> Result<(), warden::dist::Error> {
    /// let guard = lock.acquire().await?;
    /// let guard = cond.wait(guard).await?;
    /// # drop(guard); Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Lost`] if the guard's lock had been lost before the wait;
    /// [`Error::Connection`] if a connection drops while waiting (the
    /// ticket is withdrawn, a wake-up it had taken passed on).
    ///
    /// # Panics
    ///
    /// If `guard` is not a guard of this condition's lock.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: the ticket is withdrawn; a notification already taken
    /// is passed on to the next waiter, also when the future is dropped
    /// while re-taking the lock (and then no lock is left held).
    pub async fn wait(&self, guard: LockGuard) -> Result<LockGuard, Error> {
        let (guard, _) = self.wait_inner(guard, None).await?;
        Ok(guard)
    }

    /// As [`wait`](Condition::wait), but gives up waiting after `d`:
    /// returns the re-taken guard and `false` if it timed out (Python's
    /// `wait(timeout)`).
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # async fn f(lock: warden::dist::Lock, cond: warden::dist::Condition) -> Result<(), warden::dist::Error> {
    /// let guard = lock.acquire().await?;
    /// let (guard, notified) = cond.wait_timeout(guard, std::time::Duration::from_secs(1)).await?;
    /// # drop((guard, notified)); Ok(())
    /// # }
    /// ```
    ///
    /// # Panics
    ///
    /// If `guard` is not a guard of this condition's lock.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`wait`](Condition::wait).
    pub async fn wait_timeout(
        &self,
        guard: LockGuard,
        d: Duration,
    ) -> Result<(LockGuard, bool), Error> {
        self.wait_inner(guard, Some(d)).await
    }

    #[allow(clippy::too_many_lines)] // one wait, in its three phases
    async fn wait_inner(
        &self,
        guard: LockGuard,
        timeout: Option<Duration>,
    ) -> Result<(LockGuard, bool), Error> {
        assert!(
            guard.key() == self.lock.key(),
            "dist::Condition::wait: the guard is of lock {:?}, but this condition is bound to lock {:?}",
            guard.key(),
            self.lock.key()
        );
        let (listener, mut woken) = self.session.listen(&self.channel).await?;
        let mut held = guard.held;
        let conn = held.conn.take().expect("a live guard has its connection");
        let used_transaction = held
            .used_transaction
            .load(std::sync::atomic::Ordering::Relaxed);
        drop(held);
        // From here until the wait is over, a drop withdraws the ticket on
        // this very connection (after its insert, if that is in flight) and
        // releases whatever the connection holds — the lock too, if the
        // unlock below had not run yet.
        let id = self.session.unique_key("ticket");
        let pending = Pending::tidy(
            &self.session,
            conn,
            self.session.sql(&format!(
                "SELECT {{ns}}.cond_leave({id}, '{}')",
                self.channel
            )),
        );
        let c = pending.conn();
        if c.is_lost() {
            return Err(c.lost_error());
        }
        if used_transaction {
            c.client
                .batch_execute("ROLLBACK")
                .await
                .map_err(|e| c.classify(e))?;
        }
        woken.borrow_and_update();
        let row = c
            .client
            .query_typed_one(
                &self.session.sql(
                    "WITH t AS (INSERT INTO {ns}.ticket (id, cond, pid, backend_start) \
                                VALUES ($5, $1, $2, $3::text::timestamptz) RETURNING id) \
                     SELECT id, pg_advisory_unlock($4) FROM t",
                ),
                &[
                    (&&*self.lock.fence_key, Type::TEXT),
                    (&listener.pid, Type::INT4),
                    (&listener.backend_start.as_str(), Type::TEXT),
                    (&self.lock.lock_key, Type::INT8),
                    (&id, Type::INT8),
                ],
            )
            .await
            .map_err(|e| c.classify(e))?;
        let unlocked: bool = row.get(1);
        if !unlocked {
            return Err(c.lost_error());
        }
        let deadline = timeout.map(|d| tokio::time::Instant::now() + d);
        let mut notified = false;
        while !notified {
            let sleep = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            let timed_out = tokio::select! {
                changed = woken.changed() => {
                    if changed.is_err() {
                        return Err(Error::connection("the listening connection closed"));
                    }
                    false
                }
                why = listener.conn.state.wait_lost() => {
                    return Err(Error::connection(&format!("the listening connection ended: {why}")));
                }
                () = sleep => true,
            };
            woken.borrow_and_update();
            if timed_out {
                break;
            }
            let control = self.session.control().await?;
            notified = control
                .client
                .query_typed_opt(
                    &self
                        .session
                        .sql("SELECT notified FROM {ns}.ticket WHERE id = $1"),
                    &[(&id, Type::INT8)],
                )
                .await?
                .is_some_and(|r| r.get(0));
        }
        // Re-taking the lock: the connection is in `grant`'s hands (a drop
        // there cancels and closes it); the ticket, notified or not, is
        // withdrawn through the control connection if this fails or is
        // dropped, passing a wake-up on.
        let conn = pending.finish();
        let mut ticket = Ticket {
            session: self.session.clone(),
            id,
            channel: self.channel.clone(),
            armed: true,
        };
        let (conn, fence) = grant(
            &self.session,
            conn,
            self.lock.lock_key,
            &self.lock.fence_key,
            true,
            None,
        )
        .await?
        .ok_or_else(|| Error::connection("lock statement returned no row"))?;
        let guard = self.lock.guard(conn, fence);
        if notified {
            // Taken: delete the ticket without passing anything on.
            ticket.armed = false;
            if let Ok(control) = self.session.control().await {
                let _ = control
                    .client
                    .query_typed(
                        &self.session.sql("DELETE FROM {ns}.ticket WHERE id = $1"),
                        &[(&id, Type::INT8)],
                    )
                    .await;
            }
        }
        // Timed out: the armed ticket's drop withdraws it and passes on a
        // wake-up that raced the timeout.
        drop(ticket);
        Ok((guard, notified))
    }

    /// Wakes up to `n` waiters (Python's `notify(n)`): the `n` oldest whose
    /// listening backend is alive. Returns how many it woke.
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # async fn f(cond: warden::dist::Condition) -> Result<(), warden::dist::Error> {
    /// let woken = cond.notify(2).await?;
    /// assert!(woken <= 2);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: one statement, which either committed or did not.
    pub async fn notify(&self, n: usize) -> Result<usize, Error> {
        let control = self.session.control().await?;
        let n = i64::try_from(n).unwrap_or(i64::MAX);
        let row = control
            .client
            .query_typed_one(
                &self.session.sql("SELECT {ns}.cond_notify($1, $2, $3)"),
                &[
                    (&&*self.lock.fence_key, Type::TEXT),
                    (&n, Type::INT8),
                    (&&*self.channel, Type::TEXT),
                ],
            )
            .await?;
        let woken: i64 = row.get(0);
        Ok(usize::try_from(woken).unwrap_or(0))
    }

    /// Wakes one waiter (Python's `notify()`).
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # async fn f(cond: warden::dist::Condition) -> Result<(), warden::dist::Error> {
    /// cond.notify_one().await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`notify`](Condition::notify).
    pub async fn notify_one(&self) -> Result<usize, Error> {
        self.notify(1).await
    }

    /// Wakes every waiter (Python's `notify_all()`).
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # async fn f(cond: warden::dist::Condition) -> Result<(), warden::dist::Error> {
    /// cond.notify_all().await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`notify`](Condition::notify).
    pub async fn notify_all(&self) -> Result<usize, Error> {
        self.notify(usize::MAX).await
    }
}
