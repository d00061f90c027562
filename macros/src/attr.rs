//! Step 1: the attributes. Reads `#[guarded(...)]`'s own arguments, the
//! struct's attributes (which of them the generated structs inherit, and
//! its derives split into those the expansion writes out and those that
//! stay on the struct) and each field's `#[guarded(lock)]` /
//! `#[condition(lock)]`, keeping a reference to every original attribute so
//! errors can point at it.

use crate::error::{Errors, format_err};
use proc_macro2::{Span, TokenStream};
use syn::parse::{ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{Attribute, Ident, Lit, Meta, Path, Token, bracketed, parenthesized, parse_quote};

/// The arguments of `#[guarded(...)]` on the struct.
#[derive(Default)]
pub struct StructArgs {
    /// `crate = path`: where warden is.
    pub krate: Option<Path>,
    /// `new = name` / `new = none`.
    pub new: Constructor,
    /// `order = [lock, audit]`, with the span of `order`.
    pub order: Option<(Span, Vec<Ident>)>,
    /// `data(...)`: each item becomes an attribute of the data structs.
    pub data: Vec<Meta>,
}

/// What `new = ...` asked for.
#[derive(Default)]
pub enum Constructor {
    /// No `new = ...`: `new`.
    #[default]
    Default,
    /// `new = name`.
    Named(Ident),
    /// `new = none`.
    None,
}

/// The struct-level attributes `#[guarded]` cares about.
#[derive(Default)]
pub struct StructAttrs<'a> {
    /// The struct's `#[derive(..)]`s, minus `Debug` and `Default`: they
    /// stay on the struct.
    pub derives: Vec<Attribute>,
    /// The `Debug` derive path as written: the expansion implements it for
    /// the struct and `Init`, and derives it for the data structs.
    pub debug: Option<Path>,
    /// The `Default` derive path as written, likewise.
    pub default: Option<Path>,
    /// `#[cfg(..)]` (the struct is conditional): forwarded to every
    /// generated item.
    pub cfgs: Vec<&'a Attribute>,
}

/// A field's attributes, split by what `#[guarded]` does with them.
pub struct FieldAttrs<'a> {
    /// The field's `#[guarded(lock)]`, if it has one.
    pub guard: Option<Guard>,
    /// The field's `#[condition(lock)]`, if it has one.
    pub condition: Option<Guard>,
    /// Every attribute except `#[guarded(..)]` and `#[condition(..)]`, in
    /// order (docs, `cfg`, other derives' helpers, ...): they move with the
    /// field.
    pub kept: Vec<&'a Attribute>,
    /// The `#[cfg(..)]` attributes among `kept`: repeated wherever the
    /// field is named.
    pub cfgs: Vec<&'a Attribute>,
}

/// A field's `#[guarded(lock)]` or `#[condition(lock)]`.
pub struct Guard {
    /// The lock field it names, with the span it was written with.
    pub lock: Ident,
}

/// What the struct attribute accepts, for error messages.
const STRUCT_ARGS: &str = "`crate = path`, `new = name` (or `new = none`), \
                           `order = [lock, ...]` and `data(derive(...), ...)`";

/// Parses `#[guarded(...)]`'s arguments on the struct.
pub fn struct_args(args: TokenStream, errors: &mut Errors) -> StructArgs {
    let mut out = StructArgs::default();
    let parser = |input: ParseStream<'_>| -> syn::Result<()> {
        let mut seen: Vec<String> = Vec::new();
        while !input.is_empty() {
            let key: Ident = if input.peek(Token![crate]) {
                let krate: Token![crate] = input.parse()?;
                Ident::new("crate", krate.span)
            } else if input.peek(Lit) {
                let literal: Lit = input.parse()?;
                return Err(format_err!(
                    literal,
                    "`#[guarded]` on a struct takes {STRUCT_ARGS}; \
                     to guard a field, write `#[guarded(lock)]` on the field"
                ));
            } else {
                input.parse::<Ident>().map_err(|e| {
                    syn::Error::new(e.span(), format!("expected one of {STRUCT_ARGS}"))
                })?
            };
            let name = key.to_string();
            if seen.contains(&name) {
                return Err(format_err!(
                    key,
                    "`{name}` is given twice: write each argument of `#[guarded]` once"
                ));
            }
            match name.as_str() {
                "crate" => {
                    input.parse::<Token![=]>()?;
                    out.krate = Some(input.call(Path::parse_mod_style).map_err(|e| {
                        syn::Error::new(
                            e.span(),
                            "expected the path where warden is found, like \
                             `crate = ::warden` or `crate = my_facade::warden`",
                        )
                    })?);
                }
                "new" => {
                    input.parse::<Token![=]>()?;
                    let ident: Ident = input.call(syn::ext::IdentExt::parse_any)?;
                    out.new = if ident == "none" {
                        Constructor::None
                    } else {
                        Constructor::Named(ident)
                    };
                }
                "order" => {
                    input.parse::<Token![=]>()?;
                    let content;
                    bracketed!(content in input);
                    let locks = Punctuated::<Ident, Token![,]>::parse_terminated(&content)?;
                    out.order = Some((key.span(), locks.into_iter().collect()));
                }
                "data" => {
                    let content;
                    parenthesized!(content in input);
                    let metas = Punctuated::<Meta, Token![,]>::parse_terminated(&content)?;
                    if metas.is_empty() {
                        return Err(format_err!(
                            key,
                            "`data(...)` lists derives and attributes for the generated \
                             data structs, like `data(derive(Clone, PartialEq))`"
                        ));
                    }
                    out.data = metas.into_iter().collect();
                }
                _ => {
                    return Err(format_err!(
                        key,
                        "unknown argument `{name}`: `#[guarded]` on a struct takes {STRUCT_ARGS}. \
                         To guard fields with a lock field `{name}`, write `#[guarded({name})]` \
                         on each field it protects"
                    ));
                }
            }
            seen.push(name);
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        Ok(())
    };
    if let Err(error) = parser.parse2(args) {
        errors.push(error);
    }
    out
}

