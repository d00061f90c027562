// A reference into the data cannot outlive the guard it came from.
use warden::{Lock, guarded};

#[guarded]
pub struct Bank {
    pub lock: Lock,
    #[guarded(lock)]
    pub accounts: Vec<i64>,
}

async fn accounts(bank: &Bank) -> &Vec<i64> {
    let guard = bank.lock.acquire().await;
    &guard.accounts
}

fn main() {}
