//! Procedural macros of the [`warden`](https://docs.rs/warden) crate. Use
//! them through `warden`, which re-exports them: the documentation of
//! [`guarded`] is the user guide.
//!
//! The macro is a pipeline, one file a step: `attr` reads the attributes,
//! `ast` builds an IR that borrows the input (so every error can point at
//! the tokens the user wrote), `validate` checks it, `expand` writes the
//! output; `error` collects errors and turns them into `compile_error!` in
//! one place.

#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod ast;
mod attr;
mod error;
mod expand;
mod krate;
mod validate;

use proc_macro::TokenStream;

/// Makes lock-protected fields reachable only through their lock: touching
/// them without it is a compile error.
///
/// In Python, which lock protects which data is a comment and a habit: the
/// bank takes its lock in `transfer` and forgets it in `verify_accounts`,
/// and nothing complains. `#[guarded(lock)]` turns the habit into a type.
/// Each guarded field moves *inside* its lock, as that lock's data, so the
/// only way to it is through the lock's guard.
///
/// ```
/// use warden::{Lock, guarded};
///
/// #[guarded]
/// pub struct Bank {
///     pub lock: Lock,
///     #[guarded(lock)]
///     pub accounts: Vec<i64>,
///     #[guarded(lock)]
///     pub transfers: u64,
///     pub name: String, // unguarded: free to read
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let bank = Bank::new(BankInit {
///     lock: Lock::new(()),
///     accounts: vec![100, 100],
///     transfers: 0,
///     name: "savings".to_owned(),
/// });
/// let mut g = bank.lock.acquire().await; // Python: `with bank.lock:`
/// g.accounts[0] -= 10;
/// g.accounts[1] += 10;
/// g.transfers += 1;
/// drop(g);
/// println!("{}", bank.name);
/// # }
/// ```
///
/// Forgetting the lock does not compile — in any module, and even through
/// `&mut self`:
///
/// ```compile_fail,E0609
/// # use warden::{Lock, guarded};
/// # #[guarded]
/// # pub struct Bank { lock: Lock, #[guarded(lock)] accounts: Vec<i64> }
/// impl Bank {
///     async fn verify_accounts(&self) -> i64 {
///         self.accounts.iter().sum() // error[E0609]: no field `accounts` on type `&Bank`
///     }
/// }
/// ```
///
/// # The rules
///
/// * **Where it goes.** `#[guarded]` sits on a struct with named fields,
///   written *above* any `#[derive(..)]`. `#[guarded(lock)]` sits on each
///   field that `lock` protects. `lock` is another field of the same
///   struct whose type is `warden::Lock` or `warden::RLock`, written without
///   data (`Lock`, `Lock<()>`, `warden::RLock`, or an alias of one): the
///   guarded fields *are* its data.
/// * **Reaching guarded data.** Through the lock's guard
///   (`bank.lock.acquire().await.accounts`, `try_acquire`,
///   `acquire_blocking`); with `&mut` access and no locking, through
///   `bank.lock.get_mut().accounts`; by value, through
///   `bank.lock.into_inner()`. Never by name: `bank.accounts` is rustc's
///   "no field `accounts` on type `Bank`", wherever it is written.
/// * **Several locks.** Each lock guards its own fields; the guard of one
///   gives no access to another's. A lock field that guards nothing stays a
///   plain `Lock<()>`.
/// * **`RLock`.** Fields guarded by an `RLock` are shared-only, as
///   `RLockGuard` is `Deref` but not `DerefMut`: mutate them through
///   interior mutability (an atomic, a `std::sync::Mutex`). Since a
///   re-entrant guard may cross tasks, `RLockGuard` is `Send` only when the
///   data is `Sync`.
/// * **`Condition`.** Nothing to do: `cond.wait(guard).await` takes the
///   guard of a guarded lock and gives it back, and the moved-from guard
///   cannot be touched again.
/// * **Building one.** Guarded fields are no longer fields of the struct,
///   so a struct literal cannot name them. Build it from the generated
///   `{Struct}Init`, which has every declared field with its declared type
///   and visibility: `Bank::new(BankInit { .. })`, or `Bank::from(init)`.
/// * **Fields keep what they had.** A moved field keeps its visibility,
///   docs and other attributes; `#[cfg]` on any field (guarded, lock or
///   plain) works as on the struct as written.
/// * **Derives.** `#[derive(Debug, Default)]` on the struct works as
///   written and is also applied to the generated structs (every
///   `#[derive]` on the struct is). `Debug` never blocks: a held lock prints
///   `<locked>`. Other attributes (`#[repr]`, docs, ...) stay on the struct.
/// * **Generics.** A generic struct works as written. Each data struct
///   declares the generic parameters its fields use (with the bounds among
///   them), as you would by hand: a parameter it does not use would be
///   error E0392.
/// * **Zero cost.** The result is exactly the hand-written form:
///   `size_of::<Bank>()` is that of the struct with `lock: Lock<BankLock>`,
///   and access compiles to the same code.
///
/// # What it generates
///
/// For
///
/// ```
/// # use warden::{Lock, guarded};
/// #[guarded]
/// #[derive(Debug)]
/// pub struct Counter {
///     pub lock: Lock,
///     #[guarded(lock)]
///     count: u64,
///     pub label: &'static str,
/// }
/// # let c = Counter::new(CounterInit { lock: Lock::new(()), count: 1, label: "x" });
/// # assert_eq!((c.lock.into_inner().count, c.label), (1, "x"));
/// ```
///
/// the macro writes what you would have written by hand (the lock field's
/// type is spelled `warden::__private::Guarded<Lock, CounterLock>`, which
/// is `Lock<CounterLock>`; the impls sit in a `const _: () = { .. };`):
///
/// ```
/// use warden::Lock;
///
/// pub struct Counter {
///     pub lock: Lock<CounterLock>,
///     pub label: &'static str,
/// }
///
/// /// The fields of `Counter` that its `lock` field guards.
/// #[derive(Debug)]
/// pub struct CounterLock {
///     count: u64,
/// }
///
/// /// Every field of `Counter`, by name, for `Counter::new`.
/// #[derive(Debug)]
/// pub struct CounterInit {
///     pub lock: Lock,
///     count: u64,
///     pub label: &'static str,
/// }
///
/// impl Counter {
///     /// Builds a `Counter`, moving each `#[guarded]` field into its lock.
///     pub fn new(init: CounterInit) -> Self {
///         let () = init.lock.into_inner();
///         Self {
///             lock: Lock::new(CounterLock { count: init.count }),
///             label: init.label,
///         }
///     }
/// }
///
/// impl From<CounterInit> for Counter {
///     fn from(init: CounterInit) -> Self {
///         Self::new(init)
///     }
/// }
///
/// impl std::fmt::Debug for Counter {
///     // The derived `Debug`, reaching the lock through warden's hidden
///     // trait so that a mistyped lock reports one error, not four.
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
///         f.debug_struct("Counter")
///             .field("lock", &self.lock)
///             .field("label", &self.label)
///             .finish()
///     }
/// }
/// # let c = Counter::from(CounterInit { lock: Lock::new(()), count: 1, label: "x" });
/// # assert_eq!((c.lock.into_inner().count, c.label), (1, "x"));
/// ```
///
/// The generated names are `{Struct}{LockField}` in `UpperCamelCase`
/// (`lock` → `CounterLock`, `state_lock` → `CounterStateLock`) and
/// `{Struct}Init`, with the struct's visibility; `new` is generated too,
/// so name your own constructors differently.
///
/// # Errors
///
/// Each misuse is reported at the token at fault, and the macro still
/// expands as best it can, so one mistake gives one error.
///
/// | You wrote | The error says | Fix |
/// |---|---|---|
/// | `bank.accounts` (no lock) | no field `accounts` on type `Bank` | `bank.lock.acquire().await.accounts`, or `bank.lock.get_mut().accounts` with `&mut` |
/// | `self.accounts` in `&mut self` | no field `accounts` on type `&mut Bank` | `self.lock.get_mut().accounts` |
/// | `Bank { lock, accounts, .. }` (a literal) | struct `Bank` has no field named `accounts` | `Bank::new(BankInit { .. })` |
/// | `audit_guard.accounts` | no field `accounts` on type `RLockGuard<'_, BankAudit>` | take the lock that guards `accounts` |
/// | `audit_guard.log.push(..)` (`RLock`) | cannot borrow data in dereference of `RLockGuard` as mutable | interior mutability, or a `Lock` |
/// | the guard after `cond.wait(guard)` | borrow of moved value: `guard` | `guard = cond.wait(guard).await` |
/// | `#[guarded(lokc)]` | no field `lokc` in `Bank` to guard `accounts`: did you mean `lock`? | name an existing lock field |
/// | `#[guarded(lock)]` with `lock: Mutex<()>` or `Lock<T>` | `Mutex<()>` cannot guard fields: a `#[guarded(...)]` lock must be `Lock` or `RLock`, written without data | `lock: Lock` |
/// | two `#[guarded(..)]` on one field, or `#[guarded(a, b)]` | a field is guarded by exactly one lock | keep one |
/// | `#[guarded(accounts)]` on `accounts` | `accounts` cannot guard itself | name the lock field |
/// | `#[guarded(accounts)]` where `accounts` is guarded | `accounts` is itself guarded by `lock`, so it is data, not a lock | `#[guarded(lock)]` |
/// | `#[guarded]`, `#[guarded()]`, `#[guarded("lock")]`, `#[guarded = ..]` on a field | what to write instead | `#[guarded(lock)]` |
/// | `#[guarded(lock)]` on the struct | `#[guarded]` on a struct takes no arguments | `#[guarded]` |
/// | `#[guarded]` on a tuple struct, unit struct, enum, union, or non-struct | `#[guarded]` needs named fields / works on structs | guard the whole value from a struct: `#[guarded(lock)] value: State` |
/// | `#[guarded]` with no `#[guarded(..)]` field | no field says which lock guards it | mark the fields, or remove `#[guarded]` |
/// | `#[guarded]` twice on the struct | duplicate `#[guarded]` | once |
/// | `#[guarded(lock)]` on a field of a struct without `#[guarded]` | expected non-macro attribute, found attribute macro `guarded` | add `#[guarded]` above the struct |
/// | `#[derive(Debug)]` *above* `#[guarded]` | no field `accounts` on type `&Bank`, at the field | write `#[guarded]` first: a derive above it runs first, on the struct as written |
#[proc_macro_attribute]
pub fn guarded(args: TokenStream, input: TokenStream) -> TokenStream {
    expand::guarded(args.into(), input.into()).into()
}
