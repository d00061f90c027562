//! The bank with `#[guarded]`: forgetting the lock no longer compiles.
//!
//! Run: `cargo run -p warden-book-listings --example ch03_bank_guarded`

// ANCHOR: uses
use std::sync::Arc;

use warden::{Lock, guarded};
// ANCHOR_END: uses

// ANCHOR: bank
#[guarded]
struct Bank {
    lock: Lock,
    #[guarded(lock)]
    accounts: Vec<i64>,
}

impl Bank {
    async fn transfer(&self, from: usize, to: usize, amount: i64) {
        let mut guarded = self.lock.acquire().await;
        guarded.accounts[from] -= amount;
        tokio::task::yield_now().await; // another task runs here
        guarded.accounts[to] += amount;
    }

    async fn verify_accounts(&self) -> i64 {
        // `self.accounts` does not exist: the only way in is the lock.
        self.lock.acquire().await.accounts.iter().sum()
    }
}
// ANCHOR_END: bank

// ANCHOR: interleave
async fn audit_during_transfer() -> i64 {
    let bank = Bank::new(BankInit {
        lock: Lock::new(()),
        accounts: vec![100, 100, 100],
    });
    let ((), seen) = tokio::join!(biased;
        bank.transfer(0, 1, 50),
        bank.verify_accounts(), // waits for the transfer's guard
    );
    seen
}
// ANCHOR_END: interleave

async fn free_run() -> i64 {
    let bank = Arc::new(Bank::new(BankInit {
        lock: Lock::new(()),
        accounts: vec![1_000; 10],
    }));
    let tasks: Vec<_> = (0..8)
        .map(|t| {
            let bank = bank.clone();
            tokio::spawn(async move {
                for i in 0..1_000 {
                    let from = (t + i) % 10;
                    bank.transfer(from, (from + 3) % 10, 7).await;
                    if i % 100 == 0 {
                        assert_eq!(bank.verify_accounts().await, 10_000);
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    bank.verify_accounts().await
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let seen = audit_during_transfer().await;
    println!("verify_accounts saw {seen}; the bank holds 300");
    assert_eq!(seen, 300);
    let total = free_run().await;
    assert_eq!(total, 10_000);
    println!("8000 transfers, 80 audits on two threads: total conserved");
}

#[cfg(test)]
mod tests {
    #[test]
    fn runs() {
        super::main();
    }
}
