//! Seeing into warden's primitives: contention events through [`tracing`],
//! a hang report ([`dump`]), lock-order checking ("lockdep") and a
//! self-deadlock warning. Feature **`tracing`** (off by default).
//!
//! Python has `faulthandler.dump_traceback()` and `py-spy dump` for a
//! program that hangs; tokio has tokio-console for its own types. This
//! module tells you, for warden's primitives, *which* one is stuck, held by
//! *whom*, since *when*, acquired *where*, and warns of two tasks taking
//! two locks in opposite orders before they ever deadlock.
//!
//! # Names
//!
//! Give the primitives you care about a name (kept only with this feature;
//! the method exists in every build, so naming costs nothing without it):
//!
//! ```
//! use warden::{Lock, Semaphore};
//! static ACCOUNTS: Lock<Vec<i64>> = Lock::new(Vec::new()).named("accounts");
//! let pool = Semaphore::new(10).named("db-pool");
//! # let _ = (&ACCOUNTS, pool);
//! ```
//!
//! `#[guarded]` names its locks after their fields (`Bank.lock`). Unnamed
//! primitives are still checked for lock order and self-deadlock; the hang
//! report lists the named ones and counts the others.
//!
//! # Events
//!
//! Every event has the target `warden` (filter with `RUST_LOG=warden=debug`
//! under `tracing_subscriber::EnvFilter`) and is emitted with none of
//! warden's internal locks held. Levels are chosen so that an `INFO`
//! subscriber sees only what needs attention:
//!
//! | level   | event                                                   | fields |
//! |---------|---------------------------------------------------------|--------|
//! | `ERROR` | lock-order inversion, declared order violated ([`Lockdep::Warn`]) | message |
//! | `WARN`  | a lock held longer than the [`threshold`], at its release | `primitive`, `kind`, `held_us`, `site`, `task` |
//! | `WARN`  | possible self-deadlock (below)                          | `primitive`, `kind`, `waited_us`, `site`, `task` |
//! | `WARN`  | a barrier broken by a timeout or a panicking action     | `primitive`, `why`, `site` |
//! | `WARN`  | a `BoundedSemaphore::release` refused                   | `primitive`, `permits`, `site` |
//! | `DEBUG` | a wait that had to queue, when it ends                  | `primitive`, `kind`, `waited_us`, `outcome`, `site`, `task` |
//! | `DEBUG` | a barrier broken by `abort()` or `reset()`              | `primitive`, `why`, `site` |
//!
//! `site` is where the wait or acquisition was written (`file:line:col`):
//! every acquiring method is `#[track_caller]` with this feature, and its
//! future keeps the location. Times are read from tokio's clock
//! (`tokio::time::Instant`), so a test under `start_paused = true` sees
//! exact durations.
//!
//! # The hang report
//!
//! [`dump()`] lists every named primitive that is held or waited on right
//! now: who holds it (the tokio task id, or the thread), since when, where
//! it was acquired, and who waits for it, since when, where. Serve it from
//! an HTTP route or print it on a signal; it never blocks on the primitives
//! themselves.
//!
//! # Lock order ("lockdep")
//!
//! For `Lock`, `RLock` and `RwLock`: each time a task acquires one while it
//! holds others, the order "held → acquired" joins a graph shared by the
//! whole program. The first order that closes a cycle — `a → b` seen in one
//! task, `b → a` in another — is a possible deadlock, reported with both
//! acquisition sites of each order even if the two never ran at the same
//! time. An order declared with `#[guarded(order = [lock, audit])]` is
//! checked at every acquisition: taking `lock` while holding `audit` (of
//! any instance of the struct) is reported at once. A name is a *class*, as
//! in Linux's lockdep: all locks named `accounts` are one node, and two of
//! them taken one inside the other are not checked against each other.
//! Try-acquisitions join the held set but add no order (they cannot block).
//!
//! The mode is [`lockdep()`]: `WARDEN_LOCKDEP=warn` (the default: a
//! `tracing` error), `panic` (panic at the acquisition, for tests and CI)
//! or `off`, read once from the environment; [`set_lockdep`] sets it in
//! the process (tests: one test binary, one mode, since the setting is
//! global).
//!
//! # Self-deadlock
//!
//! Waiting for a `Lock` (or `RwLock`) that your own task holds never ends.
//! Panicking at that acquire would be wrong: the guard may have been moved
//! to another task that will drop it, a `join!` branch may be about to
//! release it, a `timeout` may end the wait. So warden waits: when an async
//! wait has lasted the [`threshold`] and the lock is still held by the
//! waiting task, it emits one warning — "possible self-deadlock: task 7 has
//! waited 100ms for Lock `accounts`, which it acquired at src/bank.rs:42:5
//! and still holds (unless that guard was handed to another task)". It
//! needs a tokio runtime with timers (as `#[tokio::main]` has); the
//! blocking twins are not watched.
//!
//! # Cost
//!
//! Without the feature: nothing (no field, no call; the size table and the
//! benchmarks say so). With it, every acquisition and release records
//! itself in a sharded table (one uncontended mutex each way), and a
//! primitive is a few words larger; the book's Performance appendix has the
//! figures.

