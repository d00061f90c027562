//! Where the expansion finds warden, for each way a crate can depend on it
//! (each case is a crate of its own, since one manifest cannot hold them
//! all):
//!
//! * renamed (`wd = { package = "warden-sync" }`): `::wd`, from the
//!   manifest, or `#[guarded(crate = wd)]` — `deps/renamed`;
//! * not renamed (`warden-sync = "0.1"`): `::warden`, the library name —
//!   `deps/unrenamed`;
//! * renamed by the workspace (`warden = { workspace = true }`): every
//!   other test of this package;
//! * a facade (`#[guarded(crate = path)]`): `pass/crate-path.rs`.
//!
//! Each crate only compiles if its expansion names the right crate; these
//! tests run what they built.

#[test]
fn renamed_dependency() {
    assert_eq!(warden_tests_renamed::exercise(), (6, 1));
}

#[test]
fn unrenamed_dependency() {
    assert_eq!(warden_tests_unrenamed::exercise(3), 3);
}
