//! Step 1: the attributes. Reads `#[guarded]`'s own arguments, the
//! struct's attributes (which of them the generated structs inherit) and
//! each field's `#[guarded(lock)]`, keeping a reference to every original
//! attribute so errors can point at it.

use crate::error::{Errors, format_err};
use proc_macro2::TokenStream;
use syn::parse::{ParseStream, Parser};
use syn::{Attribute, Ident, Lit, Meta, Token};

/// The struct-level attributes `#[guarded]` cares about.
#[derive(Default)]
pub struct StructAttrs<'a> {
    /// `#[derive(..)]`: forwarded to every generated struct.
    pub derives: Vec<&'a Attribute>,
    /// `#[cfg(..)]` (the struct is conditional): forwarded to every
    /// generated item.
    pub cfgs: Vec<&'a Attribute>,
}

/// A field's attributes, split by what `#[guarded]` does with them.
pub struct FieldAttrs<'a> {
    /// The field's `#[guarded(lock)]`, if it has one.
    pub guard: Option<Guard>,
    /// Every attribute except `#[guarded(..)]`, in order (docs, `cfg`,
    /// other derives' helpers, ...): they move with the field.
    pub kept: Vec<&'a Attribute>,
    /// The `#[cfg(..)]` attributes among `kept`: repeated on the field's
    /// initializer in `new`.
    pub cfgs: Vec<&'a Attribute>,
}

/// A field's `#[guarded(lock)]`.
pub struct Guard {
    /// The lock field it names, with the span it was written with.
    pub lock: Ident,
}

/// `#[guarded]` on a struct takes no arguments.
pub fn struct_args(args: TokenStream, errors: &mut Errors) {
    if let Some(first) = args.clone().into_iter().next() {
        let lock = match first {
            proc_macro2::TokenTree::Ident(ident) => ident.to_string(),
            _ => "lock".to_owned(),
        };
        errors.error_at(
            args,
            format!(
                "`#[guarded]` on a struct takes no arguments: \
                 write `#[guarded]` above the struct and `#[guarded({lock})]` \
                 on each field that `{lock}` protects"
            ),
        );
    }
}

/// Whether `attr` is a `#[guarded..]` attribute (`guarded` or a path ending
/// in `guarded`, such as `warden::guarded`).
pub fn is_guarded(attr: &Attribute) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|segment| segment.ident == "guarded")
}

/// Sorts the struct's own attributes (those written below `#[guarded]`).
pub fn struct_attrs<'a>(attrs: &'a [Attribute], errors: &mut Errors) -> StructAttrs<'a> {
    let mut out = StructAttrs::default();
    for attr in attrs {
        if attr.path().is_ident("derive") {
            out.derives.push(attr);
        } else if attr.path().is_ident("cfg") {
            out.cfgs.push(attr);
        } else if is_guarded(attr) {
            errors.error_at(
                attr,
                "duplicate `#[guarded]` on this struct: write it once, above the struct",
            );
        }
    }
    out
}

/// Sorts a field's attributes and parses its `#[guarded(lock)]`.
pub fn field_attrs<'a>(field: &'a syn::Field, name: &Ident, errors: &mut Errors) -> FieldAttrs<'a> {
    let mut out = FieldAttrs {
        guard: None,
        kept: Vec::new(),
        cfgs: Vec::new(),
    };
    for attr in &field.attrs {
        if !is_guarded(attr) {
            out.kept.push(attr);
            if attr.path().is_ident("cfg") {
                out.cfgs.push(attr);
            }
            continue;
        }
        let lock = match lock_name(attr, name) {
            Ok(lock) => lock,
            Err(error) => {
                errors.push(error);
                continue;
            }
        };
        match &out.guard {
            Some(first) => errors.error_at(
                attr,
                format!(
                    "duplicate `#[guarded]` on `{name}`: it is already guarded by `{}`; \
                     a field is guarded by exactly one lock, so remove one of the two",
                    first.lock
                ),
            ),
            None => {
                out.guard = Some(Guard { lock });
            }
        }
    }
    out
}

/// Parses `#[guarded(lock)]` on the field `name` into `lock`.
fn lock_name(attr: &Attribute, name: &Ident) -> syn::Result<Ident> {
    let list = match &attr.meta {
        Meta::List(list) => list,
        Meta::Path(path) => {
            return Err(format_err!(
                path,
                "`#[guarded]` on a field names the lock that guards it: \
                 write `#[guarded(lock)]`, where `lock` is a `Lock` or `RLock` field \
                 of this struct (`#[guarded]` alone goes above the struct)"
            ));
        }
        Meta::NameValue(meta) => {
            return Err(format_err!(
                meta.eq_token,
                "write the lock field in parentheses: `#[guarded(lock)]`"
            ));
        }
    };
    if list.tokens.is_empty() {
        return Err(syn::Error::new(
            list.delimiter.span().join(),
            format!(
                "name the lock that guards `{name}` inside the parentheses: `#[guarded(lock)]`"
            ),
        ));
    }
    let parser = |input: ParseStream<'_>| -> syn::Result<Ident> {
        if input.peek(Lit) {
            let literal: Lit = input.parse()?;
            let hint = match &literal {
                Lit::Str(s) => format!("`#[guarded({})]`", s.value()),
                _ => "`#[guarded(lock)]`".to_owned(),
            };
            return Err(format_err!(
                literal,
                "write the lock field's name without quotes: {hint}"
            ));
        }
        let lock = input.parse::<Ident>().map_err(|_| {
            input.error("expected the name of a lock field of this struct, like `#[guarded(lock)]`")
        })?;
        if input.peek(Token![,]) && !input.peek2(syn::parse::End) {
            let _comma: Token![,] = input.parse()?;
            let rest: TokenStream = input.parse()?;
            return Err(format_err!(
                rest,
                "a field is guarded by exactly one lock: keep `#[guarded({lock})]` \
                 and remove this"
            ));
        }
        let _trailing: Option<Token![,]> = input.parse()?;
        if !input.is_empty() {
            let rest: TokenStream = input.parse()?;
            return Err(format_err!(
                rest,
                "expected just the name of a lock field, like `#[guarded({lock})]`"
            ));
        }
        Ok(lock)
    };
    parser.parse2(list.tokens.clone())
}
