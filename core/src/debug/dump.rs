//! The hang report: who holds and who waits for each named primitive.

use std::collections::BTreeMap;
use std::fmt;
use std::panic::Location;
use std::time::Duration;

use tokio::time::Instant;

use super::table::{self, List};
use super::{Kind, Mode, Who};

/// Every named primitive that is held or waited on right now, with who
/// holds it and who waits, since when and where: the report to print when
/// a program hangs (Python's `faulthandler.dump_traceback()`, for locks).
///
/// Reads warden's own records, never the primitives, so it cannot block
/// on a stuck one. Each task's records are read at one instant; the report
/// is not one atomic snapshot of the whole program (nothing could be,
/// without stopping it).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let accounts = warden::Lock::new(()).named("accounts");
/// let guard = accounts.acquire().await;
/// let report = warden::debug::dump();
/// assert!(report.to_string().contains("Lock `accounts`"));
/// drop(guard);
/// # }
/// ```
pub fn dump() -> Dump {
    let now = Instant::now();
    let mut by_id: BTreeMap<u64, PrimitiveState> = BTreeMap::new();
    let mut unnamed = std::collections::HashSet::new();
    for (owner, list, entry) in table::snapshot() {
        let Some(name) = entry.prim.name else {
            unnamed.insert(entry.prim.id);
            continue;
        };
        let state = by_id
            .entry(entry.prim.id)
            .or_insert_with(|| PrimitiveState {
                name,
                kind: entry.prim.kind,
                holders: Vec::new(),
                waiters: Vec::new(),
            });
        let party = Party {
            who: Who(owner),
            site: entry.site,
            elapsed: now.saturating_duration_since(entry.since),
            mode: entry.mode,
        };
        match list {
            List::Held => state.holders.push(party),
            List::Waiting => state.waiters.push(party),
        }
    }
    let mut primitives: Vec<PrimitiveState> = by_id.into_values().collect();
    for p in &mut primitives {
        p.holders.sort_by_key(|h| std::cmp::Reverse(h.elapsed));
        p.waiters.sort_by_key(|w| std::cmp::Reverse(w.elapsed));
    }
    primitives.sort_by(|a, b| (a.name, a.kind.as_str()).cmp(&(b.name, b.kind.as_str())));
    Dump {
        primitives,
        unnamed: unnamed.len(),
    }
}

/// The report [`dump()`] returns; `Display` prints it, one primitive a
/// paragraph, longest holders and waiters first.
///
/// ```text
/// warden: 1 named primitive held or waited on
/// Lock `accounts`
///   held by task 12 for 3.002s (exclusive), acquired at src/bank.rs:42:25
///   waited on by task 14 for 2.998s (exclusive), at src/bank.rs:57:30
/// ```
#[derive(Clone, Debug)]
pub struct Dump {
    primitives: Vec<PrimitiveState>,
    unnamed: usize,
}

impl Dump {
    /// The named primitives held or waited on, sorted by name.
    ///
    /// ```
    /// assert!(warden::debug::dump().primitives().iter().all(|p| !p.name().is_empty()));
    /// ```
    pub fn primitives(&self) -> &[PrimitiveState] {
        &self.primitives
    }

    /// How many unnamed primitives were held or waited on (not listed).
    ///
    /// ```
    /// let lock = warden::Lock::new(());
    /// let _held = lock.try_acquire();
    /// assert!(warden::debug::dump().unnamed() >= 1);
    /// ```
    pub fn unnamed(&self) -> usize {
        self.unnamed
    }

    /// Whether no named primitive is held or waited on.
    ///
    /// ```
    /// let report = warden::debug::dump();
    /// assert_eq!(report.is_empty(), report.primitives().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.primitives.is_empty()
    }
}

impl fmt::Display for Dump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.primitives.len() {
            0 => writeln!(f, "warden: no named primitive is held or waited on")?,
            1 => writeln!(f, "warden: 1 named primitive held or waited on")?,
            n => writeln!(f, "warden: {n} named primitives held or waited on")?,
        }
        for p in &self.primitives {
            write!(f, "{p}")?;
        }
        if self.unnamed > 0 {
            writeln!(
                f,
                "(and {} unnamed primitive{} held or waited on: name them with `.named(..)` to see them here)",
                self.unnamed,
                if self.unnamed == 1 { "" } else { "s" }
            )?;
        }
        Ok(())
    }
}

/// One primitive of a [`Dump`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let sem = warden::Semaphore::new(3).named("pool-doc");
/// let _p = sem.acquire_many(2).await;
/// let report = warden::debug::dump();
/// let pool = report.primitives().iter().find(|p| p.name() == "pool-doc").unwrap();
/// assert_eq!(pool.kind(), warden::debug::Kind::Semaphore);
/// assert_eq!(pool.holders()[0].mode(), warden::debug::Mode::Permits(2));
/// assert!(pool.waiters().is_empty());
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct PrimitiveState {
    name: &'static str,
    kind: Kind,
    holders: Vec<Party>,
    waiters: Vec<Party>,
}

impl PrimitiveState {
    /// Its name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Which primitive it is.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// Who holds it (a guard, an `RLock` level, permits), longest first.
    pub fn holders(&self) -> &[Party] {
        &self.holders
    }

    /// Who waits for it, longest first.
    pub fn waiters(&self) -> &[Party] {
        &self.waiters
    }
}

impl fmt::Display for PrimitiveState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} `{}`", self.kind, self.name)?;
        for h in &self.holders {
            writeln!(
                f,
                "  held by {} for {:?} ({}), acquired at {}",
                h.who,
                rounded(h.elapsed),
                h.mode,
                h.site
            )?;
        }
        for w in &self.waiters {
            writeln!(
                f,
                "  waited on by {} for {:?} ({}), at {}",
                w.who,
                rounded(w.elapsed),
                w.mode,
                w.site
            )?;
        }
        Ok(())
    }
}

/// A holder or a waiter in a [`Dump`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let lock = warden::Lock::new(()).named("party-doc");
/// let _g = lock.acquire().await; // this line is the site
/// let report = warden::debug::dump();
/// let p = report.primitives().iter().find(|p| p.name() == "party-doc").unwrap();
/// let holder = &p.holders()[0];
/// assert_eq!(holder.site().line(), line!() - 4);
/// assert_eq!(holder.who(), warden::debug::Who::current());
/// # }
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Party {
    who: Who,
    site: &'static Location<'static>,
    elapsed: Duration,
    mode: Mode,
}

impl Party {
    /// The task (or thread) that acquired or waits.
    pub fn who(&self) -> Who {
        self.who
    }

    /// Where the acquisition or the wait was written.
    pub fn site(&self) -> &'static Location<'static> {
        self.site
    }

    /// How long it has held, or waited, by tokio's clock.
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }

    /// How it holds, or what it waits for.
    pub fn mode(&self) -> Mode {
        self.mode
    }
}

/// To the millisecond, for reading.
fn rounded(d: Duration) -> Duration {
    Duration::from_millis(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
