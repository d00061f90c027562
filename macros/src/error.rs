//! Error plumbing: every check pushes into one [`Errors`] list, and the list
//! becomes `compile_error!` tokens in exactly one place
//! ([`Errors::into_compile_error`], called by `expand`).

use proc_macro2::TokenStream;
use quote::ToTokens;
use std::fmt::Display;

/// `syn::Error::new_spanned(tokens, format!(..))`.
macro_rules! format_err {
    ($tokens:expr, $($fmt:tt)*) => {
        ::syn::Error::new_spanned(&$tokens, ::std::format!($($fmt)*))
    };
}
pub(crate) use format_err;

/// The errors found so far. Checks keep going after an error, so one
/// compilation reports every misuse of the macro at once.
#[derive(Default)]
pub struct Errors(Option<syn::Error>);

impl Errors {
    /// Records `error`.
    pub fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    /// Records an error at `tokens` saying `message`.
    pub fn error_at(&mut self, tokens: impl ToTokens, message: impl Display) {
        self.push(syn::Error::new_spanned(tokens, message));
    }

    /// The `compile_error!` invocations for everything recorded.
    pub fn into_compile_error(self) -> TokenStream {
        self.0
            .map(syn::Error::into_compile_error)
            .unwrap_or_default()
    }
}
