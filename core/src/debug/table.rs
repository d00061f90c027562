//! Who holds what and who waits for what: one entry per hold (a guard or a
//! permit) and per queued wait, kept per task (or thread), in shards.
//!
//! Keyed by the task because that is what lock-order checking asks at
//! every acquire ("what does *this* task hold?"); the hang report reads
//! every shard and groups the entries by primitive. A primitive keeps no
//! list of its own, so it carries only its name and a number (see
//! [`Meta`](super::Meta)), and nothing is registered until it is used.

use std::collections::HashMap;
use std::panic::Location;
use std::sync::{LazyLock, Mutex, MutexGuard, PoisonError};

use tokio::time::Instant;

use super::{Mode, Prim};

/// Shards of the table, by owner: tasks on different shards never meet on
/// one mutex.
const SHARDS: usize = 64;

/// One hold or one wait.
#[derive(Clone, Copy)]
pub(crate) struct Entry {
    /// Names this entry within its task's lists (for its removal).
    pub(crate) token: u64,
    pub(crate) prim: Prim,
    pub(crate) site: &'static Location<'static>,
    pub(crate) since: Instant,
    pub(crate) mode: Mode,
}

/// What one task (or thread) holds and waits for.
#[derive(Default)]
struct Task {
    held: Vec<Entry>,
    waiting: Vec<Entry>,
}

#[derive(Default)]
struct Shard {
    next_token: u64,
    tasks: HashMap<u64, Task>,
}

static TABLE: LazyLock<Box<[Mutex<Shard>]>> =
    LazyLock::new(|| (0..SHARDS).map(|_| Mutex::default()).collect());

fn shard(owner: u64) -> MutexGuard<'static, Shard> {
    // Task ids are sequential and a thread's word has its top bit set: fold
    // the halves so both spread over the shards.
    let index = usize::try_from((owner ^ (owner >> 32)) % SHARDS as u64).expect("below SHARDS");
    // Nothing here runs user code or panics half-way through an update.
    TABLE[index].lock().unwrap_or_else(PoisonError::into_inner)
}

/// Which of a task's two lists.
#[derive(Clone, Copy)]
pub(crate) enum List {
    Held,
    Waiting,
}

impl Task {
    fn list(&mut self, list: List) -> &mut Vec<Entry> {
        match list {
            List::Held => &mut self.held,
            List::Waiting => &mut self.waiting,
        }
    }
}

/// Adds an entry for `owner`; returns its token and, if asked, a copy of
/// what `owner` held just before (for the lock-order check, which runs
/// after the shard is unlocked).
pub(crate) fn insert(
    owner: u64,
    list: List,
    prim: Prim,
    site: &'static Location<'static>,
    mode: Mode,
    held_before: Option<&mut Vec<Entry>>,
) -> u64 {
    let since = Instant::now();
    let mut shard = shard(owner);
    shard.next_token += 1;
    let token = shard.next_token;
    let task = shard.tasks.entry(owner).or_default();
    if let Some(before) = held_before {
        before.extend_from_slice(&task.held);
    }
    task.list(list).push(Entry {
        token,
        prim,
        site,
        since,
        mode,
    });
    token
}

/// Removes `owner`'s entry `token` from `list` and returns it.
pub(crate) fn remove(owner: u64, list: List, token: u64) -> Option<Entry> {
    let mut shard = shard(owner);
    let task = shard.tasks.get_mut(&owner)?;
    let entries = task.list(list);
    let at = entries.iter().position(|e| e.token == token)?;
    let entry = entries.swap_remove(at);
    if task.held.is_empty() && task.waiting.is_empty() {
        shard.tasks.remove(&owner);
    }
    Some(entry)
}

/// Changes the mode of a hold (an `RwLock` write guard downgraded).
pub(crate) fn set_mode(owner: u64, token: u64, mode: Mode) {
    let mut shard = shard(owner);
    if let Some(entry) = shard
        .tasks
        .get_mut(&owner)
        .and_then(|t| t.held.iter_mut().find(|e| e.token == token))
    {
        entry.mode = mode;
    }
}

/// `owner`'s hold of the primitive `id`, if it holds it.
pub(crate) fn holding(owner: u64, id: u64) -> Option<Entry> {
    let shard = shard(owner);
    shard
        .tasks
        .get(&owner)?
        .held
        .iter()
        .find(|e| e.prim.id == id)
        .copied()
}

/// Every entry of every task: `(owner, list, entry)`. Locks one shard at a
/// time, so it is a snapshot per task, not of the whole program at one
/// instant.
pub(crate) fn snapshot() -> Vec<(u64, List, Entry)> {
    let mut all = Vec::new();
    for shard in TABLE.iter() {
        let shard = shard.lock().unwrap_or_else(PoisonError::into_inner);
        for (&owner, task) in &shard.tasks {
            all.extend(task.held.iter().map(|&e| (owner, List::Held, e)));
            all.extend(task.waiting.iter().map(|&e| (owner, List::Waiting, e)));
        }
    }
    all
}
