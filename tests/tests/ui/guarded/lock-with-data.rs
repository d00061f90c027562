// A guarding lock is written without data: `#[guarded]` makes the guarded
// fields its data.
use warden::{Lock, guarded};

#[guarded]
pub struct Bank {
    lock: Lock<Vec<i64>>,
    #[guarded(lock)]
    transfers: u64,
}

fn main() {}
