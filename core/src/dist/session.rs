//! `Session` and `Options`: where connections come from.

use std::collections::{HashMap, HashSet};
use std::fmt::{self, Write as _};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::sync::watch;
use tokio_postgres::NoTls;

use super::conn::{Channels, Conn};
use super::error::Error;
use super::rlock::RLockShared;
use super::{Barrier, BoundedSemaphore, Condition, Event, Lock, RLock, Semaphore, key, sql};

/// How a [`Session`] talks to the server.
///
/// ```
/// use std::time::Duration;
/// use warden::dist::Options;
///
/// let options = Options::default()
///     .lease(Duration::from_secs(10))
///     .namespace("billing");
/// # let _ = options;
/// ```
#[derive(Clone, Debug)]
pub struct Options {
    lease: Option<Duration>,
    namespace: String,
    poll_interval: Duration,
    idle_connections: usize,
}

impl Default for Options {
    /// No lease, namespace `warden`, poll interval 200 ms, 8 idle
    /// connections kept.
    fn default() -> Self {
        Options {
            lease: None,
            namespace: "warden".to_owned(),
            poll_interval: Duration::from_millis(200),
            idle_connections: 8,
        }
    }
}

impl Options {
    /// Gives every connection of the session a lease of `d`: the session
    /// sends a heartbeat every `d / 3`, and sets `idle_session_timeout` and
    /// `idle_in_transaction_session_timeout` to `d` on its connections, so
    /// the server ends the session of a client that stopped answering (a
    /// paused process, a cut network) and frees its locks after `d`.
    ///
    /// Without a lease, a holder that is paused (`SIGSTOP`, a VM freeze, a
    /// long GC in another runtime) keeps its locks for as long as its TCP
    /// connection lives — the kernel answers keepalives for a stopped
    /// process, so that can be forever.
    ///
    /// A guard whose heartbeat has gone unanswered for `d` reports
    /// [`lost`](super::LockGuard::lost) and closes its connection: the
    /// server may have ended the session by then. That includes a single
    /// statement in the guard's [`transaction`](super::LockGuard::transaction)
    /// that runs longer than `d` (the heartbeat waits behind it), so choose
    /// a lease longer than your longest statement under a lock. Needs
    /// PostgreSQL 14 or newer.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use warden::dist::Options;
    /// let options = Options::default().lease(Duration::from_secs(5));
    /// # let _ = options;
    /// ```
    ///
    /// # Panics
    ///
    /// If `d` is shorter than 30 ms (heartbeats every `d / 3` would flood
    /// the server) or not a whole number of milliseconds.
    #[must_use]
    pub fn lease(mut self, d: Duration) -> Self {
        assert!(
            d >= Duration::from_millis(30) && d.subsec_nanos().is_multiple_of(1_000_000),
            "dist::Options::lease: a lease is a whole number of milliseconds, at least 30 ms"
        );
        self.lease = Some(d);
        self
    }

    /// The namespace: the schema that holds warden's tables (created on
    /// first connect if missing) and the seed of the key hash, so two
    /// applications sharing a database do not share locks by accident.
    /// Default `warden`.
    ///
    /// ```
    /// # use warden::dist::Options;
    /// let options = Options::default().namespace("billing_v2");
    /// # let _ = options;
    /// ```
    ///
    /// # Panics
    ///
    /// If `namespace` is not a lower-case SQL identifier
    /// (`[a-z_][a-z0-9_]*`, at most 40 bytes).
    #[must_use]
    pub fn namespace(mut self, namespace: &str) -> Self {
        let ok = !namespace.is_empty()
            && namespace.len() <= 40
            && namespace
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            && !namespace.as_bytes()[0].is_ascii_digit();
        assert!(
            ok,
            "dist::Options::namespace: {namespace:?} is not a lower-case SQL identifier \
             ([a-z_][a-z0-9_]*, at most 40 bytes)"
        );
        namespace.clone_into(&mut self.namespace);
        self
    }

    /// How often a wait that no server event can end re-checks the state:
    /// a semaphore waiter looking for a permit freed by a crashed holder, a
    /// barrier party looking for a dead party. Ordinary releases wake
    /// waiters at once through `NOTIFY`. Default 200 ms.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use warden::dist::Options;
    /// let options = Options::default().poll_interval(Duration::from_millis(50));
    /// # let _ = options;
    /// ```
    #[must_use]
    pub fn poll_interval(mut self, d: Duration) -> Self {
        self.poll_interval = d.max(Duration::from_millis(1));
        self
    }

