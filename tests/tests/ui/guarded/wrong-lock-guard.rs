// The guard of one lock gives no access to the fields of another.
use warden::{Lock, RLock, guarded};

#[guarded]
pub struct Bank {
    pub lock: Lock,
    #[guarded(lock)]
    pub accounts: Vec<i64>,
    pub audit: RLock,
    #[guarded(audit)]
    pub log: Vec<String>,
}

async fn balance(bank: &Bank) -> i64 {
    let audit = bank.audit.acquire().await;
    audit.accounts.iter().sum()
}

fn main() {}
