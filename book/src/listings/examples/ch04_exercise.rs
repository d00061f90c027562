//! Exercise (Lock), a solution: page hits counted by tasks.
//!
//! Run: `cargo run -p warden-book-listings --example ch04_exercise`

// ANCHOR: solution
use std::collections::BTreeMap;
use std::sync::Arc;

use warden::Lock;

async fn visit(hits: &Lock<BTreeMap<&'static str, u32>>, page: &'static str) {
    *hits.acquire().await.entry(page).or_insert(0) += 1; // with lock: ...
}

async fn browse(hits: Arc<Lock<BTreeMap<&'static str, u32>>>, pages: [&'static str; 3]) {
    for _ in 0..100 {
        for page in pages {
            visit(&hits, page).await;
        }
    }
}

#[tokio::main]
async fn main() {
    let hits = Arc::new(Lock::new(BTreeMap::new())); // the lock *and* the dict
    let visitors: Vec<_> = (0..8)
        .map(|_| tokio::spawn(browse(hits.clone(), ["/", "/about", "/"])))
        .collect();
    for visitor in visitors {
        visitor.await.unwrap();
    }
    let hits = hits.acquire().await;
    println!("{:?}", hits.iter().collect::<Vec<_>>());
    assert_eq!(hits["/"], 1600);
    assert_eq!(hits["/about"], 800);
}
// ANCHOR_END: solution

#[cfg(test)]
mod tests {
    #[test]
    fn runs() {
        super::main();
    }
}
