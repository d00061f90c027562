//! The bank, with `#[guarded]`: many tasks transferring money between
//! accounts at once, on a multi-thread runtime.
//!
//! Python's classic version takes the lock in `transfer` and forgets it in
//! `verify_accounts`, which then reads balances halfway through a transfer.
//! Here the balances are `#[guarded(lock)]`: they live inside the lock, so
//! `verify_accounts` cannot read them without taking it. Forgetting the lock
//! is a compile error (`tests/tests/ui/guarded/verify-accounts-without-lock.rs`
//! shows the message).
//!
//! Run: `cargo run --example bank` (the README's main command). The same
//! bank with a hand-written `Lock<Vec<i64>>` is `bank_lock.rs`.

use std::sync::Arc;

use warden::{Condition, Lock, guarded};

const ACCOUNTS: usize = 10;
const TASKS: usize = 16;
const TRANSFERS: usize = 100_000;

// ANCHOR: bank
/// Accounts whose balances can only be touched while holding `lock`.
#[guarded]
#[derive(Debug)]
struct Bank {
    /// Guards the balances and the transfer count.
    lock: Lock,
    /// One balance per account.
    #[guarded(lock)]
    accounts: Vec<i64>,
    /// Transfers made so far.
    #[guarded(lock)]
    transfers: u64,
    /// Notified after every transfer. Bound to `lock` (a
    /// `BoundCondition`): waiting with any other lock's guard does not
    /// compile.
    #[condition(lock)]
    changed: Condition,
    /// Unguarded: free to read.
    name: &'static str,
}
// ANCHOR_END: bank

impl Bank {
    // ANCHOR: transfer
    /// Moves `amount` from one account to another, refusing overdrafts.
    async fn transfer(&self, from: usize, to: usize, amount: i64) -> bool {
        let mut guarded = self.lock.acquire().await; // `with lock:`
        if guarded.accounts[from] < amount {
            return false;
        }
        guarded.accounts[from] -= amount;
        // Yield mid-transfer: another task runs here, as another Python
        // thread could. The lock keeps it out of these accounts.
        tokio::task::yield_now().await;
        guarded.accounts[to] += amount;
        guarded.transfers += 1;
        drop(guarded);
        self.changed.notify_all();
        true
    }
    // ANCHOR_END: transfer

    // ANCHOR: verify
    /// The audit: sees a consistent snapshot, because the only way to the
    /// balances is through the lock.
    async fn verify_accounts(&self) -> i64 {
        self.lock.acquire().await.accounts.iter().sum()
    }
    // ANCHOR_END: verify

    /// Waits until at least `n` transfers have happened.
    async fn wait_for_transfers(&self, n: u64) -> u64 {
        let guarded = self.lock.acquire().await;
        let guarded = self
            .changed
            .wait_for(guarded, |data| data.transfers >= n)
            .await;
        guarded.transfers
    }
}

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

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // ANCHOR: new
    let bank = Arc::new(Bank::new(BankInit {
        lock: Lock::new(()),
        accounts: vec![1_000; ACCOUNTS],
        transfers: 0,
        changed: Condition::new(),
        name: "warden savings",
    }));
    // ANCHOR_END: new
    let start = bank.verify_accounts().await;
    println!("{}: starting total {start}", bank.name);

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
    let halfway = bank.wait_for_transfers(1_000).await;
    println!("{halfway} transfers seen by a waiter on the `changed` condition");

    let mut succeeded = 0;
    for w in workers {
        succeeded += w.await.expect("transfer task panicked");
    }
    auditor.await.expect("audit failed");
    let end = bank.verify_accounts().await;
    let transfers = bank.lock.acquire().await.transfers;
    println!("transfers: {TRANSFERS} attempted, {succeeded} succeeded, across {TASKS} tasks");
    assert_eq!(transfers, u64::try_from(succeeded).expect("fits"));
    println!("{}: final total {end}", bank.name);
    assert_eq!(start, end, "money appeared or vanished");
    println!("total conserved");
}
