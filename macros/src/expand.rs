//! Step 4: the expansion. Turns a checked [`Input`] into the rewritten
//! struct, one data struct per lock, the `Init` struct, the constructor and
//! `From`, the struct's own `Debug`/`Default`, and the hidden items that
//! check the lock types and record the lock order. Generated code names
//! warden only through the crate path of [`krate`](crate::krate).
//!
//! # One error for a wrong lock type
//!
//! A lock field written `lock: Lock` becomes `lock: Lock<BankLock>`: the
//! macro writes the data struct into the written path's generic argument
//! (`Mutex<()>` would become `Mutex<BankLock>`), so the field's type is
//! well-formed whatever was written, and code using the field reports
//! nothing. Whether the written type is a warden lock is checked once, by a
//! hidden struct whose field is `Guarded<L, ()>` (spanned at the written
//! type): that is the one error. Every generated impl *assumes* what it
//! needs (`for<'__warden> L: GuardedLock<With<BankLock> = Lock<BankLock>>`,
//! a where-clause; the binder keeps rustc from rejecting a false one as
//! trivially false) instead of requiring it, so it adds no error of its own.
//! A type the macro cannot rewrite (an alias: `lock: StateLock`) is spelled
//! `Guarded<StateLock, BankLock>`, the same type when it is a lock.
//!
//! # The `const` constructor
//!
//! Moving a field out of the by-value `Init` in a `const fn` is error E0493
//! on stable Rust (the `Init` has drop glue: its locks do), so `new` wraps
//! `init` in `ManuallyDrop` and reads each field exactly once with
//! `ptr::read`; the lock values given in `Init` are not read (a fresh lock
//! owns nothing, so nothing leaks). This is the only `unsafe` the expansion
//! writes; its reads are of distinct fields of a value that is never used
//! again, and the pass tests exercise it in `const`, `static` and run-time
//! construction.

use crate::ast::Input;
use crate::attr::{self, Constructor};
use crate::error::Errors;
use crate::krate;
use crate::validate::{self, KNOWN_LOCKS, Plan};
use proc_macro2::{Group, Ident, Span, TokenStream, TokenTree};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use std::collections::HashSet;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::visit::{self, Visit};
use syn::{
    Attribute, GenericArgument, GenericParam, Generics, Item, Path, PathArguments, Token, Type,
    WhereClause, parse_quote,
};

/// The entry point: `#[guarded]`'s arguments and the item it sits on, to
/// the expanded tokens (with any errors as `compile_error!`s in front).
pub fn guarded(args: TokenStream, input: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let args = attr::struct_args(args, &mut errors);
    let item: Item = match syn::parse2(input) {
        Ok(item) => item,
        Err(error) => return error.into_compile_error(),
    };
    let tokens = match Input::from_item(&item, args, &mut errors) {
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
/// * `unused_unsafe`: `new`'s block reads no field when every field is
///   compiled out;
/// * `clippy::must_use_candidate`, `clippy::missing_const_for_fn`,
///   `clippy::needless_pass_by_value`, `clippy::use_self`,
///   `clippy::redundant_pub_crate`, `clippy::undocumented_unsafe_blocks`,
///   `clippy::multiple_unsafe_ops_per_block`, `clippy::borrow_as_ptr`:
///   style advice about code the user did not write and cannot change;
/// * `clippy::trait_duplication_in_bounds`,
///   `clippy::type_repetition_in_bounds`: the struct's bounds are copied
///   here, so the user's struct already gets any such warning once.
fn allow_list() -> TokenStream {
    quote! {
        #[allow(
            dead_code,
            unused_lifetimes,
            unused_unsafe,
            clippy::must_use_candidate,
            clippy::missing_const_for_fn,
            clippy::needless_pass_by_value,
            clippy::use_self,
            clippy::redundant_pub_crate,
            clippy::undocumented_unsafe_blocks,
            clippy::multiple_unsafe_ops_per_block,
            clippy::borrow_as_ptr,
            clippy::trait_duplication_in_bounds,
            clippy::type_repetition_in_bounds
        )]
    }
}

