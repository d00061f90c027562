//! The six primitives across processes and machines, over PostgreSQL
//! (feature `postgres`).
//!
//! Two replicas of a service that each hold "the" in-process [`Lock`](crate::Lock)
//! protect nothing from each other. `warden::dist` offers the same
//! primitives — [`Lock`], [`RLock`], [`Semaphore`], [`BoundedSemaphore`],
//! [`Event`], [`Condition`], [`Barrier`] — shared by every process that
//! connects to one PostgreSQL database, with the same method names and
//! Python's semantics, and with what a network adds made explicit: every
//! method returns `Result<_, `[`Error`]`>`.
//!
//! ```no_run
//! use warden::dist::{self, Options, Session};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), dist::Error> {
//! let session = Session::connect("postgres://app@127.0.0.1/app", Options::default()).await?;
//! let lock = session.lock("billing/42");
//! let mut guard = lock.acquire().await?;          // blocks other processes too
//! let tx = guard.transaction().await?;            // on the lock's own connection
//! tx.execute("UPDATE invoice SET paid = true WHERE id = 42", &[]).await
//!     .map_err(dist::Error::from)?;
//! tx.commit().await?;                             // fails if the lock was lost
//! guard.release().await?;
//! # Ok(())
//! # }
//! ```
//!
//! # How it works
//!
//! | primitive | on the server |
//! |---|---|
//! | [`Lock`] | a session-level advisory lock (`pg_advisory_lock`) on a connection the guard owns |
//! | [`RLock`] | the same server lock; re-entry counted per task in this process |
//! | [`Semaphore`] | `n` advisory-lock slots, one held per permit; a queue lock keeps waiters in order |
//! | [`Event`] | a row (flag, generation) and `NOTIFY` |
//! | [`Condition`] | a row per waiter (a ticket naming its listening backend) and `NOTIFY` |
//! | [`Barrier`] | a row, a row and an advisory lock per waiting party, and `NOTIFY` |
//!
//! Whatever a process holds lives in a server session (a connection) of
//! its own. When the process dies, the kernel closes its sockets and the
//! server frees what it held, at once. When the connection breaks, the
//! server restarts, or a failover happens (advisory locks are not
//! replicated), the session is gone and so is what it held: guards report
//! it ([`LockGuard::lost`]), pending waits fail with
//! [`Error::Connection`] and are not retried behind your back, and the
//! next operation opens a new connection.
//!
//! # Fencing
//!
//! A lock held through a network can be lost without the holder noticing
//! in time: a process paused (GC, `SIGSTOP`, a frozen VM) past its lease
//! wakes up still "holding" a lock that the server gave to someone else.
//! No lock service can prevent that; what prevents damage is a **fence
//! token**. Every grant bumps a per-key counter in the same statement, so
//! [`LockGuard::fence`] is strictly greater than every earlier grant's,
//! across processes and server restarts. Storage that records the largest
//! token it has seen and refuses smaller ones turns a late write into a
//! refused one. [`LockGuard::transaction`] is fenced for free: it runs on
//! the lock's own session, which cannot commit once it has ended.
//!
//! # Leases
//!
//! Without a lease, a paused holder keeps its locks: the kernel answers TCP
//! keepalives for a stopped process. [`Options::lease`] makes the server
//! end a session that stays silent longer than the lease (the session
//! heartbeats every third of it), so the lock passes on, and the paused
//! holder finds [`lost`](LockGuard::lost) resolved when it resumes.
//!
//! # Keys
//!
//! Keys are strings. Advisory locks are named by one 64-bit integer: the
//! key is hashed with 64-bit FNV-1a over the namespace, the primitive's
//! kind and the key (see `Options::namespace`). A **collision** — two
//! different keys with the same hash, about one chance in 2^64 for a pair,
//! or in 10^10 for a million keys — makes the two share one lock: they
//! exclude each other more than asked, never less, so mutual exclusion
//! holds; a task holding one and acquiring the other would wait for
//! itself. The fence counter is keyed by the full string, so tokens never
//! collide. Advisory locks of other applications in the same database use
//! the same 64-bit space; the namespace keeps warden's keys apart from each
//! other, not from theirs.
//!
//! # What is needed on the server
//!
//! PostgreSQL 14 or newer. The first session of a namespace creates a
//! schema of that name with a few small tables and functions (needs the
//! `CREATE` privilege once). Connect directly or through a pooler in
//! session mode: a transaction-mode pooler breaks session-level advisory
//! locks. Each held guard and each pending wait uses one connection (plus,
//! per session, one for short statements and one that `LISTEN`s, on every
//! event, condition, barrier and semaphore channel the session has waited
//! on); size `max_connections` accordingly.

// "PostgreSQL" is a name, not code: no backticks.
#![allow(clippy::doc_markdown)]

mod barrier;
mod condition;
mod conn;
mod error;
mod event;
mod held;
mod key;
mod lock;
mod rlock;
mod semaphore;
mod session;
mod sql;

pub use barrier::{Barrier, BarrierWaitResult};
pub use condition::Condition;
pub use error::{ConnectionError, Error, Lost};
pub use event::Event;
pub use held::Transaction;
pub use lock::{Lock, LockGuard};
pub use rlock::{RLock, RLockGuard};
pub use semaphore::{BoundedSemaphore, Semaphore, SemaphorePermit};
pub use session::{Options, Session};
