//! Rate limiting with a `BoundedSemaphore` as a token bucket: requests
//! spend tokens, a refill task puts one back per tick, and a full bucket
//! refuses the refill (`TooManyReleases`) instead of overflowing.
//!
//! Run: `cargo run -p warden-book-listings --example ch06_rate_limit`

// ANCHOR: uses
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use warden::BoundedSemaphore;
// ANCHOR_END: uses

// ANCHOR: limiter
/// At most `burst` requests at once, then one per `every`.
struct RateLimiter {
    tokens: BoundedSemaphore,
}

impl RateLimiter {
    fn new(burst: usize, every: Duration) -> Arc<RateLimiter> {
        let limiter = Arc::new(RateLimiter {
            tokens: BoundedSemaphore::new(burst), // starts full
        });
        let weak = Arc::downgrade(&limiter);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.tick().await; // the first tick is immediate
            loop {
                ticks.tick().await;
                let Some(limiter) = weak.upgrade() else { break };
                // Err(TooManyReleases) means the bucket is full: drop the token.
                let _ = limiter.tokens.release(1);
            }
        });
        limiter
    }

    /// Waits for a token and spends it (it does not come back on its own).
    async fn wait(&self) {
        self.tokens.acquire().await.forget();
    }
}
// ANCHOR_END: limiter

// ANCHOR: main
#[tokio::main]
async fn main() {
    const BURST: usize = 3;
    const EVERY: Duration = Duration::from_millis(20);
    let start = Instant::now();
    let limiter = RateLimiter::new(BURST, EVERY);

    let requests: Vec<_> = (0..12)
        .map(|_| {
            let limiter = limiter.clone();
            tokio::spawn(async move {
                limiter.wait().await;
                start.elapsed() // "send the request" here
            })
        })
        .collect();
    let mut sent = Vec::new();
    for request in requests {
        sent.push(request.await.unwrap());
    }
    sent.sort();

    // The k-th request (counting from 1) cannot go before k - BURST
    // refills: however the tasks are scheduled, the rate is respected.
    for (k, at) in (1_usize..).zip(&sent) {
        let refills = u32::try_from(k.saturating_sub(BURST)).unwrap();
        assert!(*at >= EVERY * refills, "request {k} went early, at {at:?}");
    }
    println!("12 requests, burst {BURST}, one more every {EVERY:?}: rate respected");
}
// ANCHOR_END: main

#[cfg(test)]
mod tests {
    #[test]
    fn runs() {
        super::main();
    }
}
