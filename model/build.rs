//! Compiles warden's sources with `cfg(warden_model)`: see `core/src/sync.rs`.
fn main() {
    println!("cargo::rustc-check-cfg=cfg(warden_model)");
    println!("cargo::rustc-cfg=warden_model");
}
