//! The compile-time contract of `#[guarded]`, pinned with trybuild.
//!
//! * `ui/guarded/*.rs`: one misuse a file, each with the `.stderr` rustc
//!   must print for it — of user code (touching guarded data without its
//!   lock) and of the macro itself (every spanned error it reports).
//! * `pass/*.rs`: what must compile (and run).
//!
//! The `.stderr` files are rustc's exact output, so they are pinned to one
//! toolchain (the one in CI). After an intended change, regenerate them with
//! `TRYBUILD=overwrite cargo test -p warden-tests --test ui` and read the
//! diff: each message must still tell a newcomer what to do.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/**/*.rs");
    t.pass("tests/pass/*.rs");
}
