//! A directory tree with a disk quota: the recursive `du` takes the
//! tree's `RLock` at every level, and `grow` calls it while holding it.
//!
//! Run: `cargo run -p warden-book-listings --example ch05_rlock_tree`

// ANCHOR: uses
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use warden::RLock;
// ANCHOR_END: uses

// ANCHOR: tree
/// Node 0 is the root; each node has a size of its own and children.
struct Nodes {
    children: Vec<Vec<usize>>,
    size: Vec<AtomicU64>, // an RLock hands out `&Nodes`: mutate through atomics
}

struct Tree {
    nodes: RLock<Nodes>,
    quota: u64,
}

impl Tree {
    /// `du`: the size of `node` and everything below it. Public, so it
    /// takes the lock itself -- and re-enters it at every level.
    async fn total(&self, node: usize) -> u64 {
        let nodes = self.nodes.acquire().await;
        let mut sum = nodes.size[node].load(Relaxed);
        for &child in &nodes.children[node] {
            sum += Box::pin(self.total(child)).await; // recursion: re-entry
        }
        sum
    }

    /// Grows a file by `by` bytes unless the tree would exceed its quota.
    /// The check and the update happen under one hold of the lock.
    async fn grow(&self, node: usize, by: u64) -> bool {
        let nodes = self.nodes.acquire().await;
        if self.total(0).await + by > self.quota {
            return false; // with a plain Lock, `total` would deadlock here
        }
        nodes.size[node].fetch_add(by, Relaxed);
        true
    }
}
// ANCHOR_END: tree

// ANCHOR: main
#[tokio::main]
async fn main() {
    //        0
    //      /   \
    //     1     2
    //    / \     \
    //   3   4     5
    let tree = Arc::new(Tree {
        nodes: RLock::new(Nodes {
            children: vec![vec![1, 2], vec![3, 4], vec![5], vec![], vec![], vec![]],
            size: (0..6).map(|_| AtomicU64::new(0)).collect(),
        }),
        quota: 1_000,
    });
    // 200 tasks each try to grow a file by 10 bytes: room for 100.
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let tree = tree.clone();
            tokio::spawn(async move { tree.grow(3 + i % 3, 10).await })
        })
        .collect();
    let mut grown = 0;
    for task in tasks {
        grown += usize::from(task.await.unwrap());
    }
    let total = tree.total(0).await;
    println!(
        "grew {grown} of 200 times; total {total} of quota {}",
        tree.quota
    );
    assert_eq!((grown, total), (100, 1_000));
}
// ANCHOR_END: main

#[cfg(test)]
mod tests {
    #[test]
    fn runs() {
        super::main();
    }
}
