// `#[guarded]` needs named fields.
use warden::{Lock, guarded};

#[guarded]
pub struct Bank(Lock, Vec<i64>);

fn main() {}
