// `#[derive(Debug)]` with a field that is not `Debug`: one error, at the
// field, as for any struct.
use warden::{Lock, guarded};

pub struct Secret(u64);

#[guarded]
#[derive(Debug)]
pub struct Bank {
    lock: Lock,
    #[guarded(lock)]
    accounts: Vec<i64>,
    key: Secret,
}

fn main() {}
