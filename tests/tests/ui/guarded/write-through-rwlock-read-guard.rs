// An `RwLock`'s read guard gives `&` to the guarded fields: writing needs
// the write guard.
use warden::{RwLock, guarded};

#[guarded]
pub struct Stats {
    state: RwLock,
    #[guarded(state)]
    hits: u64,
}

async fn record(stats: &Stats) {
    let state = stats.state.read().await;
    state.hits += 1;
}

fn main() {}
