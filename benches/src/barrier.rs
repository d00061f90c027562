//! Barrier contenders: N tasks meet at the barrier generation after
//! generation.

use std::future::Future;
use std::sync::Arc;

use tokio::runtime::Runtime;

/// A reusable barrier.
pub trait Rendezvous: Send + Sync + 'static {
    /// The criterion function id of this contender.
    const NAME: &'static str;

    /// A barrier for `parties` tasks.
    fn with_parties(parties: usize) -> Self;

    /// Waits for the others; `true` for exactly one party per generation.
    fn meet(&self) -> impl Future<Output = bool> + Send;
}

impl Rendezvous for warden::Barrier {
    const NAME: &'static str = "warden";
    fn with_parties(parties: usize) -> Self {
        warden::Barrier::new(parties)
    }
    async fn meet(&self) -> bool {
        self.wait().await.expect("never broken").is_leader()
    }
}

impl Rendezvous for tokio::sync::Barrier {
    const NAME: &'static str = "tokio";
    fn with_parties(parties: usize) -> Self {
        tokio::sync::Barrier::new(parties)
    }
    async fn meet(&self) -> bool {
        self.wait().await.is_leader()
    }
}

impl Rendezvous for async_lock::Barrier {
    const NAME: &'static str = "async-lock";
    fn with_parties(parties: usize) -> Self {
        async_lock::Barrier::new(parties)
    }
    async fn meet(&self) -> bool {
        self.wait().await.is_leader()
    }
}

impl Rendezvous for saa::Barrier {
    const NAME: &'static str = "saa";
    fn with_parties(parties: usize) -> Self {
        saa::Barrier::with_count(parties)
    }
    async fn meet(&self) -> bool {
        self.wait_async().await
    }
}

/// Parties of the barrier group.
pub const PARTIES: usize = 8;
/// Generations in one round.
pub const GENERATIONS: usize = 200;

/// One round: [`PARTIES`] tasks pass the barrier [`GENERATIONS`] times.
///
/// # Panics
///
/// If a generation did not have exactly one leader.
pub fn round<B: Rendezvous>(rt: &Runtime, barrier: &Arc<B>) {
    let leaders: usize = crate::run_tasks(rt, PARTIES, |_| {
        let barrier = Arc::clone(barrier);
        async move {
            let mut led = 0;
            for _ in 0..GENERATIONS {
                led += usize::from(barrier.meet().await);
            }
            led
        }
    })
    .into_iter()
    .sum();
    assert_eq!(
        leaders,
        GENERATIONS,
        "{}: one leader per generation",
        B::NAME
    );
}
