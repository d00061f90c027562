//! A crate whose manifest renames warden's package:
//! `wd = { package = "warden-sync" }`. No crate named `warden` is in scope
//! here, so `#[guarded]` compiles only if its expansion names `::wd`,
//! which it reads from this manifest. `crate = wd` says the same
//! explicitly. Run by `tests/tests/crate_path.rs`.

use std::thread;
use wd::{Condition, Lock, RLock, guarded};

/// Found through the manifest.
#[guarded]
#[derive(Debug, Default)]
pub struct Bank {
    /// Guards the accounts.
    pub lock: Lock,
    /// Balances.
    #[guarded(lock)]
    pub accounts: Vec<i64>,
    /// Signalled after each deposit.
    #[condition(lock)]
    pub changed: Condition,
}

/// Named explicitly.
#[guarded(crate = wd, order = [audit])]
pub struct Audit {
    /// Guards the log.
    pub audit: RLock,
    /// The log.
    #[guarded(audit)]
    pub entries: std::sync::atomic::AtomicUsize,
}

/// Deposits from another thread, waits for it with the bound condition,
/// and returns the total and the audit count.
pub fn exercise() -> (i64, usize) {
    let bank = Bank::new(BankInit {
        lock: Lock::new(()),
        accounts: vec![1, 2],
        changed: Condition::new(),
    });
    let audit = Audit::from(AuditInit {
        audit: RLock::new(()),
        entries: 0.into(),
    });
    thread::scope(|s| {
        s.spawn(|| {
            bank.lock.acquire_blocking().accounts.push(3);
            bank.changed.notify_all();
            audit
                .audit
                .acquire_blocking()
                .entries
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        });
        let g = bank.lock.acquire_blocking();
        let g = bank
            .changed
            .wait_for_blocking(g, |data| data.accounts.len() == 3);
        assert!(format!("{bank:?}").contains("<locked>"));
        drop(g);
    });
    let total = bank.lock.into_inner().accounts.iter().sum();
    (total, audit.audit.into_inner().entries.into_inner())
}
