//! Cancelling whole tasks: dropping a `JoinHandle` does not cancel,
//! `abort()` lands at the task's next `.await`, and a cancelled task gets
//! no async cleanup -- only `Drop`.
//!
//! Run: `cargo run -p warden-book-listings --example ch12_tasks`

// ANCHOR: uses
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, Mutex};

use warden::Event;
// ANCHOR_END: uses

// ANCHOR: detach
/// Dropping the handle detaches the task: it runs on, and nobody can
/// await it any more (a Python thread you never join, likewise).
async fn dropping_the_handle_detaches() {
    let (gate, done) = (Arc::new(Event::new()), Arc::new(Event::new()));
    let handle = tokio::spawn({
        let (gate, done) = (gate.clone(), done.clone());
        async move {
            gate.wait().await;
            done.set();
        }
    });
    drop(handle); // not a cancellation
    gate.set();
    done.wait().await; // the detached task ran to the end
}
// ANCHOR_END: detach

// ANCHOR: abort
/// `abort()` is a request: a task busy between two `.await`s runs on until
/// it reaches the next one, and stops there.
async fn abort_lands_at_an_await() -> (bool, bool) {
    let started = Arc::new(Event::new());
    let go_on = Arc::new(AtomicBool::new(false));
    let reached_await = Arc::new(AtomicBool::new(false));
    let after_await = Arc::new(AtomicBool::new(false));
    let task = tokio::spawn({
        let (started, go_on) = (started.clone(), go_on.clone());
        let (reached_await, after_await) = (reached_await.clone(), after_await.clone());
        async move {
            started.set();
            while !go_on.load(SeqCst) {
                std::hint::spin_loop(); // busy, no `.await`: abort() cannot stop this
            }
            reached_await.store(true, SeqCst); // runs, though abort() was called
            tokio::task::yield_now().await; // the task stops here...
            after_await.store(true, SeqCst); // ...so this never runs
        }
    });
    started.wait().await; // the task is running, on another thread
    task.abort();
    go_on.store(true, SeqCst);
    assert!(task.await.unwrap_err().is_cancelled());
    (reached_await.load(SeqCst), after_await.load(SeqCst))
}
// ANCHOR_END: abort

// ANCHOR: cleanup
/// A session that should say goodbye (an `.await`) before it closes.
struct Session {
    log: Arc<Mutex<Vec<&'static str>>>,
}

impl Session {
    async fn goodbye(&self) {
        tokio::task::yield_now().await; // sending it
        self.log.lock().unwrap().push("goodbye sent");
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // Runs on abort too -- but it is not async: no `.await` here.
        self.log.lock().unwrap().push("dropped");
    }
}

async fn cleanup(graceful: bool) -> Vec<&'static str> {
    let log = Arc::new(Mutex::new(Vec::new()));
    let (stop, waiting) = (Arc::new(Event::new()), Arc::new(Event::new()));
    let task = tokio::spawn({
        let (log, stop, waiting) = (log.clone(), stop.clone(), waiting.clone());
        async move {
            let session = Session { log };
            waiting.set();
            stop.wait().await; // serve until told to stop
            session.goodbye().await; // the async cleanup
        }
    });
    waiting.wait().await;
    if graceful {
        stop.set(); // ask: the task says goodbye and ends
        task.await.unwrap();
    } else {
        task.abort(); // cancel: the task stops at its `.await`, unasked
        assert!(task.await.unwrap_err().is_cancelled());
    }
    log.lock().unwrap().clone()
}
// ANCHOR_END: cleanup

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    dropping_the_handle_detaches().await;
    println!("a detached task ran to the end");

    let (reached_await, after_await) = abort_lands_at_an_await().await;
    println!("after abort(): ran on to the next .await: {reached_await}; past it: {after_await}");
    assert!(reached_await && !after_await);

    let aborted = cleanup(false).await;
    println!("aborted: {aborted:?}");
    assert_eq!(aborted, ["dropped"]);
    let asked = cleanup(true).await;
    println!("asked to stop: {asked:?}");
    assert_eq!(asked, ["goodbye sent", "dropped"]);
}

#[cfg(test)]
mod tests {
    #[test]
    fn runs() {
        super::main();
    }
}
