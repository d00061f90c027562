//! `#[guarded]` in depth: two locks in one struct (a `Lock` and an
//! `RLock`) with their declared order, a `Condition` bound to its lock,
//! `&mut self` access, construction, `Debug`.
//!
//! Run: `cargo run -p warden-book-listings --example ch10_guarded`

// ANCHOR: shop
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

use warden::{Condition, Lock, RLock, guarded};

#[guarded(order = [lock, audit])] // take `lock` before `audit`, never after
#[derive(Debug)]
struct Shop {
    /// Guards the stock and the order count.
    lock: Lock,
    #[guarded(lock)]
    stock: BTreeMap<&'static str, u32>,
    #[guarded(lock)]
    orders: u64,
    /// Notified when stock arrives; waits only with `lock`'s guard.
    #[condition(lock)]
    restocked: Condition,
    /// A second, re-entrant lock for the audit trail.
    audit: RLock,
    #[guarded(audit)]
    log: Mutex<Vec<String>>, // shared-only under an RLock: interior mutability
    #[guarded(audit)]
    entries: AtomicU64,
    name: &'static str, // unguarded: free to read
}
// ANCHOR_END: shop

// ANCHOR: new
impl Shop {
    fn open(name: &'static str) -> Shop {
        Shop::new(ShopInit {
            lock: Lock::new(()),    // the lock fields take the plain lock...
            stock: BTreeMap::new(), // ...and every guarded field is named
            orders: 0,
            restocked: Condition::new(),
            audit: RLock::new(()),
            log: Mutex::new(Vec::new()),
            entries: AtomicU64::new(0),
            name,
        })
    }
}
// ANCHOR_END: new

// ANCHOR: buy
impl Shop {
    /// Waits until `n` of `item` are in stock, then takes them.
    async fn buy(&self, item: &'static str, n: u32) {
        let guard = self.lock.acquire().await;
        let mut guard = self
            .restocked
            .wait_for(guard, |data| {
                data.stock.get(item).copied().unwrap_or(0) >= n
            })
            .await; // `guard` was moved in; this is the guard it hands back
        // (the guard of `audit` here would not compile)
        *guard.stock.get_mut(item).expect("in stock") -= n;
        guard.orders += 1;
        drop(guard); // release `lock` before taking `audit`
        self.record(format!("sold {n} {item}")).await;
    }

    async fn restock(&self, item: &'static str, n: u32) {
        *self.lock.acquire().await.stock.entry(item).or_default() += n;
        self.restocked.notify_all(); // needs no lock: see the errors chapter
        self.record(format!("restocked {n} {item}")).await;
    }
}
// ANCHOR_END: buy

// ANCHOR: audit
impl Shop {
    async fn record(&self, line: String) {
        let audit = self.audit.acquire().await; // re-enters if we hold it
        audit.log.lock().unwrap().push(line);
        audit.entries.fetch_add(1, Relaxed);
    }

    /// Writes a summary line while holding the audit lock; `record` re-enters.
    async fn close_books(&self) -> Vec<String> {
        let audit = self.audit.acquire().await;
        let entries = audit.entries.load(Relaxed);
        self.record(format!("closed after {entries} entries")).await;
        audit.log.lock().unwrap().clone()
    }
}
// ANCHOR_END: audit

// ANCHOR: mut_self
impl Shop {
    /// `&mut self` proves nobody else can hold either lock: no locking.
    fn reset_orders(&mut self) -> u64 {
        std::mem::take(&mut self.lock.get_mut().orders)
    }
}
// ANCHOR_END: mut_self

// ANCHOR: main
#[tokio::main]
async fn main() {
    let shop = Arc::new(Shop::open("corner shop"));
    let buyers: Vec<_> = (0..3)
        .map(|_| {
            let shop = shop.clone();
            tokio::spawn(async move { shop.buy("apple", 2).await })
        })
        .collect();
    shop.restock("apple", 4).await; // enough for two buyers
    shop.restock("apple", 2).await; // and the third
    for buyer in buyers {
        buyer.await.unwrap();
    }

    let held = shop.lock.acquire().await;
    let debug = format!("{shop:?}"); // Debug never waits: a held lock is `<locked>`
    assert!(debug.contains("<locked>"));
    assert_eq!(held.stock["apple"], 0);
    drop(held);

    let log = shop.close_books().await;
    println!(
        "{}: {} log lines, last: {:?}",
        shop.name,
        log.len(),
        log.last().unwrap()
    );
    assert_eq!(log.len(), 2 + 3 + 1);

    let mut shop = Arc::into_inner(shop).expect("the buyers are done");
    assert_eq!(shop.reset_orders(), 3);
    let stock = shop.lock.into_inner().stock; // by value: the lock is gone
    assert_eq!(stock["apple"], 0);
}
// ANCHOR_END: main

#[cfg(test)]
mod tests {
    #[test]
    fn runs() {
        super::main();
    }
}
