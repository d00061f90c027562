//! Step 4: the expansion. Turns a checked [`Input`] into the rewritten
//! struct, one data struct per lock, the `Init` struct, `new`/`From`, and
//! the struct's own `Debug`/`Default`. Generated code names warden only
//! through `::warden::__private`.
//!
//! # Why the impls carry `for<'__warden> L: GuardedLock`
//!
//! A lock field written `lock: L` becomes `lock: Guarded<L, BankLock>`,
//! which is `Lock<BankLock>` when `L` is `Lock`. When `L` is not a lock,
//! that type fails to resolve, and every function that touches the field
//! would report it again: `new`, `From`, `Debug`, `Default`. So each
//! generated impl *assumes* the bound (a where-clause; the binder keeps
//! rustc from rejecting it as trivially false), and reaches the field only
//! through `GuardedLock`'s own methods. The struct definition is then the
//! only place the bound is checked: one error, at the written type.

use crate::ast::Input;
use crate::attr;
use crate::error::Errors;
use crate::validate::{self, Plan};
use proc_macro2::{Group, Ident, Span, TokenStream, TokenTree};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use std::collections::HashSet;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{
    Attribute, GenericParam, Generics, Item, Path, Token, Type, WhereClause, WherePredicate,
    parse_quote,
};

/// The entry point: `#[guarded]`'s arguments and the item it sits on, to
/// the expanded tokens (with any errors as `compile_error!`s in front).
pub fn guarded(args: TokenStream, input: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    attr::struct_args(args, &mut errors);
    let item: Item = match syn::parse2(input) {
        Ok(item) => item,
        Err(error) => return error.into_compile_error(),
    };
    let tokens = match Input::from_item(&item, &mut errors) {
        Ok(input) => {
            let plan = validate::check(&input, &mut errors);
            Expansion::new(&input, &plan, &mut errors).into_tokens()
        }
        Err(error) => {
            errors.push(error);
            fallback(item)
        }
    };
    // The one place errors become tokens.
    let errors = errors.into_compile_error();
    quote!(#errors #tokens)
}

/// Lints allowed on the generated `Init` struct and impls (the user's own
/// tokens, moved into the data structs, keep the user's lints):
///
/// * `dead_code`: a crate may build its struct some other way (say
///   `Default`) and never use `Init` or `new`;
/// * `unused_lifetimes`: the `for<'__warden>` binder explained in the
///   module docs;
/// * `clippy::must_use_candidate`, `clippy::missing_const_for_fn`,
///   `clippy::needless_pass_by_value`, `clippy::use_self`,
///   `clippy::redundant_pub_crate`: style advice about code the user did not
///   write and cannot change;
/// * `clippy::trait_duplication_in_bounds`,
///   `clippy::type_repetition_in_bounds`: the struct's bounds are copied
///   here, so the user's struct already gets any such warning once.
fn allow_list() -> TokenStream {
    quote! {
        #[allow(
            dead_code,
            unused_lifetimes,
            clippy::must_use_candidate,
            clippy::missing_const_for_fn,
            clippy::needless_pass_by_value,
            clippy::use_self,
            clippy::redundant_pub_crate,
            clippy::trait_duplication_in_bounds,
            clippy::type_repetition_in_bounds
        )]
    }
}

