// The lock field is named, not quoted.
use warden::{Lock, guarded};

#[guarded]
pub struct Bank {
    lock: Lock,
    #[guarded("lock")]
    accounts: Vec<i64>,
}

fn main() {}
