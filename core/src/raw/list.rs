//! An allocation-reusing FIFO of waiters, indexed by key, and the rule that
//! wakers are foreign code.
//!
//! Every primitive keeps one of these behind its internal mutex. A waiting
//! future (or blocked thread) owns exactly one slot, named by the key it got
//! from [`WaitList::push_back`]. A notifier *unlinks* a node (it leaves the
//! FIFO but keeps its slot, with the outcome written in `data`) and wakes it;
//! only the owner ever *frees* its slot, when it completes or is dropped.
//! So a key is never reused while its owner may still look at it, and a
//! dropped waiter always finds out whether it was notified first — that is
//! what lets each primitive pass a notification on instead of losing it.
//!
//! # Wakers are foreign code
//!
//! Cloning, waking and dropping a [`Waker`] run code of whoever made it,
//! which may call back into the very primitive whose mutex we hold (a waker
//! that owns a permit of the semaphore, a waker whose `clone` sets the
//! event). So none of the three ever happens under a primitive's mutex:
//!
//! * a waker is cloned *before* the mutex is taken ([`Sleeper::task`] at a
//!   waiter's first poll; [`poll_registered`] on later polls, only when the
//!   stored waker would not wake the new one);
//! * the list never wakes or drops a waker itself: every wake handle it
//!   unlinks, removes or replaces goes into its [`Deferred`] bin, which the
//!   [`Locked`] guard empties *after* releasing the mutex — woken or
//!   dropped. A caller cannot forget: it only ever holds the list through
//!   that guard.

use std::num::NonZeroUsize;
use std::ops::{Deref, DerefMut};
use std::task::{Poll, Waker};

use crate::sync::{MutexGuard, Thread};

/// "No node": the end of the FIFO, or of the free list (links between
/// slots, inside the list; waiters name their node by [`Key`]).
const NIL: usize = usize::MAX;

/// A waiter's name for its record in a [`WaitList`], the one kind of key
/// every primitive keeps: the record's slot index plus one, so it is never
/// zero and a future's `Option<Key>` ("queued as", or `None` before it
/// queues) is one word.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Key(NonZeroUsize);

impl Key {
    fn new(slot: usize) -> Key {
        Key(NonZeroUsize::new(slot + 1).expect("a slot index is below usize::MAX"))
    }

    fn slot(self) -> usize {
        self.0.get() - 1
    }

    /// The key as a nonzero word, for the one future that packs it with
    /// other state to stay two words (the semaphore's acquire).
    pub(crate) fn to_bits(self) -> usize {
        self.0.get()
    }

    /// The key [`to_bits`](Self::to_bits) gave; `None` for 0.
    pub(crate) fn from_bits(bits: usize) -> Option<Key> {
        NonZeroUsize::new(bits).map(Key)
    }
}

/// How to wake the owner of a node: a task's waker or a parked thread.
pub(crate) enum Sleeper {
    /// Registered, but nothing to wake (not polled yet, or already woken).
    Idle,
    /// An async waiter.
    Task(Waker),
    /// A thread blocked in one of the `_blocking` twins.
    Thread(Thread),
}

impl Sleeper {
    /// A task's wake handle: clones `waker`, so call it *before* taking a
    /// primitive's mutex.
    pub(crate) fn task(waker: &Waker) -> Self {
        Sleeper::Task(waker.clone())
    }

    /// Wakes whoever this names. Runs foreign code: only ever after the
    /// list's mutex is released (the [`Locked`] guard does it).
    fn wake(self) {
        match self {
            Sleeper::Idle => {}
            Sleeper::Task(waker) => waker.wake(),
            Sleeper::Thread(thread) => thread.unpark(),
        }
    }

    /// The wake handle for the current thread, for the blocking twins.
    pub(crate) fn current_thread() -> Self {
        Sleeper::Thread(crate::sync::current_thread())
    }

    fn is_idle(&self) -> bool {
        matches!(self, Sleeper::Idle)
    }
}

