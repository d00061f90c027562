//! `dist::Semaphore` and `dist::BoundedSemaphore`.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio_postgres::types::Type;

use super::error::{Error, Lost};
use super::held::{Held, Pending, Transaction};
use super::key;
use super::session::Session;
use super::sql;

/// `threading.Semaphore` for processes that share a PostgreSQL database.
///
/// `n` permits are `n` advisory-lock *slots* (keys `base | 0` ..
/// `base | n-1`); a permit is one slot held on the connection its guard
/// owns, so a crashed holder's permit comes back as soon as the server
/// sees its connection close. Waiters queue first-come first-served behind
/// one more advisory lock, the queue lock: only its holder looks for a
/// free slot, so nobody overtakes a waiter (not even
/// [`try_acquire`](Semaphore::try_acquire), which fails while anyone
/// waits). A release wakes the queue through `NOTIFY`; a permit freed by a
/// crash is found within [`Options::poll_interval`](super::Options::poll_interval).
///
/// Every process must create the semaphore of a key with the same number
/// of permits. [`release`](Semaphore::release) adds permits, as Python's
/// `release()` without an `acquire()` does; [`SemaphorePermit::forget`]
/// takes one away for good.
///
/// ```no_run
/// # #![allow(dead_code)]
/// # async fn f(session: warden::dist::Session) -> Result<(), warden::dist::Error> {
/// let smtp = session.semaphore("smtp", 4); // at most 4 senders, fleet-wide
/// let permit = smtp.acquire().await?;
/// // ... send mail ...
/// permit.release().await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Semaphore {
    session: Session,
    key: Arc<str>,
    permits: i64,
    base: i64,
    queue: i64,
    channel: Arc<str>,
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Semaphore")
            .field("key", &self.key)
            .field("permits", &self.permits)
            .finish_non_exhaustive()
    }
}

impl Semaphore {
    pub(crate) fn new(session: Session, key: &str, permits: usize) -> Semaphore {
        assert!(
            permits > 0 && permits <= 1 << key::SLOT_BITS,
            "dist::Semaphore: permits must be in 1..=2^20, got {permits}"
        );
        let ns = session.options().get_namespace().to_owned();
        let channel = format!(
            "{ns}_s_{:016x}",
            session.advisory_key("semaphore-channel", key)
        );
        Semaphore {
            base: key::semaphore_base(&ns, key),
            queue: session.advisory_key("semaphore-queue", key),
            permits: i64::try_from(permits).unwrap_or(i64::MAX),
            key: key.into(),
            channel: channel.into(),
            session,
        }
    }

    /// The key this semaphore was made with.
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # fn f(session: warden::dist::Session) {
    /// assert_eq!(session.semaphore("smtp", 4).key(), "smtp");
    /// # }
    /// ```
    pub fn key(&self) -> &str {
        &self.key
    }

    async fn permit(
        &self,
        conn: &super::conn::Conn,
        mode: &str,
    ) -> Result<Option<(i64, u64)>, Error> {
        let start = i64::from(std::process::id()) ^ i64::from(rand_u32());
        let start = start.rem_euclid(self.permits);
        let statement = self.session.sql(sql::PERMIT);
        conn.set_waiting(true);
        let row = conn
            .client
            .query_typed_one(
                &statement,
                &[
                    (&self.queue, Type::INT8),
                    (&mode, Type::TEXT),
                    (&self.base, Type::INT8),
                    (&self.permits, Type::INT8),
                    (&&*self.key, Type::TEXT),
                    (&start, Type::INT8),
                ],
            )
            .await;
        conn.set_waiting(false);
        let row = row?;
        let slot: Option<i64> = row.get(0);
        let token: Option<i64> = row.get(1);
        Ok(slot.map(|s| (s, u64::try_from(token.unwrap_or(0)).unwrap_or(0))))
    }

    fn guard(&self, conn: super::conn::Conn, slot: i64, fence: u64) -> SemaphorePermit {
        SemaphorePermit {
            held: Held::new(
                self.session.clone(),
                conn,
                format!(
                    "SELECT pg_advisory_unlock({}), pg_notify('{}', '')",
                    self.base | slot,
                    self.channel
                ),
                fence,
            ),
            semaphore: self.clone(),
        }
    }

