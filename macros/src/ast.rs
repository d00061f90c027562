//! Step 2: the intermediate representation. Borrows the parsed struct and
//! keeps each original field and attribute, so later steps can point errors
//! at the exact tokens the user wrote.

use crate::attr::{self, FieldAttrs, StructArgs, StructAttrs};
use crate::error::{Errors, format_err};
use syn::{Fields, Ident, Item, ItemStruct};

/// A struct under `#[guarded]`.
pub struct Input<'a> {
    /// The struct as written.
    pub original: &'a ItemStruct,
    /// The arguments of `#[guarded(...)]` itself.
    pub args: StructArgs,
    /// Its attributes that the expansion forwards.
    pub attrs: StructAttrs<'a>,
    /// Its fields, in declaration order.
    pub fields: Vec<Field<'a>>,
}

/// One named field.
pub struct Field<'a> {
    /// The field as written.
    pub original: &'a syn::Field,
    /// Its name.
    pub ident: &'a Ident,
    /// Its attributes, with `#[guarded(lock)]` and `#[condition(lock)]`
    /// parsed out.
    pub attrs: FieldAttrs<'a>,
}

impl<'a> Input<'a> {
    /// Reads `item`. Fails, at the token to blame, when `item` is not a
    /// struct with named fields; attribute errors go to `errors`.
    pub fn from_item(item: &'a Item, args: StructArgs, errors: &mut Errors) -> syn::Result<Self> {
        let original = match item {
            Item::Struct(item) => item,
            Item::Enum(item) => {
                return Err(format_err!(
                    item.enum_token,
                    "`#[guarded]` works on structs, not enums: variants cannot share a \
                     lock field. Guard the whole enum from a struct instead: \
                     `#[guarded] struct Shared {{ lock: Lock, #[guarded(lock)] value: {} }}`",
                    item.ident
                ));
            }
            Item::Union(item) => {
                return Err(format_err!(
                    item.union_token,
                    "`#[guarded]` works on structs, not unions: a union's fields overlap, \
                     so none can be a lock guarding the others. Guard the whole union from \
                     a struct instead: \
                     `#[guarded] struct Shared {{ lock: Lock, #[guarded(lock)] value: {} }}`",
                    item.ident
                ));
            }
            other => {
                return Err(syn::Error::new(
                    first_token_span(other),
                    "`#[guarded]` goes on a struct with named fields: \
                     `#[guarded] struct Bank { lock: Lock, #[guarded(lock)] accounts: Vec<i64> }`",
                ));
            }
        };
        let named = match &original.fields {
            Fields::Named(named) => named,
            Fields::Unnamed(unnamed) => {
                return Err(format_err!(
                    unnamed,
                    "`#[guarded]` needs named fields: `#[guarded(lock)]` names the lock \
                     field, and a tuple struct's fields have no names. Write \
                     `struct {} {{ lock: Lock, #[guarded(lock)] value: T }}`",
                    original.ident
                ));
            }
            Fields::Unit => {
                return Err(format_err!(
                    original.ident,
                    "`{0}` has no fields to guard: `#[guarded]` needs a lock field and the \
                     fields it protects, `struct {0} {{ lock: Lock, #[guarded(lock)] value: T }}`",
                    original.ident
                ));
            }
        };
        let attrs = attr::struct_attrs(&original.attrs, errors);
        let fields = named
            .named
            .iter()
            .map(|field| {
                let ident = field
                    .ident
                    .as_ref()
                    .expect("syn gives every named field an ident");
                Field {
                    original: field,
                    ident,
                    attrs: attr::field_attrs(field, ident, errors),
                }
            })
            .collect();
        Ok(Input {
            original,
            args,
            attrs,
            fields,
        })
    }

    /// The field named `name`, if any.
    pub fn field(&self, name: &Ident) -> Option<usize> {
        self.fields.iter().position(|field| field.ident == name)
    }
}

/// Where to point "this item is not a struct": its leading keyword.
fn first_token_span(item: &Item) -> proc_macro2::Span {
    use syn::spanned::Spanned;
    match item {
        Item::Fn(item) => item.sig.fn_token.span,
        Item::Impl(item) => item.impl_token.span,
        Item::Trait(item) => item.trait_token.span,
        Item::Type(item) => item.type_token.span,
        Item::Mod(item) => item.mod_token.span,
        Item::Const(item) => item.const_token.span,
        Item::Static(item) => item.static_token.span,
        other => other.span(),
    }
}
