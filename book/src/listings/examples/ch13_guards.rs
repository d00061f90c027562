//! A guard is a `with` block whose end you do not see: where it is
//! dropped, what `let _` does, guards in `match` and `if let`, and the
//! order in which two locks are taken.
//!
//! Run: `cargo run -p warden-book-listings --example ch13_guards`

// ANCHOR: uses
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::timeout;
use warden::Lock;
// ANCHOR_END: uses

// ANCHOR: underscore
async fn underscore(lock: &Lock<u32>) -> [bool; 2] {
    let _ = lock.acquire().await; // `_` binds nothing: the guard is dropped at once
    let after_underscore = lock.locked(); // false

    let _held = lock.acquire().await; // a variable, even unused: held to the scope's end
    let after_named = lock.locked(); // true
    [after_underscore, after_named]
}
// ANCHOR_END: underscore

// ANCHOR: scrutinee
async fn guard_in_a_match(cache: &Lock<HashMap<&str, u32>>) -> bool {
    // The guard is a temporary of the `match` expression: it lives until
    // the whole `match` ends, so every arm runs with the lock held.
    match cache.acquire().await.get("answer").copied() {
        Some(0) => false,
        Some(_) => true,
        None => {
            // cache.acquire().await here would wait forever for ourselves.
            let refill = cache.try_acquire();
            refill.is_some() // false: the lock is still held
        }
    }
}

async fn value_first(cache: &Lock<HashMap<&str, u32>>) -> u32 {
    // The guard is a temporary of this `let` statement: dropped at its `;`.
    let cached = cache.acquire().await.get("answer").copied();
    if let Some(answer) = cached {
        return answer;
    }
    let answer = 42; // compute it, with the lock free...
    cache.acquire().await.insert("answer", answer); // ...then store it
    answer
}

async fn guard_in_an_if_let(cache: &Lock<HashMap<&str, u32>>, key: &str) -> bool {
    if let Some(&answer) = cache.acquire().await.get(key) {
        assert_eq!(answer, 42);
        cache.locked() // held for the whole `then` block
    } else {
        cache.locked() // edition 2024: dropped before `else` (2021: still held)
    }
}
// ANCHOR_END: scrutinee

// ANCHOR: std_mutex
/// A `std::sync::Mutex` guard held across an `.await` blocks every other
/// thread that wants the mutex, for as long as the task is suspended.
/// `cargo clippy` warns (`await_holding_lock`); this listing *expects*
/// the warning, so CI's clippy run fails if it ever stops firing.
#[expect(clippy::await_holding_lock, reason = "the mistake this listing shows")]
async fn std_guard_across_await(counter: &Mutex<u32>) {
    let mut n = counter.lock().unwrap();
    tokio::task::yield_now().await; // suspended, still holding the mutex
    *n += 1;
}
// ANCHOR_END: std_mutex

// ANCHOR: ordering
/// A bank with one lock per account.
struct Bank {
    accounts: Vec<Lock<i64>>,
}

impl Bank {
    /// Takes `from`'s lock, then `to`'s: two opposite transfers can each
    /// hold one lock and wait forever for the other.
    async fn transfer_unordered(&self, from: usize, to: usize, amount: i64) {
        let mut src = self.accounts[from].acquire().await;
        tokio::task::yield_now().await; // any await: here the other transfer starts
        let mut dst = self.accounts[to].acquire().await;
        *src -= amount;
        *dst += amount;
    }

    /// Always the lower-numbered account first: every task takes the locks
    /// in one global order, so no two can wait for each other.
    async fn transfer(&self, from: usize, to: usize, amount: i64) {
        let (low, high) = (from.min(to), from.max(to));
        let mut low = self.accounts[low].acquire().await;
        tokio::task::yield_now().await;
        let mut high = self.accounts[high].acquire().await;
        let (src, dst) = if from < to {
            (&mut low, &mut high)
        } else {
            (&mut high, &mut low)
        };
        **src -= amount;
        **dst += amount;
    }
}

async fn opposite_transfers(ordered: bool) -> Option<i64> {
    let bank = Bank {
        accounts: vec![Lock::new(100), Lock::new(100)],
    };
    let both = async {
        if ordered {
            tokio::join!(bank.transfer(0, 1, 10), bank.transfer(1, 0, 20));
        } else {
            tokio::join!(
                bank.transfer_unordered(0, 1, 10),
                bank.transfer_unordered(1, 0, 20)
            );
        }
    };
    // A deadlock never ends; the timeout makes it visible (on the paused
    // clock, at once).
    timeout(Duration::from_mins(1), both).await.ok()?;
    Some(*bank.accounts[0].acquire().await)
}
// ANCHOR_END: ordering

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    let lock = Lock::new(0);
    let [after_underscore, after_named] = underscore(&lock).await;
    println!("let _ = ...: held after it: {after_underscore}; let _held = ...: {after_named}");
    assert_eq!([after_underscore, after_named], [false, true]);

    let cache = Lock::new(HashMap::new());
    let could_refill = guard_in_a_match(&cache).await;
    println!("a miss in a match on the guard: could take the lock to refill: {could_refill}");
    assert!(!could_refill);
    assert_eq!(value_first(&cache).await, 42);
    let held = [
        guard_in_an_if_let(&cache, "answer").await,
        guard_in_an_if_let(&cache, "question").await,
    ];
    println!(
        "if let on the guard: held in the then block: {}, in else: {}",
        held[0], held[1]
    );
    assert_eq!(held, [true, false]);

    let counter = Mutex::new(0);
    std_guard_across_await(&counter).await;
    assert_eq!(*counter.lock().unwrap(), 1);

    let unordered = opposite_transfers(false).await;
    let ordered = opposite_transfers(true).await;
    println!("opposite transfers, locks in either order: {unordered:?}");
    println!("opposite transfers, lower account first: {ordered:?}");
    assert_eq!(unordered, None, "deadlocked");
    assert_eq!(ordered, Some(110));
}

#[cfg(test)]
mod tests {
    #[test]
    fn runs() {
        super::main();
    }
}
