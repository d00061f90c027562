//! The first program: a tokio runtime, a task, a warden `Lock`.
//!
//! Run: `cargo run -p warden-book-listings --example ch01_hello`

// ANCHOR: hello
use warden::Lock;

#[tokio::main]
async fn main() {
    let counter = Lock::new(0); // lock = asyncio.Lock(); counter = 0
    {
        let mut count = counter.acquire().await; // async with lock:
        *count += 1; //                                 counter += 1
    } // released here, at the end of the guard's block
    let handle = tokio::spawn(async { "hello from a task" }); // asyncio.create_task(...)
    println!(
        "{}; counter = {}",
        handle.await.unwrap(),
        *counter.acquire().await
    );
}
// ANCHOR_END: hello

#[cfg(test)]
mod tests {
    #[test]
    fn runs() {
        super::main();
    }
}
