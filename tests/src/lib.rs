//! This package exists for its `tests/` directory, and for the doctests
//! below: the Rust blocks of the READMEs, compiled and run by `cargo test`.

/// The crate README of `warden-sync` (`core/README.md`, its page on the registry).
#[cfg(doctest)]
#[doc = include_str!("../../core/README.md")]
pub struct CoreReadme;

/// The crate README of `warden-macros` (`macros/README.md`).
#[cfg(doctest)]
#[doc = include_str!("../../macros/README.md")]
pub struct MacrosReadme;

/// The repository's README (`README.md`).
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct Readme;
