//! The bank with a `Lock`: the balances live inside it.
//!
//! Run: `cargo run -p warden-book-listings --example ch03_bank_lock`

// ANCHOR: uses
use std::sync::Arc;

use warden::Lock;
// ANCHOR_END: uses

// ANCHOR: bank
struct Bank {
    accounts: Lock<Vec<i64>>, // the lock holds the data it protects
}

impl Bank {
    fn new(balances: &[i64]) -> Bank {
        Bank {
            accounts: Lock::new(balances.to_vec()),
        }
    }

    async fn transfer(&self, from: usize, to: usize, amount: i64) {
        let mut accounts = self.accounts.acquire().await; // with lock:
        accounts[from] -= amount;
        tokio::task::yield_now().await; // others run; none gets the accounts
        accounts[to] += amount;
    } // the guard drops: released

    async fn total(&self) -> i64 {
        self.accounts.acquire().await.iter().sum()
    }
}
// ANCHOR_END: bank

async fn two_transfers() -> i64 {
    let bank = Bank::new(&[100, 100, 100]);
    tokio::join!(biased;
        bank.transfer(0, 1, 50),
        bank.transfer(1, 2, 30), // waits for A's guard
    );
    bank.total().await
}

// ANCHOR: free_run
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
    bank.total().await
}
// ANCHOR_END: free_run

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let total = two_transfers().await;
    println!("total: 300 before, {total} after two transfers");
    assert_eq!(total, 300);

    let total = free_run().await;
    println!("total: 10000 before, {total} after 8000 locked transfers");
    assert_eq!(total, 10_000);
    println!("total conserved");
}

#[cfg(test)]
mod tests {
    #[test]
    fn runs() {
        super::main();
    }
}
