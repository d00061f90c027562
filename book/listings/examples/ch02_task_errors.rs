//! When a task fails: a Python exception is usually a returned `Result`
//! in Rust (`handle.await??`), and a panic is a bug, reported by `JoinError`.
//!
//! Run: `cargo run -p warden-book-listings --example ch02_task_errors`

// ANCHOR: uses
use std::error::Error;
use std::fmt;
// ANCHOR_END: uses

// ANCHOR: error
/// What Python would raise: `class PageMissing(Exception)`.
#[derive(Debug)]
struct PageMissing(String);

impl fmt::Display for PageMissing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no page at {}", self.0)
    }
}

impl Error for PageMissing {}

async fn fetch(url: &str) -> Result<usize, PageMissing> {
    tokio::task::yield_now().await; // the network
    match url.strip_prefix("/page/") {
        Some(n) => Ok(100 * n.parse::<usize>().unwrap_or(1)),
        None => Err(PageMissing(url.to_owned())), // raise PageMissing(url)
    }
}
// ANCHOR_END: error

// ANCHOR: await
/// `?` works on both layers: the outer `Result` says whether the task ran to
/// the end (`Err(JoinError)`: it panicked or was cancelled), the inner one is
/// what the task returned.
async fn fetch_in_task(url: &'static str) -> Result<usize, Box<dyn Error + Send + Sync>> {
    let handle = tokio::spawn(fetch(url));
    let bytes = handle.await??; // future.result(): re-raises, here as an `Err`
    Ok(bytes)
}
// ANCHOR_END: await

// ANCHOR: panic
/// A panic is a bug, not an error to handle: the task stops, and awaiting
/// its handle gives `Err(JoinError)`, whose `is_panic()` is true.
async fn a_task_panics() -> bool {
    let handle = tokio::spawn(async {
        let pages: Vec<usize> = Vec::new();
        pages[3] // index out of bounds: panics
    });
    let err = handle.await.unwrap_err();
    err.is_panic()
}
// ANCHOR_END: panic

#[tokio::main]
async fn main() {
    let bytes = fetch_in_task("/page/2").await.unwrap();
    println!("/page/2: {bytes} bytes");
    assert_eq!(bytes, 200);

    let missing = fetch_in_task("/404").await.unwrap_err();
    println!("/404: {missing}");
    assert_eq!(missing.to_string(), "no page at /404");

    let panicked = a_task_panics().await;
    println!("a task that panicked: is_panic() = {panicked}");
    assert!(panicked);
}

#[cfg(test)]
#[path = "shared/quiet.rs"]
mod quiet;

#[cfg(test)]
mod tests {
    #[test]
    fn runs() {
        // The panicking task panics on purpose: keep it out of the output.
        super::quiet::expecting(&["index out of bounds"], super::main);
    }
}
