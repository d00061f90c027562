//! The struct's generic parameters, as the generated structs see them.
//! Every generated struct (the data structs, `Init`, the hidden check) has
//! exactly the struct's generic parameters, bounds and where-clause; what
//! is left to work out is which parameters a data struct's fields do not
//! name ([`unused`]: they go in its `PhantomData` marker), and what `Self`
//! means in a field moved out of the struct ([`replace_self`]).

use proc_macro2::{Group, Span, TokenStream, TokenTree};
use quote::{ToTokens, quote};
use std::collections::HashSet;
use syn::visit::{self, Visit};
use syn::{GenericParam, Generics, Type};

/// `tokens` with every `Self` replaced by `with` (the outer struct's type):
/// a field moved to another struct must keep meaning the same type.
pub fn replace_self(tokens: TokenStream, with: &TokenStream) -> TokenStream {
    tokens
        .into_iter()
        .flat_map(|tree| -> TokenStream {
            match tree {
                TokenTree::Ident(ident) if ident == "Self" => respan(with.clone(), ident.span()),
                TokenTree::Group(group) => {
                    let mut out = Group::new(group.delimiter(), replace_self(group.stream(), with));
                    out.set_span(group.span());
                    TokenTree::Group(out).into()
                }
                other => other.into(),
            }
        })
        .collect()
}

/// `tokens` with every token given `span`.
pub fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tree| {
            if let TokenTree::Group(group) = &tree {
                tree =
                    TokenTree::Group(Group::new(group.delimiter(), respan(group.stream(), span)));
            }
            tree.set_span(span);
            tree
        })
        .collect()
}

/// The type parameters and lifetimes of `generics` that `types` do not
/// surely use, as types for a `PhantomData<fn() -> (..)>`: a type
/// parameter is used when named as a type path's first segment (`T`,
/// `T::Item`, `Vec<T>`, `<T as Tr>::X`), a lifetime when it appears
/// anywhere (a `for<'a>` cannot shadow the struct's `'a`: E0496).
/// Everything else (a parameter mentioned only in a macro, or not at all)
/// is listed, which is harmless if it was used after all.
pub fn unused<'t>(
    generics: &Generics,
    types: impl IntoIterator<Item = &'t TokenStream>,
) -> Vec<TokenStream> {
    let mut uses = Uses {
        types: generics
            .type_params()
            .map(|p| p.ident.to_string())
            .collect(),
        lifetimes: generics
            .lifetimes()
            .map(|p| p.lifetime.ident.to_string())
            .collect(),
        used_types: HashSet::new(),
        used_lifetimes: HashSet::new(),
    };
    for tokens in types {
        if let Ok(ty) = syn::parse2::<Type>(tokens.clone()) {
            uses.visit_type(&ty);
        }
    }
    as_types(generics, |param| match param {
        GenericParam::Type(p) => !uses.used_types.contains(&p.ident.to_string()),
        GenericParam::Lifetime(p) => !uses.used_lifetimes.contains(&p.lifetime.ident.to_string()),
        GenericParam::Const(_) => false,
    })
}

/// The type parameters and lifetimes of `generics` for which `keep` holds,
/// as types for a `PhantomData<fn() -> (..)>` (`T`, `&'a ()`); const
/// parameters are never listed.
pub fn as_types(generics: &Generics, keep: impl Fn(&GenericParam) -> bool) -> Vec<TokenStream> {
    generics
        .params
        .iter()
        .filter(|param| keep(param))
        .filter_map(|param| match param {
            GenericParam::Type(p) => Some(p.ident.to_token_stream()),
            GenericParam::Lifetime(p) => {
                let lifetime = &p.lifetime;
                Some(quote!(&#lifetime ()))
            }
            GenericParam::Const(_) => None,
        })
        .collect()
}

/// What some types use of a struct's parameters (see [`unused`]).
struct Uses {
    types: HashSet<String>,
    lifetimes: HashSet<String>,
    used_types: HashSet<String>,
    used_lifetimes: HashSet<String>,
}

impl<'ast> Visit<'ast> for Uses {
    fn visit_type_path(&mut self, path: &'ast syn::TypePath) {
        if path.qself.is_none()
            && path.path.leading_colon.is_none()
            && let Some(first) = path.path.segments.first()
        {
            let name = first.ident.to_string();
            if self.types.contains(&name) {
                self.used_types.insert(name);
            }
        }
        visit::visit_type_path(self, path);
    }

    fn visit_lifetime(&mut self, lifetime: &'ast syn::Lifetime) {
        let name = lifetime.ident.to_string();
        if self.lifetimes.contains(&name) {
            self.used_lifetimes.insert(name);
        }
    }

    fn visit_type_macro(&mut self, _: &'ast syn::TypeMacro) {
        // Unknown tokens: what they use goes in the marker.
    }
}
