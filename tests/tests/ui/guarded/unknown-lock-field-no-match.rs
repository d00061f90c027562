// `#[guarded(...)]` names a field that does not exist, and nothing is close.
use warden::{Lock, guarded};

#[guarded]
pub struct Bank {
    state: Lock,
    #[guarded(mutex)]
    accounts: Vec<i64>,
}

fn main() {}
