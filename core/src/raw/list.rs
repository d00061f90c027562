//! An allocation-reusing FIFO of waiters, indexed by key.
//!
//! Every primitive keeps one of these behind its internal mutex. A waiting
//! future (or blocked thread) owns exactly one slot, named by the key it got
//! from [`WaitList::push_back`]. A notifier *unlinks* a node (it leaves the
//! FIFO but keeps its slot, with the outcome written in `data`) and wakes it;
//! only the owner ever *frees* its slot, when it completes or is dropped.
//! So a key is never reused while its owner may still look at it, and a
//! dropped waiter always finds out whether it was notified first — that is
//! what lets each primitive pass a notification on instead of losing it.

use std::task::{Poll, Waker};

use crate::sync::Thread;

/// "No node": the end of the FIFO, or of the free list.
const NIL: usize = usize::MAX;

/// The waiter key of a future that is not queued. Keys are slot indices of
/// a `Vec` of nodes larger than a byte, so never this; a plain `usize` with
/// this sentinel (rather than an `Option`) keeps the futures two words, so
/// they move in registers.
pub(crate) const NOT_QUEUED: usize = usize::MAX;

/// How to wake the owner of a node: a task's waker or a parked thread.
pub(crate) enum Wake {
    /// Registered, but nothing to wake (not polled yet, or already woken).
    Idle,
    /// An async waiter.
    Task(Waker),
    /// A thread blocked in one of the `_blocking` twins.
    Thread(Thread),
}

impl Wake {
    /// Wakes whoever this names. Call it after releasing the list's mutex:
    /// waking runs foreign code (a runtime's scheduler).
    pub(crate) fn wake(self) {
        match self {
            Wake::Idle => {}
            Wake::Task(waker) => waker.wake(),
            Wake::Thread(thread) => thread.unpark(),
        }
    }

    /// The wake handle for the current thread, for the blocking twins.
    pub(crate) fn current_thread() -> Self {
        Wake::Thread(crate::sync::current_thread())
    }
}

/// Wake handles gathered under a mutex, to wake once it is released. The
/// first `N` are kept inline: one by default, so the common hand-off to one
/// waiter allocates nothing; `Barrier` keeps a whole generation's worth.
pub(crate) struct Wakes<const N: usize = 1> {
    inline: [Option<Wake>; N],
    /// How many of `inline` are filled.
    len: usize,
    rest: Vec<Wake>,
}

