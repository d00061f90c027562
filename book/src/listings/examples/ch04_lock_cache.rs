//! A cache that fetches each key once, however many tasks ask at once:
//! a warden `Lock` per key, held across the `.await` of the fetch.
//!
//! Run: `cargo run -p warden-book-listings --example ch04_lock_cache`

// ANCHOR: uses
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use warden::Lock;
// ANCHOR_END: uses

// ANCHOR: cache
#[derive(Default)]
struct Cache {
    /// A std `Mutex` for the map: held for a moment, never across `.await`.
    entries: std::sync::Mutex<HashMap<String, Arc<Lock<Option<String>>>>>,
    fetches: AtomicUsize,
}

impl Cache {
    async fn get(&self, key: &str) -> String {
        let entry = self
            .entries
            .lock()
            .unwrap()
            .entry(key.to_owned())
            .or_default()
            .clone(); // the std guard drops here, before any `.await`

        let mut slot = entry.acquire().await; // one fetch per key at a time
        if let Some(value) = &*slot {
            return value.clone(); // someone fetched it while we waited
        }
        let value = self.fetch(key).await; // the guard is held across this
        *slot = Some(value.clone());
        value
    }

    async fn fetch(&self, key: &str) -> String {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(10)).await; // the slow backend
        format!("<{key}>")
    }
}
// ANCHOR_END: cache

// ANCHOR: main
#[tokio::main]
async fn main() {
    let cache = Arc::new(Cache::default());
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let cache = cache.clone();
            let key = if i % 2 == 0 { "a" } else { "b" };
            tokio::spawn(async move { cache.get(key).await })
        })
        .collect();
    for task in tasks {
        let value = task.await.unwrap();
        assert!(value == "<a>" || value == "<b>");
    }
    let fetches = cache.fetches.load(Ordering::SeqCst);
    println!("20 requests for 2 keys: {fetches} fetches");
    assert_eq!(fetches, 2);
}
// ANCHOR_END: main

#[cfg(test)]
mod tests {
    #[test]
    fn runs() {
        super::main();
    }
}
