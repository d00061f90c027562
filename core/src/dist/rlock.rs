//! `dist::RLock`: `threading.RLock` across processes.

use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::watch;

use super::error::{Error, Lost};
use super::held::{Held, Transaction};
use super::lock::{Lock, grant};
use super::session::Session;

/// Who owns an `RLock` in this process: the current tokio task, or the
/// current thread outside one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Owner {
    Task(tokio::task::Id),
    Thread(std::thread::ThreadId),
}

impl Owner {
    fn current() -> Owner {
        match tokio::task::try_id() {
            Some(id) => Owner::Task(id),
            None => Owner::Thread(std::thread::current().id()),
        }
    }
}

/// The client-side state of one key's `RLock`, shared by every `RLock`
/// handle of that key made from one session.
pub(crate) struct RLockShared {
    state: Mutex<RState>,
    /// The current owner, for acquires of the same task waiting on the
    /// server: when their task becomes the owner, they re-enter.
    owner: watch::Sender<Option<Owner>>,
}

struct RState {
    count: usize,
    held: Option<Arc<Held>>,
}

/// `threading.RLock` for processes that share a PostgreSQL database.
///
/// One server lock (the same advisory key as a [`Lock`] of the same
/// name, so the two exclude each other), and a re-entry count kept in this
/// process: the task that holds it may acquire it again without waiting,
/// and the server lock is released when the last of its guards is gone.
/// The owner is the current tokio task (or thread, outside a task), as for
/// [`warden::RLock`](crate::RLock); branches of one task (`join!`) share
/// it, also when they were already waiting on the server when their task
/// became the owner.
///
/// Every `RLock` of one key made from one [`Session`] shares that state;
/// two sessions (or processes) are two owners.
///
/// ```no_run
/// # #![allow(dead_code)]
/// # async fn f(session: warden::dist::Session) -> Result<(), warden::dist::Error> {
/// let rlock = session.rlock("tree");
/// let outer = rlock.acquire().await?;
/// let inner = rlock.acquire().await?; // the same task: no wait
/// assert_eq!(inner.fence(), outer.fence()); // one grant
/// drop(inner);
/// drop(outer); // now the server lock is released
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RLock {
    lock: Lock,
    shared: Arc<RLockShared>,
}

impl fmt::Debug for RLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RLock")
            .field("key", &self.lock.key)
            .finish_non_exhaustive()
    }
}

impl RLock {
    pub(crate) fn new(session: Session, key: &str) -> RLock {
        let shared = {
            let mut map = session
                .inner
                .rlocks
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            map.retain(|_, weak| weak.strong_count() > 0);
            if let Some(shared) = map.get(key).and_then(std::sync::Weak::upgrade) {
                shared
            } else {
                let shared = Arc::new(RLockShared {
                    state: Mutex::new(RState {
                        count: 0,
                        held: None,
                    }),
                    owner: watch::channel(None).0,
                });
                map.insert(key.to_owned(), Arc::downgrade(&shared));
                shared
            }
        };
        RLock {
            lock: Lock::new(session, key),
            shared,
        }
    }

    /// The key this lock was made with.
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # fn f(session: warden::dist::Session) {
    /// assert_eq!(session.rlock("tree").key(), "tree");
    /// # }
    /// ```
    pub fn key(&self) -> &str {
        self.lock.key()
    }

    fn reenter(&self, me: Owner) -> Option<RLockGuard> {
        let mut state = self
            .shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if *self.shared.owner.borrow() == Some(me)
            && let Some(held) = &state.held
        {
            let held = held.clone();
            state.count += 1;
            return Some(RLockGuard {
                shared: self.shared.clone(),
                held: Some(held),
                key: self.lock.key.clone(),
            });
        }
        None
    }

    fn own(&self, me: Owner, held: Held) -> RLockGuard {
        let held = Arc::new(held);
        let mut state = self
            .shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        state.count = 1;
        state.held = Some(held.clone());
        self.shared.owner.send_replace(Some(me));
        RLockGuard {
            shared: self.shared.clone(),
            held: Some(held),
            key: self.lock.key.clone(),
        }
    }

    /// Waits for the lock, or re-enters it if the current task holds it.
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # async fn f(rlock: warden::dist::RLock) -> Result<(), warden::dist::Error> {
    /// let guard = rlock.acquire().await?;
    /// # drop(guard); Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Connection`] if the server cannot be reached or the
    /// connection drops while waiting.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`Lock::acquire`]: no server lock or queue place is
    /// left behind, and the re-entry count is untouched.
    pub async fn acquire(&self) -> Result<RLockGuard, Error> {
        let me = Owner::current();
        if let Some(g) = self.reenter(me) {
            return Ok(g);
        }
        let mut owner = self.shared.owner.subscribe();
        let session = &self.lock.session;
        let conn = session.conn().await?;
        tokio::select! {
            granted = grant(session, conn, self.lock.lock_key, &self.lock.fence_key, true, None) => {
                let (conn, fence) = granted?
                    .ok_or_else(|| Error::Lost(Lost::new("lock statement returned no row")))?;
                let held = Held::new(
                    session.clone(),
                    conn,
                    format!("SELECT pg_advisory_unlock({})", self.lock.lock_key),
                    fence,
                );
                Ok(self.own(me, held))
            }
            // Another branch of this task got the lock meanwhile: re-enter
            // (the server wait above is dropped, so cancelled).
            Ok(_) = owner.wait_for(|o| *o == Some(me)) => {
                self.reenter(me).ok_or_else(|| Error::Lost(Lost::new("re-entered lock was released")))
            }
        }
    }

