//! An `RwLock`: renders read the config together, a reload writes it
//! alone, and renders that arrive while the reload waits queue behind it.
//!
//! Run: `cargo run -p warden-book-listings --example ch09b_rwlock`

// ANCHOR: uses
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use warden::RwLock;
// ANCHOR_END: uses

// ANCHOR: config
struct Config {
    version: u32,
    theme: &'static str,
}

async fn render(config: &RwLock<Config>, page: u32) -> String {
    let cfg = config.read().await; // shared with the other renders
    tokio::time::sleep(Duration::from_millis(10)).await; // slow work, lock held
    format!("page {page}: config v{} ({})", cfg.version, cfg.theme)
}

async fn reload(config: &RwLock<Config>) {
    let mut cfg = config.write().await; // waits for the renders inside
    cfg.version += 1;
    cfg.theme = "dark";
}
// ANCHOR_END: config

// ANCHOR: main
#[tokio::main(flavor = "current_thread")]
async fn main() {
    tokio::time::pause(); // a clock that advances only when all tasks wait
    let config = Arc::new(RwLock::new(Config {
        version: 1,
        theme: "light",
    }));
    let spawn_render = |page| {
        let config = config.clone();
        tokio::spawn(async move { render(&config, page).await })
    };
    let start = Instant::now();
    let early: Vec<_> = (1..=4).map(spawn_render).collect();
    tokio::task::yield_now().await; // the four renders take the read lock
    let reloading = tokio::spawn({
        let config = config.clone();
        async move { reload(&config).await }
    });
    tokio::task::yield_now().await; // the reload waits for them
    assert!(
        config.try_read().is_none(),
        "a writer waits: new readers queue"
    );
    let late: Vec<_> = (5..=6).map(spawn_render).collect();

    for render in early.into_iter().chain(late) {
        println!("{}", render.await.unwrap());
    }
    reloading.await.unwrap();
    // Whole 10 ms renders' worth of time: 4 together, then 2 together.
    let rounds = start.elapsed().as_millis() / 10;
    println!("6 renders and a reload took {rounds} rounds of rendering");
    assert_eq!(rounds, 2);
    println!("written from a thread: v{}", from_a_thread(&config));
}
// ANCHOR_END: main

// ANCHOR: blocking
/// The blocking twins, for a plain thread (or `spawn_blocking`).
fn from_a_thread(config: &Arc<RwLock<Config>>) -> u32 {
    let config = config.clone();
    std::thread::spawn(move || {
        config.write_blocking().version += 1;
        config.read_blocking().version
    })
    .join()
    .unwrap()
}
// ANCHOR_END: blocking

#[cfg(test)]
mod tests {

    #[test]
    fn runs() {
        super::main();
    }
}
