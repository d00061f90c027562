// A field is guarded by exactly one lock.
use warden::{Lock, guarded};

#[guarded]
pub struct Bank {
    lock: Lock,
    audit: Lock,
    #[guarded(lock)]
    #[guarded(audit)]
    accounts: Vec<i64>,
}

fn main() {}
