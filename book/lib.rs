//! The book's Rust package: its tests build the book (`tests/build.rs`).
