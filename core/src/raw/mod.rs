//! The untyped machinery every primitive shares: the wait list, the lazily
//! allocated queue, the lock, the fair semaphore and the reader-writer lock
//! built on it. Generic code (`Lock<T>`) only wraps
//! it, so it is compiled once.

pub(crate) mod lazy;
pub(crate) mod list;
pub(crate) mod lock;
pub(crate) mod rwlock;
pub(crate) mod semaphore;