/// What is emitted for an item the macro cannot expand (an enum, a tuple
/// struct, ...): the item itself, minus the `#[guarded(..)]` attributes on
/// its fields, so the rest of the crate still sees the type.
fn fallback(mut item: Item) -> TokenStream {
    let strip = |field: &mut syn::Field| field.attrs.retain(|a| !attr::is_guarded(a));
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

/// One lock field that guards something, and what it guards.
struct LockPlan {
    /// Index of the lock field.
    field: usize,
    /// Indices of the fields it guards, in declaration order.
    guarded: Vec<usize>,
    /// The generated data struct's name, `{Struct}{Field}`.
    data: Ident,
    /// The data struct's generics: those of the outer struct its fields use.
    generics: Generics,
}

impl LockPlan {
    /// `BankLock<'a, K>`, as a type.
    fn data_ty(&self) -> TokenStream {
        let data = &self.data;
        let (_, ty_generics, _) = self.generics.split_for_impl();
        quote!(#data #ty_generics)
    }
}

/// Everything the expansion needs, worked out once.
struct Expansion<'a> {
    input: &'a Input<'a>,
    plan: &'a Plan,
    locks: Vec<LockPlan>,
    /// `Bank<'a, K, V>`: what `Self` means in a field's type.
    self_ty: TokenStream,
    /// `BankInit`.
    init: Ident,
    /// The struct's own `#[derive]`s, minus `Debug` and `Default`.
    outer_derives: Vec<Attribute>,
    /// Whether the struct derives `Debug` / `Default` (implemented here).
    debug: bool,
    default: bool,
}

impl<'a> Expansion<'a> {
    fn new(input: &'a Input<'a>, plan: &'a Plan, errors: &mut Errors) -> Self {
        let item = input.original;
        let ident = &item.ident;
        let (_, ty_generics, _) = item.generics.split_for_impl();
        let self_ty = quote!(#ident #ty_generics);

        let mut locks: Vec<LockPlan> = Vec::new();
        for (i, by) in plan.guarded_by.iter().enumerate() {
            let Some(lock) = *by else { continue };
            if let Some(l) = locks.iter_mut().find(|l| l.field == lock) {
                l.guarded.push(i);
                continue;
            }
            let lock_ident = input.fields[lock].ident;
            locks.push(LockPlan {
                field: lock,
                guarded: vec![i],
                data: format_ident!(
                    "{}{}",
                    ident,
                    upper_camel(&validate::unraw(lock_ident)),
                    span = lock_ident.span()
                ),
                generics: Generics::default(),
            });
        }
        locks.sort_by_key(|l| l.field);
        for lock in &mut locks {
            let mut used = Names::default();
            for &i in &lock.guarded {
                used.collect(replace_self(&input.fields[i].original.ty, &self_ty));
            }
            lock.generics = subset(&item.generics, &used);
        }

        let (mut debug, mut default) = (false, false);
        let mut outer_derives = Vec::new();
        for attr in &input.attrs.derives {
            let paths = match attr.parse_args_with(Punctuated::<Path, Token![,]>::parse_terminated)
            {
                Ok(paths) => paths,
                Err(error) => {
                    errors.push(error);
                    continue;
                }
            };
            let rest: Vec<&Path> = paths
                .iter()
                .filter(|path| {
                    if is_std_derive(path, "Debug", "fmt") {
                        debug = true;
                        false
                    } else if is_std_derive(path, "Default", "default") {
                        default = true;
                        false
                    } else {
                        true
                    }
                })
                .collect();
            if !rest.is_empty() {
                let mut kept = (*attr).clone();
                kept.meta = parse_quote!(derive(#(#rest),*));
                outer_derives.push(kept);
            }
        }

        Expansion {
            input,
            plan,
            locks,
            self_ty,
            init: format_ident!("{}Init", ident, span = ident.span()),
            outer_derives,
            debug,
            default,
        }
    }

    fn lock_of(&self, field: usize) -> Option<&LockPlan> {
        self.locks.iter().find(|l| l.field == field)
    }

    fn is_guarded(&self, field: usize) -> bool {
        self.plan.guarded_by[field].is_some()
    }

    /// The field as written, with only the attributes that move with it
    /// and `Self` spelled out in its type.
    fn moved_field(&self, field: usize) -> syn::Field {
        let field = &self.input.fields[field];
        let mut out = field.original.clone();
        out.attrs = field.attrs.kept.iter().map(|a| (*a).clone()).collect();
        out.ty = Type::Verbatim(replace_self(&field.original.ty, &self.self_ty));
        out
    }

    /// `for<'__warden> L: GuardedLock` for every lock field (see the module
    /// docs), plus `extra` for every type parameter (as the std derives do).
    fn where_clause(&self, extra: Option<TokenStream>) -> WhereClause {
        let mut generics = self.input.original.generics.clone();
        let where_clause = generics.make_where_clause();
        for lock in &self.locks {
            let ty = &self.input.fields[lock.field].original.ty;
            where_clause
                .predicates
                .push(parse_quote!(for<'__warden> #ty: ::warden::__private::GuardedLock));
        }
        if let Some(bound) = extra {
            for param in self.input.original.generics.type_params() {
                let param = &param.ident;
                where_clause.predicates.push(parse_quote!(#param: #bound));
            }
        }
        where_clause.clone()
    }

    fn into_tokens(self) -> TokenStream {
        let outer = self.outer_struct();
        let data = self.locks.iter().map(|lock| self.data_struct(lock));
        let init = self.init_struct();
        let constructors = self.constructors();
        let debug = self.debug.then(|| self.debug_impl());
        let default = self.default.then(|| self.default_impl());
        let cfgs = &self.input.attrs.cfgs;
        quote! {
            #outer
            #(#data)*
            #init
            #(#cfgs)*
            const _: () = {
                #constructors
                #debug
                #default
            };
        }
    }

    /// The struct itself: unguarded fields as they were, each lock field
    /// with its data filled in.
    fn outer_struct(&self) -> TokenStream {
        let item = self.input.original;
        let fields = self
            .input
            .fields
            .iter()
            .enumerate()
            .filter_map(|(i, field)| {
                if self.is_guarded(i) {
                    return None;
                }
                let mut out = field.original.clone();
                out.attrs = field.attrs.kept.iter().map(|a| (*a).clone()).collect();
                if let Some(lock) = self.lock_of(i) {
                    let ty = &field.original.ty;
                    let data = lock.data_ty();
                    // Point "not a lock" at the written type's name.
                    out.ty = Type::Verbatim(quote_spanned! {type_name_span(ty)=>
                        ::warden::__private::Guarded<#ty, #data>
                    });
                }
                Some(out)
            });
        let attrs = item
            .attrs
            .iter()
            .filter(|a| !attr::is_guarded(a) && !a.path().is_ident("derive"));
        let derives = &self.outer_derives;
        let vis = &item.vis;
        let ident = &item.ident;
        let generics = &item.generics;
        let where_clause = &generics.where_clause;
        quote! {
            #(#attrs)*
            #(#derives)*
            #vis struct #ident #generics #where_clause {
                #(#fields,)*
            }
        }
    }

    /// The data struct of one lock.
    fn data_struct(&self, lock: &LockPlan) -> TokenStream {
        let item = self.input.original;
        let ident = &item.ident;
        let vis = &item.vis;
        let lock_field = &self.input.fields[lock.field];
        let lock_name = lock_field.ident;
        let example = self.input.fields[lock.guarded[0]].ident;
        let list = lock
            .guarded
            .iter()
            .map(|&i| format!("`{}`", self.input.fields[i].ident))
            .collect::<Vec<_>>()
            .join(", ");
        let doc = format!(
            " The fields of [`{ident}`] that its `{lock_name}` field guards ({list}), \
             moved here by `#[guarded]` to be that lock's data.\n\n\
             They can be reached only while holding the lock: through its guard, \
             `x.{lock_name}.acquire().await.{example}`, or with `&mut {ident}`, \
             `x.{lock_name}.get_mut().{example}`. `x.{example}` does not compile."
        );
        let fields = lock.guarded.iter().map(|&i| self.moved_field(i));
        let cfgs = self.input.attrs.cfgs.iter().chain(&lock_field.attrs.cfgs);
        let derives = &self.input.attrs.derives;
        let data = &lock.data;
        let generics = &lock.generics;
        let where_clause = &lock.generics.where_clause;
        quote! {
            #(#cfgs)*
            #[doc = #doc]
            #(#derives)*
            #vis struct #data #generics #where_clause {
                #(#fields,)*
            }
        }
    }

    /// `{Struct}Init`: every field as declared.
    fn init_struct(&self) -> TokenStream {
        let item = self.input.original;
        let ident = &item.ident;
        let doc = format!(
            " Every field of [`{ident}`], by name, to build one with [`{ident}::new`] \
             or `{ident}::from`.\n\n\
             Generated by `#[guarded]`. Each field has its declared type: a lock field \
             takes the lock as written (`Lock::new(())`, `Lock::default()`), and `new` \
             moves the fields it guards into it."
        );
        let fields = (0..self.input.fields.len()).map(|i| {
            let mut field = self.moved_field(i);
            if let Some(lock) = self.plan.guarded_by[i] {
                let lock_cfgs = &self.input.fields[lock].attrs.cfgs;
                field.attrs.extend(lock_cfgs.iter().map(|a| (*a).clone()));
            }
            field
        });
        let cfgs = &self.input.attrs.cfgs;
        let derives = &self.input.attrs.derives;
        let allow = allow_list();
        let vis = &item.vis;
        let init = &self.init;
        let generics = &item.generics;
        let where_clause = &generics.where_clause;
        quote! {
            #(#cfgs)*
            #[doc = #doc]
            #(#derives)*
            #allow
            #vis struct #init #generics #where_clause {
                #(#fields,)*
            }
        }
    }

    /// `new` and `From<Init>`.
    fn constructors(&self) -> TokenStream {
        let item = self.input.original;
        let ident = &item.ident;
        let vis = &item.vis;
        let init = &self.init;
        let (impl_generics, ty_generics, _) = item.generics.split_for_impl();
        let where_clause = self.where_clause(None);
        let values = self.input.fields.iter().enumerate().filter_map(|(i, field)| {
            if self.is_guarded(i) {
                return None;
            }
            let name = field.ident;
            let cfgs = &field.attrs.cfgs;
            let value = match self.lock_of(i) {
                None => quote!(init.#name),
                Some(lock) => {
                    let data = &lock.data;
                    let moved = lock.guarded.iter().map(|&g| {
                        let guarded = &self.input.fields[g];
                        let g_name = guarded.ident;
                        let g_cfgs = &guarded.attrs.cfgs;
                        quote!(#(#g_cfgs)* #g_name: init.#g_name)
                    });
                    quote! {
                        ::warden::__private::GuardedLock::wrap(init.#name, #data { #(#moved,)* })
                    }
                }
            };
            Some(quote!(#(#cfgs)* #name: #value))
        });
        let doc = format!(
            " Builds a [`{ident}`] from every field's value, moving each \
             `#[guarded]` field into its lock. Generated by `#[guarded]`."
        );
        let allow = allow_list();
        quote! {
            #allow
            impl #impl_generics #ident #ty_generics #where_clause {
                #[doc = #doc]
                #[must_use]
                #vis fn new(init: #init #ty_generics) -> Self {
                    Self { #(#values,)* }
                }
            }

            #allow
            impl #impl_generics ::core::convert::From<#init #ty_generics>
                for #ident #ty_generics #where_clause
            {
                fn from(init: #init #ty_generics) -> Self {
                    Self::new(init)
                }
            }
        }
    }

    /// `#[derive(Debug)]` of the struct, written out so it reaches lock
    /// fields through `GuardedLock` (see the module docs).
    fn debug_impl(&self) -> TokenStream {
        let item = self.input.original;
        let ident = &item.ident;
        let name = validate::unraw(ident);
        let (impl_generics, ty_generics, _) = item.generics.split_for_impl();
        let where_clause = self.where_clause(Some(quote!(::core::fmt::Debug)));
        let fields = self
            .input
            .fields
            .iter()
            .enumerate()
            .filter_map(|(i, field)| {
                if self.is_guarded(i) {
                    return None;
                }
                let member = field.ident;
                let name = validate::unraw(member);
                let cfgs = &field.attrs.cfgs;
                let value = match self.lock_of(i) {
                    None => quote!(&self.#member),
                    Some(lock) => {
                        let ty = &field.original.ty;
                        let data = lock.data_ty();
                        quote!(&::warden::__private::DebugLock::<#ty, #data>(&self.#member))
                    }
                };
                Some(quote!(#(#cfgs)* debug.field(#name, #value);))
            });
        let allow = allow_list();
        quote! {
            #[automatically_derived]
            #allow
            impl #impl_generics ::core::fmt::Debug for #ident #ty_generics #where_clause {
                fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                    let mut debug = f.debug_struct(#name);
                    #(#fields)*
                    debug.finish()
                }
            }
        }
    }

    /// `#[derive(Default)]` of the struct, written out like `debug_impl`.
    fn default_impl(&self) -> TokenStream {
        let item = self.input.original;
        let ident = &item.ident;
        let (impl_generics, ty_generics, _) = item.generics.split_for_impl();
        let where_clause = self.where_clause(Some(quote!(::core::default::Default)));
        let fields = self
            .input
            .fields
            .iter()
            .enumerate()
            .filter_map(|(i, field)| {
                if self.is_guarded(i) {
                    return None;
                }
                let member = field.ident;
                let cfgs = &field.attrs.cfgs;
                let value = match self.lock_of(i) {
                    None => quote!(::core::default::Default::default()),
                    Some(lock) => {
                        let ty = &field.original.ty;
                        let data = lock.data_ty();
                        quote! {
                            <#ty as ::warden::__private::GuardedLock>::default_with::<#data>()
                        }
                    }
                };
                Some(quote!(#(#cfgs)* #member: #value))
            });
        let allow = allow_list();
        quote! {
            #[automatically_derived]
            #allow
            impl #impl_generics ::core::default::Default for #ident #ty_generics #where_clause {
                fn default() -> Self {
                    Self { #(#fields,)* }
                }
            }
        }
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

/// The span of a type's name (`Mutex` in `std::sync::Mutex<()>`), where a
/// "not a lock" error reads best.
fn type_name_span(ty: &Type) -> Span {
    match ty {
        Type::Path(path) => path
            .path
            .segments
            .last()
            .map_or_else(|| ty.span(), |s| s.ident.span()),
        _ => ty.span(),
    }
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

/// `ty` with every `Self` replaced by `with` (the outer struct's type): a
/// field moved to another struct must keep meaning the same type.
fn replace_self(ty: &Type, with: &TokenStream) -> TokenStream {
    fn walk(tokens: TokenStream, with: &TokenStream) -> TokenStream {
        tokens
            .into_iter()
            .flat_map(|tree| -> TokenStream {
                match tree {
                    TokenTree::Ident(ident) if ident == "Self" => {
                        respan(with.clone(), ident.span())
                    }
                    TokenTree::Group(group) => {
                        let mut out = Group::new(group.delimiter(), walk(group.stream(), with));
                        out.set_span(group.span());
                        TokenTree::Group(out).into()
                    }
                    other => other.into(),
                }
            })
            .collect()
    }
    walk(ty.to_token_stream(), with)
}

/// `tokens` with every token given `span`.
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
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

/// The identifiers and lifetimes mentioned by some tokens.
#[derive(Default)]
struct Names {
    idents: HashSet<String>,
    lifetimes: HashSet<String>,
}

impl Names {
    fn of(tokens: &impl ToTokens) -> Self {
        let mut names = Names::default();
        names.collect(tokens.to_token_stream());
        names
    }

    fn collect(&mut self, tokens: TokenStream) {
        let mut lifetime = false;
        for tree in tokens {
            match tree {
                TokenTree::Punct(p) if p.as_char() == '\'' => {
                    lifetime = true;
                    continue;
                }
                TokenTree::Ident(ident) if lifetime => {
                    self.lifetimes.insert(ident.to_string());
                }
                TokenTree::Ident(ident) => {
                    self.idents.insert(ident.to_string());
                }
                TokenTree::Group(group) => self.collect(group.stream()),
                TokenTree::Punct(_) | TokenTree::Literal(_) => {}
            }
            lifetime = false;
        }
    }

    fn insert_param(&mut self, param: &GenericParam) {
        match param {
            GenericParam::Lifetime(p) => self.lifetimes.insert(p.lifetime.ident.to_string()),
            GenericParam::Type(p) => self.idents.insert(p.ident.to_string()),
            GenericParam::Const(p) => self.idents.insert(p.ident.to_string()),
        };
    }

    fn has_param(&self, param: &GenericParam) -> bool {
        match param {
            GenericParam::Lifetime(p) => self.lifetimes.contains(&p.lifetime.ident.to_string()),
            GenericParam::Type(p) => self.idents.contains(&p.ident.to_string()),
            GenericParam::Const(p) => self.idents.contains(&p.ident.to_string()),
        }
    }

    fn meets(&self, other: &Names) -> bool {
        self.idents.iter().any(|i| other.idents.contains(i))
            || self.lifetimes.iter().any(|l| other.lifetimes.contains(l))
    }
}

/// The generic parameters of `generics` that `used` mentions, with the
/// bounds and where-clauses among them. This is what a hand-written data
/// struct would declare: a parameter it does not use would be an error
/// (E0392).
fn subset(generics: &Generics, used: &Names) -> Generics {
    let (mut params, mut dropped) = (Vec::new(), Names::default());
    for param in &generics.params {
        if used.has_param(param) {
            params.push(param.clone());
        } else {
            dropped.insert_param(param);
        }
    }
    let clean = |tokens: &dyn ToTokens| !Names::of(&tokens.to_token_stream()).meets(&dropped);
    for param in &mut params {
        match param {
            GenericParam::Lifetime(p) => {
                p.bounds = p.bounds.iter().filter(|b| clean(*b)).cloned().collect();
                if p.bounds.is_empty() {
                    p.colon_token = None;
                }
            }
            GenericParam::Type(p) => {
                p.bounds = p.bounds.iter().filter(|b| clean(*b)).cloned().collect();
                if p.bounds.is_empty() {
                    p.colon_token = None;
                }
            }
            GenericParam::Const(_) => {}
        }
    }
    let predicates: Vec<WherePredicate> = generics
        .where_clause
        .iter()
        .flat_map(|w| w.predicates.iter())
        .filter_map(|predicate| match predicate {
            WherePredicate::Type(p) if clean(&p.bounded_ty) => {
                let mut p = p.clone();
                p.bounds = p.bounds.iter().filter(|b| clean(*b)).cloned().collect();
                (!p.bounds.is_empty()).then_some(WherePredicate::Type(p))
            }
            WherePredicate::Lifetime(p) if clean(&p.lifetime) => {
                let mut p = p.clone();
                p.bounds = p.bounds.iter().filter(|b| clean(*b)).cloned().collect();
                (!p.bounds.is_empty()).then_some(WherePredicate::Lifetime(p))
            }
            _ => None,
        })
        .collect();
    let mut out = Generics::default();
    if !params.is_empty() {
        out.lt_token = Some(parse_quote!(<));
        out.gt_token = Some(parse_quote!(>));
        out.params = params.into_iter().collect();
    }
    if !predicates.is_empty() {
        out.where_clause = Some(WhereClause {
            where_token: parse_quote!(where),
            predicates: predicates.into_iter().collect(),
        });
    }
    out
}
