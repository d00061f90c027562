// `#[guarded(...)]` names a lock field that does not exist (a typo).
use warden::{Lock, guarded};

#[guarded]
pub struct Bank {
    lock: Lock,
    #[guarded(lokc)]
    accounts: Vec<i64>,
}

fn main() {}
