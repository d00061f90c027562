//! The state the fetch ports share (included by `ch02_port_*.rs`).

// ANCHOR: uses
use std::collections::BTreeMap;

use warden::{Event, Lock, Semaphore};
// ANCHOR_END: uses

// ANCHOR: state
/// The pretend web site's pages: `/page/1` .. `/page/8`.
pub const PAGES: usize = 8;
pub const MAX_IN_FLIGHT: usize = 3;

/// What Python's `lock` guards — here it lives inside the lock.
#[derive(Default)]
pub struct Progress {
    pub sizes: BTreeMap<String, usize>,
    pub in_flight: usize,
    pub peak: usize,
}

pub struct Crawl {
    pub slots: Semaphore,         // threading.Semaphore(MAX_IN_FLIGHT)
    pub progress: Lock<Progress>, // threading.Lock() and the globals it guards
    pub all_done: Event,          // threading.Event()
}

impl Crawl {
    pub fn new() -> Crawl {
        Crawl {
            slots: Semaphore::new(MAX_IN_FLIGHT),
            progress: Lock::new(Progress::default()),
            all_done: Event::new(),
        }
    }
}

pub fn urls() -> impl Iterator<Item = String> {
    (1..=PAGES).map(|i| format!("/page/{i}"))
}

/// The page number in `url`: 3 for `/page/3`.
pub fn number(url: &str) -> usize {
    url["/page/".len()..].parse().expect("a page number")
}

/// The body the pretend site serves for `url`.
pub fn page(url: &str) -> String {
    "x".repeat(100 * number(url))
}
// ANCHOR_END: state

/// Prints what the Python program prints, and checks it.
pub fn report(progress: &Progress) {
    let bytes: usize = progress.sizes.values().sum();
    println!("fetched {} pages, {bytes} bytes", progress.sizes.len());
    println!(
        "at most {MAX_IN_FLIGHT} in flight: {}",
        progress.peak <= MAX_IN_FLIGHT
    );
    assert_eq!((progress.sizes.len(), bytes), (PAGES, 3600));
    assert!(progress.peak <= MAX_IN_FLIGHT);
}
