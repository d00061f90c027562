//! What `#[tokio::main]` writes for you, and its two flavours.
//!
//! Run: `cargo run -p warden-book-listings --example ch01_runtime`

// ANCHOR: uses
use std::thread;

use tokio::runtime::Builder;
// ANCHOR_END: uses

// ANCHOR: body
/// The body of an `async fn main`: spawns four tasks and reports the
/// names of the threads they ran on.
async fn body() -> Vec<String> {
    let tasks: Vec<_> = (0..4)
        .map(|_| tokio::spawn(async { thread::current().name().unwrap_or("?").to_owned() }))
        .collect();
    let mut threads = Vec::new();
    for task in tasks {
        threads.push(task.await.unwrap());
    }
    threads.sort();
    threads.dedup();
    threads
}
// ANCHOR_END: body

// ANCHOR: main
fn main() {
    // #[tokio::main] -- the default flavour, "multi_thread": tasks run on a
    // pool of worker threads, one per CPU core unless `worker_threads = n`.
    let runtime = Builder::new_multi_thread()
        .worker_threads(2) // #[tokio::main(worker_threads = 2)]
        .enable_all() //       timers and I/O
        .build()
        .unwrap();
    let on = runtime.block_on(body()); // asyncio.run(main())
    println!("multi_thread: tasks ran on {on:?}");
    assert_eq!(on, ["tokio-rt-worker"]);

    // #[tokio::main(flavor = "current_thread")]: one thread, the caller's,
    // runs every task -- asyncio's model.
    let runtime = Builder::new_current_thread().enable_all().build().unwrap();
    let on = thread::Builder::new()
        .name("main".into())
        .spawn(move || runtime.block_on(body()))
        .unwrap()
        .join()
        .unwrap();
    println!("current_thread: tasks ran on {on:?}");
    assert_eq!(on, ["main"]);
}
// ANCHOR_END: main

#[cfg(test)]
mod tests {
    #[test]
    fn runs() {
        super::main();
    }
}
