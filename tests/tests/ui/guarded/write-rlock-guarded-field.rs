// An `RLock` guard gives shared access only: mutate through interior
// mutability (a `Mutex`, an atomic, a `Cell` type that is `Sync`).
use warden::{RLock, guarded};

#[guarded]
pub struct Bank {
    pub audit: RLock,
    #[guarded(audit)]
    pub log: Vec<String>,
}

async fn record(bank: &Bank, line: String) {
    let audit = bank.audit.acquire().await;
    audit.log.push(line);
}

fn main() {}
