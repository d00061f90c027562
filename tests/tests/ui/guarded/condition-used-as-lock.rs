// A condition is not a lock: it cannot guard fields.
use warden::{Condition, Lock, guarded};

#[guarded]
pub struct Shop {
    lock: Lock,
    #[condition(lock)]
    restocked: Condition,
    #[guarded(restocked)]
    stock: u32,
}

fn main() {}