/// Sleepers gathered under a mutex, to wake (or drop) once it is
/// released. The first `N` are kept inline: one by default, so the common
/// hand-off to one waiter allocates nothing; `Barrier` keeps a whole
/// generation's worth.
pub(crate) struct Sleepers<const N: usize = 1> {
    inline: [Option<Sleeper>; N],
    /// How many of `inline` are filled.
    len: usize,
    rest: Vec<Sleeper>,
}

impl<const N: usize> Sleepers<N> {
    pub(crate) const fn new() -> Self {
        Self {
            inline: [const { None }; N],
            len: 0,
            rest: Vec::new(),
        }
    }

    fn push(&mut self, wake: Sleeper) {
        if wake.is_idle() {
            return;
        }
        match self.inline.get_mut(self.len) {
            Some(slot) => {
                *slot = Some(wake);
                self.len += 1;
            }
            None => self.rest.push(wake),
        }
    }

    fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Wakes them all. Call it after releasing the mutex. (By reference:
    /// moving a large inline array out would copy it.)
    fn wake_all(&mut self) {
        for slot in &mut self.inline[..self.len] {
            if let Some(wake) = slot.take() {
                wake.wake();
            }
        }
        self.len = 0;
        self.rest.drain(..).for_each(Sleeper::wake);
    }
}

/// What a critical section leaves to do once the mutex is released: wake
/// the waiters it notified, drop the wake handles it replaced or removed.
pub(crate) struct Deferred<const N: usize = 1> {
    wake: Sleepers<N>,
    drop: Sleepers<1>,
}

impl<const N: usize> Deferred<N> {
    const fn new() -> Self {
        Self {
            wake: Sleepers::new(),
            drop: Sleepers::new(),
        }
    }

    fn is_empty(&self) -> bool {
        self.wake.is_empty() && self.drop.is_empty()
    }

    /// Wakes, then drops. Only after the mutex is released.
    fn run(mut self) {
        self.wake.wake_all();
        // `self.drop` (and whatever `Vec`s) drop here, with no lock held.
    }
}

/// Something kept behind a primitive's mutex that holds a [`WaitList`]
/// (the list itself, or a state that contains one), so the [`Locked`]
/// guard can take its deferred work out before unlocking.
pub(crate) trait Defer {
    /// The deferred work, as the list's own [`Deferred`].
    type Work: RunAfterUnlock;
    /// The work left by this critical section, if any.
    fn take_deferred(&mut self) -> Option<Self::Work>;
}

/// Deferred work, run once the mutex is released.
pub(crate) trait RunAfterUnlock {
    /// Wakes and drops.
    fn run(self);
}

impl<const N: usize> RunAfterUnlock for Deferred<N> {
    fn run(self) {
        Deferred::run(self);
    }
}

/// A primitive's mutex, held: derefs to what it protects; on drop it
/// releases the mutex *and then* wakes and drops the wake handles the
/// critical section left behind (see the module docs).
pub(crate) struct Locked<'a, T: Defer> {
    /// `Some` until dropped.
    guard: Option<MutexGuard<'a, T>>,
}

impl<'a, T: Defer> Locked<'a, T> {
    pub(crate) fn new(guard: MutexGuard<'a, T>) -> Self {
        Self { guard: Some(guard) }
    }
}

impl<T: Defer> Deref for Locked<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.guard.as_ref().expect("held until dropped")
    }
}

impl<T: Defer> DerefMut for Locked<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.guard.as_mut().expect("held until dropped")
    }
}

impl<T: Defer> Drop for Locked<'_, T> {
    fn drop(&mut self) {
        if let Some(mut guard) = self.guard.take() {
            let work = guard.take_deferred();
            drop(guard);
            if let Some(work) = work {
                work.run();
            }
        }
    }
}