mod dump;
mod lockdep;
mod table;

pub use dump::{Dump, Party, PrimitiveState, dump};

use std::cell::Cell;
use std::fmt;
use std::panic::Location;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::task::Context;
use std::time::Duration;

use tokio::time::Instant;

use crate::__private::LockRank;
use table::List;

/// Which kind of primitive a report is about.
///
/// ```
/// assert_eq!(warden::debug::Kind::RwLock.to_string(), "RwLock");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Kind {
    /// [`Lock`](crate::Lock).
    Lock,
    /// [`RLock`](crate::RLock).
    RLock,
    /// [`RwLock`](crate::RwLock).
    RwLock,
    /// [`Semaphore`](crate::Semaphore).
    Semaphore,
    /// [`BoundedSemaphore`](crate::BoundedSemaphore).
    BoundedSemaphore,
    /// [`Event`](crate::Event).
    Event,
    /// [`Condition`](crate::Condition).
    Condition,
    /// [`Barrier`](crate::Barrier).
    Barrier,
}

impl Kind {
    /// The type's name, `"Lock"` for [`Kind::Lock`].
    ///
    /// ```
    /// assert_eq!(warden::debug::Kind::Barrier.as_str(), "Barrier");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Lock => "Lock",
            Kind::RLock => "RLock",
            Kind::RwLock => "RwLock",
            Kind::Semaphore => "Semaphore",
            Kind::BoundedSemaphore => "BoundedSemaphore",
            Kind::Event => "Event",
            Kind::Condition => "Condition",
            Kind::Barrier => "Barrier",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a primitive is held, or what a waiter waits for.
///
/// ```
/// assert_eq!(warden::debug::Mode::Permits(2).to_string(), "2 permits");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mode {
    /// A `Lock` or `RLock` (one level of it).
    Exclusive,
    /// An `RwLock`'s read lock.
    Read,
    /// An `RwLock`'s write lock.
    Write,
    /// Permits of a semaphore.
    Permits(usize),
    /// An event to be set, a notification, the other parties of a barrier.
    Signal,
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mode::Exclusive => f.write_str("exclusive"),
            Mode::Read => f.write_str("read"),
            Mode::Write => f.write_str("write"),
            Mode::Permits(1) => f.write_str("1 permit"),
            Mode::Permits(n) => write!(f, "{n} permits"),
            Mode::Signal => f.write_str("signal"),
        }
    }
}

/// Who holds or waits: a tokio task (by the id tokio-console and
/// `tokio::task::id()` show), or, outside tasks, a thread (numbered by
/// warden in the order threads first used a primitive).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let who = tokio::spawn(async { warden::debug::Who::current() }).await.unwrap();
/// assert!(who.task_id().is_some());
/// assert!(who.to_string().starts_with("task "));
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Who(u64);

/// The top bit of an owner word: a thread (see `crate::owner`).
const THREAD: u64 = 1 << 63;

impl Who {
    /// The current task, or the current thread outside tasks.
    pub fn current() -> Who {
        Who(crate::owner::Owner::current().word())
    }

    /// The tokio task id (as `tokio::task::Id` displays it), or `None` for
    /// a thread.
    pub fn task_id(self) -> Option<u64> {
        (self.0 & THREAD == 0).then_some(self.0)
    }
}

impl fmt::Display for Who {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.task_id() {
            Some(id) => write!(f, "task {id}"),
            None => write!(f, "thread #{}", self.0 & !THREAD),
        }
    }
}

// ---- settings --------------------------------------------------------------

/// The threshold when nothing sets one: 100 ms.
const DEFAULT_THRESHOLD: Duration = Duration::from_millis(100);
/// `u64::MAX`: not read from the environment yet.
static THRESHOLD_NS: AtomicU64 = AtomicU64::new(u64::MAX);

