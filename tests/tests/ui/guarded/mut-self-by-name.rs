// `&mut self` does not bring guarded fields back by name: use
// `self.lock.get_mut().transfers`.
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

impl Bank {
    fn reset(&mut self) {
        self.transfers = 0;
    }
}

fn main() {}
