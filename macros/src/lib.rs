//! Procedural macros of the [`warden`](https://docs.rs/warden) crate. Use
//! them through `warden`, which re-exports them: the documentation of
//! [`guarded`] is the user guide.
//!
//! The macro is a pipeline, one file a step: [`attr`] reads the attributes,
//! [`ast`] builds an IR that borrows the input (so every error can point at
//! the tokens the user wrote), [`validate`] checks it, [`expand`] writes the
//! output; [`error`] collects errors and turns them into `compile_error!` in
//! one place.

#![forbid(unsafe_code)]

mod ast;
mod attr;
mod error;
mod expand;
mod validate;

use proc_macro::TokenStream;

/// DOCS
#[proc_macro_attribute]
pub fn guarded(args: TokenStream, input: TokenStream) -> TokenStream {
    expand::guarded(args.into(), input.into()).into()
}
