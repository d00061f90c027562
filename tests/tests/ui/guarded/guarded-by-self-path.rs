// `#[guarded(self.lock)]`: just the field's name.
use warden::{Lock, guarded};

#[guarded]
pub struct Bank {
    lock: Lock,
    #[guarded(self.lock)]
    accounts: Vec<i64>,
}

fn main() {}
