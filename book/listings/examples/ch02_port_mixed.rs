//! One set of primitives shared by tokio tasks and OS threads at once:
//! half the pages are fetched by tasks, half by a plain thread, and a
//! `spawn_blocking` worker waits for the end with the blocking twins.
//!
//! Run: `cargo run -p warden-book-listings --example ch02_port_mixed`

// ANCHOR: uses
use std::sync::Arc;
use std::thread;
use std::time::Duration;

#[path = "shared/crawl.rs"]
mod crawl;
use crawl::{Crawl, PAGES, Progress, number, page, report, urls};
// ANCHOR_END: uses

fn record(progress: &mut Progress, crawl: &Crawl, url: &str, body: &str) {
    progress.in_flight -= 1;
    progress.sizes.insert(url.to_owned(), body.len());
    if progress.sizes.len() == PAGES {
        crawl.all_done.set();
    }
}

fn start(progress: &mut Progress) {
    progress.in_flight += 1;
    progress.peak = progress.peak.max(progress.in_flight);
}

async fn fetch(crawl: &Crawl, url: &str) {
    let _slot = crawl.slots.acquire().await;
    start(&mut *crawl.progress.acquire().await);
    tokio::time::sleep(Duration::from_millis(10)).await;
    record(&mut *crawl.progress.acquire().await, crawl, url, &page(url));
}

fn fetch_blocking(crawl: &Crawl, url: &str) {
    let _slot = crawl.slots.acquire_blocking();
    start(&mut crawl.progress.acquire_blocking());
    thread::sleep(Duration::from_millis(10));
    record(
        &mut crawl.progress.acquire_blocking(),
        crawl,
        url,
        &page(url),
    );
}

// ANCHOR: main
#[tokio::main]
async fn main() {
    let crawl = Arc::new(Crawl::new());
    let (even, odd): (Vec<String>, Vec<String>) =
        urls().partition(|url| number(url).is_multiple_of(2));

    // A plain OS thread fetches the even pages (2, 4, 6, 8) with the
    // blocking twins...
    let thread = thread::spawn({
        let crawl = crawl.clone();
        move || {
            for url in even {
                fetch_blocking(&crawl, &url);
            }
        }
    });
    // ...while tasks fetch the odd ones (1, 3, 5, 7) with `.await`: the
    // same Semaphore keeps all of them, together, to three in flight.
    let tasks: Vec<_> = odd
        .into_iter()
        .map(|url| {
            let crawl = crawl.clone();
            tokio::spawn(async move { fetch(&crawl, &url).await })
        })
        .collect();

    // A blocking worker (CPU-heavy work belongs there) waits for the end.
    let total = tokio::task::spawn_blocking({
        let crawl = crawl.clone();
        move || {
            crawl.all_done.wait_blocking();
            crawl
                .progress
                .acquire_blocking()
                .sizes
                .values()
                .sum::<usize>()
        }
    });

    for task in tasks {
        task.await.unwrap();
    }
    thread.join().unwrap();
    assert_eq!(total.await.unwrap(), 3600);
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
