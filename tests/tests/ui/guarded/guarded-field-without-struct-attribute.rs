// `#[guarded(lock)]` on a field does nothing by itself: the struct needs
// `#[guarded]` above it.
use warden::{Lock, guarded};

pub struct Bank {
    lock: Lock,
    #[guarded(lock)]
    accounts: Vec<i64>,
}

fn main() {}
