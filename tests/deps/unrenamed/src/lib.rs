//! A crate that depends on `warden-sync` as published, without a rename.
//! Cargo names the dependency after its library, `warden`, but the manifest
//! lookup `#[guarded]` uses answers `warden_sync` (the sanitised package
//! name), which is no crate here: this compiles only because the macro maps
//! that answer back to `::warden`. Run by `tests/tests/crate_path.rs`.

use warden::{Lock, guarded};

/// Found through the manifest.
#[guarded]
pub struct Counter {
    /// Guards the count.
    pub lock: Lock,
    /// The count.
    #[guarded(lock)]
    pub count: u64,
}

/// Counts to `n` through the lock.
pub fn exercise(n: u64) -> u64 {
    let counter = Counter::new(CounterInit {
        lock: Lock::new(()),
        count: 0,
    });
    for _ in 0..n {
        counter.lock.acquire_blocking().count += 1;
    }
    counter.lock.into_inner().count
}