    /// Waits for a permit (Python's `acquire()`).
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # async fn f(sem: warden::dist::Semaphore) -> Result<(), warden::dist::Error> {
    /// let permit = sem.acquire().await?;
    /// # drop(permit); Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Connection`] if the server cannot be reached or a
    /// connection drops while waiting.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future cancels its statement and closes
    /// its connection, so neither a permit nor the queue place is kept.
    pub async fn acquire(&self) -> Result<SemaphorePermit, Error> {
        // LISTEN before looking, so a release after the look wakes us.
        let (listener, mut woken) = self.session.listen(&self.channel).await?;
        let pending = Pending::new(&self.session, self.session.conn().await?);
        woken.borrow_and_update();
        let mut got = self.permit(pending.conn(), "wait").await?;
        // Past the blocking queue wait, only short statements run: a drop
        // now frees the queue place (and a permit taken in the race) on
        // the same connection, which is then reused.
        let pending = Pending::tidy(&self.session, pending.finish(), "SELECT 1".to_owned());
        let poll = self.session.options().get_poll_interval();
        while got.is_none() {
            tokio::select! {
                changed = woken.changed() => {
                    if changed.is_err() {
                        return Err(Error::connection("the listening connection closed"));
                    }
                }
                why = listener.conn.state.wait_lost() => {
                    return Err(Error::connection(&format!("the listening connection ended: {why}")));
                }
                () = tokio::time::sleep(poll) => {}
            }
            woken.borrow_and_update();
            got = self.permit(pending.conn(), "again").await?;
        }
        let (slot, fence) = got.unwrap_or_default();
        Ok(self.guard(pending.finish(), slot, fence))
    }

    /// Takes a permit if one is free and nobody is waiting for one
    /// (Python's `acquire(blocking=False)`).
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # async fn f(sem: warden::dist::Semaphore) -> Result<(), warden::dist::Error> {
    /// if let Some(permit) = sem.try_acquire().await? {
    ///     drop(permit);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`acquire`](Semaphore::acquire).
    pub async fn try_acquire(&self) -> Result<Option<SemaphorePermit>, Error> {
        let pending = Pending::tidy(
            &self.session,
            self.session.conn().await?,
            "SELECT 1".to_owned(),
        );
        if let Some((slot, fence)) = self.permit(pending.conn(), "try").await? {
            Ok(Some(self.guard(pending.finish(), slot, fence)))
        } else {
            self.session.put(pending.finish());
            Ok(None)
        }
    }

    /// Waits for a permit at most `d` (Python's `acquire(timeout=d)`).
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # async fn f(sem: warden::dist::Semaphore) -> Result<(), warden::dist::Error> {
    /// let permit = sem.acquire_timeout(std::time::Duration::from_secs(2)).await?;
    /// # drop(permit); Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] when `d` ran out.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`acquire`](Semaphore::acquire).
    pub async fn acquire_timeout(&self, d: Duration) -> Result<SemaphorePermit, Error> {
        match tokio::time::timeout(d, self.acquire()).await {
            Ok(r) => r,
            Err(_) => Err(Error::Timeout),
        }
    }

    /// Adds `n` permits for good (Python's `release(n)` without a matching
    /// `acquire`), and wakes the queue.
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # async fn f(sem: warden::dist::Semaphore) -> Result<(), warden::dist::Error> {
    /// sem.release(1).await?; // one more concurrent holder allowed from now on
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: one statement, which either committed or did not.
    pub async fn release(&self, n: usize) -> Result<(), Error> {
        self.add_extra(i64::try_from(n).unwrap_or(i64::MAX), None)
            .await
            .map(|_| ())
    }

    /// Adds `delta` to the extra permits, refusing to go above `ceiling`;
    /// `Ok(false)` if refused.
    async fn add_extra(&self, delta: i64, ceiling: Option<i64>) -> Result<bool, Error> {
        let control = self.session.control().await?;
        let statement = self.session.sql(
            "WITH up AS ( \
               INSERT INTO {ns}.semaphore AS s (key, extra) \
               SELECT $1, $2 WHERE $3::bigint IS NULL OR $2 <= $3 \
                 OR EXISTS (SELECT 1 FROM {ns}.semaphore WHERE key = $1) \
               ON CONFLICT (key) DO UPDATE SET extra = s.extra + $2 \
               WHERE $3::bigint IS NULL OR s.extra + $2 <= $3 \
               RETURNING 1) \
             SELECT (SELECT count(*) FROM up) > 0, pg_notify($4, '')",
        );
        let row = control
            .client
            .query_typed_one(
                &statement,
                &[
                    (&&*self.key, Type::TEXT),
                    (&delta, Type::INT8),
                    (&ceiling, Type::INT8),
                    (&&*self.channel, Type::TEXT),
                ],
            )
            .await?;
        Ok(row.get(0))
    }