/// How long a lock may be held, or a task wait for a lock it holds itself,
/// before warden warns: [`set_threshold`], else `WARDEN_THRESHOLD_MS` from
/// the environment (read once), else 100 ms.
///
/// ```
/// assert!(warden::debug::threshold() > std::time::Duration::ZERO);
/// ```
pub fn threshold() -> Duration {
    let ns = THRESHOLD_NS.load(Ordering::Relaxed);
    if ns != u64::MAX {
        return Duration::from_nanos(ns);
    }
    let read = std::env::var("WARDEN_THRESHOLD_MS")
        .ok()
        .and_then(|ms| ms.trim().parse::<u64>().ok())
        .map_or(DEFAULT_THRESHOLD, Duration::from_millis);
    let ns = u64::try_from(read.as_nanos()).unwrap_or(u64::MAX - 1);
    // A `set_threshold` racing with this first read wins.
    let _ = THRESHOLD_NS.compare_exchange(u64::MAX, ns, Ordering::Relaxed, Ordering::Relaxed);
    Duration::from_nanos(THRESHOLD_NS.load(Ordering::Relaxed))
}

/// Sets the [`threshold`] for the whole process.
///
/// ```
/// use std::time::Duration;
/// warden::debug::set_threshold(Duration::from_millis(250));
/// assert_eq!(warden::debug::threshold(), Duration::from_millis(250));
/// ```
pub fn set_threshold(threshold: Duration) {
    let ns = u64::try_from(threshold.as_nanos()).unwrap_or(u64::MAX - 1);
    THRESHOLD_NS.store(ns, Ordering::Relaxed);
}

/// What lock-order checking does on a problem (see the
/// [module docs](self#lock-order-lockdep)).
///
/// ```
/// use warden::debug::Lockdep;
/// assert_eq!("panic".parse::<Lockdep>(), Ok(Lockdep::Panic));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lockdep {
    /// No checking (nothing recorded in the order graph).
    Off,
    /// A `tracing` error event (the default).
    Warn,
    /// A panic at the acquisition that shows the problem.
    Panic,
}

impl std::str::FromStr for Lockdep {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "off" | "0" | "false" => Ok(Lockdep::Off),
            "warn" | "" => Ok(Lockdep::Warn),
            "panic" => Ok(Lockdep::Panic),
            other => Err(format!(
                "WARDEN_LOCKDEP={other:?}: expected `off`, `warn` or `panic`"
            )),
        }
    }
}

/// 0: not read from the environment yet; else `1 + Lockdep as u8`.
static LOCKDEP: AtomicU8 = AtomicU8::new(0);

/// The lock-order checking mode: [`set_lockdep`], else `WARDEN_LOCKDEP`
/// (`off`, `warn` or `panic`; read once), else [`Lockdep::Warn`].
///
/// ```
/// # warden::debug::set_lockdep(warden::debug::Lockdep::Warn);
/// assert_eq!(warden::debug::lockdep(), warden::debug::Lockdep::Warn);
/// ```
pub fn lockdep() -> Lockdep {
    match LOCKDEP.load(Ordering::Relaxed) {
        1 => Lockdep::Off,
        2 => Lockdep::Warn,
        3 => Lockdep::Panic,
        _ => {
            let mode = match std::env::var("WARDEN_LOCKDEP") {
                Err(_) => Lockdep::Warn,
                Ok(value) => value.parse().unwrap_or_else(|message: String| {
                    emit(|| tracing::warn!(target: "warden", "{message}; using `warn`"));
                    Lockdep::Warn
                }),
            };
            let _ = LOCKDEP.compare_exchange(0, encode(mode), Ordering::Relaxed, Ordering::Relaxed);
            lockdep()
        }
    }
}

fn encode(mode: Lockdep) -> u8 {
    match mode {
        Lockdep::Off => 1,
        Lockdep::Warn => 2,
        Lockdep::Panic => 3,
    }
}

pub(crate) fn lockdep_mode() -> Lockdep {
    lockdep()
}

/// Sets the lock-order checking mode for the whole process (over
/// `WARDEN_LOCKDEP`).
///
/// ```
/// use warden::debug::{Lockdep, lockdep, set_lockdep};
/// set_lockdep(Lockdep::Panic);
/// assert_eq!(lockdep(), Lockdep::Panic);
/// # set_lockdep(Lockdep::Warn);
/// ```
pub fn set_lockdep(mode: Lockdep) {
    LOCKDEP.store(encode(mode), Ordering::Relaxed);
}

