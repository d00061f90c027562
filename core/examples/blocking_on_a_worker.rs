//! A blocking twin called on the thread that drives a runtime, where waiting
//! would stall every task: warden refuses with a panic that names the
//! method, the caller's line and the async call to use instead.
//!
//! `core/tests/panic_abort.rs` builds this with `panic = "abort"` and checks
//! that warden's message is the only panic printed before the abort (no
//! probe of tokio's that panics first).

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime");
    runtime.block_on(async {
        let lock = warden::Lock::new(0);
        let _held = lock.acquire().await;
        // Inside `block_on`: this would wait forever, so it panics instead.
        let _again = lock.acquire_blocking(); // REFUSED HERE
    });
}