/// Polls a queued waiter, cloning its new waker only outside the mutex.
///
/// `check` runs under the mutex and says whether the waiter `key` is done;
/// while it is not, the node must wake `waker`. If the stored waker would
/// not wake it, the mutex is released, `waker` is cloned, and the whole poll
/// runs again (as a second poll would — `check` must allow that, as every
/// poll must) to store the clone; the displaced waker is dropped after the
/// mutex is released, like everything the list defers.
pub(crate) fn poll_registered<'a, T: Defer + 'a, S, const N: usize, R>(
    lock: impl Fn() -> Locked<'a, T>,
    list: impl Fn(&mut T) -> &mut WaitList<S, N>,
    key: Key,
    waker: &Waker,
    mut check: impl FnMut(&mut Locked<'a, T>) -> Poll<R>,
) -> Poll<R> {
    let mut fresh: Option<Waker> = None;
    loop {
        let mut held = lock();
        if let Poll::Ready(done) = check(&mut held) {
            return Poll::Ready(done);
        }
        let l = list(&mut held);
        if l.will_wake(key, waker) {
            return Poll::Pending;
        }
        if let Some(fresh) = fresh.take() {
            l.set_wake(key, Sleeper::Task(fresh));
            return Poll::Pending;
        }
        drop(held);
        fresh = Some(waker.clone());
    }
}

struct Node<S> {
    prev: usize,
    next: usize,
    /// In the FIFO (still waiting), as opposed to unlinked (notified, its
    /// outcome in `data`, waiting for its owner to pick it up).
    linked: bool,
    wake: Sleeper,
    data: S,
}

enum Slot<S> {
    Vacant { next_free: usize },
    Occupied(Node<S>),
}

/// A FIFO of waiters with O(1) push, unlink and removal at any position.
/// `N`: wake handles kept inline in its deferred bin.
pub(crate) struct WaitList<S, const N: usize = 1> {
    slots: Vec<Slot<S>>,
    /// Head of the free list of vacant slots.
    free: usize,
    head: usize,
    tail: usize,
    /// Nodes in the FIFO.
    linked: usize,
    /// Occupied slots (linked or not).
    occupied: usize,
    /// Sleepers to wake, and wake handles to drop, once the mutex is released.
    deferred: Deferred<N>,
}

impl<S, const N: usize> Defer for WaitList<S, N> {
    type Work = Deferred<N>;
    #[inline]
    fn take_deferred(&mut self) -> Option<Deferred<N>> {
        if self.deferred.is_empty() {
            None
        } else {
            Some(std::mem::replace(&mut self.deferred, Deferred::new()))
        }
    }
}

impl<S, const N: usize> WaitList<S, N> {
    pub(crate) const fn new() -> Self {
        Self {
            slots: Vec::new(),
            free: NIL,
            head: NIL,
            tail: NIL,
            linked: 0,
            occupied: 0,
            deferred: Deferred::new(),
        }
    }

    /// Number of waiters still in the FIFO.
    pub(crate) fn len(&self) -> usize {
        self.linked
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.linked == 0
    }

    /// Slots held by owners, linked or not: zero when nobody waits and
    /// every notified waiter has picked up its outcome. Tests use it to
    /// prove no waiter record leaks.
    #[cfg(any(test, feature = "__introspection", warden_model))]
    pub(crate) fn occupied(&self) -> usize {
        self.occupied
    }

    /// Appends a waiter; returns the key its owner keeps. `wake` was made
    /// before the mutex was taken ([`Sleeper::task`]).
    pub(crate) fn push_back(&mut self, data: S, wake: Sleeper) -> Key {
        let node = Node {
            prev: self.tail,
            next: NIL,
            linked: true,
            wake,
            data,
        };
        let slot = if self.free == NIL {
            self.slots.push(Slot::Occupied(node));
            self.slots.len() - 1
        } else {
            let slot = self.free;
            let Slot::Vacant { next_free } = self.slots[slot] else {
                unreachable!("free list points at an occupied slot")
            };
            self.free = next_free;
            self.slots[slot] = Slot::Occupied(node);
            slot
        };
        if self.tail == NIL {
            self.head = slot;
        } else {
            self.at_mut(self.tail).next = slot;
        }
        self.tail = slot;
        self.linked += 1;
        self.occupied += 1;
        Key::new(slot)
    }

    /// The first waiter still in the FIFO.
    pub(crate) fn front(&self) -> Option<Key> {
        (self.head != NIL).then(|| Key::new(self.head))
    }

    /// Takes a waiter out of the FIFO, keeping its slot (and its wake
    /// handle) for the owner.
    pub(crate) fn detach(&mut self, key: Key) {
        let (prev, next) = {
            let node = self.node_mut(key);
            debug_assert!(node.linked, "unlinking a node twice");
            node.linked = false;
            (node.prev, node.next)
        };
        if prev == NIL {
            self.head = next;
        } else {
            self.at_mut(prev).next = next;
        }
        if next == NIL {
            self.tail = prev;
        } else {
            self.at_mut(next).prev = prev;
        }
        self.linked -= 1;
    }

    /// Notifies a waiter: takes it out of the FIFO (keeping its slot for
    /// the owner, who finds it unlinked) and wakes it once the mutex is
    /// released.
    pub(crate) fn notify(&mut self, key: Key) {
        self.detach(key);
        self.wake(key);
    }

    /// Notifies the first waiter; returns its key.
    pub(crate) fn notify_front(&mut self) -> Option<Key> {
        let key = self.front()?;
        self.notify(key);
        Some(key)
    }

    /// Wakes the owner of `key` (once the mutex is released), leaving its
    /// node where it is, with nothing to wake until it registers again.
    pub(crate) fn wake(&mut self, key: Key) {
        let wake = std::mem::replace(&mut self.node_mut(key).wake, Sleeper::Idle);
        self.deferred.wake.push(wake);
    }

    /// Whether the owner's node is still in the FIFO (not yet notified).
    pub(crate) fn is_linked(&self, key: Key) -> bool {
        self.node(key).linked
    }

    pub(crate) fn data(&self, key: Key) -> &S {
        &self.node(key).data
    }

    pub(crate) fn data_mut(&mut self, key: Key) -> &mut S {
        &mut self.node_mut(key).data
    }

    /// Whether the node's stored waker would wake `waker`'s task (so there
    /// is nothing to update). Compares pointers only: no foreign code.
    pub(crate) fn will_wake(&self, key: Key, waker: &Waker) -> bool {
        matches!(&self.node(key).wake, Sleeper::Task(stored) if stored.will_wake(waker))
    }

    /// Replaces the wake handle of a node (made before the mutex was taken);
    /// the old one is dropped once the mutex is released.
    pub(crate) fn set_wake(&mut self, key: Key, wake: Sleeper) {
        let old = std::mem::replace(&mut self.node_mut(key).wake, wake);
        self.deferred.drop.push(old);
    }

    /// Frees the owner's slot (unlinking it first if still queued) and
    /// returns its data. Only the owner calls this, once. Its wake handle
    /// is dropped once the mutex is released.
    pub(crate) fn remove(&mut self, key: Key) -> S {
        if self.node(key).linked {
            self.detach(key);
        }
        let slot = std::mem::replace(
            &mut self.slots[key.slot()],
            Slot::Vacant {
                next_free: self.free,
            },
        );
        self.free = key.slot();
        self.occupied -= 1;
        if self.occupied == 0 && self.slots.len() > 64 {
            // A burst of waiters is over: give its memory back (every slot
            // is vacant, so no wake handle goes with it).
            self.slots = Vec::new();
            self.free = NIL;
        }
        match slot {
            Slot::Occupied(node) => {
                self.deferred.drop.push(node.wake);
                node.data
            }
            Slot::Vacant { .. } => unreachable!("removing a vacant slot"),
        }
    }

    /// Keys of the waiters still in the FIFO, front to back.
    pub(crate) fn keys(&self) -> Keys<'_, S, N> {
        Keys {
            list: self,
            next: self.head,
        }
    }

    fn node(&self, key: Key) -> &Node<S> {
        self.at(key.slot())
    }

    fn node_mut(&mut self, key: Key) -> &mut Node<S> {
        self.at_mut(key.slot())
    }

    fn at(&self, slot: usize) -> &Node<S> {
        match &self.slots[slot] {
            Slot::Occupied(node) => node,
            Slot::Vacant { .. } => unreachable!("slot {slot} is vacant"),
        }
    }

    fn at_mut(&mut self, slot: usize) -> &mut Node<S> {
        match &mut self.slots[slot] {
            Slot::Occupied(node) => node,
            Slot::Vacant { .. } => unreachable!("slot {slot} is vacant"),
        }
    }
}