// ---- what primitives carry ---------------------------------------------------

/// What a primitive carries with the feature: its name, its declared rank
/// (from `#[guarded(order = [..])]`) and a number, drawn at first use.
pub(crate) struct Meta {
    name: Option<&'static str>,
    rank: Option<&'static LockRank>,
    /// 0 until the primitive is first used.
    id: AtomicU64,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

impl Meta {
    pub(crate) const fn new() -> Meta {
        Meta {
            name: None,
            rank: None,
            id: AtomicU64::new(0),
        }
    }

    pub(crate) const fn set_name(&mut self, name: &'static str) {
        self.name = Some(name);
    }

    pub(crate) const fn set_rank(&mut self, rank: Option<&'static LockRank>) {
        self.rank = rank;
    }

    /// The primitive, as the tables and reports name it.
    pub(crate) fn prim(&self, kind: Kind) -> Prim {
        let mut id = self.id.load(Ordering::Relaxed);
        if id == 0 {
            let fresh = NEXT_ID.fetch_add(1, Ordering::Relaxed);
            id = match self
                .id
                .compare_exchange(0, fresh, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => fresh,
                Err(won) => won,
            };
        }
        Prim {
            id,
            kind,
            name: self.name,
            rank: self.rank,
        }
    }

    /// For `Debug` impls.
    pub(crate) fn name(&self) -> Option<&'static str> {
        self.name
    }
}

impl Drop for Meta {
    fn drop(&mut self) {
        let id = *self.id.get_mut();
        if id != 0 && self.name.is_none() {
            lockdep::forget(id);
        }
    }
}

/// A primitive, as entries and reports name it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Prim {
    pub(crate) id: u64,
    pub(crate) kind: Kind,
    pub(crate) name: Option<&'static str>,
    pub(crate) rank: Option<&'static LockRank>,
}

impl fmt::Display for Prim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name {
            Some(name) => write!(f, "{} `{name}`", self.kind),
            None => write!(f, "{} #{} (unnamed)", self.kind, self.id),
        }
    }
}

// ---- holds -------------------------------------------------------------------

/// A guard's (or permit's) entry in the table, removed when it drops: then
/// a lock held past the threshold is reported. `Default` is "nothing
/// recorded".
#[derive(Default)]
pub(crate) struct Hold {
    owner: u64,
    /// 0: nothing recorded.
    token: u64,
}

/// The lock-order check of an acquisition, to run once its guard exists (so
/// that a panic in `panic` mode releases the lock as it unwinds).
#[must_use]
pub(crate) struct Check {
    prim: Prim,
    site: &'static Location<'static>,
    who: Who,
    held: Vec<table::Entry>,
}

impl Check {
    pub(crate) fn run(self) {
        if !self.held.is_empty() {
            lockdep::check(self.prim, self.site, self.who, &self.held);
        }
    }
}

/// Records that the current task now holds `prim` (acquired at `site`).
/// With `check`, the returned [`Check`] checks the lock order (acquisitions
/// that queued were checked before they waited; try-acquisitions are not).
pub(crate) fn hold(
    prim: Prim,
    site: &'static Location<'static>,
    mode: Mode,
    check: bool,
) -> (Hold, Check) {
    let who = Who::current();
    let mut held = Vec::new();
    let wants = check && lockdep::covers(prim.kind) && lockdep_mode() != Lockdep::Off;
    let token = table::insert(
        who.0,
        List::Held,
        prim,
        site,
        mode,
        wants.then_some(&mut held),
    );
    (
        Hold {
            owner: who.0,
            token,
        },
        Check {
            prim,
            site,
            who,
            held,
        },
    )
}

impl Hold {
    /// An `RwLock` write guard downgraded to a read guard.
    pub(crate) fn set_mode(&self, mode: Mode) {
        if self.token != 0 {
            table::set_mode(self.owner, self.token, mode);
        }
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        if self.token == 0 {
            return;
        }
        let Some(entry) = table::remove(self.owner, List::Held, self.token) else {
            return;
        };
        let held = entry.since.elapsed();
        if lockdep::covers(entry.prim.kind) && held >= threshold() {
            let who = Who(self.owner);
            let prim = entry.prim;
            emit(|| {
                tracing::warn!(
                    target: "warden",
                    primitive = prim.name.unwrap_or(""),
                    kind = prim.kind.as_str(),
                    held_us = micros(held),
                    site = %entry.site,
                    task = %who,
                    "{prim} was held for {held:?} (over the {:?} threshold), acquired at {} by {who}",
                    threshold(),
                    entry.site,
                );
            });
        }
    }
}

