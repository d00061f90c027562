// A moved field keeps its visibility: holding the lock does not make a
// private field public to other modules.
mod bank {
    use warden::{Lock, guarded};

    #[guarded]
    pub struct Bank {
        pub lock: Lock,
        #[guarded(lock)]
        pub accounts: Vec<i64>,
        #[guarded(lock)]
        transfers: u64,
    }
}

async fn transfers(bank: &bank::Bank) -> u64 {
    bank.lock.acquire().await.transfers
}

fn main() {}
