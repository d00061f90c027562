// A `#[cfg]` on a lock field would also remove the fields it guards, and
// they would vanish without a word: repeat it on each of them.
use warden::{Lock, guarded};

#[guarded]
pub struct Bank {
    #[cfg(debug_assertions)]
    audit_lock: Lock,
    #[guarded(audit_lock)]
    entries: Vec<String>,
    #[guarded(audit_lock)]
    #[cfg(debug_assertions)]
    checked: u64,
}

fn main() {}
