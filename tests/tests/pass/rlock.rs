//! `RLock`-guarded fields: shared access only, re-entrant within a task,
//! mutation through interior mutability.

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
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let registry = Registry::new(RegistryInit {
            lock: RLock::default(),
            count: AtomicU32::new(0),
            names: Mutex::new(vec![]),
        });
        registry.add("a").await;
        registry.add("b").await;
        assert_eq!(registry.len().await, 2);
    });
}
