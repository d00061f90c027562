//! tokio's channels, with their Python counterparts: `mpsc` is
//! `queue.Queue`, `oneshot` a `Future`, `watch` the latest value, and
//! `broadcast` a queue per subscriber.
//!
//! Run: `cargo run -p warden-book-listings --example ch14_channels`

// ANCHOR: uses
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use warden::Event;
// ANCHOR_END: uses

// ANCHOR: mpsc
async fn mpsc_queue() -> Vec<u32> {
    let (tx, mut rx) = mpsc::channel(5); // q = queue.Queue(maxsize=5)
    for p in 0..3 {
        let tx = tx.clone(); // one sender per producer
        tokio::spawn(async move {
            for i in 0..3 {
                tx.send(p * 10 + i).await.expect("receiver alive"); // q.put(item)
            }
        }); // this producer's sender is dropped here
    }
    drop(tx); // ...and main's own: once all are gone, recv() returns None
    let mut got = Vec::new();
    while let Some(item) = rx.recv().await {
        got.push(item); // q.get(), with no sentinel needed to stop
    }
    got.sort_unstable();
    got
}
// ANCHOR_END: mpsc

// ANCHOR: oneshot
/// One value, sent once: `concurrent.futures.Future` and its `result()`.
async fn oneshot_reply() -> u32 {
    let (reply, answer) = oneshot::channel();
    tokio::spawn(async move {
        let _ = reply.send(6 * 7); // future.set_result(42)
    });
    answer.await.expect("dropped without an answer") // future.result()
}
// ANCHOR_END: oneshot

// ANCHOR: watch
/// The latest value, for whoever looks: a configuration, a status. A
/// reader that looks late sees only the newest value.
async fn watch_latest() -> Vec<String> {
    let (config, mut current) = watch::channel(String::from("v1"));
    let watching = std::sync::Arc::new(Event::new());
    let reader = tokio::spawn({
        let watching = watching.clone();
        async move {
            let mut seen = Vec::new();
            loop {
                seen.push(current.borrow_and_update().clone());
                watching.set();
                if current.changed().await.is_err() {
                    return seen; // the sender is gone
                }
            }
        }
    });
    watching.wait().await; // the reader has seen "v1"
    config.send(String::from("v2")).unwrap();
    config.send(String::from("v3")).unwrap(); // before the reader looked again
    drop(config);
    reader.await.unwrap()
}
// ANCHOR_END: watch

// ANCHOR: broadcast
/// Every subscriber gets every message.
async fn broadcast_to_all() -> Vec<Vec<u32>> {
    let (events, _) = broadcast::channel(16); // room for 16 unread messages
    let subscribers: Vec<_> = (0..2)
        .map(|_| {
            let mut inbox = events.subscribe();
            tokio::spawn(async move {
                let mut got = Vec::new();
                while let Ok(event) = inbox.recv().await {
                    got.push(event);
                }
                got // Err(Closed): the sender is gone and all was read
            })
        })
        .collect();
    for event in 1..=3 {
        events.send(event).unwrap();
    }
    drop(events);
    let mut all = Vec::new();
    for subscriber in subscribers {
        all.push(subscriber.await.unwrap());
    }
    all
}
// ANCHOR_END: broadcast

/// One thread: the `watch` reader's schedule is the same on every run.
#[tokio::main(flavor = "current_thread")]
async fn main() {
    let got = mpsc_queue().await;
    println!("mpsc: {got:?}");
    assert_eq!(got, [0, 1, 2, 10, 11, 12, 20, 21, 22]);

    let answer = oneshot_reply().await;
    println!("oneshot: {answer}");
    assert_eq!(answer, 42);

    let seen = watch_latest().await;
    println!("watch: the reader saw {seen:?}");
    assert_eq!(seen, ["v1", "v3"]);

    let all = broadcast_to_all().await;
    println!("broadcast: {all:?}");
    assert_eq!(all, [[1, 2, 3], [1, 2, 3]]);
}

#[cfg(test)]
mod tests {
    #[test]
    fn runs() {
        super::main();
    }
}