/// Whether `attr` is a `#[guarded..]` attribute (`guarded` or a path ending
/// in `guarded`, such as `warden::guarded`).
pub fn is_guarded(attr: &Attribute) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|segment| segment.ident == "guarded")
}

/// Whether `attr` is a field's `#[condition(..)]`.
pub fn is_condition(attr: &Attribute) -> bool {
    attr.path().is_ident("condition")
}

/// Sorts the struct's own attributes (those written below `#[guarded]`).
pub fn struct_attrs<'a>(attrs: &'a [Attribute], errors: &mut Errors) -> StructAttrs<'a> {
    let mut out = StructAttrs::default();
    for attr in attrs {
        if attr.path().is_ident("derive") {
            split_derive(attr, &mut out, errors);
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

/// Takes `Debug` and `Default` out of one `#[derive(..)]` into `out`,
/// keeping the rest of it (if any) in `out.derives`.
fn split_derive(attr: &Attribute, out: &mut StructAttrs<'_>, errors: &mut Errors) {
    let paths = match attr.parse_args_with(Punctuated::<Path, Token![,]>::parse_terminated) {
        Ok(paths) => paths,
        Err(error) => return errors.push(error),
    };
    let rest: Vec<&Path> = paths
        .iter()
        .filter(|path| {
            if is_std_derive(path, "Debug", "fmt") {
                out.debug = Some((*path).clone());
                false
            } else if is_std_derive(path, "Default", "default") {
                out.default = Some((*path).clone());
                false
            } else {
                true
            }
        })
        .collect();
    if !rest.is_empty() {
        let mut kept = attr.clone();
        kept.meta = parse_quote!(derive(#(#rest),*));
        out.derives.push(kept);
    }
}

/// Whether a derive path is the standard library's `name` (`Debug`,
/// `std::fmt::Debug`, `::core::fmt::Debug`, ...).
fn is_std_derive(path: &Path, name: &str, module: &str) -> bool {
    let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    match segments.as_slice() {
        [only] => only == name,
        [krate, m, last] => (krate == "std" || krate == "core") && m == module && last == name,
        _ => false,
    }
}

/// Whether `attr` means the same on any struct: docs, `cfg`, lint levels
/// (and a `cfg_attr` of those). Other attributes on a field are helpers of
/// the derives of the struct it is in.
pub fn is_plain(attr: &Attribute) -> bool {
    fn plain(path: &Path) -> bool {
        ["doc", "cfg", "allow", "warn", "deny", "forbid", "expect"]
            .iter()
            .any(|name| path.is_ident(name))
    }
    if attr.path().is_ident("cfg_attr") {
        let Ok(metas) = attr.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated)
        else {
            return false;
        };
        return metas.iter().skip(1).all(|meta| plain(meta.path()));
    }
    plain(attr.path())
}

/// Sorts a field's attributes and parses its `#[guarded(lock)]` and
/// `#[condition(lock)]`.
pub fn field_attrs<'a>(field: &'a syn::Field, name: &Ident, errors: &mut Errors) -> FieldAttrs<'a> {
    let mut out = FieldAttrs {
        guard: None,
        condition: None,
        kept: Vec::new(),
        cfgs: Vec::new(),
    };
    for attr in &field.attrs {
        let kind = if is_guarded(attr) {
            Kind::Guarded
        } else if is_condition(attr) {
            Kind::Condition
        } else {
            out.kept.push(attr);
            if attr.path().is_ident("cfg") {
                out.cfgs.push(attr);
            }
            continue;
        };
        let lock = match lock_name(attr, name, kind) {
            Ok(lock) => lock,
            Err(error) => {
                errors.push(error);
                continue;
            }
        };
        let guard = Guard { lock };
        let (slot, other) = match kind {
            Kind::Guarded => (&mut out.guard, &out.condition),
            Kind::Condition => (&mut out.condition, &out.guard),
        };
        if let Some(first) = other {
            let (data_lock, cond_lock) = match kind {
                Kind::Guarded => (&guard.lock, &first.lock),
                Kind::Condition => (&first.lock, &guard.lock),
            };
            errors.error_at(
                attr,
                format!(
                    "`{name}` cannot be both guarded data and a condition: \
                     `#[guarded({data_lock})]` would move it into the lock's data, where \
                     `changed.wait(guard)` could not borrow it while the guard is passed. \
                     Keep `#[condition({cond_lock})]` on a `Condition` field and remove \
                     the other attribute"
                ),
            );
            continue;
        }
        match slot {
            Some(first) => errors.error_at(
                attr,
                match kind {
                    Kind::Guarded => format!(
                        "duplicate `#[guarded]` on `{name}`: it is already guarded by `{}`; \
                         a field is guarded by exactly one lock, so remove one of the two",
                        first.lock
                    ),
                    Kind::Condition => format!(
                        "duplicate `#[condition]` on `{name}`: it is already bound to `{}`; \
                         a condition belongs to exactly one lock, so remove one of the two",
                        first.lock
                    ),
                },
            ),
            None => *slot = Some(guard),
        }
    }
    out
}

/// Which field attribute is being parsed.
#[derive(Clone, Copy)]
enum Kind {
    Guarded,
    Condition,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Guarded => "guarded",
            Kind::Condition => "condition",
        }
    }
}

