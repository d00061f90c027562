// A lock is not `Clone`, so neither is the struct holding one (by hand or
// with `#[guarded]`). To clone the guarded data, derive it on the data
// struct: `#[guarded(data(derive(Clone)))]`, then `(*guard).clone()`.
use warden::{Lock, guarded};

#[guarded]
#[derive(Clone)]
pub struct Bank {
    lock: Lock,
    #[guarded(lock)]
    accounts: Vec<i64>,
}

fn main() {}
