// On the struct, `#[guarded]` takes no arguments: the lock is named on
// each field.
use warden::{Lock, guarded};

#[guarded(lock)]
pub struct Bank {
    lock: Lock,
    #[guarded(lock)]
    accounts: Vec<i64>,
}

fn main() {}
