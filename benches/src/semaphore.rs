//! Counting-semaphore contenders for the contended group: acquire a permit,
//! hold it across a suspension point and some work, release it.

use std::future::Future;
use std::sync::Arc;

use tokio::runtime::Runtime;

/// An async counting semaphore.
pub trait PermitPool: Send + Sync + 'static {
    /// The criterion function id of this contender.
    const NAME: &'static str;

    /// Whether `poll` may spin before it queues.
    const SPINS: bool = false;

    /// A semaphore with `permits` permits.
    fn with_permits(permits: usize) -> Self;

    /// Takes one permit, runs `hold` while holding it, then releases it.
    fn with_permit<F: Future<Output = ()> + Send>(
        &self,
        hold: F,
    ) -> impl Future<Output = ()> + Send;
}

impl PermitPool for warden::Semaphore {
    const NAME: &'static str = "warden";
    fn with_permits(permits: usize) -> Self {
        warden::Semaphore::new(permits)
    }
    async fn with_permit<F: Future<Output = ()> + Send>(&self, hold: F) {
        let _permit = self.acquire().await;
        hold.await;
    }
}

/// warden's `BoundedSemaphore` (same core, plus the over-release check).
pub struct Bounded(pub warden::BoundedSemaphore);

impl PermitPool for Bounded {
    const NAME: &'static str = "warden-bounded";
    fn with_permits(permits: usize) -> Self {
        Self(warden::BoundedSemaphore::new(permits))
    }
    async fn with_permit<F: Future<Output = ()> + Send>(&self, hold: F) {
        let _permit = self.0.acquire().await;
        hold.await;
    }
}

impl PermitPool for tokio::sync::Semaphore {
    const NAME: &'static str = "tokio";
    fn with_permits(permits: usize) -> Self {
        tokio::sync::Semaphore::new(permits)
    }
    async fn with_permit<F: Future<Output = ()> + Send>(&self, hold: F) {
        let _permit = self.acquire().await.expect("never closed");
        hold.await;
    }
}

impl PermitPool for async_lock::Semaphore {
    const NAME: &'static str = "async-lock";
    fn with_permits(permits: usize) -> Self {
        async_lock::Semaphore::new(permits)
    }
    async fn with_permit<F: Future<Output = ()> + Send>(&self, hold: F) {
        let _permit = self.acquire().await;
        hold.await;
    }
}

impl PermitPool for saa::Semaphore {
    const NAME: &'static str = "saa";
    const SPINS: bool = true;
    fn with_permits(permits: usize) -> Self {
        saa::Semaphore::with_permits(permits)
    }
    async fn with_permit<F: Future<Output = ()> + Send>(&self, hold: F) {
        // saa has no permit guard: release by hand.
        self.acquire_async().await;
        hold.await;
        self.release();
    }
}

/// `futures_intrusive::sync::Semaphore` in fair (FIFO) mode.
pub struct IntrusiveFair(pub futures_intrusive::sync::Semaphore);

/// `futures_intrusive::sync::Semaphore` in unfair mode.
pub struct IntrusiveUnfair(pub futures_intrusive::sync::Semaphore);

impl PermitPool for IntrusiveFair {
    const NAME: &'static str = "futures-intrusive";
    fn with_permits(permits: usize) -> Self {
        Self(futures_intrusive::sync::Semaphore::new(true, permits))
    }
    async fn with_permit<F: Future<Output = ()> + Send>(&self, hold: F) {
        let _permit = self.0.acquire(1).await;
        hold.await;
    }
}

impl PermitPool for IntrusiveUnfair {
    const NAME: &'static str = "futures-intrusive-unfair";
    fn with_permits(permits: usize) -> Self {
        Self(futures_intrusive::sync::Semaphore::new(false, permits))
    }
    async fn with_permit<F: Future<Output = ()> + Send>(&self, hold: F) {
        let _permit = self.0.acquire(1).await;
        hold.await;
    }
}

impl PermitPool for maitake_sync::Semaphore {
    const NAME: &'static str = "maitake-sync";
    fn with_permits(permits: usize) -> Self {
        maitake_sync::Semaphore::new(permits)
    }
    async fn with_permit<F: Future<Output = ()> + Send>(&self, hold: F) {
        let _permit = self.acquire(1).await.expect("never closed");
        hold.await;
    }
}

/// Permits of the contended semaphore group.
pub const PERMITS: usize = 4;
/// Tasks of the contended semaphore group.
pub const TASKS: usize = 64;
/// Acquisitions per task in one round.
pub const PER_TASK: usize = 100;
/// Work units (≈ ns) done while holding a permit, after a yield.
pub const WORK: u32 = 50;

/// One round of the contended semaphore group: [`TASKS`] tasks each take a
/// permit [`PER_TASK`] times; while holding it they yield once (so other
/// tasks run and the permits really run out) and do [`WORK`].
pub fn contended_round<P: PermitPool>(rt: &Runtime, pool: &Arc<P>) {
    crate::run_tasks(rt, TASKS, |_| {
        let pool = Arc::clone(pool);
        async move {
            for _ in 0..PER_TASK {
                pool.with_permit(async {
                    tokio::task::yield_now().await;
                    crate::work(WORK);
                })
                .await;
            }
        }
    });
}
