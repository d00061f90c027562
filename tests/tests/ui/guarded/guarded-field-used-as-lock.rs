// A guarded field is data, not a lock: it cannot guard another field.
use warden::{Lock, guarded};

#[guarded]
pub struct Bank {
    lock: Lock,
    #[guarded(lock)]
    accounts: Vec<i64>,
    #[guarded(accounts)]
    transfers: u64,
}

fn main() {}