// ---- waits ---------------------------------------------------------------------

/// What a wait future carries with the feature: where it was written and,
/// once it has queued, its entry in the table (and the self-deadlock
/// watch). Unregisters itself when dropped.
pub(crate) struct Waiting {
    site: &'static Location<'static>,
    queued: Option<Box<Queued>>,
}

struct Queued {
    owner: u64,
    token: u64,
    prim: Prim,
    since: Instant,
    /// The self-deadlock watch: armed while the waiting task holds the lock.
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
    warned: bool,
}

impl Waiting {
    /// A wait written at the caller's location.
    #[track_caller]
    pub(crate) fn here() -> Waiting {
        Waiting::at(Location::caller())
    }

    pub(crate) fn at(site: &'static Location<'static>) -> Waiting {
        Waiting { site, queued: None }
    }

    pub(crate) fn site(&self) -> &'static Location<'static> {
        self.site
    }

    pub(crate) fn is_queued(&self) -> bool {
        self.queued.is_some()
    }

    /// The wait had to queue: records it (once), after checking the lock
    /// order of a lock's acquisition (before it waits, so a deadlock about
    /// to happen is reported before it hangs).
    pub(crate) fn queued(&mut self, prim: Prim, mode: Mode) {
        if self.queued.is_some() {
            return;
        }
        let who = Who::current();
        let mut held = Vec::new();
        let check = lockdep::covers(prim.kind) && lockdep_mode() != Lockdep::Off;
        let token = table::insert(
            who.0,
            List::Waiting,
            prim,
            self.site,
            mode,
            check.then_some(&mut held),
        );
        self.queued = Some(Box::new(Queued {
            owner: who.0,
            token,
            prim,
            since: Instant::now(),
            timer: None,
            warned: false,
        }));
        if !held.is_empty() {
            lockdep::check(prim, self.site, who, &held);
        }
    }

    /// For a queued wait on a `Lock` or `RwLock`, polled while still
    /// waiting: watches for a self-deadlock (see the module docs). Arms a
    /// timer for the rest of the threshold while the waiting task holds
    /// the lock; warns once when it fires with the lock still held.
    pub(crate) fn watch_self(&mut self, cx: &mut Context<'_>) {
        let Some(q) = self.queued.as_deref_mut() else {
            return;
        };
        if q.warned {
            return;
        }
        let Some(hold) = table::holding(q.owner, q.prim.id) else {
            q.timer = None;
            return;
        };
        if tokio::runtime::Handle::try_current().is_err() {
            return; // no clock to wait on
        }
        let deadline = q.since + threshold();
        let timer = q
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if timer.as_mut().poll(cx).is_pending() {
            return;
        }
        q.warned = true;
        q.timer = None;
        let waited = q.since.elapsed();
        let (prim, who, site) = (q.prim, Who(q.owner), self.site);
        emit(|| {
            tracing::warn!(
                target: "warden",
                primitive = prim.name.unwrap_or(""),
                kind = prim.kind.as_str(),
                waited_us = micros(waited),
                site = %site,
                task = %who,
                "possible self-deadlock: {who} has waited {waited:?} for {prim} (at {site}), \
                 which it acquired at {} and still holds (unless that guard was handed to \
                 another task)",
                hold.site,
            );
        });
    }

    /// The wait ended with what it waited for.
    pub(crate) fn finish(&mut self) {
        self.end("acquired");
    }

    pub(crate) fn end(&mut self, outcome: &'static str) {
        let Some(q) = self.queued.take() else {
            return;
        };
        table::remove(q.owner, List::Waiting, q.token);
        let waited = q.since.elapsed();
        let (prim, who, site) = (q.prim, Who(q.owner), self.site);
        drop(q);
        emit(|| {
            tracing::debug!(
                target: "warden",
                primitive = prim.name.unwrap_or(""),
                kind = prim.kind.as_str(),
                waited_us = micros(waited),
                outcome,
                site = %site,
                task = %who,
                "{who} waited {waited:?} for {prim} at {site}: {outcome}",
            );
        });
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.end("cancelled");
    }
}

