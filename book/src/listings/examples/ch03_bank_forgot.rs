//! Python's shape: a lock *beside* the data. `transfer` takes it;
//! `verify_accounts` forgets it and sees a transfer half done.
//!
//! Run: `cargo run -p warden-book-listings --example ch03_bank_forgot`

// ANCHOR: uses
use std::sync::atomic::{AtomicI64, Ordering::Relaxed};

use warden::Lock;
// ANCHOR_END: uses

// ANCHOR: bank
struct Bank {
    lock: Lock, // a Lock<()>: it protects the accounts by convention only
    accounts: Vec<AtomicI64>,
}

impl Bank {
    async fn transfer(&self, from: usize, to: usize, amount: i64) {
        let _held = self.lock.acquire().await;
        self.accounts[from].fetch_sub(amount, Relaxed);
        tokio::task::yield_now().await; // another task runs here
        self.accounts[to].fetch_add(amount, Relaxed);
    }

    /// The audit: should see every transfer whole. It forgot the lock.
    fn verify_accounts(&self) -> i64 {
        self.accounts.iter().map(|a| a.load(Relaxed)).sum()
    }
}
// ANCHOR_END: bank

// ANCHOR: interleave
async fn audit_during_transfer() -> i64 {
    let bank = Bank {
        lock: Lock::new(()),
        accounts: [100, 100, 100].map(AtomicI64::new).into(),
    };
    let ((), seen) = tokio::join!(biased;
        bank.transfer(0, 1, 50),          // debits account 0, yields
        async { bank.verify_accounts() }, // runs while the 50 is in flight
    );
    seen
}
// ANCHOR_END: interleave

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let seen = audit_during_transfer().await;
    println!("verify_accounts saw {seen}; the bank holds 300");
    assert_eq!(seen, 250);
}

#[cfg(test)]
mod tests {
    #[test]
    fn runs() {
        super::main();
    }
}
