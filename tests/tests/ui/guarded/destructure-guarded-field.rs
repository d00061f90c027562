// Destructuring the struct does not reach guarded fields either.
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

fn into_accounts(bank: Bank) -> Vec<i64> {
    let Bank { accounts, .. } = bank;
    accounts
}

fn main() {}
