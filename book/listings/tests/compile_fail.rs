//! The compiler errors the book shows (the errors chapter), pinned with
//! trybuild: each `tests/ui/*.rs` must fail to compile with exactly the
//! `.stderr` beside it, which the book includes.
//!
//! After an intended change (or a new toolchain), regenerate them with
//! `TRYBUILD=overwrite cargo test -p warden-book-listings --test compile_fail`
//! and read the diff.

#[test]
fn compile_fail() {
    trybuild::TestCases::new().compile_fail("tests/ui/*.rs");
}
