// After a mistake in `#[guarded(...)]`, the macro still expands as best it
// can (here: as if `lock` had been written), so the code using the struct
// reports nothing more: one mistake, one error.
use warden::{Lock, guarded};

#[guarded]
pub struct Bank {
    lock: Lock,
    #[guarded(lcok)]
    accounts: Vec<i64>,
}

async fn total(bank: &Bank) -> i64 {
    bank.lock.acquire().await.accounts.iter().sum()
}

fn open() -> Bank {
    Bank::new(BankInit {
        lock: Lock::new(()),
        accounts: vec![100],
    })
}

fn main() {}
