// A lock field of the wrong type is one error, at its type: the code that
// uses the field (here as the `tokio::sync::Mutex` it is) reports nothing
// more.
use warden::{Condition, guarded};

#[guarded]
pub struct Bank {
    lock: tokio::sync::Mutex<()>,
    #[guarded(lock)]
    accounts: Vec<i64>,
    #[condition(lock)]
    changed: Condition,
}

async fn total(bank: &Bank) -> i64 {
    let guard = bank.lock.lock().await;
    guard.accounts.iter().sum()
}

async fn audit(bank: &Bank) -> usize {
    bank.lock.lock().await.accounts.len()
}

fn main() {}
