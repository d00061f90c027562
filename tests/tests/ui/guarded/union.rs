// `#[guarded]` is for structs, not unions.
use warden::guarded;

#[guarded]
pub union Bits {
    int: u32,
    float: f32,
}

fn main() {}
