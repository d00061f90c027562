//! Where warden is, as the user's code names it: the path every generated
//! item starts with (`::warden::__private::...`).
//!
//! 1. `#[guarded(crate = path)]` wins (a facade crate that re-exports
//!    warden, or any case the manifest cannot tell).
//! 2. Otherwise the user's manifest, read by `proc-macro-crate`: a
//!    dependency that renames the package (`wd = { package = "warden-sync"
//!    }`) is named by its key, `::wd`.
//! 3. Otherwise `::warden`, the library's name, which is what an unrenamed
//!    `warden-sync = "0.1"` dependency is called in code.
//!
//! `proc-macro-crate` answers with the *dependency* name, sanitised: for an
//! unrenamed `warden-sync` that is `warden_sync`, which is no crate in
//! scope (cargo names an unrenamed dependency after its library, `warden`).
//! So `warden_sync` maps back to `warden` — which also covers the one
//! ambiguous spelling, a rename to the key `warden_sync`, where
//! `crate = warden_sync` says what is meant. Inside warden's own package
//! (its doctests, examples and tests) the answer is `Itself` or
//! `warden_sync`, and those name the library `warden` too.

use proc_macro_crate::{FoundCrate, crate_name};
use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote};
use syn::{Ident, Path};

/// The package whose library the expansion names.
const PACKAGE: &str = "warden-sync";

/// The library name of [`PACKAGE`].
const LIBRARY: &str = "warden";

/// The path to warden: `explicit` if given, else from the manifest.
pub fn path(explicit: Option<&Path>) -> TokenStream {
    if let Some(path) = explicit {
        return path.to_token_stream();
    }
    let name = from_manifest(crate_name(PACKAGE).ok());
    let ident = Ident::new(&name, Span::call_site());
    quote!(::#ident)
}

/// The crate name to use for what `proc-macro-crate` found.
fn from_manifest(found: Option<FoundCrate>) -> String {
    match found {
        Some(FoundCrate::Name(name)) if name != PACKAGE.replace('-', "_") => name,
        Some(FoundCrate::Name(_) | FoundCrate::Itself) | None => LIBRARY.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::{FoundCrate, from_manifest};

    #[test]
    fn renamed_dependency_is_named_by_its_key() {
        assert_eq!(from_manifest(Some(FoundCrate::Name("wd".into()))), "wd");
        assert_eq!(
            from_manifest(Some(FoundCrate::Name("warden".into()))),
            "warden"
        );
    }

    #[test]
    fn unrenamed_dependency_is_the_library() {
        // What proc-macro-crate 3 returns for `warden-sync = "0.1"`.
        assert_eq!(
            from_manifest(Some(FoundCrate::Name("warden_sync".into()))),
            "warden"
        );
        assert_eq!(from_manifest(Some(FoundCrate::Itself)), "warden");
        assert_eq!(from_manifest(None), "warden");
    }
}
