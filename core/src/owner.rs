//! Who is "the current task": the identity `RLock` uses for ownership.
//!
//! An [`Owner`] is one nonzero `u64`, so that a lock can keep it in an
//! atomic word (0 = no owner) and test "do I own this?" with one load:
//!
//! ```text
//! task:   the tokio task id            (top bit clear)
//! thread: THREAD | per-thread number   (top bit set; numbers never reused)
//! ```
//!
//! Two live owners never share a word: tokio task ids are unique among
//! live tasks, thread numbers are never handed out twice, and the top bit
//! keeps the two kinds apart. Both ranges would need 2^63 spawns (or
//! threads) to run out — centuries at a billion a second — and each
//! constructor panics rather than wrap, so a collision is impossible, not
//! just unlikely.

#[cfg(feature = "tokio")]
use std::hash::{Hash, Hasher};
use std::num::NonZeroU64;

use crate::sync::current_thread_number;

/// The top bit: set in a thread's word, clear in a task's.
const THREAD: u64 = 1 << 63;

/// The current tokio task where there is one (an async task or a
/// `spawn_blocking` closure), else the current thread, as one word.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Owner(NonZeroU64);

impl Owner {
    /// The caller's identity: a call into tokio (one thread-local read),
    /// and outside a task one more thread-local read. Without the `tokio`
    /// feature there are no task ids to read: always the thread.
    #[inline]
    pub(crate) fn current() -> Owner {
        #[cfg(feature = "tokio")]
        if let Some(id) = tokio::task::try_id() {
            return Owner::task(id);
        }
        Owner::thread(current_thread_number())
    }

    /// The word stored in a lock's owner field; never 0.
    #[inline]
    pub(crate) fn word(self) -> u64 {
        self.0.get()
    }

    /// A task's word: its id, which tokio does not expose as a number but
    /// hashes as exactly one `write_u64` of it (`Id` derives `Hash` over
    /// its `NonZeroU64`). [`IdBits`] checks that shape — should a tokio
    /// release change it, this panics instead of guessing — and the check
    /// folds away once inlined. A test compares the word with the id's
    /// `Display`, so an upgrade that broke the shape would fail CI first.
    #[cfg(feature = "tokio")]
    #[inline]
    fn task(id: tokio::task::Id) -> Owner {
        let mut bits = IdBits::default();
        id.hash(&mut bits);
        match bits.word() {
            Some(word) if word.get() < THREAD => Owner(word),
            _ => id_shape_changed(),
        }
    }

    /// A thread's word, from the per-thread number (`1..THREAD`).
    #[inline]
    fn thread(number: NonZeroU64) -> Owner {
        debug_assert!(number.get() < THREAD);
        Owner(number | THREAD)
    }
}

#[cfg(feature = "tokio")]
#[cold]
#[inline(never)]
fn id_shape_changed() -> ! {
    panic!(
        "warden: tokio::task::Id no longer hashes as one nonzero u64 below 2^63; \
         warden's RLock cannot tell tasks apart (please report this)"
    )
}

/// A `Hasher` that captures the one `u64` a `tokio::task::Id` hashes as.
#[cfg(feature = "tokio")]
#[derive(Default)]
struct IdBits {
    bits: u64,
    /// `write_u64` calls seen; anything else written makes it unusable.
    writes: u32,
    other: bool,
}

#[cfg(feature = "tokio")]
impl IdBits {
    /// The captured id if exactly one nonzero `u64` and nothing else was
    /// written.
    #[inline]
    fn word(&self) -> Option<NonZeroU64> {
        if self.writes == 1 && !self.other {
            NonZeroU64::new(self.bits)
        } else {
            None
        }
    }
}

#[cfg(feature = "tokio")]
impl Hasher for IdBits {
    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.bits = n;
        self.writes += 1;
    }

    /// Every other `write_*` defaults to this one.
    #[inline]
    fn write(&mut self, _bytes: &[u8]) {
        self.other = true;
    }

    fn finish(&self) -> u64 {
        self.bits
    }
}

#[cfg(all(test, feature = "tokio", not(warden_model)))]
mod tests {
    use super::{Owner, THREAD};

    #[test]
    fn a_task_word_is_its_id() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let (word, id) = rt.block_on(async {
            tokio::spawn(async { (Owner::current().word(), tokio::task::id()) })
                .await
                .unwrap()
        });
        assert_eq!(word.to_string(), id.to_string());
        assert_eq!(word & THREAD, 0);
    }

    #[test]
    fn threads_and_tasks_get_distinct_words() {
        let here = Owner::current();
        assert_eq!(here, Owner::current(), "stable within a thread");
        assert_ne!(here.word() & THREAD, 0, "a thread's word is tagged");
        let there = std::thread::spawn(Owner::current).join().unwrap();
        assert_ne!(here, there);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        // `block_on` is not a task: its owner is the thread.
        assert_eq!(rt.block_on(async { Owner::current() }), here);
        let task = rt.block_on(async { tokio::spawn(async { Owner::current() }).await });
        assert_ne!(task.unwrap(), here);
    }
}
