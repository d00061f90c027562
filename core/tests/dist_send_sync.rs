//! `warden::dist` types and the futures of their methods are `Send` (and
//! the handles `Sync`), so they can be held across `.await` in tasks
//! spawned on a multi-thread runtime. Compile-time checks only.
#![cfg(feature = "postgres")]

use std::future::Future;

use warden::dist::{
    Barrier, BoundedSemaphore, Condition, Error, Event, Lock, LockGuard, Lost, Options, RLock,
    RLockGuard, Semaphore, SemaphorePermit, Session, Transaction,
};

fn send_sync<T: Send + Sync>() {}
fn send<T: Send>() {}
fn send_future<F: Future + Send>(_: F) {}

#[test]
fn types_are_send_and_sync() {
    send_sync::<Session>();
    send_sync::<Options>();
    send_sync::<Lock>();
    send_sync::<RLock>();
    send_sync::<Semaphore>();
    send_sync::<BoundedSemaphore>();
    send_sync::<Event>();
    send_sync::<Condition>();
    send_sync::<Barrier>();
    send_sync::<LockGuard>();
    send_sync::<SemaphorePermit>();
    send_sync::<RLockGuard>();
    send_sync::<Error>();
    send_sync::<Lost>();
    send::<Transaction<'static>>();
}

/// Never called: it only has to compile (one parameter per type whose
/// futures are checked, hence the count).
#[allow(dead_code, clippy::needless_pass_by_value, clippy::too_many_arguments)]
fn futures_are_send(
    session: Session,
    lock: Lock,
    rlock: RLock,
    sem: Semaphore,
    ev: Event,
    cond: Condition,
    barrier: Barrier,
    mut guard: LockGuard,
    other: LockGuard,
) {
    send_future(Session::connect("", Options::default()));
    send_future(lock.acquire());
    send_future(lock.try_acquire());
    send_future(lock.acquire_timeout(std::time::Duration::ZERO));
    send_future(rlock.acquire());
    send_future(sem.acquire());
    send_future(ev.wait());
    send_future(ev.set());
    send_future(barrier.wait());
    send_future(cond.notify(1));
    send_future(guard.lost());
    send_future(guard.transaction());
    send_future(cond.wait(other));
    drop(session);
}
