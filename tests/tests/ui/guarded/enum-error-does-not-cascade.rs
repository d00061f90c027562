// `#[guarded]` on an enum is an error, but the enum is still defined, so
// the code using it reports nothing more.
use warden::{Lock, guarded};

#[guarded]
pub enum State {
    Open { lock: Lock, #[guarded(lock)] balance: i64 },
    Closed,
}

fn is_open(state: &State) -> bool {
    matches!(state, State::Open { .. })
}

fn main() {}
