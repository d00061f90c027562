// `#[guarded()]` on a field: the lock's name goes between the parentheses.
use warden::{Lock, guarded};

#[guarded]
pub struct Bank {
    lock: Lock,
    #[guarded()]
    accounts: Vec<i64>,
}

fn main() {}
