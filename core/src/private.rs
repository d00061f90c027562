//! What the `#[guarded]` expansion names, as `::warden::__private::...`.
//!
//! Not public API: hidden from the docs and exempt from semver. Nothing here
//! is meant to be named by hand.

use crate::{Lock, RLock};
use core::fmt;

/// A lock type that `#[guarded(...)]` can give data to: the lock as written
/// in the struct (`Lock`, `Lock<()>`, `RLock`, or an alias of one), with
/// [`With<D>`](GuardedLock::With) the same lock holding `D`.
///
/// `#[guarded]` rewrites `lock: Lock` to `lock: Guarded<Lock, BankLock>`,
/// which is `Lock<BankLock>`. Any other written type fails to implement
/// this trait, and the expansion arranges for that to be reported once, at
/// the written type, with the message below: every generated impl assumes
/// `for<'__warden> L: GuardedLock` instead of requiring it, and formats or
/// defaults the lock through this trait rather than through `With<D>`'s own
/// impls (which an unknown `With<D>` would not have).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot guard fields: a `#[guarded(...)]` lock must be `Lock` or `RLock`, written without data",
    label = "named in `#[guarded(...)]`, so this must be `Lock` or `RLock`",
    note = "`#[guarded]` makes the guarded fields the lock's data: write `lock: Lock` (or `RLock`), not `Lock<T>` or another lock type"
)]
pub trait GuardedLock: Sized {
    /// This lock, holding `D`.
    type With<D>;

    /// Turns the lock as written into the same kind of lock holding `data`.
    fn wrap<D>(self, data: D) -> Self::With<D>;

    /// `Debug` of the lock holding `D`.
    fn fmt_with<D: fmt::Debug>(lock: &Self::With<D>, f: &mut fmt::Formatter<'_>) -> fmt::Result;

    /// `Default` of the lock holding `D`.
    fn default_with<D: Default>() -> Self::With<D>;
}

impl GuardedLock for Lock {
    type With<D> = Lock<D>;

    fn wrap<D>(self, data: D) -> Lock<D> {
        let () = self.into_inner();
        Lock::new(data)
    }

    fn fmt_with<D: fmt::Debug>(lock: &Lock<D>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(lock, f)
    }

    fn default_with<D: Default>() -> Lock<D> {
        Lock::default()
    }
}

impl GuardedLock for RLock {
    type With<D> = RLock<D>;

    fn wrap<D>(self, data: D) -> RLock<D> {
        let () = self.into_inner();
        RLock::new(data)
    }

    fn fmt_with<D: fmt::Debug>(lock: &RLock<D>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(lock, f)
    }

    fn default_with<D: Default>() -> RLock<D> {
        RLock::default()
    }
}

/// The type of a lock field written `L` guarding the data `D`: `Lock<D>`
/// for `L = Lock`, `RLock<D>` for `L = RLock`.
pub type Guarded<L, D> = <L as GuardedLock>::With<D>;

/// `Debug` of a lock field, through [`GuardedLock::fmt_with`].
pub struct DebugLock<'a, L: GuardedLock, D>(pub &'a L::With<D>);

impl<L: GuardedLock, D: fmt::Debug> fmt::Debug for DebugLock<'_, L, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        L::fmt_with(self.0, f)
    }
}
