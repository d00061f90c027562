// A `Condition` waits with a `Lock`'s guard: it cannot be bound to an
// `RwLock`, whose read and write guards are two different things.
use warden::{Condition, RwLock, guarded};

#[guarded]
pub struct Cache {
    state: RwLock,
    #[guarded(state)]
    entries: Vec<String>,
    #[condition(state)]
    filled: Condition,
}

fn main() {}