    /// The permits free now (stale as soon as it returns): the total minus
    /// the slots held, as `pg_locks` shows them.
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # async fn f(sem: warden::dist::Semaphore) -> Result<(), warden::dist::Error> {
    /// println!("{} free", sem.available_permits().await?);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a read.
    pub async fn available_permits(&self) -> Result<usize, Error> {
        let control = self.session.control().await?;
        let (hi, lo) = key::pg_locks_ids(self.base);
        let statement = self.session.sql(
            "SELECT greatest(0, least($1 + coalesce((SELECT extra FROM {ns}.semaphore WHERE key = $2), 0), 1048576) \
                    - (SELECT count(*) FROM pg_locks \
                       WHERE locktype = 'advisory' AND granted AND objsubid = 1 \
                         AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
                         AND classid = $3 AND (objid::bigint >> 20) = ($4::bigint >> 20)))",
        );
        let row = control
            .client
            .query_typed_one(
                &statement,
                &[
                    (&self.permits, Type::INT8),
                    (&&*self.key, Type::TEXT),
                    (&hi, Type::OID),
                    (&i64::from(lo), Type::INT8),
                ],
            )
            .await?;
        let free: i64 = row.get(0);
        Ok(usize::try_from(free).unwrap_or(0))
    }
}

/// A small per-call random number for the first slot tried (spreads
/// contending processes over the slots); not for anything secret.
fn rand_u32() -> u32 {
    use std::hash::{BuildHasher, RandomState};
    let h = RandomState::new().hash_one(std::time::Instant::now());
    (h >> 32) as u32
}

/// `threading.BoundedSemaphore` for processes that share a database: a
/// [`Semaphore`] whose [`release`](BoundedSemaphore::release) refuses to
/// raise it above its initial value ([`Error::OverRelease`], Python's
/// `ValueError`).
///
/// Since permits are owned by guards, the only permits `release` can give
/// back are those taken away by [`SemaphorePermit::forget`].
///
/// ```no_run
/// # #![allow(dead_code)]
/// # async fn f(session: warden::dist::Session) -> Result<(), warden::dist::Error> {
/// use warden::dist::Error;
/// let pool = session.bounded_semaphore("db-pool", 2);
/// assert!(matches!(pool.release(1).await, Err(Error::OverRelease)));
/// pool.acquire().await?.forget().await?; // keep one taken
/// pool.release(1).await?; // and give it back
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct BoundedSemaphore {
    inner: Semaphore,
}

impl BoundedSemaphore {
    pub(crate) fn new(session: Session, key: &str, permits: usize) -> BoundedSemaphore {
        BoundedSemaphore {
            inner: Semaphore::new(session, key, permits),
        }
    }

    /// The key this semaphore was made with.
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # fn f(session: warden::dist::Session) {
    /// assert_eq!(session.bounded_semaphore("db-pool", 2).key(), "db-pool");
    /// # }
    /// ```
    pub fn key(&self) -> &str {
        self.inner.key()
    }

    /// Waits for a permit; see [`Semaphore::acquire`].
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # async fn f(sem: warden::dist::BoundedSemaphore) -> Result<(), warden::dist::Error> {
    /// let permit = sem.acquire().await?;
    /// # drop(permit); Ok(())
    /// # }
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`Semaphore::acquire`].
    pub async fn acquire(&self) -> Result<SemaphorePermit, Error> {
        self.inner.acquire().await
    }

    /// Takes a free permit; see [`Semaphore::try_acquire`].
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # async fn f(sem: warden::dist::BoundedSemaphore) -> Result<(), warden::dist::Error> {
    /// let permit = sem.try_acquire().await?;
    /// # drop(permit); Ok(())
    /// # }
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`Semaphore::acquire`].
    pub async fn try_acquire(&self) -> Result<Option<SemaphorePermit>, Error> {
        self.inner.try_acquire().await
    }

    /// Waits for a permit at most `d`; see [`Semaphore::acquire_timeout`].
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # async fn f(sem: warden::dist::BoundedSemaphore) -> Result<(), warden::dist::Error> {
    /// let permit = sem.acquire_timeout(std::time::Duration::from_secs(1)).await?;
    /// # drop(permit); Ok(())
    /// # }
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`Semaphore::acquire`].
    pub async fn acquire_timeout(&self, d: Duration) -> Result<SemaphorePermit, Error> {
        self.inner.acquire_timeout(d).await
    }

    /// Gives back `n` permits taken away by [`SemaphorePermit::forget`].
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # async fn f(sem: warden::dist::BoundedSemaphore) -> Result<(), warden::dist::Error> {
    /// sem.acquire().await?.forget().await?;
    /// sem.release(1).await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::OverRelease`] if that would raise the semaphore above its
    /// initial value; nothing is added then.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: one statement, which either committed or did not.
    pub async fn release(&self, n: usize) -> Result<(), Error> {
        let n = i64::try_from(n).unwrap_or(i64::MAX);
        if self.inner.add_extra(n, Some(0)).await? {
            Ok(())
        } else {
            Err(Error::OverRelease)
        }
    }

    /// The permits free now; see [`Semaphore::available_permits`].
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # async fn f(sem: warden::dist::BoundedSemaphore) -> Result<(), warden::dist::Error> {
    /// println!("{}", sem.available_permits().await?);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a read.
    pub async fn available_permits(&self) -> Result<usize, Error> {
        self.inner.available_permits().await
    }
}

