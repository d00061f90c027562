//! Helpers shared by the integration tests (each test file has `mod
//! support;` and uses a different part of it).
//!
//! * Hangs become failures: [`within`] / [`until`] / [`until_blocking`]
//!   wait for a future or a *condition* (a waiter is queued, a thread is
//!   parked), never for a duration, and fail with "hung: ..." (see [`hung`])
//!   after [`hang_limit`]. That deadline never decides a passing test: a
//!   correct run finishes far inside it.
//! * [`Probe`]: a future polled by hand with its own counting waker, so a
//!   test can say "pending", "woken exactly once", "ready" in that order.
//! * [`Rng`]: a xorshift generator, seeded per task from [`seed`]
//!   (`WARDEN_SEED=<n>` replays a run's choices; the schedule itself is the
//!   runtime's and is not replayed).
//! * For the reliability workloads: [`scale`] (`WARDEN_STRESS=long`
//!   multiplies every count by 10), [`cancellable`], which runs one wait
//!   under a random [`Cancel`] mode — `tokio::time::timeout` with a tiny or
//!   zero duration, `tokio::select!` against another branch, or
//!   `JoinHandle::abort` — and counts what was really cancelled in
//!   [`Stats`], and the joins [`join_all`] / [`join_threads`].
//! * [`panic_message`], [`join_panic`], [`panic_on_worker`]: panics as text.

// Each test crate uses a different part of this module.
#![allow(dead_code)]

use std::any::Any;
use std::future::Future;
use std::io::Write;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------
// Scale and seed.
// ---------------------------------------------------------------------------

/// Whether `WARDEN_STRESS=long` is set.
pub fn is_long() -> bool {
    std::env::var("WARDEN_STRESS").is_ok_and(|v| v == "long")
}

/// 10 with `WARDEN_STRESS=long`, else 1.
pub fn scale() -> usize {
    if is_long() { 10 } else { 1 }
}

/// The base seed: `WARDEN_SEED` if set, else a fixed value.
pub fn seed() -> u64 {
    std::env::var("WARDEN_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x005E_ED0F_3A12)
}

// ---------------------------------------------------------------------------
// Hangs become failures.
// ---------------------------------------------------------------------------

/// How long one condition may take before the test is declared hung (in
/// long mode, [`hang_limit`] is ten times this). Only ever reached by a
/// bug; a passing run is orders of magnitude faster.
pub const HANG: Duration = Duration::from_secs(90);

/// [`HANG`], times 10 with `WARDEN_STRESS=long`.
pub fn hang_limit() -> Duration {
    HANG * u32::try_from(scale()).expect("1 or 10")
}

/// Fails the test: "hung: {what}". A hung wait may leave a thread blocked
/// forever (a blocking twin, or a `spawn_blocking` closure the runtime
/// waits for when it shuts down), so unwinding alone might hang too: a
/// watchdog aborts the process if it is still alive 20 s later, so a hang
/// always ends as a failure with this message, never as a stuck run.
#[track_caller]
pub fn hung(what: &str) -> ! {
    let msg = format!(
        "hung: {what} (not done within {:?}: a lost wake-up, a leaked permit or a \
         waiter left behind)",
        hang_limit()
    );
    // Straight to the process's stderr, past the test harness's capture,
    // so the message survives the abort below.
    let _ = writeln!(std::io::stderr(), "{msg}");
    std::thread::spawn(|| {
        std::thread::sleep(Duration::from_secs(20));
        let _ = writeln!(
            std::io::stderr(),
            "a hung test could not unwind (a thread is still blocked): aborting"
        );
        std::process::abort();
    });
    panic!("{msg}");
}

/// Awaits `fut`, failing the test with "hung: {what}" if it does not finish
/// within twice [`hang_limit`] (so the [`until`]s inside, with their more
/// precise messages, fire first): for awaits that would never end if a
/// wake-up or a permit were lost.
pub async fn within<F: Future>(what: &str, fut: F) -> F::Output {
    match tokio::time::timeout(2 * hang_limit(), fut).await {
        Ok(out) => out,
        Err(_) => hung(what),
    }
}

/// The waiting of [`until`] and [`until_blocking`]: yield the first 50
/// times (other tasks or threads run meanwhile), then sleep 1 ms at a time
/// (threads need real time); fail with "hung: {what}" after [`hang_limit`].
struct Patience<'a> {
    what: &'a str,
    start: Instant,
    waits: u32,
}

