//! Helpers shared by the integration tests.
//!
//! * [`Probe`]: a future polled by hand with its own counting waker, so a
//!   test can say "pending", "woken exactly once", "ready" in that order.
//! * [`until`] / [`until_blocking`]: wait for a *condition* (a waiter is
//!   queued, a thread is parked), never for a duration. Their deadline only
//!   turns a hang into a readable failure; it never decides a passing test.
//! * [`panic_message`], [`Rng`]: small utilities.

// Each test crate includes this module and uses a different part of it.
#![allow(dead_code)]

use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

/// How long a condition may take before the test is declared hung.
pub const HANG: Duration = Duration::from_secs(10);

/// A waker that counts its wake-ups.
#[derive(Default)]
pub struct WakeCounter(AtomicUsize);

impl WakeCounter {
    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

impl Wake for WakeCounter {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A counting waker and its counter.
pub fn counting_waker() -> (Waker, Arc<WakeCounter>) {
    let counter = Arc::new(WakeCounter::default());
    (Waker::from(counter.clone()), counter)
}

/// A future polled by hand, with a waker that counts how often it was woken.
pub struct Probe<F: Future> {
    fut: Pin<Box<F>>,
    waker: Waker,
    counter: Arc<WakeCounter>,
}

impl<F: Future> Probe<F> {
    pub fn new(fut: F) -> Self {
        let (waker, counter) = counting_waker();
        Self {
            fut: Box::pin(fut),
            waker,
            counter,
        }
    }

    /// Polls once with this probe's own waker.
    pub fn poll(&mut self) -> Poll<F::Output> {
        let waker = self.waker.clone();
        self.poll_with(&waker)
    }

    /// Polls once with some other waker (to check the latest one is used).
    pub fn poll_with(&mut self, waker: &Waker) -> Poll<F::Output> {
        self.fut.as_mut().poll(&mut Context::from_waker(waker))
    }

    /// Times this probe's waker was woken.
    pub fn wakes(&self) -> usize {
        self.counter.count()
    }

    /// Polls, and fails the test unless the future is still pending.
    #[track_caller]
    pub fn pending(&mut self) {
        assert!(
            self.poll().is_pending(),
            "expected the future to be pending"
        );
    }

    /// Polls, and fails the test unless the future is ready.
    #[track_caller]
    pub fn ready(&mut self) -> F::Output {
        match self.poll() {
            Poll::Ready(out) => out,
            Poll::Pending => panic!("expected the future to be ready"),
        }
    }
}

/// Polls `fut` once with a no-op waker.
pub fn poll_once<F: Future + Unpin>(fut: &mut F) -> Poll<F::Output> {
    Pin::new(fut).poll(&mut Context::from_waker(Waker::noop()))
}

/// Yields to the runtime until `cond` holds (other tasks run meanwhile).
/// Panics with `what` if it does not hold within [`HANG`].
pub async fn until(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    let mut spins = 0_u32;
    while !cond() {
        assert!(start.elapsed() < HANG, "hung waiting for {what}");
        if spins < 100 {
            tokio::task::yield_now().await;
        } else {
            // Threads (blocking twins, other workers) need real time.
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        spins += 1;
    }
}

/// Sleeps this thread in short steps until `cond` holds. Panics with `what`
/// if it does not hold within [`HANG`].
pub fn until_blocking(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < HANG, "hung waiting for {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// The message of a panic payload (`panic!` with a literal or a format).
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "<non-string panic payload>".to_owned()
    }
}

/// Runs `f` on a tokio worker (a spawned task on a multi-thread runtime)
/// and returns its panic message, failing the test if it did not panic.
pub async fn panic_on_worker<F>(f: F) -> String
where
    F: FnOnce() + Send + 'static,
{
    let err = tokio::spawn(async move { f() })
        .await
        .expect_err("expected the call to panic on a runtime worker");
    assert!(err.is_panic(), "the task was cancelled, not panicked");
    panic_message(&*err.into_panic())
}

/// A tiny deterministic generator (xorshift), for stress tests that want
/// varied but reproducible choices without a `rand` dependency.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Awaits `fut`, failing the test (instead of hanging) if it does not
/// finish within [`HANG`]: for awaits that would never end if a wake-up or
/// a permit were lost.
pub async fn finishes<F: Future>(what: &str, fut: F) -> F::Output {
    tokio::time::timeout(HANG, fut)
        .await
        .unwrap_or_else(|_elapsed| panic!("hung: {what}"))
}
