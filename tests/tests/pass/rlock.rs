//! `RLock`-guarded fields: the rule. An `RLockGuard` gives `&` only (its
//! owner may hold several guards at once, so a `&mut` from one would alias
//! the `&` of another), so an `RLock`-guarded field is
//!
//! * read through the guard, re-entrantly;
//! * written through `&mut self` with `get_mut()` — no lock needed, as for
//!   DESIGN's `#[guarded(audit)] log: Vec<String>`;
//! * or written through the guard if its type has interior mutability:
//!   an atomic, a `Cell` or `RefCell` (then the guard is not `Send`: keep
//!   it within one task between `.await`s, see
//!   `ui/guarded/rlock-guard-not-send-with-cell.rs`), or a
//!   `std::sync::Mutex` (not re-entrant: do not hold it across a nested
//!   acquisition).
//!
//! Writing a plain field through the guard does not compile
//! (`ui/guarded/write-rlock-guarded-field.rs`).

use std::cell::{Cell, RefCell};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use warden::{RLock, guarded};

#[guarded]
pub struct Registry {
    lock: RLock,
    #[guarded(lock)]
    count: AtomicU32,
    #[guarded(lock)]
    names: Mutex<Vec<String>>,
    #[guarded(lock)]
    log: Vec<String>, // read under the lock, written with `&mut self`
}

impl Registry {
    async fn add(&self, name: &str) {
        let g = self.lock.acquire().await;
        g.names.lock().unwrap().push(name.to_owned());
        g.count.fetch_add(1, Ordering::Relaxed);
        // Re-entrant: the same task takes it again while holding it.
        assert_eq!(self.len().await as usize, g.names.lock().unwrap().len());
    }

    async fn len(&self) -> u32 {
        self.lock.acquire().await.count.load(Ordering::Relaxed)
    }

    async fn log_len(&self) -> usize {
        self.lock.acquire().await.log.len()
    }

    fn record(&mut self, line: &str) {
        self.lock.get_mut().log.push(line.to_owned());
    }
}

/// Single-task state behind an `RLock`: `Cell` and `RefCell` give
/// mutation through `&`, checked at run time.
#[guarded]
pub struct Tree {
    lock: RLock,
    #[guarded(lock)]
    depth: Cell<u32>,
    #[guarded(lock)]
    visited: RefCell<Vec<u32>>,
}

impl Tree {
    fn visit(&self, node: u32) {
        let g = self.lock.acquire_blocking();
        g.depth.set(g.depth.get() + 1);
        g.visited.borrow_mut().push(node); // the borrow ends here...
        if node < 3 {
            self.visit(node + 1); // ...before re-entering
        }
        g.depth.set(g.depth.get() - 1);
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut registry = Registry::new(RegistryInit {
            lock: RLock::default(),
            count: AtomicU32::new(0),
            names: Mutex::new(vec![]),
            log: vec![],
        });
        registry.add("a").await;
        registry.add("b").await;
        assert_eq!(registry.len().await, 2);
        registry.record("audited");
        assert_eq!(registry.log_len().await, 1);
    });

    let tree = Tree::new(TreeInit {
        lock: RLock::new(()),
        depth: Cell::new(0),
        visited: RefCell::new(vec![]),
    });
    tree.visit(0);
    let data = tree.lock.into_inner();
    assert_eq!((data.depth.get(), data.visited.into_inner()), (0, vec![0, 1, 2, 3]));
}
