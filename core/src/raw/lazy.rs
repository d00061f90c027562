//! A heap value allocated on first use, one pointer wide.
//!
//! Wait queues are only needed once a primitive is contended. Keeping them
//! behind a lazily set pointer keeps `Lock<()>`, `Semaphore` and `Event` at
//! two words (state + this pointer) and makes their constructors `const`.

use std::num::NonZeroU64;
use std::ptr;

use super::list::{Key, Locked, WaitList, poll_registered};
use crate::sync::{Mutex, MutexGuard};

use crate::sync::{AtomicPtr, Ordering};

pub(crate) struct LazyBox<T> {
    /// Null until first use; then a pointer from `Box::into_raw` that stays
    /// valid and unchanged until `drop`.
    ptr: AtomicPtr<T>,
}

impl<T> LazyBox<T> {
    const_fn! {
        pub(crate) const fn new() -> Self {
            Self {
                ptr: AtomicPtr::new(ptr::null_mut()),
            }
        }
    }

    /// The value, if it was ever created.
    pub(crate) fn get(&self) -> Option<&T> {
        let p = self.ptr.load(Ordering::Acquire);
        // SAFETY: a non-null pointer was produced by `Box::into_raw` in
        // `get_or_init` and published with Release (paired with the Acquire
        // load above); it is freed only in `drop`, which needs `&mut self`,
        // so it outlives the `&self` borrow we return.
        (!p.is_null()).then(|| unsafe { &*p })
    }

    /// The value, creating it with `init` on first use. Racing creators
    /// both allocate; one wins, the other frees its copy.
    #[inline]
    pub(crate) fn get_or_init(&self, init: impl FnOnce() -> T) -> &T {
        match self.get() {
            Some(value) => value,
            None => self.init(init),
        }
    }

    #[cold]
    fn init(&self, init: impl FnOnce() -> T) -> &T {
        let fresh = Box::into_raw(Box::new(init()));
        match self
            .ptr
            .compare_exchange(ptr::null_mut(), fresh, Ordering::AcqRel, Ordering::Acquire)
        {
            // SAFETY: we just published `fresh` (from `Box::into_raw`); it
            // stays valid until `drop`, see `get`.
            Ok(_) => unsafe { &*fresh },
            Err(winner) => {
                // SAFETY: `fresh` came from `Box::into_raw` just above and
                // was never shared (the exchange failed), so we own it.
                drop(unsafe { Box::from_raw(fresh) });
                // SAFETY: `winner` is non-null (the exchange failed against
                // it) and was published by another `get_or_init`; see `get`.
                unsafe { &*winner }
            }
        }
    }
}

impl<T> Drop for LazyBox<T> {
    fn drop(&mut self) {
        let p = self.ptr.load(Ordering::Acquire);
        if !p.is_null() {
            // SAFETY: `&mut self` proves no borrow from `get` is alive, and
            // the pointer came from `Box::into_raw`; nobody frees it but us.
            drop(unsafe { Box::from_raw(p) });
        }
    }
}

// SAFETY: `LazyBox<T>` owns a `Box<T>`; sending it sends the `T`.
unsafe impl<T: Send> Send for LazyBox<T> {}
// SAFETY: `&LazyBox<T>` hands out `&T` (needs `T: Sync`) and may create the
// `T` on any thread that then gets dropped elsewhere (needs `T: Send`).
unsafe impl<T: Send + Sync> Sync for LazyBox<T> {}

#[cfg(all(test, not(warden_model)))]
mod tests {
    use super::*;

    #[test]
    fn created_once_and_dropped() {
        let lazy = LazyBox::new();
        assert!(lazy.get().is_none());
        let first: *const Vec<u8> = lazy.get_or_init(|| vec![1]);
        let second: *const Vec<u8> = lazy.get_or_init(|| vec![2]);
        assert_eq!(first, second);
        assert_eq!(lazy.get().unwrap(), &vec![1]);
    }

