// `#[guarded = lock]` is not the syntax: `#[guarded(lock)]` is.
use warden::{Lock, guarded};

#[guarded]
pub struct Bank {
    lock: Lock,
    #[guarded = "lock"]
    accounts: Vec<i64>,
}

fn main() {}
