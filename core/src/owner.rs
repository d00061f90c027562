//! Who is "the current task": the identity `RLock` uses for ownership and
//! the debug re-entry check of `Lock` uses to catch self-deadlock.

use crate::sync::{ThreadId, current_thread_id};

/// The current tokio task where there is one (an async task or a
/// `spawn_blocking` closure), else the current thread.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Owner {
    Task(tokio::task::Id),
    Thread(ThreadId),
}

impl Owner {
    pub(crate) fn current() -> Owner {
        match tokio::task::try_id() {
            Some(id) => Owner::Task(id),
            None => Owner::Thread(current_thread_id()),
        }
    }
}
