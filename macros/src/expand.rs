//! Step 4: the expansion. Renders the [`Plan`] of a checked [`Input`]: the
//! rewritten struct, one data struct per lock, the `Init` struct, the
//! constructor and `From`, the struct's own `Debug`/`Default`, and the
//! hidden items that check the lock types and record the lock order.
//! Generated code names warden only through the crate path of
//! [`krate`](crate::krate).
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

use crate::ast::{Field, Input};
use crate::attr::{self, Constructor};
use crate::error::Errors;
use crate::fallback;
use crate::generics::{self, replace_self, respan};
use crate::krate;
use crate::names::{self, unraw};
use crate::validate::{self, KNOWN_LOCKS, LockPlan, Plan};
use proc_macro2::{Ident, Span, TokenStream};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{GenericArgument, Item, PathArguments, Type, WhereClause, parse_quote};

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
            Expansion::new(&input, &plan).into_tokens()
        }
        Err(error) => {
            errors.push(error);
            fallback::expand(item)
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

/// What a field that stays in the struct is, for the items written field
/// by field.
#[derive(Clone, Copy)]
enum Role<'p> {
    /// A lock field.
    Lock(&'p LockPlan),
    /// A `#[condition(..)]` field, bound to this lock.
    Condition(&'p LockPlan),
    /// Any other field that is not guarded.
    Plain,
}

/// The plan, and what every rendered item names.
struct Expansion<'a> {
    input: &'a Input<'a>,
    plan: &'a Plan,
    /// `::warden`, or what `crate = ...` / the manifest says.
    krate: TokenStream,
    /// `Bank<'a, K, V>`: what `Self` means in a field's type.
    self_ty: TokenStream,
    /// `BankInit`.
    init: Ident,
    /// The constructor's name, if any.
    new: Option<Ident>,
}

/// The name of the `PhantomData` field of a data struct whose fields do not
/// use every generic parameter of the struct.
const MARKER: &str = "__warden_unused_params";

impl<'a> Expansion<'a> {
    fn new(input: &'a Input<'a>, plan: &'a Plan) -> Self {
        let item = input.original;
        let ident = &item.ident;
        let (_, ty_generics, _) = item.generics.split_for_impl();
        Expansion {
            input,
            plan,
            krate: krate::path(input.args.krate.as_ref()),
            self_ty: quote!(#ident #ty_generics),
            init: names::init_struct(ident),
            new: match &input.args.new {
                Constructor::Default => Some(Ident::new("new", Span::call_site())),
                Constructor::Named(name) => Some(name.clone()),
                Constructor::None => None,
            },
        }
    }

    /// The fields that stay in the struct (every field but the guarded
    /// ones), each with its role: the loop of every item written field by
    /// field.
    fn kept_fields(&self) -> impl Iterator<Item = (&'a Field<'a>, Role<'a>)> {
        let (input, plan) = (self.input, self.plan);
        input
            .fields
            .iter()
            .enumerate()
            .filter_map(move |(i, field)| {
                if plan.guarded_by[i].is_some() {
                    return None;
                }
                let role = if let Some(lock) = plan.lock(i) {
                    Role::Lock(lock)
                } else if let Some(lock) = plan.condition_of[i].and_then(|j| plan.lock(j)) {
                    Role::Condition(lock)
                } else {
                    Role::Plain
                };
                Some((field, role))
            })
    }

    /// `BankLock<'a, K>`, as a type.
    fn data_ty(&self, lock: &LockPlan) -> TokenStream {
        let data = &lock.data;
        let (_, ty_generics, _) = self.input.original.generics.split_for_impl();
        quote!(#data #ty_generics)
    }

    /// The lock field's type in the struct: the written path with the data
    /// struct as its argument, or `Guarded<L, Data>` (see the module docs);
    /// and whether it is the rewritten path (so impls assume `With<Data>`
    /// is it).
    fn lock_ty(&self, lock: &LockPlan) -> (TokenStream, bool) {
        let field = &self.input.fields[lock.field];
        let written = &field.original.ty;
        let data_ty = self.data_ty(lock);
        let rewrite = if field.attrs.cfgs.is_empty() {
            rewrite_lock(written, &data_ty)
        } else {
            None // see `where_clause`: a conditional lock is not assumed
        };
        // Spanned at the written type, where errors about it belong.
        let span = type_name_span(written);
        if let Some(ty) = rewrite {
            (respan(ty, span), true)
        } else {
            let krate = &self.krate;
            (
                quote_spanned!(span=> #krate::__private::Guarded<#written, #data_ty>),
                false,
            )
        }
    }

    /// `tokens` with `Self` spelled out as the struct's type.
    fn no_self(&self, tokens: impl ToTokens) -> TokenStream {
        replace_self(tokens.to_token_stream(), &self.self_ty)
    }

    /// The field as written, with only the attributes that move with it.
    fn as_written(field: &Field<'_>) -> syn::Field {
        let mut out = field.original.clone();
        out.attrs = field.attrs.kept.iter().map(|a| (*a).clone()).collect();
        out
    }

    /// The field as written, for another struct: with only the attributes
    /// that move with it and `Self` spelled out in its type.
    fn moved_field(&self, field: usize) -> syn::Field {
        let field = &self.input.fields[field];
        let mut out = Self::as_written(field);
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
        for lock in &self.plan.locks {
            let field = &self.input.fields[lock.field];
            if !field.attrs.cfgs.is_empty() {
                continue; // its types may not exist: see `new`'s body
            }
            let ty = &field.original.ty;
            let data_ty = self.data_ty(lock);
            let (field_ty, rewritten) = self.lock_ty(lock);
            where_clause.predicates.push(if rewritten {
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
        let data = self.plan.locks.iter().map(|lock| self.data_struct(lock));
        let init = self.init_struct();
        let check = self.check_struct();
        let constructors = self.constructors();
        let attrs = &self.input.attrs;
        let debug = attrs.debug.as_ref().map(|_| self.debug_impls());
        let default = attrs.default.as_ref().map(|_| self.default_impls());
        let order = self.order();
        let cfgs = &attrs.cfgs;
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
        let fields = self.kept_fields().map(|(field, role)| {
            let mut out = Self::as_written(field);
            match role {
                Role::Lock(lock) => out.ty = Type::Verbatim(self.lock_ty(lock).0),
                Role::Condition(lock) => {
                    let data_ty = self.data_ty(lock);
                    let span = type_name_span(&field.original.ty);
                    out.ty = Type::Verbatim(quote_spanned! {span=>
                        #krate::BoundCondition<#data_ty>
                    });
                }
                Role::Plain => {}
            }
            out
        });
        let attrs = item
            .attrs
            .iter()
            .filter(|a| !attr::is_guarded(a) && !a.path().is_ident("derive"));
        let derives = &self.input.attrs.derives;
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
        let attrs = &self.input.attrs;
        let derives = (attrs.debug.iter())
            .chain(&attrs.default)
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
            field.attrs.retain(attr::is_plain);
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
        let fields = self.plan.locks.iter().flat_map(|lock| {
            let field = &self.input.fields[lock.field];
            let ty = &field.original.ty;
            let name = format_ident!("lock_{}", unraw(field.ident));
            let cfgs = &field.attrs.cfgs;
            let check = quote_spanned! {type_name_span(ty)=>
                ::core::marker::PhantomData<#krate::__private::Guarded<#ty, ()>>
            };
            let lock_check = quote!(#(#cfgs)* #name: #check);
            let conditions = lock.conditions.iter().map(move |&c| {
                let field = &self.input.fields[c];
                let ty = &field.original.ty;
                let name = format_ident!("condition_{}", unraw(field.ident));
                let cfgs = &field.attrs.cfgs;
                let check = quote_spanned! {type_name_span(ty)=>
                    ::core::marker::PhantomData<#krate::__private::Bound<#ty, ()>>
                };
                quote!(#(#cfgs)* #name: #check)
            });
            std::iter::once(lock_check).chain(conditions)
        });
        let all = generics::as_types(&self.input.original.generics, |_| true);
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
        let values = self.kept_fields().map(|(field, role)| {
            let name = field.ident;
            let cfgs = &field.attrs.cfgs;
            let ty = &field.original.ty;
            let value = match role {
                Role::Lock(lock) => {
                    let data = &lock.data;
                    let data_ty = self.data_ty(lock);
                    let (name, rank) = self.lock_name(lock);
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
                        #krate::__private::wrap::<#ty, #data_ty>(
                            #data { #(#moved,)* #marker },
                            #name,
                            #rank,
                        )
                    }
                }
                Role::Condition(lock) => {
                    let data_ty = self.data_ty(lock);
                    let value = read(name);
                    quote!(#krate::__private::bind::<#ty, #data_ty>(#value))
                }
                Role::Plain => read(name),
            };
            quote!(#(#cfgs)* #name: #value)
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

    /// A derive of the struct and of `Init`, written out (`Debug`,
    /// `Default`): `trait_path` implemented for both, with the items
    /// `body` for the struct and `init_body` for `Init`. The struct's impl
    /// assumes the data structs implement the trait (their own derive
    /// reports a field that does not, once); `Init`'s assumes every field
    /// does (the struct's or a data struct's derive reports it).
    fn derived(
        &self,
        trait_path: &TokenStream,
        body: &TokenStream,
        init_body: &TokenStream,
    ) -> TokenStream {
        let item = self.input.original;
        let ident = &item.ident;
        let (impl_generics, ty_generics, _) = item.generics.split_for_impl();
        let where_clause = self.where_clause(Some(trait_path), Some(trait_path));
        let init = &self.init;
        let init_where = self.init_where(trait_path);
        let allow = allow_list();
        quote! {
            #[automatically_derived]
            #allow
            impl #impl_generics #trait_path for #ident #ty_generics #where_clause {
                #body
            }

            #[automatically_derived]
            #allow
            impl #impl_generics #trait_path for #init #ty_generics #init_where {
                #init_body
            }
        }
    }

    /// `#[derive(Debug)]` of the struct and of `Init`, written out: the
    /// struct's reaches lock fields through `GuardedLock`.
    fn debug_impls(&self) -> TokenStream {
        let krate = &self.krate;
        let fmt = |name: String, fields: Vec<TokenStream>| {
            quote! {
                fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                    let mut debug = f.debug_struct(#name);
                    #(#fields)*
                    debug.finish()
                }
            }
        };
        let field = |field: &Field<'_>, value: TokenStream| {
            let name = unraw(field.ident);
            let cfgs = &field.attrs.cfgs;
            quote!(#(#cfgs)* debug.field(#name, #value);)
        };
        let fields = self.kept_fields().map(|(f, role)| {
            let member = f.ident;
            let value = match role {
                Role::Lock(lock) => {
                    let ty = &f.original.ty;
                    let data_ty = self.data_ty(lock);
                    quote!(&#krate::__private::DebugLock::<#ty, #data_ty>(&self.#member))
                }
                Role::Condition(_) | Role::Plain => {
                    quote_spanned!(f.original.ty.span()=> &self.#member)
                }
            };
            field(f, value)
        });
        let init_fields = self.input.fields.iter().map(|f| {
            let member = f.ident;
            field(f, quote!(&self.#member))
        });
        self.derived(
            &quote!(::core::fmt::Debug),
            &fmt(unraw(&self.input.original.ident), fields.collect()),
            &fmt(unraw(&self.init), init_fields.collect()),
        )
    }

    /// `#[derive(Default)]` of the struct and of `Init`, written out like
    /// `debug_impls`.
    fn default_impls(&self) -> TokenStream {
        let krate = &self.krate;
        let default = |fields: Vec<TokenStream>| {
            quote! {
                fn default() -> Self {
                    Self { #(#fields,)* }
                }
            }
        };
        let field = |field: &Field<'_>, value: TokenStream| {
            let member = field.ident;
            let cfgs = &field.attrs.cfgs;
            quote!(#(#cfgs)* #member: #value)
        };
        let fields = self.kept_fields().map(|(f, role)| {
            let value = match role {
                Role::Lock(lock) => {
                    let ty = &f.original.ty;
                    let data_ty = self.data_ty(lock);
                    quote! {
                        <#ty as #krate::__private::GuardedLock>::default_with::<#data_ty>()
                    }
                }
                Role::Condition(_) => quote!(#krate::BoundCondition::new()),
                Role::Plain => {
                    quote_spanned!(f.original.ty.span()=> ::core::default::Default::default())
                }
            };
            field(f, value)
        });
        let init_fields = (self.input.fields.iter())
            .map(|f| field(f, quote!(::core::default::Default::default())));
        self.derived(
            &quote!(::core::default::Default),
            &default(fields.collect()),
            &default(init_fields.collect()),
        )
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

    /// What `wrap` is told about a lock field: its name for warden's
    /// reports (`"Bank.lock"`), and its rank if `order = [...]` names it.
    fn lock_name(&self, lock: &LockPlan) -> (String, TokenStream) {
        let krate = &self.krate;
        let owner = unraw(&self.input.original.ident);
        let field = unraw(self.input.fields[lock.field].ident);
        let rank = if let Some(rank) = self.plan.order.iter().position(|&j| j == lock.field) {
            let rank = u32::try_from(rank).unwrap_or(u32::MAX);
            quote! {
                ::core::option::Option::Some(&#krate::__private::LockRank {
                    owner: #owner,
                    lock: #field,
                    rank: #rank,
                })
            }
        } else {
            quote!(::core::option::Option::None)
        };
        (format!("{owner}.{field}"), rank)
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
        let owner = unraw(ident);
        let (impl_generics, ty_generics, where_clause) = item.generics.split_for_impl();
        let ranks: Vec<TokenStream> = self
            .plan
            .order
            .iter()
            .enumerate()
            .map(|(rank, &j)| {
                let lock = unraw(self.input.fields[j].ident);
                let rank = u32::try_from(rank).unwrap_or(u32::MAX);
                quote! {
                    #krate::__private::LockRank { owner: #owner, lock: #lock, rank: #rank }
                }
            })
            .collect();
        let ranked = self.plan.order.iter().zip(&ranks).filter_map(|(&j, rank)| {
            let lock = self.plan.lock(j)?;
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
