// On a field, `#[guarded]` needs the name of the lock that guards it.
use warden::{Lock, guarded};

#[guarded]
pub struct Bank {
    lock: Lock,
    #[guarded]
    accounts: Vec<i64>,
}

fn main() {}
