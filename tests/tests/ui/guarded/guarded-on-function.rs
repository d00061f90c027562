// `#[guarded]` goes on a struct.
use warden::guarded;

#[guarded]
fn transfer() {}

fn main() {}
