//! The bank: many tasks transferring money between accounts at once.
//!
//! Python's classic race: `transfer` reads two balances, computes, and
//! writes them back; two threads interleaving there create or destroy
//! money. With a `Lock` around the accounts the total is conserved.
//!
//! Run: `cargo run --example bank_lock`. The README's main command runs
//! the `#[guarded]` version, `bank.rs`.

use std::sync::Arc;

use warden::Lock;

const ACCOUNTS: usize = 10;
const TASKS: usize = 16;
const TRANSFERS: usize = 100_000;

/// A tiny deterministic generator (xorshift), one per task.
struct Rng(usize);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

struct Bank {
    accounts: Lock<Vec<i64>>,
}

impl Bank {
    /// Moves `amount` from one account to another, refusing overdrafts.
    async fn transfer(&self, from: usize, to: usize, amount: i64) -> bool {
        let mut accounts = self.accounts.acquire().await; // `with lock:`
        if accounts[from] < amount {
            return false;
        }
        accounts[from] -= amount;
        // Yield mid-transfer: another task runs here, as another Python
        // thread could. The lock keeps it out of these accounts.
        tokio::task::yield_now().await;
        accounts[to] += amount;
        true
    }

    /// The audit: must see a consistent snapshot, so it takes the lock too.
    async fn verify_accounts(&self) -> i64 {
        self.accounts.acquire().await.iter().sum()
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let bank = Arc::new(Bank {
        accounts: Lock::new(vec![1_000; ACCOUNTS]),
    });
    let start = bank.verify_accounts().await;
    println!("starting total: {start}");

    let workers: Vec<_> = (0..TASKS)
        .map(|t| {
            let bank = bank.clone();
            tokio::spawn(async move {
                let mut rng = Rng(0x9E37_79B9 ^ (t + 1));
                let mut done = 0;
                for _ in 0..TRANSFERS / TASKS {
                    let from = rng.below(ACCOUNTS);
                    let to = (from + 1 + rng.below(ACCOUNTS - 1)) % ACCOUNTS;
                    let amount = i64::try_from(rng.below(100)).expect("below 100") + 1;
                    done += usize::from(bank.transfer(from, to, amount).await);
                }
                done
            })
        })
        .collect();
    let auditor = {
        let bank = bank.clone();
        tokio::spawn(async move {
            for _ in 0..100 {
                assert_eq!(
                    bank.verify_accounts().await,
                    start,
                    "money appeared or vanished"
                );
                tokio::task::yield_now().await;
            }
        })
    };

    let mut succeeded = 0;
    for w in workers {
        succeeded += w.await.expect("transfer task panicked");
    }
    auditor.await.expect("audit failed");
    let end = bank.verify_accounts().await;
    println!("transfers: {TRANSFERS} attempted, {succeeded} succeeded, across {TASKS} tasks");
    println!("final total: {end}");
    assert_eq!(start, end, "money appeared or vanished");
    println!("total conserved");
}
