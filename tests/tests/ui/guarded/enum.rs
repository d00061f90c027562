// `#[guarded]` is for structs: guard an enum as one field of a struct.
use warden::{Lock, guarded};

#[guarded]
pub enum State {
    Open { lock: Lock, #[guarded(lock)] balance: i64 },
    Closed,
}

fn main() {}
