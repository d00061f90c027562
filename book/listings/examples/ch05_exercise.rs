//! Exercise (`RLock`), a solution: `add_kit` re-enters the lock `add` takes.
//!
//! Run: `cargo run -p warden-book-listings --example ch05_exercise`

// ANCHOR: solution
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use warden::RLock;

/// An `RLock` hands out `&T`, so the map changes through a `Mutex` inside,
/// held only for a moment and never across an `.await`.
struct Inventory {
    items: RLock<Mutex<BTreeMap<&'static str, u32>>>,
}

impl Inventory {
    async fn add(&self, item: &'static str, n: u32) {
        let items = self.items.acquire().await;
        *items.lock().unwrap().entry(item).or_insert(0) += n;
    }

    async fn add_kit(&self, kit: &[(&'static str, u32)]) {
        let _held = self.items.acquire().await; // held across the adds
        for &(item, n) in kit {
            self.add(item, n).await; // re-enters: the same task owns it
        }
    }

    async fn whole_kits(&self) -> bool {
        let items = self.items.acquire().await;
        let items = items.lock().unwrap();
        let count = |item| items.get(item).copied().unwrap_or(0);
        count("nut") == count("bolt") && count("washer") == 2 * count("bolt")
    }
}

#[tokio::main]
async fn main() {
    let inventory = Arc::new(Inventory {
        items: RLock::new(Mutex::new(BTreeMap::new())),
    });
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let inventory = inventory.clone();
            tokio::spawn(async move {
                let mut always_whole = true;
                for _ in 0..25 {
                    inventory
                        .add_kit(&[("bolt", 4), ("nut", 4), ("washer", 8)])
                        .await;
                    always_whole &= inventory.whole_kits().await;
                }
                always_whole
            })
        })
        .collect();
    let mut always_whole = true;
    for worker in workers {
        always_whole &= worker.await.unwrap();
    }
    let items = inventory.items.acquire().await.lock().unwrap().clone();
    println!("{items:?}, always whole kits: {always_whole}");
    assert!(always_whole);
    assert_eq!(items["washer"], 800);
}
// ANCHOR_END: solution

#[cfg(test)]
mod tests {
    #[test]
    fn runs() {
        super::main();
    }
}
