//! `dist::Barrier`: `threading.Barrier` across processes.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tokio_postgres::types::Type;

use super::error::Error;
use super::held::Pending;
use super::session::Session;

/// `threading.Barrier` for processes that share a PostgreSQL database.
///
/// A row (generation, broken) and a `NOTIFY` channel. Each waiting party
/// holds an advisory lock of its own on its own connection and has a row
/// naming that lock; the last party to arrive trips the barrier, marking
/// every waiting party passed, in one transaction. If a waiting party's
/// process dies, its connection closes and its lock is freed: the other
/// parties see that (at the next arrival, or within
/// [`Options::poll_interval`](super::Options::poll_interval)) and the
/// barrier breaks — it does not hang.
///
/// Python semantics otherwise: broken stays broken until
/// [`reset`](Barrier::reset); a [`wait_timeout`](Barrier::wait_timeout)
/// that runs out breaks the barrier for everyone; a `wait` dropped before
/// the barrier trips withdraws its arrival without breaking it (as
/// `asyncio.Barrier`). There is no barrier *action*: run it in the party
/// whose result [`is_leader`](BarrierWaitResult::is_leader).
///
/// ```no_run
/// # #![allow(dead_code)]
/// # async fn f(session: warden::dist::Session) -> Result<(), warden::dist::Error> {
/// let loaded = session.barrier("reindex/phase-1", 3); // three worker processes
/// let arrival = loaded.wait().await?;
/// if arrival.is_leader() {
///     println!("all three have loaded; I switch the alias");
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Barrier {
    session: Session,
    key: Arc<str>,
    parties: usize,
    channel: Arc<str>,
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Barrier")
            .field("key", &self.key)
            .field("parties", &self.parties)
            .finish_non_exhaustive()
    }
}

/// What [`Barrier::wait`] returns: the arrival index and whether this
/// party tripped the barrier.
///
/// ```no_run
/// # #![allow(dead_code)]
/// # async fn f(b: warden::dist::Barrier) -> Result<(), warden::dist::Error> {
/// let r = b.wait().await?;
/// println!("arrived {} of {}", r.index() + 1, b.parties());
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BarrierWaitResult {
    index: usize,
    leader: bool,
}

impl BarrierWaitResult {
    /// The arrival index in this generation, `0..parties` (Python's return
    /// value of `wait()`).
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # async fn f(b: warden::dist::Barrier) -> Result<(), warden::dist::Error> {
    /// assert!(b.wait().await?.index() < b.parties());
    /// # Ok(())
    /// # }
    /// ```
    pub fn index(&self) -> usize {
        self.index
    }

    /// Whether this party tripped the barrier (the last to arrive):
    /// exactly one per generation.
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # async fn f(b: warden::dist::Barrier) -> Result<(), warden::dist::Error> {
    /// if b.wait().await?.is_leader() { /* run the phase action */ }
    /// # Ok(())
    /// # }
    /// ```
    pub fn is_leader(&self) -> bool {
        self.leader
    }
}

impl Barrier {
    pub(crate) fn new(session: Session, key: &str, parties: usize) -> Barrier {
        assert!(parties > 0, "dist::Barrier: parties must be at least 1");
        let channel = format!(
            "{}_b_{:016x}",
            session.options().get_namespace(),
            session.advisory_key("barrier-channel", key)
        );
        Barrier {
            session,
            key: key.into(),
            parties,
            channel: channel.into(),
        }
    }

    /// The number of parties (Python's `parties`).
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # fn f(session: warden::dist::Session) {
    /// assert_eq!(session.barrier("b", 3).parties(), 3);
    /// # }
    /// ```
    pub fn parties(&self) -> usize {
        self.parties
    }

    /// The key this barrier was made with.
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # fn f(session: warden::dist::Session) {
    /// assert_eq!(session.barrier("b", 3).key(), "b");
    /// # }
    /// ```
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Waits until `parties` parties (in any processes) are waiting, then
    /// releases them all (Python's `wait()`).
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # async fn f(b: warden::dist::Barrier) -> Result<(), warden::dist::Error> {
    /// b.wait().await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::BrokenBarrier`] if the barrier is or becomes broken
    /// (aborted, reset, timed out, a waiting party died);
    /// [`Error::Connection`] if a connection drops while waiting (the
    /// arrival is withdrawn if the server can still be told; otherwise the
    /// others see a dead party and break).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a wait dropped before the barrier trips withdraws its
    /// arrival (the others keep waiting, the barrier is not broken).
    pub async fn wait(&self) -> Result<BarrierWaitResult, Error> {
        self.wait_inner(None).await
    }

    /// As [`wait`](Barrier::wait), but if the barrier has not tripped
    /// after `d` it is broken, for everyone (Python's `wait(timeout)`).
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # async fn f(b: warden::dist::Barrier) -> Result<(), warden::dist::Error> {
    /// b.wait_timeout(std::time::Duration::from_secs(30)).await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::BrokenBarrier`] also when `d` ran out.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`wait`](Barrier::wait).
    pub async fn wait_timeout(&self, d: Duration) -> Result<BarrierWaitResult, Error> {
        self.wait_inner(Some(d)).await
    }