    /// How many idle connections the session keeps for the next acquire
    /// (a released guard's connection, once its unlock succeeded). Default 8.
    ///
    /// ```
    /// # use warden::dist::Options;
    /// let options = Options::default().idle_connections(2);
    /// # let _ = options;
    /// ```
    #[must_use]
    pub fn idle_connections(mut self, n: usize) -> Self {
        self.idle_connections = n;
        self
    }
}

/// A handle on one PostgreSQL database shared by several processes: the
/// factory of `dist` primitives.
///
/// A session opens connections as it needs them: each guard owns one (its
/// locks die with it, and nothing else runs on it), plus one shared
/// connection for short statements and one that `LISTEN`s. Connections of
/// released guards are kept for reuse. Cloning a `Session` is cheap and
/// shares all of this.
///
/// Connect directly to PostgreSQL, or through a pooler in *session* mode:
/// a transaction-mode pooler (PgBouncer's `pool_mode = transaction`) moves
/// a client between server sessions, which breaks session-level advisory
/// locks.
///
/// ```no_run
/// use warden::dist::{Options, Session};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), warden::dist::Error> {
/// let session = Session::connect("host=127.0.0.1 user=app dbname=app", Options::default()).await?;
/// let lock = session.lock("billing/42");
/// let guard = lock.acquire().await?;
/// println!("holding billing/42 with fence {}", guard.fence());
/// guard.release().await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Session {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    config: tokio_postgres::Config,
    pub(crate) options: Options,
    /// Quoted schema name, for SQL text.
    pub(crate) schema: String,
    idle: Mutex<Vec<Conn>>,
    control: tokio::sync::Mutex<Option<Arc<Conn>>>,
    listener: tokio::sync::Mutex<Option<Arc<Listener>>>,
    pub(crate) rlocks: Mutex<HashMap<String, Weak<RLockShared>>>,
    handle: tokio::runtime::Handle,
}

/// The connection that `LISTEN`s for the session.
pub(crate) struct Listener {
    pub(crate) conn: Conn,
    channels: Arc<Channels>,
    listening: tokio::sync::Mutex<HashSet<String>>,
    /// The backend's identity, written into condition tickets.
    pub(crate) pid: i32,
    pub(crate) backend_start: String,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("namespace", &self.inner.options.namespace)
            .field("lease", &self.inner.options.lease)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Connects to the database at `url` (a `postgres://` URL or a
    /// `key=value` string, as libpq), creates the namespace's schema and
    /// tables if they are missing, and returns the session.
    ///
    /// The tables: `fence` (the last fence token of each key), `event`,
    /// `semaphore`, `ticket` (condition waiters), `barrier` and
    /// `barrier_party`, all in the schema named by
    /// [`Options::namespace`]. Creating them needs the `CREATE` privilege
    /// once; later sessions only read and write them.
    ///
    /// Must be called inside a tokio runtime (guards release on it).
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # use warden::dist::{Options, Session};
    /// # async fn f() -> Result<(), warden::dist::Error> {
    /// let session = Session::connect("postgres://app@127.0.0.1/app", Options::default()).await?;
    /// # let _ = session;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future closes the connection it was
    /// opening.
    pub async fn connect(url: &str, options: Options) -> Result<Session, Error> {
        let mut config: tokio_postgres::Config = url.parse()?;
        let mut server_options = config.get_options().unwrap_or("").to_owned();
        // A client that dies while blocked in a lock wait is noticed within
        // a second, so its place in the queue does not linger.
        server_options.push_str(" -c client_connection_check_interval=1000");
        if let Some(lease) = options.lease {
            let ms = lease.as_millis();
            let _ = write!(
                server_options,
                " -c idle_session_timeout={ms} -c idle_in_transaction_session_timeout={ms}"
            );
            if config.get_keepalives_idle() > lease {
                config.keepalives_idle(lease);
            }
        }
        config.options(server_options.trim());
        if config.get_application_name().is_none() {
            config.application_name("warden");
        }
        let schema = format!("\"{}\"", options.namespace);
        let session = Session {
            inner: Arc::new(Inner {
                config,
                schema,
                idle: Mutex::new(Vec::new()),
                control: tokio::sync::Mutex::new(None),
                listener: tokio::sync::Mutex::new(None),
                rlocks: Mutex::new(HashMap::new()),
                handle: tokio::runtime::Handle::current(),
                options,
            }),
        };
        session.setup().await?;
        Ok(session)
    }

    /// The options the session was made with.
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # async fn f(session: warden::dist::Session) {
    /// assert_eq!(session.options().get_namespace(), "warden");
    /// # }
    /// ```
    pub fn options(&self) -> &Options {
        &self.inner.options
    }

    /// A [`Lock`] named `key`: `threading.Lock` across processes.
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # async fn f(session: warden::dist::Session) -> Result<(), warden::dist::Error> {
    /// let guard = session.lock("invoice/7").acquire().await?;
    /// # drop(guard); Ok(())
    /// # }
    /// ```
    pub fn lock(&self, key: &str) -> Lock {
        Lock::new(self.clone(), key)
    }

    /// An [`RLock`] named `key`: re-entrant for the task that holds it.
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # async fn f(session: warden::dist::Session) -> Result<(), warden::dist::Error> {
    /// let rlock = session.rlock("tree");
    /// let outer = rlock.acquire().await?;
    /// let inner = rlock.acquire().await?; // same task: re-enters
    /// # drop((inner, outer)); Ok(())
    /// # }
    /// ```
    pub fn rlock(&self, key: &str) -> RLock {
        RLock::new(self.clone(), key)
    }

    /// A [`Semaphore`] named `key` with `permits` permits. Every process
    /// must give the same `permits` for the same key.
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # async fn f(session: warden::dist::Session) -> Result<(), warden::dist::Error> {
    /// let permit = session.semaphore("smtp", 4).acquire().await?;
    /// # drop(permit); Ok(())
    /// # }
    /// ```
    ///
    /// # Panics
    ///
    /// If `permits` is 0 or above 2^20.
    pub fn semaphore(&self, key: &str, permits: usize) -> Semaphore {
        Semaphore::new(self.clone(), key, permits)
    }

    /// A [`BoundedSemaphore`] named `key` with `permits` permits.
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # async fn f(session: warden::dist::Session) -> Result<(), warden::dist::Error> {
    /// let pool = session.bounded_semaphore("db-pool", 10);
    /// let permit = pool.acquire().await?;
    /// # drop(permit); Ok(())
    /// # }
    /// ```
    ///
    /// # Panics
    ///
    /// If `permits` is 0 or above 2^20.
    pub fn bounded_semaphore(&self, key: &str, permits: usize) -> BoundedSemaphore {
        BoundedSemaphore::new(self.clone(), key, permits)
    }

    /// An [`Event`] named `key`.
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # async fn f(session: warden::dist::Session) -> Result<(), warden::dist::Error> {
    /// session.event("deploy-done").wait().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn event(&self, key: &str) -> Event {
        Event::new(self.clone(), key)
    }

