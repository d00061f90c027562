//! What the `#[guarded]` expansion names, as `::warden::__private::...`.
//!
//! Not public API: hidden from the docs and exempt from semver. Nothing here
//! is meant to be named by hand.
//!
//! # Supporting another lock type
//!
//! A lock type `X` (written `X` or `X<()>` in a struct) becomes usable with
//! `#[guarded(x)]` with, in this file only:
//!
//! 1. `impl Sealed for X {}` and `impl GuardedLock for X` (its
//!    `With<D> = X<D>`, `KIND`, `fmt_with`, `default_with`);
//! 2. a [`LockKind`] variant for it and its arm in [`wrap`] (`X::new(data)`);
//! 3. its name in the macro's `KNOWN_LOCKS` (`macros/src/validate.rs`), so
//!    `x: X` is rewritten to `x: X<Data>` without going through the
//!    projection (which reports a wrong lock type once per use);
//!
//! plus the tests: the unit test below (`kinds_match_types`) and a pass test
//! using the new lock's guards.

use crate::{BoundCondition, Condition, Lock, RLock, RwLock};
use core::fmt;
use core::mem::ManuallyDrop;

mod sealed {
    /// Seals [`GuardedLock`](super::GuardedLock) and
    /// [`BindCondition`](super::BindCondition): only warden implements them,
    /// so no other type can pose as a lock and hand out guarded data.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` is not one of warden's locks: `#[guarded]`'s traits are sealed",
        label = "only warden implements this",
        note = "a `#[guarded(...)]` lock is a warden `Lock`, `RLock` or `RwLock`; a `#[condition(...)]` field is a warden `Condition`"
    )]
    pub trait Sealed {}

    #[diagnostic::do_not_recommend]
    impl Sealed for crate::Lock {}
    #[diagnostic::do_not_recommend]
    impl Sealed for crate::RLock {}
    #[diagnostic::do_not_recommend]
    impl Sealed for crate::RwLock {}
    #[diagnostic::do_not_recommend]
    impl Sealed for crate::Condition {}
}

/// Which of warden's locks a [`GuardedLock`] is: tells the `const`
/// constructor [`wrap`] which `new` to call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockKind {
    /// [`Lock`].
    Lock,
    /// [`RLock`].
    RLock,
    /// [`RwLock`].
    RwLock,
}

/// A lock type that `#[guarded(...)]` can give data to: the lock as written
/// in the struct (`Lock`, `Lock<()>`, `RLock`, `RwLock`, or an alias of one), with
/// [`With<D>`](GuardedLock::With) the same lock holding `D`.
///
/// Sealed. `#[guarded]` rewrites `lock: Lock` to `lock: Lock<BankLock>`
/// (or, for an alias `L`, to `lock: Guarded<L, BankLock>`, which is the
/// same type) and checks `L: GuardedLock` once, in a hidden item, at the
/// written type. Every generated impl *assumes* the bound (with `With<D>`
/// equal to the field's type) instead of requiring it, so a wrong lock type
/// is reported there and nowhere else.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot guard fields: a `#[guarded(...)]` lock must be `Lock`, `RLock` or `RwLock`, written without data",
    label = "named in `#[guarded(...)]`, so this must be `Lock`, `RLock` or `RwLock`",
    note = "`#[guarded]` makes the guarded fields the lock's data: write `lock: Lock` (or `RLock`, `RwLock`), not `Lock<T>` or another lock type"
)]
pub trait GuardedLock: sealed::Sealed + Sized {
    /// This lock, holding `D`.
    type With<D>;

    /// Which lock this is, for [`wrap`].
    const KIND: LockKind;

    /// `Debug` of the lock holding `D`.
    fn fmt_with<D: fmt::Debug>(lock: &Self::With<D>, f: &mut fmt::Formatter<'_>) -> fmt::Result;

    /// `Default` of the lock holding `D`.
    fn default_with<D: Default>() -> Self::With<D>;
}

#[diagnostic::do_not_recommend]
impl GuardedLock for Lock {
    type With<D> = Lock<D>;
    const KIND: LockKind = LockKind::Lock;

