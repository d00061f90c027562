// A struct literal cannot name guarded fields: build it with `BankInit`.
use warden::{Lock, guarded};

#[guarded]
pub struct Bank {
    pub lock: Lock,
    #[guarded(lock)]
    pub accounts: Vec<i64>,
    #[guarded(lock)]
    pub transfers: u64,
    pub name: String,
}

fn open() -> Bank {
    Bank {
        lock: Lock::new(()),
        accounts: vec![100, 100],
        transfers: 0,
        name: "bank".to_owned(),
    }
}

fn main() {}
