//! Procedural macros of the [`warden-sync`](https://docs.rs/warden-sync)
//! crate (library `warden`). Use them through `warden`, which re-exports
//! them: the documentation of [`guarded`] is the user guide.
//!
//! The macro is a pipeline, one file a step: `attr` reads the attributes,
//! `ast` builds an IR that borrows the input (so every error can point at
//! the tokens the user wrote), `validate` checks it and plans the output
//! (each lock, what it guards, its data struct's name and generics),
//! `expand` renders the plan (naming warden by the path `krate` finds), and
//! `fallback` stands in for an item that cannot be expanded; `error`
//! collects errors and turns them into `compile_error!` in one place.
//! `generics` and `names` are their helpers: the generated structs'
//! parameters, `Self` in a moved field, and the generated names.

#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod ast;
mod attr;
mod error;
mod expand;
mod fallback;
mod generics;
mod krate;
mod names;
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
/// use warden::{Condition, Lock, guarded};
///
/// #[guarded]
/// pub struct Bank {
///     pub lock: Lock,
///     #[guarded(lock)]
///     pub accounts: Vec<i64>,
///     #[guarded(lock)]
///     pub transfers: u64,
///     #[condition(lock)] // waits only with `lock`'s guard
///     pub changed: Condition,
///     pub name: String, // unguarded: free to read
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let bank = Bank::new(BankInit {
///     lock: Lock::new(()),
///     accounts: vec![100, 100],
///     transfers: 0,
///     changed: Condition::new(),
///     name: "savings".to_owned(),
/// });
/// let mut g = bank.lock.acquire().await; // Python: `with bank.lock:`
/// g.accounts[0] -= 10;
/// g.accounts[1] += 10;
/// g.transfers += 1;
/// drop(g);
/// bank.changed.notify_all();
/// let g = bank.changed.wait_for(bank.lock.acquire().await, |b| b.transfers > 0).await;
/// assert_eq!(g.accounts, [90, 110]);
/// # drop(g);
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
///   struct whose type is `warden::Lock`, `warden::RLock` or
///   `warden::RwLock`, written without data (`Lock`, `Lock<()>`,
///   `warden::RLock`, `RwLock`, or an alias of one): the
///   guarded fields *are* its data.
/// * **Reaching guarded data.** Through the lock's guard
///   (`bank.lock.acquire().await.accounts`, `try_acquire`,
///   `acquire_blocking`); with `&mut` access and no locking, through
///   `bank.lock.get_mut().accounts`; by value, through
///   `bank.lock.into_inner()`. Never by name: `bank.accounts` is rustc's
///   "no field `accounts` on type `Bank`", wherever it is written.
/// * **Several locks.** Each lock guards its own fields; the guard of one
///   gives no access to another's. A lock field that no attribute names
///   stays a plain `Lock<()>`.
/// * **Conditions.** `#[condition(lock)] changed: Condition` binds a
///   condition to `lock`: the field becomes a
///   [`BoundCondition<BankLock>`](../warden/struct.BoundCondition.html),
///   with every wait of `Condition`, which takes only `lock`'s guard —
///   the guard of another lock (of this struct, another struct, a plain
///   `Lock<T>`) is a compile error at the argument. The same field of
///   *another instance* has the same type, so that case stays `Condition`'s
///   run-time check. (`#[guarded(lock)]` on a condition would move it into
///   the lock's data, where `changed.wait(guard)` could not borrow it.) A
///   plain `changed: Condition` works too, with any lock's guard.
/// * **`RLock`.** An `RLockGuard` gives `&` only (its owner may hold several
///   guards at once), so a field guarded by an `RLock` is read through the
///   guard, written through `&mut self` (`audit.get_mut().log.push(..)`),
///   or written through the guard if it has interior mutability (an
///   atomic; a `Cell` or `RefCell`, whose guard is then not `Send`; a
///   `std::sync::Mutex`, which is not re-entrant). Since a re-entrant guard
///   may cross tasks, `RLockGuard` is `Send` only when the data is `Sync`.
///   A `Condition` cannot be bound to an `RLock`.
/// * **`RwLock`.** A field guarded by an `RwLock` is read through its read
///   guard (`state.read().await.field`: `&`, shared with other readers)
///   and written through its write guard (`state.write().await.field = ..`:
///   `&mut`); writing through a read guard does not compile. A `Condition`
///   cannot be bound to an `RwLock` either: `wait` takes a `Lock`'s guard.
/// * **Building one.** Guarded fields are no longer fields of the struct,
///   so a struct literal cannot name them. Build it from the generated
///   `{Struct}Init`, which has every declared field with its declared type
///   and visibility: `Bank::new(BankInit { .. })`, or `Bank::from(init)`.
///   `new` is a `const fn`, so a `static` can hold the struct.
/// * **Fields keep what they had.** A moved field keeps its visibility,
///   docs and other attributes; `#[cfg]` on any field works as on the
///   struct as written. A `#[cfg]` on a lock field must be repeated on each
///   field it guards (and each condition bound to it), so it cannot remove
///   them silently.
/// * **Derives.** `#[derive(Debug, Default)]` on the struct works as
///   written and also applies to the generated structs; `Debug` never
///   blocks: a held lock prints `<locked>`. Other derives stay on the
///   struct (where `Clone` fails, as a lock is not `Clone`); for the data
///   structs, use `data(derive(..))` below.
/// * **Generics.** Each data struct has exactly the struct's generic
///   parameters, bounds and where-clause: `Pair<A, B>`'s `lock` holds a
///   `PairLock<A, B>`. A parameter its fields do not name sits in a
///   zero-sized `__warden_unused_params: PhantomData<fn() -> B>` field (it
///   changes neither `Send`, `Sync` nor drop-check).
/// * **Zero cost.** The result is exactly the hand-written form:
///   `size_of::<Bank>()` is that of the struct with `lock: Lock<BankLock>`
///   (a bound condition is a `Condition`), and access compiles to the same
///   code.
///
/// # Arguments of `#[guarded(...)]` on the struct
///
/// All optional, in any order:
///
/// * `crate = path` — where warden is. By default `::warden`, or the key
///   your `Cargo.toml` renames `warden-sync` to (`wd = { package =
///   "warden-sync", .. }` gives `::wd`); give the path for a facade crate
///   that re-exports warden (`crate = my_facade::warden`).
/// * `new = name` / `new = none` — the constructor's name, or none (then
///   build with `Bank::from(init)`), so your own `fn new` can exist.
/// * `order = [lock, audit]` — the order in which the struct's locks must
///   be taken. Recorded for a run-time lock-order checker (each lock's data
///   struct carries its name and rank); not checked at compile time, which
///   would take a token passed through every call.
/// * `data(derive(Clone, PartialEq, serde::Serialize), serde(..))` —
///   derives and attributes for the generated data structs only: then
///   `(*guard).clone()` is a snapshot and `serde_json::to_string(&*guard)`
///   works.
///
/// ```
/// use warden::{Lock, guarded};
///
/// #[guarded(new = open, data(derive(Clone, PartialEq, Debug)))]
/// pub struct Account {
///     lock: Lock,
///     #[guarded(lock)]
///     balance: i64,
/// }
///
/// static ACCOUNT: Account = Account::open(AccountInit { lock: Lock::new(()), balance: 5 });
///
/// let snapshot = ACCOUNT.lock.try_acquire().unwrap().clone();
/// assert_eq!(snapshot, AccountLock { balance: 5 });
/// ```
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
/// the macro writes what you would have written by hand (the impls sit in
/// a `const _: () = { .. };`, next to a hidden struct that checks, once,
/// that `lock`'s written type is a warden lock):
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
/// pub struct CounterInit {
///     pub lock: Lock,
///     count: u64,
///     pub label: &'static str,
/// }
///
/// impl Counter {
///     /// Builds a `Counter`, moving each `#[guarded]` field into its lock.
///     pub fn new(init: CounterInit) -> Self {
///         let () = init.lock.into_inner(); // a fresh lock: nothing in it
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
///     // trait so that a mistyped lock reports one error, not several.
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
///         f.debug_struct("Counter")
///             .field("lock", &self.lock)
///             .field("label", &self.label)
///             .finish()
///     }
/// }
/// // ... and `Debug` for `CounterInit`, written out the same way.
/// # let c = Counter::from(CounterInit { lock: Lock::new(()), count: 1, label: "x" });
/// # assert_eq!((c.lock.into_inner().count, c.label), (1, "x"));
/// ```
///
/// One difference: the generated `new` is a `const fn`. Stable Rust cannot
/// move fields out of a by-value struct with drop glue in a `const fn`
/// (error E0493; `CounterInit` holds a `Lock`), so the generated body wraps
/// `init` in `ManuallyDrop` and reads each field once with `ptr::read`,
/// leaving the lock values of `init` unread (a lock that was never waited
/// on owns no memory).
/// That `unsafe` is in code `#[guarded]` writes, not yours: a crate with
/// `#![forbid(unsafe_code)]` compiles.
///
/// The generated names are `{Struct}{LockField}` in `UpperCamelCase`
/// (`lock` → `CounterLock`, `state_lock` → `CounterStateLock`) and
/// `{Struct}Init`, with the struct's visibility.
///
/// # Errors
///
/// Each misuse is reported at the token at fault, once, and the macro
/// still expands as best it can, so one mistake gives one error.
///
/// | You wrote | The error says | Fix |
/// |---|---|---|
/// | `bank.accounts` (no lock) | no field `accounts` on type `Bank` | `bank.lock.acquire().await.accounts`, or `bank.lock.get_mut().accounts` with `&mut` |
/// | `self.accounts` in `&mut self` | no field `accounts` on type `&mut Bank` | `self.lock.get_mut().accounts` |
/// | `Bank { lock, accounts, .. }` (a literal) | struct `Bank` has no field named `accounts` | `Bank::new(BankInit { .. })` |
/// | `audit_guard.accounts` | no field `accounts` on type `RLockGuard<'_, BankAudit>` | take the lock that guards `accounts` |
/// | `audit_guard.log.push(..)` (`RLock`) | cannot borrow data in dereference of `RLockGuard` as mutable | `get_mut()` with `&mut self`, interior mutability, or a `Lock` |
/// | `read_guard.hits += 1` (`RwLock`) | cannot assign to data in dereference of `RwLockReadGuard` | take `state.write().await` |
/// | the guard after `cond.wait(guard)` | borrow of moved value: `guard` | `guard = cond.wait(guard).await` |
/// | `bank.changed.wait(audit_guard)` (`#[condition(lock)]`) | mismatched types: expected `LockGuard<'_, BankLock>` | pass `lock`'s guard |
/// | `#[guarded(lokc)]`, `#[condition(lokc)]`, `order = [lokc]` | no field `lokc` in `Bank` ...: did you mean `lock`? | name an existing lock field |
/// | `#[guarded(lock)]` with `lock: Mutex<()>` or `Lock<T>` | `Mutex<()>` cannot guard fields: a `#[guarded(...)]` lock must be `Lock`, `RLock` or `RwLock`, written without data | `lock: Lock` |
/// | `#[condition(lock)] changed: Notify` | `Notify` cannot be a `#[condition(...)]` field | `changed: Condition` |
/// | `#[condition(audit)]` with `audit: RLock` (or `RwLock`) | `audit` is an `RLock`, and a `Condition` waits with the guard of a `Lock` | bind it to a `Lock` |
/// | two `#[guarded(..)]` on one field, or `#[guarded(a, b)]` | a field is guarded by exactly one lock | keep one |
/// | `#[guarded(lock)]` and `#[condition(lock)]` on one field | cannot be both guarded data and a condition | keep `#[condition(lock)]` |
/// | `#[guarded(accounts)]` on `accounts` | `accounts` cannot guard itself | name the lock field |
/// | `#[guarded(accounts)]` where `accounts` is guarded, or a condition | it is data (a condition), not a lock | `#[guarded(lock)]` |
/// | `#[cfg(..)]` on a lock but not on a field it guards | would also remove `accounts` ... write the same `#[cfg(..)]` on it | repeat the `#[cfg]` |
/// | `#[guarded]`, `#[guarded()]`, `#[guarded("lock")]`, `#[guarded = ..]` on a field | what to write instead | `#[guarded(lock)]` |
/// | `#[guarded(lock)]` on the struct, or an argument twice | unknown argument `lock`: `#[guarded]` on a struct takes ... | `#[guarded]`, and `#[guarded(lock)]` on the fields |
/// | `order = [accounts]` | `accounts` is not a lock of `Bank` | list lock fields |
/// | your own `fn new` | duplicate definitions with name `new` | `#[guarded(new = create)]` or `new = none` |
/// | `#[derive(Clone)]` on the struct | the trait bound `Lock<BankLock>: Clone` is not satisfied | `#[guarded(data(derive(Clone)))]` |
/// | `#[guarded]` on a tuple struct, unit struct, enum, union, or non-struct | `#[guarded]` needs named fields / works on structs | guard the whole value from a struct: `#[guarded(lock)] value: State` |
/// | `#[guarded]` with no `#[guarded(..)]` field | no field says which lock guards it | mark the fields, or remove `#[guarded]` |
/// | `#[guarded]` twice on the struct | duplicate `#[guarded]` | once |
/// | `#[guarded(lock)]` on a field of a struct without `#[guarded]` | expected non-macro attribute, found attribute macro `guarded` | add `#[guarded]` above the struct |
/// | `#[derive(Debug)]` *above* `#[guarded]` | no field `accounts` on type `&Bank`, at the field (and rustc suggests adding the derive it already has) | write `#[guarded]` first: a derive above it runs first, on the struct as written |
#[proc_macro_attribute]
pub fn guarded(args: TokenStream, input: TokenStream) -> TokenStream {
    expand::guarded(args.into(), input.into()).into()
}