impl<'a> Patience<'a> {
    fn new(what: &'a str) -> Self {
        Patience {
            what,
            start: Instant::now(),
            waits: 0,
        }
    }

    /// Whether the next wait is a yield (else a 1 ms sleep).
    fn yield_next(&mut self) -> bool {
        if self.start.elapsed() > hang_limit() {
            hung(self.what);
        }
        self.waits += 1;
        self.waits <= 50
    }
}

/// Yields to the runtime until `cond` holds; fails with "hung: {what}"
/// after [`hang_limit`].
pub async fn until(what: &str, mut cond: impl FnMut() -> bool) {
    let mut patience = Patience::new(what);
    while !cond() {
        if patience.yield_next() {
            tokio::task::yield_now().await;
        } else {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
}

/// The blocking twin of [`until`], for plain threads.
pub fn until_blocking(what: &str, mut cond: impl FnMut() -> bool) {
    let mut patience = Patience::new(what);
    while !cond() {
        if patience.yield_next() {
            std::thread::yield_now();
        } else {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

// ---------------------------------------------------------------------------
// Futures polled by hand.
// ---------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------
// Panics as text.
// ---------------------------------------------------------------------------

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

/// The message of a task's panic; fails the test if the task was
/// cancelled instead.
pub fn join_panic(err: tokio::task::JoinError) -> String {
    assert!(err.is_panic(), "expected a panic, got {err}");
    panic_message(&*err.into_panic())
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
    join_panic(err)
}

// ---------------------------------------------------------------------------
// Random choices.
// ---------------------------------------------------------------------------

/// A xorshift64 generator: varied, reproducible choices, no dependency.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator for stream `stream` (a task index) of the run's seed.
    pub fn new(stream: u64) -> Self {
        let mixed = (seed() ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15))
            .wrapping_mul(0xBF58_476D_1CE4_E5B9);
        let mut rng = Self(mixed | 1);
        rng.next(); // decorrelate neighbouring streams
        rng
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        let n64 = u64::try_from(n).expect("usize fits in u64");
        usize::try_from(self.next() % n64).expect("below n, so fits in usize")
    }

    /// A number of yields in `0..n` (`n > 0`).
    pub fn yields(&mut self, n: u32) -> u32 {
        u32::try_from(self.next() % u64::from(n)).expect("below n, so fits in u32")
    }

    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    /// A duration in `0..max_micros` µs.
    pub fn micros(&mut self, max_micros: u64) -> Duration {
        Duration::from_micros(self.next() % max_micros)
    }

    /// A tiny timeout: zero 40 % of the time, else up to 200 µs (tokio
    /// rounds non-zero ones up to its 1 ms tick).
    pub fn tiny_duration(&mut self) -> Duration {
        if self.chance(40) {
            Duration::ZERO
        } else {
            Duration::from_micros(self.next() % 200 + 1)
        }
    }

    /// How a wait is to be cancelled: with probability `percent` / 100 one
    /// of the three ways, else not at all.
    pub fn cancel(&mut self, percent: usize) -> Cancel {
        if !self.chance(percent) {
            return Cancel::Never;
        }
        let yields = self.yields(4);
        match self.below(3) {
            0 => Cancel::Timeout(self.tiny_duration()),
            1 => Cancel::Select(yields),
            _ => Cancel::Abort(yields),
        }
    }
}

// ---------------------------------------------------------------------------
// Cancelling waits, and counting what they did.
// ---------------------------------------------------------------------------

/// How [`cancellable`] cancels a wait, at a random point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cancel {
    /// Just await it.
    Never,
    /// `tokio::time::timeout(d, wait)`.
    Timeout(Duration),
    /// `tokio::select!` against a branch that is ready after that many
    /// yields (polled in random order, so with 0 the wait may never be
    /// polled at all).
    Select(u32),
    /// Spawn the wait, yield that many times, `JoinHandle::abort` it.
    Abort(u32),
}

/// What a workload did, printed at its end (`--nocapture` shows it).
#[derive(Default, Debug)]
pub struct Stats {
    /// Operations completed (waits that returned, work done).
    pub ops: AtomicU64,
    /// Waits run under a cancelling mode.
    pub cancel_tries: AtomicU64,
    /// Waits that really were cancelled (the mode won the race).
    pub cancelled: AtomicU64,
}

impl Stats {
    pub fn op(&self) {
        self.ops.fetch_add(1, Ordering::Relaxed);
    }

    pub fn ops(&self) -> u64 {
        self.ops.load(Ordering::Relaxed)
    }

    pub fn cancelled(&self) -> u64 {
        self.cancelled.load(Ordering::Relaxed)
    }

    pub fn cancel_tries(&self) -> u64 {
        self.cancel_tries.load(Ordering::Relaxed)
    }

    /// Prints one line: `[file] name: ops=.. cancel_tries=.. cancelled=.. (..%) time=.. extra`,
    /// where `file` is the test file (`stress`, `cancel_storm`).
    pub fn report(&self, name: &str, started: Instant, extra: &str) {
        let ops = self.ops();
        let cancelled = self.cancelled();
        let tries = self.cancel_tries();
        #[allow(clippy::cast_precision_loss)] // a percentage for humans
        let pct = if ops + cancelled == 0 {
            0.0
        } else {
            100.0 * cancelled as f64 / (ops + cancelled) as f64
        };
        println!(
            "[{}] {name}: scale={} ops={ops} cancel_tries={tries} cancelled={cancelled} \
             ({pct:.1}% of waits) time={:.2?} {extra}",
            env!("CARGO_CRATE_NAME"),
            scale(),
            started.elapsed()
        );
    }
}

/// `k` yields to the scheduler.
pub async fn yields(k: u32) {
    for _ in 0..k {
        tokio::task::yield_now().await;
    }
}

/// Runs `wait` under `mode`; `Some(output)` if it completed, `None` if it
/// was cancelled (counted in `stats`). A panic inside an aborted wait is
/// propagated.
pub async fn cancellable<F>(mode: Cancel, stats: &Stats, wait: F) -> Option<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    if let Cancel::Abort(k) = mode {
        stats.cancel_tries.fetch_add(1, Ordering::Relaxed);
        let handle = tokio::spawn(wait);
        yields(k).await;
        handle.abort();
        let out = match handle.await {
            Ok(out) => Some(out),
            Err(e) if e.is_cancelled() => None,
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        };
        if out.is_none() {
            stats.cancelled.fetch_add(1, Ordering::Relaxed);
        }
        out
    } else {
        cancellable_local(mode, stats, wait).await
    }
}

/// As [`cancellable`] for a wait that borrows (so cannot be spawned):
/// `Abort` becomes a `select!` against the same number of yields.
pub async fn cancellable_local<F: Future>(
    mode: Cancel,
    stats: &Stats,
    wait: F,
) -> Option<F::Output> {
    if mode != Cancel::Never {
        stats.cancel_tries.fetch_add(1, Ordering::Relaxed);
    }
    let out = match mode {
        Cancel::Never => Some(wait.await),
        Cancel::Timeout(d) => tokio::time::timeout(d, wait).await.ok(),
        Cancel::Select(k) | Cancel::Abort(k) => tokio::select! {
            out = wait => Some(out),
            () = yields(k) => None,
        },
    };
    if out.is_none() {
        stats.cancelled.fetch_add(1, Ordering::Relaxed);
    }
    out
}

// ---------------------------------------------------------------------------
// Joins.
// ---------------------------------------------------------------------------

/// Joins a set of tasks, propagating the first panic.
pub async fn join_all<T>(handles: Vec<tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        match h.await {
            Ok(v) => out.push(v),
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => panic!("task unexpectedly cancelled: {e}"),
        }
    }
    out
}

/// Joins OS threads from async code without blocking a worker: waits
/// (asynchronously, within [`hang_limit`]) until they have all finished.
pub async fn join_threads<T>(threads: Vec<std::thread::JoinHandle<T>>) -> Vec<T> {
    until("threads to finish", || {
        threads.iter().all(std::thread::JoinHandle::is_finished)
    })
    .await;
    threads
        .into_iter()
        .map(|t| t.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
        .collect()
}