impl<const N: usize> Wakes<N> {
    pub(crate) const fn new() -> Self {
        Self {
            inline: [const { None }; N],
            len: 0,
            rest: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, wake: Wake) {
        match self.inline.get_mut(self.len) {
            Some(slot) => {
                *slot = Some(wake);
                self.len += 1;
            }
            None => self.rest.push(wake),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len + self.rest.len()
    }

    /// Wakes them all. Call it after releasing the mutex. (By reference:
    /// moving a large inline array out would copy it.)
    pub(crate) fn wake_all(&mut self) {
        for slot in &mut self.inline[..self.len] {
            if let Some(wake) = slot.take() {
                wake.wake();
            }
        }
        self.len = 0;
        self.rest.drain(..).for_each(Wake::wake);
    }
}

struct Node<S> {
    prev: usize,
    next: usize,
    /// In the FIFO (still waiting), as opposed to unlinked (notified, its
    /// outcome in `data`, waiting for its owner to pick it up).
    linked: bool,
    wake: Wake,
    data: S,
}

enum Slot<S> {
    Vacant { next_free: usize },
    Occupied(Node<S>),
}

/// A FIFO of waiters with O(1) push, unlink and removal at any position.
pub(crate) struct WaitList<S> {
    slots: Vec<Slot<S>>,
    /// Head of the free list of vacant slots.
    free: usize,
    head: usize,
    tail: usize,
    /// Nodes in the FIFO.
    linked: usize,
    /// Occupied slots (linked or not).
    occupied: usize,
}

impl<S> WaitList<S> {
    pub(crate) const fn new() -> Self {
        Self {
            slots: Vec::new(),
            free: NIL,
            head: NIL,
            tail: NIL,
            linked: 0,
            occupied: 0,
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
    pub(crate) fn occupied(&self) -> usize {
        self.occupied
    }

    /// Appends a waiter; returns the key its owner keeps.
    pub(crate) fn push_back(&mut self, data: S, wake: Wake) -> usize {
        let node = Node {
            prev: self.tail,
            next: NIL,
            linked: true,
            wake,
            data,
        };
        let key = if self.free == NIL {
            self.slots.push(Slot::Occupied(node));
            self.slots.len() - 1
        } else {
            let key = self.free;
            let Slot::Vacant { next_free } = self.slots[key] else {
                unreachable!("free list points at an occupied slot")
            };
            self.free = next_free;
            self.slots[key] = Slot::Occupied(node);
            key
        };
        if self.tail == NIL {
            self.head = key;
        } else {
            self.node_mut(self.tail).next = key;
        }
        self.tail = key;
        self.linked += 1;
        self.occupied += 1;
        key
    }

    /// The first waiter still in the FIFO.
    pub(crate) fn front(&self) -> Option<usize> {
        (self.head != NIL).then_some(self.head)
    }

    /// Takes a waiter out of the FIFO (it was notified), keeping its slot
    /// for the owner; returns how to wake it.
    pub(crate) fn unlink(&mut self, key: usize) -> Wake {
        let (prev, next) = {
            let node = self.node_mut(key);
            debug_assert!(node.linked, "unlinking a node twice");
            node.linked = false;
            (node.prev, node.next)
        };
        if prev == NIL {
            self.head = next;
        } else {
            self.node_mut(prev).next = next;
        }
        if next == NIL {
            self.tail = prev;
        } else {
            self.node_mut(next).prev = prev;
        }
        self.linked -= 1;
        std::mem::replace(&mut self.node_mut(key).wake, Wake::Idle)
    }

    /// Takes a waiter out of the FIFO but leaves its wake handle in place
    /// (and updatable by its owner) for a later [`take_wake`](Self::take_wake).
    pub(crate) fn detach(&mut self, key: usize) {
        let wake = self.unlink(key);
        self.node_mut(key).wake = wake;
    }

    /// The wake handle of a node, leaving `Idle` behind.
    pub(crate) fn take_wake(&mut self, key: usize) -> Wake {
        std::mem::replace(&mut self.node_mut(key).wake, Wake::Idle)
    }

    /// Unlinks the first waiter and returns its key and wake handle.
    pub(crate) fn pop_front(&mut self) -> Option<(usize, Wake)> {
        let key = self.front()?;
        Some((key, self.unlink(key)))
    }

    /// Whether the owner's node is still in the FIFO (not yet notified).
    pub(crate) fn is_linked(&self, key: usize) -> bool {
        self.node(key).linked
    }

    pub(crate) fn data(&self, key: usize) -> &S {
        &self.node(key).data
    }

    pub(crate) fn data_mut(&mut self, key: usize) -> &mut S {
        &mut self.node_mut(key).data
    }

    /// Stores the waker to use when this node is notified, cloning only if
    /// it changed (tasks that are polled again by the same waker pay nothing).
    pub(crate) fn set_waker(&mut self, key: usize, waker: &Waker) {
        let node = self.node_mut(key);
        match &mut node.wake {
            Wake::Task(old) if old.will_wake(waker) => {}
            slot => *slot = Wake::Task(waker.clone()),
        }
    }

    /// Replaces the wake handle of a node (a blocked thread re-registering
    /// itself after a wake-up that did not let it in).
    pub(crate) fn set_wake(&mut self, key: usize, wake: Wake) {
        self.node_mut(key).wake = wake;
    }

    /// For the owner of `key`, polled again: once notified (unlinked), frees
    /// the slot and returns its data; until then stores the waker.
    pub(crate) fn poll_notified(&mut self, key: usize, waker: &Waker) -> Poll<S> {
        if self.is_linked(key) {
            self.set_waker(key, waker);
            Poll::Pending
        } else {
            Poll::Ready(self.remove(key))
        }
    }

    /// Frees the owner's slot (unlinking it first if still queued) and
    /// returns its data. Only the owner calls this, once.
    pub(crate) fn remove(&mut self, key: usize) -> S {
        if self.node(key).linked {
            drop(self.unlink(key));
        }
        let slot = std::mem::replace(
            &mut self.slots[key],
            Slot::Vacant {
                next_free: self.free,
            },
        );
        self.free = key;
        self.occupied -= 1;
        if self.occupied == 0 && self.slots.len() > 64 {
            // A burst of waiters is over: give its memory back.
            self.slots = Vec::new();
            self.free = NIL;
        }
        match slot {
            Slot::Occupied(node) => node.data,
            Slot::Vacant { .. } => unreachable!("removing a vacant slot"),
        }
    }

    /// Keys of the waiters still in the FIFO, front to back.
    #[cfg(test)]
    pub(crate) fn keys(&self) -> Keys<'_, S> {
        Keys {
            list: self,
            next: self.head,
        }
    }

    fn node(&self, key: usize) -> &Node<S> {
        match &self.slots[key] {
            Slot::Occupied(node) => node,
            Slot::Vacant { .. } => unreachable!("waiter key {key} names a vacant slot"),
        }
    }

    fn node_mut(&mut self, key: usize) -> &mut Node<S> {
        match &mut self.slots[key] {
            Slot::Occupied(node) => node,
            Slot::Vacant { .. } => unreachable!("waiter key {key} names a vacant slot"),
        }
    }
}

/// Iterator over the keys of queued waiters, front to back.
#[cfg(test)]
pub(crate) struct Keys<'a, S> {
    list: &'a WaitList<S>,
    next: usize,
}

#[cfg(test)]
impl<S> Iterator for Keys<'_, S> {
    type Item = usize;
    fn next(&mut self) -> Option<usize> {
        if self.next == NIL {
            return None;
        }
        let key = self.next;
        self.next = self.list.node(key).next;
        Some(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_order_and_removal_in_the_middle() {
        let mut list = WaitList::new();
        let a = list.push_back('a', Wake::Idle);
        let b = list.push_back('b', Wake::Idle);
        let c = list.push_back('c', Wake::Idle);
        assert_eq!(list.remove(b), 'b');
        assert_eq!(list.keys().collect::<Vec<_>>(), vec![a, c]);
        let (first, _) = list.pop_front().unwrap();
        assert_eq!(first, a);
        assert!(!list.is_linked(a));
        assert_eq!(list.len(), 1);
        assert_eq!(list.occupied(), 2);
        assert_eq!(list.remove(a), 'a');
        let d = list.push_back('d', Wake::Idle);
        assert_eq!(d, a, "a freed slot is reused");
        assert_eq!(list.keys().map(|k| *list.data(k)).collect::<String>(), "cd");
    }

    #[test]
    fn memory_is_returned_after_a_burst() {
        let mut list = WaitList::new();
        let keys: Vec<_> = (0..100).map(|i| list.push_back(i, Wake::Idle)).collect();
        for k in keys {
            list.remove(k);
        }
        assert_eq!(list.occupied(), 0);
        assert!(list.slots.is_empty());
        assert!(list.front().is_none());
    }
}