    #[test]
    fn racing_initialisers_agree() {
        let lazy = std::sync::Arc::new(LazyBox::new());
        let handles: Vec<_> = (0..4)
            .map(|i| {
                let lazy = lazy.clone();
                std::thread::spawn(move || std::ptr::from_ref(lazy.get_or_init(|| i)) as usize)
            })
            .collect();
        let ptrs: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert!(ptrs.windows(2).all(|w| w[0] == w[1]));
    }
}

/// A wait list behind a mutex, allocated on first use: the whole waiting
/// side of `Event`, `Condition` and `Lock`.
pub(crate) struct LazyList<S> {
    inner: LazyBox<Allocated<S>>,
}

/// What [`LazyList`] allocates: the list, and an identity for its owner.
struct Allocated<S> {
    /// Names the primitive for as long as it lives, wherever it moves (this
    /// allocation does not move with it); never reused.
    id: NonZeroU64,
    list: Mutex<WaitList<S>>,
}

impl<S> LazyList<S> {
    const_fn! {
        pub(crate) const fn new() -> Self {
            Self { inner: LazyBox::new() }
        }
    }

    fn allocated(&self) -> &Allocated<S> {
        self.inner.get_or_init(|| Allocated {
            id: next_id(),
            list: Mutex::new(WaitList::new()),
        })
    }

    /// The list, locked (see [`Locked`] for what happens on unlock).
    pub(crate) fn lock(&self) -> Locked<'_, WaitList<S>> {
        Locked::new(self.allocated().list.lock())
    }

    /// The list if it exists and is free right now: for `Debug`, which
    /// must never block (and only reads it).
    pub(crate) fn try_lock(&self) -> Option<MutexGuard<'_, WaitList<S>>> {
        self.inner.get().and_then(|a| a.list.try_lock())
    }

    /// An identity for the primitive that owns this list: unique among all
    /// lists ever allocated, and unchanged when the primitive moves (it is
    /// created with the allocation, on first use).
    pub(crate) fn id(&self) -> NonZeroU64 {
        self.allocated().id
    }

    /// For a thread that registered `key` with `Sleeper::current_thread()`:
    /// parks until the node is notified or `deadline` passes, then frees
    /// it. Returns whether it was notified (a notification that lands as
    /// the deadline passes counts).
    pub(crate) fn park_until(&self, key: Key, deadline: Option<std::time::Instant>) -> bool {
        super::park::park_until(deadline, |timed_out, _| {
            let mut list = self.lock();
            let notified = !list.is_linked(key);
            (notified || timed_out).then(|| {
                list.remove(key);
                notified
            })
        })
    }

    /// Records still allocated (see `WaitList::occupied`).
    #[cfg(any(feature = "__introspection", warden_model))]
    pub(crate) fn waiter_records(&self) -> usize {
        self.inner.get().map_or(0, |a| a.list.lock().occupied())
    }
}

impl LazyList<()> {
    /// Polls the waiter `key` until a notifier unlinks it (then frees its
    /// record): `Event`'s and `Condition`'s wait.
    pub(crate) fn poll_notified(&self, key: Key, waker: &std::task::Waker) -> std::task::Poll<()> {
        poll_registered(
            || self.lock(),
            |q| q,
            key,
            waker,
            |q| {
                if q.is_linked(key) {
                    std::task::Poll::Pending
                } else {
                    q.remove(key);
                    std::task::Poll::Ready(())
                }
            },
        )
    }
}

/// Draws a fresh list identity. Only allocates identities, shares no state
/// a model needs to explore, so it is a std atomic in both builds.
#[allow(
    clippy::disallowed_types,
    reason = "identities only: no state a model explores (see the docs above)"
)]
fn next_id() -> NonZeroU64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    NonZeroU64::new(id).expect("2^64 wait lists: the counter wrapped")
}
