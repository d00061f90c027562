//! The side-by-side, with `#[guarded]`: the ledger of `ch10_by_hand.rs`,
//! the same types underneath, with the condition bound to its lock at
//! compile time.
//!
//! Run: `cargo run -p warden-book-listings --example ch10_with_guarded`

// ANCHOR: ledger
use warden::{Condition, Lock, guarded};

#[guarded(order = [books, audit], data(derive(Clone, Debug, PartialEq)))]
struct Ledger {
    books: Lock,
    #[guarded(books)]
    balances: Vec<i64>,
    #[guarded(books)]
    transfers: u64,
    #[condition(books)]
    changed: Condition,
    audit: Lock,
    #[guarded(audit)]
    log: Vec<String>,
    name: &'static str,
}

// `new` is generated, `const`, and takes every field by name.
static LEDGER: Ledger = Ledger::new(LedgerInit {
    books: Lock::new(()),
    balances: Vec::new(),
    transfers: 0,
    changed: Condition::new(),
    audit: Lock::new(()),
    log: Vec::new(),
    name: "static",
});
// ANCHOR_END: ledger

// ANCHOR: use
impl Ledger {
    async fn transfer(&self, from: usize, to: usize, amount: i64) {
        let mut books = self.books.acquire().await;
        books.balances[from] -= amount;
        books.balances[to] += amount;
        books.transfers += 1;
        drop(books);
        self.changed.notify_all();
        let line = format!("{}: {amount} from {from} to {to}", self.name);
        self.audit.acquire().await.log.push(line);
    }

    /// A snapshot of the books once `n` transfers are done.
    async fn after(&self, n: u64) -> LedgerBooks {
        let books = self.books.acquire().await;
        let books = self.changed.wait_for(books, |b| b.transfers >= n).await;
        (*books).clone()
    }
}
// ANCHOR_END: use

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let ledger = Ledger::new(LedgerInit {
        books: Lock::new(()),
        balances: vec![100, 100],
        transfers: 0,
        changed: Condition::new(),
        audit: Lock::new(()),
        log: Vec::new(),
        name: "with #[guarded]",
    });
    let (books, ()) = tokio::join!(ledger.after(2), async {
        ledger.transfer(0, 1, 30).await;
        ledger.transfer(1, 0, 5).await;
    });
    assert_eq!(books.balances, [75, 125]);
    println!("{}: {:?}", ledger.name, books.balances);
    // The same types underneath as by hand: a lock holding a struct.
    let _: &Lock<LedgerBooks> = &ledger.books;
    let _: &Lock<LedgerAudit> = &ledger.audit;
    assert!(LEDGER.books.try_acquire().unwrap().balances.is_empty());
}

#[cfg(test)]
mod tests {
    #[test]
    fn runs() {
        super::main();
    }
}