/// Iterator over the keys of queued waiters, front to back.
pub(crate) struct Keys<'a, S, const N: usize> {
    list: &'a WaitList<S, N>,
    next: usize,
}

impl<S, const N: usize> Iterator for Keys<'_, S, N> {
    type Item = Key;
    fn next(&mut self) -> Option<Key> {
        if self.next == NIL {
            return None;
        }
        let slot = self.next;
        self.next = self.list.at(slot).next;
        Some(Key::new(slot))
    }
}

#[cfg(all(test, not(warden_model)))]
mod tests {
    use super::*;

    #[test]
    fn fifo_order_and_removal_in_the_middle() {
        let mut list: WaitList<char> = WaitList::new();
        let a = list.push_back('a', Sleeper::Idle);
        let b = list.push_back('b', Sleeper::Idle);
        let c = list.push_back('c', Sleeper::Idle);
        assert_eq!(list.remove(b), 'b');
        assert_eq!(list.keys().collect::<Vec<_>>(), vec![a, c]);
        assert_eq!(list.notify_front(), Some(a));
        assert!(!list.is_linked(a));
        assert_eq!(list.len(), 1);
        assert_eq!(list.occupied(), 2);
        assert_eq!(list.remove(a), 'a');
        let d = list.push_back('d', Sleeper::Idle);
        assert_eq!(d, a, "a freed slot is reused");
        assert_eq!(list.keys().map(|k| *list.data(k)).collect::<String>(), "cd");
    }