    async fn wait_inner(&self, timeout: Option<Duration>) -> Result<BarrierWaitResult, Error> {
        let (listener, mut woken) = self.session.listen(&self.channel).await?;
        let party_key = self.session.unique_key("barrier-party");
        // Until the outcome is known, a drop withdraws the arrival on this
        // very connection — after the arrival statement, if it is in
        // flight, and under the barrier's row lock, so a withdrawal never
        // interleaves with a trip — and only then frees the party lock: the
        // others never mistake a withdrawal for a dead party.
        let pending = Pending::tidy(
            &self.session,
            self.session.conn().await?,
            self.session
                .sql(&format!("SELECT {{ns}}.barrier_leave({party_key})")),
        );
        let parties = i32::try_from(self.parties).unwrap_or(i32::MAX);
        woken.borrow_and_update();
        let row = pending
            .conn()
            .client
            .query_typed_one(
                &self
                    .session
                    .sql("SELECT o_id, o_idx, o_outcome FROM {ns}.barrier_arrive($1, $2, $3, $4)"),
                &[
                    (&&*self.key, Type::TEXT),
                    (&parties, Type::INT4),
                    (&party_key, Type::INT8),
                    (&&*self.channel, Type::TEXT),
                ],
            )
            .await?;
        let id: Option<i64> = row.get(0);
        let index: Option<i32> = row.get(1);
        let mut outcome: String = row.get(2);
        let index = usize::try_from(index.unwrap_or(0)).unwrap_or(0);
        let leader = outcome == "passed";
        if let (Some(id), "waiting") = (id, outcome.as_str()) {
            let deadline = timeout.map(|d| tokio::time::Instant::now() + d);
            let poll = self.session.options().get_poll_interval();
            loop {
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
                    () = tokio::time::sleep(poll) => {
                        self.check().await?;
                        false
                    }
                    () = async {
                        match deadline {
                            Some(at) => tokio::time::sleep_until(at).await,
                            None => std::future::pending().await,
                        }
                    } => true,
                };
                woken.borrow_and_update();
                if timed_out {
                    self.abort().await?;
                }
                let control = self.session.control().await?;
                let decided: Option<String> = control
                    .client
                    .query_typed_opt(
                        &self
                            .session
                            .sql("SELECT outcome FROM {ns}.barrier_party WHERE id = $1"),
                        &[(&id, Type::INT8)],
                    )
                    .await?
                    .and_then(|r| r.get(0));
                if let Some(decided) = decided {
                    outcome = decided;
                    break;
                }
            }
        }
        // Decided: leave the row (if any) and the party lock, on the
        // party's own connection.
        let conn = pending.finish();
        let statement = self.session.sql(&format!(
            "DELETE FROM {{ns}}.barrier_party WHERE lock_key = {party_key}; \
             SELECT pg_advisory_unlock_all()"
        ));
        match conn.client.simple_query(&statement).await {
            Ok(_) => self.session.put(conn),
            Err(_) => conn.kill("barrier party clean-up failed"),
        }
        if outcome == "passed" {
            Ok(BarrierWaitResult { index, leader })
        } else {
            Err(Error::BrokenBarrier)
        }
    }

    /// Breaks the barrier if a waiting party is dead.
    async fn check(&self) -> Result<(), Error> {
        let control = self.session.control().await?;
        control
            .client
            .query_typed(
                &self.session.sql("SELECT {ns}.barrier_check($1, $2)"),
                &[(&&*self.key, Type::TEXT), (&&*self.channel, Type::TEXT)],
            )
            .await?;
        Ok(())
    }

    async fn break_it(&self, reset: bool) -> Result<(), Error> {
        let control = self.session.control().await?;
        control
            .client
            .query_typed(
                &self.session.sql("SELECT {ns}.barrier_break($1, $2, $3)"),
                &[
                    (&&*self.key, Type::TEXT),
                    (&&*self.channel, Type::TEXT),
                    (&reset, Type::BOOL),
                ],
            )
            .await?;
        Ok(())
    }

    /// Breaks the barrier: every waiting party, and every later arrival
    /// until [`reset`](Barrier::reset), fails with
    /// [`Error::BrokenBarrier`] (Python's `abort()`).
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # async fn f(b: warden::dist::Barrier) -> Result<(), warden::dist::Error> {
    /// b.abort().await?;
    /// assert!(b.is_broken().await?);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: one statement.
    pub async fn abort(&self) -> Result<(), Error> {
        self.break_it(false).await
    }

    /// Returns the barrier to its initial state; parties waiting now fail
    /// with [`Error::BrokenBarrier`] (Python's `reset()`).
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # async fn f(b: warden::dist::Barrier) -> Result<(), warden::dist::Error> {
    /// b.reset().await?;
    /// assert!(!b.is_broken().await?);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: one statement.
    pub async fn reset(&self) -> Result<(), Error> {
        self.break_it(true).await
    }

    /// Whether the barrier is broken (Python's `broken`).
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # async fn f(b: warden::dist::Barrier) -> Result<(), warden::dist::Error> {
    /// let broken = b.is_broken().await?;
    /// # let _ = broken; Ok(())
    /// # }
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a read.
    pub async fn is_broken(&self) -> Result<bool, Error> {
        let control = self.session.control().await?;
        let row = control
            .client
            .query_typed_one(
                &self.session.sql(
                    "SELECT coalesce((SELECT broken FROM {ns}.barrier WHERE key = $1), false)",
                ),
                &[(&&*self.key, Type::TEXT)],
            )
            .await?;
        Ok(row.get(0))
    }

    /// How many parties wait now (Python's `n_waiting`).
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # async fn f(b: warden::dist::Barrier) -> Result<(), warden::dist::Error> {
    /// println!("{} waiting", b.n_waiting().await?);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a read.
    pub async fn n_waiting(&self) -> Result<usize, Error> {
        let control = self.session.control().await?;
        let row = control
            .client
            .query_typed_one(
                &self.session.sql(
                    "SELECT count(*) FROM {ns}.barrier_party p JOIN {ns}.barrier b \
                       ON b.key = p.key AND b.generation = p.generation \
                     WHERE p.key = $1 AND p.outcome IS NULL",
                ),
                &[(&&*self.key, Type::TEXT)],
            )
            .await?;
        let n: i64 = row.get(0);
        Ok(usize::try_from(n).unwrap_or(0))
    }
}