/// What is emitted for an item the macro cannot expand (an enum, a tuple
/// struct, ...): the item itself, minus the `#[guarded(..)]` and
/// `#[condition(..)]` attributes on its fields, so the rest of the crate
/// still sees the type.
fn fallback(mut item: Item) -> TokenStream {
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

/// One lock field, what it guards and what waits with it.
struct LockPlan {
    /// Index of the lock field.
    field: usize,
    /// Indices of the fields it guards, in declaration order.
    guarded: Vec<usize>,
    /// Indices of its `#[condition(..)]` fields.
    conditions: Vec<usize>,
    /// The generated data struct's name, `{Struct}{Field}`.
    data: Ident,
    /// The lock field's type in the struct: the written path with the data
    /// struct as its argument, or `Guarded<L, Data>`.
    ty: TokenStream,
    /// Whether `ty` is the rewritten path (so impls assume `With<D> = ty`).
    rewritten: bool,
    /// The type parameters and lifetimes of the struct its fields do not
    /// name: the data struct's `PhantomData` marker.
    unused: Vec<TokenStream>,
}

/// Everything the expansion needs, worked out once.
struct Expansion<'a> {
    input: &'a Input<'a>,
    plan: &'a Plan,
    locks: Vec<LockPlan>,
    /// `::warden`, or what `crate = ...` / the manifest says.
    krate: TokenStream,
    /// `Bank<'a, K, V>`: what `Self` means in a field's type.
    self_ty: TokenStream,
    /// `BankInit`.
    init: Ident,
    /// The constructor's name, if any.
    new: Option<Ident>,
    /// The struct's `#[derive]`s, minus `Debug` and `Default`.
    outer_derives: Vec<Attribute>,
    /// The `Debug` / `Default` derive paths as written (implemented here
    /// for the struct and `Init`, derived for the data structs).
    debug: Option<Path>,
    default: Option<Path>,
}

/// The name of the `PhantomData` field of a data struct whose fields do not
/// use every generic parameter of the struct.
const MARKER: &str = "__warden_unused_params";

