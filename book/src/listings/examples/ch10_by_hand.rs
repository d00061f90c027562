//! The side-by-side, by hand: a ledger with two locks and a condition,
//! written as `Lock<Inner>` fields. Compare `ch10_with_guarded.rs`.
//!
//! Run: `cargo run -p warden-book-listings --example ch10_by_hand`

// ANCHOR: ledger
use std::panic::{AssertUnwindSafe, catch_unwind};

use warden::{Condition, Lock, LockGuard};

#[derive(Clone, Debug, PartialEq)]
struct Books {
    balances: Vec<i64>,
    transfers: u64,
}

#[derive(Clone, Debug, PartialEq)]
struct Audit {
    log: Vec<String>,
}

struct Ledger {
    books: Lock<Books>, // take `books` before `audit` (a comment)
    changed: Condition, // waits with the guard of `books` (a comment)
    audit: Lock<Audit>,
    name: &'static str,
}

impl Ledger {
    const fn new(name: &'static str, balances: Vec<i64>) -> Ledger {
        Ledger {
            books: Lock::new(Books {
                balances,
                transfers: 0,
            }),
            changed: Condition::new(),
            audit: Lock::new(Audit { log: Vec::new() }),
            name,
        }
    }
}
// ANCHOR_END: ledger

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
    async fn after(&self, n: u64) -> Books {
        let books = self.books.acquire().await;
        let books = self.changed.wait_for(books, |b| b.transfers >= n).await;
        (*books).clone()
    }
}

// ANCHOR: mistake
/// Waiting on `changed` with the guard of `audit` compiles, and panics when
/// it runs: `changed` already waited with `books`' guard.
fn wait_with_the_wrong_guard(
    ledger: &Ledger,
    audit: LockGuard<'_, Audit>,
) -> std::thread::Result<()> {
    catch_unwind(AssertUnwindSafe(|| drop(ledger.changed.wait(audit))))
}
// ANCHOR_END: mistake

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let ledger = Ledger::new("by hand", vec![100, 100]);
    let (books, ()) = tokio::join!(ledger.after(2), async {
        ledger.transfer(0, 1, 30).await;
        ledger.transfer(1, 0, 5).await;
    });
    assert_eq!(books.balances, [75, 125]);
    println!("{}: {:?}", ledger.name, books.balances);

    let audit = ledger.audit.acquire().await;
    quiet::expecting(&["two different locks"], || {
        let wrong = wait_with_the_wrong_guard(&ledger, audit);
        let message = *wrong.unwrap_err().downcast::<&str>().unwrap();
        assert!(message.contains("two different locks"));
    });
    println!(
        "{}: waiting with the audit lock's guard panicked",
        ledger.name
    );
}

#[path = "shared/quiet.rs"]
mod quiet;

#[cfg(test)]
mod tests {
    #[test]
    fn runs() {
        super::main();
    }
}
