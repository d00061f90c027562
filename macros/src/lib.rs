//! Procedural macros of the [`warden`](https://docs.rs/warden) crate. Use
//! them through `warden`, which re-exports them.
