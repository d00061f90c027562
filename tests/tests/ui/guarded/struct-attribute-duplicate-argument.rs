// Each argument of the struct attribute once.
use warden::{Lock, guarded};

#[guarded(new = create, new = none)]
pub struct Bank {
    lock: Lock,
    #[guarded(lock)]
    accounts: Vec<i64>,
}

fn main() {}
