// The bank's classic bug: `transfer` takes the lock, `verify_accounts`
// forgets it and can read the balances halfway through a transfer. In
// Python that is a silent race; with `#[guarded]` it does not compile.
use warden::{Lock, guarded};

#[guarded]
pub struct Bank {
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
        self.accounts.iter().sum() // forgot `self.lock.acquire().await`
    }
}

fn main() {}
