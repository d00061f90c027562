// One attribute, two locks: a field is guarded by exactly one.
use warden::{Lock, guarded};

#[guarded]
pub struct Bank {
    lock: Lock,
    audit: Lock,
    #[guarded(lock, audit)]
    accounts: Vec<i64>,
}

fn main() {}
