// `#[guarded]` on a struct none of whose fields says which lock guards it.
use warden::{Lock, guarded};

#[guarded]
pub struct Bank {
    lock: Lock,
    accounts: Vec<i64>,
}

fn main() {}
