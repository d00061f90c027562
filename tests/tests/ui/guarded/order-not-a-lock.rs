// `order = [...]` lists lock fields: those that `#[guarded(...)]` names.
use warden::{Lock, guarded};

#[guarded(order = [lock, accounts])]
pub struct Bank {
    lock: Lock,
    #[guarded(lock)]
    accounts: Vec<i64>,
}

fn main() {}
