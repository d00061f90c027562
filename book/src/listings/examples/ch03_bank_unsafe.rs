//! The bank without a lock: safe Rust, and still wrong.
//!
//! Each balance is an atomic, so no read or write tears and there is no
//! undefined behaviour. But a transfer reads two balances, awaits, and
//! writes them back: another task running in between has its update
//! overwritten, and money vanishes (or appears).
//!
//! Run: `cargo run -p warden-book-listings --example ch03_bank_unsafe`

// ANCHOR: uses
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering::Relaxed};
// ANCHOR_END: uses

// ANCHOR: bank
struct Bank {
    accounts: Vec<AtomicI64>,
}

impl Bank {
    fn new(balances: &[i64]) -> Bank {
        Bank {
            accounts: balances.iter().map(|&b| AtomicI64::new(b)).collect(),
        }
    }

    /// Python's `transfer`, unsynchronized.
    async fn transfer(&self, from: usize, to: usize, amount: i64) {
        let from_balance = self.accounts[from].load(Relaxed);
        let to_balance = self.accounts[to].load(Relaxed);
        tokio::task::yield_now().await; // another task runs here
        self.accounts[from].store(from_balance - amount, Relaxed);
        self.accounts[to].store(to_balance + amount, Relaxed);
    }

    fn total(&self) -> i64 {
        self.accounts.iter().map(|a| a.load(Relaxed)).sum()
    }
}
// ANCHOR_END: bank

// ANCHOR: interleave
/// Two transfers as two branches of one task: `join!(biased; ..)` polls
/// them in order, so this schedule -- the unlucky one -- is the same on
/// every run.
async fn two_transfers() -> i64 {
    let bank = Bank::new(&[100, 100, 100]);
    tokio::join!(biased;
        bank.transfer(0, 1, 50), // A: reads accounts 0 and 1, yields
        bank.transfer(1, 2, 30), // B: reads accounts 1 and 2, yields
    ); // then A writes, then B writes account 1 over A's update
    bank.total()
}
// ANCHOR_END: interleave

// ANCHOR: free_run
/// Many transfers by spawned tasks: which updates are lost depends on the
/// run, so this only reports the total.
async fn free_run() -> i64 {
    let bank = Arc::new(Bank::new(&[1_000; 10]));
    let tasks: Vec<_> = (0..8)
        .map(|t| {
            let bank = bank.clone();
            tokio::spawn(async move {
                for i in 0..1_000 {
                    let from = (t + i) % 10;
                    bank.transfer(from, (from + 3) % 10, 7).await;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    bank.total()
}
// ANCHOR_END: free_run

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let total = two_transfers().await;
    println!("total: 300 before, {total} after two transfers");
    assert_eq!(total, 250, "B's write of account 1 erased A's +50");

    let total = free_run().await;
    println!("total: 10000 before, {total} after 8000 unsynchronized transfers");
}

#[cfg(test)]
mod tests {
    #[test]
    fn runs() {
        super::main();
    }
}
