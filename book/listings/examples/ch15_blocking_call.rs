//! A blocking call inside a task stalls its runtime thread: here it even
//! starves the very task that would answer it. `spawn_blocking` moves it
//! to a thread of its own.
//!
//! Run: `cargo run -p warden-book-listings --example ch15_blocking_call`

// ANCHOR: uses
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};
// ANCHOR_END: uses

// ANCHOR: server
/// A request: a path, and where to send the answer.
type Request = (String, mpsc::Sender<String>);

/// A tiny server: a task on the runtime that answers every request.
fn spawn_server() -> UnboundedSender<Request> {
    let (requests, mut incoming) = unbounded_channel::<Request>();
    tokio::spawn(async move {
        while let Some((path, reply)) = incoming.recv().await {
            let _ = reply.send(format!("200 OK {path}"));
        }
    });
    requests
}

/// A blocking client, in the style of `requests.get(url, timeout=...)`:
/// it blocks its thread until the answer comes, or the timeout passes.
fn get_blocking(
    server: &UnboundedSender<Request>,
    path: &str,
    timeout: Option<Duration>,
) -> Result<String, RecvTimeoutError> {
    let (reply, answer) = mpsc::channel();
    server
        .send((path.to_owned(), reply))
        .expect("the server runs");
    match timeout {
        Some(timeout) => answer.recv_timeout(timeout),
        None => Ok(answer.recv().expect("the server answers")),
    }
}
// ANCHOR_END: server

// ANCHOR: in_task
/// The blocking call right in async code: it blocks the runtime's only
/// thread, so the server task never runs, and the call can only time out.
async fn blocking_in_a_task(server: &UnboundedSender<Request>) -> Result<String, RecvTimeoutError> {
    tokio::task::yield_now().await; // the server task starts, and waits for requests
    get_blocking(server, "/in-a-task", Some(Duration::from_millis(100)))
}
// ANCHOR_END: in_task

// ANCHOR: spawn_blocking
/// `asyncio.to_thread(get, ...)`: the call blocks a thread of tokio's
/// blocking pool; the runtime thread stays free and the server answers.
async fn blocking_in_spawn_blocking(server: UnboundedSender<Request>) -> String {
    tokio::task::spawn_blocking(move || get_blocking(&server, "/in-spawn-blocking", None))
        .await
        .expect("the blocking call did not panic")
        .expect("no timeout was set")
}
// ANCHOR_END: spawn_blocking

// ANCHOR: main
/// One runtime thread, as asyncio has: the stall is total.
#[tokio::main(flavor = "current_thread")]
async fn main() {
    let server = spawn_server();
    let stalled = blocking_in_a_task(&server).await;
    println!("blocking call in a task: {stalled:?}");
    assert_eq!(stalled, Err(RecvTimeoutError::Timeout));

    let answered = blocking_in_spawn_blocking(server).await;
    println!("blocking call in spawn_blocking: {answered:?}");
    assert_eq!(answered, "200 OK /in-spawn-blocking");
}
// ANCHOR_END: main

#[cfg(test)]
mod tests {
    #[test]
    fn runs() {
        super::main();
    }
}