/// A permit of a [`Semaphore`] or [`BoundedSemaphore`]; returned when
/// dropped (at once, in the background) or [released](SemaphorePermit::release).
///
/// ```no_run
/// # #![allow(dead_code)]
/// # async fn f(sem: warden::dist::Semaphore) -> Result<(), warden::dist::Error> {
/// let permit = sem.acquire().await?;
/// println!("fence {}", permit.fence());
/// permit.release().await?;
/// # Ok(())
/// # }
/// ```
#[must_use = "the permit is returned when dropped"]
#[clippy::has_significant_drop]
pub struct SemaphorePermit {
    held: Held,
    semaphore: Semaphore,
}

impl fmt::Debug for SemaphorePermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphorePermit")
            .field("key", &self.semaphore.key)
            .field("fence", &self.held.fence)
            .finish_non_exhaustive()
    }
}

impl SemaphorePermit {
    /// The fence token of this grant: strictly increasing per semaphore key
    /// over all its permits.
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # async fn f(sem: warden::dist::Semaphore) -> Result<(), warden::dist::Error> {
    /// let fence = sem.acquire().await?.fence();
    /// # let _ = fence; Ok(())
    /// # }
    /// ```
    pub fn fence(&self) -> u64 {
        self.held.fence
    }

    /// Resolves when the permit's session has ended (the permit is back in
    /// the pool for others); see [`LockGuard::lost`](super::LockGuard::lost).
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # async fn f(sem: warden::dist::Semaphore) -> Result<(), warden::dist::Error> {
    /// let permit = sem.acquire().await?;
    /// eprintln!("{}", permit.lost().await);
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

    /// Whether [`lost`](SemaphorePermit::lost) has resolved.
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # async fn f(sem: warden::dist::Semaphore) -> Result<(), warden::dist::Error> {
    /// assert!(!sem.acquire().await?.is_lost());
    /// # Ok(())
    /// # }
    /// ```
    pub fn is_lost(&self) -> bool {
        self.held.is_lost()
    }

    /// Begins a transaction on the permit's own connection; see
    /// [`LockGuard::transaction`](super::LockGuard::transaction).
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # async fn f(sem: warden::dist::Semaphore) -> Result<(), warden::dist::Error> {
    /// let mut permit = sem.acquire().await?;
    /// permit.transaction().await?.commit().await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`LockGuard::transaction`](super::LockGuard::transaction).
    pub async fn transaction(&mut self) -> Result<Transaction<'_>, Error> {
        self.held.transaction().await
    }

    /// Returns the permit now and reports how it went.
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # async fn f(sem: warden::dist::Semaphore) -> Result<(), warden::dist::Error> {
    /// sem.acquire().await?.release().await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Lost`] if the server had already freed it.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropped half-way, the connection is closed and the
    /// server frees the permit.
    pub async fn release(self) -> Result<(), Error> {
        self.held.release().await
    }

    /// Keeps the permit taken for good (the semaphore has one permit fewer
    /// from now on), as in-process `SemaphorePermit::forget`. A
    /// [`BoundedSemaphore::release`] can give it back.
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # async fn f(sem: warden::dist::Semaphore) -> Result<(), warden::dist::Error> {
    /// sem.acquire().await?.forget().await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Dropped before the statement ran, the permit is simply returned.
    pub async fn forget(self) -> Result<(), Error> {
        self.semaphore.add_extra(-1, None).await?;
        self.held.release().await
    }
}