    #[test]
    fn memory_is_returned_after_a_burst() {
        let mut list: WaitList<i32> = WaitList::new();
        let keys: Vec<_> = (0..100).map(|i| list.push_back(i, Sleeper::Idle)).collect();
        for k in keys {
            list.remove(k);
        }
        assert_eq!(list.occupied(), 0);
        assert!(list.slots.is_empty());
        assert!(list.front().is_none());
    }

    #[test]
    fn wakes_and_drops_are_deferred_to_the_guard() {
        let (waker, counter) = counting_waker();
        let mut list: WaitList<()> = WaitList::new();
        let a = list.push_back((), Sleeper::task(&waker));
        let b = list.push_back((), Sleeper::task(&waker));
        list.notify(a);
        list.remove(b);
        assert_eq!(
            counter.wakes.load(SeqCst),
            0,
            "nothing woken under the lock"
        );
        assert_eq!(
            Arc::strong_count(&counter),
            4,
            "ours, `waker`, two in the list"
        );
        list.take_deferred().expect("work deferred").run();
        assert_eq!(counter.wakes.load(SeqCst), 1, "the notified one is woken");
        assert_eq!(
            Arc::strong_count(&counter),
            2,
            "both clones in the list gone"
        );
        assert!(list.take_deferred().is_none());
    }

    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

    #[derive(Default)]
    struct Counter {
        wakes: AtomicUsize,
    }
    impl std::task::Wake for Counter {
        fn wake(self: Arc<Self>) {
            self.wakes.fetch_add(1, SeqCst);
        }
    }
    fn counting_waker() -> (Waker, Arc<Counter>) {
        let counter = Arc::new(Counter::default());
        (Waker::from(counter.clone()), counter)
    }
}
