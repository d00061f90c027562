// `#[guarded]` once, above the struct.
use warden::{Lock, guarded};

#[guarded]
#[guarded]
pub struct Bank {
    lock: Lock,
    #[guarded(lock)]
    accounts: Vec<i64>,
}

fn main() {}
