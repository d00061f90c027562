// `#[condition(...)]` names a lock field that does not exist (a typo).
use warden::{Condition, Lock, guarded};

#[guarded]
pub struct Shop {
    lock: Lock,
    #[guarded(lock)]
    stock: u32,
    #[condition(lokc)]
    restocked: Condition,
}

fn main() {}
