//! The untyped machinery every primitive shares: the wait list, the lazily
//! allocated queue, the lock and the fair semaphore. Generic code (`Lock<T>`) only wraps
//! it, so it is compiled once.

pub(crate) mod lazy;
pub(crate) mod list;
pub(crate) mod lock;
pub(crate) mod semaphore;