    /// A [`Condition`] bound to `lock` (its waiters release and retake that
    /// lock).
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # async fn f(session: warden::dist::Session) -> Result<(), warden::dist::Error> {
    /// let lock = session.lock("queue");
    /// let not_empty = session.condition(&lock);
    /// let guard = lock.acquire().await?;
    /// let guard = not_empty.wait(guard).await?;
    /// # drop(guard); Ok(())
    /// # }
    /// ```
    pub fn condition(&self, lock: &Lock) -> Condition {
        Condition::new(self.clone(), lock.clone())
    }

    /// A [`Barrier`] named `key` for `parties` parties.
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # async fn f(session: warden::dist::Session) -> Result<(), warden::dist::Error> {
    /// let arrived = session.barrier("phase-1", 3).wait().await?;
    /// if arrived.is_leader() { /* ... */ }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Panics
    ///
    /// If `parties` is 0 (Python's `ValueError`).
    pub fn barrier(&self, key: &str, parties: usize) -> Barrier {
        Barrier::new(self.clone(), key, parties)
    }

    // ---- internals ----

    pub(crate) fn advisory_key(&self, kind: &str, key: &str) -> i64 {
        key::advisory_key(&self.inner.options.namespace, kind, key)
    }

    /// A key no other process will make: for condition tickets and
    /// barrier parties.
    pub(crate) fn unique_key(&self, kind: &str) -> i64 {
        static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        self.advisory_key(
            kind,
            &format!(
                "{}\u{0}{:?}\u{0}{}",
                std::process::id(),
                std::time::SystemTime::now(),
                SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            ),
        )
    }

    pub(crate) fn sql(&self, template: &str) -> String {
        template.replace("{ns}", &self.inner.schema)
    }

    /// A connection of its own: an idle one, or a new one.
    pub(crate) async fn conn(&self) -> Result<Conn, Error> {
        loop {
            let idle = self
                .inner
                .idle
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .pop();
            match idle {
                Some(conn) if conn.is_lost() => {}
                Some(conn) => return Ok(conn),
                None => break,
            }
        }
        Conn::open(&self.inner.config, self.inner.options.lease, None).await
    }

