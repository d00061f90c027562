// Borrowing a guarded field without its lock, from another module.
mod bank {
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
}

use bank::Bank;

fn first_account(bank: &Bank) -> Option<&i64> {
    let accounts = &bank.accounts;
    accounts.first()
}

fn main() {}
