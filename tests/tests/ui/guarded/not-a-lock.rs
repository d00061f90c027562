// The field named by `#[guarded(...)]` must be a warden `Lock`, `RLock` or `RwLock`.
use std::sync::Mutex;
use warden::guarded;

#[guarded]
#[derive(Debug, Default)]
pub struct Bank {
    lock: Mutex<()>,
    #[guarded(lock)]
    accounts: Vec<i64>,
}

fn main() {}
