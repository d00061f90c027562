// `order = [...]` with a typo.
use warden::{Lock, RLock, guarded};

#[guarded(order = [lock, audti])]
pub struct Bank {
    lock: Lock,
    #[guarded(lock)]
    accounts: Vec<i64>,
    audit: RLock,
    #[guarded(audit)]
    log: Vec<String>,
}

fn main() {}
