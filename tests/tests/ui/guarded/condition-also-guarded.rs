// A condition is not guarded data: inside the lock's data, `wait(guard)`
// could not borrow it while the guard is passed.
use warden::{Condition, Lock, guarded};

#[guarded]
pub struct Shop {
    lock: Lock,
    #[guarded(lock)]
    stock: u32,
    #[guarded(lock)]
    #[condition(lock)]
    restocked: Condition,
}

fn main() {}
