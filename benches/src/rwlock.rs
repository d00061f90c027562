//! Reader-writer contenders: one adapter per async `RwLock`, all guarding a
//! pair of counters that a writer bumps together, for the read-mostly
//! group; plus warden's `Lock` doing the same work, to show when an
//! `RwLock` pays.

use std::future::Future;
use std::sync::Arc;

use tokio::runtime::Runtime;

/// The data: two counters a writer increments together, so a reader that
/// sees them differ would have read during a write.
pub type Pair = (u64, u64);

/// An async reader-writer lock around a [`Pair`].
pub trait PairLock: Send + Sync + 'static {
    /// The criterion function id of this contender.
    const NAME: &'static str;

    /// A fresh lock holding `(0, 0)`.
    fn new() -> Self;

    /// Takes a read lock, runs `read` on the data, releases it.
    fn read(&self, read: impl FnOnce(&Pair) + Send) -> impl Future<Output = ()> + Send;

    /// Takes the write lock, bumps both counters, releases it; returns the
    /// value written.
    fn write(&self) -> impl Future<Output = u64> + Send;
}

fn bump(pair: &mut Pair) -> u64 {
    pair.0 += 1;
    pair.1 += 1;
    pair.0
}

impl PairLock for warden::RwLock<Pair> {
    const NAME: &'static str = "warden";
    fn new() -> Self {
        warden::RwLock::new((0, 0))
    }
    async fn read(&self, read: impl FnOnce(&Pair) + Send) {
        read(&*self.read().await);
    }
    async fn write(&self) -> u64 {
        bump(&mut *self.write().await)
    }
}

/// warden's `Lock`: readers exclude each other too. Not a peer: warden's
/// own baseline, to show what the `RwLock` gains.
pub struct WardenLock(pub warden::Lock<Pair>);

impl PairLock for WardenLock {
    const NAME: &'static str = "warden-lock";
    fn new() -> Self {
        Self(warden::Lock::new((0, 0)))
    }
    async fn read(&self, read: impl FnOnce(&Pair) + Send) {
        read(&*self.0.acquire().await);
    }
    async fn write(&self) -> u64 {
        bump(&mut *self.0.acquire().await)
    }
}

impl PairLock for tokio::sync::RwLock<Pair> {
    const NAME: &'static str = "tokio";
    fn new() -> Self {
        tokio::sync::RwLock::new((0, 0))
    }
    async fn read(&self, read: impl FnOnce(&Pair) + Send) {
        read(&*self.read().await);
    }
    async fn write(&self) -> u64 {
        bump(&mut *self.write().await)
    }
}

impl PairLock for async_lock::RwLock<Pair> {
    const NAME: &'static str = "async-lock";
    fn new() -> Self {
        async_lock::RwLock::new((0, 0))
    }
    async fn read(&self, read: impl FnOnce(&Pair) + Send) {
        read(&*self.read().await);
    }
    async fn write(&self) -> u64 {
        bump(&mut *self.write().await)
    }
}

impl PairLock for maitake_sync::RwLock<Pair> {
    const NAME: &'static str = "maitake-sync";
    fn new() -> Self {
        maitake_sync::RwLock::new((0, 0))
    }
    async fn read(&self, read: impl FnOnce(&Pair) + Send) {
        read(&*self.read().await);
    }
    async fn write(&self) -> u64 {
        bump(&mut *self.write().await)
    }
}

/// Lock operations shared by all tasks in one round of
/// [`read_mostly_round`] (each of the `readers + 1` tasks does its share).
pub const ROUND_OPS: usize = 12_800;

/// CPU work a reader does while it holds the read lock (see
/// [`work`](crate::work)): long enough that readers overlap.
pub const READ_WORK: u32 = 50;

/// One round of the read-mostly groups: one writer task and `readers`
/// reader tasks on `rt` each take `lock` the same number of times (so 1
/// write : `readers` reads). With `yield_between`, each task yields to the
/// scheduler after every release (as tasks that do other async work
/// between their critical sections); without, it loops tightly, the worst
/// case for a lock that hands itself to the waiters. A reader checks the
/// pair and works [`READ_WORK`] while it holds the lock. Returns the
/// operations done.
///
/// # Panics
///
/// If a reader saw a write half done, or a write was lost.
pub fn read_mostly_round<L: PairLock>(
    rt: &Runtime,
    lock: &Arc<L>,
    readers: usize,
    yield_between: bool,
) -> usize {
    let per_task = ROUND_OPS / (readers + 1);
    let last = crate::run_tasks(rt, readers + 1, |task| {
        let lock = Arc::clone(lock);
        async move {
            let mut last = 0;
            for _ in 0..per_task {
                if task == 0 {
                    last = lock.write().await;
                } else {
                    lock.read(|pair| {
                        assert_eq!(pair.0, pair.1, "{}: read a half-done write", L::NAME);
                        crate::work(READ_WORK);
                    })
                    .await;
                }
                if yield_between {
                    tokio::task::yield_now().await;
                }
            }
            last
        }
    });
    // The pair carries over between rounds: the writer's last value is a
    // whole number of rounds.
    assert_eq!(last[0] % per_task as u64, 0, "{}: lost a write", L::NAME);
    per_task * (readers + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_round<L: PairLock>() {
        let rt = crate::multi_thread();
        for readers in [2, 8] {
            for yield_between in [false, true] {
                let lock = Arc::new(L::new());
                assert!(read_mostly_round(&rt, &lock, readers, yield_between) <= ROUND_OPS);
                assert!(read_mostly_round(&rt, &lock, readers, yield_between) <= ROUND_OPS);
            }
        }
    }

    #[test]
    fn every_contender_runs_a_round() {
        one_round::<warden::RwLock<Pair>>();
        one_round::<WardenLock>();
        one_round::<tokio::sync::RwLock<Pair>>();
        one_round::<async_lock::RwLock<Pair>>();
        one_round::<maitake_sync::RwLock<Pair>>();
    }
}
