//! Event-like contenders for the ping-pong group: one task signals, the
//! other wakes, and back.

use std::future::Future;
use std::sync::Arc;

use tokio::runtime::Runtime;

/// A one-waiter wake-up signal.
pub trait Signal: Send + Sync + 'static {
    /// The criterion function id of this contender.
    const NAME: &'static str;

    /// A signal not yet raised.
    fn new() -> Self;

    /// Raises the signal.
    fn raise(&self);

    /// Waits until the signal is raised and lowers it again for the next
    /// round (the only waiter does that, so no raise is lost).
    fn take(&self) -> impl Future<Output = ()> + Send;
}

impl Signal for warden::Event {
    const NAME: &'static str = "warden";
    fn new() -> Self {
        warden::Event::new()
    }
    fn raise(&self) {
        self.set();
    }
    async fn take(&self) {
        self.wait().await;
        self.clear();
    }
}

/// `tokio::sync::Notify`: `notify_one` stores a permit if nobody waits, so
/// it needs no clearing.
impl Signal for tokio::sync::Notify {
    const NAME: &'static str = "tokio";
    fn new() -> Self {
        tokio::sync::Notify::new()
    }
    fn raise(&self) {
        self.notify_one();
    }
    async fn take(&self) {
        self.notified().await;
    }
}

impl Signal for futures_intrusive::sync::ManualResetEvent {
    const NAME: &'static str = "futures-intrusive";
    fn new() -> Self {
        futures_intrusive::sync::ManualResetEvent::new(false)
    }
    fn raise(&self) {
        self.set();
    }
    async fn take(&self) {
        self.wait().await;
        self.reset();
    }
}

/// Round trips in one round of [`pingpong_round`].
pub const ROUND_TRIPS: usize = 1_000;

/// One round: task A raises `there` and takes `back`, task B takes
/// `there` and raises `back`, [`ROUND_TRIPS`] times.
pub fn pingpong_round<S: Signal>(rt: &Runtime, there: &Arc<S>, back: &Arc<S>) {
    crate::run_tasks(rt, 2, |i| {
        let (there, back) = (Arc::clone(there), Arc::clone(back));
        async move {
            for _ in 0..ROUND_TRIPS {
                if i == 0 {
                    there.raise();
                    back.take().await;
                } else {
                    there.take().await;
                    back.raise();
                }
            }
        }
    });
}
