//! `fetch_threads.py`, ported to tokio tasks.
//!
//! Run: `cargo run -p warden-book-listings --example ch02_port_tasks`

// ANCHOR: uses
use std::sync::Arc;
use std::time::Duration;

#[path = "shared/crawl.rs"]
mod crawl;
use crawl::{Crawl, PAGES, page, report, urls};
// ANCHOR_END: uses

// ANCHOR: fetch
async fn fetch(crawl: &Crawl, url: &str) {
    let _slot = crawl.slots.acquire().await; // async with slots:
    {
        let mut progress = crawl.progress.acquire().await; // async with lock:
        progress.in_flight += 1;
        progress.peak = progress.peak.max(progress.in_flight);
    }
    tokio::time::sleep(Duration::from_millis(10)).await; // the network
    let body = page(url);
    let mut progress = crawl.progress.acquire().await;
    progress.in_flight -= 1;
    progress.sizes.insert(url.to_owned(), body.len());
    if progress.sizes.len() == PAGES {
        crawl.all_done.set();
    }
}
// ANCHOR_END: fetch

// ANCHOR: main
#[tokio::main]
async fn main() {
    let crawl = Arc::new(Crawl::new());
    let tasks: Vec<_> = urls()
        .map(|url| {
            let crawl = crawl.clone();
            tokio::spawn(async move { fetch(&crawl, &url).await })
        })
        .collect();
    crawl.all_done.wait().await;
    for task in tasks {
        task.await.expect("a fetch task panicked");
    }
    report(&*crawl.progress.acquire().await);
}
// ANCHOR_END: main

#[cfg(test)]
mod tests {
    #[test]
    fn runs() {
        super::main();
    }
}
