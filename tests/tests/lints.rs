//! `#[guarded]`'s expansion is clean under strict lints: it adds no
//! warning to a crate that denies them (`cargo clippy --all-targets`
//! checks the clippy groups; `cargo test` the rustc ones).

#![deny(
    warnings,
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
}
