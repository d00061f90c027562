//! The line the blocking twins must not cross: an async runtime's worker.

/// Panics if the current thread drives async tasks, where blocking would
/// stall every task scheduled on it. `method` names the blocking twin.
/// Call it only when the caller is about to wait.
#[track_caller]
pub(crate) fn assert_may_block(method: &str) {
    if !may_block() {
        refuse(method);
    }
}

/// Whether this thread may block: not a runtime worker, nor the thread in
/// a runtime's `block_on`.
///
/// tokio draws this line for its own blocking calls (`Handle::block_on`,
/// `Mutex::blocking_lock`) and exposes no query for it, so we ask it the
/// only way it answers: a blocking receive on an already-closed channel,
/// which returns at once where blocking is allowed and panics on a worker.
/// (tokio prints its own panic message before we raise ours.) Only reached
/// on the slow path, when the caller would really have to wait.
pub(crate) fn may_block() -> bool {
    #[cfg(not(warden_model))]
    {
        if tokio::runtime::Handle::try_current().is_err() {
            return true; // a plain thread: no runtime to stall
        }
        std::panic::catch_unwind(|| {
            let (tx, rx) = tokio::sync::oneshot::channel::<()>();
            drop(tx);
            let _closed = rx.blocking_recv();
        })
        .is_ok()
    }
    #[cfg(warden_model)]
    true
}

/// The panic of a blocking twin called where it must not wait.
#[cold]
#[track_caller]
pub(crate) fn refuse(method: &str) -> ! {
    let async_method = method.strip_suffix("_blocking").unwrap_or(method);
    // Event has no async `wait_timeout`: its timeout is tokio's.
    let async_call = match async_method {
        "Event::wait_timeout" => "tokio::time::timeout(d, Event::wait(..)).await".to_owned(),
        other => format!("{other}(..).await"),
    };
    panic!(
        "{method} was called on a thread that runs async tasks, where waiting \
         would stall every task on it; use `{async_call}` in async code, or \
         call {method} from `tokio::task::spawn_blocking` or a plain thread"
    );
}
