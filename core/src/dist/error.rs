//! `dist::Error`, `Lost` and `ConnectionError`.

use std::fmt;
use std::sync::Arc;

/// Why a `dist` operation failed.
///
/// Every method of [`dist`](super) returns `Result<_, Error>`: a lock held
/// through a server can be lost in ways a lock in memory cannot, and the
/// type says so.
///
/// | variant | Python's nearest | what happened |
/// |---|---|---|
/// | [`Lost`](Error::Lost) | — | the session that held the lock (or permit, or place in a wait) ended: connection closed, server restarted, lease expired |
/// | [`Connection`](Error::Connection) | `ConnectionError` | the server could not be reached, or refused a statement; nothing was acquired |
/// | [`Timeout`](Error::Timeout) | `acquire(timeout=d)` returning `False` | an `*_timeout` wait ran out; nothing was acquired |
/// | [`BrokenBarrier`](Error::BrokenBarrier) | `BrokenBarrierError` | the barrier was aborted, reset, timed out, or a party died |
/// | [`OverRelease`](Error::OverRelease) | `ValueError` from `BoundedSemaphore.release()` | a release would raise a bounded semaphore above its initial value |
///
/// A wait that fails with `Connection` is never retried behind your back:
/// the caller decides. The next call on the same [`Session`](super::Session)
/// opens a new connection.
///
/// ```
/// use warden::dist::Error;
///
/// fn retryable(e: &Error) -> bool {
///     matches!(e, Error::Connection(_) | Error::Timeout)
/// }
/// assert!(retryable(&Error::Timeout));
/// assert!(!retryable(&Error::BrokenBarrier));
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Error {
    /// The session (connection) that held the lock, permit or place in a
    /// wait ended, so the server released it: another process may hold it
    /// now. Writes made under it must be fenced (see
    /// [`LockGuard::fence`](super::LockGuard::fence)).
    Lost(Lost),
    /// The server could not be reached, or it refused a statement (a
    /// permission, a missing table, a PostgreSQL older than 14).
    Connection(ConnectionError),
    /// An `*_timeout` wait ran out before it was granted.
    Timeout,
    /// The barrier is broken: aborted, reset, timed out, or one of its
    /// parties died while the others waited.
    BrokenBarrier,
    /// A [`BoundedSemaphore`](super::BoundedSemaphore) release would raise
    /// it above its initial value (Python's `ValueError`).
    OverRelease,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Lost(lost) => write!(f, "lost: {lost}"),
            Error::Connection(e) => write!(f, "connection: {e}"),
            Error::Timeout => f.write_str("timed out"),
            Error::BrokenBarrier => f.write_str("broken barrier"),
            Error::OverRelease => f.write_str("semaphore released too many times"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Connection(e) => Some(e),
            Error::Lost(lost) => Some(lost),
            _ => None,
        }
    }
}

impl From<tokio_postgres::Error> for Error {
    fn from(e: tokio_postgres::Error) -> Self {
        Error::Connection(ConnectionError {
            message: None,
            source: Some(Arc::new(e)),
        })
    }
}

impl Error {
    pub(crate) fn connection(message: &str) -> Error {
        Error::Connection(ConnectionError {
            message: Some(message.into()),
            source: None,
        })
    }
}

/// Why a session's locks were lost: the reason the connection ended.
///
/// Returned by [`LockGuard::lost`](super::LockGuard::lost) and carried by
/// [`Error::Lost`].
///
/// ```
/// # #![allow(dead_code)]
/// # async fn f(guard: warden::dist::LockGuard) {
/// let why = guard.lost().await;
/// eprintln!("lock lost: {why}");
/// # }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lost {
    reason: Arc<str>,
}

impl Lost {
    pub(crate) fn new(reason: impl Into<Arc<str>>) -> Lost {
        Lost {
            reason: reason.into(),
        }
    }

    /// The reason, in words (`"connection closed: ..."`, `"lease expired"`,
    /// ...).
    ///
    /// ```
    /// # #![allow(dead_code)]
    /// # async fn f(guard: warden::dist::LockGuard) {
    /// let why = guard.lost().await;
    /// assert!(!why.reason().is_empty());
    /// # }
    /// ```
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for Lost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for Lost {}

/// The server could not be reached or refused a statement; wraps the
/// driver's error (its [`source`](std::error::Error::source)).
///
/// ```
/// # #![allow(dead_code)]
/// # async fn f() {
/// use warden::dist::{Error, Options, Session};
/// match Session::connect("host=127.0.0.1 port=1 user=nobody", Options::default()).await {
///     Err(Error::Connection(e)) => eprintln!("no server: {e}"),
///     _ => {}
/// }
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct ConnectionError {
    message: Option<Arc<str>>,
    source: Option<Arc<tokio_postgres::Error>>,
}

impl ConnectionError {
    /// The driver's error, if the failure came from the driver, for its
    /// SQLSTATE code ([`tokio_postgres::Error::code`]) and the like.
    ///
    /// ```
    /// # #![allow(dead_code)]
    /// # fn f(e: warden::dist::ConnectionError) {
    /// if let Some(code) = e.postgres().and_then(|e| e.code()) {
    ///     eprintln!("SQLSTATE {}", code.code());
    /// }
    /// # }
    /// ```
    pub fn postgres(&self) -> Option<&tokio_postgres::Error> {
        self.source.as_deref()
    }
}

impl fmt::Display for ConnectionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(message) = &self.message {
            f.write_str(message)?;
        }
        if let Some(e) = &self.source {
            // The driver's own Display is one word ("db error"); the reason
            // is in its source.
            fmt::Display::fmt(e, f)?;
            if let Some(cause) = std::error::Error::source(&**e) {
                write!(f, ": {cause}")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for ConnectionError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as _)
    }
}
