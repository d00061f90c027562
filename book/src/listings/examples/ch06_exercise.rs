//! Exercise (Semaphore), a solution: a connection pool whose connections
//! go back by themselves.
//!
//! Run: `cargo run -p warden-book-listings --example ch06_exercise`

// ANCHOR: solution
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use warden::{Semaphore, SemaphorePermit};

struct Pool {
    free: Mutex<Vec<String>>, // held for a push or a pop: never across .await
    available: Semaphore,
}

/// A connection on loan. Dropping it returns the connection, then its
/// permit: `pool.put(conn)` cannot be forgotten, even on a panic.
struct Conn<'a> {
    name: String,
    pool: &'a Pool,
    _permit: SemaphorePermit<'a>, // dropped after `drop` below has run
}

impl Drop for Conn<'_> {
    fn drop(&mut self) {
        let name = std::mem::take(&mut self.name);
        self.pool.free.lock().unwrap().push(name);
    }
}

impl Pool {
    fn new(size: usize) -> Pool {
        Pool {
            free: Mutex::new((0..size).map(|i| format!("conn{i}")).collect()),
            available: Semaphore::new(size),
        }
    }

    async fn get(&self) -> Conn<'_> {
        let permit = self.available.acquire().await; // waits while all are lent
        let name = self
            .free
            .lock()
            .unwrap()
            .pop()
            .expect("a permit means a free one");
        Conn {
            name,
            pool: self,
            _permit: permit,
        }
    }
}

#[tokio::main]
async fn main() {
    let pool = Arc::new(Pool::new(3));
    let in_use = Arc::new(Mutex::new((BTreeSet::new(), 0))); // (names, peak)
    let jobs: Vec<_> = (0..10)
        .map(|_| {
            let (pool, in_use) = (pool.clone(), in_use.clone());
            tokio::spawn(async move {
                let conn = pool.get().await;
                {
                    let (names, peak) = &mut *in_use.lock().unwrap();
                    assert!(names.insert(conn.name.clone()), "nobody else has it");
                    *peak = (*peak).max(names.len());
                }
                tokio::time::sleep(Duration::from_millis(1)).await; // use it
                in_use.lock().unwrap().0.remove(&conn.name);
            }) // `conn` is dropped here: back in the pool
        })
        .collect();
    for job in jobs {
        job.await.unwrap();
    }
    let peak = in_use.lock().unwrap().1;
    let free = pool.free.lock().unwrap().len();
    println!(
        "10 jobs, a pool of 3: never more than 3 in use: {}; {free} free",
        peak <= 3
    );
    assert!(peak <= 3);
    assert_eq!(free, 3);
}
// ANCHOR_END: solution

#[cfg(test)]
mod tests {
    #[test]
    fn runs() {
        super::main();
    }
}
