//! When it hangs at night: the bank, stuck on a lock, and what warden's
//! `tracing` feature says about it — the hang report, the lock-order
//! report, and the self-deadlock warning. Needs the listings' `tracing`
//! feature.
//!
//! Run: `cargo run -p warden-book-listings --features tracing --example ch16_hang_report`

// ANCHOR: uses
use std::sync::Arc;
use std::time::Duration;

use warden::debug::{Lockdep, set_lockdep};
use warden::{Event, Lock, RLock, guarded};
// ANCHOR_END: uses

// ANCHOR: bank
#[guarded]
struct Bank {
    lock: Lock, // named "Bank.lock" by #[guarded]
    #[guarded(lock)]
    accounts: Vec<i64>,
    audit: RLock, // "Bank.audit"
    #[guarded(audit)]
    log: Vec<String>,
}

/// Holds the accounts while it waits for an approval that never comes.
async fn transfer_awaiting_approval(bank: &Bank, approved: &Event) {
    let mut held = bank.lock.acquire().await;
    approved.wait().await; // the bug: waiting with the lock held
    held.accounts[0] -= 10;
}

async fn balance(bank: &Bank) -> i64 {
    bank.lock.acquire().await.accounts.iter().sum()
}
// ANCHOR_END: bank

// ANCHOR: main
#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::WARN)
        .without_time()
        .with_target(false)
        .init();
    let bank = Arc::new(Bank::new(BankInit {
        lock: Lock::new(()),
        accounts: vec![100, 100],
        audit: RLock::new(()),
        log: Vec::new(),
    }));
    let approved = Arc::new(Event::new().named("approved"));
    let stuck = tokio::spawn({
        let (bank, approved) = (bank.clone(), approved.clone());
        async move { transfer_awaiting_approval(&bank, &approved).await }
    });
    let reader = tokio::spawn({
        let bank = bank.clone();
        async move { balance(&bank).await }
    });
    tokio::time::sleep(Duration::from_secs(5)).await; // ... the night passes
    print!("{}", warden::debug::dump()); // what you serve on /debug/locks
    approved.set(); // morning: unstick it
    stuck.await.unwrap();
    println!("balance: {}", reader.await.unwrap());

    lock_order(&bank).await;
    self_deadlock(&bank).await;
}
// ANCHOR_END: main

// ANCHOR: lockdep
/// Two paths take the two locks in opposite orders. This run never
/// deadlocks (they run one after the other), and is reported all the same.
async fn lock_order(bank: &Bank) {
    set_lockdep(Lockdep::Warn); // the default; tests use Lockdep::Panic
    {
        let accounts = bank.lock.acquire().await;
        let audit = bank.audit.acquire().await;
        audit.log.len();
        drop(accounts);
    }
    {
        let _audit = bank.audit.acquire().await;
        let _accounts = bank.lock.acquire().await; // reported here
    }
}
// ANCHOR_END: lockdep

// ANCHOR: self_deadlock
/// A task that waits for a lock it holds itself: warned about once the
/// wait passes the threshold (100 ms), then given up here by a timeout.
async fn self_deadlock(bank: &Bank) {
    let _accounts = bank.lock.acquire().await;
    let again = tokio::time::timeout(Duration::from_secs(1), bank.lock.acquire()).await;
    assert!(again.is_err());
}
// ANCHOR_END: self_deadlock

#[cfg(test)]
mod tests {
    #[test]
    fn runs() {
        super::main();
    }
}
