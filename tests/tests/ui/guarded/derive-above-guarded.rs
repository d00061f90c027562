// `#[derive]` written above `#[guarded]` runs first, on the struct as
// written, so its code still looks for the guarded fields on `Bank`.
// Write `#[guarded]` first: it forwards the derives where they belong.
use warden::{Lock, guarded};

#[derive(Debug)]
#[guarded]
pub struct Bank {
    lock: Lock,
    #[guarded(lock)]
    accounts: Vec<i64>,
}

fn main() {}
