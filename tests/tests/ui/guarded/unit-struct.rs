// A struct with no fields has nothing to guard.
use warden::guarded;

#[guarded]
pub struct Bank;

fn main() {}
