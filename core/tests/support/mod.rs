//! Machinery shared by the reliability tests (`stress`, `cancel_storm`,
//! `panics`, `leaks`).
//!
//! * [`scale`]: `WARDEN_STRESS=long` multiplies every workload by 10.
//! * [`Rng`]: a xorshift generator, seeded per task from [`seed`]
//!   (`WARDEN_SEED=<n>` replays a run's choices; the schedule itself is the
//!   runtime's and is not replayed).
//! * [`within`] / [`until`]: turn a hang (a lost wake-up, a leaked permit)
//!   into a failure that says "hung: ...". Their deadline never decides a
//!   passing test: a correct run finishes far inside it.
//! * [`cancellable`]: runs one wait under a random [`Cancel`] mode —
//!   `tokio::time::timeout` with a tiny or zero duration, `tokio::select!`
//!   against another branch, or `JoinHandle::abort` — and counts what was
//!   really cancelled in [`Stats`].

// Each test crate uses a different part of this module.
#![allow(dead_code)]

use std::future::Future;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// 10 with `WARDEN_STRESS=long`, else 1.
pub fn scale() -> usize {
    if is_long() { 10 } else { 1 }
}

/// Whether `WARDEN_STRESS=long` is set.
pub fn is_long() -> bool {
    std::env::var("WARDEN_STRESS").is_ok_and(|v| v == "long")
}

/// The base seed: `WARDEN_SEED` if set, else a fixed value.
pub fn seed() -> u64 {
    std::env::var("WARDEN_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x005E_ED0F_3A12)
}

/// How long any one workload may take before it is declared hung. Only
/// ever reached by a bug; a passing run is orders of magnitude faster.
pub fn hang_limit() -> Duration {
    Duration::from_secs(if is_long() { 900 } else { 90 })
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
/// precise messages, fire first).
pub async fn within<F: Future>(what: &str, fut: F) -> F::Output {
    match tokio::time::timeout(2 * hang_limit(), fut).await {
        Ok(out) => out,
        Err(_) => hung(what),
    }
}

/// Yields (then sleeps 1 ms at a time, for threads) until `cond` holds;
/// fails with "hung: {what}" after [`hang_limit`].
pub async fn until(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    let mut spins = 0_u32;
    while !cond() {
        if start.elapsed() > hang_limit() {
            hung(what);
        }
        if spins < 50 {
            tokio::task::yield_now().await;
        } else {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        spins += 1;
    }
}

/// The blocking twin of [`until`], for plain threads.
pub fn until_blocking(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    let mut spins = 0_u32;
    while !cond() {
        if start.elapsed() > hang_limit() {
            hung(what);
        }
        if spins < 50 {
            std::thread::yield_now();
        } else {
            std::thread::sleep(Duration::from_millis(1));
        }
        spins += 1;
    }
}

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

    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
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
        let yields = u32::try_from(self.below(4)).expect("small");
        match self.below(3) {
            0 => Cancel::Timeout(self.tiny_duration()),
            1 => Cancel::Select(yields),
            _ => Cancel::Abort(yields),
        }
    }
}

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

    /// Prints one line: `[stress] name: ops=.. cancel_tries=.. cancelled=.. (..%) time=.. extra`.
    pub fn report(&self, file: &str, name: &str, started: Instant, extra: &str) {
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
            "[{file}] {name}: scale={} ops={ops} cancel_tries={tries} cancelled={cancelled} \
             ({pct:.1}% of waits) time={:.2?} {extra}",
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
    if mode != Cancel::Never {
        stats.cancel_tries.fetch_add(1, Ordering::Relaxed);
    }
    let out = match mode {
        Cancel::Never => Some(wait.await),
        Cancel::Timeout(d) => tokio::time::timeout(d, wait).await.ok(),
        Cancel::Select(k) => tokio::select! {
            out = wait => Some(out),
            () = yields(k) => None,
        },
        Cancel::Abort(k) => {
            let handle = tokio::spawn(wait);
            yields(k).await;
            handle.abort();
            match handle.await {
                Ok(out) => Some(out),
                Err(e) if e.is_cancelled() => None,
                Err(e) => std::panic::resume_unwind(e.into_panic()),
            }
        }
    };
    if out.is_none() {
        stats.cancelled.fetch_add(1, Ordering::Relaxed);
    }
    out
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
