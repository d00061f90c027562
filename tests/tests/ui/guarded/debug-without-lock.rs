// Printing a guarded field with {:?} without taking its lock.
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

fn show(bank: &Bank) {
    println!("{:?}", bank.accounts);
}

fn main() {}
