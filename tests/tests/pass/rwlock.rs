//! `RwLock`-guarded fields: read through a read guard (`&`, shared with
//! other readers), written through the write guard (`&mut`), reached
//! without locking through `get_mut()`, in a `static` (the generated `new`
//! is `const`), with `Debug` and `Default` forwarded, futures holding
//! either guard across `.await` spawned on a multi-thread runtime, and the
//! size of the hand-written `RwLock<Inner>`.

use std::sync::Arc;
use warden::{RwLock, guarded};

#[guarded]
#[derive(Debug, Default)]
pub struct Stats {
    state: RwLock,
    #[guarded(state)]
    hits: u64,
    #[guarded(state)]
    names: Vec<String>,
    pub label: &'static str,
}

/// The hand-written form `#[guarded]` expands to.
pub struct ByHand {
    pub state: RwLock<(u64, Vec<String>)>,
    pub label: &'static str,
}

static GLOBAL: Stats = Stats::new(StatsInit {
    state: RwLock::new(()),
    hits: 0,
    names: Vec::new(),
    label: "global",
});

impl Stats {
    async fn record(&self, name: &str) {
        let mut g = self.state.write().await; // `&mut` to the fields
        g.hits += 1;
        g.names.push(name.to_owned());
    }

    async fn hits(&self) -> u64 {
        let g = self.state.read().await; // `&` to the fields
        let hits: &u64 = &g.hits;
        *hits
    }

    fn reset(&mut self) {
        let data = self.state.get_mut(); // `&mut self`: no locking
        data.hits = 0;
        data.names.clear();
    }
}

fn require_send<F: std::future::Future + Send>(f: F) -> F {
    f
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    rt.block_on(async {
        let stats = Arc::new(Stats::new(StatsInit {
            state: RwLock::default(),
            hits: 0,
            names: vec![],
            label: "requests",
        }));
        let tasks: Vec<_> = (0..4)
            .map(|i| {
                let stats = stats.clone();
                tokio::spawn(require_send(async move {
                    stats.record(&format!("task {i}")).await;
                    let read = stats.state.read().await;
                    tokio::task::yield_now().await; // a read guard across .await
                    assert!(read.hits >= 1);
                    drop(read);
                    let mut write = stats.state.write().await;
                    tokio::task::yield_now().await; // a write guard across .await
                    write.names.sort();
                }))
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        // Two readers at once.
        let (a, b) = (stats.state.read().await, stats.state.read().await);
        assert_eq!(a.hits + b.hits, 8);
        assert_eq!(a.names.len(), 4);
        drop((a, b));
        assert_eq!(stats.hits().await, 4);
        let debug = format!("{stats:?}");
        assert!(debug.contains("hits: 4") && debug.contains("requests"), "{debug}");

        let mut stats = Arc::into_inner(stats).unwrap();
        stats.reset();
        assert_eq!(stats.hits().await, 0);

        GLOBAL.record("static").await;
        assert_eq!(GLOBAL.hits().await, 1);
    });

    // The blocking twins, and `Default`.
    let stats = Stats::default();
    stats.state.write_blocking().hits = 7;
    assert_eq!(stats.state.read_blocking().hits, 7);
    assert_eq!(stats.state.try_read().unwrap().names.len(), 0);
    let held = stats.state.try_write().unwrap();
    assert!(format!("{stats:?}").contains("<locked>"));
    drop(held);
    assert_eq!(stats.label, "");

    assert_eq!(std::mem::size_of::<Stats>(), std::mem::size_of::<ByHand>());
}
