//! The generated `new` is a `const fn`: a `#[guarded]` struct can be a
//! `static` (or built in a `const`), whatever its fields — `Vec`, `String`,
//! conditions, both lock kinds, aliases, generics. The crate forbids
//! `unsafe` code: the expansion stays usable there.

#![forbid(unsafe_code)]

use std::sync::atomic::{AtomicU64, Ordering};
use warden::{Condition, Lock, RLock, guarded};

type StateLock = warden::Lock;

#[guarded]
pub struct Registry {
    lock: Lock,
    #[guarded(lock)]
    names: Vec<String>,
    #[guarded(lock)]
    title: String,
    #[condition(lock)]
    changed: Condition,
    audit: RLock,
    #[guarded(audit)]
    reads: AtomicU64,
    state: StateLock,
    #[guarded(state)]
    open: bool,
}

static REGISTRY: Registry = Registry::new(RegistryInit {
    lock: Lock::new(()),
    names: Vec::new(),
    title: String::new(),
    changed: Condition::new(),
    audit: RLock::new(()),
    reads: AtomicU64::new(0),
    state: StateLock::new(()),
    open: true,
});

#[guarded]
pub struct Slot<T> {
    lock: Lock,
    #[guarded(lock)]
    value: Option<T>,
}

const EMPTY: Slot<Vec<u8>> = Slot::new(SlotInit {
    lock: Lock::new(()),
    value: None,
});

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut g = REGISTRY.lock.acquire().await;
        g.names.push("first".to_owned());
        g.title.push_str("static registry");
        drop(g);
        REGISTRY.changed.notify_all();
        let g = REGISTRY.lock.acquire().await;
        let g = REGISTRY.changed.wait_for(g, |r| !r.names.is_empty()).await;
        assert_eq!((g.names.len(), g.title.as_str()), (1, "static registry"));
        drop(g);
        REGISTRY.audit.acquire().await.reads.fetch_add(1, Ordering::Relaxed);
        assert!(REGISTRY.state.acquire().await.open);
    });
    let slot = EMPTY;
    assert!(slot.lock.into_inner().value.is_none());
    // Run-time construction goes through the same `new`: values move in
    // once (no double drop, no leak of the guarded data).
    let registry = Registry::new(RegistryInit {
        lock: Lock::default(),
        names: vec!["a".to_owned(), "b".to_owned()],
        title: "heap".to_owned(),
        changed: Condition::new(),
        audit: RLock::default(),
        reads: AtomicU64::new(3),
        state: StateLock::default(),
        open: false,
    });
    let data = registry.lock.into_inner();
    assert_eq!((data.names, data.title), (vec!["a".to_owned(), "b".to_owned()], "heap".to_owned()));
    assert_eq!(registry.audit.into_inner().reads.into_inner(), 3);
}
