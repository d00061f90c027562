// Calling a method on a guarded field without taking its lock.
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

fn number_of_accounts(bank: &Bank) -> usize {
    bank.accounts.len()
}

fn main() {}