impl<'a> Expansion<'a> {
    fn new(input: &'a Input<'a>, plan: &'a Plan, errors: &mut Errors) -> Self {
        let item = input.original;
        let ident = &item.ident;
        let (_, ty_generics, _) = item.generics.split_for_impl();
        let self_ty = quote!(#ident #ty_generics);
        let krate = krate::path(input.args.krate.as_ref());

        let locks = lock_plans(input, plan, &krate, &self_ty);

        let (mut debug, mut default) = (None, None);
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
                        debug = Some((*path).clone());
                        false
                    } else if is_std_derive(path, "Default", "default") {
                        default = Some((*path).clone());
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

        let new = match &input.args.new {
            Constructor::Default => Some(Ident::new("new", Span::call_site())),
            Constructor::Named(name) => Some(name.clone()),
            Constructor::None => None,
        };

        Expansion {
            input,
            plan,
            locks,
            krate,
            self_ty,
            init: format_ident!("{}Init", ident, span = ident.span()),
            new,
            outer_derives,
            debug,
            default,
        }
    }

    fn lock_of(&self, field: usize) -> Option<&LockPlan> {
        self.locks.iter().find(|l| l.field == field)
    }

    fn lock_for(&self, index: Option<usize>) -> Option<&LockPlan> {
        index.and_then(|j| self.lock_of(j))
    }

    fn is_guarded(&self, field: usize) -> bool {
        self.plan.guarded_by[field].is_some()
    }

    /// `BankLock<'a, K>`, as a type.
    fn data_ty(&self, lock: &LockPlan) -> TokenStream {
        let data = &lock.data;
        let (_, ty_generics, _) = self.input.original.generics.split_for_impl();
        quote!(#data #ty_generics)
    }

    /// `tokens` with `Self` spelled out as the struct's type.
    fn no_self(&self, tokens: impl ToTokens) -> TokenStream {
        replace_self(tokens.to_token_stream(), &self.self_ty)
    }

    /// The field as written, with only the attributes that move with it
    /// and `Self` spelled out in its type.
    fn moved_field(&self, field: usize) -> syn::Field {
        let field = &self.input.fields[field];
        let mut out = field.original.clone();
        out.attrs = field.attrs.kept.iter().map(|a| (*a).clone()).collect();
        out.ty = Type::Verbatim(self.no_self(&field.original.ty));
        out
    }

    /// The struct's generics with `Self` spelled out, for a generated
    /// struct (`Init`, a data struct) that has exactly those parameters.
    fn copied_generics(&self) -> (TokenStream, TokenStream) {
        let generics = &self.input.original.generics;
        let params = self.no_self(generics);
        let where_clause = self.no_self(&generics.where_clause);
        (params, where_clause)
    }

    /// The struct's where-clause plus what the generated impls assume (see
    /// the module docs): each unconditional lock field's type is a lock
    /// whose `With<Data>` is the field's type, each condition's is a
    /// `Condition`; plus `extra` for every type parameter (as the std
    /// derives do) and `data_bound` for each data struct.
    fn where_clause(
        &self,
        extra: Option<&TokenStream>,
        data_bound: Option<&TokenStream>,
    ) -> WhereClause {
        let krate = &self.krate;
        let mut generics = self.input.original.generics.clone();
        let where_clause = generics.make_where_clause();
        for lock in &self.locks {
            let field = &self.input.fields[lock.field];
            if !field.attrs.cfgs.is_empty() {
                continue; // its types may not exist: see `new`'s body
            }
            let ty = &field.original.ty;
            let data_ty = self.data_ty(lock);
            let field_ty = &lock.ty;
            where_clause.predicates.push(if lock.rewritten {
                parse_quote! {
                    for<'__warden> #ty: #krate::__private::GuardedLock<With<#data_ty> = #field_ty>
                }
            } else {
                parse_quote!(for<'__warden> #ty: #krate::__private::GuardedLock)
            });
            if let Some(bound) = data_bound {
                where_clause
                    .predicates
                    .push(parse_quote!(for<'__warden> #data_ty: #bound));
            }
            for &c in &lock.conditions {
                let condition = &self.input.fields[c];
                if condition.attrs.cfgs.is_empty() {
                    let ty = &condition.original.ty;
                    where_clause
                        .predicates
                        .push(parse_quote!(for<'__warden> #ty: #krate::__private::BindCondition));
                }
            }
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
        let check = self.check_struct();
        let constructors = self.constructors();
        let debug = self.debug.as_ref().map(|_| self.debug_impls());
        let default = self.default.as_ref().map(|_| self.default_impls());
        let order = self.order();
        let cfgs = &self.input.attrs.cfgs;
        quote! {
            #outer
            #(#data)*
            #init
            #(#cfgs)*
            const _: () = {
                #check
                #constructors
                #debug
                #default
                #order
            };
        }
    }

    /// The struct itself: unguarded fields as they were, each lock field
    /// with its data filled in, each condition bound to its lock.
    fn outer_struct(&self) -> TokenStream {
        let item = self.input.original;
        let krate = &self.krate;
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
                    out.ty = Type::Verbatim(lock.ty.clone());
                } else if let Some(lock) = self.lock_for(self.plan.condition_of[i]) {
                    let data_ty = self.data_ty(lock);
                    let span = type_name_span(&field.original.ty);
                    out.ty = Type::Verbatim(quote_spanned! {span=>
                        #krate::BoundCondition<#data_ty>
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
        let doc = if let Some(&first) = lock.guarded.first() {
            let example = self.input.fields[first].ident;
            let list = lock
                .guarded
                .iter()
                .map(|&i| format!("`{}`", self.input.fields[i].ident))
                .collect::<Vec<_>>()
                .join(", ");
            format!(
                " The fields of [`{ident}`] that its `{lock_name}` field guards ({list}), \
                 moved here by `#[guarded]` to be that lock's data.\n\n\
                 They can be reached only while holding the lock: through its guard, \
                 `x.{lock_name}.acquire().await.{example}`, or with `&mut {ident}`, \
                 `x.{lock_name}.get_mut().{example}`. `x.{example}` does not compile."
            )
        } else {
            format!(
                " The data of [`{ident}`]'s `{lock_name}` field, which guards no field: \
                 `#[guarded]` generates it so that the conditions bound to `{lock_name}` \
                 wait only with its guard."
            )
        };
        let fields = lock.guarded.iter().map(|&i| self.moved_field(i));
        let marker = (!lock.unused.is_empty()).then(|| {
            let name = Ident::new(MARKER, Span::call_site());
            let unused = &lock.unused;
            quote!(#name: ::core::marker::PhantomData<fn() -> (#(#unused,)*)>,)
        });
        let cfgs = self.input.attrs.cfgs.iter().chain(&lock_field.attrs.cfgs);
        let derives = self
            .debug
            .iter()
            .chain(&self.default)
            .map(|path| quote!(#[derive(#path)]));
        let data_attrs = self.input.args.data.iter().map(|meta| quote!(#[#meta]));
        let data = &lock.data;
        let (generics, where_clause) = self.copied_generics();
        quote! {
            #(#cfgs)*
            #[doc = #doc]
            #(#derives)*
            #(#data_attrs)*
            #vis struct #data #generics #where_clause {
                #(#fields,)*
                #marker
            }
        }
    }

    /// `{Struct}Init`: every field as declared.
    fn init_struct(&self) -> TokenStream {
        let item = self.input.original;
        let ident = &item.ident;
        let how = match &self.new {
            Some(new) => format!("[`{ident}::{new}`] or `{ident}::from`"),
            None => format!("`{ident}::from`"),
        };
        let doc = format!(
            " Every field of [`{ident}`], by name, to build one with {how}.\n\n\
             Generated by `#[guarded]`. Each field has its declared type: a lock field \
             takes the lock as written (`Lock::new(())`, `Lock::default()`), and the fields \
             it guards move into a new lock of that kind."
        );
        let fields = (0..self.input.fields.len()).map(|i| {
            let mut field = self.moved_field(i);
            // Helper attributes of derives (`#[serde(skip)]`) belong to the
            // struct the field is in; `Init` derives nothing.
            field.attrs.retain(is_plain_attribute);
            let by = self.plan.guarded_by[i].or(self.plan.condition_of[i]);
            if let Some(lock) = by {
                let lock_cfgs = &self.input.fields[lock].attrs.cfgs;
                field.attrs.extend(lock_cfgs.iter().map(|a| (*a).clone()));
            }
            field
        });
        let cfgs = &self.input.attrs.cfgs;
        let allow = allow_list();
        let vis = &item.vis;
        let init = &self.init;
        let (generics, where_clause) = self.copied_generics();
        quote! {
            #(#cfgs)*
            #[doc = #doc]
            #allow
            #vis struct #init #generics #where_clause {
                #(#fields,)*
            }
        }
    }

    /// The hidden struct whose fields check, once each, that every lock
    /// field is a warden lock and every condition a `Condition`, reported
    /// at the written type (see the module docs).
    fn check_struct(&self) -> TokenStream {
        let krate = &self.krate;
        let fields = self.locks.iter().flat_map(|lock| {
            let field = &self.input.fields[lock.field];
            let ty = &field.original.ty;
            let name = format_ident!("lock_{}", validate::unraw(field.ident));
            let cfgs = &field.attrs.cfgs;
            let check = quote_spanned! {type_name_span(ty)=>
                ::core::marker::PhantomData<#krate::__private::Guarded<#ty, ()>>
            };
            let lock_check = quote!(#(#cfgs)* #name: #check);
            let conditions = lock.conditions.iter().map(move |&c| {
                let field = &self.input.fields[c];
                let ty = &field.original.ty;
                let name = format_ident!("condition_{}", validate::unraw(field.ident));
                let cfgs = &field.attrs.cfgs;
                let check = quote_spanned! {type_name_span(ty)=>
                    ::core::marker::PhantomData<#krate::__private::Bound<#ty, ()>>
                };
                quote!(#(#cfgs)* #name: #check)
            });
            std::iter::once(lock_check).chain(conditions)
        });
        let generics = &self.input.original.generics;
        let all: Vec<TokenStream> = generics
            .params
            .iter()
            .filter_map(|param| match param {
                GenericParam::Type(p) => Some(p.ident.to_token_stream()),
                GenericParam::Lifetime(p) => {
                    let lifetime = &p.lifetime;
                    Some(quote!(&#lifetime ()))
                }
                GenericParam::Const(_) => None,
            })
            .collect();
        let (params, where_clause) = self.copied_generics();
        quote! {
            #[allow(dead_code, non_snake_case)]
            struct __WardenCheck #params #where_clause {
                #(#fields,)*
                __warden_all_params: ::core::marker::PhantomData<fn() -> (#(#all,)*)>,
            }
        }
    }

    /// The constructor's body: `init`'s fields, each read once, into the
    /// struct (see the module docs).
    fn construct(&self) -> TokenStream {
        let krate = &self.krate;
        let init = &self.init;
        let (_, ty_generics, _) = self.input.original.generics.split_for_impl();
        let read = |name: &Ident| quote!(::core::ptr::read(&raw const (*init).#name));
        let values = self
            .input
            .fields
            .iter()
            .enumerate()
            .filter_map(|(i, field)| {
                if self.is_guarded(i) {
                    return None;
                }
                let name = field.ident;
                let cfgs = &field.attrs.cfgs;
                let value = if let Some(lock) = self.lock_of(i) {
                    let data = &lock.data;
                    let data_ty = self.data_ty(lock);
                    let ty = &field.original.ty;
                    let moved = lock.guarded.iter().map(|&g| {
                        let guarded = &self.input.fields[g];
                        let g_name = guarded.ident;
                        let g_cfgs = &guarded.attrs.cfgs;
                        let value = read(g_name);
                        quote!(#(#g_cfgs)* #g_name: #value)
                    });
                    let marker = (!lock.unused.is_empty()).then(|| {
                        let marker = Ident::new(MARKER, Span::call_site());
                        quote!(#marker: ::core::marker::PhantomData,)
                    });
                    quote! {
                        #krate::__private::wrap::<#ty, #data_ty>(#data { #(#moved,)* #marker })
                    }
                } else if let Some(lock) = self.lock_for(self.plan.condition_of[i]) {
                    let data_ty = self.data_ty(lock);
                    let ty = &field.original.ty;
                    let value = read(name);
                    quote!(#krate::__private::bind::<#ty, #data_ty>(#value))
                } else {
                    read(name)
                };
                Some(quote!(#(#cfgs)* #name: #value))
            });
        quote! {
            let init = ::core::mem::ManuallyDrop::new(init);
            let init: *const #init #ty_generics = (&raw const init).cast();
            // SAFETY: `init` is never dropped, and each of its fields is
            // read at most once (the locks' are not read: they are
            // forgotten), so every value read is moved, not copied.
            unsafe { Self { #(#values,)* } }
        }
    }

    /// The constructor (`new`, or the name `new = ...` gives) and
    /// `From<Init>`.
    fn constructors(&self) -> TokenStream {
        let item = self.input.original;
        let ident = &item.ident;
        let vis = &item.vis;
        let init = &self.init;
        let (impl_generics, ty_generics, _) = item.generics.split_for_impl();
        let where_clause = self.where_clause(None, None);
        let allow = allow_list();
        let body = self.construct();
        // `From` repeats the body rather than call the constructor by name:
        // a user's own `new` (without `new = ...`) is then one error, the
        // duplicate definition, not also an ambiguous call.
        let (new, from_body) = match &self.new {
            Some(name) => {
                let doc = format!(
                    " Builds a [`{ident}`] from every field's value, moving each \
                     `#[guarded]` field into its lock. A `const fn`: a `static` can \
                     hold a `{ident}`. Generated by `#[guarded]`."
                );
                let new = quote! {
                    #allow
                    impl #impl_generics #ident #ty_generics #where_clause {
                        #[doc = #doc]
                        #[must_use]
                        #vis const fn #name(init: #init #ty_generics) -> Self {
                            #body
                        }
                    }
                };
                (new, body)
            }
            None => (TokenStream::new(), body),
        };
        quote! {
            #new

            #allow
            impl #impl_generics ::core::convert::From<#init #ty_generics>
                for #ident #ty_generics #where_clause
            {
                fn from(init: #init #ty_generics) -> Self {
                    #from_body
                }
            }
        }
    }

    /// `#[derive(Debug)]` of the struct and of `Init`, written out: the
    /// struct's reaches lock fields through `GuardedLock` and assumes the
    /// data structs are `Debug` (their own derive reports a field that is
    /// not, once); `Init`'s assumes every field is (the struct's or a data
    /// struct's derive reports it).
    fn debug_impls(&self) -> TokenStream {
        let item = self.input.original;
        let krate = &self.krate;
        let ident = &item.ident;
        let name = validate::unraw(ident);
        let (impl_generics, ty_generics, _) = item.generics.split_for_impl();
        let debug = quote!(::core::fmt::Debug);
        let where_clause = self.where_clause(Some(&debug), Some(&debug));
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
                    None => quote_spanned!(field.original.ty.span()=> &self.#member),
                    Some(lock) => {
                        let ty = &field.original.ty;
                        let data_ty = self.data_ty(lock);
                        quote!(&#krate::__private::DebugLock::<#ty, #data_ty>(&self.#member))
                    }
                };
                Some(quote!(#(#cfgs)* debug.field(#name, #value);))
            });
        let init = &self.init;
        let init_name = validate::unraw(init);
        let init_where = self.init_where(&debug);
        let init_fields = self.input.fields.iter().map(|field| {
            let member = field.ident;
            let name = validate::unraw(member);
            let cfgs = &field.attrs.cfgs;
            quote!(#(#cfgs)* debug.field(#name, &self.#member);)
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

            #[automatically_derived]
            #allow
            impl #impl_generics ::core::fmt::Debug for #init #ty_generics #init_where {
                fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                    let mut debug = f.debug_struct(#init_name);
                    #(#init_fields)*
                    debug.finish()
                }
            }
        }
    }

    /// `#[derive(Default)]` of the struct and of `Init`, written out like
    /// `debug_impls`.
    fn default_impls(&self) -> TokenStream {
        let item = self.input.original;
        let krate = &self.krate;
        let ident = &item.ident;
        let (impl_generics, ty_generics, _) = item.generics.split_for_impl();
        let default = quote!(::core::default::Default);
        let where_clause = self.where_clause(Some(&default), Some(&default));
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
                let value = if let Some(lock) = self.lock_of(i) {
                    let ty = &field.original.ty;
                    let data_ty = self.data_ty(lock);
                    quote! {
                        <#ty as #krate::__private::GuardedLock>::default_with::<#data_ty>()
                    }
                } else if self.plan.condition_of[i].is_some() {
                    quote!(#krate::BoundCondition::new())
                } else {
                    quote_spanned!(field.original.ty.span()=> ::core::default::Default::default())
                };
                Some(quote!(#(#cfgs)* #member: #value))
            });
        let init = &self.init;
        let init_where = self.init_where(&default);
        let init_fields = self.input.fields.iter().map(|field| {
            let member = field.ident;
            let cfgs = &field.attrs.cfgs;
            quote!(#(#cfgs)* #member: ::core::default::Default::default())
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

            #[automatically_derived]
            #allow
            impl #impl_generics ::core::default::Default for #init #ty_generics #init_where {
                fn default() -> Self {
                    Self { #(#init_fields,)* }
                }
            }
        }
    }

    /// `Init`'s derive bounds: `T: bound` for each type parameter, and each
    /// unconditional field's type assumed to meet `bound` (so a field that
    /// does not is reported by the struct's impl or a data struct's derive,
    /// not a second time here).
    fn init_where(&self, bound: &TokenStream) -> WhereClause {
        let mut generics = self.input.original.generics.clone();
        let where_clause = generics.make_where_clause();
        for param in self.input.original.generics.type_params() {
            let param = &param.ident;
            where_clause.predicates.push(parse_quote!(#param: #bound));
        }
        for (i, field) in self.input.fields.iter().enumerate() {
            let guarded_by = self.plan.guarded_by[i]
                .or(self.plan.condition_of[i])
                .map(|lock| &self.input.fields[lock]);
            let conditional = !field.attrs.cfgs.is_empty()
                || guarded_by.is_some_and(|lock| !lock.attrs.cfgs.is_empty());
            if !conditional {
                let ty = self.no_self(&field.original.ty);
                where_clause
                    .predicates
                    .push(parse_quote!(for<'__warden> #ty: #bound));
            }
        }
        where_clause.clone()
    }

    /// `order = [...]`: each ordered lock's rank, on its data struct, and
    /// the whole order on the struct (see `warden::__private::LockRank`).
    fn order(&self) -> TokenStream {
        if self.plan.order.is_empty() {
            return TokenStream::new();
        }
        let krate = &self.krate;
        let item = self.input.original;
        let ident = &item.ident;
        let owner = validate::unraw(ident);
        let (impl_generics, ty_generics, where_clause) = item.generics.split_for_impl();
        let ranks: Vec<TokenStream> = self
            .plan
            .order
            .iter()
            .enumerate()
            .map(|(rank, &j)| {
                let lock = validate::unraw(self.input.fields[j].ident);
                let rank = u32::try_from(rank).unwrap_or(u32::MAX);
                quote! {
                    #krate::__private::LockRank { owner: #owner, lock: #lock, rank: #rank }
                }
            })
            .collect();
        let ranked = self.plan.order.iter().zip(&ranks).filter_map(|(&j, rank)| {
            let lock = self.lock_of(j)?;
            let data_ty = self.data_ty(lock);
            let cfgs = &self.input.fields[j].attrs.cfgs;
            Some(quote! {
                #(#cfgs)*
                impl #impl_generics #krate::__private::Ranked for #data_ty #where_clause {
                    const RANK: #krate::__private::LockRank = #rank;
                }
            })
        });
        quote! {
            #(#ranked)*

            impl #impl_generics #krate::__private::LockOrder for #ident #ty_generics #where_clause {
                const ORDER: &'static [#krate::__private::LockRank] = &[#(#ranks),*];
            }
        }
    }
}

/// One [`LockPlan`] per lock field of `input`.
fn lock_plans(
    input: &Input<'_>,
    plan: &Plan,
    krate: &TokenStream,
    self_ty: &TokenStream,
) -> Vec<LockPlan> {
    let item = input.original;
    let ident = &item.ident;
    let (_, ty_generics, _) = item.generics.split_for_impl();
    let mut locks = Vec::new();
    for (j, field) in input.fields.iter().enumerate() {
        if !plan.is_lock(j) {
            continue;
        }
        let guarded: Vec<usize> = (0..input.fields.len())
            .filter(|&i| plan.guarded_by[i] == Some(j))
            .collect();
        let conditions = (0..input.fields.len())
            .filter(|&i| plan.condition_of[i] == Some(j))
            .collect();
        let data = format_ident!(
            "{}{}",
            ident,
            upper_camel(&validate::unraw(field.ident)),
            span = field.ident.span()
        );
        let data_ty = quote!(#data #ty_generics);
        let written = &field.original.ty;
        let rewrite = if field.attrs.cfgs.is_empty() {
            rewrite_lock(written, &data_ty)
        } else {
            None // see `where_clause`: a conditional lock is not assumed
        };
        let (ty, rewritten) = match rewrite {
            // Spanned at the written type, where errors about it belong.
            Some(ty) => (respan(ty, type_name_span(written)), true),
            None => (
                quote_spanned! {type_name_span(written)=>
                    #krate::__private::Guarded<#written, #data_ty>
                },
                false,
            ),
        };
        let mut used = Uses::new(&item.generics);
        for &i in &guarded {
            used.of(&replace_self(
                input.fields[i].original.ty.to_token_stream(),
                self_ty,
            ));
        }
        locks.push(LockPlan {
            field: j,
            guarded,
            conditions,
            data,
            ty,
            rewritten,
            unused: used.unused(&item.generics),
        });
    }
    locks
}

/// A lock field's written type with the data struct filled in, if the
/// written type is a path the macro can rewrite: `Lock` / `RLock` / `RwLock` (a known
/// lock written without arguments) becomes `Lock<Data>`, and any path with
/// generic arguments has its first type argument replaced (`Lock<()>`,
/// `Mutex<()>`, `Lock<Vec<i64>>` all become `..<Data>`). Anything else (an
/// alias, a reference, ...) goes through the `Guarded` projection.
fn rewrite_lock(ty: &Type, data_ty: &TokenStream) -> Option<TokenStream> {
    let path = match ty {
        Type::Path(path) if path.qself.is_none() => path,
        Type::Group(group) => return rewrite_lock(&group.elem, data_ty),
        Type::Paren(paren) => return rewrite_lock(&paren.elem, data_ty),
        _ => return None,
    };
    let mut path = path.clone();
    let last = path.path.segments.last_mut()?;
    match &mut last.arguments {
        PathArguments::None => {
            if !KNOWN_LOCKS.contains(&last.ident.to_string().as_str()) {
                return None;
            }
            last.arguments = PathArguments::AngleBracketed(parse_quote!(<#data_ty>));
        }
        PathArguments::AngleBracketed(args) => {
            let first = args
                .args
                .iter_mut()
                .find(|arg| matches!(arg, GenericArgument::Type(_)))?;
            *first = GenericArgument::Type(Type::Verbatim(data_ty.clone()));
        }
        PathArguments::Parenthesized(_) => return None,
    }
    Some(path.into_token_stream())
}

/// Whether `attr` means the same on any struct: docs, `cfg`, lint levels
/// (and a `cfg_attr` of those). Other attributes on a field are helpers of
/// the derives of the struct it is in.
fn is_plain_attribute(attr: &Attribute) -> bool {
    fn plain(path: &Path) -> bool {
        ["doc", "cfg", "allow", "warn", "deny", "forbid", "expect"]
            .iter()
            .any(|name| path.is_ident(name))
    }
    if attr.path().is_ident("cfg_attr") {
        let Ok(metas) = attr.parse_args_with(Punctuated::<syn::Meta, Token![,]>::parse_terminated)
        else {
            return false;
        };
        return metas.iter().skip(1).all(|meta| plain(meta.path()));
    }
    plain(attr.path())
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

/// `tokens` with every `Self` replaced by `with` (the outer struct's type):
/// a field moved to another struct must keep meaning the same type.
fn replace_self(tokens: TokenStream, with: &TokenStream) -> TokenStream {
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

/// Which of a struct's type parameters and lifetimes some types surely
/// use: a type parameter named as a type path's first segment (`T`,
/// `T::Item`, `Vec<T>`, `<T as Tr>::X`), a lifetime anywhere (a `for<'a>`
/// cannot shadow the struct's `'a`: E0496). Everything else (a parameter mentioned only
/// in a macro, or not at all) goes in the data struct's `PhantomData`,
/// where it is harmless if it was used after all.
struct Uses {
    types: HashSet<String>,
    lifetimes: HashSet<String>,
    used_types: HashSet<String>,
    used_lifetimes: HashSet<String>,
}

impl Uses {
    fn new(generics: &Generics) -> Self {
        Uses {
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
        }
    }

    /// Records what `tokens` (a type) uses.
    fn of(&mut self, tokens: &TokenStream) {
        if let Ok(ty) = syn::parse2::<Type>(tokens.clone()) {
            self.visit_type(&ty);
        }
    }

    /// The parameters not used, as types for a `PhantomData<fn() -> (..)>`.
    fn unused(&self, generics: &Generics) -> Vec<TokenStream> {
        generics
            .params
            .iter()
            .filter_map(|param| match param {
                GenericParam::Type(p) if !self.used_types.contains(&p.ident.to_string()) => {
                    Some(p.ident.to_token_stream())
                }
                GenericParam::Lifetime(p)
                    if !self.used_lifetimes.contains(&p.lifetime.ident.to_string()) =>
                {
                    let lifetime = &p.lifetime;
                    Some(quote!(&#lifetime ()))
                }
                _ => None,
            })
            .collect()
    }
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
