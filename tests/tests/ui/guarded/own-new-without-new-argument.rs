// `#[guarded]` generates `new`; a struct with its own `new` says so, with
// `#[guarded(new = create)]` (another name) or `#[guarded(new = none)]`.
use warden::{Lock, guarded};

#[guarded]
pub struct Bank {
    lock: Lock,
    #[guarded(lock)]
    accounts: Vec<i64>,
}

impl Bank {
    pub fn new() -> Bank {
        Bank::from(BankInit { lock: Lock::new(()), accounts: vec![] })
    }
}

fn main() {}