    fn fmt_with<D: fmt::Debug>(lock: &Lock<D>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(lock, f)
    }

    fn default_with<D: Default>() -> Lock<D> {
        Lock::default()
    }
}

#[diagnostic::do_not_recommend]
impl GuardedLock for RLock {
    type With<D> = RLock<D>;
    const KIND: LockKind = LockKind::RLock;

    fn fmt_with<D: fmt::Debug>(lock: &RLock<D>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(lock, f)
    }

    fn default_with<D: Default>() -> RLock<D> {
        RLock::default()
    }
}

#[diagnostic::do_not_recommend]
impl GuardedLock for RwLock {
    type With<D> = RwLock<D>;
    const KIND: LockKind = LockKind::RwLock;

    fn fmt_with<D: fmt::Debug>(lock: &RwLock<D>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(lock, f)
    }

    fn default_with<D: Default>() -> RwLock<D> {
        RwLock::default()
    }
}

/// The type of a lock field written `L` guarding the data `D`: `Lock<D>`
/// for `L = Lock`, `RLock<D>` for `L = RLock`, `RwLock<D>` for
/// `L = RwLock`.
pub type Guarded<L, D> = <L as GuardedLock>::With<D>;

/// Reinterprets an `A` as a `B`.
///
/// # Safety
///
/// `A` and `B` must be the same type (the callers below know it from a
/// sealed trait whose only impls say so; the size check is a backstop that
/// fails the build).
const unsafe fn cast<A, B>(a: A) -> B {
    #[repr(C)]
    union Cast<A, B> {
        a: ManuallyDrop<A>,
        b: ManuallyDrop<B>,
    }
    assert!(size_of::<A>() == size_of::<B>() && align_of::<A>() == align_of::<B>());
    // SAFETY: the caller guarantees `A` and `B` are one type, so the bytes
    // of the `A` written are a valid `B`; `ManuallyDrop` moves the value
    // out exactly once.
    ManuallyDrop::into_inner(unsafe {
        Cast::<A, B> {
            a: ManuallyDrop::new(a),
        }
        .b
    })
}

const_fn! {
    /// A new lock of kind `L` holding `data`: `Lock::new(data)` for `L =
    /// Lock`, `RLock::new(data)` for `L = RLock`, `RwLock::new(data)` for
    /// `L = RwLock`. A `const fn`, generic over
    /// the lock as written, so the generated `new` is `const` whatever the
    /// lock's spelling (an alias, a path).
    ///
    /// The lock is named `name` (`"Bank.lock"`) and, if `order = [...]`
    /// names it, has `rank`: what the `tracing` feature's reports and
    /// lock-order checker read (nothing is kept without the feature).
    pub const fn wrap<L: GuardedLock, D>(
        data: D,
        name: &'static str,
        rank: Option<&'static LockRank>,
    ) -> L::With<D> {
        match L::KIND {
            // SAFETY: `GuardedLock` is sealed, and its only impl with
            // `KIND == Lock` is `Lock`'s, whose `With<D>` is `Lock<D>`
            // (checked by `tests::kinds_match_types`).
            LockKind::Lock => unsafe {
                cast::<Lock<D>, L::With<D>>(Lock::new(data).ranked(name, rank))
            },
            // SAFETY: as above, for `RLock`.
            LockKind::RLock => unsafe {
                cast::<RLock<D>, L::With<D>>(RLock::new(data).ranked(name, rank))
            },
            // SAFETY: as above, for `RwLock`.
            LockKind::RwLock => unsafe {
                cast::<RwLock<D>, L::With<D>>(RwLock::new(data).ranked(name, rank))
            },
        }
    }
}

/// `Debug` of a lock field, through [`GuardedLock::fmt_with`].
pub struct DebugLock<'a, L: GuardedLock, D>(pub &'a L::With<D>);

impl<L: GuardedLock, D: fmt::Debug> fmt::Debug for DebugLock<'_, L, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        L::fmt_with(self.0, f)
    }
}

