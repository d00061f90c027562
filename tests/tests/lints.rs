//! `#[guarded]`'s expansion is clean under strict lints: it adds no
//! warning to a crate that denies them (`cargo clippy --all-targets`
//! checks the clippy groups; `cargo test` the rustc ones).

#![deny(
    warnings,
    unsafe_code,
    missing_docs,
    missing_debug_implementations,
    unreachable_pub,
    unused_lifetimes,
    single_use_lifetimes,
    unused_qualifications,
    unused_results,
    trivial_casts,
    trivial_numeric_casts,
    explicit_outlives_requirements,
    elided_lifetimes_in_paths,
    rust_2018_idioms,
    clippy::all,
    clippy::pedantic,
    clippy::nursery
)]

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::atomic::{AtomicU64, Ordering};
use warden::{Condition, Lock, RLock, guarded};

/// A bank with every kind of field.
#[guarded]
#[derive(Debug, Default)]
pub struct Bank {
    /// Guards the money.
    pub lock: Lock,
    /// Balances.
    #[guarded(lock)]
    pub accounts: Vec<i64>,
    /// Transfers so far.
    #[guarded(lock)]
    pub transfers: u64,
    /// Signalled after each transfer.
    #[condition(lock)]
    pub changed: Condition,
    /// Guards the log.
    pub audit: RLock,
    /// Reads of the log.
    #[guarded(audit)]
    pub reads: AtomicU64,
    /// Compiled out.
    #[cfg(any())]
    #[guarded(lock)]
    pub missing: u8,
    /// Unguarded.
    pub name: String,
}

/// A generic cache with a lifetime.
#[guarded]
#[derive(Debug)]
pub(crate) struct Cache<'a, K: Ord + Debug, V>
where
    V: Clone + Debug,
{
    /// Guards the map.
    pub(crate) lock: Lock,
    /// The map.
    #[guarded(lock)]
    pub(crate) map: BTreeMap<K, V>,
    /// Where it came from.
    #[guarded(lock)]
    pub(crate) source: &'a str,
    /// Not guarded, and not in the data struct's generics.
    pub(crate) hits: u64,
}

/// A `#[must_use]` struct with a conditional field.
#[guarded]
#[must_use]
#[derive(Debug, Default)]
pub struct Token {
    /// Guards the value.
    pub lock: RLock,
    /// The value.
    #[guarded(lock)]
    #[cfg(not(any()))]
    pub value: AtomicU64,
}

/// Every argument of the struct attribute, a generic parameter the data
/// does not use, and a conditional lock.
#[guarded(
    crate = ::warden,
    new = open,
    order = [books, audit],
    data(derive(Clone, PartialEq, Eq, Hash))
)]
#[derive(Debug, Default)]
pub struct Ledger<T: Clone + Debug + Default> {
    /// Guards the balances.
    pub books: Lock,
    /// Balances.
    #[guarded(books)]
    pub balances: Vec<i64>,
    /// Waits on the balances.
    #[condition(books)]
    pub moved: Condition,
    /// Guards the log.
    pub audit: Lock,
    /// The log.
    #[guarded(audit)]
    pub log: Vec<String>,
    /// Only in debug builds.
    #[cfg(debug_assertions)]
    pub debug_lock: Lock,
    /// Only in debug builds.
    #[cfg(debug_assertions)]
    #[guarded(debug_lock)]
    pub checks: u32,
    /// Unguarded, and not used by any data struct.
    pub tag: T,
}

/// A private struct in a private module.
mod private {
    use warden::{Lock, guarded};

    #[guarded]
    #[derive(Debug)]
    pub(super) struct Counter {
        pub(super) lock: Lock,
        #[guarded(lock)]
        pub(super) count: u32,
    }
}

async fn exercise() -> u64 {
    let bank = Bank::new(BankInit {
        lock: Lock::default(),
        accounts: vec![1, 2],
        transfers: 0,
        changed: Condition::new(),
        audit: RLock::default(),
        reads: AtomicU64::new(0),
        name: String::from("b"),
    });
    {
        let mut g = bank.lock.acquire().await;
        g.accounts[0] += 1;
        g.transfers += 1;
    }
    bank.changed.notify_all();
    let _ = bank
        .audit
        .acquire()
        .await
        .reads
        .fetch_add(1, Ordering::Relaxed);
    let cache: Cache<'_, u8, u8> = Cache::from(CacheInit {
        lock: Lock::new(()),
        map: BTreeMap::new(),
        source: "here",
        hits: 0,
    });
    let source_len = {
        let mut g = cache.lock.acquire().await;
        let _ = g.map.insert(1, 1);
        g.source.len()
    };
    let counter = private::Counter::new(private::CounterInit {
        lock: Lock::new(()),
        count: 1,
    });
    let count = counter.lock.acquire().await.count;
    let token = Token::new(TokenInit {
        lock: RLock::new(()),
        value: AtomicU64::new(1),
    });
    let _ = token
        .lock
        .acquire()
        .await
        .value
        .fetch_add(1, Ordering::Relaxed);
    let ledger: Ledger<u8> = Ledger::open(LedgerInit {
        books: Lock::new(()),
        balances: vec![1],
        moved: Condition::new(),
        audit: Lock::new(()),
        log: vec![],
        #[cfg(debug_assertions)]
        debug_lock: Lock::new(()),
        #[cfg(debug_assertions)]
        checks: 0,
        tag: 1,
    });
    let snapshot = ledger.books.acquire().await.clone();
    let g = ledger
        .moved
        .wait_for(ledger.books.acquire().await, |b| *b == snapshot)
        .await;
    drop(g);
    ledger.moved.notify_all();
    let data = bank.lock.into_inner();
    let lens = data.accounts.len() + source_len;
    data.transfers + u64::from(count) + cache.hits + u64::try_from(lens).unwrap_or(0)
}

#[test]
fn expansion_runs() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    assert_eq!(rt.block_on(exercise()), 8);
    assert!(!format!("{:?}", Bank::default()).is_empty());
    assert!(!format!("{:?}", Ledger::<u8>::default()).is_empty());
}
