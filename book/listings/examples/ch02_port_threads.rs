//! `fetch_threads.py`, ported to plain threads with warden's blocking twins.
//!
//! Run: `cargo run -p warden-book-listings --example ch02_port_threads`

// ANCHOR: uses
use std::sync::Arc;
use std::thread;
use std::time::Duration;

#[path = "shared/crawl.rs"]
mod crawl;
use crawl::{Crawl, PAGES, page, report, urls};
// ANCHOR_END: uses

// ANCHOR: fetch
fn fetch(crawl: &Crawl, url: &str) {
    let _slot = crawl.slots.acquire_blocking(); // with slots:
    {
        let mut progress = crawl.progress.acquire_blocking(); // with lock:
        progress.in_flight += 1;
        progress.peak = progress.peak.max(progress.in_flight);
    } // lock released
    thread::sleep(Duration::from_millis(10)); // the network
    let body = page(url);
    let mut progress = crawl.progress.acquire_blocking();
    progress.in_flight -= 1;
    progress.sizes.insert(url.to_owned(), body.len());
    if progress.sizes.len() == PAGES {
        crawl.all_done.set();
    }
} // lock released, then the slot
// ANCHOR_END: fetch

// ANCHOR: main
fn main() {
    let crawl = Arc::new(Crawl::new());
    let threads: Vec<_> = urls()
        .map(|url| {
            let crawl = crawl.clone();
            thread::spawn(move || fetch(&crawl, &url)) // Thread(...).start()
        })
        .collect();
    crawl.all_done.wait_blocking(); // all_done.wait()
    for t in threads {
        t.join().expect("a fetch thread panicked"); // t.join()
    }
    report(&crawl.progress.acquire_blocking());
}
// ANCHOR_END: main

#[cfg(test)]
mod tests {
    #[test]
    fn runs() {
        super::main();
    }
}
