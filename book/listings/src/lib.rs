//! The listings of the warden book. Each chapter's Rust code lives in
//! `examples/` (one program a file, each with a `#[test]` that runs it),
//! its Python code in `python/` (run by `tests/python.rs`), and the
//! compiler errors it shows in `tests/ui/` (pinned by `tests/compile_fail.rs`).