/// Parses `#[guarded(lock)]` / `#[condition(lock)]` on the field `name`
/// into `lock`.
fn lock_name(attr: &Attribute, name: &Ident, kind: Kind) -> syn::Result<Ident> {
    let k = kind.name();
    let list = match &attr.meta {
        Meta::List(list) => list,
        Meta::Path(path) => {
            return Err(match kind {
                Kind::Guarded => format_err!(
                    path,
                    "`#[guarded]` on a field names the lock that guards it: \
                     write `#[guarded(lock)]`, where `lock` is a `Lock`, `RLock` or `RwLock` field \
                     of this struct (`#[guarded]` alone goes above the struct)"
                ),
                Kind::Condition => format_err!(
                    path,
                    "`#[condition]` names the lock whose guard the condition waits with: \
                     write `#[condition(lock)]`, where `lock` is a `Lock` field of this struct"
                ),
            });
        }
        Meta::NameValue(meta) => {
            return Err(format_err!(
                meta.eq_token,
                "write the lock field in parentheses: `#[{k}(lock)]`"
            ));
        }
    };
    if list.tokens.is_empty() {
        let what = match kind {
            Kind::Guarded => "guards",
            Kind::Condition => "is waited with by",
        };
        return Err(syn::Error::new(
            list.delimiter.span().join(),
            format!("name the lock that {what} `{name}` inside the parentheses: `#[{k}(lock)]`"),
        ));
    }
    let parser = |input: ParseStream<'_>| -> syn::Result<Ident> {
        if input.peek(Lit) {
            let literal: Lit = input.parse()?;
            let hint = match &literal {
                Lit::Str(s) => format!("`#[{k}({})]`", s.value()),
                _ => format!("`#[{k}(lock)]`"),
            };
            return Err(format_err!(
                literal,
                "write the lock field's name without quotes: {hint}"
            ));
        }
        let lock = input.parse::<Ident>().map_err(|_| {
            input.error(format!(
                "expected the name of a lock field of this struct, like `#[{k}(lock)]`"
            ))
        })?;
        if input.peek(Token![,]) && !input.peek2(syn::parse::End) {
            let _comma: Token![,] = input.parse()?;
            let rest: TokenStream = input.parse()?;
            let what = match kind {
                Kind::Guarded => "a field is guarded by exactly one lock",
                Kind::Condition => "a condition belongs to exactly one lock",
            };
            return Err(format_err!(
                rest,
                "{what}: keep `#[{k}({lock})]` and remove this"
            ));
        }
        let _trailing: Option<Token![,]> = input.parse()?;
        if !input.is_empty() {
            let rest: TokenStream = input.parse()?;
            return Err(format_err!(
                rest,
                "expected just the name of a lock field, like `#[{k}({lock})]`"
            ));
        }
        Ok(lock)
    };
    parser.parse2(list.tokens.clone())
}