    /// Takes the lock if it is free or held by the current task.
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # async fn f(rlock: warden::dist::RLock) -> Result<(), warden::dist::Error> {
    /// if let Some(guard) = rlock.try_acquire().await? {
    ///     drop(guard);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`acquire`](RLock::acquire).
    pub async fn try_acquire(&self) -> Result<Option<RLockGuard>, Error> {
        let me = Owner::current();
        if let Some(g) = self.reenter(me) {
            return Ok(Some(g));
        }
        let session = &self.lock.session;
        let conn = session.conn().await?;
        Ok(grant(
            session,
            conn,
            self.lock.lock_key,
            &self.lock.fence_key,
            false,
            None,
        )
        .await?
        .map(|(conn, fence)| {
            let held = Held::new(
                session.clone(),
                conn,
                format!("SELECT pg_advisory_unlock({})", self.lock.lock_key),
                fence,
            );
            self.own(me, held)
        }))
    }

    /// Waits for the lock at most `d`.
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # async fn f(rlock: warden::dist::RLock) -> Result<(), warden::dist::Error> {
    /// let guard = rlock.acquire_timeout(std::time::Duration::from_secs(1)).await?;
    /// # drop(guard); Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] when `d` ran out.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`acquire`](RLock::acquire).
    pub async fn acquire_timeout(&self, d: Duration) -> Result<RLockGuard, Error> {
        match tokio::time::timeout(d, self.acquire()).await {
            Ok(r) => r,
            Err(_) => Err(Error::Timeout),
        }
    }
}

/// Holds an [`RLock`] (one level of it); the server lock is released when
/// the owner's last guard is dropped or released.
///
/// Re-entrant guards share one grant, so one [`fence`](RLockGuard::fence)
/// and one connection (open one [`transaction`](RLockGuard::transaction)
/// at a time on it). A guard moved to another task still holds the lock.
///
/// ```no_run
/// # #![allow(dead_code)]
/// # async fn f(rlock: warden::dist::RLock) -> Result<(), warden::dist::Error> {
/// let guard = rlock.acquire().await?;
/// println!("fence {}", guard.fence());
/// guard.release().await?;
/// # Ok(())
/// # }
/// ```
#[must_use = "the lock is released when the guard is dropped"]
#[clippy::has_significant_drop]
pub struct RLockGuard {
    shared: Arc<RLockShared>,
    held: Option<Arc<Held>>,
    key: Arc<str>,
}

impl fmt::Debug for RLockGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RLockGuard")
            .field("key", &self.key)
            .field("fence", &self.fence())
            .finish_non_exhaustive()
    }
}

impl RLockGuard {
    fn held(&self) -> &Held {
        self.held.as_ref().expect("a live guard has its grant")
    }

    /// The fence token of the grant (shared by re-entrant guards); see
    /// [`LockGuard::fence`](super::LockGuard::fence).
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # async fn f(rlock: warden::dist::RLock) -> Result<(), warden::dist::Error> {
    /// let fence = rlock.acquire().await?.fence();
    /// # let _ = fence; Ok(())
    /// # }
    /// ```
    pub fn fence(&self) -> u64 {
        self.held().fence
    }

    /// Resolves when the lock's session has ended; see
    /// [`LockGuard::lost`](super::LockGuard::lost).
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # async fn f(rlock: warden::dist::RLock) -> Result<(), warden::dist::Error> {
    /// let guard = rlock.acquire().await?;
    /// eprintln!("{}", guard.lost().await);
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
        self.held().lost()
    }

    /// Whether [`lost`](RLockGuard::lost) has resolved.
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # async fn f(rlock: warden::dist::RLock) -> Result<(), warden::dist::Error> {
    /// assert!(!rlock.acquire().await?.is_lost());
    /// # Ok(())
    /// # }
    /// ```
    pub fn is_lost(&self) -> bool {
        self.held().is_lost()
    }

    /// Begins a transaction on the lock's connection; see
    /// [`LockGuard::transaction`](super::LockGuard::transaction).
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # async fn f(rlock: warden::dist::RLock) -> Result<(), warden::dist::Error> {
    /// let mut guard = rlock.acquire().await?;
    /// guard.transaction().await?.commit().await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`LockGuard::transaction`](super::LockGuard::transaction).
    pub async fn transaction(&mut self) -> Result<Transaction<'_>, Error> {
        self.held().transaction().await
    }

    /// Releases this level; the last level releases the server lock and
    /// reports how that went.
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # async fn f(rlock: warden::dist::RLock) -> Result<(), warden::dist::Error> {
    /// rlock.acquire().await?.release().await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Lost`] if the server had already freed the lock.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropped half-way, the connection is closed and the
    /// server frees the lock.
    pub async fn release(mut self) -> Result<(), Error> {
        let held = self.held.take().expect("a live guard has its grant");
        if !self.leave() {
            return Ok(());
        }
        match Arc::try_unwrap(held) {
            Ok(held) => held.release().await,
            // Unreachable: the count was 1, so this was the last guard.
            Err(held) => {
                drop(held);
                Ok(())
            }
        }
    }

    /// Decrements the count; true if this was the last level (the owner is
    /// then cleared and the shared grant dropped from the state).
    fn leave(&self) -> bool {
        let mut state = self
            .shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        state.count -= 1;
        if state.count == 0 {
            state.held = None;
            self.shared.owner.send_replace(None);
            true
        } else {
            false
        }
    }
}

impl Drop for RLockGuard {
    fn drop(&mut self) {
        if let Some(held) = self.held.take() {
            self.leave();
            // The last `Arc<Held>` releases the server lock on drop.
            drop(held);
        }
    }
}