    /// Gives back a connection that holds nothing.
    pub(crate) fn put(&self, conn: Conn) {
        if conn.is_lost() {
            return;
        }
        let mut idle = self
            .inner
            .idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if idle.len() < self.inner.options.idle_connections {
            idle.push(conn);
        }
    }

    /// The shared connection for short statements.
    pub(crate) async fn control(&self) -> Result<Arc<Conn>, Error> {
        let mut slot = self.inner.control.lock().await;
        if let Some(conn) = &*slot
            && !conn.is_lost()
        {
            return Ok(conn.clone());
        }
        let conn = Arc::new(Conn::open(&self.inner.config, self.inner.options.lease, None).await?);
        *slot = Some(conn.clone());
        Ok(conn)
    }

    /// The listening connection, `LISTEN`ing on `channel` before this
    /// returns: a `NOTIFY` committed after it bumps the receiver.
    pub(crate) async fn listen(
        &self,
        channel: &str,
    ) -> Result<(Arc<Listener>, watch::Receiver<u64>), Error> {
        let listener = {
            let mut slot = self.inner.listener.lock().await;
            match &*slot {
                Some(l) if !l.conn.is_lost() => l.clone(),
                _ => {
                    let channels = Arc::new(Channels::default());
                    let conn = Conn::open(
                        &self.inner.config,
                        self.inner.options.lease,
                        Some(channels.clone()),
                    )
                    .await?;
                    let row = conn
                        .client
                        .query_one(
                            "SELECT pg_backend_pid(), backend_start::text FROM pg_stat_activity \
                             WHERE pid = pg_backend_pid()",
                            &[],
                        )
                        .await
                        .map_err(|e| conn.classify(e))?;
                    let l = Arc::new(Listener {
                        pid: row.get(0),
                        backend_start: row.get(1),
                        conn,
                        channels,
                        listening: tokio::sync::Mutex::new(HashSet::new()),
                    });
                    *slot = Some(l.clone());
                    l
                }
            }
        };
        let mut listening = listener.listening.lock().await;
        let (rx, _) = listener.channels.subscribe(channel);
        if !listening.contains(channel) {
            listener
                .conn
                .client
                .batch_execute(&format!("LISTEN \"{channel}\""))
                .await
                .map_err(|e| listener.conn.classify(e))?;
            listening.insert(channel.to_owned());
        }
        drop(listening);
        Ok((listener, rx))
    }

    /// Runs `fut` on the session's runtime, detached (releases from `Drop`).
    pub(crate) fn spawn<F>(&self, fut: F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        drop(self.inner.handle.spawn(fut));
    }

    /// Cleans up after a wait dropped while its statement may be running on
    /// `conn`: asks the server to cancel the statement, then closes the
    /// connection, so whatever the statement got (a lock granted in the
    /// race) is freed by the server. The connection is not reused: a
    /// cancel request is delivered asynchronously and could otherwise hit
    /// the connection's next user.
    pub(crate) fn abandon(&self, conn: Conn) {
        self.spawn(async move {
            let _ = conn.client.cancel_token().cancel_query(NoTls).await;
            conn.kill("wait cancelled");
        });
    }

    async fn setup(&self) -> Result<(), Error> {
        let conn = self.control().await?;
        let ready: bool = conn
            .client
            .query_one(
                &self.sql("SELECT to_regprocedure('{ns}.setup_v1()') IS NOT NULL"),
                &[],
            )
            .await
            .map_err(|e| conn.classify(e))?
            .get(0);
        if ready {
            return Ok(());
        }
        let lock_key = self.advisory_key("setup", "");
        let script = format!(
            "BEGIN; SELECT pg_advisory_xact_lock({lock_key}); {} COMMIT;",
            self.sql(sql::SETUP)
        );
        match conn.client.batch_execute(&script).await {
            Ok(()) => Ok(()),
            Err(e) => {
                // The script's transaction may be left open and aborted.
                let err = conn.classify(e);
                conn.kill("setup failed");
                Err(err)
            }
        }
    }
}

impl Options {
    /// The namespace (see [`Options::namespace`]).
    ///
    /// ```
    /// assert_eq!(warden::dist::Options::default().get_namespace(), "warden");
    /// ```
    pub fn get_namespace(&self) -> &str {
        &self.namespace
    }

    /// The lease, if any (see [`Options::lease`]).
    ///
    /// ```
    /// assert_eq!(warden::dist::Options::default().get_lease(), None);
    /// ```
    pub fn get_lease(&self) -> Option<Duration> {
        self.lease
    }

    pub(crate) fn get_poll_interval(&self) -> Duration {
        self.poll_interval
    }
}
