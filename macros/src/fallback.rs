//! What `#[guarded]` emits for an item it cannot expand (an enum, a tuple
//! struct, ...), next to the error saying why: the item itself, minus the
//! `#[guarded(..)]` and `#[condition(..)]` attributes on its fields, so the
//! rest of the crate still sees the type and reports nothing more.

use crate::attr;
use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::Item;

/// `item` without the field attributes only `#[guarded]` understands.
pub fn expand(mut item: Item) -> TokenStream {
    let strip = |field: &mut syn::Field| {
        field
            .attrs
            .retain(|a| !attr::is_guarded(a) && !attr::is_condition(a));
    };
    match &mut item {
        Item::Struct(item) => item.fields.iter_mut().for_each(strip),
        Item::Enum(item) => item
            .variants
            .iter_mut()
            .flat_map(|v| v.fields.iter_mut())
            .for_each(strip),
        Item::Union(item) => item.fields.named.iter_mut().for_each(strip),
        _ => {}
    }
    item.into_token_stream()
}
