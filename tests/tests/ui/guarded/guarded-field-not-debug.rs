// `#[derive(Debug)]` with a guarded field that is not `Debug`: one error,
// at the field (its data struct derives `Debug`).
use warden::{Lock, guarded};

pub struct Secret(u64);

#[guarded]
#[derive(Debug)]
pub struct Bank {
    lock: Lock,
    #[guarded(lock)]
    key: Secret,
}

fn main() {}