/// A type that `#[condition(lock)]` can bind to its lock: [`Condition`]
/// (or an alias of it). Sealed.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a `#[condition(...)]` field: it must be a warden `Condition`",
    label = "a `#[condition(...)]` field, so this must be `Condition`",
    note = "write `changed: Condition`: `#[guarded]` makes it a `BoundCondition` that waits only with its lock's guard"
)]
pub trait BindCondition: sealed::Sealed + Sized {
    /// The condition bound to the lock holding `D`.
    type Bound<D>;
}

#[diagnostic::do_not_recommend]
impl BindCondition for Condition {
    type Bound<D> = BoundCondition<D>;
}

/// The type of a condition field written `C` bound to the lock holding
/// `D`: [`BoundCondition<D>`]. The expansion names it only to check `C`.
pub type Bound<C, D> = <C as BindCondition>::Bound<D>;

const_fn! {
    /// The condition written `C` (a [`Condition`]), bound to the lock
    /// holding `D`. `const`, like [`wrap`].
    pub const fn bind<C: BindCondition, D>(condition: C) -> BoundCondition<D> {
        // SAFETY: `BindCondition` is sealed and implemented for `Condition`
        // only, so `C` is `Condition`.
        BoundCondition::from_condition(unsafe { cast::<C, Condition>(condition) })
    }
}

/// A lock's place in its struct's declared order,
/// `#[guarded(order = [lock, audit])]`: what a run-time lock-order checker
/// reads to report an inversion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LockRank {
    /// The struct declaring the order (`"Bank"`).
    pub owner: &'static str,
    /// The lock field (`"audit"`).
    pub lock: &'static str,
    /// Its position in the order, from 0: a task holding a lock of rank
    /// `r` may take only locks of rank greater than `r` (of the same
    /// struct).
    pub rank: u32,
}

/// Implemented by `#[guarded]` for the data struct of each lock named in
/// `order = [...]`: `Lock<BankAudit>` knows its rank through its `T`.
pub trait Ranked {
    /// This lock's rank.
    const RANK: LockRank;
}

/// Implemented by `#[guarded]` for a struct with `order = [...]`: every
/// ordered lock, by rank.
pub trait LockOrder {
    /// The declared order, lowest rank first.
    const ORDER: &'static [LockRank];
}

#[cfg(all(test, not(warden_model)))]
mod tests {
    use super::*;
    use core::any::TypeId;

    /// The `KIND` of each impl matches its `With<D>`: what makes [`wrap`]'s
    /// cast sound.
    fn kind_matches<L: GuardedLock>()
    where
        L::With<u32>: 'static,
    {
        let constructed = match L::KIND {
            LockKind::Lock => TypeId::of::<Lock<u32>>(),
            LockKind::RLock => TypeId::of::<RLock<u32>>(),
            LockKind::RwLock => TypeId::of::<RwLock<u32>>(),
        };
        assert_eq!(TypeId::of::<L::With<u32>>(), constructed);
    }

    #[test]
    fn kinds_match_types() {
        kind_matches::<Lock>();
        kind_matches::<RLock>();
        kind_matches::<RwLock>();
    }

    #[test]
    fn wrap_builds_each_kind() {
        static RANK: LockRank = LockRank {
            owner: "S",
            lock: "rlock",
            rank: 0,
        };
        static RLOCK: RLock<Vec<u8>> = wrap::<RLock, Vec<u8>>(Vec::new(), "S.rlock", Some(&RANK));
        static RWLOCK: RwLock<Vec<u8>> = wrap::<RwLock, Vec<u8>>(Vec::new(), "S.rwlock", None);
        let lock = const { wrap::<Lock, u32>(5, "S.lock", None) };
        assert_eq!(lock.into_inner(), 5);
        assert!(RLOCK.try_acquire().unwrap().is_empty());
        RWLOCK.try_write().unwrap().push(1);
        assert_eq!(*RWLOCK.try_read().unwrap(), [1]);
        let owned = wrap::<Lock, String>("moved".to_owned(), "S.owned", None);
        assert_eq!(owned.into_inner(), "moved");
    }

    #[test]
    fn bind_keeps_the_condition() {
        static COND: BoundCondition<u8> = bind::<Condition, u8>(Condition::new());
        COND.notify_all();
        assert_eq!(COND.waiters(), 0);
    }
}
