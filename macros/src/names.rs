//! The names `#[guarded]` reads and writes: identifiers without their
//! `r#`, and the generated structs' names.

use quote::format_ident;
use syn::Ident;

/// An identifier without its `r#`.
pub fn unraw(ident: &Ident) -> String {
    let s = ident.to_string();
    s.strip_prefix("r#").map_or(s.clone(), str::to_owned)
}

/// The data struct of the lock field `lock` of `owner`: `{Owner}{Lock}` in
/// `UpperCamelCase` (`lock` → `BankLock`, `state_lock` → `BankStateLock`),
/// spanned at the lock field.
pub fn data_struct(owner: &Ident, lock: &Ident) -> Ident {
    format_ident!("{}{}", owner, upper_camel(&unraw(lock)), span = lock.span())
}

/// `{Owner}Init`, spanned at the struct's name.
pub fn init_struct(owner: &Ident) -> Ident {
    format_ident!("{}Init", owner, span = owner.span())
}

/// `lock` → `Lock`, `state_lock` → `StateLock`.
fn upper_camel(name: &str) -> String {
    name.split('_')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_uppercase().chain(chars).collect::<String>()
            })
        })
        .collect()
}
