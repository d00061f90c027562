// A field cannot guard itself.
use warden::{Lock, guarded};

#[guarded]
pub struct Bank {
    lock: Lock,
    #[guarded(accounts)]
    accounts: Vec<i64>,
}

fn main() {}
