// A `#[condition(lock)]` field is a warden `Condition`.
use warden::{Lock, guarded};

#[guarded]
pub struct Shop {
    lock: Lock,
    #[guarded(lock)]
    stock: u32,
    #[condition(lock)]
    restocked: tokio::sync::Notify,
}

fn main() {}
