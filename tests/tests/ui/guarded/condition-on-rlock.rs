// A `Condition` waits with a `Lock`'s guard: its `wait` releases the lock
// completely, and an `RLock`'s owner may hold it several times.
use warden::{Condition, RLock, guarded};

#[guarded]
pub struct Log {
    audit: RLock,
    #[guarded(audit)]
    lines: std::sync::Mutex<Vec<String>>,
    #[condition(audit)]
    appended: Condition,
}

fn main() {}