// ---- other events ------------------------------------------------------------------

/// A barrier broke. `deliberate`: by `abort()` or `reset()` (`DEBUG`);
/// otherwise a timeout or a panicking action (`WARN`).
pub(crate) fn barrier_broken(
    meta: &Meta,
    why: &str,
    site: Option<&'static Location<'static>>,
    deliberate: bool,
) {
    let prim = meta.prim(Kind::Barrier);
    let at = site.map_or_else(String::new, |s| format!(" at {s}"));
    emit(|| {
        if deliberate {
            tracing::debug!(target: "warden", primitive = prim.name.unwrap_or(""), why, site = at.trim_start_matches(" at "), "{prim} broken: {why}{at}");
        } else {
            tracing::warn!(target: "warden", primitive = prim.name.unwrap_or(""), why, site = at.trim_start_matches(" at "), "{prim} broken: {why}{at}");
        }
    });
}

/// A `BoundedSemaphore::release(n)` refused.
pub(crate) fn over_release(meta: &Meta, permits: usize, site: &'static Location<'static>) {
    let prim = meta.prim(Kind::BoundedSemaphore);
    emit(|| {
        tracing::warn!(
            target: "warden",
            primitive = prim.name.unwrap_or(""),
            permits,
            site = %site,
            "{prim}: release({permits}) at {site} refused: it would exceed the bound (Python's ValueError)",
        );
    });
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

std::thread_local! {
    /// Set while an event is being emitted on this thread: a subscriber
    /// that itself uses warden's primitives must not recurse into events.
    static EMITTING: Cell<bool> = const { Cell::new(false) };
}

/// Emits an event (runs the subscriber: foreign code) unless this thread
/// is already emitting one. Never called with an internal lock held.
pub(crate) fn emit(event: impl FnOnce()) {
    /// Clears `EMITTING`, also if the subscriber panics.
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            EMITTING.with(|e| e.set(false));
        }
    }
    if EMITTING.with(|e| e.replace(true)) {
        return;
    }
    let _reset = Reset;
    event();
}

// ---- the hooks the primitives call ---------------------------------------------------

/// An acquisition that did not wait (a fast path, or found free when it
/// went to queue): records the hold; its lock order is checked by the
/// returned [`Check`], to run once the guard exists.
pub(crate) fn acquired_now(
    meta: &Meta,
    kind: Kind,
    mode: Mode,
    site: &'static Location<'static>,
) -> (Hold, Check) {
    hold(meta.prim(kind), site, mode, true)
}

/// A try-acquisition that succeeded: held, but adds no order.
pub(crate) fn tried(meta: &Meta, kind: Kind, mode: Mode, site: &'static Location<'static>) -> Hold {
    let (hold, _unchecked) = hold(meta.prim(kind), site, mode, false);
    hold
}

/// After polling a wait for a hold: `Ready` records the hold (and ends
/// the wait's entry if it had queued); `Pending` records the queued wait
/// (checking the lock order first) and, for a `Lock` or `RwLock`, watches
/// for a self-deadlock.
pub(crate) fn polled(
    polled: std::task::Poll<()>,
    meta: &Meta,
    kind: Kind,
    mode: Mode,
    waiting: &mut Waiting,
    cx: &mut Context<'_>,
) -> std::task::Poll<(Hold, Check)> {
    match polled {
        std::task::Poll::Ready(()) => {
            let queued = waiting.is_queued();
            waiting.finish();
            std::task::Poll::Ready(hold(meta.prim(kind), waiting.site(), mode, !queued))
        }
        std::task::Poll::Pending => {
            waiting.queued(meta.prim(kind), mode);
            if matches!(kind, Kind::Lock | Kind::RwLock) {
                waiting.watch_self(cx);
            }
            std::task::Poll::Pending
        }
    }
}

/// A blocking twin about to wait for a hold: checks the lock order and
/// records the wait (ended when the returned `Waiting` is finished).
pub(crate) fn blocking_wait(
    meta: &Meta,
    kind: Kind,
    mode: Mode,
    site: &'static Location<'static>,
) -> Waiting {
    let mut waiting = Waiting::at(site);
    waiting.queued(meta.prim(kind), mode);
    waiting
}

/// A wait for a signal (an event, a notification, a barrier) that queued.
pub(crate) fn signal_wait(meta: &Meta, kind: Kind, waiting: &mut Waiting) {
    waiting.queued(meta.prim(kind), Mode::Signal);
}
